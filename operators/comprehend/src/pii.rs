//! `ComprehendStartPiiEntitiesDetectionJobOperator` (StartPiiEntitiesDetectionJob, named
//! `start_pii_entities_detection_job-<unix time>` unless `start_pii_entities_kwargs` names
//! it; with `wait_for_completion` the provider's `pii_entities_detection_job_complete` waiter;
//! XCom is the job id) and `ComprehendStartPiiEntitiesDetectionJobCompletedSensor`
//! (DescribePiiEntitiesDetectionJob per poke).

use airtask_aws::AwsParams;
use airtask_core::kwargs::{self, Obj};
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::wait::{self, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_comprehend::operation::start_pii_entities_detection_job::builders::StartPiiEntitiesDetectionJobInputBuilder;
use aws_sdk_comprehend::types::{
    InputDataConfig, InputFormat, LanguageCode, OutputDataConfig, PiiEntitiesDetectionMaskMode,
    PiiEntitiesDetectionMode, PiiEntityType, RedactionConfig,
};
use serde_json::{Value, json};

use crate::config::{self, PII_JOB, required};

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Reads `input_data_config` (boto3's `InputDataConfig`).
pub(crate) fn input_config(v: &Value, rendered: bool) -> Result<InputDataConfig, String> {
    const P: &str = "input_data_config";
    let mut o = Obj::new(P, v, rendered)?;
    let uri = required(&mut o, P, "S3Uri")?;
    let format = o.str("InputFormat")?;
    let reader = config::document_reader(&mut o, P)?;
    o.finish()?;
    InputDataConfig::builder()
        .s3_uri(uri)
        .set_input_format(format.map(|f| InputFormat::from(f.as_str())))
        .set_document_reader_config(reader)
        .build()
        .map_err(err)
}

/// Reads `output_data_config` (boto3's `OutputDataConfig`).
pub(crate) fn output_config(v: &Value, rendered: bool) -> Result<OutputDataConfig, String> {
    const P: &str = "output_data_config";
    let mut o = Obj::new(P, v, rendered)?;
    let uri = required(&mut o, P, "S3Uri")?;
    let key = o.str("KmsKeyId")?;
    o.finish()?;
    OutputDataConfig::builder()
        .s3_uri(uri)
        .set_kms_key_id(key)
        .build()
        .map_err(err)
}

/// A configured `ComprehendStartPiiEntitiesDetectionJobOperator`.
#[derive(Debug)]
pub struct ComprehendStartPiiEntitiesDetectionJobOperator {
    aws: AwsParams,
    data_access_role_arn: String,
    job_name: Option<String>,
    tagged: bool,
    request: StartPiiEntitiesDetectionJobInputBuilder,
    wait: WaitSettings,
}

/// A required mapping parameter read with `read`; absent only while unrendered (validate).
pub(crate) fn mapping<T>(
    p: &mut ParamReader<'_>,
    name: &'static str,
    what: &str,
    read: impl FnOnce(&Value, bool) -> Result<T, String>,
) -> Result<Option<T>, ParamError> {
    let rendered = p.rendered();
    match kwargs::mapping(p, name) {
        Some(v) => read(v, rendered)
            .map(Some)
            .map_err(|e| kwargs::param_error(p, name, e)),
        None if rendered => Err(ParamError::at(
            name,
            format!("{} needs `{name}`: {what}", p.operator()),
        )),
        None => Ok(None),
    }
}

impl Operator for ComprehendStartPiiEntitiesDetectionJobOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.comprehend.ComprehendStartPiiEntitiesDetectionJobOperator",
        aliases: &[],
        // ComprehendBaseOperator's aws_template_fields("input_data_config",
        // "output_data_config", "data_access_role_arn", "language_code").
        template_fields: &[
            "aws_conn_id",
            "data_access_role_arn",
            "input_data_config",
            "language_code",
            "output_data_config",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let input = mapping(
            p,
            "input_data_config",
            "the input documents, a mapping with S3Uri (and InputFormat)",
            input_config,
        )?;
        let output = mapping(
            p,
            "output_data_config",
            "where the results go, a mapping with S3Uri",
            output_config,
        )?;
        let mode = p.required_str(
            "mode",
            "ONLY_OFFSETS (the locations of the entities) or ONLY_REDACTION (redacted copies)",
        )?;
        let data_access_role_arn = p.required_str(
            "data_access_role_arn",
            "the ARN of the IAM role that grants Comprehend access to the input and output",
        )?;
        let language_code =
            p.required_str("language_code", "the language of the input documents (en)")?;
        let rendered = p.rendered();
        let mut request = StartPiiEntitiesDetectionJobInputBuilder::default()
            .set_input_data_config(input)
            .set_output_data_config(output)
            .mode(PiiEntitiesDetectionMode::from(mode.as_str()))
            .data_access_role_arn(&data_access_role_arn)
            .language_code(LanguageCode::from(language_code.as_str()));
        let mut job_name = None;
        let mut tagged = false;
        if let Some(v) = kwargs::mapping(p, "start_pii_entities_kwargs") {
            let read = |b: StartPiiEntitiesDetectionJobInputBuilder| -> Result<_, String> {
                const P: &str = "start_pii_entities_kwargs";
                let mut o = Obj::new(P, v, rendered)?;
                let name = o.str("JobName")?;
                let token = o.str("ClientRequestToken")?;
                let tags = config::tags(&mut o, P)?;
                let redaction = match o.obj("RedactionConfig")? {
                    None => None,
                    Some(mut r) => {
                        let types = r.str_list("PiiEntityTypes")?;
                        let mask_mode = r.str("MaskMode")?;
                        let mask_char = r.str("MaskCharacter")?;
                        r.finish()?;
                        Some(
                            RedactionConfig::builder()
                                .set_pii_entity_types(types.map(|t| {
                                    t.iter().map(|x| PiiEntityType::from(x.as_str())).collect()
                                }))
                                .set_mask_mode(
                                    mask_mode
                                        .map(|m| PiiEntitiesDetectionMaskMode::from(m.as_str())),
                                )
                                .set_mask_character(mask_char)
                                .build(),
                        )
                    }
                };
                o.finish()?;
                Ok((
                    name,
                    tags.is_some(),
                    b.set_client_request_token(token)
                        .set_tags(tags)
                        .set_redaction_config(redaction),
                ))
            };
            let (name, has_tags, b) = read(request)
                .map_err(|e| kwargs::param_error(p, "start_pii_entities_kwargs", e))?;
            job_name = name;
            tagged = has_tags;
            request = b;
        }
        let wait = WaitSettings::read(p, 60, 20)?;
        Ok(ComprehendStartPiiEntitiesDetectionJobOperator {
            aws,
            data_access_role_arn,
            job_name,
            tagged,
            request,
            wait,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let job =
            airtask_core::permissions::arn("comprehend", region, "pii-entities-detection-job/*");
        let mut start = vec!["comprehend:StartPiiEntitiesDetectionJob"];
        if self.tagged {
            start.push("comprehend:TagResource");
        }
        let mut out = vec![
            Permission::new(&start, [job.clone()]),
            Permission::new(&["iam:PassRole"], [self.data_access_role_arn.clone()]),
        ];
        if self.wait.wait_for_completion || self.wait.deferrable {
            out.push(Permission::new(
                &["comprehend:DescribePiiEntitiesDetectionJob"],
                [job],
            ));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let comprehend = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_comprehend),
        )?;
        let name = match &self.job_name {
            Some(n) => n.clone(),
            None => {
                let now = comprehend.config().time_source().map(|t| t.now());
                format!(
                    "start_pii_entities_detection_job-{}",
                    config::unix_seconds(now)
                )
            }
        };
        ctx.info(&format!(
            "Submitting start pii entities detection job '{name}'."
        ));
        let out = self
            .request
            .clone()
            .job_name(&name)
            .send_with(&comprehend)
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("StartPiiEntitiesDetectionJob {name}"), &e)
            })?;
        let id = out.job_id().unwrap_or_default().to_owned();
        let region = comprehend
            .config()
            .region()
            .map_or_else(String::new, |r| r.to_string());
        ctx.info(&format!(
            "You can view the PII entities detection job at \
             https://console.aws.amazon.com/comprehend/home?region={region}#/analysis-job-details/pii/{id}"
        ));
        if self.wait.wait_for_completion || self.wait.deferrable {
            ctx.info(&format!(
                "Waiting for start pii entities detection job {id} to complete."
            ));
            let (c, i) = (&comprehend, id.as_str());
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("Comprehend PII entities detection job {id}"),
                || async move {
                    let s = config::pii_job(c, i).await?;
                    PII_JOB.waiter_poll(i, &s)
                },
            )
            .await?;
            ctx.info(&format!(
                "Comprehend pii entities detection job `{id}` complete."
            ));
        }
        Ok(Outcome::Success(Some(json!(id))))
    }
}

