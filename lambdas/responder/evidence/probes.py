"""Read-only AWS calls that gather evidence, each declared with the permissions it needs.

A region costs at most one paginated describe per resource kind (instances, spot requests,
spot fleets, EC2 fleets, Auto Scaling groups) plus one CloudTrail lookup; fleets add one call
each to list their instances. All of them run concurrently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future
from datetime import datetime
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from ..aws import Clients, describe_error, error_code
from ..core import capabilities as cap
from ..core.model import BlockDevice, Capacity, CapacityKind, Instance, Launch, Principal, TargetGroupMembership, Window
from ..core.timeutil import as_utc
from ..parse.cloudtrail_records import LAUNCH_EVENTS, PERSISTENCE_EVENTS, CallRecord, read_record

ACTIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped"]
ACTIVE_FLEET_STATES = {"submitted", "active", "modifying"}
# Cancelled/deleted with TerminateInstances=false, instances still running: described, so the instances keep
# following their fleet's verdict (a retry after a failed terminate must still find them rogue).
STOPPED_FLEET_STATES = {"cancelled_running", "deleted_running"}
LISTED_FLEET_STATES = ACTIVE_FLEET_STATES | STOPPED_FLEET_STATES

DESCRIBE_REGIONS = cap.declare("read", "describe-regions", ("ec2:DescribeRegions",), doc="enabled regions")
DESCRIBE_INSTANCES = cap.declare("read", "describe-instances", ("ec2:DescribeInstances",))
DESCRIBE_SPOT_REQUESTS = cap.declare("read", "describe-spot-requests", ("ec2:DescribeSpotInstanceRequests",))
DESCRIBE_SPOT_FLEETS = cap.declare(
    "read",
    "describe-spot-fleets",
    grants=(
        cap.Grant(("ec2:DescribeSpotFleetRequests",)),
        cap.Grant(("ec2:DescribeSpotFleetInstances",), (cap.SPOT_FLEET,)),
    ),
)
DESCRIBE_EC2_FLEETS = cap.declare(
    "read",
    "describe-ec2-fleets",
    grants=(cap.Grant(("ec2:DescribeFleets",)), cap.Grant(("ec2:DescribeFleetInstances",), (cap.EC2_FLEET,))),
)
DESCRIBE_ASGS = cap.declare("read", "describe-auto-scaling-groups", ("autoscaling:DescribeAutoScalingGroups",))
DESCRIBE_ASG_MEMBERSHIP = cap.declare(
    "read", "describe-auto-scaling-instances", ("autoscaling:DescribeAutoScalingInstances",), doc="an instance's group"
)
DESCRIBE_TARGET_GROUPS = cap.declare(
    "read",
    "describe-target-groups",
    ("elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"),
    doc="which load-balancer target groups route to an instance",
)
LOOKUP_EVENTS = cap.declare("read", "lookup-events", ("cloudtrail:LookupEvents",), doc="attribution fallback")
KEY_OWNER = cap.declare("read", "key-owner", ("iam:GetAccessKeyLastUsed",), cap.IAM_USER, doc="who owns a key")
USER_POLICY = cap.declare("read", "user-inline-policy", ("iam:GetUserPolicy",), cap.IAM_USER, doc="is it quarantined")
ROLE_POLICY = cap.declare("read", "role-inline-policy", ("iam:GetRolePolicy",), cap.IAM_ROLE, doc="is it quarantined")
ATTACHED_USER_POLICIES = cap.declare(
    "read", "user-attached-policies", ("iam:ListAttachedUserPolicies",), cap.IAM_USER, doc="is it quarantined"
)
ATTACHED_ROLE_POLICIES = cap.declare(
    "read", "role-attached-policies", ("iam:ListAttachedRolePolicies",), cap.IAM_ROLE, doc="is it quarantined"
)
LOOKUP_MAX_PAGES = 20


def tags_of(raw: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {str(t.get("Key", t.get("key"))): str(t.get("Value", t.get("value", ""))) for t in raw or []}


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if isinstance(value, datetime) else None


# --- IAM ----------------------------------------------------------------------------------
class KeyOwner:
    """Result of GetAccessKeyLastUsed: the owner and the key's last use."""

    def __init__(self, principal: Principal | None, last_used: Mapping[str, Any] | None) -> None:
        self.principal = principal
        self.last_used = dict(last_used or {})


