//! `cloudformation_parameters`: the keyword arguments the provider passes to boto3's
//! `create_stack` / `delete_stack`, read and checked as boto3's parameter validation checks
//! them (unknown keys, wrong types and unknown enumerated values are refused, naming the key
//! and what is allowed). While validating an unrendered definition, a value holding a template
//! passes wherever its rendering may fit.

use airtask_core::params::{describe, is_template};
use airtask_core::{ParamError, ParamReader};
use aws_sdk_cloudformation::types::{
    Capability, DeletionMode, OnFailure, Parameter, RollbackConfiguration, RollbackTrigger, Tag,
};
use serde_json::{Map, Value};

/// The parameter every key is read from.
const PARAM: &str = "cloudformation_parameters";

/// The keys boto3 accepts in `create_stack`.
pub(crate) const CREATE_KEYS: &[&str] = &[
    "StackName",
    "TemplateBody",
    "TemplateURL",
    "Parameters",
    "DisableRollback",
    "RollbackConfiguration",
    "TimeoutInMinutes",
    "NotificationARNs",
    "Capabilities",
    "ResourceTypes",
    "RoleARN",
    "OnFailure",
    "StackPolicyBody",
    "StackPolicyURL",
    "Tags",
    "ClientRequestToken",
    "EnableTerminationProtection",
    "RetainExceptOnCreate",
];

/// The keys boto3 accepts in `delete_stack`.
pub(crate) const DELETE_KEYS: &[&str] = &[
    "StackName",
    "RetainResources",
    "RoleARN",
    "ClientRequestToken",
    "DeletionMode",
];

const CAPABILITIES: &[&str] = &[
    "CAPABILITY_IAM",
    "CAPABILITY_NAMED_IAM",
    "CAPABILITY_AUTO_EXPAND",
];
const ON_FAILURE: &[&str] = &["DO_NOTHING", "ROLLBACK", "DELETE"];
const DELETION_MODES: &[&str] = &["STANDARD", "FORCE_DELETE_STACK"];

/// A mapping of keyword arguments being read: the operator's name for messages, and whether
/// the values are rendered.
struct Kw<'a> {
    operator: &'static str,
    rendered: bool,
    map: &'a Map<String, Value>,
}

impl<'a> Kw<'a> {
    fn bad(&self, key: &str, message: String) -> ParamError {
        ParamError::at(
            PARAM,
            format!("{} parameter `{PARAM}.{key}`: {message}", self.operator),
        )
    }

