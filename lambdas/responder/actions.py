"""The registry of changes the responder may make in AWS (Cloud Custodian style).

Each action is a small class: a ``name`` (what the report says), the ``permissions`` it needs,
the boto3 ``service`` it talks to, a ``batch_size`` (how many targets one call takes) and a
``phase`` (containment order inside a region). ``run`` turns planned Steps into Outcomes.
None of them deletes data: keys are deactivated, principals denied, instances terminated only
when the planner proved them rogue, isolated otherwise.

Example step (as the planner makes it and the report prints it)::

    Step(action="cancel-spot-request", target="sir-08b93456", region="sa-east-1",
         reason="launched by AKIAIOSFODNN7EXAMPLE (RequestSpotInstances, ledger)")
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from . import capabilities as cap
from .aws import AWS_ERRORS, Clients, describe_error, error_code
from .model import GLOBAL, Outcome, Step

QUARANTINE_POLICY_NAME = "compromise-responder-quarantine"
REVOKE_SESSIONS_POLICY_NAME = "compromise-responder-revoke-older-sessions"
QUARANTINE_GROUP_NAME = "compromise-responder-quarantine"
ORIGINAL_GROUPS_TAG = "compromise-responder:original-security-groups"  # -1, -2 ... when longer than a tag
ISOLATED_TAG = "compromise-responder:isolated"
FINDING_TAG = "compromise-responder:finding"
TAG_VALUE_MAX = 256
DENY_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "CompromiseResponderQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}],
}


def revoke_sessions_document(issued_before: str) -> dict[str, Any]:
    """The same policy as the IAM console's "Revoke active sessions" (AWSRevokeOlderSessions)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CompromiseResponderRevokeOlderSessions",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before}},
            }
        ],
    }


