//! The command line (clap). Every subcommand's help ends with an example.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Runs one Apache Airflow task the way Amazon MWAA Serverless runs it.
#[derive(Debug, Parser)]
#[command(
    name = "airtask",
    version,
    long_version = crate::version::LONG,
    about,
    long_about = None
)]
pub(crate) struct Cli {
    /// Without a subcommand, airtask is a container entrypoint: it runs one task instance
    /// described by AIRTASK_* environment variables (see the README).
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
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
    /// Render a task's template fields with Airflow's context, as `airflow tasks render` does;
    /// prints one JSON object (field -> rendered value).
    #[command(after_help = "\
Defaults: logical date = now (UTC), run id = manual__<logical date>, try 1, map index -1.
Exit codes: 0 rendered, 1 a template failed (the message says which field and why) or the
definition is invalid, 2 usage error.

Examples:
  airtask render examples/hello_airtask.yaml greet --logical-date 2025-03-09T06:30:00Z
  airtask render wf.yaml load --params '{\"target_db\": \"staging\"}' \\
      --xcom list_keys='[\"a.csv\", \"b.csv\"]' --xcom meta:count=2")]
    Render(RenderArgs),
    /// Run one task instance: its tries (retries, retry_delay, execution_timeout), with the
    /// task log on the terminal, XCom values and the task record in the state directory.
    #[command(after_help = "\
Exit codes: 0 success or skipped, 1 failed (a task role that cannot be assumed included), 2
invalid input (arguments, definition, templates, operator parameters), 3 timed out, 4 stopped
(SIGTERM/SIGINT), 5 infrastructure failure (the execution role cannot be assumed, or XCom, the
task record or the task log cannot be read or written), 6 succeeded but log lines were not
delivered to CloudWatch, 7 another try of the same task instance is running.

Examples:
  airtask run-task examples/hello_airtask.yaml greet --logical-date 2025-03-09
  airtask run-task wf.yaml load --run-id manual__1 --try 2 --output json")]
    RunTask(RunTaskArgs),
    /// Run a whole workflow run on this machine: each task instance in its own `airtask
    /// run-task` process, in dependency order, with trigger rules and mapped tasks.
    #[command(after_help = "\
Exit codes: 0 the run succeeded (no leaf task failed, Airflow's rule), 1 it failed, 2 invalid
input, 4 stopped by SIGTERM/SIGINT (every running task is stopped first).

Examples:
  airtask run examples/hello_world.yaml
  airtask run wf.yaml --logical-date 2025-03-09 --params '{\"env\": \"dev\"}' --parallelism 8")]
    Run(RunArgs),
    /// Show the caller identity of each layer a task runs with: base credentials, the
    /// execution role, the task's own role (task_iam_role_arn).
    #[command(after_help = "\
Exit codes: 0 every layer was assumed, 1 an assumption or GetCallerIdentity failed (the message
names the role and STS's reason), 2 usage error.

Examples:
  airtask whoami wf.yaml load
  airtask whoami wf.yaml load --execution-role-arn arn:aws:iam::123456789012:role/wf-exec")]
    Whoami(WhoamiArgs),
    /// Read a task attempt's log back from CloudWatch Logs (MWAA Serverless's stream layout).
    #[command(after_help = "\
Without --try, the try of the task's record in the state (else 1). With --follow, polls until
the record says the attempt ended, then reads once more.
Exit codes: 0 read, 1 the stream cannot be read (missing, access denied), 2 usage error.

Examples:
  airtask logs --workflow-id etl --run-id manual__2025-03-09T00:00:00+00:00 --task-id load
  airtask logs --workflow-id etl --run-id r1 --task-id fan_out --map-index 2 --try 1 --follow")]
    Logs(LogsArgs),
    /// Draw a workflow's task graph: task groups, mapped tasks and trigger rules.
    #[command(after_help = "\
Groups (dotted task ids) are clusters, a mapped task is a stack (`[]` in text), an edge into a
task whose trigger rule is not all_success is dashed and names the rule.
Exit codes: 0 drawn, 1 the definition is invalid or cannot be read, 2 usage error.

Examples:
  airtask graph examples/hello_world.yaml
  airtask graph wf.yaml --format dot | dot -Tsvg > wf.svg
  airtask graph wf.yaml --format mermaid > wf.mmd")]
    Graph(GraphArgs),
    /// Write one self-contained HTML page of a run: the graph coloured by state, a Gantt chart
    /// of every try, each task instance's XComs and links to its logs.
    #[command(after_help = "\
RUN_DIR is the directory `airtask run` names at its end: STATE_DIR/WORKFLOW_ID/RUN_ID. The page
needs no network access; its log links point at the files under STATE_DIR.
Exit codes: 0 written, 1 the page cannot be written, 2 RUN_DIR is not a run directory.

Examples:
  airtask report .airtask/hello_world/manual__2025-03-09T00:00:00+00:00 -o run.html")]
    Report(ReportArgs),
    /// Print the IAM policies a workflow needs: the execution role's (the runtime's own calls
    /// and the tasks without a role of their own) and each task's, from what every operator
    /// declares for the parameters the task gives it.
    #[command(after_help = "\
A resource built from a templated parameter widens to the smallest IAM pattern that covers every
rendering ({{ ds }} becomes *), and the notes say so. Without --region and --account, ARNs
carry * in their place. --check FILE compares an existing policy document with the need of the
execution role (or of --task's role): what it lacks and what it grants beyond.
Exit codes: 0 printed (or --check found nothing lacking), 1 the definition is invalid or cannot
be read, or a task's operator cannot be built from it, 2 usage error (a --check file that is not
a policy document included), 3 --check found the policy lacks something.

Examples:
  airtask policy wf.yaml --account 123456789012 --region us-east-1
  airtask policy wf.yaml --task load --format json > load-role-policy.json
  airtask policy wf.yaml --check execution-role-policy.json")]
    Policy(PolicyArgs),
    /// List the operators this build implements: each class path and the other paths that
    /// name the same class.
    #[command(after_help = "\
Text prints one class path per line (its aliases after it); JSON adds each operator's template
fields and whether it calls AWS. Which families a build has: `airtask --version`.
Exit codes: 0 listed, 2 usage error.

Examples:
  airtask operators | grep -i glue
  airtask operators --format json")]
    Operators(OperatorsArgs),
    /// Print a shell completion script for airtask.
    #[command(after_help = "\
Examples:
  airtask completions bash > ~/.local/share/bash-completion/completions/airtask
  airtask completions zsh > \"${fpath[1]}/_airtask\"
  airtask completions fish > ~/.config/fish/completions/airtask.fish")]
    Completions(CompletionsArgs),
    /// Print airtask's manual page (roff) on stdout.
    #[command(after_help = "\
Examples:
  airtask man > ~/.local/share/man/man1/airtask.1 && man airtask
  airtask man | man -l -")]
    Man,
    /// Run one Airflow 3 task instance under a real Airflow scheduler: the command Airflow's
    /// Kubernetes, ECS and Batch executors send (`airtask python -m
    /// airflow.sdk.execution_time.execute_workload ...` is the same), talking to the Task
    /// Execution API at AIRFLOW__CORE__EXECUTION_API_SERVER_URL.
    #[command(after_help = "\
Exit codes: 0 the task succeeded or was skipped (and Airflow was told), 1 it failed or is up for
retry (Airflow was told), 2 usage error (no or malformed workload), 4 Airflow stopped it (a
heartbeat was refused: marked, cleared or running elsewhere), 5 the Execution API could not be
reached or refused to start or finish the task instance.

Examples:
  airtask execute-workload --json-path /tmp/workload.json
  airtask python -m airflow.sdk.execution_time.execute_workload --json-string '{...}'")]
    ExecuteWorkload(ExecuteWorkloadArgs),
    /// Run one task instance for Airflow 3.3's Task SDK supervisor (the coordinator protocol):
    /// started by a coordinator of `[sdk] coordinators` with two sockets to dial back.
    #[command(after_help = "\
The supervisor sends StartupDetails on --comm (length-prefixed msgpack frames), answers the
task's GetXCom/SetXCom/DeleteXCom/GetVariable/GetConnection requests, and takes the final
SucceedTask, RetryTask or TaskState; the task's log lines go to --logs as JSON. The supervisor
does the heartbeats, the state calls and the task log file. See docs/airflow.md and
scripts/airflow/airtask_coordinator.py.
Exit codes: 0 the supervisor was told the task's state, 2 usage error, 4 stopped by a signal (the
supervisor sets the state), 5 the supervisor could not be reached or told.

Examples:
  airtask coordinator --comm=127.0.0.1:41234 --logs=127.0.0.1:41235 --dags-folder /opt/airflow/dags")]
    Coordinator(crate::airflow::CoordinatorArgs),
}

/// The workload of `execute-workload`, as Airflow's executors pass it.
#[derive(Debug, Args)]
pub(crate) struct ExecuteWorkloadArgs {
    /// The ExecuteTask workload as JSON text.
    #[arg(long, value_name = "JSON", conflicts_with = "json_path")]
    pub(crate) json_string: Option<String>,
    /// A file holding the ExecuteTask workload.
    #[arg(long, value_name = "FILE")]
    pub(crate) json_path: Option<std::path::PathBuf>,
    /// The DAGs folder holding the YAML definitions (default: AIRFLOW__CORE__DAGS_FOLDER, else
    /// $AIRFLOW_HOME/dags).
    #[arg(long, value_name = "DIR")]
    pub(crate) dags_folder: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// A workflow definition: a local path or an s3://bucket/key[?versionId=...] URL.
    #[arg(value_name = "WORKFLOW", value_parser = crate::ids::definition())]
    pub(crate) file: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub(crate) format: GraphFormat,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
}

/// How `airtask graph` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    /// One line per task, indented under its groups.
    Text,
    /// Graphviz (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (GitHub and GitLab render it in Markdown).
    Mermaid,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The run's directory: STATE_DIR/WORKFLOW_ID/RUN_ID.
    #[arg(value_name = "RUN_DIR")]
    pub(crate) run_dir: std::path::PathBuf,
    /// Where to write the page.
    #[arg(short, long, value_name = "FILE", default_value = "run.html")]
    pub(crate) output: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    /// A workflow definition: a local path or an s3://bucket/key[?versionId=...] URL (an s3://
    /// definition adds s3:GetObject on it to the execution role).
    #[arg(value_name = "WORKFLOW", value_parser = crate::ids::definition())]
    pub(crate) file: String,
    /// Only this task's policy (with --format json: the bare policy document).
    #[arg(long, value_name = "TASK_ID")]
    pub(crate) task: Option<String>,
    /// The account id to put in ARNs (default: *).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub(crate) account: Option<String>,
    /// The region to put in ARNs of operators without region_name (default: *).
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The S3 store the runs use (`run --store`): adds its object access to the execution role.
    #[arg(long, value_name = "URL")]
    pub(crate) store: Option<String>,
    /// The CloudWatch log group the tasks log to (default: /aws/mwaa-serverless/<workflow_id>/).
    #[arg(long, value_name = "GROUP")]
    pub(crate) log_group: Option<String>,
    /// Compare this IAM policy document (JSON) with what the workflow needs.
    #[arg(long, value_name = "POLICY_JSON")]
    pub(crate) check: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PolicyFormat::Text)]
    pub(crate) format: PolicyFormat,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
}

