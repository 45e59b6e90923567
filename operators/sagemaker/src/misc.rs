//! `SageMakerCreateExperimentOperator` (XCom: the experiment's ARN),
//! `SageMakerRegisterModelVersionOperator` (creates the model package group when missing,
//! then a model package in it; XCom: the package's ARN) and `SageMakerAutoMLOperator`
//! (CreateAutoMLJob; with `wait_for_completion`, XCom is the best candidate).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use serde_json::{Map, Value, json};

use crate::config;
use crate::hook::{self, CheckStatus, HOOK, Kind, NON_TERMINAL, text};
use crate::wire::call;

/// A dict of tags as boto3's list of Key/Value pairs (`format_tags`).
fn format_tags(m: &[(String, String)]) -> Value {
    Value::Array(
        m.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

/// A configured `SageMakerCreateExperimentOperator`.
#[derive(Debug)]
pub struct SageMakerCreateExperimentOperator {
    aws: AwsParams,
    name: String,
    description: Option<String>,
    tags: Vec<(String, String)>,
}

impl Operator for SageMakerCreateExperimentOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerCreateExperimentOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "description",
            "name",
            "region_name",
            "tags",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        p.accept("config");
        Ok(SageMakerCreateExperimentOperator {
            aws,
            name: p.required_str("name", "the name of the experiment")?,
            description: p.str("description")?,
            tags: p.str_map("tags")?.unwrap_or_default(),
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["sagemaker:CreateExperiment"];
        if !self.tags.is_empty() {
            actions.push("sagemaker:AddTags");
        }
        vec![Permission::new(
            &actions,
            [hook::resource_arn(
                self.aws.region(),
                "experiment",
                &self.name,
            )],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let mut req = Map::new();
        req.insert("ExperimentName".into(), json!(self.name));
        if let Some(d) = &self.description {
            req.insert("Description".into(), json!(d));
        }
        req.insert("Tags".into(), format_tags(&self.tags));
        let name = &self.name;
        let out = call!(sm.create_experiment(), Some(&Value::Object(req)))
            .map_err(|e| hook::failed(&format!("CreateExperiment {name}"), &e))?;
        let arn = text(&out, "ExperimentArn").to_owned();
        ctx.info(&format!(
            "Experiment {name} created successfully with ARN {arn}."
        ));
        Ok(Outcome::Success(Some(json!(arn))))
    }
}

/// A configured `SageMakerRegisterModelVersionOperator`.
#[derive(Debug)]
pub struct SageMakerRegisterModelVersionOperator {
    aws: AwsParams,
    package_group_name: String,
    package_desc: String,
    request: Value,
}

impl Operator for SageMakerRegisterModelVersionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerRegisterModelVersionOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "image_uri",
            "model_approval",
            "model_url",
            "package_desc",
            "package_group_desc",
            "package_group_name",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let image_uri = p.required_str("image_uri", "the ECR image of the inference code")?;
        let model_url = p.required_str("model_url", "the S3 URL of the model (a .tar.gz)")?;
        let package_group_name = p.required_str(
            "package_group_name",
            "the model package group to register the model in",
        )?;
        // Read for its type: the provider passes package_desc, not this, when it creates the
        // group (see docs/operators/sagemaker.md).
        let _ = p.str("package_group_desc")?;
        let package_desc = p.str("package_desc")?.unwrap_or_default();
        let model_approval = p
            .str("model_approval")?
            .unwrap_or_else(|| "PendingManualApproval".to_owned());
        if !p.is_templated(&model_approval)
            && !["Approved", "Rejected", "PendingManualApproval"].contains(&model_approval.as_str())
        {
            return Err(ParamError::at(
                "model_approval",
                format!(
                    "{} parameter `model_approval` must be Approved, Rejected or \
                     PendingManualApproval, not '{model_approval}'",
                    p.operator()
                ),
            ));
        }
        p.accept("config");
        let mut req = json!({
            "InferenceSpecification": {
                "Containers": [{"Image": image_uri, "ModelDataUrl": model_url}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "ModelPackageGroupName": package_group_name,
            "ModelPackageDescription": package_desc,
            "ModelApprovalStatus": model_approval,
        });
        if let Some(extras) = p.map("extras")?
            && let Some(m) = req.as_object_mut()
        {
            for (k, v) in extras {
                m.insert(k.clone(), v.clone());
            }
        }
        let request = config::shapes_check(p, "extras", "CreateModelPackage", "extras", &req)?;
        Ok(SageMakerRegisterModelVersionOperator {
            aws,
            package_group_name,
            package_desc,
            request,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let group = hook::resource_arn(region, "model-package-group", &self.package_group_name);
        let package = hook::resource_arn(region, "model-package", &self.package_group_name);
        vec![
            Permission::new(
                &[
                    "sagemaker:CreateModelPackageGroup",
                    "sagemaker:DeleteModelPackageGroup",
                ],
                [group],
            ),
            Permission::new(&["sagemaker:CreateModelPackage"], [format!("{package}/*")]),
        ]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let group = &self.package_group_name;
        let created = match sm
            .create_model_package_group()
            .model_package_group_name(group)
            .model_package_group_description(&self.package_desc)
            .send()
            .await
        {
            Ok(out) => {
                ctx.hook_info(
                    HOOK,
                    &format!(
                        "Created new Model Package Group with name {group} (ARN: {})",
                        out.model_package_group_arn().unwrap_or_default()
                    ),
                );
                true
            }
            Err(e) => {
                let err = hook::failed(&format!("CreateModelPackageGroup {group}"), &e);
                if err.code.as_deref() == Some("ValidationException")
                    && err
                        .message
                        .starts_with("Model Package Group already exists")
                {
                    ctx.hook_info(HOOK, &err.message);
                    false
                } else {
                    ctx.error(&format!(
                        "Error when trying to create Model Package Group: {}",
                        err.error.message
                    ));
                    return Err(err.error);
                }
            }
        };
        match call!(sm.create_model_package(), Some(&self.request)) {
            Ok(out) => Ok(Outcome::Success(Some(json!(text(&out, "ModelPackageArn"))))),
            Err(e) => {
                let err = hook::failed(&format!("CreateModelPackage in {group}"), &e);
                if created {
                    // Roll back the group this try created.
                    if let Err(d) = sm
                        .delete_model_package_group()
                        .model_package_group_name(group)
                        .send()
                        .await
                    {
                        ctx.error(&format!(
                            "Could not delete the model package group {group} created by this \
                             try: {}",
                            airtask_aws::error::text(&d)
                        ));
                    } else {
                        ctx.info(&format!(
                            "Deleted the model package group {group} this try created"
                        ));
                    }
                }
                Err(err.error)
            }
        }
    }
}

/// A configured `SageMakerAutoMLOperator`.
#[derive(Debug)]
pub struct SageMakerAutoMLOperator {
    aws: AwsParams,
    job_name: String,
    role_arn: String,
    request: Value,
    wait_for_completion: bool,
    check_interval: Duration,
}

impl Operator for SageMakerAutoMLOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerAutoMLOperator",
        aliases: &[],
        template_fields: &[
            "autodeploy_endpoint_name",
            "aws_conn_id",
            "compressed_input",
            "extras",
            "job_name",
            "region_name",
            "role_arn",
            "s3_input",
            "s3_output",
            "target_attribute",
            "time_limit",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let job_name = p.required_str("job_name", "the name of the AutoML job")?;
        let s3_input = p.required_str("s3_input", "the S3 location of the data")?;
        let target_attribute =
            p.required_str("target_attribute", "the column whose values to predict")?;
        let s3_output = p.required_str("s3_output", "the S3 folder of the model artifacts")?;
        let role_arn = p.required_str("role_arn", "the role SageMaker uses")?;
        let compressed_input = p.bool("compressed_input", false)?;
        let time_limit = p.i64("time_limit", 0..=i64::MAX)?;
        let endpoint = p.str("autodeploy_endpoint_name")?;
        let mut input = json!({
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": s3_input}},
            "TargetAttributeName": target_attribute,
        });
        if compressed_input && let Some(m) = input.as_object_mut() {
            m.insert("CompressionType".into(), json!("Gzip"));
        }
        let mut req = json!({
            "AutoMLJobName": job_name,
            "InputDataConfig": [input],
            "OutputDataConfig": {"S3OutputPath": s3_output},
            "RoleArn": role_arn,
        });
        if let Some(m) = req.as_object_mut() {
            if let Some(t) = time_limit.filter(|t| *t > 0) {
                m.insert(
                    "AutoMLJobConfig".into(),
                    json!({"CompletionCriteria": {"MaxAutoMLJobRuntimeInSeconds": t}}),
                );
            }
            if let Some(e) = endpoint.filter(|e| !e.is_empty()) {
                m.insert("ModelDeployConfig".into(), json!({"EndpointName": e}));
            }
            if let Some(extras) = p.map("extras")? {
                for (k, v) in extras {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        let request = config::shapes_check(p, "extras", "CreateAutoMLJob", "extras", &req)?;
        p.accept("config");
        Ok(SageMakerAutoMLOperator {
            aws,
            job_name,
            role_arn,
            request,
            wait_for_completion: p.bool("wait_for_completion", true)?,
            check_interval: hook::check_interval(p)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["sagemaker:CreateAutoMLJob"];
        if self.wait_for_completion {
            actions.push(Kind::AutoMl.describe_action());
        }
        if self
            .request
            .get("Tags")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty())
        {
            actions.push("sagemaker:AddTags");
        }
        let mut out = vec![Permission::new(
            &actions,
            [Kind::AutoMl.arn(self.aws.region(), &self.job_name)],
        )];
        out.push(Permission::new(
            &["iam:PassRole"],
            [hook::role_arn(&self.role_arn)],
        ));
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let name = self.job_name.clone();
        call!(sm.create_auto_ml_job(), Some(&self.request))
            .map_err(|e| hook::failed(&format!("CreateAutoMLJob {name}"), &e))?;
        if !self.wait_for_completion {
            return Ok(Outcome::Success(None));
        }
        let c = CheckStatus {
            name: &name,
            check_interval: self.check_interval,
            max_ingestion_time: None,
            non_terminal: NON_TERMINAL,
        };
        let (sm, job) = (&sm, name.as_str());
        let d = hook::check_status(ctx, &c, "AutoMLJobStatus", || async move {
            let d = hook::describe(sm, Kind::AutoMl, job).await?;
            ctx.hook_info(
                HOOK,
                &format!(
                    "{job}'s current step: {}",
                    text(&d, "AutoMLJobSecondaryStatus")
                ),
            );
            Ok(d)
        })
        .await?;
        Ok(Outcome::Success(d.get("BestCandidate").cloned()))
    }
}