    /// The value of `key`; `None` when absent or null, and (unrendered) when it is a template
    /// whose rendering only a try can know.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map
            .get(key)
            .filter(|v| !v.is_null())
            .filter(|v| self.rendered || !matches!(v, Value::String(s) if is_template(s)))
    }

    fn only(&self, allowed: &[&str]) -> Result<(), ParamError> {
        if let Some(k) = self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(self.bad(
                k,
                format!(
                    "`{k}` is not a setting of this call; the keys allowed are {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(())
    }

    fn str(&self, key: &str) -> Result<Option<String>, ParamError> {
        match self.map.get(key).filter(|v| !v.is_null()) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.bad(key, format!("must be a string, not {}", describe(other)))),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "True" || s == "true" => Ok(Some(true)),
            Some(Value::String(s)) if s == "False" || s == "false" => Ok(Some(false)),
            Some(other) => Err(self.bad(
                key,
                format!("must be true or false, not {}", describe(other)),
            )),
        }
    }

    /// A whole number of at least `min` (a number, or the digits a rendered template gives).
    fn int(&self, key: &str, min: i64) -> Result<Option<i32>, ParamError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n.filter(|n| *n >= min).and_then(|n| i32::try_from(n).ok()) {
            Some(n) => Ok(Some(n)),
            None => Err(self.bad(
                key,
                format!("must be a whole number, {min} or more, not {}", describe(v)),
            )),
        }
    }

    /// A list of strings (a single string is refused, as boto3 refuses it).
    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, ParamError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let wrong = || {
            self.bad(
                key,
                format!("must be a list of strings, not {}", describe(v)),
            )
        };
        let Value::Array(items) = v else {
            return Err(wrong());
        };
        items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(wrong()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A list of strings each one of `allowed`.
    fn enums(&self, key: &str, allowed: &[&str]) -> Result<Option<Vec<String>>, ParamError> {
        let Some(items) = self.strings(key)? else {
            return Ok(None);
        };
        for item in &items {
            self.check_enum(key, item, allowed)?;
        }
        Ok(Some(items))
    }

    fn check_enum(&self, key: &str, value: &str, allowed: &[&str]) -> Result<(), ParamError> {
        if allowed.contains(&value) || (!self.rendered && is_template(value)) {
            return Ok(());
        }
        Err(self.bad(
            key,
            format!(
                "'{value}' is not allowed; it must be one of {}",
                allowed.join(", ")
            ),
        ))
    }

    /// A string that must be one of `allowed`.
    fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<String>, ParamError> {
        let Some(value) = self.str(key)? else {
            return Ok(None);
        };
        self.check_enum(key, &value, allowed)?;
        Ok(Some(value))
    }

    /// A list of mappings, each read by `item` (with its own key reader).
    fn list_of<T>(
        &self,
        key: &str,
        allowed: &[&str],
        mut item: impl FnMut(&Kw<'a>) -> Result<T, ParamError>,
    ) -> Result<Option<Vec<T>>, ParamError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let wrong = |found: &Value| {
            self.bad(
                key,
                format!(
                    "must be a list of mappings with the keys {}, not {}",
                    allowed.join(", "),
                    describe(found)
                ),
            )
        };
        let Value::Array(items) = v else {
            return Err(wrong(v));
        };
        items
            .iter()
            .filter_map(|i| match i {
                Value::Object(m) => {
                    let kw = self.nested(m);
                    Some(kw.only(allowed).and_then(|()| item(&kw)))
                }
                // One whole entry rendered from a template: only its rendering can say.
                Value::String(s) if !self.rendered && is_template(s) => None,
                other => Some(Err(wrong(other))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A reader of a mapping nested in this one.
    fn nested(&self, m: &'a Map<String, Value>) -> Kw<'a> {
        Kw {
            operator: self.operator,
            rendered: self.rendered,
            map: m,
        }
    }
}

/// What `CreateStack` is called with, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CreateArgs {
    /// `StackName` when the mapping gives one (it wins over `stack_name`).
    pub(crate) stack_name: Option<String>,
    pub(crate) template_body: Option<String>,
    pub(crate) template_url: Option<String>,
    pub(crate) parameters: Option<Vec<Parameter>>,
    pub(crate) disable_rollback: Option<bool>,
    pub(crate) rollback_configuration: Option<RollbackConfiguration>,
    pub(crate) timeout_in_minutes: Option<i32>,
    pub(crate) notification_arns: Option<Vec<String>>,
    pub(crate) capabilities: Option<Vec<Capability>>,
    pub(crate) resource_types: Option<Vec<String>>,
    pub(crate) role_arn: Option<String>,
    pub(crate) on_failure: Option<OnFailure>,
    pub(crate) stack_policy_body: Option<String>,
    pub(crate) stack_policy_url: Option<String>,
    pub(crate) tags: Option<Vec<Tag>>,
    pub(crate) client_request_token: Option<String>,
    pub(crate) enable_termination_protection: Option<bool>,
    pub(crate) retain_except_on_create: Option<bool>,
}

/// What `DeleteStack` is called with, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DeleteArgs {
    /// `StackName` when the mapping gives one (it wins over `stack_name`).
    pub(crate) stack_name: Option<String>,
    pub(crate) retain_resources: Option<Vec<String>>,
    pub(crate) role_arn: Option<String>,
    pub(crate) client_request_token: Option<String>,
    pub(crate) deletion_mode: Option<DeletionMode>,
}

/// The mapping `cloudformation_parameters` as given: `Ok(None)` when absent, or (unrendered)
/// when the whole mapping is a template.
fn mapping<'a>(p: &mut ParamReader<'a>) -> Result<Option<&'a Map<String, Value>>, ParamError> {
    match p.value(PARAM) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(Value::String(s)) if p.is_templated(s) => Ok(None),
        Some(other) => Err(ParamError::at(
            PARAM,
            format!(
                "{} parameter `{PARAM}` must be a mapping of CloudFormation settings, not {}",
                p.operator(),
                describe(other)
            ),
        )),
    }
}

