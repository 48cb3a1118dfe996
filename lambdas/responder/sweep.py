"""RegionSweep: every region in parallel, each isolated from the others' faults.

Per region: describe (all kinds concurrently) + attribute -> plan (pure) -> execute (or not, in
dry-run). A throttled, disabled or denied region ends ``failed`` with its error and never stops
the others; the caller raises at the very end so the platform retries (idempotently).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import EndpointConnectionError

from .actions import ACTIONS, STOPS_CAPACITY, execute, report_order
from .aws import Clients, describe_error
from .core.config import Settings
from .core.model import Launch, Outcome, RegionEvidence, RegionResult, RegionStatus, Step, Suspect, Window, planned
from .decide.planner import plan_region
from .decide.rogue import RoguePolicy
from .evidence import attribution
from .evidence.probes import described, lookup_calls, start_describes
from .kinds import kinds
from .kinds.base import CapacityKind, Workload, plan_workloads
from .parse.cloudtrail_records import CallRecord, launch_events
from .record.store import Ledger


@dataclass(frozen=True)
class SweepRequest:
    """What to look for: launches of one key (attribution), and/or the window rule."""

    window: Window | None
    access_key_id: str | None = None
    scope: Mapping[str, frozenset[str]] | None = None  # region -> the only resources to consider
    suspects: Mapping[str, Mapping[str, Suspect]] = field(default_factory=dict)
    termination_protected: frozenset[str] = frozenset()
    use_lookup: bool = True
    ledger_regions: frozenset[str] = frozenset()  # where the ledger holds launches of C's chain (attribution)
    chain_launches: Mapping[str, frozenset[str]] = field(default_factory=dict)  # region -> the chain's launch calls
    # what the chain's reading already holds: the key's launch calls by region (a region absent: asked here),
    # and its ledger records (None: read here)
    looked_up: Mapping[str, Sequence[CallRecord]] = field(default_factory=dict)
    ledger_calls: Sequence[CallRecord] | None = None


class PendingRequest:
    """A request that may not be known yet (the chain is still being read when the regions start): each region
    describes what runs there meanwhile and asks for it only when it must decide. Settled once, with the key's
    ledger launches."""

    def __init__(self, request: SweepRequest | Callable[[], SweepRequest], ledger: Ledger | None) -> None:
        self._source = request
        self._ledger = ledger
        self._lock = threading.Lock()
        self._settled: tuple[SweepRequest, dict[str, list[Launch]], str | None] | None = None

    def ready(self) -> SweepRequest | None:
        """The request when it was given as one (no wait), else None."""
        return self._source if isinstance(self._source, SweepRequest) else None

    def get(self) -> tuple[SweepRequest, dict[str, list[Launch]], str | None]:
        """The request, the key's ledger launches by region, and why the ledger could not be read."""
        with self._lock:
            if self._settled is None:
                request = self._source if isinstance(self._source, SweepRequest) else self._source()
                if request.ledger_calls is not None:
                    launches = attribution.launches_by_region(request.ledger_calls)
                    self._settled = (request, launches, None)
                else:
                    self._settled = (request, *attribution.ledger_launches(self._ledger, request.access_key_id))
            return self._settled


def region_status(outcomes: Sequence[Outcome]) -> RegionStatus:
    if any(o.status == "failed" for o in outcomes):
        return "failed"
    if any(o.step.action in STOPS_CAPACITY and o.status in ("done", "planned") for o in outcomes):
        return "contained"
    return "clean"


