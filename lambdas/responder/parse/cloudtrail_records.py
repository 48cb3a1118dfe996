"""Pure reading of CloudTrail records: who called what, and which resources it created.

The same reader serves the launch watcher (records delivered by EventBridge) and attribution
(records returned by CloudTrail ``LookupEvents``), so both sources agree on what a call created.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core.arns import role_arn_of_session, role_of_session
from ..core.model import Launch
from ..core.timeutil import parse_time
from .events import ACCESS_KEY_ID, BadInput, parse_cloudtrail, shown
from .guard_calls import is_tamper_call, tamper_target

if TYPE_CHECKING:
    from ..kinds.base import CapacityKind

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
# STS calls that extend a credential chain (contract: "The credential chain"): recorded with what they minted
CHAIN_EVENTS = frozenset(
    {"AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "GetFederationToken", "GetSessionToken"}
)
WATCHED_EVENTS = LAUNCH_EVENTS | PERSISTENCE_EVENTS | CHAIN_EVENTS


def _kind_of(event_source: str, event_name: str) -> CapacityKind | None:
    """The kind beyond EC2 whose create call this is (``responder.kinds``, read at call time: no import circle)."""
    from ..kinds import kind_of_event

    return kind_of_event(event_source, event_name)


def launch_events() -> frozenset[str]:
    """Every launch call: EC2's and those of the kinds beyond EC2 (for LookupEvents)."""
    from .. import kinds

    return LAUNCH_EVENTS | kinds.launch_events()


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
    account: str | None = None  # the account the call was made in (the envelope's)
    session_id: str | None = None  # a role session's ``AROA...:session`` (``userIdentity.principalId``)

    @property
    def kind(self) -> str:
        if self.error_code:
            return "attempt"
        if is_tamper_call(self.event_name, self.event_source):  # "Guarding the responder"
            return "tamper"
        if self.event_name in LAUNCH_EVENTS or _kind_of(self.event_source, self.event_name):
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
    if not isinstance(request, Mapping) or not isinstance(identity, Mapping):
        if strict:
            raise BadInput("cloudtrail event: field 'detail.requestParameters': expected an object")
        request, identity = {}, identity if isinstance(identity, Mapping) else {}
    kind = _kind_of(str(detail.get("eventSource") or ""), name)
    if not error and is_tamper_call(name, str(detail.get("eventSource") or "")):
        resources, details = tamper_target(name, str(detail.get("eventSource")), request, identity)
    elif not error and (name in WATCHED_EVENTS or kind):
        try:
            if kind:
                resources = kind.created(name, request, response or {})
            else:
                resources, instance_type, protected, details = _created(name, request, response, identity)
        except BadInput:
            if strict:
                raise
        except (AttributeError, TypeError, KeyError) as exc:  # a shape no AWS record has
            if strict:
                raise BadInput(f"cloudtrail event: field 'detail.responseElements': malformed for {name}") from exc
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
        session_id=str(identity.get("principalId") or "") or None if identity.get("type") == "AssumedRole" else None,
        source_ip=detail.get("sourceIPAddress"),
        user_agent=detail.get("userAgent"),
        error_code=str(error) if error else None,
        resources=tuple(resources),
        instance_type=instance_type,
        termination_protected=protected,
        details=details,
    )


ID_PATTERNS = {
    "instance": re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$"),
    "spot-request": re.compile(r"^sir-[0-9a-z]{8,32}$"),
    "spot-fleet": re.compile(r"^sfr-[0-9a-f-]{8,40}$"),
    "ec2-fleet": re.compile(r"^fleet-[0-9a-f-]{8,40}$"),
    "asg": re.compile(r"^[^:*]{1,255}$"),
}
NAME = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,128}$")


def _require(value: Any, field_name: str, event_name: str) -> Any:
    if value in (None, "", [], {}):
        raise BadInput(f"cloudtrail event: field 'detail.{field_name}': missing for successful {event_name}")
    return value


