//! Models and endpoints: `SageMakerModelOperator` (XCom `{"Model": <DescribeModel>}`),
//! `SageMakerDeleteModelOperator` (no XCom), `SageMakerEndpointConfigOperator` (XCom
//! `{"EndpointConfig": ...}`) and `SageMakerEndpointOperator` (creates the model and the
//! endpoint config too when the config has them; creates or updates the endpoint; waits for
//! InService; XCom `{"EndpointConfig": ..., "Endpoint": ...}`).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_sagemaker::Client;
use serde_json::{Map, Value, json};

use crate::config::{self, name_of};
use crate::hook::{self, HOOK, Kind, text};
use crate::wire::call;

/// The template fields of the config-based operators.
const CONFIG_FIELDS: &[&str] = &["aws_conn_id", "config", "region_name", "verify"];

fn tags(v: &Value) -> bool {
    v.get("Tags")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty())
}

fn role_of(v: Option<&Value>) -> Vec<String> {
    v.and_then(|m| m.get("ExecutionRoleArn"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .into_iter()
        .collect()
}

async fn expand_model_role(
    ctx: &TaskContext,
    aws: &AwsParams,
    model: &mut Value,
) -> Result<(), TaskError> {
    if let Some(role) = model
        .get("ExecutionRoleArn")
        .and_then(Value::as_str)
        .map(str::to_owned)
    {
        let arn = hook::expand_role(ctx, aws, &role).await?;
        if let Some(m) = model.as_object_mut() {
            m.insert("ExecutionRoleArn".into(), Value::String(arn));
        }
    }
    Ok(())
}

/// The permissions of creating the model `model` (CreateModel, tags, PassRole).
fn model_permissions(region: Option<&str>, model: &Value, describe: bool) -> Vec<Permission> {
    let mut actions = vec!["sagemaker:CreateModel"];
    if describe {
        actions.push(Kind::Model.describe_action());
    }
    if tags(model) {
        actions.push("sagemaker:AddTags");
    }
    let mut out = vec![Permission::new(
        &actions,
        [Kind::Model.arn(region, &name_of(model, "ModelName"))],
    )];
    out.extend(hook::pass_role(&role_of(Some(model))));
    out
}

/// A configured `SageMakerModelOperator`.
#[derive(Debug)]
pub struct SageMakerModelOperator {
    aws: AwsParams,
    config: Value,
}

impl Operator for SageMakerModelOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerModelOperator",
        aliases: &["airflow.providers.amazon.aws.operators.sagemaker_model.SageMakerModelOperator"],
        template_fields: CONFIG_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let config = match config::read(p)? {
            Some(m) => config::check(p, "CreateModel", "config", &Value::Object(m))?,
            None => Value::Object(Map::new()),
        };
        Ok(SageMakerModelOperator { aws, config })
    }

    fn permissions(&self) -> Vec<Permission> {
        model_permissions(self.aws.region(), &self.config, true)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let mut config = self.config.clone();
        expand_model_role(ctx, &self.aws, &mut config).await?;
        let name = name_of(&config, "ModelName");
        ctx.info(&format!("Creating SageMaker Model {name}."));
        call!(sm.create_model(), Some(&config))
            .map_err(|e| hook::failed(&format!("CreateModel {name}"), &e))?;
        let d = hook::describe(&sm, Kind::Model, &name).await?;
        Ok(Outcome::Success(Some(json!({"Model": d}))))
    }
}

/// A configured `SageMakerDeleteModelOperator`.
#[derive(Debug)]
pub struct SageMakerDeleteModelOperator {
    aws: AwsParams,
    model_name: String,
}

impl Operator for SageMakerDeleteModelOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerDeleteModelOperator",
        aliases: &[],
        template_fields: CONFIG_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let model_name = match config::read(p)? {
            Some(m) => {
                let v = Value::Object(m);
                let mut o = airtask_core::kwargs::Obj::new("config", &v, p.rendered())
                    .map_err(|e| airtask_core::kwargs::param_error(p, "config", e))?;
                let name = o
                    .str("ModelName")
                    .and_then(|n| o.finish().map(|()| n))
                    .map_err(|e| airtask_core::kwargs::param_error(p, "config", e))?;
                name.ok_or_else(|| {
                    ParamError::at(
                        "config",
                        format!(
                            "{} needs `config.ModelName`: the name of the model to delete",
                            p.operator()
                        ),
                    )
                })?
            }
            None => String::new(),
        };
        Ok(SageMakerDeleteModelOperator { aws, model_name })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["sagemaker:DeleteModel"],
            [Kind::Model.arn(self.aws.region(), &self.model_name)],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let name = &self.model_name;
        if let Err(e) = sm.delete_model().model_name(name).send().await {
            let err = airtask_aws::error::task_error(&format!("DeleteModel {name}"), &e);
            ctx.line(
                airtask_core::Level::Error,
                HOOK,
                &format!("Failed to delete model, error: {}", err.message),
            );
            return Err(err);
        }
        ctx.info(&format!("Model {name} deleted successfully."));
        Ok(Outcome::Success(None))
    }
}

