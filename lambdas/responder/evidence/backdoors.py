"""Backdoors: what a contained principal created to come back (the persistence sweep), neutralised
without deleting anything (incident 2, Code Spaces: the attacker made IAM users and keys while the
company was taking back control).

Sources, in order: the launch watcher's records (ledger, GSI by creator), else CloudTrail
``LookupEvents`` in us-east-1 (where IAM, a global service, records its events).

What is done with each backdoor (``plan_backdoors`` - pure):
  access key created              -> deactivated (Inactive, never deleted)
  IAM user created                -> deny-all quarantine policy
  IAM role created                -> deny-all quarantine policy
  login profile created/changed   -> removed (holds no data; recorded first)
  policy attached / put, trust policy changed, MFA device, group membership, EC2 key pair
                                  -> listed for a human to review (changing them could break workloads)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..actions import ActionName
from ..aws import describe_error
from ..core.model import GLOBAL, Principal, Step, Window
from ..core.timeutil import iso
from ..decide.rogue import RoguePolicy
from ..parse.cloudtrail_records import IAM_PERSISTENCE_EVENTS, PERSISTENCE_EVENTS, CallRecord
from .probes import lookup_calls

IAM_EVENTS_REGION = "us-east-1"
NEUTRALISE = {
    "access-key": (
        ActionName.DEACTIVATE_ACCESS_KEY,
        "access key created by the compromised principal: deactivate (never delete)",
    ),
    "iam-user": (ActionName.QUARANTINE_USER, "user created by the compromised principal: deny-all quarantine policy"),
    "iam-role": (ActionName.QUARANTINE_ROLE, "role created by the compromised principal: deny-all quarantine policy"),
    "login-profile": (
        ActionName.DELETE_LOGIN_PROFILE,
        "console password set by the compromised principal: remove it (recorded first)",
    ),
}
REVIEW = {
    "policy": "policy attached/put by the compromised principal: review it (not changed automatically)",
    "trust-policy": "role trust policy changed by the compromised principal: review who can assume it",
    "mfa-device": "MFA device created/enabled by the compromised principal: review and deactivate if unknown",
    "group-membership": "user added to a group by the compromised principal: review",
    "key-pair": "EC2 key pair created/imported by the compromised principal: review instances using it",
}


@dataclass(frozen=True)
class Backdoor:
    kind: str
    target: str
    creator: str
    time: datetime | None
    event_name: str
    event_id: str
    region: str
    source: str
    details: dict[str, str] = field(default_factory=dict)

    def to_json(self, response: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "target": self.target,
            "creator": self.creator,
            "time": iso(self.time),
            "eventName": self.event_name,
            "eventId": self.event_id,
            "region": self.region,
            "source": self.source,
        }
        if self.details:
            out["details"] = dict(self.details)
        if response:
            out["response"] = response
        return out


def backdoors_from(calls: Sequence[CallRecord], source: str) -> list[Backdoor]:
    out: list[Backdoor] = []
    seen: set[tuple[str, str]] = set()
    for call in sorted(calls, key=lambda c: (c.time is None, c.time)):
        if call.kind != "persistence":
            continue
        for kind, target in call.resources:
            if (kind, target) in seen:
                continue
            seen.add((kind, target))
            out.append(
                Backdoor(
                    kind,
                    target,
                    call.principal_arn or call.principal_name or "?",
                    call.time,
                    call.event_name,
                    call.event_id,
                    call.region,
                    source,
                    dict(call.details),
                )
            )
    return out


def plan_backdoors(backdoors: Sequence[Backdoor], policy: RoguePolicy, contained: Principal) -> list[Step]:
    """One step per finding: neutralise (deactivate/deny/remove) or flag for review. Pure."""
    steps: list[Step] = []
    planned: set[tuple[str, str]] = set()
    for f in backdoors:
        owner = f.details.get("userName") or f.details.get("roleName") or f.target
        when = f"{f.event_name} at {iso(f.time)} by {f.creator}"
        if f.kind in NEUTRALISE:
            action, why = NEUTRALISE[f.kind]
            if (action, f.target) in planned:
                continue
            planned.add((action, f.target))
            if policy.is_protected_principal(owner):
                steps.append(
                    Step(
                        action,
                        f.target,
                        GLOBAL,
                        f"{owner} is a protected principal: not touched ({when})",
                        status="skipped",
                        source=f.source,
                    )
                )
                continue
            if f.kind == "iam-user" and f.target == contained.name:
                continue  # the contained user itself is quarantined by the key containment
            params = {"userName": f.details.get("userName", "")} if f.kind == "access-key" else {}
            steps.append(Step(action, f.target, GLOBAL, f"{why} ({when})", params=params, source=f.source))
        else:
            region = GLOBAL if f.event_name in IAM_PERSISTENCE_EVENTS else f.region
            steps.append(
                Step(
                    ActionName.REVIEW_PERSISTENCE,
                    f.target,
                    region,
                    f"{REVIEW.get(f.kind, 'review')} ({when})",
                    status="skipped",
                    source=f.source,
                    params={"findingKind": f.kind},
                )
            )
    return steps


def gather_backdoors(ctx: Any, principal: Principal, window: Window) -> tuple[list[Backdoor], str | None]:
    """Ledger first (every region the watcher covers), else LookupEvents in us-east-1."""
    note = None
    if ctx.ledger is not None and principal.arn:
        try:
            found = backdoors_from(ctx.ledger.calls_by_creator(principal.arn, window), "ledger")
            if found:
                return found, None
        except Exception as exc:  # noqa: BLE001 - fall back to CloudTrail
            note = f"launch ledger unreadable ({describe_error(exc)})"
    if principal.type not in ("IAMUser",):
        return [], note
    try:
        calls = lookup_calls(
            ctx.clients, IAM_EVENTS_REGION, window, user_name=principal.name, event_names=PERSISTENCE_EVENTS
        )
        return backdoors_from(calls, "cloudtrail"), note
    except Exception as exc:  # noqa: BLE001 - best effort: say it could not look
        return [], "; ".join(n for n in (note, f"CloudTrail LookupEvents unavailable ({describe_error(exc)})") if n)
