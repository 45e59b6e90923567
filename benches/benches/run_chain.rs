//! `airtask run` of a chain of 20 EmptyOperator tasks against the same 20 `airtask run-task`
//! processes started one after another: the run's own overhead (spawning, reacting to each
//! child's exit, reading its record, deciding the next task). `run` reacts to child exits as
//! they happen (no polling), so the target is a run within 1.5x of the sequential processes.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use std::path::Path;
use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};

const TASKS: usize = 20;

fn chain() -> String {
    let mut out = String::from("chain:\n  tasks:\n");
    for i in 0..TASKS {
        out.push_str(&format!(
            "    t{i:02}:\n      operator: airflow.providers.standard.operators.empty.EmptyOperator\n"
        ));
        if i > 0 {
            out.push_str(&format!("      dependencies: [t{:02}]\n", i - 1));
        }
    }
    out
}

fn airtask(bin: &Path, args: &[&str], state: &Path) {
    let status = Command::new(bin)
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run airtask");
    assert!(status.success(), "airtask {args:?} failed");
}

fn bench(c: &mut Criterion) {
    let bin = airtask_benches::airtask_release();
    let dir = std::env::temp_dir().join(format!("airtask-run-chain-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let wf = dir.join("chain.yaml");
    std::fs::write(&wf, chain()).expect("write workflow");
    let wf = wf.to_string_lossy().into_owned();
    let state = dir.join("state");
    let mut group = c.benchmark_group("chain_of_20_empty_tasks");
    group.sample_size(20);
    group.bench_function("run_task_x20_sequential", |b| {
        b.iter(|| {
            for i in 0..TASKS {
                let task = format!("t{i:02}");
                airtask(
                    &bin,
                    &[
                        "run-task",
                        &wf,
                        &task,
                        "--run-id",
                        "seq",
                        "--logical-date",
                        "2025-03-09",
                    ],
                    &state,
                );
            }
        });
    });
    group.bench_function("run", |b| {
        b.iter(|| {
            airtask(
                &bin,
                &[
                    "run",
                    &wf,
                    "--run-id",
                    "run",
                    "--logical-date",
                    "2025-03-09",
                ],
                &state,
            );
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
