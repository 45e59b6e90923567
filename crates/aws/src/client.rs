//! SDK clients for the task's identity: `airtask_aws::client(ctx, airtask_aws::sdk!(aws_sdk_glue))`.
//! Every client records the IAM action of each call in the try's call log (see
//! [`crate::CallRecorder`]).
//! The identity is the one the runtime gave the try (the task's role, else the execution
//! role, else the base credentials); the endpoint override (`AWS_ENDPOINT_URL`, and the
//! SDK's per-service `AWS_ENDPOINT_URL_<SERVICE>`) applies as the SDK configuration says.

use airtask_core::{TaskContext, TaskError};
use aws_config::SdkConfig;

use crate::CallRecorder;

/// A client of any service for the task's identity, in the environment's region.
///
/// # Errors
/// A fatal error when the runtime gave the operator no identity (an operator whose spec does
/// not say `calls_aws`): reported rather than falling back to other credentials.
pub fn client<C>(
    ctx: &TaskContext,
    new: impl FnOnce(&SdkConfig, CallRecorder) -> C,
) -> Result<C, TaskError> {
    let recorder = CallRecorder::new(ctx.call_log().clone());
    crate::identity::task_config(ctx).map(|c| new(c, recorder))
}

/// A client of any service for the task's identity, in `region` when one is given (the
/// operator's `region_name`, see [`crate::AwsParams::region`]), else in the environment's.
///
/// # Errors
/// As [`client`].
pub fn client_in<C>(
    ctx: &TaskContext,
    region: Option<&str>,
    new: impl FnOnce(&SdkConfig, CallRecorder) -> C,
) -> Result<C, TaskError> {
    let config = crate::identity::task_config(ctx)?;
    let recorder = CallRecorder::new(ctx.call_log().clone());
    Ok(match region {
        None => new(config, recorder),
        Some(r) => new(
            &config
                .to_builder()
                .region(aws_config::Region::new(r.to_owned()))
                .build(),
            recorder,
        ),
    })
}

/// The base parameters every Amazon operator takes (`AwsBaseOperator`): `aws_conn_id`,
/// `region_name`, `verify` and `botocore_config`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AwsParams {
    /// `region_name`: the region to call instead of the environment's.
    pub region_name: Option<String>,
    /// `verify` as given (`false`, or a CA bundle path); airtask verifies TLS with the
    /// system's roots whatever it says.
    pub verify: Option<serde_json::Value>,
    /// `botocore_config` as given; airtask takes client settings from the environment.
    pub botocore_config: Option<serde_json::Map<String, serde_json::Value>>,
}

impl AwsParams {
    /// Reads the base parameters. `aws_conn_id` may only be `aws_default` or `None` (there are
    /// no Airflow connections here: the task's identity is its role).
    ///
    /// # Errors
    /// Another `aws_conn_id`, or a parameter of the wrong type.
    pub fn read(
        p: &mut airtask_core::ParamReader<'_>,
    ) -> Result<AwsParams, airtask_core::ParamError> {
        if let Some(conn) = p.str("aws_conn_id")?
            && conn != "aws_default"
            && !p.is_templated(&conn)
        {
            return Err(airtask_core::ParamError::at(
                "aws_conn_id",
                format!(
                    "{} parameter `aws_conn_id` is '{conn}', which is not supported: there are \
                     no Airflow connections here; the task calls AWS with its own role \
                     (task_iam_role_arn, else the workflow's execution role). Leave it out or \
                     write aws_default.",
                    p.operator()
                ),
            ));
        }
        let region_name = p.str("region_name")?.filter(|r| !r.is_empty());
        let verify = p.value("verify").cloned();
        if let Some(v) = &verify
            && !matches!(v, serde_json::Value::Bool(_) | serde_json::Value::String(_))
        {
            return Err(airtask_core::ParamError::at(
                "verify",
                format!(
                    "{} parameter `verify` must be true, false or a CA bundle path, not {}",
                    p.operator(),
                    airtask_core::params::describe(v)
                ),
            ));
        }
        let botocore_config = p.map("botocore_config")?.cloned();
        Ok(AwsParams {
            region_name,
            verify,
            botocore_config,
        })
    }

    /// The region to call, when the operator names one.
    pub fn region(&self) -> Option<&str> {
        self.region_name.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use airtask_core::{Level, LogSink, OperatorSpec, ParamReader, Params};

    use super::*;
    use crate::identity::TaskIdentity;

    struct Quiet;
    impl LogSink for Quiet {
        fn line(&self, _: Level, _: &str, _: &str) {}
    }

    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "x.GlueJobOperator",
        aliases: &[],
        template_fields: &[],
        calls_aws: true,
    };

    fn read(v: serde_json::Value) -> Result<AwsParams, airtask_core::ParamError> {
        let p: Params = v.as_object().cloned().expect("an object");
        let mut r = ParamReader::new("GlueJobOperator", &p);
        let a = AwsParams::read(&mut r)?;
        r.finish()?;
        Ok(a)
    }

    #[test]
    fn base_parameters() {
        assert_eq!(read(serde_json::json!({})).unwrap(), AwsParams::default());
        let a = read(serde_json::json!({"aws_conn_id": "aws_default", "region_name": "eu-west-1", "verify": false, "botocore_config": {"retries": {"max_attempts": 3}}})).unwrap();
        assert_eq!(a.region(), Some("eu-west-1"));
        assert_eq!(a.verify, Some(serde_json::json!(false)));
        assert!(a.botocore_config.is_some());
        assert_eq!(
            read(serde_json::json!({"aws_conn_id": null})).unwrap(),
            AwsParams::default()
        );
        let e = read(serde_json::json!({"aws_conn_id": "my_conn"})).unwrap_err();
        assert_eq!(e.param(), Some("aws_conn_id"));
        assert!(
            e.message().starts_with(
                "GlueJobOperator parameter `aws_conn_id` is 'my_conn', which is not supported"
            ),
            "{e}"
        );
        assert!(read(serde_json::json!({"verify": 3})).is_err());
        assert!(read(serde_json::json!({"botocore_config": "x"})).is_err());
    }

    #[test]
    fn clients_use_the_task_identity_and_the_region_asked_for() {
        let ctx = TaskContext::new(&SPEC, "t", 1, Arc::new(Quiet));
        let e = client(&ctx, crate::sdk!(aws_sdk_sts)).unwrap_err();
        assert!(!e.retryable);
        assert!(e.message.contains("no AWS identity"), "{e}");
        let config = SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let ctx = ctx.with_aws(Arc::new(TaskIdentity { config }));
        let c = client(&ctx, crate::sdk!(aws_sdk_sts)).unwrap();
        assert_eq!(c.config().region().map(|r| r.as_ref()), Some("us-east-1"));
        let c = client_in(&ctx, Some("eu-west-1"), crate::sdk!(aws_sdk_sts)).unwrap();
        assert_eq!(c.config().region().map(|r| r.as_ref()), Some("eu-west-1"));
    }
}
