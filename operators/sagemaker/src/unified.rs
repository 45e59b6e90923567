//! `SageMakerNotebookOperator` (SageMaker Unified Studio). The provider runs the notebook
//! through the `sagemaker_studio` SDK's execution client, which resolves the Unified Studio
//! project through Amazon DataZone (the project's tooling environment: its user role, S3
//! path, VPC and KMS key), picks the SageMaker Distribution image (SSM, EC2 instance types),
//! and starts a SageMaker training job running the notebook. airtask does not have that client
//! (nor the DataZone API): it reads and checks the operator's parameters as the provider does,
//! so that a workflow using it validates, and a try fails at once, without retry, saying so
//! (see docs/operators/sagemaker.md).

use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, TaskContext, TaskError,
};
use serde_json::Value;

/// A configured `SageMakerNotebookOperator`.
#[derive(Debug)]
pub struct SageMakerNotebookOperator {
    input_path: String,
}

impl Operator for SageMakerNotebookOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker_unified_studio.SageMakerNotebookOperator",
        aliases: &[],
        template_fields: &[
            "domain_id",
            "project_id",
            "domain_region",
            "input_config",
            "output_config",
            "compute",
            "termination_condition",
            "tags",
        ],
        // It calls nothing (see the module's documentation), so it declares no permissions.
        calls_aws: false,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let input = airtask_core::kwargs::mapping(p, "input_config");
        let input_path = match input {
            None if p.rendered() => {
                return Err(ParamError::at(
                    "input_config",
                    format!("{}: input_config is required", p.operator()),
                ));
            }
            None => String::new(),
            Some(Value::Object(m)) => match m.get("input_path") {
                Some(Value::String(s)) => s.clone(),
                _ => {
                    return Err(ParamError::at(
                        "input_config",
                        format!(
                            "{}: input_path is a required field in the input_config",
                            p.operator()
                        ),
                    ));
                }
            },
            Some(other) => {
                return Err(ParamError::at(
                    "input_config",
                    format!(
                        "{} parameter `input_config` must be a mapping ({{input_path: ..., \
                         input_params: {{...}}}}), not {}",
                        p.operator(),
                        airtask_core::params::describe(other)
                    ),
                ));
            }
        };
        for name in ["domain_id", "project_id", "domain_region"] {
            let _ = p.str(name)?;
        }
        for name in ["output_config", "compute", "termination_condition", "tags"] {
            let _ = p.map(name)?;
        }
        let _ = p.bool("wait_for_completion", true)?;
        let _ = p.seconds("waiter_delay", 10.0)?;
        let _ = p.u32("waiter_max_attempts", 0..=u32::MAX)?;
        let _ = p.bool("deferrable", false)?;
        Ok(SageMakerNotebookOperator { input_path })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let _ = ctx;
        Err(TaskError::fatal(format!(
            "SageMakerNotebookOperator cannot run the notebook {} here: the provider starts it \
             through the sagemaker_studio SDK's execution client, which resolves the SageMaker \
             Unified Studio project through Amazon DataZone (its tooling environment's role, S3 \
             path and network) before it starts a SageMaker training job, and airtask does not \
             implement that client. Run the notebook from Unified Studio's own workflows, or \
             start a training job with SageMakerTrainingOperator.",
            self.input_path
        )))
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::json;

    use super::*;

    #[test]
    fn the_provider_checks_are_kept() {
        let p = |v: Value| -> Params { v.as_object().cloned().unwrap_or_default() };
        let e = build_operator::<SageMakerNotebookOperator>(&p(json!({}))).unwrap_err();
        assert!(e.message().contains("input_config is required"), "{e}");
        let e = build_operator::<SageMakerNotebookOperator>(&p(json!({"input_config": {}})))
            .unwrap_err();
        assert!(
            e.message().contains("input_path is a required field"),
            "{e}"
        );
        let op = build_operator::<SageMakerNotebookOperator>(&p(json!({
            "input_config": {"input_path": "src/nb.ipynb", "input_params": {"a": "1"}},
            "domain_id": "dzd-1", "project_id": "p1", "waiter_delay": 5,
            "compute": {"instance_type": "ml.c5.xlarge"}
        })))
        .expect("valid");
        assert_eq!(op.input_path, "src/nb.ipynb");
    }
}
