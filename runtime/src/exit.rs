//! Exit codes and the one place usage errors are printed, for every command (the README
//! documents them). `run-task`'s codes are in [`run_task`]; `validate`, `tasks` and `render`
//! use [`EXIT_OK`], [`EXIT_INVALID`] and [`EXIT_USAGE`]; `run` adds [`RUN_STOPPED`].

/// Exit code: success.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: a definition is invalid or cannot be read.
pub(crate) const EXIT_INVALID: u8 = 1;
/// Exit code: usage error.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Prints a usage error (`error: ` and one paragraph) on stderr and gives exit code 2.
pub(crate) fn usage(msg: &str) -> u8 {
    eprintln!("error: {msg}");
    EXIT_USAGE
}

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
