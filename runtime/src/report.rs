//! `airtask report`: one self-contained HTML page of a run (the graph coloured by state, a
//! Gantt chart of every try, each task instance's XComs and links to its logs).
//!
//! The page is the run's data (JSON, embedded) and a small script that draws it: no network
//! access is needed to open it. The data comes from the run's directory: `run.json` (written
//! by `airtask run`: the task graph and each task's state), each task instance's `record.json`
//! and `xcom/*.json`, and the attempt logs under `<state_dir>/logs/`, whose first and last
//! lines give each try's start and end.

use std::path::{Path, PathBuf};

use airtask_core::store::component;
use serde_json::{Value, json};

use crate::cli::ReportArgs;
use crate::exit::{CliError, EXIT_OK, usage};

/// The page; `/*DATA*/` is replaced by the run's data.
const TEMPLATE: &str = include_str!("report.html");

/// How much of one XCom value the page shows.
const XCOM_CHARS: usize = 2000;

/// `airtask report`.
pub(crate) fn report(args: &ReportArgs) -> Result<u8, CliError> {
    let data = collect(&args.run_dir).map_err(|e| usage(&e))?;
    let html = page(&data);
    std::fs::write(&args.output, html).map_err(|e| CliError::Failed {
        message: format!("cannot write the report to {}: {e}", args.output.display()),
        code: 1,
    })?;
    outln!("wrote {}", args.output.display());
    Ok(EXIT_OK)
}

/// The page with `data` embedded (`</` escaped so the data cannot end its script element).
pub(crate) fn page(data: &Value) -> String {
    let json = data.to_string().replace("</", "<\\/");
    TEMPLATE.replacen("/*DATA*/", &json, 1)
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// The directories' names under `dir`.
fn subdirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Undoes [`component`]'s `%XX` escapes.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(hex) = b.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One try as its attempt log tells it: its first line's time, the time of the line that says
/// how it ended (`Attempt N ended STATE: ...`, else the last line) and that state.
fn attempt_span(path: &Path, n: u32) -> Option<(String, String, Option<String>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let lines: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let ts = |v: &Value| v["timestamp"].as_str().map(str::to_owned);
    let first = ts(lines.first()?)?;
    let prefix = format!("Attempt {n} ended ");
    let ended = lines.iter().rev().find_map(|l| {
        let rest = l["event"].as_str()?.strip_prefix(&prefix)?;
        let state = rest.split([':', ' ']).next()?.to_ascii_lowercase();
        Some((ts(l)?, state))
    });
    match ended {
        Some((end, state)) => Some((first, end, Some(state))),
        None => Some((first, ts(lines.last()?)?, None)),
    }
}

/// Every try of one task instance, from its attempt logs (`attempt=N.log`).
fn tries(log_dir: &Path, record: &Value) -> Vec<Value> {
    let mut numbered: Vec<(u32, PathBuf)> = std::fs::read_dir(log_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_prefix("attempt=")?.strip_suffix(".log")?;
            Some((n.parse().ok()?, e.path()))
        })
        .collect();
    numbered.sort();
    let last_try = record["try"].as_u64().unwrap_or(0);
    numbered
        .into_iter()
        .filter_map(|(n, path)| {
            let (start, end, ended) = attempt_span(&path, n)?;
            // The record knows the last try's outcome best; an earlier try's log says it.
            let state = if u64::from(n) == last_try {
                record["status"].as_str().map(str::to_ascii_lowercase)
            } else {
                None
            }
            .or(ended)
            .unwrap_or_else(|| "unknown".to_owned());
            Some(json!({
                "try": n,
                "start": start,
                "end": end,
                "state": state,
                "log": path.canonicalize().unwrap_or(path).display().to_string(),
            }))
        })
        .collect()
}

/// A task instance's XComs (key -> value, long values cut).
fn xcoms(dir: &Path) -> Value {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("xcom"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = serde_json::Map::new();
    for f in files {
        let Some(key) = f.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let shown: String = if text.chars().count() > XCOM_CHARS {
            text.chars().take(XCOM_CHARS).chain("…".chars()).collect()
        } else {
            text.trim_end().to_owned()
        };
        out.insert(decode(key), Value::String(shown));
    }
    Value::Object(out)
}

/// Everything the page shows, from the run directory `run_dir`
/// (`<state_dir>/<workflow_id>/<run_id>`).
pub(crate) fn collect(run_dir: &Path) -> Result<Value, String> {
    if !run_dir.join("run.json").is_file() && subdirs(run_dir).is_empty() {
        return Err(format!(
            "{} is not a run directory: it has neither run.json nor task directories; give \
             STATE_DIR/WORKFLOW_ID/RUN_ID, the directory `airtask run` names at its end",
            run_dir.display()
        ));
    }
    let run_dir = run_dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", run_dir.display()))?;
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .map(decode)
            .unwrap_or_default()
    };
    let mut run = read_json(&run_dir.join("run.json")).unwrap_or_else(|| {
        // A run of `run-task` calls: the tasks are the directories, with no edges known.
        let tasks: Vec<Value> = subdirs(&run_dir)
            .iter()
            .map(|t| json!({"task_id": decode(t), "upstream": [], "trigger_rule": "all_success"}))
            .collect();
        json!({
            "workflow_id": name(run_dir.parent()),
            "run_id": name(Some(&run_dir)),
            "tasks": tasks,
        })
    });
    let wid = run["workflow_id"].as_str().unwrap_or_default().to_owned();
    let run_id = run["run_id"].as_str().unwrap_or_default().to_owned();
    let state_dir = run_dir
        .parent()
        .and_then(Path::parent)
        .unwrap_or(&run_dir)
        .to_path_buf();
    let logs = state_dir
        .join("logs")
        .join(format!("workflow_id={}", component(&wid)))
        .join(format!("run_id={}", component(&run_id)));
    if let Some(tasks) = run["tasks"].as_array_mut() {
        for task in tasks {
            let task_id = task["task_id"].as_str().unwrap_or_default().to_owned();
            let tdir = run_dir.join(component(&task_id));
            let mut map_indexes: Vec<i64> = subdirs(&tdir)
                .iter()
                .filter_map(|m| m.parse().ok())
                .collect();
            map_indexes.sort_unstable();
            let instances: Vec<Value> = map_indexes
                .into_iter()
                .map(|m| {
                    let dir = tdir.join(m.to_string());
                    let record = read_json(&dir.join("record.json")).unwrap_or(Value::Null);
                    let mut log_dir = logs.join(format!("task_id={}", component(&task_id)));
                    if m >= 0 {
                        log_dir.push(format!("map_index={m}"));
                    }
                    let output = dir.join("output.log");
                    json!({
                        "map_index": m,
                        "state": record["status"].as_str().map(str::to_ascii_lowercase),
                        "try": record["try"],
                        "started_at": record["started_at"],
                        "completed_at": record["completed_at"],
                        "error": record["error"],
                        "xcoms": xcoms(&dir),
                        "output_log": output.is_file().then(|| output.display().to_string()),
                        "tries": tries(&log_dir, &record),
                    })
                })
                .collect();
            task["task_instances"] = Value::Array(instances);
        }
    }
    Ok(run)
}