class RegionSweep:
    """Find and stop rogue capacity in many regions at once."""

    def __init__(
        self,
        clients: Clients,
        settings: Settings,
        policy: RoguePolicy,
        ledger: Ledger | None,
        *,
        dry_run: bool,
        log: Callable[..., Any] | None = None,
        done_before: Mapping[tuple[str, str, str], tuple[int, Mapping[str, Any]]] | None = None,
        incident_id: str = "",
    ) -> None:
        self.incident_id = incident_id  # given to the steps of actions that name it (``Action.names_incident``)
        self.clients = clients
        self.settings = settings
        self.policy = policy
        self.ledger = ledger
        self.dry_run = dry_run
        self.log = log or (lambda *a, **k: None)
        self.done_before = done_before or {}

    def run(
        self,
        regions: Sequence[str],
        request: SweepRequest | Callable[[], SweepRequest],
        on_region: Callable[[RegionResult], None] | None = None,
    ) -> list[RegionResult]:
        """Sweep ``regions``; ``request`` may be a callable that blocks until it is known (the chain's reading):
        the regions are described meanwhile."""
        if not regions:
            return []
        pending = PendingRequest(request, self.ledger)
        workers = max(1, min(len(regions), self.settings.max_workers))
        with (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="region") as outer,
            ThreadPoolExecutor(max_workers=min(64, 6 * workers), thread_name_prefix="probe") as inner,
        ):
            inner.submit(pending.get)  # settled (the ledger read, the chain awaited) beside the first describes
            futures = [outer.submit(self.sweep_region, r, pending, inner) for r in regions]
            for future in as_completed(futures):  # told as each region finishes, not behind a slower one
                if on_region:
                    on_region(future.result())
            results = [f.result() for f in futures]  # in region order
        return results

    def _named(self, step: Step) -> Step:
        cls = ACTIONS.get(step.action)  # type: ignore[call-overload]
        if not (self.incident_id and cls and cls.names_incident):
            return step
        return replace(step, params={**step.params, "incidentId": self.incident_id})

    def sweep_region(self, region: str, pending: PendingRequest, pool: ThreadPoolExecutor) -> RegionResult:
        started = time.perf_counter()
        try:
            known = pending.ready()
            lookup = pool.submit(self._lookup, region, known) if known and _asks(region, known) else None
            describes = start_describes(self.clients, region, pool)  # EC2, beside the attribution
            request, ledger_by_region, ledger_note = pending.get()  # waits for the chain's reading, if any
            ledger_launches = ledger_by_region.get(region, [])
            if lookup is not None:
                looked_up, lookup_note = lookup.result()
            elif _asks(region, request):
                looked_up, lookup_note = self._lookup(region, request)
            else:
                read = request.looked_up.get(region)  # the chain's reading of it (absent: no key, or not asked)
                looked_up, lookup_note = (None if read is None else list(read)), None
            needed = kinds_to_probe(region, request, ledger_launches, looked_up)
            probed = [(kind, pool.submit(kind.probe, self.clients, region)) for kind in needed]  # beside EC2's
            instances, capacity = described(describes)
            workloads, kind_errors = _workloads(probed)
            evidence = self._evidence(
                region,
                request,
                instances,
                capacity,
                ledger_launches,
                looked_up,
                "; ".join(n for n in (ledger_note, lookup_note) if n) or None,
                [w for _kind, w in workloads],
            )
            steps = plan_region(evidence, self.policy, request.window)
            steps = sorted(  # the kinds beyond EC2, judged by the same rules; one order for the whole region
                steps + plan_workloads(workloads, evidence, self.policy, request.window),
                key=lambda s: (report_order(s.action), s.status != "planned", s.target),
            )
            steps = [self._named(s) for s in steps]
            outcomes = (
                planned(steps)
                if self.dry_run
                else execute(self.clients, steps, self.settings.home_region, self.done_before)
            )
            status = "failed" if kind_errors else region_status(outcomes)
            self.log(
                "region swept", region=region, status=status, steps=len(steps), attribution=evidence.attribution_source
            )
            return RegionResult(
                region,
                status,
                tuple(outcomes),
                error="; ".join(kind_errors) or None,
                attribution=evidence.attribution_source,
                seconds=time.perf_counter() - started,
            )
        except Exception as exc:  # noqa: BLE001 - fault isolation: one region never stops the others
            self.log("region failed", region=region, error=describe_error(exc))
            return RegionResult(region, "failed", (), error=describe_error(exc), seconds=time.perf_counter() - started)

    def _lookup(self, region: str, request: SweepRequest) -> tuple[list[CallRecord] | None, str | None]:
        try:
            calls = lookup_calls(
                self.clients, region, request.window, access_key_id=request.access_key_id, event_names=launch_events()
            )
            return calls, None
        except Exception as exc:  # noqa: BLE001 - includes emulators that do not implement LookupEvents
            return None, f"CloudTrail LookupEvents unavailable in {region} ({describe_error(exc)})"

    def _evidence(
        self,
        region: str,
        request: SweepRequest,
        instances: list[Any],
        capacity: list[Any],
        ledger_launches: list[Launch],
        looked_up: list[CallRecord] | None,
        note: str | None,
        workloads: Sequence[Workload] = (),
    ) -> RegionEvidence:
        launches = list(ledger_launches) + [c.to_launch("cloudtrail") for c in looked_up or [] if c.kind == "launch"]
        sources = attribution_sources(region, request, ledger_launches, looked_up)
        available = bool(sources)
        suspects: dict[str, Suspect] = {}
        if request.access_key_id:
            suspects.update(attribution.suspects_of(request.access_key_id, launches))
        for rid, suspect in request.suspects.get(region, {}).items():
            suspects.setdefault(rid, suspect)
        for instance in instances:  # a cancelled request is no longer listed; its instance still names it
            parent = suspects.get(instance.spot_request_id or "")
            if parent is not None and instance.id not in suspects:
                reason = f"launched by spot request {instance.spot_request_id}, {parent.reason}"
                suspects[instance.id] = Suspect(reason, parent.source, parent.compromised)
        protected = set(request.termination_protected)
        for launch in launches:
            if launch.termination_protected:
                protected.update(launch.resource_ids)
        scope = request.scope.get(region, frozenset()) if request.scope is not None else None
        launchers = self._launchers(instances, [*capacity, *workloads], suspects, request.window, scope)
        return RegionEvidence(
            region=region,
            instances=tuple(instances),
            capacity=tuple(capacity),
            attribution_available=available,
            attribution_source="+".join(sources) if sources else None,
            attribution_note=note,
            suspects=suspects,
            launchers=launchers,
            termination_protected=frozenset(protected),
            scope=scope,
        )

    def _launchers(
        self,
        instances: list[Any],
        capacity: list[Any],
        suspects: Mapping[str, Suspect],
        window: Window | None,
        scope: frozenset[str] | None,
    ) -> dict[str, Launch]:
        """Who launched the resources the window rule may judge: needed to honour protected principals."""
        if self.ledger is None or window is None or not self.policy.protected_principals:
            return {}
        ids = [
            r.id
            for r in [*instances, *capacity]
            if r.id not in suspects and window.contains(r.launched_at) and (scope is None or r.id in scope)
        ]
        if not ids:
            return {}
        try:
            return self.ledger.launchers_of(ids)
        except Exception:  # noqa: BLE001 - unknown launcher: the window rule decides as the contract says
            return {}


