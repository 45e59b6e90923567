//! The ECS state sensors: each poke reads one state (DescribeClusters, DescribeTaskDefinition,
//! DescribeTasks) and is met when it is `target_state`; a state of `failure_states` (other than
//! the target) fails the task: "Terminal state reached. Current state: X, Expected state: Y".

use airtask_aws::AwsParams;
use airtask_awsjson::RawJson;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_ecs::Client;
use serde_json::Value;

use crate::{call, cluster_arn, state_param, tasks_arn};

/// `EcsClusterStates`.
const CLUSTER_STATES: &[&str] = &[
    "ACTIVE",
    "PROVISIONING",
    "DEPROVISIONING",
    "FAILED",
    "INACTIVE",
];
/// `EcsTaskDefinitionStates`.
const TASK_DEFINITION_STATES: &[&str] = &["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"];
/// `EcsTaskStates`.
const TASK_STATES: &[&str] = &[
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
    "NONE",
];

/// The sensors' `poke_interval` default (BaseSensorOperator's).
const POKE_INTERVAL: f64 = 60.0;

/// `_check_failed` and the poke's result: met when `state` is the target; an error when it is
/// one of `failure` and not the target; `what` names the state in the log line.
fn judge(
    ctx: &TaskContext,
    what: &str,
    state: &str,
    allowed: &[&str],
    target: &str,
    failure: &[String],
) -> Result<bool, TaskError> {
    if !allowed.contains(&state) {
        return Err(TaskError::retryable(format!(
            "'{state}' is not a valid {what} state (the provider's enum has {})",
            allowed.join(", ")
        )));
    }
    ctx.info(&format!("{what} state: {state}, waiting for: {target}"));
    if state != target && failure.iter().any(|f| f == state) {
        return Err(TaskError::retryable(format!(
            "Terminal state reached. Current state: {state}, Expected state: {target}"
        )));
    }
    Ok(state == target)
}

/// A configured `EcsClusterStateSensor`.
#[derive(Debug)]
pub struct EcsClusterStateSensor {
    aws: AwsParams,
    sensor: SensorSettings,
    cluster_name: String,
    target_state: String,
    failure_states: Vec<String>,
}

impl Operator for EcsClusterStateSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.ecs.EcsClusterStateSensor",
        aliases: &[],
        // aws_template_fields("cluster_name", "target_state", "failure_states"), sorted.
        template_fields: &[
            "aws_conn_id",
            "cluster_name",
            "failure_states",
            "region_name",
            "target_state",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let sensor = SensorSettings::read(p, POKE_INTERVAL)?;
        let cluster_name = p.required_str("cluster_name", "the cluster to watch")?;
        let target_state = one_state(p, "target_state", CLUSTER_STATES, "ACTIVE")?;
        let failure_states = state_param(p, "failure_states", CLUSTER_STATES)?
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| vec!["FAILED".into(), "INACTIVE".into()]);
        Ok(EcsClusterStateSensor {
            aws,
            sensor,
            cluster_name,
            target_state,
            failure_states,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ecs = crate::client(ctx, &self.aws)?;
        let this = &*self;
        sensor::run(&self.sensor, ctx, || async {
            let state = cluster_state(&ecs, &this.cluster_name).await?;
            judge(
                ctx,
                "Cluster",
                &state,
                CLUSTER_STATES,
                &this.target_state,
                &this.failure_states,
            )
        })
        .await
    }

    /// DescribeClusters on the cluster.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["ecs:DescribeClusters"],
            [cluster_arn(&self.aws, &self.cluster_name)],
        )]
    }
}

/// `get_cluster_state`.
async fn cluster_state(ecs: &Client, cluster: &str) -> Result<String, TaskError> {
    let answer = call!(
        format!("DescribeClusters {cluster}"),
        ecs.describe_clusters().clusters(cluster),
        RawJson::answer_only()
    )?;
    answer["clusters"][0]["status"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            TaskError::retryable(format!(
                "ECS cluster {cluster} was not found (DescribeClusters answered {})",
                answer["failures"]
            ))
        })
}