/// How `airtask policy` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PolicyFormat {
    /// Statements as lines, for a person.
    Text,
    /// IAM policy documents, ready to attach.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct OperatorsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// The workflow id (MWAA Serverless's, or the DAG id).
    #[arg(long, value_name = "ID", value_parser = crate::ids::workflow_id)]
    pub(crate) workflow_id: String,
    /// The run id.
    #[arg(long, value_name = "ID", value_parser = crate::ids::run_id)]
    pub(crate) run_id: String,
    /// The task id.
    #[arg(long, value_name = "ID", value_parser = crate::ids::task_id)]
    pub(crate) task_id: String,
    /// The map index of a mapped task instance.
    #[arg(long, value_name = "N", default_value_t = -1, allow_negative_numbers = true, value_parser = crate::ids::map_index)]
    pub(crate) map_index: i64,
    /// The try (attempt) to read.
    #[arg(long = "try", value_name = "N", value_parser = crate::ids::try_number)]
    pub(crate) try_number: Option<u32>,
    /// Keep reading until the attempt has ended.
    #[arg(long)]
    pub(crate) follow: bool,
    /// The log group (default: /aws/mwaa-serverless/<workflow_id>/).
    #[arg(long, value_name = "GROUP")]
    pub(crate) log_group: Option<String>,
    /// The state directory with the task record (for --follow and the default try).
    #[arg(long, value_name = "DIR", default_value = ".airtask")]
    pub(crate) state_dir: std::path::PathBuf,
    /// A state store URL (`s3://bucket/prefix`) with the task record instead.
    #[arg(long, value_name = "URL")]
    pub(crate) store: Option<String>,
    /// text: one readable line per log line; json: the lines as stored.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    #[command(flatten)]
    pub(crate) roles: RoleArgs,
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
    #[arg(required = true, value_name = "FILE_OR_URL", value_parser = crate::ids::definition())]
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
    #[arg(value_name = "FILE_OR_URL", value_parser = crate::ids::definition())]
    pub(crate) file: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
}

