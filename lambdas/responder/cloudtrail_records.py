"""Pure reading of CloudTrail records: who called what, and which resources it created.

The same reader serves the launch watcher (records delivered by EventBridge) and attribution
(records returned by CloudTrail ``LookupEvents``), so both sources agree on what a call created.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .events import BadInput, parse_cloudtrail
from .model import Launch
from .policy import role_arn_of_session, role_of_session
from .timeutil import parse_time

LAUNCH_EVENTS = frozenset(
    {
        "RunInstances",
        "RequestSpotInstances",
        "RequestSpotFleet",
        "CreateFleet",
        "CreateAutoScalingGroup",
        "UpdateAutoScalingGroup",
    }
)
POLICY_EVENTS = frozenset(
    {
        "AttachUserPolicy",
        "AttachRolePolicy",
        "AttachGroupPolicy",
        "PutUserPolicy",
        "PutRolePolicy",
        "PutGroupPolicy",
    }
)
IAM_PERSISTENCE_EVENTS = POLICY_EVENTS | frozenset(
    {
        "CreateUser",
        "CreateAccessKey",
        "CreateLoginProfile",
        "UpdateLoginProfile",
        "CreateRole",
        "UpdateAssumeRolePolicy",
        "CreateVirtualMFADevice",
        "EnableMFADevice",
        "AddUserToGroup",
    }
)
EC2_PERSISTENCE_EVENTS = frozenset({"CreateKeyPair", "ImportKeyPair"})
PERSISTENCE_EVENTS = IAM_PERSISTENCE_EVENTS | EC2_PERSISTENCE_EVENTS
WATCHED_EVENTS = LAUNCH_EVENTS | PERSISTENCE_EVENTS

_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")


@dataclass(frozen=True)
class CallRecord:
    """One API call as CloudTrail saw it, reduced to what containment needs."""

    event_id: str
    event_name: str
    event_source: str
    region: str
    time: datetime | None
    identity_type: str | None
    principal_arn: str | None
    principal_name: str | None
    access_key_id: str | None
    source_ip: str | None = None
    user_agent: str | None = None
    error_code: str | None = None
    resources: tuple[tuple[str, str], ...] = ()  # (kind, id)
    instance_type: str | None = None
    termination_protected: bool = False
    details: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def kind(self) -> str:
        if self.error_code:
            return "attempt"
        if self.event_name in LAUNCH_EVENTS:
            return "launch"
        if self.event_name in PERSISTENCE_EVENTS:
            return "persistence"
        return "other"

    @property
    def resource_ids(self) -> tuple[str, ...]:
        return tuple(rid for _kind, rid in self.resources)

    def to_launch(self, source: str) -> Launch:
        return Launch(
            event_id=self.event_id,
            event_name=self.event_name,
            region=self.region,
            time=self.time,
            access_key_id=self.access_key_id,
            principal_arn=self.principal_arn,
            principal_type=self.identity_type,
            principal_name=self.principal_name,
            resource_ids=self.resource_ids,
            source=source,
            termination_protected=self.termination_protected,
            instance_type=self.instance_type,
            source_ip=self.source_ip,
            user_agent=self.user_agent,
            error_code=self.error_code,
        )


def creator_arn(arn: str | None) -> str | None:
    """A session's role ARN (``sts::A:assumed-role/R/S`` -> ``iam::A:role/R``): one creator per role."""
    return (role_arn_of_session(arn) or arn) if arn else arn


def principal_name(identity: Mapping[str, Any]) -> str | None:
    """The user name, the role name of an assumed-role session, or ``root``."""
    kind = identity.get("type")
    if kind == "Root":
        return "root"
    if kind == "AssumedRole":
        issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
        if issuer.get("userName"):
            return str(issuer["userName"])
        role = role_of_session(str(identity.get("arn") or ""))
        if role:
            return role
    name = identity.get("userName")
    return str(name) if name else None


