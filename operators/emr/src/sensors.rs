//! The EMR sensors of the provider's `EmrBaseSensor` family: each poke describes the cluster
//! (`EmrJobFlowSensor`), the step (`EmrStepSensor`) or the notebook execution
//! (`EmrNotebookExecutionSensor`); a state in `target_states` is met, a state in
//! `failed_states` fails the task with the provider's failure message.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_emr::Client;

use crate::cluster::describe_cluster;
use crate::common::{cluster_arn, states, wild};
use crate::notebook::{describe_notebook, notebook_arn};
use crate::steps::describe_step;

/// BaseSensorOperator's default `poke_interval`.
const POKE_INTERVAL: f64 = 60.0;

/// The states and deferrable settings every EMR base sensor takes.
#[derive(Debug)]
struct Targets {
    target: Vec<String>,
    failed: Vec<String>,
}

impl Targets {
    fn read(
        p: &mut ParamReader<'_>,
        target: &[&str],
        failed: &[&str],
    ) -> Result<Targets, ParamError> {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Ok(Targets {
            // The provider's `target_states or [...]`: an empty list means the default.
            target: states(p, "target_states")?
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| own(target)),
            failed: states(p, "failed_states")?
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| own(failed)),
        })
    }

    /// EmrBaseSensor.poke's decision on `state`.
    fn decide(&self, state: &str, failure: impl FnOnce() -> String) -> Result<bool, TaskError> {
        if self.target.iter().any(|t| t == state) {
            return Ok(true);
        }
        if self.failed.iter().any(|f| f == state) {
            return Err(TaskError::retryable(format!(
                "EMR job failed: {}",
                failure()
            )));
        }
        Ok(false)
    }
}

/// A configured `EmrJobFlowSensor`.
#[derive(Debug)]
pub struct EmrJobFlowSensor {
    aws: AwsParams,
    job_flow_id: String,
    targets: Targets,
    settings: SensorSettings,
}

impl Operator for EmrJobFlowSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.emr.EmrJobFlowSensor",
        aliases: &["airflow.providers.amazon.aws.sensors.emr_job_flow.EmrJobFlowSensor"],
        template_fields: &[
            "aws_conn_id",
            "failed_states",
            "job_flow_id",
            "region_name",
            "target_states",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let job_flow_id = p.required_str("job_flow_id", "the id of the job flow to watch")?;
        let targets = Targets::read(p, &["TERMINATED"], &["TERMINATED_WITH_ERRORS"])?;
        p.u32("max_attempts", 1..=u32::MAX)?;
        let settings = SensorSettings::read(p, POKE_INTERVAL)?;
        Ok(EmrJobFlowSensor {
            aws,
            job_flow_id,
            targets,
            settings,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["elasticmapreduce:DescribeCluster"],
            [cluster_arn(self.aws.region(), wild(&self.job_flow_id))],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_emr))?;
        let (emr, id, targets) = (&emr, self.job_flow_id.as_str(), &self.targets);
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!("Poking cluster {id}"));
            let s = describe_cluster(emr, id).await?;
            ctx.info(&format!("Job flow currently {}", s.state));
            targets.decide(&s.state, || s.failure_message())
        })
        .await
    }
}

/// A configured `EmrStepSensor`.
#[derive(Debug)]
pub struct EmrStepSensor {
    aws: AwsParams,
    job_flow_id: String,
    step_id: String,
    targets: Targets,
    settings: SensorSettings,
}

impl Operator for EmrStepSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.emr.EmrStepSensor",
        aliases: &["airflow.providers.amazon.aws.sensors.emr_step.EmrStepSensor"],
        template_fields: &[
            "aws_conn_id",
            "failed_states",
            "job_flow_id",
            "region_name",
            "step_id",
            "target_states",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let job_flow_id =
            p.required_str("job_flow_id", "the id of the job flow that runs the step")?;
        let step_id = p.required_str("step_id", "the id of the step to watch")?;
        let targets = Targets::read(p, &["COMPLETED"], &["CANCELLED", "FAILED", "INTERRUPTED"])?;
        p.u32("max_attempts", 1..=u32::MAX)?;
        let settings = SensorSettings::read(p, POKE_INTERVAL)?;
        Ok(EmrStepSensor {
            aws,
            job_flow_id,
            step_id,
            targets,
            settings,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["elasticmapreduce:DescribeStep"],
            [cluster_arn(self.aws.region(), wild(&self.job_flow_id))],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_emr))?;
        let (emr, id, step, targets) = (
            &emr,
            self.job_flow_id.as_str(),
            self.step_id.as_str(),
            &self.targets,
        );
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!("Poking step {step} on cluster {id}"));
            let s = describe_step(emr, id, step).await?;
            ctx.info(&format!("Job flow currently {}", s.state));
            targets.decide(&s.state, || s.failure_message())
        })
        .await
    }
}

/// A configured `EmrNotebookExecutionSensor`.
#[derive(Debug)]
pub struct EmrNotebookExecutionSensor {
    aws: AwsParams,
    notebook_execution_id: String,
    targets: Targets,
    settings: SensorSettings,
}

impl Operator for EmrNotebookExecutionSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.emr.EmrNotebookExecutionSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "notebook_execution_id",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let notebook_execution_id = p.required_str(
            "notebook_execution_id",
            "the id of the notebook execution to watch",
        )?;
        let targets = Targets::read(p, &["FINISHED"], &["FAILED"])?;
        let settings = SensorSettings::read(p, POKE_INTERVAL)?;
        Ok(EmrNotebookExecutionSensor {
            aws,
            notebook_execution_id,
            targets,
            settings,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["elasticmapreduce:DescribeNotebookExecution"],
            [notebook_arn(self.aws.region(), &self.notebook_execution_id)],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_emr))?;
        let (emr, id, targets): (&Client, &str, &Targets) =
            (&emr, self.notebook_execution_id.as_str(), &self.targets);
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!("Poking notebook {id}"));
            let n = describe_notebook(emr, id).await?;
            ctx.info(&format!("Job flow currently {}", n.status));
            targets.decide(&n.status, || {
                n.reason.clone().unwrap_or_else(|| "None".to_owned())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::{Value, json};

    use super::*;

    fn step(v: Value) -> Result<EmrStepSensor, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EmrStepSensor>(&p)
    }

    #[test]
    fn defaults_and_decisions_follow_the_provider() {
        let s = step(json!({"job_flow_id": "j-1", "step_id": "s-1"})).unwrap();
        assert_eq!(s.targets.target, ["COMPLETED"]);
        assert_eq!(s.targets.failed, ["CANCELLED", "FAILED", "INTERRUPTED"]);
        assert_eq!(s.targets.decide("COMPLETED", String::new), Ok(true));
        assert_eq!(s.targets.decide("RUNNING", String::new), Ok(false));
        let e = s
            .targets
            .decide("FAILED", || {
                "for reason r with message m and log file l".into()
            })
            .unwrap_err();
        assert_eq!(
            e.message,
            "EMR job failed: for reason r with message m and log file l"
        );
        let s = step(json!({"job_flow_id": "j-1", "step_id": "s-1", "target_states": "RUNNING", "failed_states": []}))
            .unwrap();
        assert_eq!(s.targets.target, ["RUNNING"]);
        assert_eq!(s.targets.failed, ["CANCELLED", "FAILED", "INTERRUPTED"]);
    }
}