class Action(ABC):
    """Base of every action. Subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str]
    service: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]]
    resource: ClassVar[str] = cap.ANY
    batch_size: ClassVar[int] = 1
    phase: ClassVar[int] = 50

    @abstractmethod
    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        """Carry out the steps (all of this action, one region, at most ``batch_size``)."""


ACTIONS: dict[str, type[Action]] = {}


def register(cls: type[Action]) -> type[Action]:
    ACTIONS[cls.name] = cls
    cap.declare(cls.name, cls.permissions, cls.resource, (cls.__doc__ or "").strip().splitlines()[0])
    return cls


def _each(steps: Sequence[Step], call: Callable[[Step], object]) -> list[Outcome]:
    """Run a per-target call; a failure of one target does not stop the others.

    A ``str`` the call returns becomes the outcome's detail; anything else (a boto3 response) is dropped.
    """
    out = []
    for step in steps:
        try:
            detail = call(step)
            out.append(step.outcome("done", detail if isinstance(detail, str) else None))
        except AWS_ERRORS as exc:
            out.append(step.outcome("failed", describe_error(exc)))
    return out


# --- IAM (global) -------------------------------------------------------------------------
@register
class DeactivateAccessKey(Action):
    """Set an access key Inactive (never deleted: it can be re-activated and stays as evidence)."""

    name = "deactivate-access-key"
    service = "iam"
    permissions = ("iam:UpdateAccessKey",)
    resource = cap.IAM_USER
    phase = 10

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> None:
            client.update_access_key(UserName=step.params["userName"], AccessKeyId=step.target, Status="Inactive")

        return _each(steps, call)


class _Quarantine(Action):
    """Attach the inline deny-all quarantine policy to a principal (removable once it is safe)."""

    service = "iam"
    phase = 11
    put_policy: ClassVar[str]  # the IAM call: put_user_policy or put_role_policy
    name_parameter: ClassVar[str]  # UserName or RoleName

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        doc = json.dumps(DENY_ALL)
        put = getattr(client, self.put_policy)
        return _each(
            steps,
            lambda s: put(**{self.name_parameter: s.target}, PolicyName=QUARANTINE_POLICY_NAME, PolicyDocument=doc),
        )


@register
class QuarantineUser(_Quarantine):
    """Attach the inline deny-all quarantine policy to an IAM user: no other credential of it works."""

    name = "quarantine-user"
    permissions = ("iam:PutUserPolicy",)
    resource = cap.IAM_USER
    put_policy = "put_user_policy"
    name_parameter = "UserName"


@register
class QuarantineRole(_Quarantine):
    """Attach the inline deny-all quarantine policy to an IAM role created by the attacker."""

    name = "quarantine-role"
    permissions = ("iam:PutRolePolicy",)
    resource = cap.IAM_ROLE
    put_policy = "put_role_policy"
    name_parameter = "RoleName"


@register
class RevokeRoleSessions(Action):
    """Deny every session of a role issued before now (``aws:TokenIssueTime``); new ones still work."""

    name = "revoke-role-sessions"
    service = "iam"
    permissions = ("iam:PutRolePolicy",)
    resource = cap.IAM_ROLE
    phase = 12

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            doc = revoke_sessions_document(step.params["issuedBefore"])
            client.put_role_policy(
                RoleName=step.target, PolicyName=REVOKE_SESSIONS_POLICY_NAME, PolicyDocument=json.dumps(doc)
            )
            return f"sessions issued before {step.params['issuedBefore']} denied"

        return _each(steps, call)


@register
class DeleteLoginProfile(Action):
    """Remove a console password the attacker created (a login profile holds no data)."""

    name = "delete-login-profile"
    service = "iam"
    permissions = ("iam:DeleteLoginProfile",)
    resource = cap.IAM_USER
    phase = 13

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str | None:
            try:
                client.delete_login_profile(UserName=step.target)
            except ClientError as exc:
                if error_code(exc) == "NoSuchEntity":
                    return "no login profile left (already removed)"
                raise
            return None

        return _each(steps, call)


# --- EC2 / Auto Scaling (regional), in containment order ------------------------------------
def _batch_result(steps: Sequence[Step], ok: dict[str, str], bad: dict[str, str], verb: str) -> list[Outcome]:
    out = []
    for step in steps:
        if step.target in bad:
            out.append(step.outcome("failed", bad[step.target]))
        elif step.target in ok:
            out.append(step.outcome("done", f"{verb} ({ok[step.target]})" if ok[step.target] else verb))
        else:
            out.append(step.outcome("failed", "not in the response"))
    return out


@register
class CancelSpotFleet(Action):
    """Cancel a spot fleet request without terminating its instances (they are terminated explicitly)."""

    name = "cancel-spot-fleet"
    service = "ec2"
    permissions = ("ec2:CancelSpotFleetRequests",)
    batch_size = 100
    phase = 20

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        resp = client.cancel_spot_fleet_requests(
            SpotFleetRequestIds=[s.target for s in steps], TerminateInstances=False
        )
        ok = {
            r["SpotFleetRequestId"]: r.get("CurrentSpotFleetRequestState", "")
            for r in resp.get("SuccessfulFleetRequests", [])
        }
        bad = {r["SpotFleetRequestId"]: describe_unsuccessful(r) for r in resp.get("UnsuccessfulFleetRequests", [])}
        return _batch_result(steps, ok, bad, "cancelled")


@register
class DeleteEc2Fleet(Action):
    """Delete an EC2 fleet with ``TerminateInstances=False``; its instances are terminated explicitly."""

    name = "delete-ec2-fleet"
    service = "ec2"
    permissions = ("ec2:DeleteFleets",)
    batch_size = 25
    phase = 20

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        resp = client.delete_fleets(FleetIds=[s.target for s in steps], TerminateInstances=False)
        ok = {r["FleetId"]: r.get("CurrentFleetState", "") for r in resp.get("SuccessfulFleetDeletions", [])}
        bad = {r["FleetId"]: describe_unsuccessful(r) for r in resp.get("UnsuccessfulFleetDeletions", [])}
        return _batch_result(steps, ok, bad, "deleted")


@register
class CancelSpotRequest(Action):
    """Cancel spot instance requests: a persistent request relaunches every instance terminated."""

    name = "cancel-spot-request"
    service = "ec2"
    permissions = ("ec2:CancelSpotInstanceRequests",)
    batch_size = 200
    phase = 20

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        try:
            resp = client.cancel_spot_instance_requests(SpotInstanceRequestIds=[s.target for s in steps])
        except ClientError as exc:
            if "NotFound" in error_code(exc) and len(steps) > 1:
                return [o for s in steps for o in self.run(client, [s])]
            raise
        ok = {r["SpotInstanceRequestId"]: r.get("State", "") for r in resp.get("CancelledSpotInstanceRequests", [])}
        return _batch_result(steps, ok, {}, "cancelled")


@register
class ScaleAsgToZero(Action):
    """Set an attacker's Auto Scaling group to min/max/desired 0 so it cannot relaunch (kept as evidence)."""

    name = "scale-asg-to-zero"
    service = "autoscaling"
    permissions = ("autoscaling:UpdateAutoScalingGroup",)
    phase = 20

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return _each(
            steps,
            lambda s: client.update_auto_scaling_group(
                AutoScalingGroupName=s.target, MinSize=0, MaxSize=0, DesiredCapacity=0
            ),
        )


