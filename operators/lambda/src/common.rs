//! What the Lambda operators share: the client for the task's identity, and the function's
//! state as GetFunction reports it.

use airtask_aws::AwsParams;
use airtask_core::permissions::arn;
use airtask_core::{TaskContext, TaskError};
use aws_sdk_lambda::types::State;

/// The ARN IAM authorizes a call on `function_name` (a name, a partial ARN
/// `ACCOUNT:function:NAME` or a full ARN) at `qualifier` (a version or alias) against:
/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
pub(crate) fn function_arn(
    aws: &AwsParams,
    function_name: &str,
    qualifier: Option<&str>,
) -> String {
    let mut out = if function_name.starts_with("arn:") {
        function_name.to_owned()
    } else {
        let name = function_name
            .split_once(":function:")
            .map_or(function_name, |(_, name)| name);
        arn("lambda", aws.region(), &format!("function:{name}"))
    };
    if let Some(q) = qualifier.filter(|q| !q.is_empty()) {
        out.push(':');
        out.push_str(q);
    }
    out
}

/// A Lambda client for the task's identity, in `region` when the task names one.
pub(crate) fn client(
    ctx: &TaskContext,
    region: Option<&str>,
) -> Result<aws_sdk_lambda::Client, TaskError> {
    airtask_aws::client_in(ctx, region, airtask_aws::sdk!(aws_sdk_lambda))
}

/// A function's state and the reason AWS gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionState {
    /// `Pending`, `Active`, `Inactive` or `Failed` (`Unknown` when GetFunction gives none).
    pub(crate) state: String,
    /// `StateReason`, when there is one.
    pub(crate) reason: Option<String>,
    /// The function's ARN.
    pub(crate) arn: Option<String>,
}

/// GetFunction of `function_name` (at `qualifier`): its configuration's state.
pub(crate) async fn function_state(
    lambda: &aws_sdk_lambda::Client,
    function_name: &str,
    qualifier: Option<&str>,
) -> Result<FunctionState, TaskError> {
    let out = lambda
        .get_function()
        .function_name(function_name)
        .set_qualifier(qualifier.map(str::to_owned))
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(
                &format!("GetFunction of the Lambda function {function_name}"),
                &e,
            )
        })?;
    let config = out.configuration();
    Ok(FunctionState {
        state: config
            .and_then(|c| c.state())
            .map_or("Unknown", State::as_str)
            .to_owned(),
        reason: config.and_then(|c| c.state_reason()).map(str::to_owned),
        arn: config.and_then(|c| c.function_arn()).map(str::to_owned),
    })
}
