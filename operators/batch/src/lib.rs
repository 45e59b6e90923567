//! The Amazon provider's AWS Batch operators and sensors:
//! - `BatchOperator`: SubmitJob, then (with `wait_for_completion`) the hook's polling with its
//!   random back-off, or (with `deferrable`) the `batch_job_complete` waiter every
//!   `poll_interval`; the job's CloudWatch log stream is followed with `awslogs_enabled`; a job
//!   that does not end SUCCEEDED fails the task; on_kill terminates the job. XCom: the job id,
//!   and the provider's link values (`batch_job_details`, `batch_job_definition`,
//!   `batch_job_queue`, `cloudwatch_events`);
//! - `BatchCreateComputeEnvironmentOperator` (XCom: the environment's ARN; with `deferrable` it
//!   waits for VALID);
//! - `BatchSensor`, `BatchComputeEnvironmentSensor`, `BatchJobQueueSensor`.
//!
//! The user's boto3 keyword arguments (`container_overrides`, `compute_resources`...) are
//! checked against botocore's shapes and sent as JSON, as boto3 sends them (see the
//! airtask-awsjson crate). See docs/operators/batch.md for the parameters and where airtask
//! departs from the provider.

mod compute_environment;
mod hook;
mod job;
mod sensors;

use std::sync::OnceLock;

use airtask_aws::AwsParams;
use airtask_awsjson::Shapes;
use airtask_core::permissions::arn;
use airtask_core::{ParamError, ParamReader, RegistryBuilder, TaskContext, TaskError};
use aws_sdk_batch::Client;
use serde_json::Value;

pub use compute_environment::BatchCreateComputeEnvironmentOperator;
pub use job::BatchOperator;
pub use sensors::{BatchComputeEnvironmentSensor, BatchJobQueueSensor, BatchSensor};

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<BatchOperator>()
        .register::<BatchSensor>()
        .register::<BatchCreateComputeEnvironmentOperator>()
        .register::<BatchComputeEnvironmentSensor>()
        .register::<BatchJobQueueSensor>()
}

/// The botocore shapes of the Batch requests whose arguments the operators pass through.
pub(crate) fn shapes() -> &'static Shapes {
    static CELL: OnceLock<Shapes> = OnceLock::new();
    Shapes::embedded(&CELL, include_str!("shapes.json"))
}

/// A Batch client for the task's identity, in the operator's region.
pub(crate) fn client(ctx: &TaskContext, aws: &AwsParams) -> Result<Client, TaskError> {
    airtask_aws::client_in(ctx, aws.region(), airtask_aws::sdk!(aws_sdk_batch))
}

/// The region a Batch client calls.
pub(crate) fn region_of(batch: &Client) -> String {
    batch
        .config()
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_default()
}

/// Sends one Batch call with an [`airtask_awsjson::RawJson`] interceptor and reads its answer
/// as JSON; an SDK error becomes a task error naming the call (`$what`).
macro_rules! call {
    ($what:expr, $fluent:expr, $raw:expr) => {{
        let raw: airtask_awsjson::RawJson = $raw;
        match $fluent.customize().interceptor(raw.clone()).send().await {
            Ok(_) => raw.response(),
            Err(e) => Err(airtask_aws::error::task_error(&$what, &e)),
        }
    }};
}
pub(crate) use call;

/// The ARN pattern of a Batch resource (`job-definition`, `job-queue`,
/// `compute-environment`) given by name (`name:revision` for a job definition) or ARN.
pub(crate) fn resource_arn(aws: &AwsParams, kind: &str, given: &str) -> String {
    if given.starts_with("arn:") {
        return given.to_owned();
    }
    if kind == "job-definition" && !given.contains(':') {
        return arn("batch", aws.region(), &format!("{kind}/{given}:*"));
    }
    arn("batch", aws.region(), &format!("{kind}/{given}"))
}

/// A boto3 keyword-argument parameter checked against the shape of `member` of `operation`;
/// `None` when absent.
pub(crate) fn member_param(
    p: &mut ParamReader<'_>,
    name: &'static str,
    operation: &str,
    member: &str,
) -> Result<Option<Value>, ParamError> {
    let rendered = p.rendered();
    let Some(v) = p.value(name) else {
        return Ok(None);
    };
    shapes()
        .check_member(operation, member, v, name, rendered)
        .map(Some)
        .map_err(|e| airtask_core::kwargs::param_error(p, name, e))
}

/// A number drawn uniformly from `[low, high)` (the hook's `random.uniform`): not for
/// security, only to spread the polls of many tasks.
pub(crate) fn uniform(low: f64, high: f64) -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        // Seeded from the standard library's per-process random hasher keys.
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x9E37_79B9_7F4A_7C15);
        x = h.finish() | 1;
    }
    // xorshift64*
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    STATE.store(x, Ordering::Relaxed);
    let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
    let unit = r as f64 / (1u64 << 53) as f64;
    low + (high - low) * unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_shapes_parse() {
        assert_eq!(shapes().input("SubmitJob"), Some("SubmitJobRequest"));
        assert_eq!(
            shapes().input("CreateComputeEnvironment"),
            Some("CreateComputeEnvironmentRequest")
        );
    }

    #[test]
    fn arns_and_draws() {
        let aws = AwsParams::default();
        assert_eq!(
            resource_arn(&aws, "job-definition", "jd"),
            "arn:aws:batch:{region}:{account}:job-definition/jd:*"
        );
        assert_eq!(
            resource_arn(&aws, "job-definition", "jd:2"),
            "arn:aws:batch:{region}:{account}:job-definition/jd:2"
        );
        assert_eq!(
            resource_arn(&aws, "job-queue", "q"),
            "arn:aws:batch:{region}:{account}:job-queue/q"
        );
        for _ in 0..1000 {
            let x = uniform(1.0, 10.0);
            assert!((1.0..10.0).contains(&x), "{x}");
        }
        assert_ne!(uniform(0.0, 1.0), uniform(0.0, 1.0));
    }
}
