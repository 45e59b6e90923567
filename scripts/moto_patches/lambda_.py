"""Lambda: the simple (Docker-free) backend with AWS's error, log and state paths.

Stock moto 5.2.5:
- uses the Docker backend unless `POST /moto-api/config {"lambda":{"use_docker":false}}` comes
  first; without Docker every Invoke answers 500;
- the simple backend answers 200 for any function name, even one never created;
- it never sets `X-Amz-Function-Error` or `X-Amz-Log-Result`, and answers an `Event` invocation
  with the payload as its body (AWS: 202 and an empty body) and a `DryRun` by popping a result;
- a function is `Active` from the start, so `Pending` and `Failed` are never seen.

This patch:
- switches the simple backend on at start-up (no test may need Docker);
- Invoke of an unknown function, version or alias answers 404 ResourceNotFoundException (stock
  moto also drops Invoke's `Qualifier` query parameter, so any version "exists");
- a canned result (`POST /moto-api/static/lambda-simple/response {"results":[...]}`, a FIFO
  shared by all functions) that starts with `!Unhandled:` or `!Handled:` sets the function error
  to that kind; the rest of the string is the payload (e.g. `!Unhandled:{"errorMessage":"boom"}`);
- a synchronous invoke with `LogType=Tail` returns `LogResult`, the base64 of a tail as Lambda
  writes it: `START RequestId: ...`, the lines the fake function prints (it prints the event it
  received, as is, then the error payload when it fails), `END ...` and `REPORT ...`;
- `Event` answers 202 with an empty body, `DryRun` 204 with an empty body and runs nothing;
  `X-Amz-Executed-Version` is set for synchronous invokes;
- a function whose Description contains `moto:Pending=N` reports State `Pending` for its first N
  reads (CreateFunction's answer included), then `Active`; `moto:Failed` makes it `Failed` with
  a StateReason.

Needed by tests/lambda.rs (FunctionError, unknown function, log tail, Event invocation,
create + wait for Active, the state sensor) and by the corpus run of aws-samples/lambda_dag.yaml.
"""

import base64
import re
import threading
import uuid

from moto.awslambda.models import LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.models import default_user_config

_ERROR_PREFIXES = ("!Unhandled:", "!Handled:")
_request = threading.local()
_PENDING = re.compile(r"moto:Pending=(\d+)")


def _header(headers, name):
    value = headers.get(name) if headers is not None else None
    return value if value else None


def _invoke(self, function_name, qualifier, body, headers, response_headers):
    qualifier = qualifier or getattr(_request, "qualifier", None)
    fn = self.get_function(function_name, qualifier)  # 404 ResourceNotFoundException if unknown
    invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""

    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    result = body or "Simple Lambda happy path OK"
    if self.lambda_simple_results_queue:
        result = self.lambda_simple_results_queue.pop(0)
    error_kind = None
    for prefix in _ERROR_PREFIXES:
        if result.startswith(prefix):
            error_kind = prefix[1:-1]
            result = result[len(prefix):]
    if invocation_type == "Event":
        return b""

    if error_kind:
        response_headers["x-amz-function-error"] = error_kind
    response_headers["x-amz-executed-version"] = str(fn.version)
    if _header(headers, "X-Amz-Log-Type") == "Tail":
        request_id = str(uuid.uuid4())
        printed = (body or "").splitlines()
        if error_kind:
            printed.append(f"[ERROR] {result}")
        tail = [f"START RequestId: {request_id} Version: {fn.version}", *printed,
                f"END RequestId: {request_id}",
                f"REPORT RequestId: {request_id}\tDuration: 1.00 ms\tBilled Duration: 1 ms\t"
                f"Memory Size: {fn.memory_size} MB\tMax Memory Used: 40 MB\t"]
        text = "\n".join(tail) + "\n"
        response_headers["x-amz-log-result"] = base64.b64encode(text.encode()).decode()
    return result.encode()


_stock_response_invoke = LambdaResponse.invoke


def _response_invoke(self):
    # Stock moto reads `qualifier`, but the SDKs send `Qualifier`.
    _request.qualifier = self.querystring.get("Qualifier", [None])[0]
    try:
        return _stock_response_invoke(self)
    finally:
        _request.qualifier = None


_stock_get_configuration = LambdaFunction.get_configuration


def _get_configuration(self, on_create=False):
    config = _stock_get_configuration(self, on_create)
    description = self.description or ""
    if "moto:Failed" in description:
        config["State"] = "Failed"
        config["StateReason"] = "moto:Failed in the function's Description"
        config["StateReasonCode"] = "InternalError"
        return config
    match = _PENDING.search(description)
    if match:
        reads = getattr(self, "_airtask_reads", 0)
        self._airtask_reads = reads + 1
        if reads < int(match.group(1)):
            config["State"] = "Pending"
            config["StateReason"] = "The function is being created."
            config["StateReasonCode"] = "Creating"
    return config


def apply() -> None:
    default_user_config["lambda"]["use_docker"] = False
    LambdaSimpleBackend.invoke = _invoke
    LambdaResponse.invoke = _response_invoke
    LambdaFunction.get_configuration = _get_configuration
