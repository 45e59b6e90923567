//! `EventBridgePutEventsOperator`: PutEvents of `entries` (boto3's PutEventsRequestEntry
//! mappings). When the answer counts failed entries, each is logged and the task fails; else
//! XCom is the list of EventIds.

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_eventbridge::primitives::{DateTime, DateTimeFormat};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::{Map, Value, json};

/// The keys boto3 takes in one entry.
const ENTRY_KEYS: &[&str] = &[
    "Time",
    "Source",
    "Resources",
    "DetailType",
    "Detail",
    "EventBusName",
    "TraceHeader",
];

/// A configured `EventBridgePutEventsOperator`.
#[derive(Debug)]
pub struct EventBridgePutEventsOperator {
    aws: AwsParams,
    entries: Vec<PutEventsRequestEntry>,
    endpoint_id: Option<String>,
}

fn bad(index: usize, message: String) -> ParamError {
    ParamError::at(
        "entries",
        format!("EventBridgePutEventsOperator parameter `entries`, entry {index}: {message}"),
    )
}

/// One entry, as boto3 would take it. `Detail` may be written as a mapping (it is sent as its
/// JSON); `Time` is an ISO 8601 date-time or seconds since the epoch.
fn entry(index: usize, v: &Value, rendered: bool) -> Result<PutEventsRequestEntry, ParamError> {
    let Value::Object(m) = v else {
        return Err(bad(
            index,
            format!(
                "must be a mapping (Source, DetailType, Detail, EventBusName...), not {}",
                airtask_core::params::describe(v)
            ),
        ));
    };
    if let Some(k) = m.keys().find(|k| !ENTRY_KEYS.contains(&k.as_str())) {
        return Err(bad(
            index,
            format!(
                "unknown key `{k}`; the keys allowed are {}",
                ENTRY_KEYS.join(", ")
            ),
        ));
    }
    let text = |key: &str| -> Result<Option<String>, ParamError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(bad(
                index,
                format!(
                    "`{key}` must be a string, not {}",
                    airtask_core::params::describe(other)
                ),
            )),
        }
    };
    let detail = match m.get("Detail") {
        Some(d @ (Value::Object(_) | Value::Array(_))) => Some(d.to_string()),
        _ => text("Detail")?,
    };
    let resources = match m.get("Resources") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(bad(
                        index,
                        format!(
                            "`Resources` must be a list of ARNs; it holds {}",
                            airtask_core::params::describe(other)
                        ),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => {
            return Err(bad(
                index,
                format!(
                    "`Resources` must be a list of ARNs, not {}",
                    airtask_core::params::describe(other)
                ),
            ));
        }
    };
    let time = match m.get("Time") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64().map(DateTime::from_secs_f64),
        Some(Value::String(s)) if !rendered && airtask_core::params::is_template(s) => None,
        Some(Value::String(s)) => Some(DateTime::from_str(s, DateTimeFormat::DateTime).map_err(
            |_| {
                bad(
                    index,
                    format!(
                        "`Time` is '{s}', which is not an ISO 8601 date-time such as \
                         2025-03-09T12:00:00Z"
                    ),
                )
            },
        )?),
        Some(other) => {
            return Err(bad(
                index,
                format!(
                    "`Time` must be an ISO 8601 date-time or seconds since the epoch, not {}",
                    airtask_core::params::describe(other)
                ),
            ));
        }
    };
    Ok(PutEventsRequestEntry::builder()
        .set_time(time)
        .set_source(text("Source")?)
        .set_resources(resources)
        .set_detail_type(text("DetailType")?)
        .set_detail(detail)
        .set_event_bus_name(text("EventBusName")?)
        .set_trace_header(text("TraceHeader")?)
        .build())
}

