"""One incident per compromise (contract: "One incident per compromise"): open or join, and the page budget.

The first trigger about a credential opens its incident with a conditional write of one item per credential,
``credential#<key>`` / ``claim`` (two triggers at once cannot both open one); every later trigger about it -
Health, GuardDuty, AWS's quarantine attachment, a runbook, a launch event - JOINS the open incident: it is
recorded as ``incident#<id>`` / ``trigger#<time>#<its own id>`` and reports the open incident's id.

The claim also holds:
  * ``leaseUntil`` - while a full containment of the credential runs (or for HOLD_SECONDS after it finished),
    no other trigger contains it again: ``open_or_join`` hands the lease to at most one caller at a time;
  * ``lastPageAt`` - the page budget: a joined trigger pages (a digest) only when the last page of the incident
    is NOTIFY_DIGEST_MINUTES old (a conditional update: two joiners at once cannot both send one).

The claim shares its partition with the credential's pointers (``store.credential_pointer``), so
``Incidents.open_incident`` sees an incident from the moment it opens, before its containment completes.

A credential of an open incident's chain (a key or role session the compromised key minted: the incident's
``credential#<id>`` pointers, and its report's ``chain``) is that incident's: a trigger about it joins it
(``chain_parent``). Its containment, when one runs, holds a claim of its own (``credential#<derived>`` /
``claim``, with the incident's id), so it is never contained twice at once; pages follow the incident's budget.

For other engineers' triggers: ``open_or_join(ctx, credential, principal_arn)`` returns a ``Claim``
(``opened``: this trigger opened it; ``lease``: this trigger may contain the credential now), and
``join(ctx, incident_id)`` makes the response a trigger of an incident already found.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..core import capabilities as cap
from ..core.fit import fit
from ..core.timeutil import iso, parse_time, utcnow
from .store import credential_pointer

if TYPE_CHECKING:
    from ..core.model import Launch
    from ..parse.cloudtrail_records import CallRecord
    from ..report import Report
    from ..shell.context import ResponseContext

INCIDENT_CLAIM = cap.declare(
    "record",
    "incident-claim",
    ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"),
    cap.INCIDENTS_TABLE,
    "one open incident per credential: open it or join it (conditional writes), the page budget",
)
CLAIM_SK = "claim"
RUN_SECONDS = 900  # a containment holds the lease at most as long as a function runs
HOLD_SECONDS = 300  # after a containment: no second one of the same credential for this long
URGENT = "pageAtOnce"  # a report fact: this joined trigger pages at once (attacker acted after containment, tamper)
TRIGGER_REPORT_BYTES = 60_000
DIGEST_TRIGGERS = 500  # trigger items read for one digest


@dataclass(frozen=True)
class Claim:
    incident_id: str  # the open incident's id
    opened: bool  # this trigger opened it (or is a retry of the trigger that did)
    lease: bool  # this trigger may run the containment now
    credential: str | None = None
    opened_at: str | None = None
    lease_until: str | None = None  # when the lease of whoever holds it ends (joined without the lease)
    page_credential: str | None = None  # whose claim holds the page budget (an incident's chain: its own key)


@dataclass(frozen=True)
class ChainParent:
    """The open incident whose credential chain holds a credential."""

    incident_id: str
    root: str | None  # the incident's own credential (its claim holds the page budget)
    link: Mapping[str, Any]  # the incident's report ``chain`` entry of the credential


def chain_parent(ctx: ResponseContext, credential: str) -> ChainParent | None:
    """The open incident whose chain holds ``credential`` (a key or role session its compromised key minted): its
    pointer ``credential#<credential>`` and its record's ``chain``. None when the credential is no open incident's
    derived credential (or it is the incident's own), or the record cannot be read (the trigger then acts alone)."""
    if ctx.incidents is None:
        return None
    try:
        for incident_id in ctx.incidents.open_of_credential(credential):
            item = ctx.incidents.get(incident_id) or {}
            if item.get("accessKeyId") == credential or item.get("status") != "open":
                continue
            report = json.loads(str(item.get("report") or "{}"))
            for link in report.get("chain") or []:
                if credential in (link.get("credential"), link.get("session")):
                    root = str(item["accessKeyId"]) if item.get("accessKeyId") else None
                    return ChainParent(incident_id, root, link)
    except Exception as exc:  # noqa: BLE001 - a read: without it this trigger is handled on its own
        ctx.log("chain parent unreadable", credential=credential, error=str(exc)[:300])
    return None


MINTED_DEPTH = 3  # the chain's depth (``chain.MAX_DEPTH``): how far back a temporary key's minting is followed


def incident_of_call(ctx: ResponseContext, rec: CallRecord | Launch) -> str | None:
    """The open incident whose chain a call's credential belongs to (a CloudTrail record, or the launch a ledger or
    LookupEvents names): its key, principal or role session (``AROA...:session``, also when the session's key is
    new) points to it, or its temporary key was minted - as the watcher recorded it - by a credential that does (a
    session assumed after the chain was read). None when the incidents or the ledger cannot be read (the call is
    then handled on its own)."""
    if ctx.incidents is None:
        return None
    call: CallRecord | Launch | None = rec
    try:
        for _ in range(MINTED_DEPTH + 1):
            if call is None:
                return None
            session = getattr(call, "session_id", None)  # a Launch does not keep it
            incident = ctx.incidents.open_incident(call.access_key_id, call.principal_arn, session)
            key = call.access_key_id or ""
            if incident or ctx.ledger is None or not key.startswith("ASIA"):
                return incident
            call = ctx.ledger.minter_of(key)
    except Exception as exc:  # noqa: BLE001 - a read: without it this call is judged on its own
        ctx.log("incident of call unreadable", key=rec.access_key_id, error=str(exc)[:300])
    return None


def claims(ctx: ResponseContext) -> bool:
    """Whether this response opens or joins incidents at all (a dry-run, or no incidents table: it does not)."""
    return _table(ctx) is not None


def _table(ctx: ResponseContext) -> tuple[Any, str] | None:
    if ctx.incidents is None or ctx.dry_run:
        return None
    return ctx.incidents.client, ctx.incidents.name


def _key(credential: str) -> dict[str, Any]:
    return {"pk": {"S": credential_pointer(credential)}, "sk": {"S": CLAIM_SK}}


def _failed_condition(exc: Exception) -> bool:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def open_or_join(ctx: ResponseContext, credential: str, principal_arn: str | None = None) -> Claim | None:
    """Open the credential's incident (conditional put), or join the open one. None: no incidents table or a
    dry-run (which never opens an incident) - the caller then acts as before."""
    where = _table(ctx)
    if where is None:
        return None
    client, table = where
    now = utcnow()
    # a credential the chain of an open incident minted: that incident's (read ahead beside idempotency, if it was)
    parent = ctx.ahead("chain-parent", credential, lambda: chain_parent(ctx, credential))
    item = {
        **_key(credential),
        "incidentId": {"S": parent.incident_id if parent else ctx.incident_id},
        "status": {"S": "open"},
        "credential": {"S": credential},
        "openedAt": {"S": iso(now)},
        "openedBy": {"S": ctx.trigger},
        "leaseUntil": {"S": iso(now + timedelta(seconds=RUN_SECONDS))},
        "lastPageAt": {"S": iso(now)},  # the opener's own page comes at its end: no digest before it
    }
    if principal_arn:
        item["principalArn"] = {"S": principal_arn}
    if parent:
        item["claimedBy"] = {"S": ctx.incident_id}  # this trigger's retry completes its own containment
        if parent.root:
            item["pageCredential"] = {"S": parent.root}
    try:
        client.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(pk) OR #s <> :open",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":open": {"S": "open"}},
        )
        if parent:
            claim = Claim(parent.incident_id, False, True, credential, iso(now), page_credential=parent.root)
        else:
            claim = Claim(ctx.incident_id, True, True, credential, iso(now))
    except Exception as exc:
        if not _failed_condition(exc):
            raise
        claim = _join_open(ctx, client, table, credential, now)
    ctx.claim = claim
    return claim


