//! Feeds arbitrary bytes to the workflow loader: it must never panic, loop or blow up, whatever
//! the input. Run: `cd crates/workflow/fuzz && cargo +nightly fuzz run load`.
#![no_main]

use airtask_workflow::{LoadOptions, OperatorCatalog, load};
use libfuzzer_sys::fuzz_target;

struct Standard;

impl OperatorCatalog for Standard {
    fn resolve(&self, path: &str) -> Option<&str> {
        path.ends_with("EmptyOperator")
            .then_some("airflow.providers.standard.operators.empty.EmptyOperator")
    }
    fn implemented(&self) -> Vec<&str> {
        vec!["airflow.providers.standard.operators.empty.EmptyOperator"]
    }
}

fuzz_target!(|data: &[u8]| {
    let env = |name: &str| (name == "HOME").then(|| "/home/x".to_owned());
    let opts = LoadOptions {
        env: &env,
        now: jiff::Timestamp::UNIX_EPOCH,
        for_create: data.first().is_some_and(|b| b & 1 == 1),
        catalog: &Standard,
    };
    let report = load(data, &opts);
    // A valid workflow is in topological order and every error is one non-empty message.
    if let Some(wf) = &report.workflow {
        for (i, t) in wf.tasks.iter().enumerate() {
            for u in &t.upstream {
                assert!(wf.tasks[..i].iter().any(|p| &p.task_id == u));
            }
        }
    }
    for d in &report.diagnostics {
        assert!(!d.message.is_empty());
    }
});
