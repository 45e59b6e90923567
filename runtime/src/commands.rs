//! `validate`, `tasks` and `operators`.

use airtask_workflow::{Task, Workflow};
use serde_json::json;

use crate::cli::{Format, OperatorsArgs, TasksArgs, ValidateArgs};
use crate::definition::{Checked, check, load_valid};
use crate::exit::{CliError, EXIT_INVALID, EXIT_OK, usage};

fn print_diagnostics(c: &Checked) {
    for d in &c.report.diagnostics {
        outln!("{}", d.display_for(&c.source));
    }
}

/// `airtask validate`.
pub(crate) fn validate(args: &ValidateArgs) -> Result<u8, CliError> {
    if args.source.version_id.is_some() && args.files.len() != 1 {
        return Err(usage("--version-id needs exactly one s3:// definition"));
    }
    let mut checked = Vec::with_capacity(args.files.len());
    for f in &args.files {
        match check(f, args.source.version_id.as_deref(), args.for_create) {
            Ok(mut c) => {
                crate::registry::check_parameters(&mut c.report);
                checked.push(c);
            }
            Err(e) => return Err(usage(&e.to_string())),
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
    Ok(if all_valid { EXIT_OK } else { EXIT_INVALID })
}

/// `airtask operators`: the operators compiled in, sorted by class path.
pub(crate) fn operators(args: &OperatorsArgs) -> u8 {
    let mut specs: Vec<_> = crate::registry::registry()
        .operators()
        .iter()
        .map(airtask_core::Entry::spec)
        .collect();
    specs.sort_unstable_by_key(|s| s.class_path);
    match args.format {
        Format::Text => {
            for s in &specs {
                if s.aliases.is_empty() {
                    outln!("{}", s.class_path);
                } else {
                    outln!("{} (also: {})", s.class_path, s.aliases.join(", "));
                }
            }
        }
        Format::Json => {
            let list: Vec<_> = specs
                .iter()
                .map(|s| {
                    json!({
                        "class_path": s.class_path,
                        "aliases": s.aliases,
                        "template_fields": s.template_fields,
                        "calls_aws": s.calls_aws,
                    })
                })
                .collect();
            outln!("{}", json!({ "operators": list }));
        }
    }
    EXIT_OK
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
pub(crate) fn tasks(args: &TasksArgs) -> Result<u8, CliError> {
    let (_, wf) = load_valid(&args.file, args.source.version_id.as_deref(), EXIT_INVALID)?;
    let next_runs = wf.next_runs(crate::clock::now(), NEXT_RUNS);
    match args.format {
        Format::Json => outln!("{}", tasks_json(&wf, &next_runs)),
        Format::Text => {
            use std::io::Write as _;
            let _ = write!(std::io::stdout(), "{}", tasks_table(&wf, &next_runs));
        }
    }
    Ok(EXIT_OK)
}

/// How many upcoming run times `tasks` shows.
const NEXT_RUNS: usize = 5;

/// The upcoming run times as shown: ISO 8601 in UTC, to the second.
fn run_times(runs: &[jiff::Timestamp]) -> Vec<String> {
    runs.iter()
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .collect()
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

fn tasks_json(wf: &Workflow, next_runs: &[jiff::Timestamp]) -> serde_json::Value {
    json!({
        "workflow_id": wf.workflow_id,
        "schedule": wf.schedule.as_ref().map(schedule_text),
        "next_runs": run_times(next_runs),
        "timezone": wf.timezone.iana_name().unwrap_or("UTC"),
        "start_date": wf.start_date.map(|t| t.to_string()),
        "end_date": wf.end_date.map(|t| t.to_string()),
        "tasks": wf.tasks.iter().map(task_json).collect::<Vec<_>>(),
    })
}

fn schedule_text(s: &airtask_workflow::Schedule) -> String {
    s.text()
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

fn tasks_table(wf: &Workflow, next_runs: &[jiff::Timestamp]) -> String {
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
    out.push_str("next runs: ");
    if next_runs.is_empty() {
        out.push_str("none");
    } else {
        out.push_str(&run_times(next_runs).join(", "));
    }
    out.push_str(" (UTC)\n");
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