def _join_open(ctx: ResponseContext, client: Any, table: str, credential: str, now: datetime) -> Claim:
    found = client.get_item(TableName=table, Key=_key(credential), ConsistentRead=True).get("Item") or {}
    incident_id = found.get("incidentId", {}).get("S", ctx.incident_id)
    opened_at = found.get("openedAt", {}).get("S")
    page = found.get("pageCredential", {}).get("S")
    if incident_id == ctx.incident_id:  # a retry of the trigger that opened it: it completes its own response
        return Claim(incident_id, True, True, credential, opened_at)
    if found.get("claimedBy", {}).get("S") == ctx.incident_id:  # a retry of a chain credential's own containment
        return Claim(incident_id, False, True, credential, opened_at, page_credential=page)
    try:  # the containment ran and its hold is over: this trigger may contain again (only what is new is done)
        client.update_item(
            TableName=table,
            Key=_key(credential),
            UpdateExpression="SET leaseUntil = :until, leaseBy = :me",
            ConditionExpression="#s = :open AND incidentId = :id AND leaseUntil < :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":until": {"S": iso(now + timedelta(seconds=RUN_SECONDS))},
                ":me": {"S": ctx.incident_id},
                ":open": {"S": "open"},
                ":id": {"S": incident_id},
                ":now": {"S": iso(now)},
            },
        )
        return Claim(incident_id, False, True, credential, opened_at, page_credential=page)
    except Exception as exc:
        if not _failed_condition(exc):
            raise
    return Claim(incident_id, False, False, credential, opened_at, found.get("leaseUntil", {}).get("S"), page)