def read_record(detail: Mapping[str, Any], *, strict: bool = True) -> CallRecord:
    """Read one CloudTrail record (``detail`` of the EventBridge event, or a LookupEvents record).

    With ``strict``, a successful watched call whose response lacks the ids it must carry raises
    ``BadInput`` naming the field; LookupEvents records are read leniently.
    """
    identity = detail.get("userIdentity") or {}
    name = str(detail.get("eventName") or "")
    request = detail.get("requestParameters") or {}
    response = detail.get("responseElements")
    error = detail.get("errorCode")
    resources: list[tuple[str, str]] = []
    instance_type: str | None = None
    protected = False
    details: dict[str, str] = {}
    if not error and name in WATCHED_EVENTS:
        try:
            resources, instance_type, protected, details = _created(name, request, response, identity)
        except BadInput:
            if strict:
                raise
    try:
        when = parse_time(detail.get("eventTime"))
    except ValueError:
        if strict:
            raise BadInput("cloudtrail event: field 'detail.eventTime': not a timestamp") from None
        when = None
    return CallRecord(
        event_id=str(detail.get("eventID") or ""),
        event_name=name,
        event_source=str(detail.get("eventSource") or ""),
        region=str(detail.get("awsRegion") or ""),
        time=when,
        identity_type=identity.get("type"),
        principal_arn=identity.get("arn"),
        principal_name=principal_name(identity),
        access_key_id=identity.get("accessKeyId"),
        source_ip=detail.get("sourceIPAddress"),
        user_agent=detail.get("userAgent"),
        error_code=str(error) if error else None,
        resources=tuple(resources),
        instance_type=instance_type,
        termination_protected=protected,
        details=details,
    )


def _require(value: Any, field_name: str, event_name: str) -> Any:
    if value in (None, "", [], {}):
        raise BadInput(f"cloudtrail event: field 'detail.{field_name}': missing for successful {event_name}")
    return value


