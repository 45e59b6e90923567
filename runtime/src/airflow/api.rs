//! A client of Airflow's Task Execution API (the `/execution/` routes of `airflow api-server`),
//! the part of it a task runner needs: start (`PATCH run`), heartbeat, final state, XComs,
//! Variables and Connections.
//!
//! Rules it keeps, as Airflow's own Python client does: every request carries the bearer token
//! and the pinned `Airflow-API-Version`; a `Refreshed-API-Token` response header replaces the
//! bearer for every later request; a 5xx answer or a transport error is retried with
//! exponential backoff, up to `[workers] execution_api_retries` times; unknown JSON fields in
//! answers are ignored.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::{Value, json};

/// The Execution API version airtask speaks: the oldest one whose routes and payloads it uses,
/// so that one binary serves Airflow 3.1 to 3.3 (a server downgrades newer answers to it).
pub(crate) const API_VERSION: &str = "2025-11-05";

/// How the client retries and waits.
#[derive(Debug, Clone)]
pub(crate) struct RetrySettings {
    /// Retries after the first attempt (`[workers] execution_api_retries`, default 5).
    pub(crate) retries: u32,
    /// The first wait (`[workers] execution_api_retry_wait_min`, default 1 s).
    pub(crate) wait_min: Duration,
    /// The longest wait (`[workers] execution_api_retry_wait_max`, default 90 s).
    pub(crate) wait_max: Duration,
    /// One request's timeout (`[workers] execution_api_timeout`, default 30 s).
    pub(crate) timeout: Duration,
}

impl RetrySettings {
    /// Airflow's `[workers]` settings from their `AIRFLOW__WORKERS__*` variables, with Airflow's
    /// defaults.
    pub(crate) fn from_env() -> Result<RetrySettings, String> {
        fn num(name: &str, default: f64) -> Result<f64, String> {
            match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .ok_or_else(|| format!("{name} is '{v}'; it must be a number of 0 or more")),
            }
        }
        let retries = num("AIRFLOW__WORKERS__EXECUTION_API_RETRIES", 5.0)?;
        Ok(RetrySettings {
            retries: retries.min(100.0) as u32,
            wait_min: Duration::from_secs_f64(num(
                "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MIN",
                1.0,
            )?),
            wait_max: Duration::from_secs_f64(num(
                "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MAX",
                90.0,
            )?),
            timeout: Duration::from_secs_f64(
                num("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", 30.0)?.max(0.1),
            ),
        })
    }

    /// The wait before retry `n` (from 1): `wait_min * 2^(n-1)`, at most `wait_max`.
    fn backoff(&self, n: u32) -> Duration {
        let factor = 2f64.powi(i32::try_from(n.saturating_sub(1)).unwrap_or(30).min(30));
        Duration::from_secs_f64(
            (self.wait_min.as_secs_f64() * factor).min(self.wait_max.as_secs_f64()),
        )
    }
}

/// Why a call to the Execution API failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The server answered with a status the call does not accept (4xx, or 5xx after the
    /// retries).
    #[error("{method} {path} answered {status}: {detail}")]
    Status {
        /// The method.
        method: Method,
        /// The path under the server URL.
        path: String,
        /// The status.
        status: StatusCode,
        /// The answer's body (its `detail`), shortened.
        detail: String,
    },
    /// The server could not be reached (after the retries).
    #[error("{method} {path} failed after {attempts} attempts: {message}")]
    Transport {
        /// The method.
        method: Method,
        /// The path under the server URL.
        path: String,
        /// How many times it was tried.
        attempts: u32,
        /// The last transport error.
        message: String,
    },
    /// The answer is not the JSON the call expects.
    #[error("{path}: the answer is not what the Execution API sends: {message}")]
    Decode {
        /// The path under the server URL.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl ApiError {
    /// The HTTP status of a [`ApiError::Status`].
    pub(crate) fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An answer: its status and body.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: StatusCode,
    /// The body.
    pub(crate) body: Bytes,
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// The Task Execution API client of one task instance.
#[derive(Clone)]
pub(crate) struct Client {
    base: String,
    token: Arc<Mutex<String>>,
    http: HyperClient<Connector, Full<Bytes>>,
    retry: RetrySettings,
}

/// The `dag_run` of [`RunContext`] (the fields airtask uses; the rest are ignored).
#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct DagRun {
    /// The logical date (none for runs without one).
    #[serde(default)]
    pub(crate) logical_date: Option<String>,
    /// Start of the data interval.
    #[serde(default)]
    pub(crate) data_interval_start: Option<String>,
    /// End of the data interval.
    #[serde(default)]
    pub(crate) data_interval_end: Option<String>,
    /// When the run was due.
    #[serde(default)]
    pub(crate) run_after: Option<String>,
    /// `manual`, `scheduled`, ...
    #[serde(default)]
    pub(crate) run_type: Option<String>,
    /// The run's configuration.
    #[serde(default)]
    pub(crate) conf: Option<Value>,
}

