//! `EventBridgePutRuleOperator` (PutRule; XCom is the answer with the RuleArn),
//! `EventBridgeEnableRuleOperator` and `EventBridgeDisableRuleOperator` (EnableRule,
//! DisableRule; no XCom).

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_eventbridge::types::{RuleState, Tag};
use serde_json::{Value, json};

/// A configured `EventBridgePutRuleOperator`.
#[derive(Debug)]
pub struct EventBridgePutRuleOperator {
    aws: AwsParams,
    name: String,
    description: Option<String>,
    event_bus_name: Option<String>,
    event_pattern: Option<String>,
    role_arn: Option<String>,
    schedule_expression: Option<String>,
    state: Option<String>,
    tags: Vec<Tag>,
}

const PUT_RULE: &str = "EventBridgePutRuleOperator";

/// The ARN of the rule `name` on the event bus `bus` (a name or an ARN; the default bus
/// without one), in the operator's region.
fn rule_arn(aws: &AwsParams, bus: Option<&str>, name: &str) -> String {
    let bus = bus
        .map(|b| b.rsplit('/').next().unwrap_or(b))
        .filter(|b| !b.is_empty() && *b != "default");
    let resource = match bus {
        Some(b) => format!("rule/{b}/{name}"),
        None => format!("rule/{name}"),
    };
    airtask_core::permissions::arn("events", aws.region(), &resource)
}

fn bad(name: &str, message: String) -> ParamError {
    ParamError::at(
        name.to_owned(),
        format!("{PUT_RULE} parameter `{name}`: {message}"),
    )
}

/// `tags`: boto3's list of `{Key, Value}` mappings.
fn tags(v: Option<&Vec<Value>>) -> Result<Vec<Tag>, ParamError> {
    let Some(items) = v else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|t| {
            let m = t.as_object().ok_or_else(|| {
                bad(
                    "tags",
                    format!(
                        "each tag must be a mapping {{Key: ..., Value: ...}}, not {}",
                        airtask_core::params::describe(t)
                    ),
                )
            })?;
            if let Some(k) = m.keys().find(|k| *k != "Key" && *k != "Value") {
                return Err(bad(
                    "tags",
                    format!("unknown key `{k}` in a tag; a tag has Key and Value"),
                ));
            }
            let get = |key: &str| match m.get(key) {
                Some(Value::String(s)) => Ok(s.clone()),
                other => Err(bad(
                    "tags",
                    format!(
                        "a tag's {key} must be a string, not {}",
                        other.map_or("nothing".to_owned(), airtask_core::params::describe)
                    ),
                )),
            };
            Tag::builder()
                .key(get("Key")?)
                .value(get("Value")?)
                .build()
                .map_err(|e| bad("tags", e.to_string()))
        })
        .collect()
}

