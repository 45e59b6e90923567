//! `rusage-wrap STATS TASK_ID -- COMMAND [ARGS...]`: runs COMMAND as a child, waits for it and
//! appends one JSON line to STATS: `task_id`, `exit`, `wall_s`, `cpu_s` (user + system of the
//! child and everything it waited for) and `maxrss_kib` (the child's peak resident set). Exits
//! with the child's exit code (128 + the signal when a signal ended it).
//!
//! Why it exists: a process forked from a large parent keeps the parent's peak RSS in its own
//! `ru_maxrss` across `execve`, so when Airflow's executor (a Python scheduler of 150+ MB) forks
//! a worker, `wait4` reports the scheduler's size, not the worker's. This wrapper is small, so the
//! worker it forks starts from a few MB and its peak is its own. scripts/bench-airflow.sh puts
//! it between the test executor and each worker, for airtask and for Python alike.

use std::io::Write as _;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, ExitCode};

use nix::sys::resource::{UsageWho, getrusage};

fn seconds(t: nix::sys::time::TimeVal) -> f64 {
    t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6
}

// The wall time of the child is what this tool measures.
#[allow(clippy::disallowed_methods)]
fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let [stats, task, sep, command, rest @ ..] = args.as_slice() else {
        eprintln!("usage: rusage-wrap STATS TASK_ID -- COMMAND [ARGS...]");
        return ExitCode::from(2);
    };
    if sep != "--" {
        eprintln!("usage: rusage-wrap STATS TASK_ID -- COMMAND [ARGS...]");
        return ExitCode::from(2);
    }
    let started = std::time::Instant::now();
    let status = match Command::new(command).args(rest).status() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rusage-wrap: cannot run {}: {e}", command.to_string_lossy());
            return ExitCode::from(127);
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    let (cpu, rss) = match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(u) => (
            seconds(u.user_time()) + seconds(u.system_time()),
            u.max_rss(),
        ),
        Err(e) => {
            eprintln!("rusage-wrap: getrusage: {e}");
            (f64::NAN, -1)
        }
    };
    let line = format!(
        "{{\"task_id\": {:?}, \"exit\": {code}, \"wall_s\": {wall:.6}, \"cpu_s\": {cpu:.6}, \
         \"maxrss_kib\": {rss}}}\n",
        task.to_string_lossy()
    );
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(stats)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("rusage-wrap: cannot write {}: {e}", stats.to_string_lossy());
    }
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
