//! `CloudFormationCreateStackOperator` and `CloudFormationDeleteStackOperator`: one CreateStack
//! or DeleteStack call with `cloudformation_parameters` (its `StackName` wins over
//! `stack_name`, as in the provider's hook). Neither waits for the stack (the sensors do) nor
//! pushes an XCom value; a refused call fails the task, retried only when the error may pass
//! (throttling, the service's own failures).

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::kwargs::{self, CreateArgs, DeleteArgs};
use crate::sensor::stack_arn;

/// The S3 object of an `https://` template URL (virtual-host or path style), which
/// CloudFormation reads with the caller's identity.
fn template_object(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/')?;
    if !host.ends_with(".amazonaws.com") {
        return None;
    }
    let object = if host.starts_with("s3.") || host.starts_with("s3-") {
        path.to_owned()
    } else {
        let bucket = host.split_once(".s3")?.0;
        format!("{bucket}/{path}")
    };
    Some(airtask_core::permissions::global_arn("s3", &object))
}

/// A configured `CloudFormationCreateStackOperator`.
#[derive(Debug)]
pub struct CloudFormationCreateStackOperator {
    aws: AwsParams,
    stack_name: String,
    args: CreateArgs,
    /// The mapping as its log line shows it (parameter values masked).
    shown: String,
}

impl Operator for CloudFormationCreateStackOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.cloud_formation.CloudFormationCreateStackOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "cloudformation_parameters",
            "region_name",
            "stack_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let stack_name = p.required_str("stack_name", "the name of the stack to create")?;
        let shown = match p.value("cloudformation_parameters") {
            Some(serde_json::Value::Object(m)) => kwargs::shown(Some(m)),
            _ => kwargs::shown(None),
        };
        let args = kwargs::create(p)?;
        Ok(CloudFormationCreateStackOperator {
            aws,
            stack_name,
            args,
            shown,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let cfn = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_cloudformation),
        )?;
        ctx.info(&format!("CloudFormation parameters: {}", self.shown));
        let a = self.args.clone();
        let name = a.stack_name.unwrap_or_else(|| self.stack_name.clone());
        let out = cfn
            .create_stack()
            .stack_name(&name)
            .set_template_body(a.template_body)
            .set_template_url(a.template_url)
            .set_parameters(a.parameters)
            .set_disable_rollback(a.disable_rollback)
            .set_rollback_configuration(a.rollback_configuration)
            .set_timeout_in_minutes(a.timeout_in_minutes)
            .set_notification_arns(a.notification_arns)
            .set_capabilities(a.capabilities)
            .set_resource_types(a.resource_types)
            .set_role_arn(a.role_arn)
            .set_on_failure(a.on_failure)
            .set_stack_policy_body(a.stack_policy_body)
            .set_stack_policy_url(a.stack_policy_url)
            .set_tags(a.tags)
            .set_client_request_token(a.client_request_token)
            .set_enable_termination_protection(a.enable_termination_protection)
            .set_retain_except_on_create(a.retain_except_on_create)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("CreateStack {name}"), &e))?;
        ctx.info(&format!(
            "Stack {name} is being created: {}",
            out.stack_id().unwrap_or("(no StackId)")
        ));
        Ok(Outcome::Success(None))
    }

    /// CreateStack on the stack; `iam:PassRole` on `RoleARN`, and `s3:GetObject` on a
    /// `TemplateURL` in S3. Without `RoleARN`, CloudFormation creates the template's
    /// resources with the caller's identity: what they need is not derived from the template.
    fn permissions(&self) -> Vec<Permission> {
        let name = self.args.stack_name.as_deref().unwrap_or(&self.stack_name);
        let mut out = vec![Permission::new(
            &["cloudformation:CreateStack"],
            [stack_arn(&self.aws, name)],
        )];
        if let Some(role) = &self.args.role_arn {
            out.push(Permission::new(&["iam:PassRole"], [role.clone()]));
        }
        if let Some(object) = self.args.template_url.as_deref().and_then(template_object) {
            out.push(Permission::new(&["s3:GetObject"], [object]));
        }
        out
    }
}

/// A configured `CloudFormationDeleteStackOperator`.
#[derive(Debug)]
pub struct CloudFormationDeleteStackOperator {
    aws: AwsParams,
    stack_name: String,
    args: DeleteArgs,
    shown: String,
}

impl Operator for CloudFormationDeleteStackOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.cloud_formation.CloudFormationDeleteStackOperator",
        aliases: &[],
        template_fields: &["aws_conn_id", "region_name", "stack_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let stack_name = p.required_str("stack_name", "the name or id of the stack to delete")?;
        let shown = match p.value("cloudformation_parameters") {
            Some(serde_json::Value::Object(m)) => kwargs::shown(Some(m)),
            _ => kwargs::shown(None),
        };
        let args = kwargs::delete(p)?;
        Ok(CloudFormationDeleteStackOperator {
            aws,
            stack_name,
            args,
            shown,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let cfn = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_cloudformation),
        )?;
        ctx.info(&format!("CloudFormation Parameters: {}", self.shown));
        let a = self.args.clone();
        let name = a.stack_name.unwrap_or_else(|| self.stack_name.clone());
        cfn.delete_stack()
            .stack_name(&name)
            .set_retain_resources(a.retain_resources)
            .set_role_arn(a.role_arn)
            .set_client_request_token(a.client_request_token)
            .set_deletion_mode(a.deletion_mode)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("DeleteStack {name}"), &e))?;
        ctx.info(&format!("Stack {name} is being deleted"));
        Ok(Outcome::Success(None))
    }

    /// DeleteStack on the stack; `iam:PassRole` on `RoleARN`.
    fn permissions(&self) -> Vec<Permission> {
        let name = self.args.stack_name.as_deref().unwrap_or(&self.stack_name);
        let mut out = vec![Permission::new(
            &["cloudformation:DeleteStack"],
            [stack_arn(&self.aws, name)],
        )];
        if let Some(role) = &self.args.role_arn {
            out.push(Permission::new(&["iam:PassRole"], [role.clone()]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::json;

    use super::*;

    fn params(v: serde_json::Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn stack_name_is_required_and_unknown_parameters_are_refused() {
        let e = build_operator::<CloudFormationCreateStackOperator>(&params(
            json!({"cloudformation_parameters": {"TemplateBody": "{}"}}),
        ))
        .unwrap_err();
        assert!(e.message().contains("needs `stack_name`"), "{e}");
        let e = build_operator::<CloudFormationDeleteStackOperator>(&params(
            json!({"stack_name": "s", "wait_for_completion": true}),
        ))
        .unwrap_err();
        assert!(e.is_unknown_parameter(), "{e}");
        let d = build_operator::<CloudFormationDeleteStackOperator>(&params(
            json!({"stack_name": "s", "cloudformation_parameters": {}}),
        ))
        .unwrap();
        assert_eq!(d.args, DeleteArgs::default());
        let c = build_operator::<CloudFormationCreateStackOperator>(&params(
            json!({"stack_name": "s", "cloudformation_parameters": {"StackName": "t", "TemplateBody": "{}"}}),
        ))
        .unwrap();
        assert_eq!(c.args.stack_name.as_deref(), Some("t"));
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::CloudFormationCreateStackOperator;

    fn perms(v: serde_json::Value) -> Vec<Permission> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<CloudFormationCreateStackOperator>(&p)
            .expect("valid parameters")
            .permissions()
    }

    #[test]
    fn a_role_is_passed_and_an_s3_template_read() {
        let stack = "arn:aws:cloudformation:{region}:{account}:stack/s/*";
        assert_eq!(
            perms(json!({"stack_name": "s", "cloudformation_parameters": {"TemplateBody": "{}"}})),
            [Permission::new(&["cloudformation:CreateStack"], [stack])]
        );
        let role = "arn:aws:iam::1:role/cfn";
        assert_eq!(
            perms(json!({"stack_name": "s", "cloudformation_parameters": {
                "TemplateURL": "https://tpl.s3.amazonaws.com/stacks/s.yaml", "RoleARN": role,
            }})),
            [
                Permission::new(&["cloudformation:CreateStack"], [stack]),
                Permission::new(&["iam:PassRole"], [role]),
                Permission::new(&["s3:GetObject"], ["arn:aws:s3:::tpl/stacks/s.yaml"]),
            ]
        );
    }
}
