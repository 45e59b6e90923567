//! What the Comprehend operators and sensors share: the readers of the provider's
//! boto3-shaped mappings (`input_data_config`, `output_data_config`, the kwargs), the state
//! groups of the provider's waiters and sensors, and the describe calls.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use airtask_core::TaskError;
use airtask_core::kwargs::Obj;
use airtask_core::wait::{Poll, WaitSettings};
use aws_sdk_comprehend::types::{
    DocumentReadAction, DocumentReadFeatureTypes, DocumentReadMode, DocumentReaderConfig, Tag,
    VpcConfig,
};

/// The logger of the Comprehend hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.comprehend.ComprehendHook";

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A required string `key` of the mapping at `path`.
///
/// # Errors
/// When it is absent or not a string.
pub(crate) fn required(o: &mut Obj<'_>, path: &str, key: &'static str) -> Result<String, String> {
    o.str(key)?
        .ok_or_else(|| format!("`{path}.{key}` is required"))
}

/// Reads `DocumentReaderConfig` (in an input data config) when present.
///
/// # Errors
/// A missing `DocumentReadAction` or a key the API lacks.
pub(crate) fn document_reader(
    o: &mut Obj<'_>,
    path: &str,
) -> Result<Option<DocumentReaderConfig>, String> {
    let at = format!("{path}.DocumentReaderConfig");
    let Some(mut d) = o.obj("DocumentReaderConfig")? else {
        return Ok(None);
    };
    let action = required(&mut d, &at, "DocumentReadAction")?;
    let mode = d.str("DocumentReadMode")?;
    let features = d.str_list("FeatureTypes")?;
    d.finish()?;
    DocumentReaderConfig::builder()
        .document_read_action(DocumentReadAction::from(action.as_str()))
        .set_document_read_mode(mode.map(|m| DocumentReadMode::from(m.as_str())))
        .set_feature_types(features.map(|f| {
            f.iter()
                .map(|t| DocumentReadFeatureTypes::from(t.as_str()))
                .collect()
        }))
        .build()
        .map(Some)
        .map_err(err)
}

/// Reads a `Tags` list (`[{Key, Value}]`).
///
/// # Errors
/// When it is not a list of such mappings.
pub(crate) fn tags(o: &mut Obj<'_>, path: &str) -> Result<Option<Vec<Tag>>, String> {
    let Some(items) = o.objs("Tags")? else {
        return Ok(None);
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, mut t)| {
            let at = format!("{path}.Tags[{i}]");
            let key = required(&mut t, &at, "Key")?;
            let value = t.str("Value")?;
            t.finish()?;
            Tag::builder()
                .key(key)
                .set_value(value)
                .build()
                .map_err(err)
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Some)
}

/// Reads a `VpcConfig` (`{SecurityGroupIds, Subnets}`).
///
/// # Errors
/// When a list is missing or a key is unknown.
pub(crate) fn vpc(o: &mut Obj<'_>, path: &str) -> Result<Option<VpcConfig>, String> {
    let at = format!("{path}.VpcConfig");
    let Some(mut v) = o.obj("VpcConfig")? else {
        return Ok(None);
    };
    let groups = v
        .str_list("SecurityGroupIds")?
        .ok_or_else(|| format!("`{at}.SecurityGroupIds` is required"))?;
    let subnets = v
        .str_list("Subnets")?
        .ok_or_else(|| format!("`{at}.Subnets` is required"))?;
    v.finish()?;
    VpcConfig::builder()
        .set_security_group_ids(Some(groups))
        .set_subnets(Some(subnets))
        .build()
        .map(Some)
        .map_err(err)
}

/// The states of a Comprehend resource, as the provider's waiter and sensor group them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct States {
    /// What is watched, for messages.
    pub(crate) what: &'static str,
    /// The waiter's success states.
    pub(crate) success: &'static [&'static str],
    /// The waiter's failure states.
    pub(crate) failure: &'static [&'static str],
    /// The sensor's intermediate states.
    pub(crate) sensor_intermediate: &'static [&'static str],
    /// The sensor's failure states.
    pub(crate) sensor_failure: &'static [&'static str],
    /// The sensor's `FAILURE_MESSAGE`.
    pub(crate) failure_message: &'static str,
}

/// `pii_entities_detection_job_complete` and
/// `ComprehendStartPiiEntitiesDetectionJobCompletedSensor`.
pub(crate) const PII_JOB: States = States {
    what: "Comprehend PII entities detection job",
    success: &["COMPLETED"],
    failure: &["FAILED", "STOP_REQUESTED", "STOPPED"],
    sensor_intermediate: &["IN_PROGRESS"],
    sensor_failure: &["FAILED", "STOP_REQUESTED", "STOPPED"],
    failure_message: "Comprehend start pii entities detection job sensor failed.",
};