def key_owner(clients: Clients, home_region: str, access_key_id: str, account: str | None) -> KeyOwner:
    """Unknown key -> ``KeyOwner(None)``. The root user's keys report ``UserName: root``."""
    iam = clients.get("iam", home_region)
    try:
        resp = iam.get_access_key_last_used(AccessKeyId=access_key_id)
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return KeyOwner(None, None)
        raise
    user = str(resp.get("UserName") or "")
    last = resp.get("AccessKeyLastUsed") or {}
    if not user:
        return KeyOwner(None, last)
    partition = clients.session.get_partition_for_region(home_region)
    if user == "root" or user.startswith("<root"):
        arn = f"arn:{partition}:iam::{account}:root" if account else None
        return KeyOwner(Principal("Root", "root", arn, access_key_id), last)
    arn = f"arn:{partition}:iam::{account}:user/{user}" if account else None
    return KeyOwner(Principal("IAMUser", user, arn, access_key_id), last)


def inline_policy(clients: Clients, home_region: str, kind: str, name: str, policy_name: str) -> tuple[bool, str]:
    """(whether the user's or role's inline policy ``policy_name`` exists, what IAM said when it does not)."""
    iam = clients.get("iam", home_region)
    try:
        if kind == "user":
            iam.get_user_policy(UserName=name, PolicyName=policy_name)
        else:
            iam.get_role_policy(RoleName=name, PolicyName=policy_name)
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return False, describe_error(exc)
        raise
    return True, ""


def attached_policy(clients: Clients, home_region: str, kind: str, name: str, policy_arn: str) -> bool:
    """Whether the managed policy ``policy_arn`` is attached to the user or role."""
    iam = clients.get("iam", home_region)
    if kind == "user":
        pages = iam.get_paginator("list_attached_user_policies").paginate(UserName=name)
    else:
        pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
    return any(p.get("PolicyArn") == policy_arn for page in pages for p in page.get("AttachedPolicies", []))


# --- EC2 and Auto Scaling -----------------------------------------------------------------
def describe_instances(clients: Clients, region: str, instance_ids: list[str] | None = None) -> list[Instance]:
    ec2 = clients.get("ec2", region)
    kwargs: dict[str, Any] = {"Filters": [{"Name": "instance-state-name", "Values": ACTIVE_INSTANCE_STATES}]}
    if instance_ids:
        kwargs["InstanceIds"] = instance_ids
    else:
        kwargs["PaginationConfig"] = {"PageSize": 1000}
    out = []
    try:
        for page in ec2.get_paginator("describe_instances").paginate(**kwargs):
            for reservation in page.get("Reservations", []):
                for raw in reservation.get("Instances", []):
                    out.append(_instance(region, raw))
    except ClientError as exc:
        if instance_ids and error_code(exc).startswith("InvalidInstanceID"):
            return []  # asked about instances that are gone (or never were): nothing to act on
        raise
    return out


def _instance(region: str, raw: Mapping[str, Any]) -> Instance:
    enis = tuple(
        (str(eni["NetworkInterfaceId"]), tuple(str(g["GroupId"]) for g in eni.get("Groups", [])))
        for eni in raw.get("NetworkInterfaces", [])
        if eni.get("NetworkInterfaceId")
    )
    return Instance(
        id=str(raw["InstanceId"]),
        region=region,
        type=str(raw.get("InstanceType", "")),
        state=str((raw.get("State") or {}).get("Name", "")),
        launch_time=_utc(raw.get("LaunchTime")),
        tags=tags_of(raw.get("Tags")),
        vpc_id=raw.get("VpcId"),
        security_groups=tuple(str(g["GroupId"]) for g in raw.get("SecurityGroups", [])),
        network_interfaces=enis,
        spot_request_id=raw.get("SpotInstanceRequestId") or None,
        volumes=tuple(
            str(m["Ebs"]["VolumeId"])
            for m in raw.get("BlockDeviceMappings", [])
            if (m.get("Ebs") or {}).get("VolumeId")
        ),
        block_devices=tuple(
            BlockDevice(str(m["DeviceName"]), str(m["Ebs"]["VolumeId"]), bool(m["Ebs"].get("DeleteOnTermination")))
            for m in raw.get("BlockDeviceMappings", [])
            if m.get("DeviceName") and (m.get("Ebs") or {}).get("VolumeId")
        ),
        private_ips=tuple(
            str(address["PrivateIpAddress"])
            for eni in raw.get("NetworkInterfaces", [])
            for address in eni.get("PrivateIpAddresses", [])
            if address.get("PrivateIpAddress")
        ),
    )


def describe_spot_requests(clients: Clients, region: str) -> list[Capacity]:
    ec2 = clients.get("ec2", region)
    out = []
    pages = ec2.get_paginator("describe_spot_instance_requests").paginate(
        Filters=[{"Name": "state", "Values": ["open", "active"]}]
    )
    for page in pages:
        for raw in page.get("SpotInstanceRequests", []):
            spec = raw.get("LaunchSpecification") or {}
            out.append(
                Capacity(
                    kind="spot-request",
                    id=str(raw["SpotInstanceRequestId"]),
                    region=region,
                    state=str(raw.get("State", "")),
                    launched_at=_utc(raw.get("CreateTime")),
                    instance_types=tuple(t for t in [spec.get("InstanceType")] if t),
                    tags=tags_of(raw.get("Tags")),
                    instance_ids=tuple(i for i in [raw.get("InstanceId")] if i),
                )
            )
    return out