def _walk(obj: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            yield str(key), value
            yield from _walk(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _walk(value)


def _items(container: Any) -> list[Any]:
    """CloudTrail's XML-born lists: ``{"items": [...]}`` or ``{"item": [...]}`` or ``{"item": {...}}``."""
    if not isinstance(container, Mapping):
        return []
    value = container.get("items", container.get("item", []))
    return value if isinstance(value, list) else [value]


def _created(
    name: str, request: Mapping[str, Any], response: Any, identity: Mapping[str, Any]
) -> tuple[list[tuple[str, str]], str | None, bool, dict[str, str]]:
    res: list[tuple[str, str]] = []
    details: dict[str, str] = {}
    instance_type: str | None = None
    protected = False
    if name == "RunInstances":
        _require(response, "responseElements", name)
        items = _items(response.get("instancesSet"))
        res = [("instance", str(i["instanceId"])) for i in items if isinstance(i, Mapping) and i.get("instanceId")]
        _require(res, "responseElements.instancesSet.items", name)
        instance_type = request.get("instanceType") or next(
            (i.get("instanceType") for i in items if isinstance(i, Mapping)), None
        )
        protected = str(request.get("disableApiTermination", "")).lower() == "true"
    elif name == "RequestSpotInstances":
        _require(response, "responseElements", name)
        items = _items(response.get("spotInstanceRequestSet"))
        res = [
            ("spot-request", str(i["spotInstanceRequestId"]))
            for i in items
            if isinstance(i, Mapping) and i.get("spotInstanceRequestId")
        ]
        _require(res, "responseElements.spotInstanceRequestSet.items", name)
        instance_type = (request.get("launchSpecification") or {}).get("instanceType")
    elif name == "RequestSpotFleet":
        _require(response, "responseElements", name)
        res = [("spot-fleet", str(v)) for k, v in _walk(response) if k == "spotFleetRequestId" and isinstance(v, str)]
        _require(res, "responseElements.spotFleetRequestId", name)
        config = request.get("spotFleetRequestConfig") or request.get("SpotFleetRequestConfig") or {}
        types = [str(v) for k, v in _walk(config) if k.lower() == "instancetype" and isinstance(v, str)]
        instance_type = types[0] if types else None
    elif name == "CreateFleet":
        _require(response, "responseElements", name)
        fleets = [("ec2-fleet", str(v)) for k, v in _walk(response) if k.lower() == "fleetid" and isinstance(v, str)]
        _require(fleets, "responseElements.fleetId", name)
        instances = sorted({str(v) for _k, v in _walk(response) if isinstance(v, str) and _INSTANCE_ID.match(v)})
        res = fleets + [("instance", i) for i in instances]
        types = [str(v) for k, v in _walk(request) if k.lower() == "instancetype" and isinstance(v, str)]
        instance_type = types[0] if types else None
    elif name in ("CreateAutoScalingGroup", "UpdateAutoScalingGroup"):
        group = _require(request.get("autoScalingGroupName"), "requestParameters.autoScalingGroupName", name)
        res = [("asg", str(group))]
        types = [str(v) for k, v in _walk(request) if k.lower() == "instancetype" and isinstance(v, str)]
        instance_type = types[0] if types else None
    elif name in PERSISTENCE_EVENTS:
        res, details = _persistence(name, request, response or {}, identity)
    return res, instance_type, protected, details


def _persistence(
    name: str, request: Mapping[str, Any], response: Mapping[str, Any], identity: Mapping[str, Any]
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    caller = principal_name(identity) or ""
    user = str(request.get("userName") or "")
    if name == "CreateUser":
        return [("iam-user", str(_require(user, "requestParameters.userName", name)))], {"userName": user}
    if name == "CreateAccessKey":
        key = response.get("accessKey") or {}
        key_id = _require(key.get("accessKeyId"), "responseElements.accessKey.accessKeyId", name)
        owner = str(key.get("userName") or user or caller)
        return [("access-key", str(key_id))], {"userName": owner}
    if name in ("CreateLoginProfile", "UpdateLoginProfile"):
        owner = user or caller
        return [("login-profile", str(_require(owner, "requestParameters.userName", name)))], {"userName": owner}
    if name in POLICY_EVENTS:
        holder_kind = "user" if "User" in name else ("role" if "Role" in name else "group")
        holder = str(request.get(f"{holder_kind}Name") or "")
        policy = str(request.get("policyArn") or request.get("policyName") or "")
        _require(holder, f"requestParameters.{holder_kind}Name", name)
        return [("policy", f"{holder_kind}/{holder}:{policy}")], {f"{holder_kind}Name": holder, "policy": policy}
    if name == "CreateRole":
        role = str(_require(request.get("roleName"), "requestParameters.roleName", name))
        return [("iam-role", role)], {"roleName": role}
    if name == "UpdateAssumeRolePolicy":
        role = str(_require(request.get("roleName"), "requestParameters.roleName", name))
        return [("trust-policy", role)], {"roleName": role}
    if name in ("CreateVirtualMFADevice", "EnableMFADevice"):
        device = str(request.get("serialNumber") or request.get("virtualMFADeviceName") or "")
        _require(device, "requestParameters.virtualMFADeviceName", name)
        return [("mfa-device", device)], {"userName": user}
    if name == "AddUserToGroup":
        group = str(_require(request.get("groupName"), "requestParameters.groupName", name))
        return [("group-membership", f"{group}/{user}")], {"userName": user, "groupName": group}
    if name in EC2_PERSISTENCE_EVENTS:
        key_name = str(_require(request.get("keyName"), "requestParameters.keyName", name))
        return [("key-pair", key_name)], {"keyName": key_name}
    return [], {}  # pragma: no cover - every PERSISTENCE_EVENTS name is handled above


def parse_call_event(event: Any) -> CallRecord:
    """The EventBridge "AWS API Call via CloudTrail" envelope -> CallRecord, strictly: any problem is a
    ``BadInput`` naming the field, raised before anything is recorded or changed."""
    parse_cloudtrail(event)
    return read_record(event["detail"], strict=True)
