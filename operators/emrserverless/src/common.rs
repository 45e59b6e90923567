//! What the EMR Serverless operators and sensors share: the hook's state groups, GetApplication
//! and GetJobRun, the provider's waiters, ARNs and the state lists of the sensors.

use airtask_core::permissions::{ACCOUNT, arn};
use airtask_core::wait::Poll;
use airtask_core::{ParamError, ParamReader, TaskError};
use aws_sdk_emrserverless::Client;
use serde_json::Value;

/// The logger of the EMR Serverless hook's lines.
pub(crate) const HOOK: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.emr.EmrServerlessHook";

/// The hook's job run states.
pub(crate) const JOB_INTERMEDIATE: &[&str] = &["PENDING", "RUNNING", "SCHEDULED", "SUBMITTED"];
pub(crate) const JOB_FAILURE: &[&str] = &["FAILED", "CANCELLING", "CANCELLED"];
pub(crate) const JOB_SUCCESS: &[&str] = &["SUCCESS"];
/// The hook's application states.
pub(crate) const APP_FAILURE: &[&str] = &["STOPPED", "TERMINATED"];
pub(crate) const APP_SUCCESS: &[&str] = &["CREATED", "STARTED"];

/// A resource name, or `*` when it still holds a template.
pub(crate) fn wild(name: &str) -> &str {
    if airtask_core::params::is_template(name) || name.is_empty() {
        "*"
    } else {
        name
    }
}

/// The ARN of application `id`.
pub(crate) fn application_arn(region: Option<&str>, id: &str) -> String {
    arn(
        "emr-serverless",
        region,
        &format!("/applications/{}", wild(id)),
    )
}

/// The ARN of the job runs of application `id`.
pub(crate) fn job_runs_arn(region: Option<&str>, id: &str) -> String {
    format!("{}/jobruns/*", application_arn(region, id))
}

/// The ARN of the IAM role `role` (an ARN, or a name in the task's account).
pub(crate) fn role_arn(role: &str) -> String {
    if role.starts_with("arn:") {
        role.to_owned()
    } else {
        format!("arn:aws:iam::{ACCOUNT}:role/{}", wild(role))
    }
}

/// A random UUID (version 4), as Python's `uuid4()` writes it.
pub(crate) fn uuid4() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    for half in bytes.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = bytes.iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A state and its details, as GetApplication and GetJobRun give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    /// The state.
    pub(crate) state: String,
    /// `stateDetails` ("" when there are none).
    pub(crate) details: String,
}

impl State {
    /// The provider's status line: `STATE - details`.
    pub(crate) fn line(&self) -> String {
        if self.details.is_empty() {
            self.state.clone()
        } else {
            format!("{} - {}", self.state, self.details)
        }
    }
}

/// GetApplication of `id`.
pub(crate) async fn get_application(emr: &Client, id: &str) -> Result<State, TaskError> {
    let out = emr
        .get_application()
        .application_id(id)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("GetApplication {id}"), &e))?;
    let app = out.application();
    Ok(State {
        state: app
            .map(|a| a.state().as_str().to_owned())
            .unwrap_or_default(),
        details: app
            .and_then(|a| a.state_details())
            .unwrap_or_default()
            .to_owned(),
    })
}

/// GetJobRun of `job` on application `app`.
pub(crate) async fn get_job_run(emr: &Client, app: &str, job: &str) -> Result<State, TaskError> {
    let out = emr
        .get_job_run()
        .application_id(app)
        .job_run_id(job)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("GetJobRun {job} of application {app}"), &e)
        })?;
    let run = out.job_run();
    Ok(State {
        state: run
            .map(|r| r.state().as_str().to_owned())
            .unwrap_or_default(),
        details: run
            .map(|r| r.state_details().to_owned())
            .unwrap_or_default(),
    })
}

/// One of the provider's application waiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppWaiter {
    /// The state that ends the wait.
    pub(crate) success: &'static str,
    /// States that fail it.
    pub(crate) failure: &'static [&'static str],
    /// The provider's failure message.
    pub(crate) message: &'static str,
}

/// `serverless_app_created`.
pub(crate) const APP_CREATED: AppWaiter = AppWaiter {
    success: "CREATED",
    failure: &["TERMINATED"],
    message: "Serverless Application creation failed",
};
/// `serverless_app_started`.
pub(crate) const APP_STARTED: AppWaiter = AppWaiter {
    success: "STARTED",
    failure: &["TERMINATED", "STOPPED"],
    message: "Serverless Application failed to start",
};
/// `serverless_app_stopped`.
pub(crate) const APP_STOPPED: AppWaiter = AppWaiter {
    success: "STOPPED",
    failure: &["TERMINATED"],
    message: "Error stopping application",
};
/// `serverless_app_terminated`.
pub(crate) const APP_TERMINATED: AppWaiter = AppWaiter {
    success: "TERMINATED",
    failure: &[],
    message: "Error terminating application",
};

