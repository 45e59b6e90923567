"""Step Functions executions: the succeeded and failed outcomes stock moto 5.2.5 lacks by default.

What stock moto does (../shared/reference/local-aws-families.md):
- in its default ("static") mode an execution is RUNNING forever and StopExecution makes it
  ABORTED; it never SUCCEEDED or FAILED with an output or an error;
- real outcomes need `execute_state_machine` (a server-global config every other test on the
  same endpoint would see) or `SF_EXECUTION_HISTORY_TYPE=FAILURE` (server-global, read when the
  execution is made).

What this patch changes (each an AWS outcome, selected by the execution's input):
- an execution whose input contains `moto:SUCCEEDED` is SUCCEEDED at once, with the input as its
  output (what a state machine of one Pass state gives) and a stopDate;
- an execution whose input contains `moto:FAILED` is FAILED at once, with error `moto.Failed`,
  cause "moto: execution failed (moto:FAILED in the input)" and a stopDate;
- any other execution behaves exactly as in stock moto (RUNNING until StopExecution, then
  ABORTED): `moto:RUNNING` in the input documents that intent in a test.
The wrapped constructor is the static-mode one; `execute_state_machine` mode is untouched.

Tests that need it: tests/stepfunctions.rs (StepFunctionStartExecutionOperator waiting for a
succeeded and a failed execution, StepFunctionExecutionSensor success and failure,
StepFunctionGetExecutionOutputOperator on an output and on an error).
"""

from moto.core.utils import utcnow
from moto.stepfunctions.models import Execution

_stock_init = Execution.__init__

_FAILED_ERROR = "moto.Failed"
_FAILED_CAUSE = "moto: execution failed (moto:FAILED in the input)"


def _init(self: Execution, *args, **kwargs) -> None:
    _stock_init(self, *args, **kwargs)
    given = self.execution_input or ""
    if "moto:FAILED" in given:
        self.status = "FAILED"
        self.error = _FAILED_ERROR
        self.cause = _FAILED_CAUSE
        self.stop_date = utcnow()
    elif "moto:SUCCEEDED" in given:
        self.status = "SUCCEEDED"
        self.output = given
        self.stop_date = utcnow()


def apply() -> None:
    """Installs the outcomes described above."""
    Execution.__init__ = _init