impl Operator for EventBridgePutEventsOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eventbridge.EventBridgePutEventsOperator",
        aliases: &[],
        // The provider's `aws_template_fields(...)`: its own and the AWS ones, sorted.
        template_fields: &[
            "aws_conn_id",
            "endpoint_id",
            "entries",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let rendered = p.rendered();
        let entries = match p.list("entries")? {
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| entry(i, v, rendered))
                .collect::<Result<Vec<_>, _>>()?,
            None if !rendered && p.contains("entries") => Vec::new(),
            None => {
                return Err(ParamError::at(
                    "entries",
                    "EventBridgePutEventsOperator needs `entries`: the list of events to put, \
                     each a mapping with Source, DetailType, Detail and optionally \
                     EventBusName, Resources, Time, TraceHeader",
                ));
            }
        };
        let endpoint_id = p.str("endpoint_id")?;
        Ok(EventBridgePutEventsOperator {
            aws,
            entries,
            endpoint_id,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let events = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_eventbridge),
        )?;
        let out = events
            .put_events()
            .set_entries(Some(self.entries.clone()))
            .set_endpoint_id(self.endpoint_id.clone())
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error("PutEvents", &e))?;
        ctx.info(&format!(
            "Sent {} events to EventBridge.",
            self.entries.len()
        ));
        let failed = out.failed_entry_count();
        if failed > 0 {
            for e in out.entries() {
                if let Some(code) = e.error_code() {
                    let mut m = Map::new();
                    m.insert("ErrorCode".into(), json!(code));
                    if let Some(msg) = e.error_message() {
                        m.insert("ErrorMessage".into(), json!(msg));
                    }
                    ctx.error(&Value::Object(m).to_string());
                }
            }
            return Err(TaskError::retryable(format!(
                "{failed} entries in this request have failed to send."
            )));
        }
        let ids: Vec<Value> = out
            .entries()
            .iter()
            .map(|e| json!(e.event_id().unwrap_or_default()))
            .collect();
        Ok(Outcome::Success(Some(Value::Array(ids))))
    }

    /// PutEvents on the event bus of each entry (`EventBusName`, a name or an ARN; the
    /// default bus without one).
    fn permissions(&self) -> Vec<Permission> {
        let mut buses: Vec<String> = Vec::new();
        for e in &self.entries {
            let bus = match e.event_bus_name().filter(|b| !b.is_empty()) {
                Some(arn) if arn.starts_with("arn:") => arn.to_owned(),
                name => airtask_core::permissions::arn(
                    "events",
                    self.aws.region(),
                    &format!("event-bus/{}", name.unwrap_or("default")),
                ),
            };
            if !buses.contains(&bus) {
                buses.push(bus);
            }
        }
        if buses.is_empty() {
            buses.push(airtask_core::permissions::arn(
                "events",
                self.aws.region(),
                "event-bus/*",
            ));
        }
        vec![Permission::new(&["events:PutEvents"], buses)]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<EventBridgePutEventsOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EventBridgePutEventsOperator>(&p)
    }

    #[test]
    fn entries_are_read_as_boto3_takes_them() {
        let op = build(json!({"entries": [{
            "Source": "s", "DetailType": "t", "Detail": {"a": 1}, "EventBusName": "b",
            "Resources": ["arn:x"], "Time": "2025-03-09T12:00:00Z",
        }]}))
        .unwrap();
        let e = &op.entries[0];
        assert_eq!(e.detail(), Some("{\"a\":1}"));
        assert_eq!(e.resources(), ["arn:x"]);
        assert_eq!(e.time().map(|t| t.secs()), Some(1_741_521_600));
        for (entries, says) in [
            (json!(["x"]), "must be a mapping"),
            (
                json!([{"Source": "s", "Detail-Type": "t"}]),
                "unknown key `Detail-Type`",
            ),
            (json!([{"Source": 1}]), "`Source` must be a string"),
            (json!([{"Time": "yesterday"}]), "not an ISO 8601 date-time"),
            (json!([{"Resources": "arn"}]), "`Resources` must be a list"),
        ] {
            let e = build(json!({"entries": entries})).unwrap_err();
            assert_eq!(e.param(), Some("entries"));
            assert!(e.message().contains(says), "{}", e.message());
        }
        let e = build(json!({})).unwrap_err();
        assert!(e.message().contains("needs `entries`"), "{e}");
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::EventBridgePutEventsOperator;

    #[test]
    fn events_go_to_the_bus_of_each_entry() {
        let p: Params = json!({"entries": [
            {"Source": "s", "DetailType": "d", "Detail": "{}"},
            {"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": "orders"},
            {"Source": "s", "DetailType": "d", "Detail": "{}"},
        ]})
        .as_object()
        .cloned()
        .unwrap_or_default();
        assert_eq!(
            build_operator::<EventBridgePutEventsOperator>(&p)
                .expect("valid parameters")
                .permissions(),
            [Permission::new(
                &["events:PutEvents"],
                [
                    "arn:aws:events:{region}:{account}:event-bus/default",
                    "arn:aws:events:{region}:{account}:event-bus/orders",
                ]
            )]
        );
    }
}