impl AppWaiter {
    /// One poll of the waiter on application `id`.
    pub(crate) async fn poll(self, emr: &Client, id: &str) -> Result<Poll<()>, TaskError> {
        let s = get_application(emr, id).await?;
        if s.state == self.success {
            Ok(Poll::Done(()))
        } else if self.failure.contains(&s.state.as_str()) {
            Err(TaskError::retryable(format!(
                "{}: application {id} is {}",
                self.message,
                s.line()
            )))
        } else {
            Ok(Poll::Pending {
                state: format!("Serverless Application status is: {}", s.line()),
            })
        }
    }
}

/// One poll of `serverless_job_completed`: SUCCESS; FAILED and CANCELLED fail.
pub(crate) async fn poll_job(emr: &Client, app: &str, job: &str) -> Result<Poll<()>, TaskError> {
    let s = get_job_run(emr, app, job).await?;
    match s.state.as_str() {
        "SUCCESS" => Ok(Poll::Done(())),
        "FAILED" | "CANCELLED" => Err(TaskError::retryable(format!(
            "Serverless Job failed: job run {job} is {}",
            s.line()
        ))),
        _ => Ok(Poll::Pending {
            state: format!("Serverless Job status is: {}", s.line()),
        }),
    }
}

/// A set of states: a list of strings, one state, or a Python set as Airflow's converter writes
/// it (`"frozenset({'STARTED', 'CREATED'})"`). `None` when absent or an unrendered template.
///
/// # Errors
/// Any other value.
pub(crate) fn states(
    p: &mut ParamReader<'_>,
    name: &'static str,
) -> Result<Option<Vec<String>>, ParamError> {
    let op = p.operator();
    let wrong = |v: &Value| {
        ParamError::at(
            name,
            format!(
                "{op} parameter `{name}` must be a list of states (or one state), not {}",
                airtask_core::params::describe(v)
            ),
        )
    };
    match p.value(name) {
        None => Ok(None),
        Some(Value::String(s)) if p.is_templated(s) => Ok(None),
        Some(v @ Value::String(s)) => {
            let t = s.trim();
            if !t.contains(['{', '[', '(']) {
                return Ok(Some(vec![t.to_owned()]));
            }
            // The quoted names of a Python collection literal.
            let mut out = Vec::new();
            let mut bare = String::new();
            let mut rest = t;
            while let Some(i) = rest.find(['\'', '"']) {
                bare.push_str(&rest[..i]);
                let q = rest[i..].chars().next().unwrap_or('\'');
                let after = &rest[i + 1..];
                let Some(j) = after.find(q) else {
                    return Err(wrong(v));
                };
                out.push(after[..j].to_owned());
                rest = &after[j + 1..];
            }
            bare.push_str(rest);
            let bare: String = bare.chars().filter(|c| !"{}[](), ".contains(*c)).collect();
            if bare != "frozenset" && bare != "set" && !bare.is_empty() {
                return Err(wrong(v));
            }
            Ok(Some(out))
        }
        Some(v @ Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(|| wrong(v)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(v) => Err(wrong(v)),
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::Params;
    use serde_json::json;

    use super::*;

    fn read(v: Value) -> Result<Option<Vec<String>>, ParamError> {
        let params: Params = json!({ "target_states": v }).as_object().cloned().unwrap();
        let mut p = ParamReader::new("S", &params);
        states(&mut p, "target_states")
    }

    #[test]
    fn states_come_as_lists_strings_or_python_sets() {
        assert_eq!(
            read(json!("frozenset({'STARTED', 'CREATED'})"))
                .unwrap()
                .unwrap(),
            ["STARTED", "CREATED"]
        );
        assert_eq!(
            read(json!(["SUCCESS", "RUNNING"])).unwrap().unwrap(),
            ["SUCCESS", "RUNNING"]
        );
        assert_eq!(read(json!("SUCCESS")).unwrap().unwrap(), ["SUCCESS"]);
        assert_eq!(read(json!("{'A'}")).unwrap().unwrap(), ["A"]);
        assert!(read(json!("open({'A'})")).is_err());
        assert!(read(json!(1)).is_err());
        assert_eq!(read(Value::Null).unwrap(), None);
        assert_eq!(role_arn("r"), "arn:aws:iam::{account}:role/r");
        assert_eq!(
            job_runs_arn(Some("eu-west-1"), "app1"),
            "arn:aws:emr-serverless:eu-west-1:{account}:/applications/app1/jobruns/*"
        );
        assert_eq!(uuid4().len(), 36);
    }
}
