//! `validate` and `tasks`.

use airtask_workflow::{Task, Workflow};
use serde_json::json;

use crate::cli::{Format, TasksArgs, ValidateArgs};
use crate::definition::{Checked, check, load_valid};

/// Exit code: success.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: a definition is invalid or cannot be read.
pub(crate) const EXIT_INVALID: u8 = 1;
/// Exit code: usage error.
pub(crate) const EXIT_USAGE: u8 = 2;

pub(crate) fn usage(msg: &str) -> u8 {
    eprintln!("error: {msg}");
    EXIT_USAGE
}

fn print_diagnostics(c: &Checked) {
    for d in &c.report.diagnostics {
        outln!("{}", d.display_for(&c.source));
    }
}

/// `airtask validate`.
pub(crate) fn validate(args: &ValidateArgs) -> u8 {
    if args.source.version_id.is_some() && args.files.len() != 1 {
        return usage("--version-id needs exactly one s3:// definition");
    }
    let mut checked = Vec::with_capacity(args.files.len());
    for f in &args.files {
        match check(f, args.source.version_id.as_deref(), args.for_create) {
            Ok(mut c) => {
                crate::registry::check_parameters(&mut c.report);
                checked.push(c);
            }
            Err(e) => return usage(&e.to_string()),
        }
    }
    let all_valid = checked.iter().all(|c| c.report.workflow.is_some());
    match args.format {
        Format::Text => {
            for c in &checked {
                print_diagnostics(c);
                let warnings = c
                    .report
                    .diagnostics
                    .iter()
                    .filter(|d| !d.is_error())
                    .count();
                let errors = c.report.diagnostics.len() - warnings;
                match &c.report.workflow {
                    Some(wf) => outln!(
                        "{}: valid: workflow '{}', {} task{}{}",
                        c.source,
                        wf.workflow_id,
                        wf.tasks.len(),
                        if wf.tasks.len() == 1 { "" } else { "s" },
                        plural_suffix(", ", warnings, "warning"),
                    ),
                    None => outln!(
                        "{}: invalid: {}{}",
                        c.source,
                        plural(errors, "error"),
                        plural_suffix(", ", warnings, "warning")
                    ),
                }
            }
        }
        Format::Json => {
            let files: Vec<_> = checked
                .iter()
                .map(|c| {
                    json!({
                        "file": c.source,
                        "valid": c.report.workflow.is_some(),
                        "workflow_id": c.report.workflow.as_ref().map(|w| w.workflow_id.as_str()),
                        "tasks": c.report.workflow.as_ref().map(|w| w.tasks.len()),
                        "diagnostics": c.report.diagnostics,
                    })
                })
                .collect();
            outln!("{}", json!({ "valid": all_valid, "files": files }));
        }
    }
    if all_valid { EXIT_OK } else { EXIT_INVALID }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn plural_suffix(sep: &str, n: usize, word: &str) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("{sep}{}", plural(n, word))
    }
}

/// `airtask tasks`.
pub(crate) fn tasks(args: &TasksArgs) -> u8 {
    let (_, wf) = match load_valid(&args.file, args.source.version_id.as_deref(), EXIT_INVALID) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match args.format {
        Format::Json => outln!("{}", tasks_json(&wf)),
        Format::Text => {
            use std::io::Write as _;
            let _ = write!(std::io::stdout(), "{}", tasks_table(&wf));
        }
    }
    EXIT_OK
}

fn secs(d: jiff::SignedDuration) -> serde_json::Value {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        json!(s as i64)
    } else {
        json!(s)
    }
}

fn task_json(t: &Task) -> serde_json::Value {
    json!({
        "task_id": t.task_id,
        "operator": t.implementation.as_deref().unwrap_or(&t.operator),
        "upstream": t.upstream,
        "trigger_rule": t.trigger_rule,
        "retries": t.retries,
        "retry_delay_seconds": secs(t.retry_delay),
        "execution_timeout_seconds": secs(t.execution_timeout),
        "mapped": t.mapping.is_some(),
        "role_arn": t.role_arn,
    })
}

fn tasks_json(wf: &Workflow) -> serde_json::Value {
    json!({
        "workflow_id": wf.workflow_id,
        "schedule": wf.schedule.as_ref().map(schedule_text),
        "start_date": wf.start_date.map(|t| t.to_string()),
        "end_date": wf.end_date.map(|t| t.to_string()),
        "tasks": wf.tasks.iter().map(task_json).collect::<Vec<_>>(),
    })
}

fn schedule_text(s: &airtask_workflow::Schedule) -> String {
    match s {
        airtask_workflow::Schedule::Preset { name, .. } => name.clone(),
        airtask_workflow::Schedule::Cron(c) => c.clone(),
    }
}

fn short_class(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

fn duration_text(d: jiff::SignedDuration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}s", s as i64)
    } else {
        format!("{s}s")
    }
}

fn tasks_table(wf: &Workflow) -> String {
    let header = [
        "TASK",
        "OPERATOR",
        "UPSTREAM",
        "RETRIES",
        "RETRY_DELAY",
        "TIMEOUT",
        "TRIGGER_RULE",
    ];
    let mut rows: Vec<[String; 7]> = vec![header.map(str::to_owned)];
    for t in &wf.tasks {
        let mut id = t.task_id.clone();
        if t.mapping.is_some() {
            id.push_str(" [mapped]");
        }
        rows.push([
            id,
            short_class(t.implementation.as_deref().unwrap_or(&t.operator)).to_owned(),
            if t.upstream.is_empty() {
                "-".to_owned()
            } else {
                t.upstream.join(",")
            },
            t.retries.to_string(),
            duration_text(t.retry_delay),
            duration_text(t.execution_timeout),
            t.trigger_rule.as_str().to_owned(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!(
        "workflow {} (schedule: {})\n",
        wf.workflow_id,
        wf.schedule
            .as_ref()
            .map_or_else(|| "None".to_owned(), schedule_text)
    );
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The async runtime of a command: one thread, with time and I/O. AWS clients are used on the
/// runtime that made them, so a command makes one.
pub(crate) fn async_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}
