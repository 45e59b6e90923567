//! What the Glue operators' permissions share: the ARNs of Glue resources in the operator's
//! region, of CloudWatch log groups, and of the IAM roles the calls pass.

use airtask_aws::AwsParams;
use airtask_core::Permission;
use airtask_core::permissions::arn;

/// The ARN of a Glue resource (`job/NAME`, `crawler/NAME`, `dataQualityRuleset/NAME`) in the
/// operator's region.
pub(crate) fn glue(aws: &AwsParams, resource: &str) -> String {
    arn("glue", aws.region(), resource)
}

/// The ARN of an IAM role given by name or ARN (Glue takes either).
pub(crate) fn role_arn(role: &str) -> String {
    if role.starts_with("arn:") {
        role.to_owned()
    } else {
        arn("iam", Some(""), &format!("role/{role}"))
    }
}

/// `iam:PassRole` on the role a call hands to Glue.
pub(crate) fn pass_role(role: &str) -> Permission {
    Permission::new(&["iam:PassRole"], [role_arn(role)])
}

/// `verbose`: FilterLogEvents on the log groups Glue writes a job run's driver output to
/// (`/aws-glue/jobs/output` and `/error`, or a security configuration's `/aws-glue/jobs-...`).
pub(crate) fn job_logs(aws: &AwsParams) -> Permission {
    Permission::new(
        &["logs:FilterLogEvents"],
        [arn("logs", aws.region(), "log-group:/aws-glue/jobs*")],
    )
}
