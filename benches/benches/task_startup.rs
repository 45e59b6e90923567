//! The whole `airtask run-task` process for an EmptyOperator task of a local workflow, from
//! exec to exit (an upper bound on exec to the operator's `execute`), and the peak RSS of those
//! processes. Targets: under 5 ms median, under 15 MB. Airflow 3's per-task worker takes
//! 2-3 s and 124 MB for the same task.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let bin = airtask_benches::airtask_release();
    let dir = std::env::temp_dir().join(format!("airtask-startup-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let wf = dir.join("wf.yaml");
    std::fs::write(
        &wf,
        "startup:\n  tasks:\n    start:\n      operator: airflow.providers.standard.operators.empty.EmptyOperator\n",
    )
    .expect("write workflow");
    let state = dir.join("state");
    let run = || {
        let status = Command::new(&bin)
            .arg("run-task")
            .arg(&wf)
            .args(["start", "--run-id", "bench", "--logical-date", "2025-03-09"])
            .arg("--state-dir")
            .arg(&state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run airtask");
        assert!(status.success());
    };
    c.bench_function("run_task_empty_operator_process", |b| b.iter(run));
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    eprintln!(
        "peak RSS of the airtask run-task processes: {:.1} MB",
        usage.max_rss() as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
