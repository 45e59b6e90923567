//! What an operator declares it needs from IAM ([`Permission`]), and the record of the AWS
//! calls a try really made ([`CallLog`]), which the runtime compares with the declaration when
//! `AIRTASK_CHECK_PERMISSIONS` is set (the test command sets it, so that every end-to-end test
//! of an operator also proves its declaration complete).
//!
//! Resources are ARN patterns. [`arn`] writes one in the task's partition, region and account,
//! which `airtask policy` fills in from its `--region` and `--account` flags (`*` without
//! them). A parameter that still holds a template widens to a wildcard there.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The placeholder [`arn`] writes for the region (filled in by `airtask policy`).
pub const REGION: &str = "{region}";
/// The placeholder [`arn`] writes for the account id (filled in by `airtask policy`).
pub const ACCOUNT: &str = "{account}";

/// One IAM statement a configured operator needs: these actions on these resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// IAM actions, `service:Action` (`glue:StartJobRun`).
    pub actions: Vec<&'static str>,
    /// Resource ARN patterns ([`arn`]), or `*` for actions that take no resource.
    pub resources: Vec<String>,
}

impl Permission {
    /// `actions` on `resources`.
    pub fn new<R: Into<String>>(
        actions: &[&'static str],
        resources: impl IntoIterator<Item = R>,
    ) -> Permission {
        Permission {
            actions: actions.to_vec(),
            resources: resources.into_iter().map(Into::into).collect(),
        }
    }

    /// `actions` on every resource (`*`): for actions IAM does not scope to a resource
    /// (`ec2:DescribeInstances`, `sts:GetCallerIdentity`) or whose resource no parameter names.
    pub fn on_any(actions: &[&'static str]) -> Permission {
        Permission::new(actions, ["*"])
    }
}

/// An ARN of `service` in the task's partition, region (or `region`, the operator's
/// `region_name`) and account: `arn:aws:glue:{region}:{account}:job/NAME`.
pub fn arn(service: &str, region: Option<&str>, resource: &str) -> String {
    format!(
        "arn:aws:{service}:{}:{ACCOUNT}:{resource}",
        region.unwrap_or(REGION)
    )
}

/// An ARN of a global resource, without region and account: `arn:aws:s3:::bucket/key`.
pub fn global_arn(service: &str, resource: &str) -> String {
    format!("arn:aws:{service}:::{resource}")
}

/// The IAM actions a try called, as recorded by the SDK clients the operator built (see
/// `airtask_aws::client`). Cheap to clone: clones share the record.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<BTreeSet<String>>>);

impl CallLog {
    /// Records one call's IAM action (`glue:GetJobRun`).
    pub fn record(&self, action: String) {
        if let Ok(mut calls) = self.0.lock() {
            calls.insert(action);
        }
    }

    /// Every action recorded so far, sorted, each once.
    pub fn actions(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Whether `pattern` (an IAM action or resource pattern: `*` matches any run of characters,
/// `?` one character; actions compare without regard to case, as IAM does) matches `value`.
pub fn matches(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('*', rest)) => (0..=v.len()).any(|i| go(rest, &v[i..])),
            Some(('?', rest)) => !v.is_empty() && go(rest, &v[1..]),
            Some((c, rest)) => v.first() == Some(c) && go(rest, &v[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    go(&p, &v)
}

/// The recorded `calls` that no action of `declared` covers (IAM actions compare without
/// regard to case).
pub fn undeclared(calls: &[String], declared: &[Permission]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| {
            let c = c.to_ascii_lowercase();
            !declared
                .iter()
                .flat_map(|p| p.actions.iter())
                .any(|a| matches(&a.to_ascii_lowercase(), &c))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_carry_placeholders_or_the_region_asked_for() {
        assert_eq!(
            arn("glue", None, "job/etl"),
            "arn:aws:glue:{region}:{account}:job/etl"
        );
        assert_eq!(
            arn("glue", Some("eu-west-1"), "job/etl"),
            "arn:aws:glue:eu-west-1:{account}:job/etl"
        );
        assert_eq!(global_arn("s3", "b/k"), "arn:aws:s3:::b/k");
    }

    #[test]
    fn wildcards_match_as_iam_matches() {
        assert!(matches("s3:Get*", "s3:GetObject"));
        assert!(matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c"));
        assert!(!matches("arn:aws:s3:::b/*", "arn:aws:s3:::c/a"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*", ""));
    }

    #[test]
    fn undeclared_calls_are_reported() {
        let log = CallLog::default();
        log.record("glue:StartJobRun".into());
        log.record("glue:GetJobRun".into());
        log.record("glue:StartJobRun".into());
        assert_eq!(log.actions(), ["glue:GetJobRun", "glue:StartJobRun"]);
        let declared = [Permission::new(&["glue:StartJobRun"], ["*"])];
        assert_eq!(undeclared(&log.actions(), &declared), ["glue:GetJobRun"]);
        let declared = [Permission::on_any(&["Glue:*"])];
        assert!(undeclared(&log.actions(), &declared).is_empty());
    }
}