/// A configured `EcsTaskDefinitionStateSensor`.
#[derive(Debug)]
pub struct EcsTaskDefinitionStateSensor {
    aws: AwsParams,
    sensor: SensorSettings,
    task_definition: String,
    target_state: String,
    failure_states: Vec<String>,
}

impl Operator for EcsTaskDefinitionStateSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.ecs.EcsTaskDefinitionStateSensor",
        aliases: &[],
        // aws_template_fields("task_definition", "target_state", "failure_states"), sorted.
        template_fields: &[
            "aws_conn_id",
            "failure_states",
            "region_name",
            "target_state",
            "task_definition",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let sensor = SensorSettings::read(p, POKE_INTERVAL)?;
        let task_definition = p.required_str(
            "task_definition",
            "the task definition to watch (family, family:revision or ARN)",
        )?;
        let target_state = one_state(p, "target_state", TASK_DEFINITION_STATES, "ACTIVE")?;
        // There are two states: the failure state is the one that is not the target.
        let failure = if target_state == "ACTIVE" {
            "INACTIVE"
        } else {
            "ACTIVE"
        };
        Ok(EcsTaskDefinitionStateSensor {
            aws,
            sensor,
            task_definition,
            target_state,
            failure_states: vec![failure.to_owned()],
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ecs = crate::client(ctx, &self.aws)?;
        let this = &*self;
        sensor::run(&self.sensor, ctx, || async {
            let answer = call!(
                format!("DescribeTaskDefinition {}", this.task_definition),
                ecs.describe_task_definition()
                    .task_definition(&this.task_definition),
                RawJson::answer_only()
            )?;
            let state = answer["taskDefinition"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            judge(
                ctx,
                "Task Definition",
                &state,
                TASK_DEFINITION_STATES,
                &this.target_state,
                &this.failure_states,
            )
        })
        .await
    }

    /// DescribeTaskDefinition (not scoped to a resource).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::on_any(&["ecs:DescribeTaskDefinition"])]
    }
}

/// A configured `EcsTaskStateSensor`.
#[derive(Debug)]
pub struct EcsTaskStateSensor {
    aws: AwsParams,
    sensor: SensorSettings,
    cluster: String,
    task: String,
    target_state: String,
    failure_states: Vec<String>,
}

impl Operator for EcsTaskStateSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.ecs.EcsTaskStateSensor",
        aliases: &[],
        // aws_template_fields("cluster", "task", "target_state", "failure_states"), sorted.
        template_fields: &[
            "aws_conn_id",
            "cluster",
            "failure_states",
            "region_name",
            "target_state",
            "task",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let sensor = SensorSettings::read(p, POKE_INTERVAL)?;
        let cluster = p.required_str("cluster", "the cluster of the task")?;
        let task = p.required_str("task", "the task id or ARN to watch")?;
        let target_state = one_state(p, "target_state", TASK_STATES, "RUNNING")?;
        let failure_states = state_param(p, "failure_states", TASK_STATES)?
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| vec!["STOPPED".into()]);
        Ok(EcsTaskStateSensor {
            aws,
            sensor,
            cluster,
            task,
            target_state,
            failure_states,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ecs = crate::client(ctx, &self.aws)?;
        let this = &*self;
        sensor::run(&self.sensor, ctx, || async {
            let answer = call!(
                format!("DescribeTasks {}", this.task),
                ecs.describe_tasks()
                    .cluster(&this.cluster)
                    .tasks(&this.task),
                RawJson::answer_only()
            )?;
            let state = answer["tasks"][0]["lastStatus"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| {
                    TaskError::retryable(format!(
                        "ECS task {} was not found on cluster {} (DescribeTasks answered no task)",
                        this.task, this.cluster
                    ))
                })?;
            judge(
                ctx,
                "Task",
                &state,
                TASK_STATES,
                &this.target_state,
                &this.failure_states,
            )
        })
        .await
    }

    /// DescribeTasks on the cluster's tasks.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["ecs:DescribeTasks"],
            [tasks_arn(&self.aws, &self.cluster)],
        )]
    }
}