impl Operator for EventBridgePutRuleOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eventbridge.EventBridgePutRuleOperator",
        aliases: &[],
        // The provider's `aws_template_fields(...)`: its own and the AWS ones, sorted.
        template_fields: &[
            "aws_conn_id",
            "description",
            "event_bus_name",
            "event_pattern",
            "name",
            "region_name",
            "role_arn",
            "schedule_expression",
            "state",
            "tags",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let name = p.required_str("name", "the name of the rule to create or update")?;
        let description = p.str("description")?;
        let event_bus_name = p.str("event_bus_name")?;
        // A mapping is the pattern's JSON (the provider takes only the JSON text).
        let event_pattern = match p.value("event_pattern") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v @ Value::Object(_)) => Some(v.to_string()),
            Some(other) => {
                return Err(bad(
                    "event_pattern",
                    format!(
                        "must be the pattern's JSON text (or a mapping written as YAML), not {}",
                        airtask_core::params::describe(other)
                    ),
                ));
            }
        };
        let role_arn = p.str("role_arn")?;
        let schedule_expression = p.str("schedule_expression")?;
        let state = p.str("state")?;
        let tags = tags(p.list("tags")?)?;
        // The hook's checks; "one of" only on rendered values (a template may give either).
        if p.rendered()
            && event_pattern.as_deref().is_none_or(str::is_empty)
            && schedule_expression.as_deref().is_none_or(str::is_empty)
        {
            return Err(bad(
                "event_pattern",
                "one of `event_pattern` or `schedule_expression` is required in order to put or \
                 update the rule"
                    .to_owned(),
            ));
        }
        if let Some(s) = &state
            && !s.is_empty()
            && !p.is_templated(s)
            && s != "ENABLED"
            && s != "DISABLED"
        {
            return Err(bad(
                "state",
                format!("is '{s}'; it must be ENABLED or DISABLED"),
            ));
        }
        if let Some(pattern) = &event_pattern
            && !pattern.is_empty()
            && !p.is_templated(pattern)
            && serde_json::from_str::<Value>(pattern).is_err()
        {
            return Err(bad(
                "event_pattern",
                format!("must be a valid JSON string; '{pattern}' is not JSON"),
            ));
        }
        Ok(EventBridgePutRuleOperator {
            aws,
            name,
            description,
            event_bus_name,
            event_pattern: event_pattern.filter(|s| !s.is_empty()),
            role_arn,
            schedule_expression: schedule_expression.filter(|s| !s.is_empty()),
            state: state.filter(|s| !s.is_empty()),
            tags,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let events = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_eventbridge),
        )?;
        ctx.info(&format!("Sending rule \"{}\" to EventBridge.", self.name));
        let out = events
            .put_rule()
            .name(&self.name)
            .set_description(self.description.clone())
            .set_event_bus_name(self.event_bus_name.clone())
            .set_event_pattern(self.event_pattern.clone())
            .set_role_arn(self.role_arn.clone())
            .set_schedule_expression(self.schedule_expression.clone())
            .set_state(self.state.as_deref().map(RuleState::from))
            .set_tags(Some(self.tags.clone()).filter(|t| !t.is_empty()))
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("PutRule {}", self.name), &e))?;
        Ok(Outcome::Success(Some(
            json!({"RuleArn": out.rule_arn().unwrap_or_default()}),
        )))
    }

    /// PutRule on the rule, and `iam:PassRole` on `role_arn`.
    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![Permission::new(
            &["events:PutRule"],
            [rule_arn(
                &self.aws,
                self.event_bus_name.as_deref(),
                &self.name,
            )],
        )];
        if let Some(role) = &self.role_arn {
            out.push(Permission::new(&["iam:PassRole"], [role.clone()]));
        }
        out
    }
}

/// What EnableRule and DisableRule share.
#[derive(Debug)]
struct RuleTarget {
    aws: AwsParams,
    name: String,
    event_bus_name: Option<String>,
}

impl RuleTarget {
    fn read(p: &mut ParamReader<'_>) -> Result<RuleTarget, ParamError> {
        Ok(RuleTarget {
            aws: AwsParams::read(p)?,
            name: p.required_str("name", "the name of the rule")?,
            event_bus_name: p.str("event_bus_name")?,
        })
    }

    /// EnableRule (`enable`) or DisableRule.
    /// `action` on the rule.
    fn permissions(&self, action: &'static str) -> Vec<Permission> {
        vec![Permission::new(
            &[action],
            [rule_arn(
                &self.aws,
                self.event_bus_name.as_deref(),
                &self.name,
            )],
        )]
    }

    async fn set(&self, ctx: &TaskContext, enable: bool) -> Result<Outcome, TaskError> {
        let events = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_eventbridge),
        )?;
        let (call, done) = if enable {
            let r = events
                .enable_rule()
                .name(&self.name)
                .set_event_bus_name(self.event_bus_name.clone())
                .send()
                .await;
            (
                r.map(|_| ()).map_err(|e| {
                    airtask_aws::error::task_error(&format!("EnableRule {}", self.name), &e)
                }),
                "Enabled",
            )
        } else {
            let r = events
                .disable_rule()
                .name(&self.name)
                .set_event_bus_name(self.event_bus_name.clone())
                .send()
                .await;
            (
                r.map(|_| ()).map_err(|e| {
                    airtask_aws::error::task_error(&format!("DisableRule {}", self.name), &e)
                }),
                "Disabled",
            )
        };
        call?;
        ctx.info(&format!("{done} rule \"{}\"", self.name));
        Ok(Outcome::Success(None))
    }
}