/// A configured `ComprehendStartPiiEntitiesDetectionJobCompletedSensor`.
#[derive(Debug)]
pub struct ComprehendStartPiiEntitiesDetectionJobCompletedSensor {
    aws: AwsParams,
    job_id: String,
    settings: SensorSettings,
    max_retries: u32,
}

impl Operator for ComprehendStartPiiEntitiesDetectionJobCompletedSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.comprehend.ComprehendStartPiiEntitiesDetectionJobCompletedSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "job_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let job_id = p.required_str(
            "job_id",
            "the id of the PII entities detection job to wait for",
        )?;
        let settings = SensorSettings::read(p, 120.0)?;
        let max_retries = p.u32("max_retries", 1..=u32::MAX)?.unwrap_or(75);
        Ok(ComprehendStartPiiEntitiesDetectionJobCompletedSensor {
            aws,
            job_id,
            settings,
            max_retries,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["comprehend:DescribePiiEntitiesDetectionJob"],
            [airtask_core::permissions::arn(
                "comprehend",
                self.aws.region(),
                &format!("pii-entities-detection-job/{}", self.job_id),
            )],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let comprehend = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_comprehend),
        )?;
        let (c, id) = (&comprehend, self.job_id.as_str());
        if self.settings.deferrable {
            let settings = config::deferred_wait(self.settings.poke_interval, self.max_retries);
            wait::until_terminal(
                ctx,
                &settings,
                &format!("Comprehend PII entities detection job {id}"),
                || async move {
                    let s = config::pii_job(c, id).await?;
                    PII_JOB.waiter_poll(id, &s)
                },
            )
            .await?;
            return Ok(Outcome::Success(Some(json!(true))));
        }
        sensor::run(&self.settings, ctx, || async move {
            let s = config::pii_job(c, id).await?;
            ctx.info(&format!(
                "Comprehend PII entities detection job {id} is {}",
                s.status
            ));
            PII_JOB.sensor_poke(id, &s)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build<T: Operator>(v: Value) -> Result<T, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<T>(&p)
    }

    fn job() -> Value {
        json!({"input_data_config": {"S3Uri": "s3://b/in/", "InputFormat": "ONE_DOC_PER_LINE"},
            "output_data_config": {"S3Uri": "s3://b/out/"}, "mode": "ONLY_REDACTION",
            "data_access_role_arn": "arn:aws:iam::1:role/r", "language_code": "en"})
    }

    #[test]
    fn the_operator_reads_the_providers_parameters_and_declares_its_permissions() {
        let op: ComprehendStartPiiEntitiesDetectionJobOperator = build(job()).unwrap();
        assert_eq!(op.wait.waiter_delay.as_secs(), 60);
        assert_eq!(op.wait.waiter_max_attempts, 20);
        assert!(op.job_name.is_none());
        assert_eq!(
            op.permissions(),
            [
                Permission::new(
                    &["comprehend:StartPiiEntitiesDetectionJob"],
                    ["arn:aws:comprehend:{region}:{account}:pii-entities-detection-job/*"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::1:role/r"]),
                Permission::new(
                    &["comprehend:DescribePiiEntitiesDetectionJob"],
                    ["arn:aws:comprehend:{region}:{account}:pii-entities-detection-job/*"]
                ),
            ]
        );
        let mut v = job();
        v["start_pii_entities_kwargs"] = json!({"JobName": "j1", "RedactionConfig":
            {"PiiEntityTypes": ["NAME", "EMAIL"], "MaskMode": "MASK", "MaskCharacter": "*"},
            "Tags": [{"Key": "k", "Value": "v"}]});
        v["wait_for_completion"] = json!(false);
        let op: ComprehendStartPiiEntitiesDetectionJobOperator = build(v.clone()).unwrap();
        assert_eq!(op.job_name.as_deref(), Some("j1"));
        assert_eq!(
            op.permissions()[0].actions,
            [
                "comprehend:StartPiiEntitiesDetectionJob",
                "comprehend:TagResource"
            ]
        );
        assert_eq!(op.permissions().len(), 2);
        v["start_pii_entities_kwargs"] = json!({"Jobname": "j1"});
        let e = build::<ComprehendStartPiiEntitiesDetectionJobOperator>(v).unwrap_err();
        assert!(
            e.message().contains("`start_pii_entities_kwargs.Jobname`"),
            "{e}"
        );
        let mut v = job();
        v["input_data_config"] = json!({"InputFormat": "ONE_DOC_PER_LINE"});
        let e = build::<ComprehendStartPiiEntitiesDetectionJobOperator>(v).unwrap_err();
        assert_eq!(e.param(), Some("input_data_config"));
        assert!(
            e.message()
                .contains("`input_data_config.S3Uri` is required"),
            "{e}"
        );
    }

    #[test]
    fn the_sensor_defaults_follow_the_provider() {
        let s: ComprehendStartPiiEntitiesDetectionJobCompletedSensor =
            build(json!({"job_id": "j"})).unwrap();
        assert_eq!(s.settings.poke_interval, 120.0);
        assert_eq!(s.max_retries, 75);
    }
}