/// Which task instance, and where its definition and state are: shared by `render` and
/// `run-task`.
#[derive(Debug, Args)]
pub(crate) struct InstanceArgs {
    /// A workflow definition: a local path or an s3://bucket/key[?versionId=...] URL.
    #[arg(value_name = "WORKFLOW", value_parser = crate::ids::definition())]
    pub(crate) file: String,
    /// The task.
    #[arg(value_name = "TASK_ID", value_parser = crate::ids::task_id)]
    pub(crate) task_id: String,
    /// The run's logical date: ISO 8601 (`2025-03-09T06:30:00Z`, `2025-03-09T06:30:00+02:00`)
    /// or a date (`2025-03-09`, midnight UTC). Default: now.
    #[arg(long, value_name = "TS")]
    pub(crate) logical_date: Option<String>,
    /// The run id. Default: manual__<logical date in ISO 8601>.
    #[arg(long, value_name = "ID", value_parser = crate::ids::run_id)]
    pub(crate) run_id: Option<String>,
    /// The workflow id MWAA Serverless assigns (the workflow name plus a suffix, e.g.
    /// `etl-abc1234def`): it names the log group and stream, the state's layout and the role
    /// sessions. Default: the DAG id. Templates still see the DAG id as `dag.dag_id`.
    #[arg(long, value_name = "ID", value_parser = crate::ids::workflow_id)]
    pub(crate) workflow_id: Option<String>,
    /// The map index of a mapped task instance.
    #[arg(long, value_name = "N", default_value_t = -1, allow_negative_numbers = true, value_parser = crate::ids::map_index)]
    pub(crate) map_index: i64,
    /// Run parameters (a JSON object) laid over the workflow's and the task's params.
    #[arg(long, value_name = "JSON")]
    pub(crate) params: Option<String>,
    /// The state directory: XCom values and task records.
    #[arg(long, value_name = "DIR", default_value = ".airtask")]
    pub(crate) state_dir: std::path::PathBuf,
    /// A state store URL (`s3://bucket/prefix`): XComs and records go there instead of the
    /// state directory.
    #[arg(long, value_name = "URL")]
    pub(crate) store: Option<String>,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
}