/// A configured `EventBridgeEnableRuleOperator`.
#[derive(Debug)]
pub struct EventBridgeEnableRuleOperator(RuleTarget);

/// A configured `EventBridgeDisableRuleOperator`.
#[derive(Debug)]
pub struct EventBridgeDisableRuleOperator(RuleTarget);

impl Operator for EventBridgeEnableRuleOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eventbridge.EventBridgeEnableRuleOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "event_bus_name",
            "name",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        RuleTarget::read(p).map(EventBridgeEnableRuleOperator)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.set(ctx, true).await
    }

    /// EnableRule on the rule.
    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions("events:EnableRule")
    }
}

impl Operator for EventBridgeDisableRuleOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eventbridge.EventBridgeDisableRuleOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "event_bus_name",
            "name",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        RuleTarget::read(p).map(EventBridgeDisableRuleOperator)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.set(ctx, false).await
    }

    /// DisableRule on the rule.
    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions("events:DisableRule")
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<EventBridgePutRuleOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EventBridgePutRuleOperator>(&p)
    }

    #[test]
    fn the_hook_checks_are_made() {
        let op = build(json!({"name": "r", "event_pattern": {"source": ["a"]}, "state": "DISABLED", "tags": [{"Key": "k", "Value": "v"}]}))
            .unwrap();
        assert_eq!(op.event_pattern.as_deref(), Some("{\"source\":[\"a\"]}"));
        assert_eq!(op.tags.len(), 1);
        for (params, param, says) in [
            (
                json!({"name": "r"}),
                "event_pattern",
                "one of `event_pattern` or `schedule_expression`",
            ),
            (
                json!({"name": "r", "event_pattern": "{x"}),
                "event_pattern",
                "valid JSON string",
            ),
            (
                json!({"name": "r", "schedule_expression": "rate(1 day)", "state": "ON"}),
                "state",
                "ENABLED or DISABLED",
            ),
            (
                json!({"name": "r", "schedule_expression": "rate(1 day)", "tags": [{"Key": "k"}]}),
                "tags",
                "Value must be a string",
            ),
        ] {
            let e = build(params).unwrap_err();
            assert_eq!(e.param(), Some(param));
            assert!(e.message().contains(says), "{}", e.message());
        }
    }

    #[test]
    fn enable_and_disable_need_a_name() {
        let p: Params = json!({"event_bus_name": "b"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let e = build_operator::<EventBridgeEnableRuleOperator>(&p).unwrap_err();
        assert!(e.message().contains("needs `name`"), "{e}");
        let p: Params = json!({"name": "r"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(build_operator::<EventBridgeDisableRuleOperator>(&p).is_ok());
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::{EventBridgeDisableRuleOperator, EventBridgePutRuleOperator};

    fn params(v: serde_json::Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn rules_on_the_default_and_a_custom_bus() {
        let role = "arn:aws:iam::1:role/events";
        let put = build_operator::<EventBridgePutRuleOperator>(&params(json!({
            "name": "r", "schedule_expression": "rate(1 day)", "role_arn": role,
        })))
        .expect("valid parameters");
        assert_eq!(
            put.permissions(),
            [
                Permission::new(
                    &["events:PutRule"],
                    ["arn:aws:events:{region}:{account}:rule/r"]
                ),
                Permission::new(&["iam:PassRole"], [role]),
            ]
        );
        let disable = build_operator::<EventBridgeDisableRuleOperator>(&params(
            json!({"name": "r", "event_bus_name": "orders"}),
        ))
        .expect("valid parameters");
        assert_eq!(
            disable.permissions(),
            [Permission::new(
                &["events:DisableRule"],
                ["arn:aws:events:{region}:{account}:rule/orders/r"]
            )]
        );
    }
}