/// `create_document_classifier_complete` and
/// `ComprehendCreateDocumentClassifierCompletedSensor`.
pub(crate) const CLASSIFIER: States = States {
    what: "Comprehend document classifier",
    success: &["TRAINED", "TRAINED_WITH_WARNING"],
    failure: &["DELETING", "STOP_REQUESTED", "STOPPED", "IN_ERROR"],
    sensor_intermediate: &["SUBMITTED", "TRAINING"],
    sensor_failure: &["DELETING", "STOP_REQUESTED", "STOPPED", "IN_ERROR"],
    failure_message: "Comprehend document classifier failed.",
};

/// A status and, when the service gives one, its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    /// The status as the API spells it.
    pub(crate) status: String,
    /// The API's message (why a job failed).
    pub(crate) message: Option<String>,
}

impl Status {
    fn why(&self) -> String {
        match &self.message {
            Some(m) if !m.is_empty() => format!(" ({m})"),
            _ => String::new(),
        }
    }
}

impl States {
    /// One poll of an operator's wait (botocore's waiter: success, failure, else retry).
    ///
    /// # Errors
    /// A failure state.
    pub(crate) fn waiter_poll(&self, name: &str, s: &Status) -> Result<Poll<()>, TaskError> {
        if self.success.contains(&s.status.as_str()) {
            Ok(Poll::Done(()))
        } else if self.failure.contains(&s.status.as_str()) {
            Err(TaskError::retryable(format!(
                "Waiter encountered a terminal failure state: {} {name} is {}{}",
                self.what,
                s.status,
                s.why()
            )))
        } else {
            Ok(Poll::Pending {
                state: s.status.clone(),
            })
        }
    }

    /// The sensor's verdict on a status: a failure state fails, an intermediate one is not
    /// met, anything else is.
    ///
    /// # Errors
    /// A failure state, with the provider's message.
    pub(crate) fn sensor_poke(&self, name: &str, s: &Status) -> Result<bool, TaskError> {
        if self.sensor_failure.contains(&s.status.as_str()) {
            return Err(TaskError::retryable(format!(
                "{} ({} {name} is {}{})",
                self.failure_message,
                self.what,
                s.status,
                s.why()
            )));
        }
        Ok(!self.sensor_intermediate.contains(&s.status.as_str()))
    }
}

/// The waiting parameters of a sensor's deferrable mode (the trigger's waiter).
pub(crate) fn deferred_wait(poke_interval: f64, max_retries: u32) -> WaitSettings {
    WaitSettings {
        wait_for_completion: true,
        waiter_delay: Duration::from_secs_f64(poke_interval),
        waiter_max_attempts: max_retries.max(1),
        deferrable: true,
    }
}

/// Whole seconds since the Unix epoch at `now` (the SDK client's time source), 0 without one.
pub(crate) fn unix_seconds(now: Option<SystemTime>) -> u64 {
    now.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// The status of PII entities detection job `id`.
///
/// # Errors
/// The SDK's error.
pub(crate) async fn pii_job(
    comprehend: &aws_sdk_comprehend::Client,
    id: &str,
) -> Result<Status, TaskError> {
    let out = comprehend
        .describe_pii_entities_detection_job()
        .job_id(id)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("DescribePiiEntitiesDetectionJob {id}"), &e)
        })?;
    let p = out.pii_entities_detection_job_properties();
    Ok(Status {
        status: p
            .and_then(|p| p.job_status())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        message: p.and_then(|p| p.message()).map(str::to_owned),
    })
}

/// DescribeDocumentClassifier of `arn`: its properties.
///
/// # Errors
/// The SDK's error.
pub(crate) async fn classifier(
    comprehend: &aws_sdk_comprehend::Client,
    arn: &str,
) -> Result<aws_sdk_comprehend::types::DocumentClassifierProperties, TaskError> {
    let out = comprehend
        .describe_document_classifier()
        .document_classifier_arn(arn)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("DescribeDocumentClassifier {arn}"), &e)
        })?;
    Ok(out
        .document_classifier_properties()
        .cloned()
        .unwrap_or_else(|| {
            aws_sdk_comprehend::types::DocumentClassifierProperties::builder().build()
        }))
}

/// A classifier's status.
pub(crate) fn classifier_status(
    p: &aws_sdk_comprehend::types::DocumentClassifierProperties,
) -> Status {
    Status {
        status: p
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        message: p.message().map(str::to_owned),
    }
}

