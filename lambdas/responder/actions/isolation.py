"""EC2 isolation actions: a compromised but legitimate instance keeps its evidence.

Nothing is terminated, and nothing the instance holds is allowed to be: in execution order (phases),
  30 snapshot-volume                every EBS volume, tagged with the finding and the incident
  31 keep-volumes-on-termination    DeleteOnTermination=false: whatever terminates it, its disks stay
  32 enable-termination-protection  no API termination; a shutdown from inside stops it (not terminates)
  33 detach-from-asg                out of its Auto Scaling group, desired capacity kept: when the quarantine
                                    fails the group's health checks it launches a clean replacement instead
                                    of terminating the isolated instance (termination protection does not
                                    stop Auto Scaling)
  34 deregister-from-target-group   out of every load-balancer target group that routes to it
  35 isolate-instance               the original security groups recorded in tags (the way back), then every
                                    interface to an allow-all group (its flows become untracked) and then to
                                    the quarantine group (no rules): open connections are cut, not only new ones
  36 tag-isolated-instance          what was done, on the instance, for whoever finds it
``release-instance`` puts the recorded security groups back; re-attaching to a group is the team's call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..aws import AWS_ERRORS, describe_error
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from .base import Action, ActionName, Words, each, register

QUARANTINE_GROUP_NAME = "compromise-responder-quarantine"
UNTRACKING_GROUP_NAME = "compromise-responder-untrack-connections"
ORIGINAL_GROUPS_TAG = "compromise-responder:original-security-groups"  # -1, -2 ... when longer than a tag
ISOLATED_TAG = "compromise-responder:isolated"
FINDING_TAG = "compromise-responder:finding"
DETACHED_FROM_TAG = "compromise-responder:detached-from-asg"
DEREGISTERED_FROM_TAG = "compromise-responder:deregistered-from"  # -1, -2 ...: arn=port+port;arn=port
SNAPSHOTS_TAG = "compromise-responder:snapshots"  # -1, -2 ...: snap+snap
ISOLATION_TAGS = (
    ORIGINAL_GROUPS_TAG,
    ISOLATED_TAG,
    FINDING_TAG,
    DETACHED_FROM_TAG,
    DEREGISTERED_FROM_TAG,
    SNAPSHOTS_TAG,
)
TAG_VALUE_MAX = 256
# Grants shared by the isolation steps: the responder's own tag keys only (never the protect tag: denied by the
# stack), security groups changed only when the responder created them, group swaps on any interface.
OWN_TAGS_ON = (cap.EC2_INSTANCE, cap.EC2_SECURITY_GROUP, cap.EC2_SNAPSHOT)
SWAP_GROUPS = (
    cap.Grant(("ec2:ModifyInstanceAttribute",), (cap.EC2_INSTANCE, cap.EC2_SECURITY_GROUP)),
    cap.Grant(
        ("ec2:ModifyNetworkInterfaceAttribute",),
        (cap.EC2_NETWORK_INTERFACE, cap.EC2_INSTANCE, cap.EC2_SECURITY_GROUP),
    ),
)
ALL_TRAFFIC = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}


@register
class SnapshotVolume(Action):
    """Snapshot an EBS volume of an isolated instance for forensics (tagged with the finding)."""

    name = ActionName.SNAPSHOT_VOLUME
    service = "ec2"
    grants = (
        cap.Grant(("ec2:CreateSnapshot",), (cap.EC2_VOLUME,)),
        cap.Grant(("ec2:CreateSnapshot",), (cap.EC2_SNAPSHOT,), (cap.ONLY_OWN_TAG_KEYS, cap.CREATED_WITH_OWN_TAG)),
        cap.Grant(("ec2:CreateTags",), (cap.EC2_SNAPSHOT,), (cap.ONLY_OWN_TAG_KEYS,)),
    )
    phase = 30
    words = Words("EBS volume", "EBS volumes", "snapshotted for forensics", "to snapshot", short="snapshotted")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            tags = [{"Key": "compromise-responder:" + k, "Value": str(v)[:256]} for k, v in step.params.items() if v]
            snap = client.create_snapshot(
                VolumeId=step.target,
                Description=f"compromise-responder forensics of {step.params.get('instanceId', '')}"[:255],
                TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
            )
            return f"snapshot {snap['SnapshotId']}"

        return each(steps, call)


@register
class KeepVolumes(Action):
    """Set DeleteOnTermination false on every EBS volume of an isolated instance: its disks outlive it."""

    name = ActionName.KEEP_VOLUMES
    service = "ec2"
    grants = (cap.Grant(("ec2:ModifyInstanceAttribute",), (cap.EC2_INSTANCE, cap.EC2_VOLUME)),)
    phase = 31
    words = Words(
        "instance", "instances", "set to keep their volumes if terminated", "to keep its volumes if terminated"
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            devices: Sequence[str] = step.params["devices"]
            client.modify_instance_attribute(
                InstanceId=step.target,
                BlockDeviceMappings=[{"DeviceName": d, "Ebs": {"DeleteOnTermination": False}} for d in devices],
            )
            return f"DeleteOnTermination=false: {step.params.get('volumes', '')}"

        return each(steps, call)


@register
class EnableTerminationProtection(Action):
    """Turn termination protection on and make a shutdown from inside stop the instance, not terminate it."""

    name = ActionName.ENABLE_TERMINATION_PROTECTION
    service = "ec2"
    permissions = ("ec2:ModifyInstanceAttribute",)
    resource = cap.EC2_INSTANCE
    phase = 32
    words = Words(
        "instance",
        "instances",
        "protected from termination (a shutdown stops it)",
        "to protect from termination (a shutdown stops it)",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            client.modify_instance_attribute(InstanceId=step.target, DisableApiTermination={"Value": True})
            client.modify_instance_attribute(
                InstanceId=step.target, InstanceInitiatedShutdownBehavior={"Value": "stop"}
            )
            return "DisableApiTermination=true, InstanceInitiatedShutdownBehavior=stop"

        return each(steps, call)


@register
class DetachFromAutoScalingGroup(Action):
    """Detach an isolated instance from its Auto Scaling group without lowering the desired capacity: the
    group launches a clean replacement instead of terminating the instance when its health checks fail."""

    name = ActionName.DETACH_FROM_ASG
    service = "autoscaling"
    permissions = ("autoscaling:DetachInstances",)
    resource = cap.AUTOSCALING_GROUP
    phase = 33
    words = Words(
        "instance",
        "instances",
        "detached from their Auto Scaling group (capacity kept: a replacement is launched)",
        "to detach from their Auto Scaling group (capacity kept)",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            group = str(step.params["autoScalingGroup"])
            client.detach_instances(
                InstanceIds=[step.target], AutoScalingGroupName=group, ShouldDecrementDesiredCapacity=False
            )
            return f"detached from {group}; its desired capacity is unchanged, so it launches a replacement"

        return each(steps, call)


@register
class DeregisterFromTargetGroup(Action):
    """Deregister an isolated instance from a load-balancer target group (every port it is registered on)."""

    name = ActionName.DEREGISTER_FROM_TARGET_GROUP
    service = "elbv2"
    permissions = ("elasticloadbalancing:DeregisterTargets",)
    resource = cap.TARGET_GROUP
    phase = 34
    words = Words(
        "target group",
        "target groups",
        "no longer routing to the instance (deregistered)",
        "to stop routing to the instance (deregister)",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            targets: Sequence[tuple[str, int | None]] = step.params["targets"]
            client.deregister_targets(
                TargetGroupArn=step.target,
                Targets=[{"Id": i, "Port": port} if port else {"Id": i} for i, port in targets],
            )
            return "deregistered " + ", ".join(f"{i}:{port}" if port else i for i, port in targets)

        return each(steps, call)


def chunked_tags(key: str, value: str) -> list[dict[str, str]]:
    """``key-1``, ``key-2`` ...: a value split over as many tags as it takes (a tag value holds 256 characters)."""
    chunks = [value[i : i + TAG_VALUE_MAX] for i in range(0, len(value), TAG_VALUE_MAX)] or [""]
    return [{"Key": f"{key}-{n}", "Value": chunk} for n, chunk in enumerate(chunks, 1)]


def unchunked(tags: Mapping[str, str], key: str) -> str:
    """The inverse of ``chunked_tags``."""
    parts = sorted((int(k.rsplit("-", 1)[1]), v) for k, v in tags.items() if k.startswith(f"{key}-"))
    return "".join(v for _, v in parts)


# Finding or making the two groups an isolation uses (untracking, then quarantine), in the resource's VPC: only
# groups the responder created (its tag) may get rules. Shared by every isolation (instances, ECS tasks).
QUARANTINE_GROUP_GRANTS = (
    cap.Grant(("ec2:DescribeSecurityGroups",)),
    cap.Grant(("ec2:CreateSecurityGroup",), (cap.EC2_VPC,)),
    cap.Grant(("ec2:CreateSecurityGroup",), (cap.EC2_SECURITY_GROUP,), (cap.CREATED_WITH_OWN_TAG,)),
    cap.Grant(
        ("ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress"),
        (cap.EC2_SECURITY_GROUP,),
        (cap.CREATED_BY_RESPONDER,),
    ),
)


@register
class IsolateInstance(Action):
    """Replace the security groups of every interface of an instance by a quarantine group with no rules, via an
    allow-all group that makes open connections untracked (so the quarantine cuts them); the original groups are
    recorded in tags first, and put back if the swap fails half-way."""

    name = ActionName.ISOLATE_INSTANCE
    service = "ec2"
    grants = (
        *QUARANTINE_GROUP_GRANTS,
        *SWAP_GROUPS,
        cap.Grant(("ec2:CreateTags", "ec2:DeleteTags"), OWN_TAGS_ON, (cap.ONLY_OWN_TAG_KEYS,)),
    )
    phase = 35
    stops_capacity = True  # the instance can no longer talk to anyone
    words = Words(
        "instance",
        "instances",
        "isolated (connections cut, quarantine security group)",
        "to isolate",
        short="isolated",
        one="{noun} {target} {short} (not terminated)",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return [self.isolate(client, step) for step in steps]

    def isolate(self, client: Any, step: Step) -> Outcome:
        interfaces: Sequence[tuple[str, Sequence[str]]] = step.params.get("interfaces") or ()
        incident = str(step.params.get("incidentId") or "")
        record = [*original_groups_tags(interfaces), {"Key": ISOLATED_TAG, "Value": (incident or "isolated")[:256]}]
        try:
            untracking = untracking_group(client, step.params["vpcId"], incident)
            quarantine = quarantine_group(client, step.params["vpcId"], incident)
            client.create_tags(Resources=[step.target], Tags=record)  # the way back is recorded first
        except AWS_ERRORS as exc:
            return step.outcome("failed", describe_error(exc))
        enis = [eni for eni, _ in interfaces] or [""]
        try:
            set_groups(client, step.target, [(eni, [untracking]) for eni in enis])
            set_groups(client, step.target, [(eni, [quarantine]) for eni in enis])
        except AWS_ERRORS as exc:
            return step.outcome(
                "failed", describe_error(exc) + "; " + undo_isolation(client, step.target, interfaces, record)
            )
        return step.outcome("done", f"connections cut via {untracking}; security groups replaced by {quarantine}")


def undo_isolation(
    client: Any, instance_id: str, interfaces: Sequence[tuple[str, Sequence[str]]], record: Sequence[Mapping[str, str]]
) -> str:
    """After a swap failed half-way: the original groups back, the record removed (a retry starts afresh)."""
    try:
        set_groups(client, instance_id, interfaces)
        client.delete_tags(Resources=[instance_id], Tags=[{"Key": t["Key"]} for t in record])
    except AWS_ERRORS as exc:
        return (
            f"putting the original groups back FAILED too ({describe_error(exc)[:120]}): the instance may sit in the "
            f"allow-all group {UNTRACKING_GROUP_NAME}: isolate it by hand now"
        )
    return "the original security groups were put back"


def set_groups(client: Any, instance_id: str, groups: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Every interface gets its groups; with one interface the instance attribute is set too (AWS refuses it
    for several). In AWS both name the same primary-interface groups; setting both keeps every view equal."""
    if len(groups) == 1:
        client.modify_instance_attribute(InstanceId=instance_id, Groups=list(groups[0][1]))
    for eni, group_ids in groups:
        if eni:
            client.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=list(group_ids))