def describe_spot_fleets(clients: Clients, region: str) -> list[Capacity]:
    ec2 = clients.get("ec2", region)
    out = []
    for page in ec2.get_paginator("describe_spot_fleet_requests").paginate():
        for raw in page.get("SpotFleetRequestConfigs", []):
            state = str(raw.get("SpotFleetRequestState"))
            if state in LISTED_FLEET_STATES:
                fleet_id = str(raw["SpotFleetRequestId"])
                members = _fleet_members(partial(_spot_fleet_page, ec2, fleet_id))
                out.append(
                    _fleet("spot-fleet", fleet_id, region, state, raw, raw.get("SpotFleetRequestConfig"), members)
                )
    return out


def describe_ec2_fleets(clients: Clients, region: str) -> list[Capacity]:
    ec2 = clients.get("ec2", region)
    out = []
    for page in ec2.get_paginator("describe_fleets").paginate():
        for raw in page.get("Fleets", []):
            state = str(raw.get("FleetState"))
            if state not in LISTED_FLEET_STATES:
                continue
            fleet_id = str(raw["FleetId"])
            if raw.get("Type") == "instant":
                members = [
                    (str(i), "", str(item.get("InstanceType", "")))
                    for item in raw.get("Instances", [])
                    for i in item.get("InstanceIds", [])
                ]
            else:
                members = _fleet_members(partial(_ec2_fleet_page, ec2, fleet_id))
            out.append(_fleet("ec2-fleet", fleet_id, region, state, raw, raw.get("LaunchTemplateConfigs"), members))
    return out


def _fleet(
    kind: CapacityKind,
    fleet_id: str,
    region: str,
    state: str,
    raw: Mapping[str, Any],
    config: Any,
    members: list[tuple[str, str, str]],
) -> Capacity:
    """A spot or EC2 fleet with its members: (instance id, spot request id, instance type)."""
    return Capacity(
        kind=kind,
        id=fleet_id,
        region=region,
        state=state,
        launched_at=_utc(raw.get("CreateTime")),
        instance_types=_types_in(config) + tuple(m[2] for m in members if m[2]),
        tags=tags_of(raw.get("Tags")),
        instance_ids=tuple(m[0] for m in members),
        request_ids=tuple(m[1] for m in members if m[1]),
    )


def _spot_fleet_page(ec2: Any, fleet_id: str, token: dict[str, Any]) -> Mapping[str, Any]:
    return ec2.describe_spot_fleet_instances(SpotFleetRequestId=fleet_id, **token)  # type: ignore[no-any-return]


def _ec2_fleet_page(ec2: Any, fleet_id: str, token: dict[str, Any]) -> Mapping[str, Any]:
    return ec2.describe_fleet_instances(FleetId=fleet_id, **token)  # type: ignore[no-any-return]


