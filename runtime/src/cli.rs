//! The command line (clap). Every subcommand's help ends with an example.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Runs one Apache Airflow task the way Amazon MWAA Serverless runs it.
#[derive(Debug, Parser)]
#[command(name = "airtask", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check workflow definitions against MWAA Serverless's rules and this runtime's operators.
    #[command(after_help = "\
Exit codes: 0 every definition is valid, 1 at least one is not (or cannot be read), 2 usage error.

Examples:
  airtask validate dags/etl.yaml dags/cleanup.yaml
  airtask validate --for-create s3://my-defs/etl.yaml?versionId=3HL4kqtJlcpXroDTDmJ
  airtask validate --format json dags/*.yaml")]
    Validate(ValidateArgs),
    /// List a workflow's tasks in topological order, with their upstreams, operator and retry
    /// settings.
    #[command(after_help = "\
Exit codes: 0 listed, 1 the definition is invalid or cannot be read, 2 usage error.

Examples:
  airtask tasks examples/hello_airtask.yaml
  airtask tasks --format json s3://my-defs/etl.yaml --version-id 3HL4kqtJlcpXroDTDmJ")]
    Tasks(TasksArgs),
}

/// Where a definition comes from, shared by every command that reads one.
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// Pin the version of an s3:// definition (same as `?versionId=` in the URL).
    #[arg(long, value_name = "VERSION")]
    pub(crate) version_id: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Workflow definitions: local paths or s3://bucket/key[?versionId=...] URLs.
    #[arg(required = true, value_name = "FILE_OR_URL")]
    pub(crate) files: Vec<String>,
    /// Also apply CreateWorkflow's rules (start_date must be in the future).
    #[arg(long)]
    pub(crate) for_create: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TasksArgs {
    /// A workflow definition: a local path or an s3://bucket/key[?versionId=...] URL.
    #[arg(value_name = "FILE_OR_URL")]
    pub(crate) file: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Text,
    /// For tools: one JSON document on stdout.
    Json,
}
