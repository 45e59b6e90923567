//! `airtask`: runs one Apache Airflow task the way Amazon MWAA Serverless runs it.
//!
//! This binary is wiring only: the command line, the operator registry, reading definitions,
//! and exit codes. The work is done by the crates under `crates/` and `operators/`.

/// `println!` that ignores a closed stdout (`airtask run wf.yaml | head`): output that nobody
/// reads is not an error, and must never be a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod airflow;
mod cli;
mod clock;
mod commands;
mod definition;
mod entrypoint;
mod exit;
mod graph;
mod identity;
mod ids;
mod logs;
mod mapping;
mod policy;
mod registry;
mod render;
mod report;
mod run;
mod state;
mod task_instance;
mod tasklog;
mod version;
mod whoami;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    // The command Airflow's executors send, when airtask is the image's entrypoint.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match airflow::container_command(&argv) {
        Some(rest) => {
            let mut args = vec![
                std::ffi::OsString::from("airtask"),
                "execute-workload".into(),
            ];
            args.extend(rest);
            cli::Cli::parse_from(args)
        }
        None => cli::Cli::parse(),
    };
    let result = match cli.command {
        None => entrypoint::args_from_env()
            .map_err(|e| exit::usage(&e))
            .and_then(|args| task_instance::run_task(&args)),
        Some(command) => run(command),
    };
    // The one place errors are printed and turned into the exit code.
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            e.print();
            ExitCode::from(e.code())
        }
    }
}

fn run(command: cli::Command) -> Result<u8, exit::CliError> {
    match command {
        cli::Command::Validate(args) => commands::validate(&args),
        cli::Command::Tasks(args) => commands::tasks(&args),
        cli::Command::Render(args) => render::render(&args),
        cli::Command::RunTask(args) => task_instance::run_task(&args),
        cli::Command::Run(args) => run::run(&args),
        cli::Command::Whoami(args) => whoami::whoami(&args),
        cli::Command::Logs(args) => logs::logs(&args),
        cli::Command::Graph(args) => graph::graph(&args),
        cli::Command::Report(args) => report::report(&args),
        cli::Command::Policy(args) => policy::policy(&args),
        cli::Command::Operators(args) => Ok(commands::operators(&args)),
        cli::Command::Completions(args) => {
            let mut cmd = <cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut cmd, "airtask", &mut std::io::stdout());
            Ok(exit::EXIT_OK)
        }
        cli::Command::Man => {
            let cmd = <cli::Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| exit::usage(&format!("cannot render the manual page: {e}")))?;
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(&out);
            Ok(exit::EXIT_OK)
        }
        cli::Command::ExecuteWorkload(args) => airflow::execute_workload(&args),
        cli::Command::Coordinator(args) => airflow::coordinator(&args),
    }
}
