//! The one SDK-error classifier, for every AWS call an operator or the runtime makes:
//! throttling, the service's own failures (5xx) and transport errors (timeouts, connection
//! failures, unreadable answers) may succeed on another try; AccessDenied, validation errors,
//! missing resources and every other refusal (4xx) cannot. Any service's errors: the SDK
//! crates share `SdkError` and `HttpResponse`.

use airtask_core::TaskError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error_chain;

/// Error codes that mean "too many requests" or "the service failed": worth another try.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "BandwidthLimitExceeded",
    "SlowDown",
    "PriorRequestNotComplete",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServiceException",
    "InternalServiceError",
    "RequestTimeout",
    "RequestTimeoutException",
    "RequestExpired",
    "OperationAbortedException",
];

/// Whether a service's answer is worth another try: its code says throttling or a failure of
/// the service, or its HTTP status is 429 or 5xx.
pub fn retryable_code(code: Option<&str>, status: Option<u16>) -> bool {
    code.is_some_and(|c| RETRYABLE_CODES.contains(&c))
        || status.is_some_and(|s| s == 429 || s >= 500)
}

/// Whether another try of the call may succeed (see the module documentation). A request the
/// SDK could not build is not; a timeout, a connection failure or an unreadable answer with
/// no error status is.
pub fn is_retryable<E>(e: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(se) => {
            retryable_code(se.err().code(), Some(se.raw().status().as_u16()))
        }
        SdkError::ResponseError(re) => {
            let status = re.raw().status().as_u16();
            status < 400 || retryable_code(None, Some(status))
        }
        SdkError::ConstructionFailure(_) => false,
        _ => true,
    }
}

/// The service's error code (`AccessDeniedException`, `EntityNotFoundException`...), for
/// operators that branch on one.
pub fn code<E>(e: &SdkError<E, HttpResponse>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

/// The HTTP status the service answered with, when it answered.
pub fn status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// What an SDK call's error says: the service's code and message when it answered with them,
/// its HTTP status when it answered without a body (HEAD requests), else the whole error chain
/// (a network failure, a timeout).
pub fn text<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        _ => match status(e) {
            Some(403) => match e.raw_response().and_then(|r| body_code(r.body().bytes()?)) {
                Some(code) => format!("HTTP 403 Forbidden: {code}"),
                None => "HTTP 403 Forbidden: access denied".to_owned(),
            },
            Some(404) => "HTTP 404 Not Found".to_owned(),
            Some(status) => format!("HTTP {status}: {}", error_chain(e)),
            None => error_chain(e),
        },
    }
}

/// The error code an answer's body names when the SDK could not read it as the service's
/// error shape (an XML `<Code>` in a JSON service's answer, a JSON `__type` or `code`): an
/// endpoint's or a proxy's refusal keeps its `AccessDenied`.
fn body_code(body: &[u8]) -> Option<String> {
    let body = std::str::from_utf8(body).ok()?;
    let between = |start: &str, end: &str| {
        let from = body.find(start)? + start.len();
        let len = body[from..].find(end)?;
        Some(body[from..from + len].trim().to_owned())
    };
    let code = between("<Code>", "</Code>")
        .or_else(|| between("\"__type\":\"", "\""))
        .or_else(|| between("\"code\":\"", "\""))?;
    // `__type` may carry a namespace: `com.amazonaws.glue#AccessDeniedException`.
    let code = code.rsplit('#').next().unwrap_or_default();
    let plain = !code.is_empty()
        && code.len() <= 100
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    plain.then(|| code.to_owned())
}