/// Reads `cloudformation_parameters` of `CloudFormationCreateStackOperator` (required, as in
/// the provider; a template that only a try can render passes validation).
///
/// # Errors
/// The parameter missing or not a mapping, an unknown key, a value of the wrong type, an
/// unknown capability or `OnFailure`.
pub(crate) fn create(p: &mut ParamReader<'_>) -> Result<CreateArgs, ParamError> {
    let templated = matches!(p.value(PARAM), Some(Value::String(s)) if p.is_templated(s));
    let Some(map) = mapping(p)? else {
        if templated {
            return Ok(CreateArgs::default());
        }
        return Err(ParamError::at(
            PARAM,
            format!(
                "{} needs `{PARAM}`: a mapping of CreateStack settings (TemplateBody or \
                 TemplateURL, Parameters, Capabilities...)",
                p.operator()
            ),
        ));
    };
    let kw = Kw {
        operator: p.operator(),
        rendered: p.rendered(),
        map,
    };
    kw.only(CREATE_KEYS)?;
    let parameters = kw.list_of(
        "Parameters",
        &[
            "ParameterKey",
            "ParameterValue",
            "UsePreviousValue",
            "ResolvedValue",
        ],
        |e| {
            Ok(Parameter::builder()
                .set_parameter_key(e.str("ParameterKey")?)
                .set_parameter_value(e.str("ParameterValue")?)
                .set_use_previous_value(e.bool("UsePreviousValue")?)
                .set_resolved_value(e.str("ResolvedValue")?)
                .build())
        },
    )?;
    let tags = kw.list_of("Tags", &["Key", "Value"], |e| {
        Ok(Tag::builder()
            .set_key(e.str("Key")?)
            .set_value(e.str("Value")?)
            .build())
    })?;
    let rollback_configuration = match kw.get("RollbackConfiguration") {
        None => None,
        Some(Value::Object(m)) => {
            let rc = kw.nested(m);
            rc.only(&["RollbackTriggers", "MonitoringTimeInMinutes"])?;
            let triggers = rc.list_of("RollbackTriggers", &["Arn", "Type"], |t| {
                Ok(RollbackTrigger::builder()
                    .set_arn(t.str("Arn")?)
                    .set_type(t.str("Type")?)
                    .build())
            })?;
            Some(
                RollbackConfiguration::builder()
                    .set_rollback_triggers(triggers)
                    .set_monitoring_time_in_minutes(rc.int("MonitoringTimeInMinutes", 0)?)
                    .build(),
            )
        }
        Some(other) => {
            return Err(kw.bad(
                "RollbackConfiguration",
                format!(
                    "must be a mapping with RollbackTriggers and MonitoringTimeInMinutes, not {}",
                    describe(other)
                ),
            ));
        }
    };
    Ok(CreateArgs {
        stack_name: kw.str("StackName")?,
        template_body: kw.str("TemplateBody")?,
        template_url: kw.str("TemplateURL")?,
        parameters,
        disable_rollback: kw.bool("DisableRollback")?,
        rollback_configuration,
        timeout_in_minutes: kw.int("TimeoutInMinutes", 1)?,
        notification_arns: kw.strings("NotificationARNs")?,
        capabilities: kw
            .enums("Capabilities", CAPABILITIES)?
            .map(|c| c.iter().map(|c| Capability::from(c.as_str())).collect()),
        resource_types: kw.strings("ResourceTypes")?,
        role_arn: kw.str("RoleARN")?,
        on_failure: kw
            .one_of("OnFailure", ON_FAILURE)?
            .map(|o| OnFailure::from(o.as_str())),
        stack_policy_body: kw.str("StackPolicyBody")?,
        stack_policy_url: kw.str("StackPolicyURL")?,
        tags,
        client_request_token: kw.str("ClientRequestToken")?,
        enable_termination_protection: kw.bool("EnableTerminationProtection")?,
        retain_except_on_create: kw.bool("RetainExceptOnCreate")?,
    })
}

/// Reads `cloudformation_parameters` of `CloudFormationDeleteStackOperator` (optional).
///
/// # Errors
/// Not a mapping, an unknown key, a value of the wrong type, an unknown `DeletionMode`.
pub(crate) fn delete(p: &mut ParamReader<'_>) -> Result<DeleteArgs, ParamError> {
    let Some(map) = mapping(p)? else {
        return Ok(DeleteArgs::default());
    };
    let kw = Kw {
        operator: p.operator(),
        rendered: p.rendered(),
        map,
    };
    kw.only(DELETE_KEYS)?;
    Ok(DeleteArgs {
        stack_name: kw.str("StackName")?,
        retain_resources: kw.strings("RetainResources")?,
        role_arn: kw.str("RoleARN")?,
        client_request_token: kw.str("ClientRequestToken")?,
        deletion_mode: kw
            .one_of("DeletionMode", DELETION_MODES)?
            .map(|d| DeletionMode::from(d.as_str())),
    })
}

/// The mapping as the provider's log line shows it, with every `ParameterValue` masked: stack
/// parameters carry passwords often enough (NoEcho parameters) that airtask never logs them.
pub(crate) fn shown(map: Option<&Map<String, Value>>) -> String {
    let Some(map) = map else {
        return "{}".to_owned();
    };
    let mut shown = map.clone();
    if let Some(Value::Array(items)) = shown.get_mut("Parameters") {
        for item in items {
            if let Value::Object(m) = item
                && m.contains_key("ParameterValue")
            {
                m.insert("ParameterValue".into(), Value::String("***".into()));
            }
        }
    }
    Value::Object(shown).to_string()
}

#[cfg(test)]
mod tests {
    use airtask_core::Params;
    use serde_json::json;

    use super::*;