def join(
    ctx: ResponseContext, incident_id: str, credential: str | None = None, page_credential: str | None = None
) -> Claim:
    """This response is a trigger of the open incident ``incident_id`` (found by the caller): no lease."""
    ctx.claim = Claim(incident_id, False, False, credential, page_credential=page_credential)
    return ctx.claim


def joined_without_lease(ctx: ResponseContext, report: Report, claim: Claim, what: str, credential: str) -> Report:
    """A containment of ``credential`` runs or ran minutes ago: do nothing twice, say so (no page by itself)."""
    report.incident_id = claim.incident_id
    report.status = "joined"
    report.severity = "info"
    state = "running" if claim.lease_until is None else f"held until {claim.lease_until}"
    report.headline = (
        f"{what} key {credential}: joined open incident {claim.incident_id} (its containment is {state}); "
        "nothing done twice"
    )
    report.facts["joinedIncident"] = claim.incident_id
    return report


# --- the end of a response: record the trigger, spend the page budget ------------------------------------------
def is_joined(ctx: ResponseContext) -> bool:
    claim = getattr(ctx, "claim", None)
    return claim is not None and not claim.opened


def page_decision(ctx: ResponseContext, data: dict[str, Any]) -> str:
    """Whether this response pages: ``at once`` (its own incident, a failure, an urgent fact), ``digest`` (a
    joined trigger when the incident's last page is NOTIFY_DIGEST_MINUTES old), else ``none``."""
    if not is_joined(ctx):
        return "at once"
    if data.get("failures") or (data.get("facts") or {}).get(URGENT):
        return "at once"
    return "digest" if _digest_due(ctx) else "none"


def _digest_due(ctx: ResponseContext) -> bool:
    where = _table(ctx)
    claim = ctx.claim
    budget = (claim.page_credential or claim.credential) if claim is not None else None
    if where is None or claim is None or budget is None:
        return False
    client, table = where
    now = utcnow()
    cutoff = now - timedelta(minutes=ctx.settings.notify_digest_minutes)
    try:
        client.update_item(
            TableName=table,
            Key=_key(budget),
            UpdateExpression="SET lastPageAt = :now ADD digests :one",
            ConditionExpression="incidentId = :id AND lastPageAt < :cutoff",
            ExpressionAttributeValues={
                ":now": {"S": iso(now)},
                ":one": {"N": "1"},
                ":id": {"S": claim.incident_id},
                ":cutoff": {"S": iso(cutoff)},
            },
        )
        return True
    except Exception as exc:
        if not _failed_condition(exc):
            raise
        return False