def _obj(container: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    """A JSON object field, or {} when absent; any other type is bad input naming the field."""
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadInput(f"cloudtrail event: field 'detail.{path}': expected an object, got {type(value).__name__}")
    return value


def _text(container: Mapping[str, Any], key: str, path: str) -> str | None:
    """A string field, or None when absent; any other type is bad input naming the field."""
    value = container.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadInput(f"cloudtrail event: field 'detail.{path}': expected a string, got {type(value).__name__}")
    return value


def _id(kind: str, value: Any, path: str) -> tuple[str, str]:
    if not isinstance(value, str) or not ID_PATTERNS[kind].match(value):
        raise BadInput(f"cloudtrail event: field 'detail.{path}': {str(value)[:60]!r} is not a {kind} id")
    return kind, value


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


def _listed_ids(kind: str, items: list[Any], key: str, path: str, event_name: str) -> list[tuple[str, str]]:
    """The ids a successful call's response lists (at least one), each checked against its kind's pattern."""
    if not all(isinstance(i, Mapping) for i in items):
        raise BadInput(f"cloudtrail event: field 'detail.{path}': not a list of objects")
    found = [_id(kind, i.get(key), f"{path}.{key}") for i in items if i.get(key)]
    return list(_require(found, path, event_name))


def _instance_type(obj: Any, path: str) -> str | None:
    """The first ``instanceType`` anywhere in a request (launch templates, overrides...)."""
    for key, value in _walk(obj):
        if key.lower() == "instancetype":
            if not isinstance(value, str):
                raise BadInput(f"cloudtrail event: field 'detail.{path}': instanceType is not a string")
            return value
    return None


def _created(
    name: str, request: Mapping[str, Any], response: Any, identity: Mapping[str, Any]
) -> tuple[list[tuple[str, str]], str | None, bool, dict[str, str]]:
    res: list[tuple[str, str]] = []
    details: dict[str, str] = {}
    instance_type: str | None = None
    protected = False
    if name in LAUNCH_EVENTS - {"CreateAutoScalingGroup", "UpdateAutoScalingGroup"}:
        _require(response, "responseElements", name)
    if name == "RunInstances":
        items = _items(response.get("instancesSet"))
        res = _listed_ids("instance", items, "instanceId", "responseElements.instancesSet.items", name)
        instance_type = _text(request, "instanceType", "requestParameters.instanceType") or _instance_type(
            items, "responseElements.instancesSet.items"
        )
        protected = str(request.get("disableApiTermination", "")).lower() == "true"
    elif name == "RequestSpotInstances":
        items = _items(response.get("spotInstanceRequestSet"))
        res = _listed_ids(
            "spot-request", items, "spotInstanceRequestId", "responseElements.spotInstanceRequestSet.items", name
        )
        spec = _obj(request, "launchSpecification", "requestParameters.launchSpecification")
        instance_type = _text(spec, "instanceType", "requestParameters.launchSpecification.instanceType")
    elif name == "RequestSpotFleet":
        res = [
            _id("spot-fleet", v, "responseElements.spotFleetRequestId")
            for k, v in _walk(response)
            if k == "spotFleetRequestId"
        ]
        _require(res, "responseElements.spotFleetRequestId", name)
        instance_type = _instance_type(request, "requestParameters.spotFleetRequestConfig")
    elif name == "CreateFleet":
        fleets = [_id("ec2-fleet", v, "responseElements.fleetId") for k, v in _walk(response) if k.lower() == "fleetid"]
        _require(fleets, "responseElements.fleetId", name)
        instances = sorted({str(v) for _k, v in _walk(response) if isinstance(v, str) and _INSTANCE_ID.match(v)})
        res = fleets + [("instance", i) for i in instances]
        instance_type = _instance_type(request, "requestParameters")
    elif name in ("CreateAutoScalingGroup", "UpdateAutoScalingGroup"):
        group = _text(request, "autoScalingGroupName", "requestParameters.autoScalingGroupName")
        res = [
            _id(
                "asg",
                _require(group, "requestParameters.autoScalingGroupName", name),
                "requestParameters.autoScalingGroupName",
            )
        ]
        instance_type = _instance_type(request, "requestParameters")
    elif name in PERSISTENCE_EVENTS:
        res, details = _persistence(name, request, response or {}, identity)
    elif name in CHAIN_EVENTS:
        res, details = _minted(name, request, response or {}, identity)
    return res, instance_type, protected, details


def _minted(
    name: str, request: Mapping[str, Any], response: Any, identity: Mapping[str, Any]
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The credential an STS call minted (``credentials.accessKeyId``) and, for a role, its session id."""
    if not isinstance(response, Mapping):
        raise BadInput("cloudtrail event: field 'detail.responseElements': expected an object")
    credentials = _obj(response, "credentials", "responseElements.credentials")
    key = _text(credentials, "accessKeyId", "responseElements.credentials.accessKeyId")
    if key is None or not ACCESS_KEY_ID.match(key):
        return [], {}  # nothing the chain can follow (the session id alone is kept by LookupEvents)
    details = {"via": name}
    assumed = _obj(response, "assumedRoleUser", "responseElements.assumedRoleUser")
    if assumed:
        details["assumedRoleId"] = (
            _text(assumed, "assumedRoleId", "responseElements.assumedRoleUser.assumedRoleId") or ""
        )
        details["principal"] = _text(assumed, "arn", "responseElements.assumedRoleUser.arn") or ""
        role = role_of_session(details["principal"]) or str(request.get("roleArn") or "").rsplit("/", 1)[-1]
        details["roleName"] = role
    else:
        details["userName"] = principal_name(identity) or ""
        federated = _obj(response, "federatedUser", "responseElements.federatedUser")
        details["principal"] = _text(federated, "arn", "responseElements.federatedUser.arn") or str(
            identity.get("arn") or ""
        )
    return [("credential", key)], details


def _name(container: Mapping[str, Any], key: str, where: str = "requestParameters") -> str:
    """An IAM/EC2 name (request, or response at ``where``): a string of IAM's name characters, or bad input naming it."""
    value = _text(container, key, f"{where}.{key}") or ""
    if value and not NAME.match(value):
        raise BadInput(f"cloudtrail event: field 'detail.{where}.{key}': not a valid name")
    return value


def _persistence(
    name: str, request: Mapping[str, Any], response: Mapping[str, Any], identity: Mapping[str, Any]
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    if not isinstance(response, Mapping):
        raise BadInput("cloudtrail event: field 'detail.responseElements': expected an object")
    caller = principal_name(identity) or ""
    user = _name(request, "userName")
    if name == "CreateUser":
        return [("iam-user", str(_require(user, "requestParameters.userName", name)))], {"userName": user}
    if name == "CreateAccessKey":
        key = _obj(response, "accessKey", "responseElements.accessKey")
        key_id = _require(
            _text(key, "accessKeyId", "responseElements.accessKey.accessKeyId"),
            "responseElements.accessKey.accessKeyId",
            name,
        )
        if not ACCESS_KEY_ID.match(key_id):  # the persistence sweep sets this key Inactive
            raise BadInput(
                f"cloudtrail event: field 'detail.responseElements.accessKey.accessKeyId': {shown(key_id)} "
                "is not an access key id"
            )
        owner = _name(key, "userName", "responseElements.accessKey") or user or caller
        return [("access-key", key_id)], {"userName": owner}
    if name in ("CreateLoginProfile", "UpdateLoginProfile"):
        owner = user or caller
        return [("login-profile", str(_require(owner, "requestParameters.userName", name)))], {"userName": owner}
    if name in POLICY_EVENTS:
        holder_kind = "user" if "User" in name else ("role" if "Role" in name else "group")
        holder = _name(request, f"{holder_kind}Name")
        policy = (
            _text(request, "policyArn", "requestParameters.policyArn")
            or _text(request, "policyName", "requestParameters.policyName")
            or ""
        )
        _require(holder, f"requestParameters.{holder_kind}Name", name)
        return [("policy", f"{holder_kind}/{holder}:{policy}")], {f"{holder_kind}Name": holder, "policy": policy}
    if name == "CreateRole":
        role = str(_require(_name(request, "roleName"), "requestParameters.roleName", name))
        return [("iam-role", role)], {"roleName": role}
    if name == "UpdateAssumeRolePolicy":
        role = str(_require(_name(request, "roleName"), "requestParameters.roleName", name))
        return [("trust-policy", role)], {"roleName": role}
    if name in ("CreateVirtualMFADevice", "EnableMFADevice"):
        device = _text(request, "serialNumber", "requestParameters.serialNumber") or _text(
            request, "virtualMFADeviceName", "requestParameters.virtualMFADeviceName"
        )
        _require(device, "requestParameters.virtualMFADeviceName", name)
        return [("mfa-device", str(device))], {"userName": user}
    if name == "AddUserToGroup":
        group = str(_require(_name(request, "groupName"), "requestParameters.groupName", name))
        return [("group-membership", f"{group}/{user}")], {"userName": user, "groupName": group}
    if name in EC2_PERSISTENCE_EVENTS:
        key_name = str(
            _require(_text(request, "keyName", "requestParameters.keyName"), "requestParameters.keyName", name)
        )
        return [("key-pair", key_name[:255])], {"keyName": key_name[:255]}
    return [], {}  # pragma: no cover - every PERSISTENCE_EVENTS name is handled above


def parse_call_event(event: Any, partition: str = "aws") -> CallRecord:
    """The EventBridge "AWS API Call via CloudTrail" envelope -> CallRecord, strictly: any problem is a
    ``BadInput`` naming the field, raised before anything is recorded or changed."""
    envelope = parse_cloudtrail(event, partition)
    return replace(read_record(event["detail"], strict=True), account=envelope.account)
