"""EC2 isolation actions: a compromised but legitimate instance keeps its evidence.

Nothing is terminated: every volume is snapshotted first, the original security groups are recorded in
tags (the way back), then every interface gets the VPC's quarantine group (no ingress, no egress).
``release-instance`` puts the recorded groups back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Outcome, Step
from .base import Action, ActionName, Words, each, register

QUARANTINE_GROUP_NAME = "compromise-responder-quarantine"
ORIGINAL_GROUPS_TAG = "compromise-responder:original-security-groups"  # -1, -2 ... when longer than a tag
ISOLATED_TAG = "compromise-responder:isolated"
FINDING_TAG = "compromise-responder:finding"
TAG_VALUE_MAX = 256


@register
class IsolateInstance(Action):
    """Replace an instance's security groups (and its network interfaces') with a quarantine group
    that has no ingress and no egress rules; the original groups are recorded in a tag."""

    name = ActionName.ISOLATE_INSTANCE
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
    stops_capacity = True  # the instance can no longer talk to anyone
    words = Words(
        "instance",
        "instances",
        "isolated (quarantine security group)",
        "to isolate",
        short="isolated",
        one="{noun} {target} {short} (not terminated)",
    )

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

        return each(steps, call)


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

    name = ActionName.SNAPSHOT_VOLUME
    service = "ec2"
    permissions = ("ec2:CreateSnapshot", "ec2:CreateTags")
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
class ReleaseInstance(Action):
    """Undo an isolation: put back the security groups recorded in the instance's tags."""

    name = ActionName.RELEASE_INSTANCE
    service = "ec2"
    permissions = ("ec2:ModifyInstanceAttribute", "ec2:ModifyNetworkInterfaceAttribute", "ec2:DeleteTags")
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
