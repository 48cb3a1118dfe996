"""What a kind of capacity is, and the pure decision over its resources.

A ``CapacityKind`` declares (as an action class does) every fact about one kind: its CloudTrail create calls
(``event_source``, ``create_events``, ``created`` reading the ids they name), ``probe`` (the one read that
lists it in a region, declared as ``describe``), its stop ``actions`` (each declaring its permissions with ARN
patterns), its ``label``. A ``Workload`` is one resource of a kind as the probe saw it; ``plan_workloads``
judges each with the same ``RoguePolicy`` as EC2 and returns the steps (pure).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ..actions.base import Action
from ..aws import Clients
from ..core.capabilities import Capability
from ..core.model import RegionEvidence, Step, Verdict, Window
from ..core.timeutil import as_utc
from ..decide.rogue import PROTECT_OVERRIDE_NOTE, RoguePolicy
from ..parse.events import BadInput


@dataclass(frozen=True)
class Workload:
    """One resource of a kind beyond EC2, as its probe saw it."""

    kind: str
    id: str  # as CloudTrail names it (the attribution key): an ARN, or an instance id
    region: str
    state: str
    launched_at: datetime | None
    instance_types: tuple[str, ...] = ()  # the EC2-style types behind it (ml.p3.2xlarge -> p3.2xlarge): GPU or not
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)
    hourly_cost: float = 0.0
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)  # what its stop actions need
    members: tuple[Workload, ...] = ()  # what it runs that is stopped with it (a service's tasks)

    @property
    def name(self) -> str:
        return str(self.params.get("name") or self.id)


class CapacityKind(ABC):
    """One kind of capacity. Subclasses set the class attributes and implement ``created`` and ``probe``."""

    name: ClassVar[str]  # "ecs-service"
    label: ClassVar[str]  # "ECS service": how the report names one
    service: ClassVar[str]  # the boto3 client its probe uses
    event_source: ClassVar[str]  # "ecs.amazonaws.com"
    create_events: ClassVar[frozenset[str]]  # CloudTrail calls that create (or start) it
    describe: ClassVar[Capability | None]  # what ``probe`` needs (None: nothing to read)
    needs_human: ClassVar[bool] = False  # cannot be stopped by API: each attributed one is listed for a human
    actions: ClassVar[tuple[type[Action], ...]]  # how it is stopped, in order (each phase-ordered by the executor)
    price_source: ClassVar[str] = ""

    @abstractmethod
    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        """(kind, id) of what a successful create call made; a malformed record raises ``BadInput``."""

    @abstractmethod
    def probe(self, clients: Clients, region: str) -> list[Workload]:
        """Every live resource of this kind in one region (stopped ones are not listed)."""

    def derive(self, evidence: RegionEvidence) -> list[Workload]:
        """Resources of this kind read from what the EC2 sweep already described (no call of its own)."""
        return []

    def stop_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        """The steps that stop a rogue resource (default: each action once on it, its price on the last)."""
        steps = [
            Step(a.name, w.id, w.region, verdict.reason, source=verdict.source, params=self._params(w))
            for a in self.actions
        ]
        if steps:
            last = steps[-1]
            steps[-1] = Step(
                last.action,
                last.target,
                last.region,
                last.reason,
                source=last.source,
                params=last.params,
                hourly_cost=w.hourly_cost,
            )
        return steps

    def skipped_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        return [Step(self.actions[-1].name, w.id, w.region, verdict.reason, status="skipped", params=self._params(w))]

    def _params(self, w: Workload) -> dict[str, Any]:
        return {"resourceKind": self.name, **{k: v for k, v in w.params.items() if isinstance(v, (str, int))}}


# --- reading CloudTrail records (shared by the kinds' ``created``) ------------------------------
def require_text(container: Any, path: str, event_name: str, pattern: Any = None, *, key: str | None = None) -> str:
    """A string at ``path`` (dotted, under ``detail``: ``responseElements.service.serviceArn``), or at ``key`` of
    ``container`` when given (an item of a list; ``path`` names it); missing or not matching ``pattern``: ``BadInput``."""
    value: Any = container
    for part in [key] if key else path.split(".")[1:]:
        value = value.get(part) if isinstance(value, Mapping) else None
    if not isinstance(value, str) or not value:
        raise BadInput(f"cloudtrail event: field 'detail.{path}': missing for successful {event_name}")
    if pattern is not None and not pattern.match(value):
        raise BadInput(f"cloudtrail event: field 'detail.{path}': {value[:80]!r} is not well formed")
    return value


def utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str) and value:
        try:
            return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00")))
        except ValueError:
            return None
    return None


# A purchase (Reserved Instances, Savings Plans, Bedrock agreements) cannot be stopped: it is listed for a human.
REVIEW_PURCHASE = "review-purchase"  # a finding for a human: never executed, always skipped
SUPPORT_PATH = (
    "it cannot be undone by API: open an AWS Support case now (Support Center > Create case > Account and billing) "
    "asking to cancel and refund it as bought with a compromised credential"
)


# --- the decision (pure) ------------------------------------------------------------------------
def plan_workloads(
    found: Sequence[tuple[CapacityKind, Workload]],
    evidence: RegionEvidence,
    policy: RoguePolicy,
    window: Window | None,
) -> list[Step]:
    """Judge every resource of every kind with the EC2 rules (attribution first, then the protect tag and the
    protected principals, then the window rule); rogue ones get their kind's stop steps, members included."""
    from . import kinds

    found = [*found, *((k, w) for k in kinds() for w in k.derive(evidence))]
    steps: list[Step] = []
    for kind, w in found:
        if evidence.scope is not None and w.id not in evidence.scope:
            steps += _chain_members(kind, w, evidence, policy, window)
            continue
        verdict = policy.judge(w, evidence, window)
        if verdict.rogue:
            steps += kind.stop_steps(w, verdict)
            for member in w.members:
                member_kind = _member_kind(kind, member)
                reason = f"runs in rogue {kind.label} {w.name}: {verdict.reason}"
                steps += member_kind.stop_steps(member, Verdict(True, reason, verdict.source, verdict.overrode_protect))
        else:
            if verdict.examined:
                steps += kind.skipped_steps(w, verdict)
            steps += _chain_members(kind, w, evidence, policy, window)
    return steps + _needs_human(evidence)


