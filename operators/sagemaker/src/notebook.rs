//! Notebook instances: `SageMakerCreateNotebookOperator` (XCom: the instance's ARN),
//! `SageMakerStartNoteBookOperator`, `SageMakerStopNotebookOperator` and
//! `SageMakerDeleteNotebookOperator` (no XCom). With `wait_for_completion` (default true) each
//! waits as boto3's waiter the provider calls does (every 30 s, 60 polls): InService, Stopped,
//! or gone; Failed fails the task.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_sagemaker::Client;
use serde_json::{Map, Value, json};

use crate::config;
use crate::hook::{self, Kind, text};
use crate::wire::call;

/// What a boto3 notebook waiter waits for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    InService,
    Stopped,
    Deleted,
}

impl Target {
    fn waiter(self) -> &'static str {
        match self {
            Target::InService => "NotebookInstanceInService",
            Target::Stopped => "NotebookInstanceStopped",
            Target::Deleted => "NotebookInstanceDeleted",
        }
    }
}

/// boto3's notebook instance waiter: a describe at once, then every 30 s, 60 at most.
async fn wait_for(
    ctx: &TaskContext,
    sm: &Client,
    name: &str,
    target: Target,
) -> Result<(), TaskError> {
    let settings = WaitSettings {
        wait_for_completion: true,
        waiter_delay: Duration::from_secs(30),
        waiter_max_attempts: 60,
        deferrable: false,
    };
    wait::until_terminal(
        ctx,
        &settings,
        &format!("SageMaker notebook instance {name}"),
        || async move {
            let d = match hook::describe(sm, Kind::Notebook, name).await {
                Ok(d) => d,
                Err(e)
                    if target == Target::Deleted
                        && e.code.as_deref() == Some("ValidationException") =>
                {
                    return Ok(Poll::Done(()));
                }
                Err(e) => return Err(e.error),
            };
            let status = text(&d, "NotebookInstanceStatus").to_owned();
            let done = match target {
                Target::InService => status == "InService",
                Target::Stopped => status == "Stopped",
                Target::Deleted => false,
            };
            if done {
                Ok(Poll::Done(()))
            } else if status == "Failed" {
                Err(TaskError::retryable(format!(
                    "Waiter {} failed: Waiter encountered a terminal failure state: For \
                     expression \"NotebookInstanceStatus\" we matched expected path: \"Failed\" \
                     (FailureReason: {})",
                    target.waiter(),
                    hook::failure_reason(&d)
                )))
            } else {
                Ok(Poll::Pending { state: status })
            }
        },
    )
    .await
}

fn notebook_arn(aws: &AwsParams, name: &str) -> String {
    Kind::Notebook.arn(aws.region(), name)
}

/// A configured `SageMakerCreateNotebookOperator`.
#[derive(Debug)]
pub struct SageMakerCreateNotebookOperator {
    aws: AwsParams,
    request: Value,
    wait_for_completion: bool,
}

impl Operator for SageMakerCreateNotebookOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerCreateNotebookOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "create_instance_kwargs",
            "direct_internet_access",
            "instance_name",
            "instance_type",
            "lifecycle_config_name",
            "region_name",
            "role_arn",
            "root_access",
            "verify",
            "volume_kms_key_id",
            "volume_size_in_gb",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let mut m = Map::new();
        m.insert(
            "NotebookInstanceName".into(),
            json!(p.required_str("instance_name", "the name of the notebook instance")?),
        );
        m.insert(
            "InstanceType".into(),
            json!(p.required_str("instance_type", "the instance type (ml.t3.medium...)")?),
        );
        m.insert(
            "RoleArn".into(),
            json!(p.required_str("role_arn", "the ARN of the role the notebook assumes")?),
        );
        for (param, key) in [
            ("volume_size_in_gb", "VolumeSizeInGB"),
            ("volume_kms_key_id", "KmsKeyId"),
            ("lifecycle_config_name", "LifecycleConfigName"),
            ("direct_internet_access", "DirectInternetAccess"),
            ("root_access", "RootAccess"),
        ] {
            if let Some(v) = p.value(param) {
                m.insert(key.into(), v.clone());
            }
        }
        if let Some(kwargs) = p.map("create_instance_kwargs")? {
            for (k, v) in kwargs {
                if k == "tags" {
                    // The provider formats a `tags` dict as a list of Key/Value pairs.
                    let tags = match v {
                        Value::Object(t) => Value::Array(
                            t.iter()
                                .map(|(k, v)| json!({"Key": k, "Value": v}))
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    m.insert("Tags".into(), tags);
                } else {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        let request = config::shapes_check(
            p,
            "create_instance_kwargs",
            "CreateNotebookInstance",
            "create_instance_kwargs",
            &Value::Object(m),
        )?;
        Ok(SageMakerCreateNotebookOperator {
            aws,
            request,
            wait_for_completion: p.bool("wait_for_completion", true)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let name = config::name_of(&self.request, "NotebookInstanceName");
        let mut actions = vec!["sagemaker:CreateNotebookInstance"];
        if self.wait_for_completion {
            actions.push(Kind::Notebook.describe_action());
        }
        if self
            .request
            .get("Tags")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty())
        {
            actions.push("sagemaker:AddTags");
        }
        let mut out = vec![Permission::new(&actions, [notebook_arn(&self.aws, &name)])];
        let role = config::name_of(&self.request, "RoleArn");
        out.push(Permission::new(&["iam:PassRole"], [hook::role_arn(&role)]));
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let name = config::name_of(&self.request, "NotebookInstanceName");
        ctx.info(&format!("Creating SageMaker notebook {name}."));
        let out = call!(sm.create_notebook_instance(), Some(&self.request))
            .map_err(|e| hook::failed(&format!("CreateNotebookInstance {name}"), &e))?;
        let arn = text(&out, "NotebookInstanceArn").to_owned();
        ctx.info(&format!("SageMaker notebook created: {arn}"));
        if self.wait_for_completion {
            ctx.info(&format!(
                "Waiting for SageMaker notebook {name} to be in service"
            ));
            wait_for(ctx, &sm, &name, Target::InService).await?;
        }
        Ok(Outcome::Success(Some(json!(arn))))
    }
}

macro_rules! instance_operator {
    ($(#[$doc:meta])* $ty:ident, $path:literal, $action:literal, $call:ident, $target:expr, $doing:literal, $waiting:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty {
            aws: AwsParams,
            instance_name: String,
            wait_for_completion: bool,
        }

        impl Operator for $ty {
            const SPEC: OperatorSpec = OperatorSpec {
                class_path: $path,
                aliases: &[],
                template_fields: &[
                    "aws_conn_id",
                    "instance_name",
                    "region_name",
                    "verify",
                    "wait_for_completion",
                ],
                calls_aws: true,
            };

            fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
                Ok($ty {
                    aws: AwsParams::read(p)?,
                    instance_name: p
                        .required_str("instance_name", "the name of the notebook instance")?,
                    wait_for_completion: p.bool("wait_for_completion", true)?,
                })
            }

            fn permissions(&self) -> Vec<Permission> {
                let mut actions = vec![$action];
                if self.wait_for_completion {
                    actions.push(Kind::Notebook.describe_action());
                }
                vec![Permission::new(
                    &actions,
                    [notebook_arn(&self.aws, &self.instance_name)],
                )]
            }

            async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
                let sm = hook::client(ctx, &self.aws)?;
                let name = &self.instance_name;
                ctx.info(&format!($doing, name));
                sm.$call()
                    .notebook_instance_name(name)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("{} {name}", &$action["sagemaker:".len()..]),
                            &e,
                        )
                    })?;
                if self.wait_for_completion {
                    ctx.info(&format!($waiting, name));
                    wait_for(ctx, &sm, name, $target).await?;
                }
                Ok(Outcome::Success(None))
            }
        }
    };
}

instance_operator!(
    /// A configured `SageMakerStartNoteBookOperator`.
    SageMakerStartNoteBookOperator,
    "airflow.providers.amazon.aws.operators.sagemaker.SageMakerStartNoteBookOperator",
    "sagemaker:StartNotebookInstance",
    start_notebook_instance,
    Target::InService,
    "Starting SageMaker notebook {}....",
    "Waiting for SageMaker notebook {} to start..."
);

instance_operator!(
    /// A configured `SageMakerStopNotebookOperator`.
    SageMakerStopNotebookOperator,
    "airflow.providers.amazon.aws.operators.sagemaker.SageMakerStopNotebookOperator",
    "sagemaker:StopNotebookInstance",
    stop_notebook_instance,
    Target::Stopped,
    "Stopping SageMaker notebook {}.",
    "Waiting for SageMaker notebook {} to stop"
);

instance_operator!(
    /// A configured `SageMakerDeleteNotebookOperator`.
    SageMakerDeleteNotebookOperator,
    "airflow.providers.amazon.aws.operators.sagemaker.SageMakerDeleteNotebookOperator",
    "sagemaker:DeleteNotebookInstance",
    delete_notebook_instance,
    Target::Deleted,
    "Deleting SageMaker notebook {}....",
    "Waiting for SageMaker notebook {} to delete..."
);
