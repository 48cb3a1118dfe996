"""The domain, as plain immutable data: no I/O here.

Evidence (what the sweep saw) goes into the pure planner; planned Steps come out; executors turn
Steps into Outcomes; a Report is built from Outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .timeutil import iso

Status = Literal["done", "planned", "skipped", "failed"]
RegionStatus = Literal["contained", "clean", "failed"]
CapacityKind = Literal["spot-request", "spot-fleet", "ec2-fleet", "asg"]
GLOBAL = "global"


@dataclass(frozen=True)
class Principal:
    """Who owns the credential under incident."""

    type: str  # IAMUser | AssumedRole | Role | Root | Unknown
    name: str
    arn: str | None = None
    access_key_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "name": self.name, "accessKeyId": self.access_key_id}
        if self.arn:
            out["arn"] = self.arn
        return out


@dataclass(frozen=True)
class Window:
    """The incident window: launches inside it are candidates for the window rule."""

    start: datetime
    end: datetime

    def contains(self, when: datetime | None) -> bool:
        return when is not None and self.start <= when <= self.end

    def to_json(self) -> dict[str, str | None]:
        return {"start": iso(self.start), "end": iso(self.end)}


@dataclass(frozen=True)
class BlockDevice:
    """An EBS volume attached to an instance, and whether terminating the instance deletes it."""

    device: str
    volume: str
    delete_on_termination: bool


@dataclass(frozen=True)
class TargetGroupMembership:
    """A load-balancer target group that routes to an instance: the targets (id, port) naming it there."""

    arn: str
    name: str
    targets: tuple[tuple[str, int | None], ...]


@dataclass(frozen=True)
class Instance:
    id: str
    region: str
    type: str
    state: str
    launch_time: datetime | None
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)
    vpc_id: str | None = None
    security_groups: tuple[str, ...] = ()
    network_interfaces: tuple[tuple[str, tuple[str, ...]], ...] = ()
    volumes: tuple[str, ...] = ()
    spot_request_id: str | None = None  # listed on a spot instance even after its request was cancelled
    block_devices: tuple[BlockDevice, ...] = ()
    private_ips: tuple[str, ...] = ()  # how an ip-type target group names it

    @property
    def launched_at(self) -> datetime | None:
        return self.launch_time

    @property
    def instance_types(self) -> tuple[str, ...]:
        return (self.type,)


@dataclass(frozen=True)
class Capacity:
    """Something that launches instances and would relaunch them: spot request, fleet, ASG."""

    kind: CapacityKind
    id: str
    region: str
    state: str
    launched_at: datetime | None
    instance_types: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)
    instance_ids: tuple[str, ...] = ()
    request_ids: tuple[str, ...] = ()  # spot requests a fleet made (fleets only)


Resource = Instance | Capacity


@dataclass(frozen=True)
class Launch:
    """One recorded API call that created resources: from the launch ledger or CloudTrail."""

    event_id: str
    event_name: str
    region: str
    time: datetime | None
    access_key_id: str | None
    principal_arn: str | None
    principal_type: str | None
    principal_name: str | None
    resource_ids: tuple[str, ...] = ()
    source: str = "ledger"  # ledger | cloudtrail | event
    termination_protected: bool = False
    instance_type: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class Suspect:
    """Outside evidence that a resource is rogue (attribution or a launch event)."""

    reason: str
    source: str
    compromised: bool  # launched by the compromised credential itself: beats the protect tag


@dataclass(frozen=True)
class RegionEvidence:
    """Everything the planner needs to decide about one region, gathered by the probes."""

    region: str
    instances: tuple[Instance, ...] = ()
    capacity: tuple[Capacity, ...] = ()
    attribution_available: bool = False
    attribution_source: str | None = None
    attribution_note: str | None = None
    suspects: Mapping[str, Suspect] = field(default_factory=dict, compare=False)
    launchers: Mapping[str, Launch] = field(default_factory=dict, compare=False)
    termination_protected: frozenset[str] = frozenset()
    scope: frozenset[str] | None = None  # when set, only these resources (and their members) count


@dataclass(frozen=True)
class Verdict:
    rogue: bool
    reason: str
    source: str | None = None
    overrode_protect: bool = False
    examined: bool = False  # looked at closely: listed as skipped when left alone


@dataclass(frozen=True)
class Step:
    """One planned action on one target, with its reason. Executors batch Steps of one action."""

    action: str
    target: str
    region: str
    reason: str
    status: Status = "planned"
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)
    hourly_cost: float = 0.0
    source: str | None = None

    def outcome(self, status: Status, detail: str | None = None) -> Outcome:
        return Outcome(step=self, status=status, detail=detail)


@dataclass(frozen=True)
class Outcome:
    step: Step
    status: Status
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        s = self.step
        out: dict[str, Any] = {
            "action": s.action,
            "target": s.target,
            "region": s.region,
            "status": self.status,
            "reason": s.reason,
        }
        if s.source:
            out["source"] = s.source
        if s.hourly_cost:
            out["hourlyCost"] = s.hourly_cost
        if self.detail:
            out["detail"] = self.detail
        for key, value in s.params.items():
            if key not in out and isinstance(value, (str, int, float, bool)):
                out[key] = value
        return out


@dataclass(frozen=True)
class RegionResult:
    region: str
    status: RegionStatus
    outcomes: tuple[Outcome, ...] = ()
    error: str | None = None
    attribution: str | None = None
    seconds: float = 0.0


def planned(steps: list[Step]) -> list[Outcome]:
    """Outcomes for a plan that is not executed (dry-run): every step as it was planned."""
    return [Outcome(step=s, status=s.status) for s in steps]
