"""Tamper calls (pure): the calls that blind or disarm the responder, which of its resources each one names,
and who may make them. Contract: "Guarding the responder".

Lambda's CloudTrail event names carry the API version (``UpdateFunctionCode20150331v2``): a call is known by
its name without that suffix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core import own_names

# event source -> {base event name: the requestParameters field naming the target (None: the account itself)}
TAMPER_CALLS: dict[str, dict[str, str | None]] = {
    "cloudtrail.amazonaws.com": {
        "StopLogging": "name",
        "DeleteTrail": "name",
        "UpdateTrail": "name",
        "PutEventSelectors": "trailName",
    },
    "guardduty.amazonaws.com": {
        "DeleteDetector": "detectorId",
        "UpdateDetector": "detectorId",
        "DisassociateFromAdministratorAccount": "detectorId",
    },
    "events.amazonaws.com": {"DisableRule": "name", "DeleteRule": "name", "RemoveTargets": "rule"},
    "lambda.amazonaws.com": {
        "UpdateFunctionCode": "functionName",
        "UpdateFunctionConfiguration": "functionName",
        "DeleteFunction": "functionName",
        "PutFunctionConcurrency": "functionName",
        "RemovePermission": "functionName",
    },
    "sns.amazonaws.com": {
        "DeleteTopic": "topicArn",
        "Unsubscribe": "subscriptionArn",
        "SetTopicAttributes": "topicArn",
    },
    "s3.amazonaws.com": {
        "PutBucketLifecycle": "bucketName",
        "PutBucketPolicy": "bucketName",
        "DeleteBucketPolicy": "bucketName",
    },
    "organizations.amazonaws.com": {"LeaveOrganization": None},
}
# What each call's target is (the report's and the heartbeat's word for it).
TARGET_KIND = {
    "cloudtrail.amazonaws.com": "trail",
    "guardduty.amazonaws.com": "detector",
    "events.amazonaws.com": "rule",
    "lambda.amazonaws.com": "function",
    "sns.amazonaws.com": "topic",
    "s3.amazonaws.com": "bucket",
    "organizations.amazonaws.com": "organization",
}
# The EventBridge ``source`` of each event source (aws.<service>).
SOURCES = {source: "aws." + source.split(".", 1)[0] for source in TAMPER_CALLS}
_VERSION = re.compile(r"\d{8}(v\d+)?$")
# The names, with Lambda's versioned names as CloudTrail writes them today (the rule patterns also match by prefix).
LAMBDA_EVENT_NAMES = (
    "UpdateFunctionCode20150331v2",
    "UpdateFunctionConfiguration20150331v2",
    "DeleteFunction20150331",
    "PutFunctionConcurrency20171031",
    "RemovePermission20150331v2",
)
TAMPER_EVENT_NAMES = frozenset(n for calls in TAMPER_CALLS.values() for n in calls) | frozenset(LAMBDA_EVENT_NAMES)


def base_name(event_name: str) -> str:
    """``UpdateFunctionCode20150331v2`` -> ``UpdateFunctionCode``."""
    return _VERSION.sub("", event_name)


def is_tamper_call(event_name: str, event_source: str = "") -> bool:
    """A call of "Guarding the responder" (by name; with ``event_source``, of that service only)."""
    base = base_name(event_name)
    if event_source:
        return base in TAMPER_CALLS.get(event_source, {})
    return any(base in calls for calls in TAMPER_CALLS.values())


def target_name(kind: str, value: str) -> str:
    """The resource name in a request parameter that may be a name or an ARN."""
    if kind == "topic":  # arn:aws:sns:REGION:ACCOUNT:TOPIC[:SUBSCRIPTION]
        parts = value.split(":")
        return parts[5] if value.startswith("arn:") and len(parts) > 5 else value
    if kind == "function":  # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        parts = value.split(":")
        return parts[6] if value.startswith("arn:") and len(parts) > 6 else value.split(":", 1)[0]
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value  # trail/NAME, rule/[BUS/]NAME


def is_responders(kind: str, name: str) -> bool:
    """Whether the named resource is one of the responder's own (the account's detector and organization are)."""
    if kind in ("detector", "organization"):
        return True
    if kind == "trail":
        return name == own_names.TRAIL
    if kind == "topic":
        return name == own_names.TOPIC
    if kind == "bucket":
        return name.startswith(own_names.TRAIL_BUCKET_PREFIX)
    return name.startswith(f"{own_names.PREFIX}-")


def tamper_target(
    event_name: str, event_source: str, request: Mapping[str, Any], identity: Mapping[str, Any]
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(resources, details) of a successful tamper call, for the CloudTrail record: the target by kind, whether
    it is the responder's own, and the caller's session facts (principalId, invokedBy, the role it assumed)."""
    source = event_source if event_source in TAMPER_CALLS else next(
        s for s, calls in TAMPER_CALLS.items() if base_name(event_name) in calls
    )  # fmt: skip
    kind = TARGET_KIND[source]
    field_name = TAMPER_CALLS[source][base_name(event_name)]
    raw = str(request.get(field_name) or "") if field_name else "account"
    name = target_name(kind, raw) if raw else ""
    details = {"call": base_name(event_name), "targetKind": kind, "target": name,
               "responders": str(bool(name) and is_responders(kind, name)).lower()}  # fmt: skip
    session = identity.get("sessionContext") or {}
    issuer = session.get("sessionIssuer") or {} if isinstance(session, Mapping) else {}
    for key, value in (
        ("principalId", identity.get("principalId")),
        ("invokedBy", identity.get("invokedBy")),
        ("issuerType", issuer.get("type")),
        ("issuerName", issuer.get("userName")),
    ):
        if value:
            details[key] = str(value)
    if base_name(event_name) == "UpdateDetector" and "enable" in request:
        details["enable"] = str(request.get("enable")).lower()
    return ([(kind, name)] if name else []), details


@dataclass(frozen=True)
class Caller:
    """Who made a tamper call, as far as the record tells."""

    kind: str  # IAMUser | AssumedRole | Root | AWSService | ...
    name: str | None
    arn: str | None
    access_key_id: str | None
    principal_id: str | None
    role_name: str | None
    invoked_by: str | None

    @property
    def is_deploy(self) -> bool:
        """The CDK deploy roles, the StackSet execution role, or CloudFormation acting for its caller."""
        return (self.invoked_by in own_names.DEPLOY_SERVICES) or own_names.is_deploy_role(self.role_name)

    @property
    def session_id(self) -> str | None:
        """The role session's ``aws:userid`` (``AROA…:session``), when the caller is one."""
        if self.kind == "AssumedRole" and self.principal_id and ":" in self.principal_id:
            return self.principal_id
        return None


def caller_of(
    identity_type: str | None, name: str | None, arn: str | None, key: str | None, details: Mapping[str, str]
) -> Caller:
    role = details.get("issuerName") if details.get("issuerType") == "Role" else None
    if identity_type == "AssumedRole" and not role:
        role = name
    return Caller(identity_type or "Unknown", name, arn, key, details.get("principalId"), role,
                  details.get("invokedBy"))  # fmt: skip