@register
class DisableTerminationProtection(Action):
    """Turn off ``DisableApiTermination`` on a rogue instance so it can be terminated."""

    name = "disable-termination-protection"
    service = "ec2"
    permissions = ("ec2:ModifyInstanceAttribute",)
    phase = 30

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return _each(steps, lambda s: disable_termination_protection(client, s.target))


def disable_termination_protection(client: Any, instance_id: str) -> None:
    client.modify_instance_attribute(InstanceId=instance_id, DisableApiTermination={"Value": False})


_PROTECTED_IN_MESSAGE = re.compile(r"\b(i-[0-9a-f]{8,17})\b")


@register
class TerminateInstance(Action):
    """Terminate rogue instances in batches; if AWS refuses because of termination protection,
    turn it off for the instances it names and try again."""

    name = "terminate-instance"
    service = "ec2"
    permissions = ("ec2:TerminateInstances", "ec2:ModifyInstanceAttribute")
    batch_size = 250
    phase = 40

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
                    return [steps[0].outcome("done", "already gone")]
                raise
        return [
            s.outcome("done", "termination protection turned off first" if s.target in unprotected else None)
            for s in steps
        ]


# --- EC2 isolation (forensics kept: nothing terminated, volumes snapshotted) ----------------
@register
class IsolateInstance(Action):
    """Replace an instance's security groups (and its network interfaces') with a quarantine group
    that has no ingress and no egress rules; the original groups are recorded in a tag."""

    name = "isolate-instance"
    service = "ec2"
    permissions = (
        "ec2:DescribeSecurityGroups",
        "ec2:CreateSecurityGroup",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:ModifyInstanceAttribute",
        "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:CreateTags",
    )
    phase = 35

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            group = quarantine_group(client, step.params["vpcId"], step.params.get("incidentId", ""))
            interfaces: Sequence[tuple[str, Sequence[str]]] = step.params.get("interfaces") or ()
            tags = [
                *original_groups_tags(interfaces),
                {"Key": ISOLATED_TAG, "Value": str(step.params.get("incidentId") or "isolated")[:TAG_VALUE_MAX]},
            ]
            if step.params.get("findingId"):
                tags.append({"Key": FINDING_TAG, "Value": str(step.params["findingId"])[:TAG_VALUE_MAX]})
            client.create_tags(Resources=[step.target], Tags=tags)  # the way back is recorded first
            set_groups(client, step.target, [(eni, [group]) for eni, _ in interfaces] or [("", [group])])
            return f"security groups replaced by {group}"

        return _each(steps, call)


def set_groups(client: Any, instance_id: str, groups: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Every interface gets its groups; with one interface the instance attribute is set too (AWS refuses it
    for several). In AWS both name the same primary-interface groups; setting both keeps every view equal."""
    if len(groups) == 1:
        client.modify_instance_attribute(InstanceId=instance_id, Groups=list(groups[0][1]))
    for eni, group_ids in groups:
        if eni:
            client.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=list(group_ids))


def original_groups_tags(interfaces: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, str]]:
    """``eni=sg+sg;eni=sg`` split over as many tags as it takes (a tag value holds 256 characters)."""
    value = ";".join(f"{eni}={'+'.join(groups)}" for eni, groups in interfaces)
    chunks = [value[i : i + TAG_VALUE_MAX] for i in range(0, len(value), TAG_VALUE_MAX)] or [""]
    return [{"Key": f"{ORIGINAL_GROUPS_TAG}-{n}", "Value": chunk} for n, chunk in enumerate(chunks, 1)]


def original_groups_from(tags: Mapping[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    """The inverse of ``original_groups_tags``."""
    parts = sorted(
        ((int(k.rsplit("-", 1)[1]), v) for k, v in tags.items() if k.startswith(f"{ORIGINAL_GROUPS_TAG}-")),
    )
    value = "".join(v for _, v in parts)
    out = []
    for item in filter(None, value.split(";")):
        eni, _, groups = item.partition("=")
        out.append((eni, tuple(filter(None, groups.split("+")))))
    return out


def quarantine_group(client: Any, vpc_id: str, incident_id: str) -> str:
    """The VPC's quarantine group: found by name, else created once; it has no rules at all."""
    found = client.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [QUARANTINE_GROUP_NAME]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"]
    if found:
        group = found[0]
    else:
        created = client.create_security_group(
            GroupName=QUARANTINE_GROUP_NAME,
            Description="Compromise responder quarantine: no ingress, no egress",
            VpcId=vpc_id,
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": [{"Key": "compromise-responder:incident", "Value": incident_id or "n/a"}],
                }
            ],
        )
        group = {"GroupId": created["GroupId"], "IpPermissionsEgress": None}
    egress = group.get("IpPermissionsEgress")
    if egress is None:
        egress = client.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"][0].get(
            "IpPermissionsEgress", []
        )
    if egress:
        client.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=egress)
    return str(group["GroupId"])


