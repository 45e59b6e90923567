//! Benchmarks of airtask; see `benches/`. Shared fixtures live here.

/// Builds a definition of about `target_bytes` bytes: converter-style tasks (operator path,
/// written-out defaults, `__type__` durations and datetimes, templated fields, dependencies),
/// the shape real MWAA Serverless definitions have.
pub fn synthetic_definition(target_bytes: usize) -> String {
    let mut out = String::from(
        "bench_workflow:\n  dag_id: bench_workflow\n  params: {source_prefix: incoming/, target_db: analytics}\n  default_args:\n    retries: 2\n    retry_delay: {__type__: datetime.timedelta, seconds: 90.0}\n  schedule: '0 6 * * *'\n  start_date: {__type__: datetime.datetime, year: 2025, month: 1, day: 15, hour: 8}\n  tasks:\n",
    );
    let mut i = 0;
    while out.len() < target_bytes.saturating_sub(400) {
        let op = if i % 3 == 0 {
            "airflow.providers.standard.operators.empty.EmptyOperator"
        } else {
            "airflow.providers.standard.operators.bash.BashOperator"
        };
        out.push_str(&format!("    task_{i:04}:\n      operator: {op}\n"));
        if i % 3 != 0 {
            out.push_str(&format!(
                "      bash_command: \"echo '{{{{ params.source_prefix }}}}{{{{ ds }}}}/part-{i}'\"\n"
            ));
        }
        out.push_str(
            "      execution_timeout:\n        __type__: datetime.timedelta\n        seconds: 900.0\n      outlets: []\n      priority_weight: 1\n      trigger_rule: all_success\n",
        );
        match i {
            0 => out.push_str("      dependencies: []\n"),
            1 | 2 => out.push_str("      dependencies: [task_0000]\n"),
            _ => out.push_str(&format!(
                "      dependencies: [task_{:04}, task_{:04}]\n",
                i - 1,
                i - 2
            )),
        }
        i += 1;
    }
    out
}

/// The release `airtask` binary beside the running bench (`target/release/airtask`). It is not
/// built from here: building would count cargo's own memory and time.
///
/// # Panics
/// When it is missing: build it first (`cargo build --release -p airtask`).
pub fn airtask_release() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("bench path");
    let bin = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/<profile>")
        .join("airtask");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release -p airtask` before this bench",
        bin.display()
    );
    bin
}
