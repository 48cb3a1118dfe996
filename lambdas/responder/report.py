"""The report every handler returns, notifies and records (contract: "Report")."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import Outcome, Principal, RegionResult, Window
from .timeutil import iso, utcnow

SEVERITIES = ("critical", "high", "medium", "info")


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
    headline: str = ""
    severity: str = "high"
    facts: dict[str, Any] = field(default_factory=dict)
    todo: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    window: Window | None = None
    status: str = "open"  # how the incident is recorded: open | planned | notified
    started: datetime = field(default_factory=utcnow)
    finished: datetime | None = None
    errors: list[str] = field(default_factory=list)

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

    @property
    def failed(self) -> bool:
        return (
            bool(self.errors)
            or any(s == "failed" for s in self.regions.values())
            or any(o.status == "failed" for o in self.outcomes)
        )

    def failures(self) -> list[str]:
        out = [f"region {r}: {e}" for r, e in sorted(self.region_errors.items())]
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
                if o.step.action == "terminate-instance" and o.status in counted
            ),
            2,
        )

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((o.step.action, o.status) for o in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        finished = self.finished or utcnow()
        return {
            "incidentId": self.incident_id,
            "trigger": self.trigger,
            "mode": self.mode,
            "severity": self.severity,
            "headline": self.headline,
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
            "startedAt": iso(self.started),
            "durationSeconds": round((finished - self.started).total_seconds(), 3),
        }


def fit(report: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """The report, or a compact form that fits ``max_bytes`` of JSON (SNS 256 KiB, DynamoDB 400 KB):
    first without the skipped entries, then without any action list; ``actionsOmitted`` says how many."""
    if _size(report) <= max_bytes:
        return report
    actions = report.get("actions", [])
    kept = [a for a in actions if a.get("status") != "skipped"]
    for keep in (kept[:1000], kept[:100], []):
        compact = {**report, "actions": keep, "actionsOmitted": len(actions) - len(keep)}
        if _size(compact) <= max_bytes:
            return compact
    return compact


def _size(data: dict[str, Any]) -> int:
    return len(json.dumps(data, separators=(",", ":"), default=str).encode())