    fn create_of(v: Value, rendered: bool) -> Result<CreateArgs, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        let mut r = if rendered {
            ParamReader::new("CloudFormationCreateStackOperator", &p)
        } else {
            ParamReader::unrendered("CloudFormationCreateStackOperator", &p)
        };
        create(&mut r)
    }

    #[test]
    fn create_settings_are_typed_and_checked() {
        let a = create_of(
            json!({"cloudformation_parameters": {
                "StackName": "s",
                "TemplateBody": "{}",
                "TimeoutInMinutes": 2,
                "OnFailure": "DELETE",
                "Capabilities": ["CAPABILITY_IAM"],
                "Parameters": [{"ParameterKey": "K", "ParameterValue": "V"}],
                "Tags": [{"Key": "team", "Value": "data"}],
                "DisableRollback": false,
                "RollbackConfiguration": {"MonitoringTimeInMinutes": 5,
                    "RollbackTriggers": [{"Arn": "arn:x", "Type": "AWS::CloudWatch::Alarm"}]},
            }}),
            true,
        )
        .unwrap();
        assert_eq!(a.stack_name.as_deref(), Some("s"));
        assert_eq!(a.timeout_in_minutes, Some(2));
        assert_eq!(a.on_failure, Some(OnFailure::Delete));
        assert_eq!(a.capabilities, Some(vec![Capability::CapabilityIam]));
        assert_eq!(
            a.parameters.as_ref().and_then(|p| p[0].parameter_value()),
            Some("V")
        );
        assert_eq!(a.tags.as_ref().and_then(|t| t[0].key()), Some("team"));
        assert_eq!(
            a.rollback_configuration
                .as_ref()
                .and_then(|r| r.monitoring_time_in_minutes()),
            Some(5)
        );
    }

    #[test]
    fn create_refuses_what_boto3_refuses() {
        let e = create_of(json!({}), true).unwrap_err();
        assert!(
            e.message().contains("needs `cloudformation_parameters`"),
            "{e}"
        );
        let e = create_of(
            json!({"cloudformation_parameters": {"TemplateBdy": "x"}}),
            true,
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("cloudformation_parameters"));
        assert!(
            e.message().contains("`TemplateBdy` is not a setting")
                && e.message().contains("TemplateBody, TemplateURL"),
            "{e}"
        );
        let e = create_of(
            json!({"cloudformation_parameters": {"Capabilities": ["CAPABILITY_ALL"]}}),
            true,
        )
        .unwrap_err();
        assert!(e.message().contains("CAPABILITY_NAMED_IAM"), "{e}");
        let e = create_of(
            json!({"cloudformation_parameters": {"TimeoutInMinutes": 0}}),
            true,
        )
        .unwrap_err();
        assert!(e.message().contains("1 or more"), "{e}");
        let e = create_of(
            json!({"cloudformation_parameters": {"Parameters": [{"Key": "a"}]}}),
            true,
        )
        .unwrap_err();
        assert!(e.message().contains("`Key` is not a setting"), "{e}");
        let e = create_of(json!({"cloudformation_parameters": "x"}), true).unwrap_err();
        assert!(e.message().contains("must be a mapping"), "{e}");
    }

    #[test]
    fn unrendered_templates_pass_validation() {
        let a = create_of(
            json!({"cloudformation_parameters": {
                "StackName": "{{ params.stack_name }}",
                "TimeoutInMinutes": "{{ params.t }}",
                "OnFailure": "{{ params.on_failure }}",
                "Parameters": ["{{ params.p }}"],
            }}),
            false,
        )
        .unwrap();
        assert_eq!(a.timeout_in_minutes, None);
        assert!(
            create_of(
                json!({"cloudformation_parameters": "{{ params.cfn }}"}),
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn delete_settings_and_the_masked_log_line() {
        let p: Params = json!({"cloudformation_parameters": {"RetainResources": ["B"], "DeletionMode": "FORCE_DELETE_STACK"}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let d = delete(&mut ParamReader::new(
            "CloudFormationDeleteStackOperator",
            &p,
        ))
        .unwrap();
        assert_eq!(d.deletion_mode, Some(DeletionMode::ForceDeleteStack));
        assert_eq!(d.retain_resources, Some(vec!["B".to_owned()]));
        let p: Params = json!({"cloudformation_parameters": {"DeletionMode": "FAST"}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let e = delete(&mut ParamReader::new(
            "CloudFormationDeleteStackOperator",
            &p,
        ))
        .unwrap_err();
        assert!(e.message().contains("STANDARD, FORCE_DELETE_STACK"), "{e}");
        let m = json!({"StackName": "s", "Parameters": [{"ParameterKey": "Pw", "ParameterValue": "hunter2"}]});
        let line = shown(m.as_object());
        assert!(!line.contains("hunter2") && line.contains("***"), "{line}");
    }
}