/// A configured `SageMakerEndpointConfigOperator`.
#[derive(Debug)]
pub struct SageMakerEndpointConfigOperator {
    aws: AwsParams,
    config: Value,
}

impl Operator for SageMakerEndpointConfigOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerEndpointConfigOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.sagemaker_endpoint_config.SageMakerEndpointConfigOperator",
        ],
        template_fields: CONFIG_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let config = match config::read(p)? {
            Some(m) => config::check(p, "CreateEndpointConfig", "config", &Value::Object(m))?,
            None => Value::Object(Map::new()),
        };
        Ok(SageMakerEndpointConfigOperator { aws, config })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec![
            "sagemaker:CreateEndpointConfig",
            Kind::EndpointConfig.describe_action(),
        ];
        if tags(&self.config) {
            actions.push("sagemaker:AddTags");
        }
        vec![Permission::new(
            &actions,
            [Kind::EndpointConfig.arn(
                self.aws.region(),
                &name_of(&self.config, "EndpointConfigName"),
            )],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let name = name_of(&self.config, "EndpointConfigName");
        ctx.info(&format!("Creating SageMaker Endpoint Config {name}."));
        call!(sm.create_endpoint_config(), Some(&self.config))
            .map_err(|e| hook::failed(&format!("CreateEndpointConfig {name}"), &e))?;
        let d = hook::describe(&sm, Kind::EndpointConfig, &name).await?;
        Ok(Outcome::Success(Some(json!({"EndpointConfig": d}))))
    }
}

/// A configured `SageMakerEndpointOperator`.
#[derive(Debug)]
pub struct SageMakerEndpointOperator {
    aws: AwsParams,
    model: Option<Value>,
    endpoint_config: Option<Value>,
    endpoint: Value,
    update: bool,
    wait_for_completion: bool,
    check_interval: Duration,
    max_ingestion_time: f64,
    deferrable: bool,
}

