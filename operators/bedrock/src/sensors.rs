//! The four Bedrock sensors (`BedrockBaseSensor.poke`): each poke reads the resource's status;
//! a failure state fails the task with the provider's `FAILURE_MESSAGE`, an intermediate
//! state is not met, any other state is met. With `deferrable: true` the provider's trigger
//! polls every `poke_interval` seconds at most `max_retries` times (the operators' waiter),
//! which runs here as an in-process wait with the same end.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::wait;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use serde_json::json;

use crate::common::{
    self, CUSTOMIZATION_JOB, INGESTION_JOB, KNOWLEDGE_BASE, PROVISIONED_THROUGHPUT, States, Status,
};
use crate::status::{self, IngestionJob};

/// What every Bedrock sensor reads besides its resource.
#[derive(Debug)]
struct Common {
    aws: AwsParams,
    settings: SensorSettings,
    max_retries: u32,
}

impl Common {
    fn read(
        p: &mut ParamReader<'_>,
        poke_interval: f64,
        max_retries: u32,
    ) -> Result<Common, ParamError> {
        let aws = AwsParams::read(p)?;
        let settings = SensorSettings::read(p, poke_interval)?;
        let max_retries = p.u32("max_retries", 1..=u32::MAX)?.unwrap_or(max_retries);
        Ok(Common {
            aws,
            settings,
            max_retries,
        })
    }

    /// Runs the sensor on `describe` (one status read per poke).
    async fn run<F, Fut>(
        &self,
        ctx: &TaskContext,
        states: States,
        name: &str,
        describe: F,
    ) -> Result<Outcome, TaskError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Status, TaskError>>,
    {
        if self.settings.deferrable {
            let settings = common::deferred_wait(self.settings.poke_interval, self.max_retries);
            wait::until_terminal(
                ctx,
                &settings,
                &format!("{} {name}", states.what),
                || async {
                    let s = describe().await?;
                    states.waiter_poll(name, &s)
                },
            )
            .await?;
            // The trigger resumes in `poke`, whose true is the XCom.
            return Ok(Outcome::Success(Some(json!(true))));
        }
        sensor::run(&self.settings, ctx, || async {
            let s = describe().await?;
            ctx.info(&format!("{} {name} is {}", states.what, s.status));
            states.sensor_poke(name, &s)
        })
        .await
    }
}

/// The ARN of a Bedrock resource in the task's region and account.
fn arn(region: Option<&str>, resource: &str) -> String {
    airtask_core::permissions::arn("bedrock", region, resource)
}

/// A configured `BedrockCustomizeModelCompletedSensor`.
#[derive(Debug)]
pub struct BedrockCustomizeModelCompletedSensor {
    common: Common,
    job_name: String,
}

impl Operator for BedrockCustomizeModelCompletedSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.bedrock.BedrockCustomizeModelCompletedSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "job_name", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let job_name = p.required_str(
            "job_name",
            "the name of the model customization job to wait for",
        )?;
        Ok(BedrockCustomizeModelCompletedSensor {
            common: Common::read(p, 120.0, 75)?,
            job_name,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        // A job name, or a job ARN as the API accepts too.
        let resource = if self.job_name.starts_with("arn:") {
            self.job_name.clone()
        } else {
            arn(
                self.common.aws.region(),
                &format!("model-customization-job/{}", self.job_name),
            )
        };
        vec![Permission::new(
            &["bedrock:GetModelCustomizationJob"],
            [resource],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let bedrock = airtask_aws::client_in(
            ctx,
            self.common.aws.region(),
            airtask_aws::sdk!(aws_sdk_bedrock),
        )?;
        let (b, n) = (&bedrock, self.job_name.as_str());
        self.common
            .run(ctx, CUSTOMIZATION_JOB, n, || {
                status::customization_job(b, n)
            })
            .await
    }
}

/// A configured `BedrockProvisionModelThroughputCompletedSensor`.
#[derive(Debug)]
pub struct BedrockProvisionModelThroughputCompletedSensor {
    common: Common,
    model_id: String,
}

impl Operator for BedrockProvisionModelThroughputCompletedSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.bedrock.BedrockProvisionModelThroughputCompletedSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "model_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let model_id = p.required_str(
            "model_id",
            "the ARN or name of the provisioned throughput to wait for",
        )?;
        Ok(BedrockProvisionModelThroughputCompletedSensor {
            common: Common::read(p, 60.0, 20)?,
            model_id,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let resource = if self.model_id.starts_with("arn:") {
            self.model_id.clone()
        } else {
            arn(self.common.aws.region(), "provisioned-model/*")
        };
        vec![Permission::new(
            &["bedrock:GetProvisionedModelThroughput"],
            [resource],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let bedrock = airtask_aws::client_in(
            ctx,
            self.common.aws.region(),
            airtask_aws::sdk!(aws_sdk_bedrock),
        )?;
        let (b, m) = (&bedrock, self.model_id.as_str());
        self.common
            .run(ctx, PROVISIONED_THROUGHPUT, m, || {
                status::provisioned_throughput(b, m)
            })
            .await
    }
}

/// A configured `BedrockKnowledgeBaseActiveSensor`.
#[derive(Debug)]
pub struct BedrockKnowledgeBaseActiveSensor {
    common: Common,
    knowledge_base_id: String,
}

impl Operator for BedrockKnowledgeBaseActiveSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.bedrock.BedrockKnowledgeBaseActiveSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "knowledge_base_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let knowledge_base_id = p.required_str(
            "knowledge_base_id",
            "the id of the knowledge base to wait for",
        )?;
        Ok(BedrockKnowledgeBaseActiveSensor {
            common: Common::read(p, 5.0, 24)?,
            knowledge_base_id,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["bedrock:GetKnowledgeBase"],
            [arn(
                self.common.aws.region(),
                &format!("knowledge-base/{}", self.knowledge_base_id),
            )],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let agent = airtask_aws::client_in(
            ctx,
            self.common.aws.region(),
            airtask_aws::sdk!(aws_sdk_bedrockagent),
        )?;
        let (a, k) = (&agent, self.knowledge_base_id.as_str());
        self.common
            .run(ctx, KNOWLEDGE_BASE, k, || status::knowledge_base(a, k))
            .await
    }
}

/// A configured `BedrockIngestionJobSensor`.
#[derive(Debug)]
pub struct BedrockIngestionJobSensor {
    common: Common,
    job: IngestionJob,
}

impl Operator for BedrockIngestionJobSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.bedrock.BedrockIngestionJobSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "data_source_id",
            "ingestion_job_id",
            "knowledge_base_id",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let knowledge_base_id =
            p.required_str("knowledge_base_id", "the id of the knowledge base")?;
        let data_source_id =
            p.required_str("data_source_id", "the id of the data source of the job")?;
        let ingestion_job_id = p.required_str(
            "ingestion_job_id",
            "the id of the ingestion job to wait for",
        )?;
        Ok(BedrockIngestionJobSensor {
            common: Common::read(p, 60.0, 10)?,
            job: IngestionJob {
                knowledge_base_id,
                data_source_id,
                ingestion_job_id,
            },
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["bedrock:GetIngestionJob"],
            [arn(
                self.common.aws.region(),
                &format!("knowledge-base/{}", self.job.knowledge_base_id),
            )],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let agent = airtask_aws::client_in(
            ctx,
            self.common.aws.region(),
            airtask_aws::sdk!(aws_sdk_bedrockagent),
        )?;
        let (a, j) = (&agent, &self.job);
        self.common
            .run(ctx, INGESTION_JOB, &j.ingestion_job_id, || {
                status::ingestion_job(a, j)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::Value;

    use super::*;

    fn build<T: Operator>(v: Value) -> Result<T, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<T>(&p)
    }

    #[test]
    fn defaults_follow_the_provider() {
        let s: BedrockCustomizeModelCompletedSensor = build(json!({"job_name": "j"})).unwrap();
        assert_eq!(s.common.settings.poke_interval, 120.0);
        assert_eq!(s.common.max_retries, 75);
        assert_eq!(
            s.permissions(),
            [Permission::new(
                &["bedrock:GetModelCustomizationJob"],
                ["arn:aws:bedrock:{region}:{account}:model-customization-job/j"]
            )]
        );
        let s: BedrockProvisionModelThroughputCompletedSensor =
            build(json!({"model_id": "m"})).unwrap();
        assert_eq!(
            (s.common.settings.poke_interval, s.common.max_retries),
            (60.0, 20)
        );
        let s: BedrockKnowledgeBaseActiveSensor = build(json!({"knowledge_base_id": "k"})).unwrap();
        assert_eq!(
            (s.common.settings.poke_interval, s.common.max_retries),
            (5.0, 24)
        );
        let s: BedrockIngestionJobSensor = build(
            json!({"knowledge_base_id": "k", "data_source_id": "d", "ingestion_job_id": "i"}),
        )
        .unwrap();
        assert_eq!(
            (s.common.settings.poke_interval, s.common.max_retries),
            (60.0, 10)
        );
        assert!(build::<BedrockIngestionJobSensor>(json!({"knowledge_base_id": "k"})).is_err());
    }
}
