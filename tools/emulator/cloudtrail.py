"""The CloudTrail moto lacks: realistic records of the scenario's calls, delivered two ways -
as "AWS API Call via CloudTrail" EventBridge events (for the launch watcher) and as answers to
``LookupEvents`` (moto raises NotImplementedError for it), paginated and throttled as AWS does."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .hooks import account_of_request, error_response, json_response, region_of

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
    read_only: bool = False,
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
        "readOnly": read_only,
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
    """Holds the scenario's CloudTrail records and answers ``LookupEvents`` from them as AWS does: newest
    first, at most 50 events a page with a ``NextToken``, filtered by one attribute and the time range.

    It answers at the HTTP layer (a ``before-send`` handler), inside botocore's retry loop, so a throttled
    page is retried by the SDK exactly as against AWS. Tests can deny a region, fail every lookup, or
    throttle a page (AWS allows 2 lookups per second per region and answers ``ThrottlingException``)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.denied_regions: set[str] = set()
        self.failure: tuple[str, str, int] | None = None  # (code, message, status) for every LookupEvents
        self.lookups: list[tuple[str, str]] = []
        self.throttled_pages: set[tuple[str | None, int]] = set()  # (region or None: any, page number from 1)
        self.throttled: Counter[str] = Counter()  # region -> ThrottlingException answers sent
        self._refused: set[tuple[str, str, int]] = set()  # (region, query, page) refused once: the retry passes
        self._lock = threading.Lock()

    def record(self, detail: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.records.append(detail)
        return envelope(detail)

    def throttle_page(self, page: int, *, region: str | None = None) -> None:
        """Every request for page ``page`` (1 = the first) of a lookup is refused once with
        ``ThrottlingException`` before it is answered: the SDK's retry gets the page."""
        self.throttled_pages.add((region, page))

    def on_send(self, request: Any, event_name: str, **_: Any) -> Any:
        if event_name != "before-send.cloudtrail.LookupEvents":
            return None
        region = region_of(request)
        params = json.loads(request.body or b"{}")
        request.url = "https://emulated-cloudtrail.invalid/"  # moto's handler must leave it alone: it would raise
        query = json.dumps({k: v for k, v in params.items() if k not in ("NextToken", "MaxResults")}, sort_keys=True)
        self.lookups.append((region, json.dumps(params.get("LookupAttributes", []))))
        if region in self.denied_regions:
            return error_response(
                "cloudtrail",
                "AccessDeniedException",
                "User is not authorized to perform: cloudtrail:LookupEvents (injected)",
                400,
            )
        if self.failure is not None:
            return error_response("cloudtrail", *self.failure)
        size = max(1, min(PAGE_SIZE, int(params.get("MaxResults") or PAGE_SIZE)))
        offset = _offset(params.get("NextToken"))
        page = offset // size + 1
        if self._refuse(region, query, page):
            return error_response("cloudtrail", "ThrottlingException", "Rate exceeded", 400)
        found = self.matching(region, params, account_of_request(request))
        body: dict[str, Any] = {"Events": [lookup_event(d) for d in found[offset : offset + size]]}
        if offset + size < len(found):
            body["NextToken"] = _token(offset + size)
        return json_response(200, body)

    def _refuse(self, region: str, query: str, page: int) -> bool:
        if (region, page) not in self.throttled_pages and (None, page) not in self.throttled_pages:
            return False
        with self._lock:
            key = (region, query, page)
            if key in self._refused:
                self._refused.discard(key)  # the retry is answered; the next reader is refused again
                return False
            self._refused.add(key)
            self.throttled[region] += 1
            return True

    def matching(self, region: str, params: dict[str, Any], account: str | None = None) -> list[dict[str, Any]]:
        """The records a lookup selects, newest first (each account's CloudTrail holds its own calls only)."""
        attributes = params.get("LookupAttributes") or []
        start, end = params.get("StartTime"), params.get("EndTime")
        with self._lock:
            records = list(self.records)
        out = []
        for detail in reversed(records):
            if detail["awsRegion"] != region or not _matches(detail, attributes):
                continue
            if account is not None and detail.get("recipientAccountId", account) != account:
                continue
            when = event_time(detail)
            if (start is not None and when < _utc(start)) or (end is not None and when > _utc(end)):
                continue
            out.append(detail)
        out.sort(key=event_time, reverse=True)  # stable: records of one second keep newest-recorded first
        return out


PAGE_SIZE = 50  # LookupEvents: "The default number of results returned is 50, with a maximum of 50 possible."


def event_time(detail: dict[str, Any]) -> datetime:
    return datetime.strptime(detail["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def lookup_event(detail: dict[str, Any]) -> dict[str, Any]:
    """One ``Events[]`` item as LookupEvents returns it (JSON protocol: the time in epoch seconds)."""
    identity = detail["userIdentity"]
    return {
        "EventId": detail["eventID"],
        "EventName": detail["eventName"],
        "ReadOnly": "true" if detail.get("readOnly") else "false",
        "AccessKeyId": identity.get("accessKeyId", ""),
        "EventTime": event_time(detail).timestamp(),
        "EventSource": detail["eventSource"],
        "Username": identity.get("userName") or identity.get("arn", "").rsplit("/", 1)[-1],
        "Resources": resources_of(detail),
        "CloudTrailEvent": json.dumps(detail),
    }


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])


def _utc(value: Any) -> datetime:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
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
    role = (detail.get("requestParameters") or {}).get("roleName")
    if detail.get("eventSource") == "iam.amazonaws.com" and isinstance(role, str):
        found.append({"ResourceType": "AWS::IAM::Role", "ResourceName": role})
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