def _fleet_members(call: Callable[[dict[str, Any]], Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """(instance id, spot request id, type) of a fleet's active instances, following NextToken."""
    members: list[tuple[str, str, str]] = []
    token: dict[str, Any] = {}
    while True:
        page = call(token)
        for item in page.get("ActiveInstances", []):
            members.append(
                (
                    str(item["InstanceId"]),
                    str(item.get("SpotInstanceRequestId") or ""),
                    str(item.get("InstanceType") or ""),
                )
            )
        if not page.get("NextToken"):
            return members
        token = {"NextToken": page["NextToken"]}


def _types_in(config: Any) -> tuple[str, ...]:
    found: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, Mapping):
            for key, value in obj.items():
                if key == "InstanceType" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    walk(config)
    return tuple(found)


def describe_auto_scaling_groups(clients: Clients, region: str) -> list[Capacity]:
    asg = clients.get("autoscaling", region)
    out = []
    for page in asg.get_paginator("describe_auto_scaling_groups").paginate(PaginationConfig={"PageSize": 100}):
        for raw in page.get("AutoScalingGroups", []):
            instances = raw.get("Instances", [])
            out.append(
                Capacity(
                    kind="asg",
                    id=str(raw["AutoScalingGroupName"]),
                    region=region,
                    state="active" if raw.get("MaxSize", 0) or raw.get("DesiredCapacity", 0) else "scaled-to-zero",
                    launched_at=_utc(raw.get("CreatedTime")),
                    instance_types=_types_in(raw.get("MixedInstancesPolicy"))
                    + tuple(str(i["InstanceType"]) for i in instances if i.get("InstanceType")),
                    tags=tags_of(raw.get("Tags")),
                    instance_ids=tuple(str(i["InstanceId"]) for i in instances),
                )
            )
    return out


ASG_NAME_TAG = "aws:autoscaling:groupName"  # set by Auto Scaling on every instance of a group


def auto_scaling_group_of(clients: Clients, region: str, instance: Instance) -> tuple[str | None, str | None]:
    """(the instance's Auto Scaling group, or None; a note when the answer came from its tag instead)."""
    try:
        found = clients.get("autoscaling", region).describe_auto_scaling_instances(InstanceIds=[instance.id])
    except ClientError as exc:
        group = instance.tags.get(ASG_NAME_TAG)
        return group, f"DescribeAutoScalingInstances failed ({describe_error(exc)}): group from its {ASG_NAME_TAG} tag"
    groups = [str(i["AutoScalingGroupName"]) for i in found.get("AutoScalingInstances", [])]
    return (groups[0] if groups else None), None


def target_groups_of(clients: Clients, region: str, instance: Instance, pool: Executor) -> list[TargetGroupMembership]:
    """Every target group of the instance's VPC that routes to it: by instance id, or by a private IP of it."""
    elbv2 = clients.get("elbv2", region)
    groups = [
        g
        for page in elbv2.get_paginator("describe_target_groups").paginate()
        for g in page.get("TargetGroups", [])
        if g.get("VpcId") == instance.vpc_id and g.get("TargetType", "instance") in ("instance", "ip")
    ]
    names = {instance.id, *instance.private_ips}

    def members(group: Mapping[str, Any]) -> TargetGroupMembership | None:
        health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
        targets = tuple(
            (str(t["Target"]["Id"]), t["Target"].get("Port"))
            for t in health.get("TargetHealthDescriptions", [])
            if t["Target"]["Id"] in names and (t.get("TargetHealth") or {}).get("State") != "draining"
        )
        return (
            TargetGroupMembership(str(group["TargetGroupArn"]), str(group["TargetGroupName"]), targets)
            if targets
            else None
        )

    return [m for m in pool.map(members, groups) if m is not None]


REGION_DESCRIBES: tuple[Callable[[Clients, str], list[Any]], ...] = (
    describe_instances,
    describe_spot_requests,
    describe_spot_fleets,
    describe_ec2_fleets,
    describe_auto_scaling_groups,
)


def start_describes(clients: Clients, region: str, pool: Executor) -> list[Future[list[Any]]]:
    """The region's describes, sent at once (the caller goes on meanwhile: ``described`` collects them)."""
    return [pool.submit(fn, clients, region) for fn in REGION_DESCRIBES]


def described(futures: Sequence[Future[list[Any]]]) -> tuple[list[Instance], list[Capacity]]:
    """The instances and the rest of EC2's and Auto Scaling's capacity; the first failure fails the region."""
    results = [f.result() for f in futures]
    instances: list[Instance] = results[0]
    capacity: list[Capacity] = [c for group in results[1:] for c in group]
    return instances, capacity


# --- CloudTrail ---------------------------------------------------------------------------
def lookup_calls(
    clients: Clients,
    region: str,
    window: Window | None,
    *,
    access_key_id: str | None = None,
    user_name: str | None = None,
    resource_name: str | None = None,
    event_names: frozenset[str] = LAUNCH_EVENTS | PERSISTENCE_EVENTS,
) -> list[CallRecord]:
    """CloudTrail LookupEvents (90 days of management events) for one key, user or resource, read leniently."""
    trail = clients.get("cloudtrail", region)
    if access_key_id:
        attribute = {"AttributeKey": "AccessKeyId", "AttributeValue": access_key_id}
    elif user_name:
        attribute = {"AttributeKey": "Username", "AttributeValue": user_name}
    elif resource_name:
        attribute = {"AttributeKey": "ResourceName", "AttributeValue": resource_name}
    else:
        raise ValueError("lookup_calls needs an access key id, a user name or a resource name")
    kwargs: dict[str, Any] = {"LookupAttributes": [attribute], "PaginationConfig": {"MaxItems": 50 * LOOKUP_MAX_PAGES}}
    if window is not None:
        kwargs.update(StartTime=window.start, EndTime=window.end)
    out = []
    for page in trail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page.get("Events", []):
            if event.get("EventName") not in event_names:
                continue
            try:
                detail = json.loads(event.get("CloudTrailEvent") or "{}")
            except ValueError:
                continue
            out.append(read_record(detail, strict=False))
    return out


def launch_of(clients: Clients, region: str, instance_id: str) -> Launch | None:
    """The call that launched an instance, from CloudTrail (LookupEvents by resource name, 90 days)."""
    for call in lookup_calls(clients, region, None, resource_name=instance_id, event_names=LAUNCH_EVENTS):
        if instance_id in call.resource_ids and call.access_key_id:
            return call.to_launch("cloudtrail")
    return None
