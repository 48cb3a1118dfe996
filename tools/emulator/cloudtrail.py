"""The CloudTrail moto lacks: realistic records of the scenario's calls, delivered two ways -
as "AWS API Call via CloudTrail" EventBridge events (for the launch watcher) and as answers to
``LookupEvents`` (moto raises NotImplementedError for it)."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .hooks import Call, error, reply

ACCOUNT = "123456789012"
EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"


@dataclass(frozen=True)
class Identity:
    """Who makes the call, as CloudTrail's ``userIdentity`` shows it."""

    type: str
    name: str
    access_key_id: str
    account: str = ACCOUNT
    principal_id: str = "AIDACKCEVSQ6C2EXAMPLE"

    @property
    def arn(self) -> str:
        if self.type == "Root":
            return f"arn:aws:iam::{self.account}:root"
        if self.type == "AssumedRole":
            return f"arn:aws:sts::{self.account}:assumed-role/{self.name}/session"
        return f"arn:aws:iam::{self.account}:user/{self.name}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": self.account,
            "accessKeyId": self.access_key_id,
        }
        if self.type == "IAMUser":
            out["userName"] = self.name
        if self.type == "AssumedRole":
            out["sessionContext"] = {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROACKCEVSQ6C2EXAMPLE",
                    "arn": f"arn:aws:iam::{self.account}:role/{self.name}",
                    "accountId": self.account,
                    "userName": self.name,
                }
            }
        return out


def cloudtrail_detail(
    identity: Identity,
    event_name: str,
    event_source: str,
    region: str,
    request: dict[str, Any] | None,
    response: dict[str, Any] | None,
    *,
    when: datetime | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    source_ip: str = "198.51.100.23",
    user_agent: str = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
) -> dict[str, Any]:
    when = when or datetime.now(UTC)
    detail: dict[str, Any] = {
        "eventVersion": "1.10",
        "userIdentity": identity.to_json(),
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": request,
        "responseElements": response,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": identity.account,
        "eventCategory": "Management",
    }
    if error_code:
        detail["errorCode"] = error_code
        detail["errorMessage"] = error_message or ""
    return detail


def envelope(detail: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge event AWS delivers for a CloudTrail record."""
    source = "aws." + str(detail["eventSource"]).split(".", 1)[0]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": source,
        "account": detail["recipientAccountId"],
        "time": detail["eventTime"],
        "region": detail["awsRegion"],
        "resources": [],
        "detail": detail,
    }


class EmulatedCloudTrail:
    """Holds the scenario's CloudTrail records and answers ``LookupEvents`` from them."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.denied_regions: set[str] = set()
        self.failure: tuple[str, str, int] | None = None  # (code, message, status) for every LookupEvents
        self.lookups: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def record(self, detail: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.records.append(detail)
        return envelope(detail)

    def __call__(self, call: Call) -> Any:
        if call.action != "cloudtrail:LookupEvents":
            return None
        self.lookups.append((call.region, json.dumps(call.params.get("LookupAttributes", []), default=str)))
        if call.region in self.denied_regions:
            return error(
                "AccessDeniedException", "User is not authorized to perform: cloudtrail:LookupEvents (injected)"
            )
        if self.failure is not None:
            return error(*self.failure)
        attributes = call.params.get("LookupAttributes") or []
        start, end = call.params.get("StartTime"), call.params.get("EndTime")
        events = []
        for detail in reversed(self.records):  # newest first, as AWS returns them
            if detail["awsRegion"] != call.region or detail.get("recipientAccountId", call.account) != call.account:
                continue  # each account's CloudTrail holds its own calls only
            if not _matches(detail, attributes):
                continue
            when = datetime.strptime(detail["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            if (start and when < _utc(start)) or (end and when > _utc(end)):
                continue
            identity = detail["userIdentity"]
            events.append(
                {
                    "EventId": detail["eventID"],
                    "EventName": detail["eventName"],
                    "ReadOnly": "false",
                    "AccessKeyId": identity.get("accessKeyId", ""),
                    "EventTime": when,
                    "EventSource": detail["eventSource"],
                    "Username": identity.get("userName") or identity.get("arn", "").rsplit("/", 1)[-1],
                    "Resources": resources_of(detail),
                    "CloudTrailEvent": json.dumps(detail),
                }
            )
        return reply(200, {"Events": events})


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


RESOURCE_TYPES = {  # what CloudTrail lists under Resources for the ids a call's response carries
    "instanceId": "AWS::EC2::Instance",
    "spotInstanceRequestId": "AWS::EC2::SpotInstanceRequest",
    "spotFleetRequestId": "AWS::EC2::SpotFleetRequest",
    "fleetId": "AWS::EC2::Fleet",
}


def resources_of(detail: dict[str, Any]) -> list[dict[str, str]]:
    """The ``Resources`` LookupEvents returns with a record (the ids it created), as AWS lists them."""
    found: list[dict[str, str]] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key in RESOURCE_TYPES and isinstance(value, str):
                    found.append({"ResourceType": RESOURCE_TYPES[key], "ResourceName": value})
                else:
                    walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    walk(detail.get("responseElements"))
    group = (detail.get("requestParameters") or {}).get("autoScalingGroupName")
    if isinstance(group, str):
        found.append({"ResourceType": "AWS::AutoScaling::AutoScalingGroup", "ResourceName": group})
    return found


def _matches(detail: dict[str, Any], attributes: list[dict[str, str]]) -> bool:
    identity = detail["userIdentity"]
    for attribute in attributes:
        key, value = attribute["AttributeKey"], attribute["AttributeValue"]
        if key == "ResourceName":
            if value not in {r["ResourceName"] for r in resources_of(detail)}:
                return False
            continue
        actual = {
            "AccessKeyId": identity.get("accessKeyId"),
            "Username": identity.get("userName"),
            "EventName": detail["eventName"],
            "EventSource": detail["eventSource"],
        }.get(key)
        if actual != value:
            return False
    return True
