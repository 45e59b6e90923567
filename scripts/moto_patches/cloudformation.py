"""CloudFormation stacks: the failure and long-running paths stock moto 5.2.5 lacks.

What stock moto does (../shared/reference/local-aws-families.md):
- CreateStack builds the stack synchronously: it is CREATE_COMPLETE on the first
  DescribeStacks. No stack ever ends CREATE_FAILED or ROLLBACK_*, whatever OnFailure says;
- DeleteStack deletes synchronously: DELETE_COMPLETE, and DescribeStacks by name answers
  ValidationError "Stack with id <name> does not exist". No stack ends DELETE_FAILED;
- a stack can be kept CREATE_IN_PROGRESS only by an unresolvable template (CreateStack then
  answers 500).

What this patch changes (each an AWS path, selected by a marker in the template's
Description):
- `moto:CREATE_FAILED`: the stack's creation fails, and ends as OnFailure (or DisableRollback)
  says: DO_NOTHING / DisableRollback=true gives CREATE_FAILED; ROLLBACK (the default) gives
  ROLLBACK_COMPLETE; DELETE deletes the stack (DELETE_COMPLETE, gone by name). The stack
  carries StackStatusReason "moto: ... (moto:CREATE_FAILED in the Description)" and the events
  CloudFormation writes on the way;
- `moto:CREATE_IN_PROGRESS`: the stack stays CREATE_IN_PROGRESS (CreateStack answers as usual);
- `moto:DELETE_FAILED`: DeleteStack leaves the stack DELETE_FAILED with a StackStatusReason,
  still found by name;
- `moto:DELETE_IN_PROGRESS`: DeleteStack leaves the stack DELETE_IN_PROGRESS, still found by
  name.
Stacks without these markers behave exactly as in stock moto.

Tests that need it: tests/cloudformation.rs (the create sensor failing at ROLLBACK_COMPLETE and
CREATE_FAILED and timing out at CREATE_IN_PROGRESS; the delete sensor failing at DELETE_FAILED
and timing out at DELETE_IN_PROGRESS).
"""

from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse

_stock_create_response = CloudFormationResponse.create_stack
_stock_delete_stack = CloudFormationBackend.delete_stack

_CREATE_FAILED = "moto:CREATE_FAILED"
_CREATE_IN_PROGRESS = "moto:CREATE_IN_PROGRESS"
_DELETE_FAILED = "moto:DELETE_FAILED"
_DELETE_IN_PROGRESS = "moto:DELETE_IN_PROGRESS"


def _marked(stack, marker: str) -> bool:
    return marker in str(getattr(stack, "description", None) or "")


def _find(backend: CloudFormationBackend, name_or_id: str):
    for stack in backend.stacks.values():
        if stack.name == name_or_id or stack.stack_id == name_or_id:
            return stack
    return None


def _set_status(stack, status: str, reason: str | None = None) -> None:
    stack._add_stack_event(status, resource_status_reason=reason)
    stack.status = status
    # DescribeStacks serialises StackStatusReason from this attribute.
    stack.stack_status_reason = reason


def _create_stack_response(self: CloudFormationResponse):
    result = _stock_create_response(self)
    name = self._get_param("StackName")
    backend = self.cloudformation_backend
    stack = _find(backend, name)
    if stack is None:
        return result
    if _marked(stack, _CREATE_IN_PROGRESS):
        stack.events = [e for e in stack.events if e.resource_status != "CREATE_COMPLETE"]
        stack.status = "CREATE_IN_PROGRESS"
    elif _marked(stack, _CREATE_FAILED):
        stack.events = [e for e in stack.events if e.resource_status != "CREATE_COMPLETE"]
        reason = f"moto: the stack's creation failed ({_CREATE_FAILED} in the Description)"
        on_failure = self._get_param("OnFailure")
        if self._get_bool_param("DisableRollback", False) or on_failure == "DO_NOTHING":
            _set_status(stack, "CREATE_FAILED", reason)
        elif on_failure == "DELETE":
            _set_status(stack, "CREATE_FAILED", reason)
            _stock_delete_stack(backend, stack.stack_id)
            stack.stack_status_reason = reason
        else:
            _set_status(stack, "CREATE_FAILED", reason)
            _set_status(stack, "ROLLBACK_IN_PROGRESS", reason)
            _set_status(stack, "ROLLBACK_COMPLETE", reason)
    return result


def _delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = _find(self, name_or_stack_id)
    if stack is not None and _marked(stack, _DELETE_FAILED):
        _set_status(stack, "DELETE_IN_PROGRESS", "User Initiated")
        _set_status(
            stack,
            "DELETE_FAILED",
            f"moto: the stack's deletion failed ({_DELETE_FAILED} in the Description)",
        )
        return
    if stack is not None and _marked(stack, _DELETE_IN_PROGRESS):
        _set_status(stack, "DELETE_IN_PROGRESS", "User Initiated")
        return
    _stock_delete_stack(self, name_or_stack_id)


def apply() -> None:
    """Installs the CloudFormation paths described above."""
    CloudFormationResponse.create_stack = _create_stack_response
    CloudFormationBackend.delete_stack = _delete_stack