@register
class SnapshotVolume(Action):
    """Snapshot an EBS volume of an isolated instance for forensics (tagged with the finding)."""

    name = "snapshot-volume"
    service = "ec2"
    permissions = ("ec2:CreateSnapshot", "ec2:CreateTags")
    phase = 30

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            tags = [{"Key": "compromise-responder:" + k, "Value": str(v)[:256]} for k, v in step.params.items() if v]
            snap = client.create_snapshot(
                VolumeId=step.target,
                Description=f"compromise-responder forensics of {step.params.get('instanceId', '')}"[:255],
                TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
            )
            return f"snapshot {snap['SnapshotId']}"

        return _each(steps, call)


@register
class ReleaseInstance(Action):
    """Undo an isolation: put back the security groups recorded in the instance's tags."""

    name = "release-instance"
    service = "ec2"
    permissions = ("ec2:ModifyInstanceAttribute", "ec2:ModifyNetworkInterfaceAttribute", "ec2:DeleteTags")
    phase = 35

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            restore: Sequence[tuple[str, Sequence[str]]] = step.params["restore"]
            set_groups(client, step.target, restore)
            keys = [{"Key": k} for k in step.params.get("tagKeys", ())]
            client.delete_tags(Resources=[step.target], Tags=keys)
            return "security groups restored: " + "; ".join(f"{e}={'+'.join(g)}" for e, g in restore)

        return _each(steps, call)


def describe_unsuccessful(item: dict[str, Any]) -> str:
    err = item.get("Error", {})
    return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()


# --- execution ----------------------------------------------------------------------------
def execute(
    clients: Clients,
    steps: Iterable[Step],
    home_region: str,
    done_before: Mapping[tuple[str, str, str], tuple[int, Mapping[str, Any]]] | None = None,
) -> list[Outcome]:
    """Run planned steps phase by phase (cancels before terminates); groups of one phase in parallel.

    Steps that are not ``planned`` (skipped) pass through unchanged; a step AWS accepted in an earlier
    attempt of the incident (``done_before``) is not sent again. A failing batch marks its own steps
    failed and never stops the other batches.
    """
    steps = list(steps)
    outcomes: dict[int, Outcome] = {}
    groups: dict[tuple[int, str, str], list[int]] = {}
    for index, step in enumerate(steps):
        if step.status != "planned":
            outcomes[index] = step.outcome(step.status)
            continue
        earlier = (done_before or {}).get((step.action, step.target, step.region))
        if earlier is not None:
            number, reported = earlier
            detail = f"attempt {number}" + (f": {reported['detail']}" if reported.get("detail") else "")
            outcomes[index] = step.outcome("done", detail)
            continue
        action = ACTIONS[step.action]
        groups.setdefault((action.phase, step.action, step.region), []).append(index)
    for phase in sorted({key[0] for key in groups}):
        batches: list[tuple[Action, str, list[int]]] = []
        for (p, name, region), indexes in groups.items():
            if p != phase:
                continue
            runner = ACTIONS[name]()
            size = max(1, runner.batch_size)
            for start in range(0, len(indexes), size):
                batches.append((runner, region, indexes[start : start + size]))
        if len(batches) == 1:
            results = [_run_batch(clients, home_region, steps, *batches[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(8, len(batches))) as pool:
                results = list(pool.map(lambda b: _run_batch(clients, home_region, steps, *b), batches))
        for indexes, batch_outcomes in results:
            outcomes.update(zip(indexes, batch_outcomes, strict=True))
    return [outcomes[i] for i in range(len(steps))]


def _run_batch(
    clients: Clients, home_region: str, steps: list[Step], action: Action, region: str, indexes: list[int]
) -> tuple[list[int], list[Outcome]]:
    batch = [steps[i] for i in indexes]
    client = clients.get(action.service, home_region if region == GLOBAL else region)
    try:
        return indexes, action.run(client, batch)
    except AWS_ERRORS as exc:
        return indexes, [s.outcome("failed", describe_error(exc)) for s in batch]
