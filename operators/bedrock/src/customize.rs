//! `BedrockCustomizeModelOperator` (CreateModelCustomizationJob; with `ensure_unique_job_name`
//! a taken job name gets `-<unix time>` appended and the call is made again; with
//! `wait_for_completion` the provider's `model_customization_job_complete` waiter; XCom is the
//! job's ARN) and `BedrockCreateProvisionedModelThroughputOperator`
//! (CreateProvisionedModelThroughput, then `provisioned_model_throughput_complete`; XCom is the
//! provisioned model's ARN).

use std::collections::HashMap;

use airtask_aws::AwsParams;
use airtask_core::kwargs::{self, Obj};
use airtask_core::wait::{self, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_bedrock::operation::create_model_customization_job::builders::CreateModelCustomizationJobInputBuilder;
use aws_sdk_bedrock::operation::create_provisioned_model_throughput::builders::CreateProvisionedModelThroughputInputBuilder;
use aws_sdk_bedrock::types::{
    CommitmentDuration, CustomizationType, OutputDataConfig, Tag, TrainingDataConfig,
    ValidationDataConfig, Validator, VpcConfig,
};
use serde_json::{Value, json};

use crate::common::{self, CUSTOMIZATION_JOB, PROVISIONED_THROUGHPUT, required, tag_pairs};
use crate::invoke::model_resources;
use crate::status;

/// What AWS says when a customization job's name is taken (the provider compares the message).
const NAME_IN_USE: &str = "The provided job name is currently in use.";

/// Bedrock tags from `{key, value}` pairs.
fn tags(pairs: Vec<(String, String)>) -> Result<Vec<Tag>, String> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Reads `customization_job_kwargs` into the request.
fn customization_kwargs(
    b: CreateModelCustomizationJobInputBuilder,
    v: &Value,
    rendered: bool,
) -> Result<CreateModelCustomizationJobInputBuilder, String> {
    const P: &str = "customization_job_kwargs";
    let mut o = Obj::new(P, v, rendered)?;
    let mut b = b
        .set_client_request_token(o.str("clientRequestToken")?)
        .set_custom_model_kms_key_id(o.str("customModelKmsKeyId")?)
        .set_customization_type(
            o.str("customizationType")?
                .map(|t| CustomizationType::from(t.as_str())),
        );
    if let Some(t) = tag_pairs(&mut o, P, "jobTags")? {
        b = b.set_job_tags(Some(tags(t)?));
    }
    if let Some(t) = tag_pairs(&mut o, P, "customModelTags")? {
        b = b.set_custom_model_tags(Some(tags(t)?));
    }
    if let Some(mut vd) = o.obj("validationDataConfig")? {
        let at = format!("{P}.validationDataConfig");
        let validators = vd
            .objs("validators")?
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, mut one)| {
                let uri = required(&mut one, &format!("{at}.validators[{i}]"), "s3Uri")?;
                one.finish()?;
                Validator::builder()
                    .s3_uri(uri)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, String>>()?;
        vd.finish()?;
        b = b.validation_data_config(
            ValidationDataConfig::builder()
                .set_validators(Some(validators))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    if let Some(mut vpc) = o.obj("vpcConfig")? {
        let subnets = vpc.str_list("subnetIds")?.unwrap_or_default();
        let groups = vpc.str_list("securityGroupIds")?.unwrap_or_default();
        vpc.finish()?;
        b = b.vpc_config(
            VpcConfig::builder()
                .set_subnet_ids(Some(subnets))
                .set_security_group_ids(Some(groups))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    o.finish()?;
    Ok(b)
}

/// A configured `BedrockCustomizeModelOperator`.
#[derive(Debug)]
pub struct BedrockCustomizeModelOperator {
    aws: AwsParams,
    job_name: String,
    role_arn: String,
    base_model_id: String,
    ensure_unique_job_name: bool,
    request: CreateModelCustomizationJobInputBuilder,
    wait: WaitSettings,
}

impl Operator for BedrockCustomizeModelOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.bedrock.BedrockCustomizeModelOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "base_model_id",
            "custom_model_name",
            "customization_job_kwargs",
            "ensure_unique_job_name",
            "hyperparameters",
            "job_name",
            "region_name",
            "role_arn",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let job_name = p.required_str("job_name", "a unique name for the fine-tuning job")?;
        let custom_model_name = p.required_str(
            "custom_model_name",
            "a name for the custom model being created",
        )?;
        let role_arn = p.required_str(
            "role_arn",
            "the ARN of an IAM role that Amazon Bedrock can assume for the job",
        )?;
        let base_model_id = p.required_str("base_model_id", "the id of the base model")?;
        let training_data_uri = p.required_str(
            "training_data_uri",
            "the S3 URI where the training data is stored",
        )?;
        let output_data_uri =
            p.required_str("output_data_uri", "the S3 URI where the output data goes")?;
        let rendered = p.rendered();
        let hyperparameters: HashMap<String, String> = match kwargs::mapping(p, "hyperparameters") {
            Some(v) => kwargs::str_map("hyperparameters", v)
                .map_err(|e| common::kwargs_error(p, "hyperparameters", e))?,
            None if rendered => {
                return Err(ParamError::at(
                    "hyperparameters",
                    "BedrockCustomizeModelOperator needs `hyperparameters`: the tuning \
                     parameters, a mapping of names to strings (e.g. epochCount: '1')",
                ));
            }
            None => HashMap::new(),
        };
        let ensure_unique_job_name = p.bool("ensure_unique_job_name", true)?;
        let mut request = CreateModelCustomizationJobInputBuilder::default()
            .job_name(&job_name)
            .custom_model_name(custom_model_name)
            .role_arn(&role_arn)
            .base_model_identifier(&base_model_id)
            .training_data_config(
                TrainingDataConfig::builder()
                    .s3_uri(training_data_uri)
                    .build(),
            )
            .set_hyper_parameters(Some(hyperparameters));
        request = request.output_data_config(
            OutputDataConfig::builder()
                .s3_uri(output_data_uri)
                .build()
                .map_err(|e| ParamError::at("output_data_uri", e.to_string()))?,
        );
        if let Some(v) = kwargs::mapping(p, "customization_job_kwargs") {
            request = customization_kwargs(request, v, rendered)
                .map_err(|e| common::kwargs_error(p, "customization_job_kwargs", e))?;
        }
        let wait = WaitSettings::read(p, 120, 75)?;
        Ok(BedrockCustomizeModelOperator {
            aws,
            job_name,
            role_arn,
            base_model_id,
            ensure_unique_job_name,
            request,
            wait,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let arn = |r: &str| airtask_core::permissions::arn("bedrock", region, r);
        // The job name may get a timestamp (ensure_unique_job_name): any job, any custom model.
        let mut create = vec![arn("model-customization-job/*"), arn("custom-model/*")];
        create.extend(model_resources(region, &self.base_model_id));
        let mut out = vec![
            Permission::new(&["bedrock:CreateModelCustomizationJob"], create),
            Permission::new(&["iam:PassRole"], [self.role_arn.clone()]),
        ];
        if self.wait.wait_for_completion || self.wait.deferrable {
            out.push(Permission::new(
                &["bedrock:GetModelCustomizationJob"],
                [arn("model-customization-job/*")],
            ));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let bedrock =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_bedrock))?;
        let arn = loop {
            ctx.info(&format!(
                "Creating Bedrock model customization job '{}'.",
                self.job_name
            ));
            let sent = self
                .request
                .clone()
                .job_name(&self.job_name)
                .send_with(&bedrock)
                .await;
            match sent {
                Ok(out) => break out.job_arn().to_owned(),
                Err(e) => {
                    let message = aws_sdk_bedrock::error::ProvideErrorMetadata::message(&e);
                    if message != Some(NAME_IN_USE) || !self.ensure_unique_job_name {
                        return Err(airtask_aws::error::task_error(
                            &format!("CreateModelCustomizationJob {}", self.job_name),
                            &e,
                        ));
                    }
                    let now = bedrock.config().time_source().map(|t| t.now());
                    self.job_name = format!("{}-{}", self.job_name, common::unix_seconds(now));
                    ctx.info(&format!(
                        "Changed job name to '{}' to avoid collision.",
                        self.job_name
                    ));
                }
            }
        };
        if self.wait.wait_for_completion || self.wait.deferrable {
            let name = self.job_name.clone();
            ctx.info(&format!(
                "Waiting for Bedrock model customization job {name} to complete."
            ));
            let (b, n) = (&bedrock, name.as_str());
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("Bedrock model customization job {name}"),
                || async move {
                    let s = status::customization_job(b, n).await?;
                    CUSTOMIZATION_JOB.waiter_poll(n, &s)
                },
            )
            .await?;
            ctx.info(&format!(
                "Bedrock model customization job `{name}` complete."
            ));
        }
        Ok(Outcome::Success(Some(json!(arn))))
    }
}

/// Reads `create_throughput_kwargs` into the request.
fn throughput_kwargs(
    b: CreateProvisionedModelThroughputInputBuilder,
    v: &Value,
    rendered: bool,
) -> Result<CreateProvisionedModelThroughputInputBuilder, String> {
    const P: &str = "create_throughput_kwargs";
    let mut o = Obj::new(P, v, rendered)?;
    let mut b = b
        .set_client_request_token(o.str("clientRequestToken")?)
        .set_commitment_duration(
            o.str("commitmentDuration")?
                .map(|d| CommitmentDuration::from(d.as_str())),
        );
    if let Some(t) = tag_pairs(&mut o, P, "tags")? {
        b = b.set_tags(Some(tags(t)?));
    }
    o.finish()?;
    Ok(b)
}

/// A configured `BedrockCreateProvisionedModelThroughputOperator`.
#[derive(Debug)]
pub struct BedrockCreateProvisionedModelThroughputOperator {
    aws: AwsParams,
    model_id: String,
    request: CreateProvisionedModelThroughputInputBuilder,
    wait: WaitSettings,
}

impl Operator for BedrockCreateProvisionedModelThroughputOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.bedrock.BedrockCreateProvisionedModelThroughputOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "model_id",
            "model_units",
            "provisioned_model_name",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let model_units = p.i64("model_units", 1..=i64::from(i32::MAX))?;
        if model_units.is_none() && p.rendered() {
            return Err(ParamError::at(
                "model_units",
                "BedrockCreateProvisionedModelThroughputOperator needs `model_units`: the \
                 number of model units to allocate (a whole number, 1 or more)",
            ));
        }
        let provisioned_model_name = p.required_str(
            "provisioned_model_name",
            "a unique name for this provisioned throughput",
        )?;
        let model_id = p.required_str(
            "model_id",
            "the name or ARN of the model to associate with this provisioned throughput",
        )?;
        let rendered = p.rendered();
        // The bounds above keep it within i32.
        let units = model_units.and_then(|u| i32::try_from(u).ok()).unwrap_or(1);
        let mut request = CreateProvisionedModelThroughputInputBuilder::default()
            .model_units(units)
            .provisioned_model_name(provisioned_model_name)
            .model_id(&model_id);
        if let Some(v) = kwargs::mapping(p, "create_throughput_kwargs") {
            request = throughput_kwargs(request, v, rendered)
                .map_err(|e| common::kwargs_error(p, "create_throughput_kwargs", e))?;
        }
        let wait = WaitSettings::read(p, 60, 20)?;
        Ok(BedrockCreateProvisionedModelThroughputOperator {
            aws,
            model_id,
            request,
            wait,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let pt = airtask_core::permissions::arn("bedrock", region, "provisioned-model/*");
        let mut create = vec![pt.clone()];
        create.extend(model_resources(region, &self.model_id));
        create.push(airtask_core::permissions::arn(
            "bedrock",
            region,
            "custom-model/*",
        ));
        let mut out = vec![Permission::new(
            &["bedrock:CreateProvisionedModelThroughput"],
            create,
        )];
        if self.wait.wait_for_completion || self.wait.deferrable {
            out.push(Permission::new(
                &["bedrock:GetProvisionedModelThroughput"],
                [pt],
            ));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let bedrock =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_bedrock))?;
        let model = &self.model_id;
        let out = self
            .request
            .clone()
            .send_with(&bedrock)
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("CreateProvisionedModelThroughput of {model}"),
                    &e,
                )
            })?;
        let arn = out.provisioned_model_arn().to_owned();
        if self.wait.wait_for_completion || self.wait.deferrable {
            ctx.info("Waiting for provisioned throughput.");
            let (b, a) = (&bedrock, arn.as_str());
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("Bedrock provisioned model throughput {arn}"),
                || async move {
                    let s = status::provisioned_throughput(b, a).await?;
                    PROVISIONED_THROUGHPUT.waiter_poll(a, &s)
                },
            )
            .await?;
            ctx.info(&format!(
                "Bedrock provisioned throughput job `{arn}` complete."
            ));
        }
        Ok(Outcome::Success(Some(json!(arn))))
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

    fn customize() -> Value {
        json!({
            "job_name": "j", "custom_model_name": "m", "role_arn": "arn:aws:iam::1:role/r",
            "base_model_id": "amazon.titan-text-express-v1", "training_data_uri": "s3://b/t",
            "output_data_uri": "s3://b/o", "hyperparameters": {"epochCount": "1"}
        })
    }

    #[test]
    fn customize_defaults_kwargs_and_permissions() {
        let op: BedrockCustomizeModelOperator = build(customize()).unwrap();
        assert!(op.ensure_unique_job_name);
        assert_eq!(op.wait.waiter_delay.as_secs(), 120);
        assert_eq!(op.wait.waiter_max_attempts, 75);
        assert_eq!(
            op.permissions(),
            [
                Permission::new(
                    &["bedrock:CreateModelCustomizationJob"],
                    [
                        "arn:aws:bedrock:{region}:{account}:model-customization-job/*",
                        "arn:aws:bedrock:{region}:{account}:custom-model/*",
                        "arn:aws:bedrock:{region}::foundation-model/amazon.titan-text-express-v1",
                    ]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::1:role/r"]),
                Permission::new(
                    &["bedrock:GetModelCustomizationJob"],
                    ["arn:aws:bedrock:{region}:{account}:model-customization-job/*"]
                ),
            ]
        );
        let mut v = customize();
        v["customization_job_kwargs"] = json!({
            "customizationType": "FINE_TUNING",
            "jobTags": [{"key": "k", "value": "v"}],
            "validationDataConfig": {"validators": [{"s3Uri": "s3://b/v"}]},
            "vpcConfig": {"subnetIds": ["s"], "securityGroupIds": ["g"]}
        });
        v["wait_for_completion"] = json!(false);
        let op: BedrockCustomizeModelOperator = build(v.clone()).unwrap();
        assert_eq!(
            op.request.get_customization_type(),
            &Some(CustomizationType::FineTuning)
        );
        assert_eq!(op.request.get_job_tags().as_ref().map(Vec::len), Some(1));
        assert_eq!(op.permissions().len(), 2);
        v["customization_job_kwargs"] = json!({"jobTags": [{"key": "k"}]});
        let e = build::<BedrockCustomizeModelOperator>(v.clone()).unwrap_err();
        assert!(
            e.message()
                .contains("`customization_job_kwargs.jobTags[0].value` is required"),
            "{e}"
        );
        v["customization_job_kwargs"] = json!({"typo": 1});
        let e = build::<BedrockCustomizeModelOperator>(v.clone()).unwrap_err();
        assert!(
            e.message().contains("`customization_job_kwargs.typo`"),
            "{e}"
        );
        let mut v = customize();
        v["hyperparameters"] = json!({"epochCount": 1});
        let e = build::<BedrockCustomizeModelOperator>(v).unwrap_err();
        assert_eq!(e.param(), Some("hyperparameters"));
    }

    #[test]
    fn throughput_defaults_and_units() {
        let v = json!({"model_units": 1, "provisioned_model_name": "p", "model_id": "m",
            "create_throughput_kwargs": {"commitmentDuration": "OneMonth", "tags": [{"key": "a", "value": "b"}]}});
        let op: BedrockCreateProvisionedModelThroughputOperator = build(v).unwrap();
        assert_eq!(op.wait.waiter_delay.as_secs(), 60);
        assert_eq!(op.wait.waiter_max_attempts, 20);
        assert_eq!(
            op.request.get_commitment_duration(),
            &Some(CommitmentDuration::OneMonth)
        );
        let e = build::<BedrockCreateProvisionedModelThroughputOperator>(
            json!({"model_units": 0, "provisioned_model_name": "p", "model_id": "m"}),
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("model_units"));
    }
}