/// The roles a task runs with (see the README's "Identity").
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct RoleArgs {
    /// The workflow's execution role, assumed from the base credentials: it reads the
    /// definition and the state, and is the role operators run as unless the task names its
    /// own (default: AIRTASK_EXECUTION_ROLE_ARN).
    #[arg(long, value_name = "ARN")]
    pub(crate) execution_role_arn: Option<String>,
    /// The external id the execution role's trust policy requires (default:
    /// AIRTASK_EXTERNAL_ID).
    #[arg(long, value_name = "ID")]
    pub(crate) external_id: Option<String>,
    /// The length of each role session, in seconds; credentials are refreshed before they
    /// expire (default: AIRTASK_SESSION_DURATION, else 3600 for the execution role and the
    /// task's execution_timeout within 900..3600 for a task role).
    #[arg(long, value_name = "SECONDS", value_parser = crate::ids::session_duration)]
    pub(crate) session_duration: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    /// An upstream XCom value: TASK_ID=JSON or TASK_ID:KEY=JSON (key defaults to
    /// return_value). Repeatable. Values not given come from the state.
    #[arg(long = "xcom", value_name = "TASK_ID[:KEY]=JSON")]
    pub(crate) xcoms: Vec<String>,
    /// The try number.
    #[arg(long = "try", value_name = "N", default_value_t = 1, value_parser = crate::ids::try_number)]
    pub(crate) try_number: u32,
}

