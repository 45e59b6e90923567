//! The operators this build implements, one Cargo feature per operator crate.

use std::sync::OnceLock;

use airtask_core::{Params, Registry};
use airtask_workflow::{Diagnostic, Origin, Report};

/// The registry of every operator compiled in, built once per process on first use (the
/// loader, the renderer and the task runner all read this one).
pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(build)
}

/// Builds the registry: one line per operator family.
fn build() -> Registry {
    #[allow(unused_mut)]
    let mut b = Registry::builder();
    #[cfg(feature = "op-standard")]
    {
        b = airtask_standard::register(b);
    }
    #[cfg(feature = "op-s3")]
    {
        b = airtask_s3::register(b);
    }
    #[cfg(feature = "op-glue")]
    {
        b = airtask_glue::register(b);
    }
    #[cfg(feature = "op-lambda")]
    {
        b = airtask_lambda::register(b);
    }
    #[cfg(feature = "op-athena")]
    {
        b = airtask_athena::register(b);
    }
    #[cfg(feature = "op-redshift")]
    {
        b = airtask_redshift::register(b);
    }
    #[cfg(feature = "op-dynamodb")]
    {
        b = airtask_dynamodb::register(b);
    }
    #[cfg(feature = "op-rds")]
    {
        b = airtask_rds::register(b);
    }
    #[cfg(feature = "op-dms")]
    {
        b = airtask_dms::register(b);
    }
    #[cfg(feature = "op-glacier")]
    {
        b = airtask_glacier::register(b);
    }
    #[cfg(feature = "op-datasync")]
    {
        b = airtask_datasync::register(b);
    }
    #[cfg(feature = "op-eventbridge")]
    {
        b = airtask_eventbridge::register(b);
    }
    #[cfg(feature = "op-stepfunctions")]
    {
        b = airtask_stepfunctions::register(b);
    }
    #[cfg(feature = "op-sns")]
    {
        b = airtask_sns::register(b);
    }
    #[cfg(feature = "op-sqs")]
    {
        b = airtask_sqs::register(b);
    }
    #[cfg(feature = "op-cloudformation")]
    {
        b = airtask_cloudformation::register(b);
    }
    #[cfg(feature = "op-appflow")]
    {
        b = airtask_appflow::register(b);
    }
    #[cfg(feature = "op-quicksight")]
    {
        b = airtask_quicksight::register(b);
    }
    #[cfg(feature = "op-kinesisanalytics")]
    {
        b = airtask_kinesisanalytics::register(b);
    }
    #[cfg(feature = "op-opensearchserverless")]
    {
        b = airtask_opensearchserverless::register(b);
    }
    #[cfg(feature = "op-neptune")]
    {
        b = airtask_neptune::register(b);
    }
    #[cfg(feature = "op-ec2")]
    {
        b = airtask_ec2::register(b);
    }
    #[cfg(feature = "op-emr")]
    {
        b = airtask_emr::register(b);
    }
    #[cfg(feature = "op-emrserverless")]
    {
        b = airtask_emrserverless::register(b);
    }
    #[cfg(feature = "op-sagemaker")]
    {
        b = airtask_sagemaker::register(b);
    }
    #[cfg(feature = "op-bedrock")]
    {
        b = airtask_bedrock::register(b);
    }
    #[cfg(feature = "op-comprehend")]
    {
        b = airtask_comprehend::register(b);
    }
    #[cfg(feature = "op-ecs")]
    {
        b = airtask_ecs::register(b);
    }
    #[cfg(feature = "op-batch")]
    {
        b = airtask_batch::register(b);
    }
    #[cfg(feature = "op-eks")]
    {
        b = airtask_eks::register(b);
    }
    b.build()
}

/// What `airtask validate` adds to the loader: each task's operator is built from its
/// unrendered parameters, as Airflow builds it when it parses the DAG ("Invalid arguments were
/// passed"). Unknown and ill-typed parameters are errors naming the task, the key and its line;
/// a template passes wherever its rendering may fit, and a mapped task's expanded arguments
/// count as given. default_args entries are checked only for operators that read them. Errors
/// make the workflow invalid.
pub(crate) fn check_parameters(report: &mut Report) {
    let Some(wf) = &report.workflow else {
        return;
    };
    let registry = registry();
    let mut found = Vec::new();
    for task in &wf.tasks {
        let Some(entry) = task
            .implementation
            .as_deref()
            .and_then(|p| registry.lookup(p))
        else {
            continue;
        };
        // default_args entries apply only to operators that take them (as at run time).
        let (mut params, mut defaults) = (Params::new(), Params::new());
        for p in &task.parameters {
            let to = if p.origin == Origin::DefaultArgs {
                &mut defaults
            } else {
                &mut params
            };
            to.insert(p.name.clone(), p.value.to_json());
        }
        for (name, _) in task.mapping.iter().flat_map(|m| &m.expand) {
            params.insert(name.clone(), "{{ expanded }}".into());
        }
        if let Err(e) = entry.check_with_defaults(&params, &defaults) {
            let written = e
                .param()
                .and_then(|k| task.parameters.iter().find(|p| p.name == k));
            let mut d = Diagnostic::error(e.message())
                .task(&task.task_id)
                .at(written.map_or(task.pos, |p| p.pos));
            if let Some(k) = e.param() {
                d = d.key(k);
            }
            found.push(d);
        }
    }
    if !found.is_empty() {
        report.diagnostics.extend(found);
        report.workflow = None;
    }
}

#[cfg(test)]
mod tests {
    use airtask_workflow::OperatorCatalog as _;

    #[test]
    fn registry_builds_and_resolves_aliases() {
        let r = super::registry();
        assert_eq!(
            r.resolve("airflow.operators.empty.EmptyOperator"),
            Some("airflow.providers.standard.operators.empty.EmptyOperator")
        );
    }
}