/// The hook's `validate_document_classifier_training_status`: logs a training that ended with
/// warnings (and fails it with `fail_on_warnings`), then the classifier's metadata.
///
/// # Errors
/// `TRAINED_WITH_WARNING` with `fail_on_warnings`, or the describe call's error.
pub(crate) async fn validate_training(
    ctx: &airtask_core::TaskContext,
    comprehend: &aws_sdk_comprehend::Client,
    arn: &str,
    fail_on_warnings: bool,
) -> Result<(), TaskError> {
    let p = classifier(comprehend, arn).await?;
    let status = classifier_status(&p);
    if status.status == "TRAINED_WITH_WARNING" {
        ctx.hook_info(
            HOOK_LOGGER,
            &format!(
                "AWS Comprehend document classifier training completed with {}, Message: {} \
                 please review the skipped files folder in the output location {}",
                status.status,
                p.message().unwrap_or("None"),
                p.output_data_config()
                    .and_then(|o| o.s3_uri())
                    .unwrap_or("None")
            ),
        );
        if fail_on_warnings {
            return Err(TaskError::fatal(format!(
                "Warnings in AWS Comprehend document classifier training. (classifier {arn}; \
                 fail_on_warnings is true)"
            )));
        }
    }
    let metadata = p
        .classifier_metadata()
        .map_or_else(|| "None".to_owned(), python_metadata);
    ctx.hook_info(
        HOOK_LOGGER,
        &format!("AWS Comprehend document classifier metadata: {metadata}"),
    );
    Ok(())
}

/// A Python value's text: the number, or None.
fn py<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "None".to_owned(), |v| v.to_string())
}

/// The classifier's metadata as the provider logs it (a Python dict of boto3's keys).
fn python_metadata(m: &aws_sdk_comprehend::types::ClassifierMetadata) -> String {
    let metrics = m.evaluation_metrics().map_or_else(
        || "None".to_owned(),
        |e| {
            format!(
                "{{'Accuracy': {}, 'Precision': {}, 'Recall': {}, 'F1Score': {}}}",
                py(e.accuracy()),
                py(e.precision()),
                py(e.recall()),
                py(e.f1_score())
            )
        },
    );
    format!(
        "{{'NumberOfLabels': {}, 'NumberOfTrainedDocuments': {}, 'NumberOfTestDocuments': {}, \
         'EvaluationMetrics': {metrics}}}",
        py(m.number_of_labels()),
        py(m.number_of_trained_documents()),
        py(m.number_of_test_documents())
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn st(s: &str) -> Status {
        Status {
            status: s.to_owned(),
            message: None,
        }
    }

    #[test]
    fn states_follow_the_provider() {
        assert_eq!(
            PII_JOB.waiter_poll("j", &st("COMPLETED")).unwrap(),
            Poll::Done(())
        );
        assert!(matches!(
            PII_JOB.waiter_poll("j", &st("SUBMITTED")).unwrap(),
            Poll::Pending { .. }
        ));
        assert!(PII_JOB.waiter_poll("j", &st("STOPPED")).is_err());
        // The sensor lists only IN_PROGRESS as intermediate: SUBMITTED meets it, as in the
        // provider.
        assert!(PII_JOB.sensor_poke("j", &st("SUBMITTED")).unwrap());
        assert!(!PII_JOB.sensor_poke("j", &st("IN_PROGRESS")).unwrap());
        let e = PII_JOB.sensor_poke("j", &st("FAILED")).unwrap_err();
        assert!(
            e.message
                .starts_with("Comprehend start pii entities detection job sensor failed."),
            "{e}"
        );
        assert!(!CLASSIFIER.sensor_poke("c", &st("TRAINING")).unwrap());
        assert!(
            CLASSIFIER
                .sensor_poke("c", &st("TRAINED_WITH_WARNING"))
                .unwrap()
        );
        assert!(CLASSIFIER.waiter_poll("c", &st("IN_ERROR")).is_err());
    }

    #[test]
    fn nested_readers_name_the_path() {
        let v = json!({"DocumentReaderConfig": {"DocumentReadMode": "FORCE_DOCUMENT_READ_ACTION"},
            "Tags": [{"Key": "a"}], "VpcConfig": {"Subnets": ["s"]}});
        let mut o = Obj::new("x", &v, true).unwrap();
        assert_eq!(
            document_reader(&mut o, "x").unwrap_err(),
            "`x.DocumentReaderConfig.DocumentReadAction` is required"
        );
        assert_eq!(tags(&mut o, "x").unwrap().map(|t| t.len()), Some(1));
        assert_eq!(
            vpc(&mut o, "x").unwrap_err(),
            "`x.VpcConfig.SecurityGroupIds` is required"
        );
    }
}