impl Operator for SageMakerEndpointOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerEndpointOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.sagemaker_endpoint.SageMakerEndpointOperator",
        ],
        template_fields: CONFIG_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let operation = p
            .str("operation")?
            .unwrap_or_else(|| "create".to_owned())
            .to_ascii_lowercase();
        let update = match operation.as_str() {
            "create" => false,
            "update" => true,
            other if p.is_templated(other) => false,
            other => {
                return Err(ParamError::at(
                    "operation",
                    format!(
                        "{}: Invalid value! Argument operation has to be one of \"create\" and \
                         \"update\" (got '{other}')",
                        p.operator()
                    ),
                ));
            }
        };
        let request = if update {
            "UpdateEndpoint"
        } else {
            "CreateEndpoint"
        };
        let (model, endpoint_config, endpoint) = match config::read(p)? {
            None => (None, None, Value::Object(Map::new())),
            Some(m)
                if m.contains_key("Endpoint")
                    || m.contains_key("Model")
                    || m.contains_key("EndpointConfig") =>
            {
                let mut rest = m.clone();
                let model = rest.remove("Model");
                let ec = rest.remove("EndpointConfig");
                let Some(endpoint) = rest.remove("Endpoint") else {
                    return Err(ParamError::at(
                        "config",
                        format!(
                            "{} parameter `config` has Model or EndpointConfig but no \
                             `Endpoint`: write {{Model: ..., EndpointConfig: ..., Endpoint: \
                             <{request} request>}}, or the {request} request alone",
                            p.operator()
                        ),
                    ));
                };
                if let Some(k) = rest.keys().next() {
                    return Err(ParamError::at(
                        "config",
                        format!(
                            "{} parameter `config.{k}` is not allowed beside Model, \
                             EndpointConfig and Endpoint",
                            p.operator()
                        ),
                    ));
                }
                (
                    model
                        .map(|v| config::check(p, "CreateModel", "config.Model", &v))
                        .transpose()?,
                    ec.map(|v| {
                        config::check(p, "CreateEndpointConfig", "config.EndpointConfig", &v)
                    })
                    .transpose()?,
                    config::check(p, request, "config.Endpoint", &endpoint)?,
                )
            }
            Some(m) => (
                None,
                None,
                config::check(p, request, "config", &Value::Object(m))?,
            ),
        };
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        let check_interval = hook::check_interval(p)?;
        let max_ingestion_time = hook::max_ingestion_time(p)?
            .filter(|s| *s > 0.0)
            .unwrap_or(36_000.0);
        Ok(SageMakerEndpointOperator {
            aws,
            model,
            endpoint_config,
            endpoint,
            update,
            wait_for_completion,
            check_interval,
            max_ingestion_time,
            deferrable: p.bool("deferrable", false)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let mut out = Vec::new();
        if let Some(m) = &self.model {
            out.extend(model_permissions(region, m, false));
        }
        let config_name = name_of(&self.endpoint, "EndpointConfigName");
        let mut config_actions = vec![Kind::EndpointConfig.describe_action()];
        if let Some(ec) = &self.endpoint_config {
            config_actions.push("sagemaker:CreateEndpointConfig");
            if tags(ec) {
                config_actions.push("sagemaker:AddTags");
            }
        }
        out.push(Permission::new(
            &config_actions,
            [Kind::EndpointConfig.arn(region, &config_name)],
        ));
        // A create that finds the endpoint existing updates it, as the provider does.
        let mut actions = vec!["sagemaker:UpdateEndpoint", Kind::Endpoint.describe_action()];
        if !self.update {
            actions.push("sagemaker:CreateEndpoint");
            if tags(&self.endpoint) {
                actions.push("sagemaker:AddTags");
            }
        }
        out.push(Permission::new(
            &actions,
            [Kind::Endpoint.arn(region, &name_of(&self.endpoint, "EndpointName"))],
        ));
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        if let Some(mut model) = self.model.clone() {
            expand_model_role(ctx, &self.aws, &mut model).await?;
            let name = name_of(&model, "ModelName");
            ctx.info(&format!("Creating SageMaker model {name}."));
            call!(sm.create_model(), Some(&model))
                .map_err(|e| hook::failed(&format!("CreateModel {name}"), &e))?;
        }
        if let Some(ec) = &self.endpoint_config {
            let name = name_of(ec, "EndpointConfigName");
            ctx.info(&format!("Creating endpoint config {name}."));
            call!(sm.create_endpoint_config(), Some(ec))
                .map_err(|e| hook::failed(&format!("CreateEndpointConfig {name}"), &e))?;
        }
        let name = name_of(&self.endpoint, "EndpointName");
        let mut endpoint = self.endpoint.clone();
        if self.update {
            ctx.info(&format!("Updating SageMaker endpoint {name}."));
            self.update_endpoint(&sm, &endpoint, &name).await?;
        } else {
            ctx.info(&format!("Creating SageMaker endpoint {name}."));
            match call!(sm.create_endpoint(), Some(&endpoint)) {
                Ok(_) => {}
                Err(e) => {
                    let e = hook::failed(&format!("CreateEndpoint {name}"), &e);
                    if !e
                        .message
                        .starts_with("Cannot create already existing endpoint")
                    {
                        return Err(e.error);
                    }
                    ctx.warning(&format!(
                        "cannot create already existing endpoint {name}, updating it with the \
                         given config instead"
                    ));
                    if let Some(m) = endpoint.as_object_mut()
                        && m.remove("Tags").is_some()
                    {
                        ctx.warning(
                            "Provided tags will be ignored in the update operation (tags on the \
                             existing endpoint will be unchanged)",
                        );
                    }
                    self.update_endpoint(&sm, &endpoint, &name).await?;
                }
            }
        }
        if self.wait_for_completion || self.deferrable {
            self.in_service(ctx, &sm, &name).await?;
        }
        let d = hook::describe(&sm, Kind::Endpoint, &name).await?;
        let config_name = text(&d, "EndpointConfigName").to_owned();
        let config_name = if config_name.is_empty() {
            name_of(&endpoint, "EndpointConfigName")
        } else {
            config_name
        };
        let ec = hook::describe(&sm, Kind::EndpointConfig, &config_name).await?;
        Ok(Outcome::Success(Some(
            json!({"EndpointConfig": ec, "Endpoint": d}),
        )))
    }
}