#[derive(Debug, Args)]
pub(crate) struct RunTaskArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    /// Run exactly this try (for orchestrators that start one process per try); without it,
    /// all tries run in this process.
    #[arg(long = "try", value_name = "N", value_parser = crate::ids::try_number)]
    pub(crate) try_number: Option<u32>,
    /// Print the task record as JSON on stdout at the end.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) output: Format,
    #[command(flatten)]
    pub(crate) roles: RoleArgs,
    #[command(flatten)]
    pub(crate) logs: LogArgs,
    /// Set by `airtask run` on its children: the process id of the run, whose death stops this
    /// task (SIGTERM through PR_SET_PDEATHSIG), so that nothing outlives a killed run.
    #[arg(long, value_name = "PID", hide = true)]
    pub(crate) supervisor_pid: Option<i32>,
    /// Ship the log to CloudWatch unless switched off (the container entrypoint).
    #[arg(skip)]
    pub(crate) cloudwatch_by_default: bool,
}

/// Where the task log goes (see the README's "Task logs").
#[derive(Debug, Args, Clone)]
pub(crate) struct LogArgs {
    /// The CloudWatch log group (default: /aws/mwaa-serverless/<workflow_id>/).
    #[arg(long, value_name = "GROUP")]
    pub(crate) log_group: Option<String>,
    /// Do not ship the log to CloudWatch (the terminal and the local file still get it).
    #[arg(long)]
    pub(crate) no_cloudwatch: bool,
    /// How long, at the end of an attempt, to go on delivering its log to CloudWatch before
    /// keeping the rest in the spill file. Keep it under the container's stop grace period.
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0, value_parser = crate::ids::flush_timeout)]
    pub(crate) log_flush_timeout: f64,
}

impl Default for LogArgs {
    fn default() -> LogArgs {
        LogArgs {
            log_group: None,
            no_cloudwatch: false,
            log_flush_timeout: 20.0,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// A workflow definition: a local path or an s3://bucket/key[?versionId=...] URL.
    #[arg(value_name = "WORKFLOW", value_parser = crate::ids::definition())]
    pub(crate) file: String,
    /// The run's logical date (ISO 8601 or a date). Default: now.
    #[arg(long, value_name = "TS")]
    pub(crate) logical_date: Option<String>,
    /// The run id. Default: manual__<the time the run starts>, unique per run.
    #[arg(long, value_name = "ID", value_parser = crate::ids::run_id)]
    pub(crate) run_id: Option<String>,
    /// The workflow id MWAA Serverless assigns: names the logs, the state's layout and the
    /// role sessions of every task. Default: the DAG id.
    #[arg(long, value_name = "ID", value_parser = crate::ids::workflow_id)]
    pub(crate) workflow_id: Option<String>,
    /// Run parameters (a JSON object) laid over the workflow's and the tasks' params.
    #[arg(long, value_name = "JSON")]
    pub(crate) params: Option<String>,
    /// How many task instances run at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = crate::ids::parallelism)]
    pub(crate) parallelism: usize,
    /// The state directory: XCom values, task records and task output.
    #[arg(long, value_name = "DIR", default_value = ".airtask")]
    pub(crate) state_dir: std::path::PathBuf,
    /// A state store URL (`s3://bucket/prefix`): XComs and records go there instead of the
    /// state directory.
    #[arg(long, value_name = "URL")]
    pub(crate) store: Option<String>,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    #[command(flatten)]
    pub(crate) roles: RoleArgs,
    #[command(flatten)]
    pub(crate) logs: LogArgs,
}

#[derive(Debug, Args)]
pub(crate) struct WhoamiArgs {
    /// A workflow definition: a local path or an s3://bucket/key[?versionId=...] URL.
    #[arg(value_name = "WORKFLOW", value_parser = crate::ids::definition())]
    pub(crate) file: String,
    /// The task.
    #[arg(value_name = "TASK_ID", value_parser = crate::ids::task_id)]
    pub(crate) task_id: String,
    #[command(flatten)]
    pub(crate) roles: RoleArgs,
    /// The try whose session name to use.
    #[arg(long = "try", value_name = "N", default_value_t = 1, value_parser = crate::ids::try_number)]
    pub(crate) try_number: u32,
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