/// The task's error for a failed call: "`what` failed: code: message", retryable as
/// [`is_retryable`] says. `what` names the call and its subject (`GetJobRun etl/jr_1`).
pub fn task_error<E>(what: &str, e: &SdkError<E, HttpResponse>) -> TaskError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    TaskError {
        message: format!("{what} failed: {}", text(e)),
        retryable: is_retryable(e),
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    /// An error as a service's operation error type carries it.
    #[derive(Debug)]
    struct ServiceErr(ErrorMetadata);

    impl std::fmt::Display for ServiceErr {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "service error")
        }
    }

    impl std::error::Error for ServiceErr {}

    impl ProvideErrorMetadata for ServiceErr {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn service(status: u16, code: &str, message: &str) -> SdkError<ServiceErr, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let raw = HttpResponse::new(
            StatusCode::try_from(status).expect("a status"),
            SdkBody::empty(),
        );
        SdkError::service_error(ServiceErr(meta), raw)
    }

    #[test]
    fn throttling_and_server_errors_are_retryable() {
        let e = task_error(
            "StartJobRun etl",
            &service(400, "ThrottlingException", "Rate exceeded"),
        );
        assert_eq!(
            e,
            TaskError::retryable("StartJobRun etl failed: ThrottlingException: Rate exceeded")
        );
        let e = task_error(
            "GetJobRun etl/jr_1",
            &service(500, "InternalServiceException", "oops"),
        );
        assert!(e.retryable, "{e}");
        // An unknown code is judged by its status.
        assert!(task_error("x", &service(503, "SomethingNew", "later")).retryable);
        assert!(task_error("x", &service(429, "SomethingNew", "slow down")).retryable);
    }

    #[test]
    fn refusals_are_fatal_and_name_the_code() {
        for (status, code) in [
            (403, "AccessDeniedException"),
            (403, "AccessDenied"),
            (400, "ValidationException"),
            (400, "ResourceNotFoundException"),
            (400, "EntityNotFoundException"),
            (404, "NoSuchBucket"),
        ] {
            let err = service(status, code, "no");
            let e = task_error("Call", &err);
            assert!(!e.retryable, "{code}: {e}");
            assert_eq!(e.message, format!("Call failed: {code}: no"));
            assert_eq!(super::code(&err), Some(code));
            assert_eq!(super::status(&err), Some(status));
        }
    }

    #[test]
    fn transport_errors_are_retryable_and_say_what_happened() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let err: SdkError<ServiceErr, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        let e = task_error("GetCrawler c", &err);
        assert!(e.retryable);
        assert!(e.message.contains("connection refused"), "{e}");
        assert_eq!(code(&err), None);
        assert_eq!(status(&err), None);
        let err: SdkError<ServiceErr, HttpResponse> =
            SdkError::timeout_error(Box::<dyn std::error::Error + Send + Sync>::from(
                "timed out",
            ));
        assert!(task_error("x", &err).retryable);
    }

    #[test]
    fn unreadable_answers_follow_their_status_and_unbuildable_requests_are_fatal() {
        let raw = |s: u16| {
            HttpResponse::new(StatusCode::try_from(s).expect("a status"), SdkBody::empty())
        };
        let err: SdkError<ServiceErr, HttpResponse> = SdkError::response_error(
            Box::<dyn std::error::Error + Send + Sync>::from("bad xml"),
            raw(502),
        );
        assert!(task_error("x", &err).retryable);
        let err: SdkError<ServiceErr, HttpResponse> = SdkError::response_error(
            Box::<dyn std::error::Error + Send + Sync>::from("bad xml"),
            raw(403),
        );
        let e = task_error("x", &err);
        assert!(!e.retryable);
        assert_eq!(e.message, "x failed: HTTP 403 Forbidden: access denied");
        // An answer the SDK could not read that still names its code keeps it.
        let xml = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: x is not \
                   authorized</Message></Error></ErrorResponse>";
        let err: SdkError<ServiceErr, HttpResponse> = SdkError::response_error(
            Box::<dyn std::error::Error + Send + Sync>::from("bad json"),
            HttpResponse::new(
                StatusCode::try_from(403).expect("a status"),
                SdkBody::from(xml),
            ),
        );
        assert_eq!(
            task_error("x", &err).message,
            "x failed: HTTP 403 Forbidden: AccessDenied"
        );
        assert_eq!(
            body_code(br#"{"__type":"com.amazonaws.glue#AccessDeniedException"}"#).as_deref(),
            Some("AccessDeniedException")
        );
        assert_eq!(body_code(b"<Code><script></Code>"), None);
        let err: SdkError<ServiceErr, HttpResponse> =
            SdkError::construction_failure(Box::<dyn std::error::Error + Send + Sync>::from(
                "bucket is required",
            ));
        let e = task_error("PutObject", &err);
        assert!(!e.retryable);
        assert!(e.message.contains("bucket is required"), "{e}");
    }
}