/// One state parameter with a default.
fn one_state(
    p: &mut ParamReader<'_>,
    name: &'static str,
    allowed: &[&str],
    default: &str,
) -> Result<String, ParamError> {
    let given = p.value(name).cloned();
    match given {
        None => Ok(default.to_owned()),
        Some(Value::String(s)) => {
            if !p.is_templated(&s) && !allowed.contains(&s.as_str()) {
                return Err(ParamError::at(
                    name,
                    format!(
                        "{} parameter `{name}` is '{s}', which is not a state it knows; the \
                         states are {}",
                        p.operator(),
                        allowed.join(", ")
                    ),
                ));
            }
            Ok(s)
        }
        Some(other) => Err(ParamError::at(
            name,
            format!(
                "{} parameter `{name}` must be a state name, not {}",
                p.operator(),
                airtask_core::params::describe(&other)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, Params, build_operator};
    use serde_json::json;

    use super::*;

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            if let Ok(mut l) = self.0.lock() {
                l.push(message.to_owned());
            }
        }
    }

    #[test]
    fn states_are_judged_as_the_provider_judges_them() {
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        let ctx = TaskContext::new(&EcsTaskStateSensor::SPEC, "t", 1, lines.clone());
        let failure = vec!["STOPPED".to_owned()];
        assert_eq!(
            judge(&ctx, "Task", "RUNNING", TASK_STATES, "RUNNING", &failure),
            Ok(true)
        );
        assert_eq!(
            judge(&ctx, "Task", "PENDING", TASK_STATES, "RUNNING", &failure),
            Ok(false)
        );
        let e = judge(&ctx, "Task", "STOPPED", TASK_STATES, "RUNNING", &failure).unwrap_err();
        assert_eq!(
            e.message,
            "Terminal state reached. Current state: STOPPED, Expected state: RUNNING"
        );
        assert_eq!(
            judge(&ctx, "Task", "STOPPED", TASK_STATES, "STOPPED", &failure),
            Ok(true)
        );
        assert!(judge(&ctx, "Task", "WEIRD", TASK_STATES, "RUNNING", &failure).is_err());
        assert_eq!(
            lines.0.lock().unwrap()[0],
            "Task state: RUNNING, waiting for: RUNNING"
        );
    }

    #[test]
    fn parameters_and_permissions() {
        let p: Params = json!({"cluster_name": "c", "failure_states": ["FAILED"], "target_state": "INACTIVE", "poke_interval": 1})
            .as_object()
            .cloned()
            .unwrap();
        let s = build_operator::<EcsClusterStateSensor>(&p).unwrap();
        assert_eq!(s.failure_states, ["FAILED"]);
        assert_eq!(s.target_state, "INACTIVE");
        assert_eq!(
            s.permissions(),
            vec![Permission::new(
                &["ecs:DescribeClusters"],
                ["arn:aws:ecs:{region}:{account}:cluster/c"]
            )]
        );
        let p: Params = json!({"cluster_name": "c", "target_state": "RUNNING"})
            .as_object()
            .cloned()
            .unwrap();
        let e = build_operator::<EcsClusterStateSensor>(&p).unwrap_err();
        assert!(e.message().contains("not a state it knows"), "{e}");
        let p: Params = json!({"task_definition": "f:1", "target_state": "INACTIVE"})
            .as_object()
            .cloned()
            .unwrap();
        let s = build_operator::<EcsTaskDefinitionStateSensor>(&p).unwrap();
        assert_eq!(s.failure_states, ["ACTIVE"]);
        let p: Params = json!({"task_definition": "f:1", "failure_states": ["INACTIVE"]})
            .as_object()
            .cloned()
            .unwrap();
        // Not a parameter of this sensor (the provider's __init__ does not take it).
        assert!(build_operator::<EcsTaskDefinitionStateSensor>(&p).is_err());
        let p: Params = json!({"cluster": "c", "task": "t"})
            .as_object()
            .cloned()
            .unwrap();
        let s = build_operator::<EcsTaskStateSensor>(&p).unwrap();
        assert_eq!(
            (s.target_state.as_str(), s.failure_states.clone()),
            ("RUNNING", vec!["STOPPED".to_owned()])
        );
    }
}