/// What `PATCH task-instances/{id}/run` answers (`TIRunContext`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RunContext {
    /// The run.
    #[serde(default)]
    pub(crate) dag_run: DagRun,
    /// The task's tries minus one (retries).
    #[serde(default)]
    pub(crate) max_tries: Option<u32>,
    /// XCom keys of an earlier try to delete before running.
    #[serde(default, deserialize_with = "empty_if_null")]
    pub(crate) xcom_keys_to_clear: Vec<String>,
    /// Whether a failure of this try is retried (`up_for_retry`).
    #[serde(default)]
    pub(crate) should_retry: Option<bool>,
}

fn empty_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Percent-encodes one path segment (ids may hold `:`, `+`, `/`).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// A client of the server at `base` (ending in `/`) with the workload's `token`.
    pub(crate) fn new(base: &str, token: &str, retry: RetrySettings) -> Result<Client, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| format!("cannot read the system's TLS root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let http = HyperClient::builder(TokioExecutor::new()).build(https);
        let base = if base.ends_with('/') {
            base.to_owned()
        } else {
            format!("{base}/")
        };
        Ok(Client {
            base,
            token: Arc::new(Mutex::new(token.to_owned())),
            http,
            retry,
        })
    }

    /// The current bearer token (after refreshes).
    pub(crate) fn token(&self) -> String {
        self.token.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// One request, retried on 5xx and transport errors; any status it answers at last is
    /// returned (callers decide which are errors).
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ApiError> {
        let url = format!("{}{path}", self.base);
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut req = Request::builder()
                .method(method.clone())
                .uri(&url)
                .header("Authorization", format!("Bearer {}", self.token()))
                .header("Airflow-API-Version", API_VERSION)
                .header("Accept", "application/json");
            if body.is_some() {
                req = req.header("Content-Type", "application/json");
            }
            let req = req
                .body(Full::new(Bytes::from(payload.clone())))
                .map_err(|e| ApiError::Transport {
                    method: method.clone(),
                    path: path.to_owned(),
                    attempts: attempt,
                    message: format!("invalid request to {url}: {e}"),
                })?;
            let sent = tokio::time::timeout(self.retry.timeout, async {
                let resp = self.http.request(req).await.map_err(|e| {
                    let mut msg = e.to_string();
                    let mut src = std::error::Error::source(&e);
                    while let Some(s) = src {
                        msg.push_str(": ");
                        msg.push_str(&s.to_string());
                        src = s.source();
                    }
                    msg
                })?;
                if let Some(t) = resp
                    .headers()
                    .get("Refreshed-API-Token")
                    .and_then(|v| v.to_str().ok())
                    .filter(|t| !t.is_empty())
                    && let Ok(mut tok) = self.token.lock()
                {
                    *tok = t.to_owned();
                }
                let status = resp.status();
                let body = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| format!("reading the answer: {e}"))?
                    .to_bytes();
                Ok::<_, String>(Answer { status, body })
            })
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "no answer within {} s",
                    self.retry.timeout.as_secs_f64()
                ))
            });
            let retryable = match &sent {
                Ok(a) => a.status.is_server_error(),
                Err(_) => true,
            };
            if !retryable || attempt > self.retry.retries {
                return match sent {
                    Ok(a) if a.status.is_server_error() => Err(ApiError::Status {
                        method,
                        path: path.to_owned(),
                        status: a.status,
                        detail: detail(&a.body),
                    }),
                    Ok(a) => Ok(a),
                    Err(message) => Err(ApiError::Transport {
                        method,
                        path: path.to_owned(),
                        attempts: attempt,
                        message,
                    }),
                };
            }
            tokio::time::sleep(self.retry.backoff(attempt)).await;
        }
    }

    /// A request whose answer must be one of `ok`.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        ok: &[StatusCode],
    ) -> Result<Answer, ApiError> {
        let a = self.request(method.clone(), path, body).await?;
        if ok.contains(&a.status) {
            Ok(a)
        } else {
            Err(ApiError::Status {
                method,
                path: path.to_owned(),
                status: a.status,
                detail: detail(&a.body),
            })
        }
    }

    /// `PATCH task-instances/{id}/run`: the task instance is running here.
    pub(crate) async fn start(
        &self,
        ti_id: &str,
        hostname: &str,
        unixname: &str,
        pid: u32,
        start_date: &str,
    ) -> Result<RunContext, ApiError> {
        let path = format!("task-instances/{}/run", segment(ti_id));
        let body = json!({
            "state": "running",
            "hostname": hostname,
            "unixname": unixname,
            "pid": pid,
            "start_date": start_date,
        });
        let a = self
            .expect(Method::PATCH, &path, Some(&body), &[StatusCode::OK])
            .await?;
        serde_json::from_slice(&a.body).map_err(|e| ApiError::Decode {
            path,
            message: e.to_string(),
        })
    }

    /// `PUT task-instances/{id}/heartbeat`.
    pub(crate) async fn heartbeat(
        &self,
        ti_id: &str,
        hostname: &str,
        pid: u32,
    ) -> Result<(), ApiError> {
        let path = format!("task-instances/{}/heartbeat", segment(ti_id));
        let body = json!({"hostname": hostname, "pid": pid});
        self.expect(
            Method::PUT,
            &path,
            Some(&body),
            &[StatusCode::NO_CONTENT, StatusCode::OK],
        )
        .await
        .map(|_| ())
    }

    /// `PATCH task-instances/{id}/state` with `body` (its `state` and the state's fields).
    pub(crate) async fn finish(&self, ti_id: &str, body: &Value) -> Result<(), ApiError> {
        let path = format!("task-instances/{}/state", segment(ti_id));
        self.expect(
            Method::PATCH,
            &path,
            Some(body),
            &[StatusCode::NO_CONTENT, StatusCode::OK],
        )
        .await
        .map(|_| ())
    }

    /// `PUT task-instances/{id}/rtif`: the rendered template fields (the UI's Rendered
    /// Template tab). A 410 (the try was archived by a clear) is not an error, as in Airflow's
    /// supervisor.
    pub(crate) async fn set_rendered_fields(
        &self,
        ti_id: &str,
        fields: &Value,
    ) -> Result<(), ApiError> {
        let path = format!("task-instances/{}/rtif", segment(ti_id));
        self.expect(
            Method::PUT,
            &path,
            Some(fields),
            &[
                StatusCode::CREATED,
                StatusCode::OK,
                StatusCode::NO_CONTENT,
                StatusCode::GONE,
            ],
        )
        .await
        .map(|_| ())
    }

    fn xcom_path(dag_id: &str, run_id: &str, task_id: &str, key: &str) -> String {
        format!(
            "xcoms/{}/{}/{}/{}",
            segment(dag_id),
            segment(run_id),
            segment(task_id),
            segment(key)
        )
    }

    /// `GET xcoms/...`: the value, `None` when there is none (404).
    pub(crate) async fn get_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
        map_index: i64,
    ) -> Result<Option<Value>, ApiError> {
        let path = format!(
            "{}?map_index={map_index}",
            Client::xcom_path(dag_id, run_id, task_id, key)
        );
        let a = self
            .expect(
                Method::GET,
                &path,
                None,
                &[StatusCode::OK, StatusCode::NOT_FOUND],
            )
            .await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        #[derive(Deserialize)]
        struct XCom {
            #[serde(default)]
            value: Value,
        }
        let x: XCom = serde_json::from_slice(&a.body).map_err(|e| ApiError::Decode {
            path,
            message: e.to_string(),
        })?;
        Ok(Some(x.value))
    }

    /// `POST xcoms/...`: stores `value` (the raw JSON value is the body).
    pub(crate) async fn set_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
        map_index: i64,
        value: &Value,
    ) -> Result<(), ApiError> {
        let path = format!(
            "{}?map_index={map_index}",
            Client::xcom_path(dag_id, run_id, task_id, key)
        );
        self.expect(
            Method::POST,
            &path,
            Some(value),
            &[StatusCode::CREATED, StatusCode::OK, StatusCode::NO_CONTENT],
        )
        .await
        .map(|_| ())
    }

    /// `DELETE xcoms/...` (a missing value is not an error).
    pub(crate) async fn delete_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
        map_index: i64,
    ) -> Result<(), ApiError> {
        let path = format!(
            "{}?map_index={map_index}",
            Client::xcom_path(dag_id, run_id, task_id, key)
        );
        self.expect(
            Method::DELETE,
            &path,
            None,
            &[
                StatusCode::OK,
                StatusCode::NO_CONTENT,
                StatusCode::NOT_FOUND,
            ],
        )
        .await
        .map(|_| ())
    }

    /// `GET variables/{key}`: the value, `None` when the Variable does not exist.
    pub(crate) async fn get_variable(&self, key: &str) -> Result<Option<String>, ApiError> {
        let path = format!("variables/{}", segment(key));
        let a = self
            .expect(
                Method::GET,
                &path,
                None,
                &[StatusCode::OK, StatusCode::NOT_FOUND],
            )
            .await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        #[derive(Deserialize)]
        struct Var {
            #[serde(default)]
            value: Option<String>,
        }
        let v: Var = serde_json::from_slice(&a.body).map_err(|e| ApiError::Decode {
            path,
            message: e.to_string(),
        })?;
        Ok(v.value)
    }
}

