//! Loads and validates a 50 KB definition (about 150 tasks). Target: under 2 ms.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use airtask_core::Registry;
use airtask_workflow::{LoadOptions, load};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let text = airtask_benches::synthetic_definition(50 * 1024 - 512);
    let registry = airtask_standard::register(Registry::builder()).build();
    let env = |_: &str| None;
    let opts = LoadOptions {
        env: &env,
        now: jiff::Timestamp::UNIX_EPOCH,
        for_create: false,
        catalog: &registry,
    };
    let report = load(text.as_bytes(), &opts);
    let tasks = report.workflow.as_ref().map_or(0, |w| w.tasks.len());
    assert!(
        report.workflow.is_some(),
        "the benchmark definition must be valid: {:?}",
        report.diagnostics
    );
    eprintln!("definition: {} bytes, {tasks} tasks", text.len());
    c.bench_function("load_and_validate_50kb", |b| {
        b.iter(|| load(std::hint::black_box(text.as_bytes()), &opts))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
