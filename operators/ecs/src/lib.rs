//! The Amazon provider's ECS operators and sensors:
//! - `EcsCreateClusterOperator` / `EcsDeleteClusterOperator` (XCom: the cluster's description;
//!   they wait for ACTIVE / INACTIVE);
//! - `EcsRegisterTaskDefinitionOperator` / `EcsDeregisterTaskDefinitionOperator` (XCom: the
//!   task definition's ARN);
//! - `EcsRunTaskOperator`: runs a task, waits for it to stop, streams its CloudWatch logs,
//!   fails on a container's non-zero exit code, stops the task on kill (XCom `ecs_task_arn`,
//!   and the last log line as the return value);
//! - `EcsClusterStateSensor`, `EcsTaskDefinitionStateSensor`, `EcsTaskStateSensor`.
//!
//! The user's boto3 keyword arguments (`create_cluster_kwargs`, `container_definitions`,
//! `overrides`...) are checked against botocore's shapes and sent as JSON, as boto3 sends them
//! (see the airtask-awsjson crate). See docs/operators/ecs.md for the parameters and where
//! airtask departs from the provider.

mod cluster;
mod run_task;
mod sensors;
mod task_definition;

use std::sync::OnceLock;

use airtask_aws::AwsParams;
use airtask_awsjson::Shapes;
use airtask_core::permissions::arn;
use airtask_core::{ParamError, ParamReader, RegistryBuilder, TaskContext, TaskError};
use aws_sdk_ecs::Client;
use serde_json::Value;

pub use cluster::{EcsCreateClusterOperator, EcsDeleteClusterOperator};
pub use run_task::EcsRunTaskOperator;
pub use sensors::{EcsClusterStateSensor, EcsTaskDefinitionStateSensor, EcsTaskStateSensor};
pub use task_definition::{EcsDeregisterTaskDefinitionOperator, EcsRegisterTaskDefinitionOperator};

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<EcsCreateClusterOperator>()
        .register::<EcsDeleteClusterOperator>()
        .register::<EcsRegisterTaskDefinitionOperator>()
        .register::<EcsDeregisterTaskDefinitionOperator>()
        .register::<EcsRunTaskOperator>()
        .register::<EcsClusterStateSensor>()
        .register::<EcsTaskDefinitionStateSensor>()
        .register::<EcsTaskStateSensor>()
}

/// The botocore shapes of the ECS requests whose arguments the operators pass through.
pub(crate) fn shapes() -> &'static Shapes {
    static CELL: OnceLock<Shapes> = OnceLock::new();
    Shapes::embedded(&CELL, include_str!("shapes.json"))
}

/// An ECS client for the task's identity, in the operator's region.
pub(crate) fn client(ctx: &TaskContext, aws: &AwsParams) -> Result<Client, TaskError> {
    airtask_aws::client_in(ctx, aws.region(), airtask_aws::sdk!(aws_sdk_ecs))
}

/// Sends one ECS call with an [`airtask_awsjson::RawJson`] interceptor and reads its answer as
/// JSON; an SDK error becomes a task error naming the call (`$what`).
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

/// The ARN pattern of an ECS cluster given by name or ARN.
pub(crate) fn cluster_arn(aws: &AwsParams, cluster: &str) -> String {
    if cluster.starts_with("arn:") {
        cluster.to_owned()
    } else {
        arn("ecs", aws.region(), &format!("cluster/{cluster}"))
    }
}

/// The ARN pattern of the tasks of a cluster given by name or ARN.
pub(crate) fn tasks_arn(aws: &AwsParams, cluster: &str) -> String {
    let name = cluster.rsplit('/').next().unwrap_or(cluster);
    arn("ecs", aws.region(), &format!("task/{name}/*"))
}

/// The ARN pattern of a task definition given as `family`, `family:revision` or ARN.
pub(crate) fn task_definition_arn(aws: &AwsParams, task_definition: &str) -> String {
    if task_definition.starts_with("arn:") {
        return task_definition.to_owned();
    }
    let resource = if task_definition.contains(':') {
        format!("task-definition/{task_definition}")
    } else {
        format!("task-definition/{task_definition}:*")
    };
    arn("ecs", aws.region(), &resource)
}

/// A boto3 keyword-argument parameter checked against the shape of `member` of `operation`
/// (`overrides` of RunTask); `None` when absent.
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

/// A `*_kwargs` parameter checked against `operation`'s input, without the members the
/// operator sets itself (`own`: member and parameter); empty when absent.
pub(crate) fn kwargs_param(
    p: &mut ParamReader<'_>,
    name: &'static str,
    operation: &str,
    own: &[(&str, &str)],
) -> Result<serde_json::Map<String, Value>, ParamError> {
    let rendered = p.rendered();
    let Some(v) = airtask_core::kwargs::mapping(p, name) else {
        return Ok(serde_json::Map::new());
    };
    shapes()
        .check_kwargs(operation, v, name, own, rendered)
        .map_err(|e| airtask_core::kwargs::param_error(p, name, e))
}

/// The state names a sensor takes (`target_state`, `failure_states`), checked against the
/// provider's enum of them.
pub(crate) fn state_param(
    p: &mut ParamReader<'_>,
    name: &'static str,
    allowed: &[&str],
) -> Result<Option<Vec<String>>, ParamError> {
    let Some(states) = p.str_or_list(name)? else {
        return Ok(None);
    };
    for s in &states {
        if !p.is_templated(s) && !allowed.contains(&s.as_str()) {
            return Err(ParamError::at(
                name,
                format!(
                    "{} parameter `{name}` has '{s}', which is not a state it knows; the states \
                     are {}",
                    p.operator(),
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(Some(states))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_shapes_parse() {
        assert_eq!(shapes().input("RunTask"), Some("RunTaskRequest"));
        assert_eq!(
            shapes().input("RegisterTaskDefinition"),
            Some("RegisterTaskDefinitionRequest")
        );
        assert_eq!(
            shapes().input("CreateCluster"),
            Some("CreateClusterRequest")
        );
    }

    #[test]
    fn arns_of_names_and_arns() {
        let aws = AwsParams::default();
        assert_eq!(
            cluster_arn(&aws, "c"),
            "arn:aws:ecs:{region}:{account}:cluster/c"
        );
        assert_eq!(
            tasks_arn(&aws, "arn:aws:ecs:us-east-1:1:cluster/c"),
            "arn:aws:ecs:{region}:{account}:task/c/*"
        );
        assert_eq!(
            task_definition_arn(&aws, "fam"),
            "arn:aws:ecs:{region}:{account}:task-definition/fam:*"
        );
        assert_eq!(
            task_definition_arn(&aws, "fam:3"),
            "arn:aws:ecs:{region}:{account}:task-definition/fam:3"
        );
    }
}