impl Client {
    /// `GET connections/{conn_id}`: the connection's fields, `None` when there is none (404).
    pub(crate) async fn get_connection(&self, conn_id: &str) -> Result<Option<Value>, ApiError> {
        let path = format!("connections/{}", segment(conn_id));
        let a = self
            .expect(
                Method::GET,
                &path,
                None,
                &[StatusCode::OK, StatusCode::NOT_FOUND],
            )
            .await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let v: Value = serde_json::from_slice(&a.body).map_err(|e| ApiError::Decode {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if !v.is_object() {
            return Err(ApiError::Decode {
                path,
                message: format!("a connection is an object, not {v}"),
            });
        }
        Ok(Some(v))
    }
}

/// The `detail` of an error answer (or its text), at most 300 characters.
fn detail(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v.get("detail").cloned().unwrap_or(v).to_string(),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let mut t: String = text.chars().take(300).collect();
    if t.is_empty() {
        t.push_str("(no body)");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let r = RetrySettings {
            retries: 5,
            wait_min: Duration::from_secs(1),
            wait_max: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        };
        let waits: Vec<u64> = (1..=5).map(|n| r.backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(
            segment("manual__2025-01-01T00:00:00+00:00"),
            "manual__2025-01-01T00%3A00%3A00%2B00%3A00"
        );
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn the_run_context_ignores_unknown_fields() {
        let ctx: RunContext = serde_json::from_value(json!({
            "dag_run": {"dag_id": "d", "run_id": "r", "logical_date": "2025-01-01T00:00:00Z",
                        "conf": {"a": 1}, "consumed_asset_events": [], "new_field": true},
            "task_reschedule_count": 0, "max_tries": 2, "variables": [], "connections": [],
            "xcom_keys_to_clear": ["return_value"], "should_retry": true, "upstream_map_indexes": {}
        }))
        .unwrap();
        assert_eq!(ctx.max_tries, Some(2));
        assert_eq!(ctx.should_retry, Some(true));
        assert_eq!(ctx.dag_run.conf, Some(json!({"a": 1})));
        assert_eq!(ctx.xcom_keys_to_clear, ["return_value"]);
    }
}