def original_groups_tags(interfaces: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, str]]:
    """``eni=sg+sg;eni=sg`` split over as many tags as it takes."""
    return chunked_tags(ORIGINAL_GROUPS_TAG, ";".join(f"{eni}={'+'.join(groups)}" for eni, groups in interfaces))


def original_groups_from(tags: Mapping[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    """The inverse of ``original_groups_tags``."""
    out = []
    for item in filter(None, unchunked(tags, ORIGINAL_GROUPS_TAG).split(";")):
        eni, _, groups = item.partition("=")
        out.append((eni, tuple(filter(None, groups.split("+")))))
    return out


def untracking_group(client: Any, vpc_id: str, incident_id: str) -> str:
    """The VPC's allow-all group, found by name else created once. With rules for all traffic from and to 0.0.0.0/0
    and ::/0 a flow is not tracked (EC2 security group connection tracking), so the next swap, to the quarantine
    group, cuts it at once. An interface sits in it for the time of one API call."""
    group = _group(
        client,
        vpc_id,
        UNTRACKING_GROUP_NAME,
        "Compromise responder: allow-all for one API call while isolating (cuts tracked connections); never attach",
        incident_id,
    )
    for direction, rules in (("ingress", group.get("IpPermissions")), ("egress", group.get("IpPermissionsEgress"))):
        missing = _missing_all_traffic(rules or [])
        if missing:
            authorize = getattr(client, f"authorize_security_group_{direction}")
            authorize(GroupId=group["GroupId"], IpPermissions=[missing])
    return str(group["GroupId"])


def _missing_all_traffic(rules: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The part of the all-traffic rule (IPv4 and IPv6) that ``rules`` lack, or None."""
    everything = [r for r in rules if str(r.get("IpProtocol")) == "-1"]
    has_v4 = any(x.get("CidrIp") == "0.0.0.0/0" for r in everything for x in r.get("IpRanges", []))
    has_v6 = any(x.get("CidrIpv6") == "::/0" for r in everything for x in r.get("Ipv6Ranges", []))
    if has_v4 and has_v6:
        return None
    missing: dict[str, Any] = {"IpProtocol": "-1"}
    if not has_v4:
        missing["IpRanges"] = ALL_TRAFFIC["IpRanges"]
    if not has_v6:
        missing["Ipv6Ranges"] = ALL_TRAFFIC["Ipv6Ranges"]
    return missing


def _group(client: Any, vpc_id: str, name: str, description: str, incident_id: str) -> dict[str, Any]:
    """A responder security group of the VPC, by name; created (tagged with the incident) when missing."""
    found = client.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"]
    if found:
        return dict(found[0])
    created = client.create_security_group(
        GroupName=name,
        Description=description,
        VpcId=vpc_id,
        TagSpecifications=[
            {
                "ResourceType": "security-group",
                "Tags": [{"Key": cap.OWN_TAG, "Value": incident_id or "n/a"}],
            }
        ],
    )
    return dict(client.describe_security_groups(GroupIds=[created["GroupId"]])["SecurityGroups"][0])


def quarantine_group(client: Any, vpc_id: str, incident_id: str) -> str:
    """The VPC's quarantine group: found by name, else created once; it has no rules at all."""
    group = _group(
        client, vpc_id, QUARANTINE_GROUP_NAME, "Compromise responder quarantine: no ingress, no egress", incident_id
    )
    if group.get("IpPermissionsEgress"):  # a new group allows all egress
        client.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])
    return str(group["GroupId"])


@register
class TagIsolatedInstance(Action):
    """Record on the isolated instance what was done to it: finding, group and target groups it left, snapshots."""

    name = ActionName.TAG_ISOLATED_INSTANCE
    service = "ec2"
    grants = (cap.Grant(("ec2:CreateTags",), OWN_TAGS_ON, (cap.ONLY_OWN_TAG_KEYS,)),)
    phase = 36
    words = Words(
        "instance",
        "instances",
        "tagged with what was done (finding, group, target groups, snapshots)",
        "to tag with what is done",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            tags: Sequence[Mapping[str, str]] = step.params["tags"]
            client.create_tags(Resources=[step.target], Tags=[dict(t) for t in tags])
            return f"tags {step.params['keys']}"

        return each(steps, call)


def isolation_record_tags(
    finding: str, group: str | None, target_groups: Sequence[str], snapshots: Sequence[str]
) -> list[dict[str, str]]:
    """The tags ``tag-isolated-instance`` writes: only what happened (AWS accepted, or in a plan, planned)."""
    tags = [{"Key": FINDING_TAG, "Value": finding[:TAG_VALUE_MAX]}] if finding else []
    if group:
        tags.append({"Key": DETACHED_FROM_TAG, "Value": group[:TAG_VALUE_MAX]})
    if target_groups:
        tags += chunked_tags(DEREGISTERED_FROM_TAG, ";".join(target_groups))
    if snapshots:
        tags += chunked_tags(SNAPSHOTS_TAG, "+".join(snapshots))
    return tags


@register
class ReleaseInstance(Action):
    """Undo an isolation: put back the security groups recorded in the instance's tags."""

    name = ActionName.RELEASE_INSTANCE
    service = "ec2"
    grants = (*SWAP_GROUPS, cap.Grant(("ec2:DeleteTags",), OWN_TAGS_ON, (cap.ONLY_OWN_TAG_KEYS,)))
    phase = 35
    words = Words("instance", "instances", "released from isolation", "to release", short="released")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            restore: Sequence[tuple[str, Sequence[str]]] = step.params["restore"]
            set_groups(client, step.target, restore)
            keys = [{"Key": k} for k in step.params.get("tagKeys", ())]
            client.delete_tags(Resources=[step.target], Tags=keys)
            return "security groups restored: " + "; ".join(f"{e}={'+'.join(g)}" for e, g in restore)

        return each(steps, call)