def digest(ctx: ResponseContext, data: dict[str, Any]) -> dict[str, Any]:
    """The digest page: this trigger's report, headed by what every trigger that joined did (incident record)."""
    claim = ctx.claim
    assert claim is not None
    triggers = [*_trigger_items(ctx, claim.incident_id), _trigger_entry(data, "digest")]
    line = digest_line(claim.incident_id, claim.credential, triggers)
    out = dict(data)
    out["headline"] = line
    out["severity"] = "high"
    out["digest"] = {"incidentId": claim.incident_id, "triggers": len(triggers), "line": line}
    return out


def digest_line(incident_id: str, credential: str | None, triggers: Sequence[Mapping[str, Any]]) -> str:
    """``incident X: 14 more launches by AKIA... contained in 9 regions since 03:12; also guardduty, health``."""
    launches = [t for t in triggers if t.get("kind") == "launch" and int(t.get("stopped") or 0) > 0]
    regions = sorted({str(t.get("region")) for t in launches if t.get("region")})
    times = sorted(str(t.get("at")) for t in triggers if t.get("at"))
    since = ""
    if times:
        try:
            since = f" since {parse_time(times[0]).strftime('%H:%M')}"  # type: ignore[union-attr]
        except (ValueError, AttributeError):
            since = ""
    others = Counter(str(t.get("trigger")) for t in triggers if t.get("kind") != "launch")
    parts = []
    if launches:
        parts.append(
            f"{len(launches)} more launch{'es' if len(launches) != 1 else ''} by {credential or 'the credential'} "
            f"contained in {len(regions)} region{'s' if len(regions) != 1 else ''}{since}"
        )
    if others:
        parts.append("joined: " + ", ".join(f"{n} {t}" for t, n in sorted(others.items())))
    return "Digest: " + ("; ".join(parts) or f"{len(triggers)} triggers joined incident {incident_id}{since}")


def _trigger_entry(data: Mapping[str, Any], paged: str, status: str | None = None) -> dict[str, Any]:
    actions = data.get("actions") or []
    stopped = sum(1 for a in actions if a.get("status") == "done" and a.get("action") == "terminate-instance")
    regions = [r for r, s in (data.get("regions") or {}).items() if s == "contained"]
    facts = data.get("facts") or {}
    return {
        "trigger": data.get("trigger"),
        "kind": "launch" if facts.get("call") and data.get("trigger") == "cloudtrail" else "trigger",
        "at": data.get("startedAt"),
        "headline": str(data.get("headline") or "")[:300],
        "status": status,
        "stopped": stopped,
        "region": regions[0] if len(regions) == 1 else None,
        "regions": regions,
        "counts": dict(Counter(str(a.get("status")) for a in actions)),
        "paged": paged,
    }


def _trigger_items(ctx: ResponseContext, incident_id: str) -> list[dict[str, Any]]:
    if ctx.incidents is None:
        return []
    items = ctx.incidents.query(
        KeyConditionExpression="pk = :p AND begins_with(sk, :t)",
        ExpressionAttributeValues={":p": {"S": f"incident#{incident_id}"}, ":t": {"S": "trigger#"}},
        Limit=DIGEST_TRIGGERS,
    )
    out = []
    for item in items:
        try:
            out.append(json.loads(str(item.get("summary") or "{}")))
        except ValueError:
            continue
    return out


def record_trigger(
    ctx: ResponseContext, data: dict[str, Any], attempt: dict[str, Any], paged: str, status: str
) -> None:
    """The joined trigger in the open incident's record (what it did, its report), and its attempt under its own
    id (a retry of the same envelope reads it back, as for any response)."""
    claim = ctx.claim
    assert ctx.incidents is not None and claim is not None
    now = iso(utcnow())
    entry = _trigger_entry(data, paged, status)
    ctx.incidents.write_all(
        [
            {
                "pk": f"incident#{claim.incident_id}",
                "sk": f"trigger#{now}#{ctx.incident_id}",
                "incidentId": claim.incident_id,
                "triggerId": ctx.incident_id,
                "recordedAt": now,
                "summary": json.dumps(entry, default=str),
                "report": json.dumps(fit(dict(data), TRIGGER_REPORT_BYTES), default=str),
            },
            {
                "pk": f"incident#{ctx.incident_id}",
                "sk": f"attempt#{int(attempt.get('attempt', 0)):04d}",
                "incidentId": ctx.incident_id,
                "joined": claim.incident_id,
                "recordedAt": now,
                "attempt": json.dumps(attempt, default=str),
            },
        ]
    )


