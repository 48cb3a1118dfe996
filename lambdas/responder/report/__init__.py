"""The report every handler returns, notifies and records (contract: "Report", "Truth of the report").

(this module)  Report: the steps and their outcomes, regions, facts; fitting it into SNS / DynamoDB
wording        the words a report may use about its steps, from their statuses only
needs_human    NEEDS A HUMAN lines
summary        the notification's human text and subject
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.model import Outcome, Principal, RegionResult, Step, Window
from ..core.timeutil import iso, utcnow
from ..record.attempts import step_key
from .wording import DOOR, capacity_phrase, failure_phrase, named_phrase, statuses


@dataclass
class Report:
    incident_id: str
    trigger: str
    mode: str
    principal: Principal | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    regions: dict[str, str] = field(default_factory=dict)
    region_errors: dict[str, str] = field(default_factory=dict)
    attribution: dict[str, str] = field(default_factory=dict)
    headline: str = ""  # a fixed headline, for responses that change nothing; else worded from the outcomes
    subject: str = ""  # what the response is about: "Exposed key AKIA... (ci-deployer)"
    done_word: str = ""  # said after the subject when every step succeeded: "contained"
    severity: str = "high"
    facts: dict[str, Any] = field(default_factory=dict)
    todo: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    window: Window | None = None
    status: str = "open"  # how the incident is recorded: open | planned | notified | recorded
    started: datetime = field(default_factory=utcnow)
    finished: datetime | None = None
    errors: list[str] = field(default_factory=list)
    account: str | None = None
    accounts: dict[str, dict[str, str]] = field(default_factory=dict)  # sweep-organization: account -> regions
    account_errors: dict[str, str] = field(default_factory=dict)  # organization mode: accounts not acted in
    attempt: int = 1
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier attempts, oldest first
    lifecycle: dict[str, Any] | None = None  # close/release: who, when, why (recorded in the incidents it concerns)
    concerns: list[str] = field(default_factory=list)  # close/release: the incidents it is about
    activity: dict[str, Any] | None = None  # what the key did (CloudTrail), for key containment and by hand
    chain: list[dict[str, Any]] | None = None  # the credentials the key became (key containment)
    left_behind: list[dict[str, Any]] | None = None  # what the chain left behind: undone, or for a human

    @property
    def dry_run(self) -> bool:
        return self.mode == "dry-run"

    def add(self, outcomes: list[Outcome]) -> None:
        self.outcomes.extend(outcomes)

    def add_regions(self, results: list[RegionResult]) -> None:
        for result in sorted(results, key=lambda r: r.region):
            self.regions[result.region] = result.status
            self.outcomes.extend(result.outcomes)
            if result.error:
                self.region_errors[result.region] = result.error
            if result.attribution:
                self.attribution[result.region] = result.attribution

    def add_second_pass(self, results: list[RegionResult]) -> None:
        """A second sweep of some regions (what the chain's later reading attributed): its steps join the report;
        a region is failed if either pass failed, contained if either stopped something."""
        rank = {"clean": 0, "contained": 1, "failed": 2}
        first = dict(self.regions)
        self.add_regions(results)
        for region, status in first.items():
            if rank.get(status, 0) > rank.get(self.regions[region], 0):
                self.regions[region] = status

    def all_regions(self) -> dict[str, str]:
        """Region statuses; across accounts (``account/region``) for an organization sweep."""
        every = dict(self.regions)
        for account, regions in self.accounts.items():
            every.update({f"{account}/{region}": status for region, status in regions.items()})
        return every

    @property
    def failed(self) -> bool:
        return (
            bool(self.errors)
            or bool(self.account_errors)
            or any(s == "failed" for s in self.all_regions().values())
            or any(o.status == "failed" for o in self.outcomes)
        )

    def status_of(self, action: str) -> str | None:
        """The status of the report's (first) step of this action, if it has one."""
        return next((o.status for o in self.outcomes if o.step.action == action), None)

    def absorb(self, other: Report) -> None:
        """Take another flow's steps into this report (one response made of two flows)."""
        self.outcomes.extend(other.outcomes)
        for region, status in other.regions.items():
            if self.regions.get(region) != "failed":
                self.regions[region] = status
        self.region_errors.update(other.region_errors)
        self.attribution.update(other.attribution)
        self.errors.extend(other.errors)
        self.todo.extend(t for t in other.todo if t not in self.todo)

    def failures(self) -> list[str]:
        out = [f"account {a}: {e}" for a, e in sorted(self.account_errors.items())]
        regions = self.all_regions()
        out += [f"region {r}: {e}" for r, e in sorted(self.region_errors.items()) if regions.get(r) == "failed"]
        out += [
            f"{o.step.action} {o.step.target} ({o.step.region}): {o.detail or 'failed'}"
            for o in self.outcomes
            if o.status == "failed"
        ]
        return out + list(self.errors)

    def hourly_cost_stopped(self) -> float:
        counted = ("done", "planned") if self.dry_run else ("done",)
        return round(
            sum(
                o.step.hourly_cost
                for o in self.outcomes
                if o.step.hourly_cost and o.status in counted  # terminated instances, and every kind beyond EC2
            ),
            2,
        )

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((o.step.action, o.status) for o in self.outcomes)

    def worded_headline(self) -> str:
        """The fixed headline, or the subject worded from what AWS accepted (never from what was meant)."""
        if self.headline:
            return self.headline
        regions = self.all_regions()
        failure = failure_phrase(self.outcomes, regions, self.errors)
        capacity = capacity_phrase(statuses(self.outcomes), regions, self.dry_run) if regions else None
        named = named_phrase(self.outcomes, self.dry_run, skip=DOOR if self.done_word and not failure else ())
        tail = "; ".join(p for p in (capacity, named) if p) or (
            "nothing to change" if self.dry_run else "nothing changed"
        )
        if self.dry_run:
            status = "plan"
        elif failure:
            status = "PARTIAL" if any(o.status == "done" for o in self.outcomes) else "FAILED"
        else:
            status = self.done_word
        head = " ".join(p for p in (self.subject or f"{self.trigger} response", status) if p)
        return f"{head}: " + "; ".join(p for p in (failure, tail) if p)

    # --- earlier attempts ------------------------------------------------------------------
    def include_earlier(self, attempts: Sequence[Mapping[str, Any]]) -> None:
        """Fold earlier attempts of this incident in (oldest first): a step AWS accepted in any attempt
        stays done; otherwise the latest outcome of each step stands. An earlier failure in a region this
        attempt swept completely again is resolved (the state moved on: nothing left to do there); it stays
        in ``earlierAttempts``. Regions keep ``contained``."""
        current = {step_key(o.to_json()): i for i, o in enumerate(self.outcomes)}
        swept = {r for r, status in self.regions.items() if status != "failed"}  # looked at again, completely
        for attempt in attempts:
            number = int(attempt.get("attempt", 0))
            report = attempt.get("report") or {}
            for action in report.get("actions", []):
                key = step_key(action)
                earlier = outcome_from_json(action, number)
                if key not in current:
                    if earlier.status == "failed" and earlier.step.region in swept:
                        continue  # this attempt swept the region again and found nothing left to do there
                    current[key] = len(self.outcomes)
                    self.outcomes.append(earlier)
                elif earlier.status == "done" and self.outcomes[current[key]].status != "done":
                    self.outcomes[current[key]] = earlier
            for region, status in (report.get("regions") or {}).items():
                now = self.regions.get(region)
                if now is None:
                    self.regions[region] = status
                    error = (report.get("regionErrors") or {}).get(region)
                    if error:
                        self.region_errors[region] = error
                elif now == "clean" and status == "contained":
                    self.regions[region] = "contained"
            self.history.append(
                {
                    "attempt": number,
                    "startedAt": attempt.get("startedAt"),
                    "finishedAt": attempt.get("finishedAt"),
                    "done": sum(1 for a in report.get("actions", []) if a.get("status") == "done"),
                    "failures": list(attempt.get("failures") or report.get("failures") or [])[:20],
                    "notified": attempt.get("notified"),
                }
            )
        if attempts:
            self.attempt = max(self.attempt, max(int(a.get("attempt", 0)) for a in attempts) + 1)

    def to_json(self) -> dict[str, Any]:
        finished = self.finished or utcnow()
        out = {
            "incidentId": self.incident_id,
            "trigger": self.trigger,
            "mode": self.mode,
            "account": self.account,
            "severity": self.severity,
            "headline": self.worded_headline(),
            "principal": self.principal.to_json() if self.principal else None,
            "actions": [o.to_json() for o in self.outcomes],
            "regions": dict(sorted(self.regions.items())),
            "estimatedHourlyCostStopped": self.hourly_cost_stopped(),
            "window": self.window.to_json() if self.window else None,
            "attribution": dict(sorted(self.attribution.items())),
            "facts": self.facts,
            "persistence": self.findings,
            "needsHuman": self.todo,
            "failures": self.failures(),
            "attempt": self.attempt,
            "startedAt": iso(self.started),
            "durationSeconds": round((finished - self.started).total_seconds(), 3),
        }
        if self.region_errors:
            out["regionErrors"] = dict(sorted(self.region_errors.items()))
        if self.accounts or self.account_errors:
            out["accounts"] = {a: dict(sorted(r.items())) for a, r in sorted(self.accounts.items())}
        if self.account_errors:
            out["accountErrors"] = dict(sorted(self.account_errors.items()))
        if self.history:
            out["earlierAttempts"] = self.history
        if self.lifecycle is not None:
            out["lifecycle"] = {**self.lifecycle, "incidents": list(self.concerns)}
        if self.activity is not None:
            out["activity"] = self.activity
        if self.chain is not None:
            out["chain"] = self.chain
        if self.left_behind is not None:
            out["leftBehind"] = self.left_behind
        return out


def outcome_from_json(action: Mapping[str, Any], attempt: int, *, keep_detail: bool = False) -> Outcome:
    """A reported action as an Outcome again: an earlier attempt's (its detail then says which attempt), or
    one account's in an organization sweep (``keep_detail``)."""
    known = {"action", "target", "region", "status", "reason", "source", "detail", "hourlyCost"}
    step = Step(
        action=str(action.get("action")),
        target=str(action.get("target")),
        region=str(action.get("region")),
        reason=str(action.get("reason") or ""),
        status="planned",
        params={k: v for k, v in action.items() if k not in known},
        hourly_cost=float(action.get("hourlyCost") or 0.0),
        source=action.get("source"),
    )
    detail = str(action.get("detail") or "")
    if not keep_detail and f"attempt {attempt}" not in detail:
        detail = f"attempt {attempt}" + (f": {detail}" if detail else "")
    return Outcome(step=step, status=action.get("status", "failed"), detail=detail)
