//! What the ECS and Batch operator crates share:
//! - [`raw`]: requests whose JSON body is the provider's boto3 keyword arguments, and answers
//!   read as JSON (as boto3 returns them), through the AWS SDK (signing, retries, the call
//!   record of `AIRTASK_CHECK_PERMISSIONS`);
//! - [`shapes`]: botocore's parameter validation of those arguments, from the botocore model;
//! - [`logs`]: the provider's CloudWatch task log fetcher;
//! - small helpers for permissions and the provider's link XComs.

pub mod logs;
pub mod raw;
pub mod shapes;

use airtask_core::Permission;
use airtask_core::permissions::arn;

pub use raw::{RawJson, trim_none};
pub use shapes::Shapes;

/// The ARN of an IAM role given by name or ARN.
pub fn role_arn(role: &str) -> String {
    if role.starts_with("arn:") {
        role.to_owned()
    } else {
        arn("iam", Some(""), &format!("role/{role}"))
    }
}

/// `iam:PassRole` on `roles` (names or ARNs); none when there are none.
pub fn pass_roles<'a>(roles: impl IntoIterator<Item = &'a str>) -> Option<Permission> {
    let arns: Vec<String> = roles.into_iter().map(role_arn).collect();
    (!arns.is_empty()).then(|| Permission::new(&["iam:PassRole"], arns))
}

/// The values of the members named `keys` anywhere in `v` (the role ARNs of a request:
/// `taskRoleArn`, `executionRoleArn`, `serviceRole`...), each once, in the order found.
pub fn strings_named<'a>(v: &'a serde_json::Value, keys: &[&str]) -> Vec<&'a str> {
    fn walk<'a>(v: &'a serde_json::Value, keys: &[&str], out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, item) in m {
                    if keys.contains(&k.as_str())
                        && let Some(s) = item.as_str()
                    {
                        if !out.contains(&s) {
                            out.push(s);
                        }
                    } else {
                        walk(item, keys, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, keys, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, keys, &mut out);
    out
}

/// The console domain of the partition a region is in (the links' `get_aws_domain`).
pub fn aws_domain(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.cn"
    } else if region.starts_with("us-gov-") {
        "amazonaws-us-gov.com"
    } else {
        "aws.amazon.com"
    }
}

/// A JSON value as one log line (the provider logs the dicts boto3 returns).
pub fn show(v: &serde_json::Value) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_are_found_and_named_by_arn() {
        let v = json!({"taskRoleArn": "r1", "containerOverrides": [{"executionRoleArn": "arn:aws:iam::1:role/r2"}], "x": {"taskRoleArn": "r1"}});
        let found = strings_named(&v, &["taskRoleArn", "executionRoleArn"]);
        assert_eq!(found, ["r1", "arn:aws:iam::1:role/r2"]);
        assert_eq!(
            pass_roles(found),
            Some(Permission::new(
                &["iam:PassRole"],
                ["arn:aws:iam::{account}:role/r1", "arn:aws:iam::1:role/r2"]
            ))
        );
        assert_eq!(pass_roles([]), None);
        assert_eq!(aws_domain("us-east-1"), "aws.amazon.com");
        assert_eq!(aws_domain("cn-north-1"), "amazonaws.cn");
    }
}
