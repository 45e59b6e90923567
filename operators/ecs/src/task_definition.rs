//! `EcsRegisterTaskDefinitionOperator` (RegisterTaskDefinition of `family` with
//! `container_definitions` and `register_task_kwargs`; XCom: the new revision's ARN, also under
//! `task_definition_arn`) and `EcsDeregisterTaskDefinitionOperator` (DeregisterTaskDefinition;
//! XCom: the ARN).

use airtask_aws::AwsParams;
use airtask_awsjson::{RawJson, pass_roles, show, strings_named};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use serde_json::{Map, Value, json};

use crate::{call, kwargs_param, member_param, task_definition_arn};

/// The ARN and status of the task definition in a Register/DeregisterTaskDefinition answer.
fn definition_of(answer: &Value, what: &str) -> Result<(String, String), TaskError> {
    let td = &answer["taskDefinition"];
    let arn = td["taskDefinitionArn"].as_str().ok_or_else(|| {
        TaskError::retryable(format!(
            "{what}: the answer has no taskDefinitionArn: {answer}"
        ))
    })?;
    Ok((
        arn.to_owned(),
        td["status"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// A configured `EcsRegisterTaskDefinitionOperator`.
#[derive(Debug)]
pub struct EcsRegisterTaskDefinitionOperator {
    aws: AwsParams,
    family: String,
    container_definitions: Value,
    register_task_kwargs: Map<String, Value>,
}

impl Operator for EcsRegisterTaskDefinitionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ecs.EcsRegisterTaskDefinitionOperator",
        aliases: &[],
        template_fields: &["family", "container_definitions", "register_task_kwargs"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let family = p.required_str("family", "the family of the task definition to register")?;
        let container_definitions = member_param(
            p,
            "container_definitions",
            "RegisterTaskDefinition",
            "containerDefinitions",
        )?
        .ok_or_else(|| {
            ParamError::at(
                "container_definitions",
                "EcsRegisterTaskDefinitionOperator needs `container_definitions`: the list of \
                 container definitions of the task (name, image, command, ...)",
            )
        })?;
        let register_task_kwargs = kwargs_param(
            p,
            "register_task_kwargs",
            "RegisterTaskDefinition",
            &[
                ("family", "family"),
                ("containerDefinitions", "container_definitions"),
            ],
        )?;
        Ok(EcsRegisterTaskDefinitionOperator {
            aws,
            family,
            container_definitions,
            register_task_kwargs,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ecs = crate::client(ctx, &self.aws)?;
        ctx.info(&format!(
            "Registering task definition {} using the following values: {}",
            self.family,
            show(&Value::Object(self.register_task_kwargs.clone()))
        ));
        ctx.info(&format!(
            "Using container definition {}",
            show(&self.container_definitions)
        ));
        let mut body = Map::new();
        body.insert("family".into(), json!(self.family));
        body.insert(
            "containerDefinitions".into(),
            self.container_definitions.clone(),
        );
        body.extend(self.register_task_kwargs.clone());
        let answer = call!(
            format!("RegisterTaskDefinition {}", self.family),
            ecs.register_task_definition()
                .family(&self.family)
                .set_container_definitions(Some(Vec::new())),
            RawJson::new(&Value::Object(body))
        )?;
        let (arn, status) = definition_of(&answer, "RegisterTaskDefinition")?;
        ctx.info(&format!("Task Definition '{arn}' in state: '{status}'."));
        ctx.xcom_push("task_definition_arn", json!(arn));
        Ok(Outcome::Success(Some(json!(arn))))
    }

    /// RegisterTaskDefinition (not scoped to a resource); `ecs:TagResource` on the family's
    /// revisions with `tags`; `iam:PassRole` on the task and execution roles.
    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![Permission::on_any(&["ecs:RegisterTaskDefinition"])];
        if self.register_task_kwargs.contains_key("tags") {
            out.push(Permission::new(
                &["ecs:TagResource"],
                [task_definition_arn(&self.aws, &self.family)],
            ));
        }
        let kwargs = Value::Object(self.register_task_kwargs.clone());
        out.extend(pass_roles(strings_named(
            &kwargs,
            &["taskRoleArn", "executionRoleArn"],
        )));
        out
    }
}

/// A configured `EcsDeregisterTaskDefinitionOperator`.
#[derive(Debug)]
pub struct EcsDeregisterTaskDefinitionOperator {
    aws: AwsParams,
    task_definition: String,
}

impl Operator for EcsDeregisterTaskDefinitionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ecs.EcsDeregisterTaskDefinitionOperator",
        aliases: &[],
        template_fields: &["task_definition"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let task_definition = p.required_str(
            "task_definition",
            "the task definition to deregister (family:revision or its ARN)",
        )?;
        Ok(EcsDeregisterTaskDefinitionOperator {
            aws,
            task_definition,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ecs = crate::client(ctx, &self.aws)?;
        ctx.info(&format!(
            "Deregistering task definition {}.",
            self.task_definition
        ));
        let answer = call!(
            format!("DeregisterTaskDefinition {}", self.task_definition),
            ecs.deregister_task_definition()
                .task_definition(&self.task_definition),
            RawJson::new(&json!({"taskDefinition": self.task_definition}))
        )?;
        let (arn, status) = definition_of(&answer, "DeregisterTaskDefinition")?;
        ctx.info(&format!("Task Definition '{arn}' in state: '{status}'."));
        Ok(Outcome::Success(Some(json!(arn))))
    }

    /// DeregisterTaskDefinition (not scoped to a resource).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::on_any(&["ecs:DeregisterTaskDefinition"])]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<EcsRegisterTaskDefinitionOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EcsRegisterTaskDefinitionOperator>(&p)
    }

    #[test]
    fn container_definitions_are_checked_and_roles_declared() {
        let op = build(json!({
            "family": "f",
            "container_definitions": [{"name": "app", "image": "busybox", "memory": "128", "essential": true}],
            "register_task_kwargs": {"cpu": "256", "executionRoleArn": "exec", "taskRoleArn": "arn:aws:iam::1:role/t", "tags": [{"key": "a", "value": "b"}]}
        }))
        .unwrap();
        assert_eq!(op.container_definitions[0]["memory"], json!(128));
        assert_eq!(
            op.permissions(),
            vec![
                Permission::on_any(&["ecs:RegisterTaskDefinition"]),
                Permission::new(
                    &["ecs:TagResource"],
                    ["arn:aws:ecs:{region}:{account}:task-definition/f:*"]
                ),
                Permission::new(
                    &["iam:PassRole"],
                    ["arn:aws:iam::{account}:role/exec", "arn:aws:iam::1:role/t"]
                ),
            ]
        );
        let e =
            build(json!({"family": "f", "container_definitions": [{"name": "app", "imag": "x"}]}))
                .unwrap_err();
        assert_eq!(e.param(), Some("container_definitions"));
        assert!(
            e.message().starts_with(
                "EcsRegisterTaskDefinitionOperator parameter `container_definitions[0]` has the \
                 unknown key `imag`"
            ),
            "{e}"
        );
        let e = build(json!({"family": "f"})).unwrap_err();
        assert_eq!(e.param(), Some("container_definitions"));
        let e = build(json!({"family": "f", "container_definitions": [], "register_task_kwargs": {"cpu": 256}}))
            .unwrap_err();
        assert!(
            e.message()
                .contains("`register_task_kwargs.cpu` must be a string"),
            "{e}"
        );
    }
}
