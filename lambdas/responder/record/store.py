"""DynamoDB: the launch ledger (who launched/created what) and the incidents table.

Thin executors: they only move data; what it means is decided elsewhere.

Ledger items (``pk``/``sk``; TTL ``expiresAt``; GSI ``byCreator`` on ``creatorArn``/``sk``):
  * ``key#<accessKeyId>`` / ``<eventTime>#<eventId>`` - one per recorded call (launch, persistence, attempt)
  * ``resource#<id>`` / ``launch`` - one per created resource: who launched it
Incident items:
  * ``incident#<id>`` / ``incident`` - status (open | planned | notified | contained | failed | closed), credential,
    principal, counts, the report of every attempt; once closed also who closed it, when and why
  * ``incident#<id>`` / ``attempt#<nnnn>`` - one per attempt (time, outcomes, notified or not)
  * ``incident#<id>`` / ``lifecycle#<time>#<request>`` - one per close or release (who, when, why, outcome)
  * ``credential#<key>``, ``principal#<arn>`` / ``incident#<id>`` - pointers to the incidents of a credential or
    principal: while ``open``, later launches by it are contained at once; ``closed`` after close-incident
  * ``quarantined#<arn>`` / ``incident#<id>`` - a principal the incident quarantined or whose sessions it revoked
    (release-principal refuses it while the pointer is ``open``)
  * ``incident#<id>`` / ``findings`` - persistence findings, written before anything is removed
  * ``incident#<id>`` / ``account#<account>`` - one account's part of an organization sweep
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from ..aws import Clients
from ..core import capabilities as cap
from ..core.fit import fit
from ..core.model import Launch, Window
from ..core.timeutil import iso, parse_time, utcnow
from ..parse.cloudtrail_records import CallRecord, creator_arn

LEDGER_READ = cap.declare(
    "record",
    "ledger-read",
    ("dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:GetItem"),
    cap.LEDGER_TABLE,
    "attribution; which call minted a temporary key",
)
LEDGER_WRITE = cap.declare("record", "ledger-write", ("dynamodb:BatchWriteItem",), cap.LEDGER_TABLE, "launch watcher")
INCIDENTS_READ = cap.declare(
    "record", "incidents-read", ("dynamodb:Query", "dynamodb:GetItem"), cap.INCIDENTS_TABLE, "open incidents"
)
INCIDENTS_WRITE = cap.declare(
    "record", "incidents-write", ("dynamodb:PutItem", "dynamodb:BatchWriteItem"), cap.INCIDENTS_TABLE, "record"
)
CREATOR_INDEX = "byCreator"
LEDGER_TTL_DAYS = 90
MAX_REPORT_BYTES = 300_000  # of report JSON in one DynamoDB item (400 KB, with the item's other attributes)

_ser = TypeSerializer()
_de = TypeDeserializer()


def _marshal(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items() if v not in (None, "", [], {})}


def _unmarshal(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in item.items()}


def write_all(client: Any, table: str, items: Sequence[Mapping[str, Any]]) -> None:
    """BatchWriteItem in chunks of 25, re-sending what DynamoDB left unprocessed."""
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": _marshal(i)}} for i in items[start : start + 25]]
        pending: dict[str, Any] = {table: requests}
        for attempt in range(8):
            resp = client.batch_write_item(RequestItems=pending)
            pending = resp.get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(min(1.0, 0.05 * 2**attempt))
        if pending:
            raise RuntimeError(f"DynamoDB left {len(pending.get(table, []))} items unwritten in {table}")


class _Table:
    def __init__(self, clients: Clients, table_name: str, region: str) -> None:
        self.name = table_name
        self.client = clients.get("dynamodb", region)

    def write_all(self, items: Sequence[Mapping[str, Any]]) -> None:
        write_all(self.client, self.name, items)

    def query(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(TableName=self.name, **kwargs):
            items.extend(_unmarshal(i) for i in page.get("Items", []))
        return items


class Ledger(_Table):
    """What the launch watcher saw: every launch, persistence call and failed attempt."""

    def record(self, rec: CallRecord) -> int:
        """Store one call and, for launches, one item per created resource. Returns items written."""
        expires = int(time.time()) + LEDGER_TTL_DAYS * 86400
        common: dict[str, Any] = {
            "kind": rec.kind,
            "eventId": rec.event_id,
            "eventName": rec.event_name,
            "eventSource": rec.event_source,
            "region": rec.region,
            "eventTime": iso(rec.time),
            "accessKeyId": rec.access_key_id,
            "sessionId": rec.session_id,
            "principalArn": rec.principal_arn,
            "principalType": rec.identity_type,
            "principalName": rec.principal_name,
            "sourceIp": rec.source_ip,
            "userAgent": rec.user_agent,
            "errorCode": rec.error_code,
            "instanceType": rec.instance_type,
            "terminationProtected": rec.termination_protected,
            "expiresAt": expires,
        }
        call: dict[str, Any] = dict(common)
        call.update(
            pk=f"key#{rec.access_key_id or 'none'}",
            sk=f"{iso(rec.time)}#{rec.event_id}",
            creatorArn=creator_arn(rec.principal_arn),
            resources=[{"kind": k, "id": i} for k, i in rec.resources],
            details=dict(rec.details),
        )
        items = [call]
        for kind, rid in rec.resources:
            if rec.kind == "launch":
                items.append(dict(common, pk=f"resource#{rid}", sk="launch", resourceKind=kind))
            elif kind == "credential" and not rec.error_code:  # an STS call: who minted this temporary key
                items.append(dict(common, pk=f"minted#{rid}", sk="minted", resources=[{"kind": kind, "id": rid}],
                                  details=dict(rec.details)))  # fmt: skip
        self.write_all(items)
        return len(items)

    def minter_of(self, access_key_id: str) -> CallRecord | None:
        """The STS call that minted a temporary key, when the watcher saw it (None: unknown)."""
        item = self.client.get_item(
            TableName=self.name, Key={"pk": {"S": f"minted#{access_key_id}"}, "sk": {"S": "minted"}}
        ).get("Item")
        return _call(_unmarshal(item)) if item else None

    def calls_by_key(self, access_key_id: str, window: Window | None) -> list[CallRecord]:
        return [_call(i) for i in self.query(**_range("pk", f"key#{access_key_id}", window))]

    def calls_by_creator(self, principal_arn: str, window: Window | None) -> list[CallRecord]:
        return [_call(i) for i in self.query(IndexName=CREATOR_INDEX, **_range("creatorArn", principal_arn, window))]

    def launchers_of(self, resource_ids: Iterable[str]) -> dict[str, Launch]:
        """Who launched each of these resources, where the ledger knows (BatchGetItem, 100 a call)."""
        ids = sorted(set(resource_ids))
        found: dict[str, Launch] = {}
        for start in range(0, len(ids), 100):
            keys = [{"pk": {"S": f"resource#{rid}"}, "sk": {"S": "launch"}} for rid in ids[start : start + 100]]
            pending: dict[str, Any] = {self.name: {"Keys": keys}}
            for attempt in range(8):
                resp = self.client.batch_get_item(RequestItems=pending)
                for raw in resp.get("Responses", {}).get(self.name, []):
                    item = _unmarshal(raw)
                    rid = str(item["pk"]).split("#", 1)[1]
                    found[rid] = _call(item).to_launch("ledger")
                pending = resp.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))
        return found


def _range(key: str, value: str, window: Window | None) -> dict[str, Any]:
    if window is None:
        return {
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {":v": {"S": value}},
        }
    return {
        "KeyConditionExpression": "#k = :v AND sk BETWEEN :a AND :b",
        "ExpressionAttributeNames": {"#k": key},
        "ExpressionAttributeValues": {
            ":v": {"S": value},
            ":a": {"S": iso(window.start) or ""},
            ":b": {"S": (iso(window.end) or "") + "~"},
        },
    }


def _call(item: Mapping[str, Any]) -> CallRecord:
    when: datetime | None
    try:
        when = parse_time(item.get("eventTime"))
    except ValueError:
        when = None
    return CallRecord(
        event_id=str(item.get("eventId", "")),
        event_name=str(item.get("eventName", "")),
        event_source=str(item.get("eventSource", "")),
        region=str(item.get("region", "")),
        time=when,
        identity_type=item.get("principalType"),
        principal_arn=item.get("principalArn"),
        principal_name=item.get("principalName"),
        access_key_id=item.get("accessKeyId"),
        session_id=item.get("sessionId"),
        source_ip=item.get("sourceIp"),
        user_agent=item.get("userAgent"),
        error_code=item.get("errorCode"),
        resources=tuple((str(r["kind"]), str(r["id"])) for r in item.get("resources", []) or []),
        instance_type=item.get("instanceType"),
        termination_protected=bool(item.get("terminationProtected", False)),
        details={str(k): str(v) for k, v in (item.get("details") or {}).items()},
    )


def credential_pointer(access_key_id: str) -> str:
    return f"credential#{access_key_id}"


def principal_pointer(principal_arn: str) -> str:
    return f"principal#{principal_arn}"


def quarantined_pointer(principal_arn: str) -> str:
    return f"quarantined#{principal_arn}"


def chain_credentials(report: Mapping[str, Any]) -> list[str]:
    """Every credential of the report's ``chain`` (derived ASIA.../AKIA... keys and AROA...:session ids): while
    the incident is open, a launch or persistence call by any of them is contained at once. Pure."""
    found = {str(link[k]) for link in report.get("chain") or [] for k in ("credential", "session") if link.get(k)}
    return sorted(found)


def pointers_of(incident: Mapping[str, Any]) -> list[str]:
    """Every pointer an incident item wrote while it was open (its credential, its chain's credentials, principal,
    quarantined ones)."""
    out = [credential_pointer(incident["accessKeyId"])] if incident.get("accessKeyId") else []
    out += [credential_pointer(str(c)) for c in incident.get("chainCredentials") or []]
    out += [principal_pointer(incident["principalArn"])] if incident.get("principalArn") else []
    return out + [quarantined_pointer(str(arn)) for arn in incident.get("quarantined") or []]


def pointer_items(pointers: Sequence[str], incident_id: str, status: str, at: str) -> list[dict[str, Any]]:
    stamp = "openedAt" if status == "open" else "closedAt"
    return [
        {"pk": pk, "sk": f"incident#{incident_id}", "incidentId": incident_id, "status": status, stamp: at}
        for pk in pointers
    ]


class Incidents(_Table):
    """Incidents: open ones make later launches by the same credential rogue at once."""

    def open_incident(
        self, access_key_id: str | None = None, principal_arn: str | None = None, session_id: str | None = None
    ) -> str | None:
        """The open incident of a key, a principal, or a role session (``AROA...:session``) of an incident's chain."""
        for pk in (
            credential_pointer(access_key_id) if access_key_id else None,
            principal_pointer(principal_arn) if principal_arn else None,
            credential_pointer(session_id) if session_id else None,
        ):
            if pk is None:
                continue
            for item in self._pointers(pk):
                if item.get("status") == "open":
                    return str(item.get("incidentId"))
        return None

    def _pointers(self, pk: str) -> list[dict[str, Any]]:
        return self.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": pk}})

    def open_of_credential(self, access_key_id: str) -> list[str]:
        """Every incident whose pointer for this credential is still open (health and GuardDuty may both have one)."""
        return sorted(
            {
                str(i["incidentId"])
                for i in self._pointers(credential_pointer(access_key_id))
                if i.get("status") == "open"
            }
        )

    def concerning(self, principal_arn: str) -> dict[str, str]:
        """incident id -> pointer status, for every incident about this principal or that quarantined it."""
        found: dict[str, str] = {}
        for pk in (principal_pointer(principal_arn), quarantined_pointer(principal_arn)):
            for item in self._pointers(pk):
                incident_id = str(item["incidentId"])
                if found.get(incident_id) != "open":
                    found[incident_id] = str(item.get("status"))
        return found

    def get(self, incident_id: str) -> dict[str, Any] | None:
        """The incident item (status, credential, the merged report), or None when there is none."""
        resp = self.client.get_item(
            TableName=self.name, Key={"pk": {"S": f"incident#{incident_id}"}, "sk": {"S": "incident"}}
        )
        return _unmarshal(resp["Item"]) if resp.get("Item") else None

    def history(self, incident_id: str) -> list[dict[str, Any]]:
        """Every item of one incident: the incident, its attempts, closes and releases, its findings."""
        return self.query(
            KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": f"incident#{incident_id}"}}
        )

    def summaries(self) -> list[dict[str, Any]]:
        """Every incident item without its report, newest first (the command line's listing; a Scan, so the
        CLI runs it with the engineer's credentials: no function of the stack is granted it)."""
        items: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.name,
            FilterExpression="sk = :incident",
            ExpressionAttributeValues={":incident": {"S": "incident"}},
        ):
            items.extend({k: v for k, v in _unmarshal(i).items() if k != "report"} for i in page.get("Items", []))
        return sorted(items, key=lambda i: str(i.get("incidentId")), reverse=True)

    def record_lifecycle(self, incident_ids: Sequence[str], entry: Mapping[str, Any]) -> None:
        """A close or release in the life of each incident it concerns (who, when, why, what AWS accepted)."""
        sk = f"lifecycle#{entry.get('at')}#{entry.get('requestId') or ''}"
        self.write_all(
            [
                {"pk": f"incident#{i}", "sk": sk, "incidentId": i, "lifecycle": json.dumps(entry, default=str)}
                for i in incident_ids
            ]
        )

    def attempts(self, incident_id: str) -> list[dict[str, Any]]:
        """Every recorded attempt of one incident, oldest first (a retry reads them before acting)."""
        items = self.query(
            KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
            ExpressionAttributeValues={":p": {"S": f"incident#{incident_id}"}, ":a": {"S": "attempt#"}},
        )
        out = []
        for item in items:
            attempt = json.loads(str(item.get("attempt") or "{}"))
            if isinstance(attempt, dict):
                out.append(attempt)
        return sorted(out, key=lambda a: int(a.get("attempt", 0)))

    def record(
        self,
        report: Mapping[str, Any],
        attempts: Sequence[Mapping[str, Any]],
        *,
        status: str,
        access_key_id: str | None,
        principal_arn: str | None,
        quarantined: Sequence[str] = (),
    ) -> None:
        """The incident as it stands (every attempt folded in), each attempt not yet stored, and - while it is
        open - the pointers that make later launches by its credential rogue at once, and that tell
        release-principal which principals it quarantined."""
        incident_id = str(report["incidentId"])
        now = iso(utcnow())
        counts = Counter(str(a.get("status")) for a in report.get("actions") or [])
        principal = report.get("principal") or {}
        items: list[dict[str, Any]] = [
            {
                "pk": f"incident#{incident_id}",
                "sk": "incident",
                "incidentId": incident_id,
                "status": status,
                "trigger": report.get("trigger"),
                "account": report.get("account"),
                "accessKeyId": access_key_id,
                "chainCredentials": chain_credentials(report),  # what the key became (issue 22)
                "principalArn": principal_arn,
                "quarantined": sorted(set(quarantined)),
                "attempts": int(report.get("attempt") or 1),
                "recordedAt": now,
                "startedAt": ((report.get("earlierAttempts") or [{}])[0].get("startedAt") or report.get("startedAt")),
                "severity": report.get("severity"),
                "headline": str(report.get("headline") or "")[:500],
                "principalName": principal.get("name"),
                "counts": {k: counts[k] for k in ("done", "failed", "skipped", "planned")},
                "regionsContained": sum(1 for v in (report.get("regions") or {}).values() if v == "contained"),
                "report": json.dumps(fit(dict(report), MAX_REPORT_BYTES), default=str),
            }
        ]
        for attempt in attempts:
            items.append(
                {
                    "pk": f"incident#{incident_id}",
                    "sk": f"attempt#{int(attempt.get('attempt', 0)):04d}",
                    "incidentId": incident_id,
                    "recordedAt": now,
                    "attempt": json.dumps(attempt, default=str),
                }
            )
        if status == "open":
            items += pointer_items(pointers_of(items[0]), incident_id, "open", str(now))
        self.write_all(items)

    def save_account_result(self, incident_id: str, account: str, report: Mapping[str, Any]) -> None:
        """One account's part of an organization sweep (a Distributed Map item), folded in at the end."""
        body = json.dumps(fit(dict(report), MAX_REPORT_BYTES), default=str)
        self.write_all(
            [{"pk": f"incident#{incident_id}", "sk": f"account#{account}", "incidentId": incident_id, "report": body}]
        )

    def account_results(self, incident_id: str) -> list[dict[str, Any]]:
        items = self.query(
            KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
            ExpressionAttributeValues={":p": {"S": f"incident#{incident_id}"}, ":a": {"S": "account#"}},
        )
        return [json.loads(str(i["report"])) for i in items if i.get("report")]

    def save_findings(self, incident_id: str, findings: Sequence[Mapping[str, Any]]) -> None:
        """What the persistence sweep found, before anything is removed."""
        self._save_part(incident_id, "findings", "findings", findings)

    def save_left_behind(self, incident_id: str, items: Sequence[Mapping[str, Any]]) -> None:
        """What the chain left behind, as it was before the undos (so a human can put it back)."""
        self._save_part(incident_id, "left-behind", "leftBehind", items)

    def _save_part(self, incident_id: str, sk: str, name: str, items: Sequence[Mapping[str, Any]]) -> None:
        self.write_all(
            [
                {
                    "pk": f"incident#{incident_id}",
                    "sk": sk,
                    "incidentId": incident_id,
                    name: json.dumps(list(items), default=str),
                    "recordedAt": iso(utcnow()),
                }
            ]
        )
