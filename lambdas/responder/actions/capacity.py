"""EC2 / Auto Scaling actions (regional): take rogue capacity away, launchers first.

Incident 1 (2014): terminating instances alone did not help while their persistent spot requests
relaunched them. So spot fleets, EC2 fleets, spot requests and Auto Scaling groups are stopped first
(phase 20, without terminating their instances), then termination protection is turned off (30), then
the instances are terminated in batches (40). A target AWS no longer knows is ``skipped`` (already gone),
never ``done``: the report claims only what AWS accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..aws import describe_error, error_code
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from .base import Action, ActionName, Words, batch_result, describe_unsuccessful, each, register

ALREADY_GONE = "already gone (AWS does not know it any more): nothing to stop"


@register
class CancelSpotFleet(Action):
    """Cancel a spot fleet request without terminating its instances (they are terminated explicitly)."""

    name = ActionName.CANCEL_SPOT_FLEET
    service = "ec2"
    permissions = ("ec2:CancelSpotFleetRequests",)
    resource = cap.SPOT_FLEET
    batch_size = 100
    phase = 20
    stops = "spot-fleet"
    stops_capacity = True
    words = Words("spot fleet", "spot fleets", "cancelled", "to cancel")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        resp = client.cancel_spot_fleet_requests(
            SpotFleetRequestIds=[s.target for s in steps], TerminateInstances=False
        )
        ok = {
            r["SpotFleetRequestId"]: r.get("CurrentSpotFleetRequestState", "")
            for r in resp.get("SuccessfulFleetRequests", [])
        }
        bad = {r["SpotFleetRequestId"]: describe_unsuccessful(r) for r in resp.get("UnsuccessfulFleetRequests", [])}
        return batch_result(steps, ok, bad, "cancelled")


@register
class DeleteEc2Fleet(Action):
    """Delete an EC2 fleet with ``TerminateInstances=False``; its instances are terminated explicitly."""

    name = ActionName.DELETE_EC2_FLEET
    service = "ec2"
    permissions = ("ec2:DeleteFleets",)
    resource = cap.EC2_FLEET
    batch_size = 25
    phase = 20
    stops = "ec2-fleet"
    stops_capacity = True
    words = Words("EC2 fleet", "EC2 fleets", "deleted (instances terminated separately)", "to delete")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        resp = client.delete_fleets(FleetIds=[s.target for s in steps], TerminateInstances=False)
        ok = {r["FleetId"]: r.get("CurrentFleetState", "") for r in resp.get("SuccessfulFleetDeletions", [])}
        bad = {r["FleetId"]: describe_unsuccessful(r) for r in resp.get("UnsuccessfulFleetDeletions", [])}
        return batch_result(steps, ok, bad, "deleted")


@register
class CancelSpotRequest(Action):
    """Cancel spot instance requests: a persistent request relaunches every instance terminated."""

    name = ActionName.CANCEL_SPOT_REQUEST
    service = "ec2"
    permissions = ("ec2:CancelSpotInstanceRequests",)
    resource = cap.SPOT_REQUEST
    batch_size = 200
    phase = 20
    stops = "spot-request"
    stops_capacity = True
    words = Words("spot request", "spot requests", "cancelled", "to cancel")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        try:
            resp = client.cancel_spot_instance_requests(SpotInstanceRequestIds=[s.target for s in steps])
        except ClientError as exc:
            if "NotFound" in error_code(exc) and len(steps) > 1:
                return [o for s in steps for o in self.run(client, [s])]
            if "NotFound" in error_code(exc):
                return [steps[0].outcome("skipped", ALREADY_GONE)]
            raise
        ok = {r["SpotInstanceRequestId"]: r.get("State", "") for r in resp.get("CancelledSpotInstanceRequests", [])}
        return batch_result(steps, ok, {}, "cancelled")


@register
class ScaleAsgToZero(Action):
    """Set an attacker's Auto Scaling group to min/max/desired 0 so it cannot relaunch (kept as evidence)."""

    name = ActionName.SCALE_ASG_TO_ZERO
    service = "autoscaling"
    permissions = ("autoscaling:UpdateAutoScalingGroup",)
    resource = cap.AUTOSCALING_GROUP
    phase = 20
    stops = "asg"
    stops_capacity = True
    words = Words("Auto Scaling group", "Auto Scaling groups", "scaled to zero", "to scale to zero")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(
            steps,
            lambda s: client.update_auto_scaling_group(
                AutoScalingGroupName=s.target, MinSize=0, MaxSize=0, DesiredCapacity=0
            ),
        )


def disable_termination_protection(client: Any, instance_id: str) -> None:
    client.modify_instance_attribute(InstanceId=instance_id, DisableApiTermination={"Value": False})


@register
class DisableTerminationProtection(Action):
    """Turn off ``DisableApiTermination`` on a rogue instance so it can be terminated."""

    name = ActionName.DISABLE_TERMINATION_PROTECTION
    service = "ec2"
    permissions = ("ec2:ModifyInstanceAttribute",)
    resource = cap.EC2_INSTANCE
    phase = 30
    words = Words("termination protection", "termination protections", "turned off", "to turn off")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(steps, lambda s: disable_termination_protection(client, s.target))


_PROTECTED_IN_MESSAGE = re.compile(r"\b(i-[0-9a-f]{8,17})\b")


@register
class TerminateInstance(Action):
    """Terminate rogue instances in batches; if AWS refuses because of termination protection,
    turn it off for the instances it names and try again."""

    name = ActionName.TERMINATE_INSTANCE
    service = "ec2"
    permissions = ("ec2:TerminateInstances", "ec2:ModifyInstanceAttribute")
    resource = cap.EC2_INSTANCE
    batch_size = 250
    phase = 40
    stops_capacity = True
    words = Words("instance", "instances", "terminated", "to terminate")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        ids = [s.target for s in steps]
        unprotected: set[str] = set()
        for _ in range(len(ids) + 1):
            try:
                client.terminate_instances(InstanceIds=ids)
                break
            except ClientError as exc:
                code = error_code(exc)
                if code == "OperationNotPermitted":
                    named = set(_PROTECTED_IN_MESSAGE.findall(describe_error(exc))) & set(ids)
                    todo = (named or set(ids)) - unprotected
                    if not todo:
                        raise
                    for instance_id in sorted(todo):
                        disable_termination_protection(client, instance_id)
                    unprotected |= todo
                    continue
                if code.startswith("InvalidInstanceID") and len(steps) > 1:
                    return [o for s in steps for o in self.run(client, [s])]
                if code.startswith("InvalidInstanceID"):
                    return [steps[0].outcome("skipped", ALREADY_GONE)]
                raise
        return [
            s.outcome("done", "termination protection turned off first" if s.target in unprotected else None)
            for s in steps
        ]