def _chain_members(
    kind: CapacityKind, w: Workload, evidence: RegionEvidence, policy: RoguePolicy, window: Window | None
) -> list[Step]:
    """What the chain itself started in a resource that is not rogue (its job in the team's Batch queue) is
    stopped on its own: attributed members only (the window rule judges the resource, not its members)."""
    steps: list[Step] = []
    for member in w.members:
        if evidence.scope is not None and member.id not in evidence.scope:
            continue
        verdict = policy.judge(member, evidence, window)
        if verdict.rogue and verdict.source != "window":
            steps += _member_kind(kind, member).stop_steps(member, verdict)
    return steps


def _needs_human(evidence: RegionEvidence) -> list[Step]:
    """What a kind that cannot be stopped by API (a purchase) records, attributed: listed, critical, never run."""
    from . import kinds

    steps = []
    for kind in (k for k in kinds() if k.needs_human):
        for rid, suspect in evidence.suspects.items():
            if rid.startswith(kind.name + ":"):
                target = rid.removeprefix(kind.name + ":")
                why = f"CRITICAL: {kind.label} {target}, {suspect.reason}: {SUPPORT_PATH}"
                steps.append(Step(REVIEW_PURCHASE, target, evidence.region, why, status="skipped",
                                  source=suspect.source, params={"resourceKind": kind.name}))  # fmt: skip
    return steps


def _member_kind(kind: CapacityKind, member: Workload) -> CapacityKind:
    from . import load

    return load().get(member.kind, kind)


__all__ = [
    "PROTECT_OVERRIDE_NOTE",
    "REVIEW_PURCHASE",
    "SUPPORT_PATH",
    "CapacityKind",
    "Workload",
    "plan_workloads",
    "require_text",
    "utc",
]
