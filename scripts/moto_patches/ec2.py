"""EC2 instances: the state transitions, launch failure and hibernation stock moto 5.2.5 lacks.

What stock moto does (../shared/reference/local-aws-families.md):
- RunInstances, StartInstances, StopInstances and TerminateInstances change an instance's state
  at once: their answers say pending / stopping / shutting-down, but the next DescribeInstances
  already shows running / stopped / terminated, so a waiter never sees an instance in
  transition, and an instance can neither stay in transition nor fail to launch;
- StopInstances with Hibernate=true stops any instance, configured for hibernation or not, and
  its StateReason says a plain user-initiated shutdown.

What this patch changes (each an AWS path, selected by the instance's tags at launch):
- tag `moto:transition-reads` = N: after each launch, start, stop or terminate, the instance
  stays in its transitional state (pending, pending, stopping, shutting-down) for the next N
  DescribeInstances answers that include it, then shows the final state (N = 1000000 keeps it
  in transition for good);
- tag `moto:launch` = `fails`: the launch fails: after its pending reads the instance is
  terminated, with StateReason "Server.InternalError: Internal error on launch";
- StopInstances with Hibernate=true answers 400 UnsupportedHibernationConfiguration for an
  instance launched without HibernationOptions Configured=true (as EC2 does), and a hibernated
  instance's StateReason is "Client.UserInitiatedHibernate: User initiated hibernate".
Instances without these tags behave exactly as in stock moto.

Tests that need it: tests/ec2.rs (the create waiter polling and failing, start and stop
polling until the state, a sensor that times out, hibernation).
"""

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import Instance, InstanceBackend, InstanceState, StateReason
from moto.ec2.responses.instances import InstanceResponse

_stock_run = InstanceBackend.run_instances
_stock_start = Instance.start
_stock_stop = Instance.stop
_stock_terminate = Instance.terminate
_stock_describe = InstanceResponse.describe_instances
_stock_stop_response = InstanceResponse.stop_instances

_TRANSITIONAL = {
    "running": ("pending", 0),
    "stopped": ("stopping", 64),
    "terminated": ("shutting-down", 32),
}


def _tag(instance: Instance, key: str) -> str | None:
    for tag in instance.get_tags():
        if (tag.get("key") or tag.get("Key")) == key:
            return tag.get("value") or tag.get("Value")
    return None


def _reads(instance: Instance) -> int:
    try:
        return int(_tag(instance, "moto:transition-reads") or 0)
    except ValueError:
        return 0


def _enter_transition(instance: Instance, fail_launch: bool = False) -> None:
    """Shows the transitional state of the final one the stock call just set."""
    reads = _reads(instance)
    if reads <= 0 and not fail_launch:
        return
    final = instance._state.name
    name, code = _TRANSITIONAL.get(final, (final, instance._state.code))
    instance._moto_final = "launch-fails" if fail_launch else final
    instance._moto_reads = max(reads, 0)
    instance._moto_final_state = InstanceState(final, instance._state.code)
    instance._state = InstanceState(name, code)


def _complete(instance: Instance) -> None:
    final = getattr(instance, "_moto_final", None)
    if final is None or getattr(instance, "_moto_reads", 0) > 0:
        return
    instance._moto_final = None
    if final == "launch-fails":
        _stock_terminate(instance)
        instance.state_reason = StateReason(
            "Server.InternalError: Internal error on launch", "Server.InternalError"
        )
    else:
        instance._state = instance._moto_final_state


def _run_instances(self: InstanceBackend, *args, **kwargs):
    reservation = _stock_run(self, *args, **kwargs)
    for instance in reservation.instances:
        _enter_transition(instance, fail_launch=_tag(instance, "moto:launch") == "fails")
    return reservation


def _wrap(stock):
    def action(self: Instance, *args, **kwargs):
        self._moto_final = None
        previous = stock(self, *args, **kwargs)
        _enter_transition(self)
        return previous

    return action


def _describe_instances(self: InstanceResponse):
    # The answer is serialised after this returns: transitions that ran out on earlier reads
    # complete now, and this read counts for the instances it shows.
    for reservation in list(self.ec2_backend.reservations.values()):
        for instance in reservation.instances:
            _complete(instance)
    result = _stock_describe(self)
    for reservation in result.result.get("Reservations", []):
        for instance in reservation.instances:
            if getattr(instance, "_moto_final", None) is not None:
                instance._moto_reads = max(getattr(instance, "_moto_reads", 0) - 1, 0)
    return result


def _stop_instances(self: InstanceResponse):
    if not self._get_bool_param("Hibernate", False):
        return _stock_stop_response(self)
    ids = self._get_param("InstanceIds", [])
    instances = self.ec2_backend.get_multi_instances_by_id(ids)
    for instance in instances:
        if not (instance.hibernation_options or {}).get("Configured"):
            raise EC2ClientError(
                "UnsupportedHibernationConfiguration",
                f"The instance '{instance.id}' is not configured for hibernation.",
            )
    result = _stock_stop_response(self)
    for instance in instances:
        instance.state_reason = StateReason(
            "Client.UserInitiatedHibernate: User initiated hibernate",
            "Client.UserInitiatedHibernate",
        )
    return result


def apply() -> None:
    """Installs the EC2 paths described above."""
    InstanceBackend.run_instances = _run_instances
    Instance.start = _wrap(_stock_start)
    Instance.stop = _wrap(_stock_stop)
    Instance.terminate = _wrap(_stock_terminate)
    InstanceResponse.describe_instances = _describe_instances
    InstanceResponse.stop_instances = _stop_instances