def _asks(region: str, request: SweepRequest) -> bool:
    """Whether the sweep asks CloudTrail for the key's launches in ``region`` (not already read by the chain)."""
    return bool(request.access_key_id and request.use_lookup and region not in request.looked_up)


def attribution_sources(
    region: str, request: SweepRequest, ledger_launches: Sequence[Launch], looked_up: Sequence[CallRecord] | None
) -> list[str]:
    """Where attribution comes from in a region (contract "What is rogue"): the ledger when it holds the chain's
    launches there, CloudTrail when LookupEvents answered; empty: attribution is unavailable (rule 2 decides)."""
    return [
        name
        for name, used in (
            ("ledger", bool(ledger_launches) or region in request.ledger_regions),
            ("cloudtrail", looked_up is not None),
        )
        if used
    ]


def kinds_to_probe(
    region: str, request: SweepRequest, ledger_launches: Sequence[Launch], looked_up: Sequence[CallRecord] | None
) -> tuple[CapacityKind, ...]:
    """The kinds beyond EC2 worth reading in a region (pure). Where attribution is available and names no call of
    the chain there, nothing of any kind is rogue there (contract "What is rogue"): only the kinds whose create
    calls the chain (C or a credential it became) made are read. Every kind is read where the window rule may
    decide (attribution unavailable), where outside evidence names resources without their launch calls (a
    finding's scope), and for sweeps by rule 2.
    EC2 itself is always described: its skipped instances are listed whatever attribution says."""
    available = bool(attribution_sources(region, request, ledger_launches, looked_up))
    if not (request.access_key_id and available) or request.scope is not None:
        return kinds()
    if request.suspects.get(region) and region not in request.chain_launches:
        return kinds()  # resources named by outside evidence whose launch calls are unknown
    made = {launch.event_name for launch in ledger_launches} | {c.event_name for c in looked_up or ()}
    made |= request.chain_launches.get(region, frozenset())
    return tuple(kind for kind in kinds() if kind.create_events & made)


def _workloads(probed: Sequence[tuple[CapacityKind, Any]]) -> tuple[list[tuple[CapacityKind, Workload]], list[str]]:
    """What each kind's probe found; a kind that cannot be read fails its region (named), not the others' stops."""
    found: list[tuple[CapacityKind, Workload]] = []
    errors: list[str] = []
    for kind, future in probed:
        try:
            found += [(kind, w) for w in future.result()]
        except EndpointConnectionError:
            continue  # the service is not offered in this region: nothing of this kind can run there
        except Exception as exc:  # noqa: BLE001 - fault isolation per kind: EC2 and the other kinds still stopped
            errors.append(f"{kind.label}s not listed: {describe_error(exc)}")
    return found, errors


def enabled_regions(clients: Clients, settings: Settings) -> list[str]:
    """SWEEP_REGIONS if set; else the account's enabled regions in the home region's partition."""
    if settings.sweep_regions:
        return list(settings.sweep_regions)
    partition_regions = set(clients.partition_regions(settings.home_region))
    ec2 = clients.get("ec2", settings.home_region)
    resp = ec2.describe_regions(Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]}])
    found = sorted(r["RegionName"] for r in resp.get("Regions", []) if r["RegionName"] in partition_regions)
    return found or sorted(partition_regions)
