//! Exit codes and [`CliError`], the error every command returns to `main` (the one place that
//! prints errors and picks the exit code), for every command (the README
//! documents them). `run-task`'s codes are in [`run_task`]; `validate`, `tasks` and `render`
//! use [`EXIT_OK`], [`EXIT_INVALID`] and [`EXIT_USAGE`]; `run` adds [`RUN_STOPPED`].

/// Exit code: success.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: a definition is invalid or cannot be read.
pub(crate) const EXIT_INVALID: u8 = 1;
/// Exit code: usage error.
pub(crate) const EXIT_USAGE: u8 = 2;

/// A usage error (exit code 2): `msg` is the one paragraph.
pub(crate) fn usage(msg: &str) -> CliError {
    CliError::Usage(msg.to_owned())
}

/// Why a command ended with an error. Commands return it up to `main`, the one place that
/// prints it (on stderr) and turns it into the exit code; each variant knows its code.
/// `Display` is the paragraph without the `error: ` prefix.
#[derive(Debug)]
pub(crate) enum CliError {
    /// A usage mistake: arguments, an unknown task, a malformed URL (exit code 2).
    Usage(String),
    /// The definition is not valid or cannot be read: its diagnostics, each already rendered
    /// with its file and line. The code is the command's (1 for `tasks` and `render`, 2 for
    /// `run-task`, `run` and `whoami`).
    Invalid {
        /// The rendered diagnostics, one per entry.
        diagnostics: Vec<String>,
        /// The command's exit code for an invalid definition.
        code: u8,
    },
    /// A role could not be assumed; the code is the command's (5 for `run-task`, 1 for `run`,
    /// `render` and `whoami`).
    Role {
        /// The one paragraph.
        message: String,
        /// The command's exit code.
        code: u8,
    },
    /// Infrastructure: the state, the log or the async runtime failed (`run-task`'s 5).
    Infra(String),
    /// The command was stopped before it could do its work (`run-task`'s 4).
    Stopped(String),
    /// Another try of the same task instance holds its lock (`run-task`'s 7).
    Busy(String),
    /// An error about one definition file, printed as `FILE: error: MESSAGE`.
    InFile {
        /// The definition's file or URL.
        file: String,
        /// The one paragraph.
        message: String,
        /// The command's exit code.
        code: u8,
    },
    /// Any other failure with its exit code (e.g. `logs` when no log can be read: 1).
    Failed {
        /// The one paragraph.
        message: String,
        /// The command's exit code.
        code: u8,
    },
}

impl CliError {
    /// The exit code this error ends the command with.
    pub(crate) fn code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Infra(_) => run_task::INFRA,
            CliError::Stopped(_) => run_task::STOPPED,
            CliError::Busy(_) => run_task::BUSY,
            CliError::Invalid { code, .. }
            | CliError::Role { code, .. }
            | CliError::InFile { code, .. }
            | CliError::Failed { code, .. } => *code,
        }
    }

    /// The text printed on stderr: diagnostics as rendered, a file's error as
    /// `FILE: error: MESSAGE`, everything else as `error: MESSAGE`; each line ends in `\n`.
    pub(crate) fn report(&self) -> String {
        match self {
            CliError::Invalid { diagnostics, .. } => {
                diagnostics.iter().map(|d| format!("{d}\n")).collect()
            }
            CliError::InFile { file, message, .. } => format!("{file}: error: {message}\n"),
            other => format!("error: {other}\n"),
        }
    }

    /// Prints [`CliError::report`] on stderr. Called only by `main`.
    pub(crate) fn print(&self) {
        use std::io::Write as _;
        // A closed stderr leaves nothing to tell: the exit code still says it.
        let _ = std::io::stderr().write_all(self.report().as_bytes());
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Infra(m) | CliError::Stopped(m) | CliError::Busy(m) => {
                f.write_str(m)
            }
            CliError::Invalid { diagnostics, .. } => f.write_str(&diagnostics.join("\n")),
            CliError::Role { message, .. }
            | CliError::InFile { message, .. }
            | CliError::Failed { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for CliError {}

/// Exit code of `airtask run` when SIGTERM or SIGINT stopped it (as `run-task`'s).
pub(crate) const RUN_STOPPED: u8 = 4;

/// Exit codes of `run-task` (documented in the README).
pub(crate) mod run_task {
    /// The task succeeded or was skipped.
    pub(crate) const OK: u8 = 0;
    /// The task failed.
    pub(crate) const FAILED: u8 = 1;
    /// Invalid input: arguments, definition, templates, operator parameters.
    pub(crate) const INVALID: u8 = 2;
    /// The last try timed out.
    pub(crate) const TIMEOUT: u8 = 3;
    /// Stopped by SIGTERM or SIGINT.
    pub(crate) const STOPPED: u8 = 4;
    /// Infrastructure failure: the execution role could not be assumed, or the state could not
    /// be read or written.
    pub(crate) const INFRA: u8 = 5;
    /// The task succeeded (or was skipped), but log lines could not be delivered to CloudWatch
    /// (they are in the spill file the record names).
    pub(crate) const LOGS_UNDELIVERED: u8 = 6;
    /// Another try of the same task instance holds its lock: this one did not start.
    pub(crate) const BUSY: u8 = 7;
}

/// The async runtime of a command: one thread, with time and I/O. AWS clients are used on the
/// runtime that made them, so a command makes one.
pub(crate) fn async_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_knows_its_exit_code() {
        assert_eq!(usage("x").code(), EXIT_USAGE);
        assert_eq!(CliError::Infra("x".into()).code(), run_task::INFRA);
        assert_eq!(CliError::Stopped("x".into()).code(), run_task::STOPPED);
        let invalid = CliError::Invalid {
            diagnostics: vec![],
            code: run_task::INVALID,
        };
        assert_eq!(invalid.code(), run_task::INVALID);
        let role = CliError::Role {
            message: "x".into(),
            code: run_task::INFRA,
        };
        assert_eq!(role.code(), run_task::INFRA);
        assert_eq!(CliError::Busy("x".into()).code(), run_task::BUSY);
        let failed = CliError::Failed {
            message: "x".into(),
            code: 1,
        };
        assert_eq!(failed.code(), 1);
        let file = CliError::InFile {
            file: "f".into(),
            message: "x".into(),
            code: EXIT_INVALID,
        };
        assert_eq!(file.code(), EXIT_INVALID);
    }

    #[test]
    fn the_report_is_the_paragraph_with_its_prefix() {
        let e = usage("--try 0 is out of range");
        assert_eq!(e.to_string(), "--try 0 is out of range");
        assert_eq!(e.report(), "error: --try 0 is out of range\n");
        let e = CliError::InFile {
            file: "wf.yaml".into(),
            message: "task 't': boom".into(),
            code: EXIT_INVALID,
        };
        assert_eq!(e.to_string(), "task 't': boom");
        assert_eq!(e.report(), "wf.yaml: error: task 't': boom\n");
        let e = CliError::Invalid {
            diagnostics: vec!["wf.yaml:3: error: a".into(), "wf.yaml:4: warning: b".into()],
            code: EXIT_INVALID,
        };
        assert_eq!(e.report(), "wf.yaml:3: error: a\nwf.yaml:4: warning: b\n");
    }
}
