"""IAM enforcement (auth mode): the resource of Glue, Lambda and CloudWatch Logs calls, and
Lambda's IAM action name.

Stock moto 5.2.5, when it enforces IAM (`INITIAL_NO_AUTH_ACTION_COUNT`, or
`POST /moto-api/reset-auth` with `0`):
- knows the resource of a call only for S3, SQS, STS and IAM; every other call is checked
  against the resource `*`, which a statement naming a real ARN never matches, so a least-
  privilege policy (what `airtask policy` writes) is refused where AWS would allow it;
- names Lambda's Invoke `lambda:Invoke`, where IAM's action is `lambda:InvokeFunction`.

This patch (effective only while IAM is enforced; nothing changes otherwise):
- gives Glue job and crawler calls, Lambda function calls and CloudWatch Logs group and stream
  calls their ARN as IAM's Service Authorization Reference writes it (Glue
  `arn:aws:glue:R:A:job/NAME`, Lambda `arn:aws:lambda:R:A:function:NAME`, Logs
  `arn:aws:logs:R:A:log-group:G` and `...:log-group:G:log-stream:S`);
- checks Lambda's Invoke as `lambda:InvokeFunction`.

Needed by tests/policy.rs (workflows run under exactly the policies `airtask policy` writes).
"""

import re
from urllib.parse import unquote

from moto.awslambda.responses import LambdaResponse
from moto.glue.responses import GlueResponse
from moto.iam.access_control import IAMRequestBase
from moto.logs.responses import LogsResponse

# IAM's names for the operations whose permission is named otherwise.
_ACTION_NAMES = {"lambda:Invoke": "lambda:InvokeFunction"}

_GLUE_JOB = {
    "StartJobRun",
    "GetJobRun",
    "GetJobRuns",
    "BatchStopJobRun",
    "GetJob",
    "CreateJob",
    "UpdateJob",
    "DeleteJob",
}
_GLUE_CRAWLER = {"StartCrawler", "GetCrawler", "CreateCrawler", "UpdateCrawler", "StopCrawler"}


def _glue_resource(self):
    action = self._get_action()
    prefix = f"arn:aws:glue:{self.region}:{self.current_account}"
    if action in _GLUE_JOB:
        return f"{prefix}:job/{self._get_param('JobName')}"
    if action in _GLUE_CRAWLER:
        return f"{prefix}:crawler/{self._get_param('Name')}"
    return "*"


def _logs_resource(self):
    group = self._get_param("logGroupName")
    if not group:
        return "*"
    arn = f"arn:aws:logs:{self.region}:{self.current_account}:log-group:{group}"
    stream = self._get_param("logStreamName")
    if self._get_action() in ("CreateLogGroup", "DeleteLogGroup", "PutRetentionPolicy"):
        return arn
    return f"{arn}:log-stream:{stream}" if stream else f"{arn}:*"


def _lambda_resource(self):
    m = re.search(r"/functions/([^/?]+)", self.path)
    if not m:
        return "*"
    name = unquote(m.group(1))
    if name.startswith("arn:"):
        return name
    name = name.split(":")[0]
    return f"arn:aws:lambda:{self.region}:{self.current_account}:function:{name}"


def apply() -> None:
    GlueResponse._determine_resource = _glue_resource
    LogsResponse._determine_resource = _logs_resource
    LambdaResponse._determine_resource = _lambda_resource

    original_init = IAMRequestBase.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._action = _ACTION_NAMES.get(self._action, self._action)

    IAMRequestBase.__init__ = init