impl SageMakerEndpointOperator {
    async fn update_endpoint(
        &self,
        sm: &Client,
        endpoint: &Value,
        name: &str,
    ) -> Result<(), TaskError> {
        // The update takes no Tags (a create's request may carry them).
        let mut body = endpoint.clone();
        if let Some(m) = body.as_object_mut() {
            m.remove("Tags");
        }
        call!(sm.update_endpoint(), Some(&body))
            .map_err(|e| hook::failed(&format!("UpdateEndpoint {name}"), &e))?;
        Ok(())
    }

    /// boto3's `endpoint_in_service` waiter (the provider's wait, and its trigger's):
    /// InService is done, Failed fails; `check_interval` between polls,
    /// `max_ingestion_time` polls at most (the provider passes it as MaxAttempts).
    async fn in_service(
        &self,
        ctx: &TaskContext,
        sm: &Client,
        name: &str,
    ) -> Result<(), TaskError> {
        let settings = WaitSettings {
            wait_for_completion: true,
            waiter_delay: self.check_interval,
            waiter_max_attempts: self.max_ingestion_time.min(f64::from(u32::MAX)) as u32,
            deferrable: self.deferrable,
        };
        wait::until_terminal(
            ctx,
            &settings,
            &format!("SageMaker endpoint {name}"),
            || async move {
                let d = hook::describe(sm, Kind::Endpoint, name).await?;
                match text(&d, "EndpointStatus") {
                    "InService" => Ok(Poll::Done(())),
                    "Failed" => Err(TaskError::retryable(format!(
                        "Waiter EndpointInService failed: Waiter encountered a terminal failure \
                     state: For expression \"EndpointStatus\" we matched expected path: \
                     \"Failed\" (FailureReason: {})",
                        hook::failure_reason(&d)
                    ))),
                    other => Ok(Poll::Pending {
                        state: other.to_owned(),
                    }),
                }
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_create_declares_the_update_it_may_turn_into_and_the_parts_it_creates() {
        let op = build_operator::<SageMakerEndpointOperator>(&params(json!({
            "config": {
                "Model": {"ModelName": "M", "ExecutionRoleArn": "arn:aws:iam::1:role/r",
                          "PrimaryContainer": {"Image": "i"}},
                "EndpointConfig": {"EndpointConfigName": "c", "ProductionVariants": [
                    {"VariantName": "v", "ModelName": "M", "InitialInstanceCount": "1", "InstanceType": "ml.m5.large"}]},
                "Endpoint": {"EndpointName": "e", "EndpointConfigName": "c", "Tags": [{"Key": "k", "Value": "v"}]}
            }
        })))
        .expect("valid");
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &["sagemaker:CreateModel"],
                    ["arn:aws:sagemaker:{region}:{account}:model/m"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::1:role/r"]),
                Permission::new(
                    &[
                        "sagemaker:DescribeEndpointConfig",
                        "sagemaker:CreateEndpointConfig"
                    ],
                    ["arn:aws:sagemaker:{region}:{account}:endpoint-config/c"]
                ),
                Permission::new(
                    &[
                        "sagemaker:UpdateEndpoint",
                        "sagemaker:DescribeEndpoint",
                        "sagemaker:CreateEndpoint",
                        "sagemaker:AddTags"
                    ],
                    ["arn:aws:sagemaker:{region}:{account}:endpoint/e"]
                ),
            ]
        );
        assert_eq!(
            op.endpoint_config
                .as_ref()
                .and_then(|c| c.pointer("/ProductionVariants/0/InitialInstanceCount"))
                .cloned(),
            Some(json!(1))
        );
        let e = build_operator::<SageMakerEndpointOperator>(&params(json!({
            "config": {"EndpointName": "e", "EndpointConfigName": "c"}, "operation": "upsert"
        })))
        .unwrap_err();
        assert_eq!(e.param(), Some("operation"));
        // An update request is checked against UpdateEndpoint: Tags is not one of its keys.
        let e = build_operator::<SageMakerEndpointOperator>(&params(json!({
            "config": {"EndpointName": "e", "EndpointConfigName": "c", "Tags": []},
            "operation": "update"
        })))
        .unwrap_err();
        assert!(e.message().contains("`config.Tags` is not a key"), "{e}");
        let e = build_operator::<SageMakerDeleteModelOperator>(&params(json!({
            "config": {"ModelName": "m", "Extra": 1}
        })))
        .unwrap_err();
        assert!(e.message().contains("`config.Extra`"), "{e}");
    }
}