def settle(ctx: ResponseContext, data: Mapping[str, Any], notified: bool, status: str) -> None:
    """After a containment under the claim: hold it (no second containment for HOLD_SECONDS) or, when it failed,
    free it for the retry; a response that did not leave the incident open closes the claim."""
    where = _table(ctx)
    claim = ctx.claim
    if where is None or claim is None or not claim.lease or claim.credential is None:
        return
    client, table = where
    now = utcnow()
    failed = bool(data.get("failures"))
    until = now if failed else now + timedelta(seconds=HOLD_SECONDS)
    sets = ["leaseUntil = :until"]
    values: dict[str, Any] = {":until": {"S": iso(until)}, ":id": {"S": claim.incident_id}}
    if notified:
        sets.append("lastPageAt = :now")
        values[":now"] = {"S": iso(now)}
    if claim.opened and status not in ("open", "joined") and not failed:
        sets.append("#s = :status")  # notify-only (protected, unknown): no incident stays open
        values[":status"] = {"S": status}
    try:
        client.update_item(
            TableName=table,
            Key=_key(claim.credential),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="incidentId = :id",
            ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": {"#s": "status"}} if any("#s" in s for s in sets) else {}),
        )
    except Exception as exc:
        if not _failed_condition(exc):
            raise


def close_claim(client: Any, table: str, pointers: list[str] | tuple[str, ...], incident_id: str, at: str) -> None:
    """close-incident: the credential's claim closes with its incident (a later trigger opens a new one)."""
    for pk in pointers:
        if not str(pk).startswith("credential#"):
            continue
        try:
            client.update_item(
                TableName=table,
                Key={"pk": {"S": str(pk)}, "sk": {"S": CLAIM_SK}},
                UpdateExpression="SET #s = :closed, closedAt = :at",
                ConditionExpression="incidentId = :id",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":closed": {"S": "closed"}, ":at": {"S": at}, ":id": {"S": incident_id}},
            )
        except Exception as exc:
            if not _failed_condition(exc):
                raise


def claim_containment(
    ctx: ResponseContext, report: Report, credential: str, principal: Any, what: str
) -> Report | None:
    """Before closing the door on ``credential``: open its incident or join the open one. Returns the finished
    report when this trigger must not contain it (a containment runs or ran minutes ago), else None (go on)."""
    if ctx.policy.is_protected_principal(principal.name, principal.arn) and principal.type != "Root":
        return None  # notify only: nothing is contained, no incident opens
    claim = open_or_join(ctx, credential, principal.arn)
    if claim is None:
        return None
    report.incident_id = claim.incident_id
    if claim.page_credential and claim.lease:  # a credential of the incident's chain: contained under it
        report.facts["joinedIncident"] = claim.incident_id
        report.facts["chainOf"] = f"{credential} is a credential of the chain of {claim.page_credential}"
    if claim.lease:
        return None
    return joined_without_lease(ctx, report, claim, what, credential)


def incident_view(ctx: ResponseContext, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The open incident's own report with every trigger that joined it (this one included): what its Security
    Hub finding shows when a trigger joins (the same finding, updated - never a second one). None until the
    opener has recorded its report."""
    claim = ctx.claim
    item = ctx.incidents.get(claim.incident_id) if ctx.incidents is not None and claim is not None else None
    if claim is None or not item or not item.get("report"):
        return None
    try:
        view = json.loads(str(item["report"]))
    except ValueError:
        return None
    entries = [*_trigger_items(ctx, claim.incident_id), _trigger_entry(data, str(data.get("page") or "none"))]
    view["joined"] = [{"trigger": e.get("trigger"), "at": e.get("at"), "headline": e.get("headline")} for e in entries]
    return dict(view)
