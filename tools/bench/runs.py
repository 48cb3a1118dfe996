"""One run = a fresh emulated account, the scenario, one measured response, then the AWS state checked."""

from __future__ import annotations

import gc
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from responder.aws import retry_config

from compromise_responder.tools.emulator import EmulatedAws, LambdaContext
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY

from . import sequential
from .instrument import (
    KEY_ACTION,
    STOP_ACTIONS,
    SWEEP_SERVICES,
    CpuMeter,
    CpuTotals,
    LogCatcher,
    RssSampler,
    Timeline,
)
from .scenario import ALLOWED_REGIONS, CLEAN_REGIONS, REGIONS, Scene, Shape, Size, build, verify

Engine = Literal["responder", "sequential"]
ACTIVITY_THREAD = "activity"  # the activity summary's reader threads (responder.evidence.activity)
THROTTLE: dict[str, Any] = {
    "services": ["ec2"],
    "code": "RequestLimitExceeded",
    "status": 503,
    "message": "Request limit exceeded.",
    "every": 5,
}


@dataclass(frozen=True)
class RunSpec:
    label: str
    size: Size
    latency: float
    engine: Engine = "responder"
    sweep: tuple[str, ...] = REGIONS
    throttle: bool = False
    sample_memory: bool = False
    invocations: int = 1  # > 1: re-invoke a handler that raised, as Lambda retries an async event (twice)
    target_latency: float = 0.1  # the latency an estimate is made for, when ``latency`` is lower
    cold: bool = False  # a new container: the handler module is first imported (Lambda's init) for this run
    shape: Shape = "swarm"  # the attacker's capacity: EC2 only, with a role hop, or the campaign (EC2+ECS+Lambda)


@dataclass
class RunResult:
    label: str
    size: str
    engine: Engine
    regions: int
    rogue: int
    latency: float
    wall_s: float
    cpu_s: float
    emulator_cpu_s: float
    client_cpu_s: float
    clients_created: int
    parsing_cpu_s: float
    key_inactive_s: float | None
    contained_s: float | None
    calls: int
    calls_by_operation: dict[str, int]
    calls_by_region: dict[str, dict[str, int]]
    region_done_s: dict[str, float]
    milestones_s: dict[str, float]
    critical_calls: int
    estimate_s: float | None
    faults_injected: int
    error: str | None
    invocations: int = 1
    logged: list[str] = field(default_factory=list)
    samples_s: list[float] = field(default_factory=list)  # repeated runs: each one's contained (or end to end)
    rss_before_mb: float | None = None
    rss_peak_mb: float | None = None
    process_maxrss_mb: float | None = None
    verified: dict[str, bool] = field(default_factory=dict)
    init_s: float | None = None  # cold runs: Lambda's init phase (import the handler, create home clients)
    activity_s: float | None = None  # the activity summary: from its first lookup sent to the notification sent
    activity_calls: int = 0  # LookupEvents calls the activity summary made
    activity_after_contained_s: float | None = None  # when the summary began, after the last stop call
    credentials: int = 1  # credentials read in every region: the key and each key of its chain (the report's)

    @property
    def contained(self) -> bool:
        return bool(self.verified) and all(self.verified.values())

    @property
    def slowest_region(self) -> str | None:
        """The region with the most sweep calls (ties: the one that finished last)."""
        busy = {
            r: sum(n for op, n in ops.items() if op.split(":", 1)[0] in SWEEP_SERVICES)
            for r, ops in self.calls_by_region.items()
            if r in REGIONS
        }
        if not busy:
            return None
        return max(busy, key=lambda r: (busy[r], self.region_done_s.get(r, 0.0)))

    def clean_region_calls(self) -> dict[str, dict[str, int]]:
        return {r: ops for r, ops in self.calls_by_region.items() if r in CLEAN_REGIONS}

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"contained": self.contained, "slowestRegion": self.slowest_region}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass
class Measured:
    wall: float
    cpu: float
    totals: CpuTotals
    calls: Counter[tuple[str, str]]
    timeline: Timeline
    started: float
    memory: RssSampler | None
    injected: int
    error: str | None
    invocations: int
    logged: list[str]


def warm_up(meter: CpuMeter) -> None:
    """One unmeasured response: later runs then measure a container's invocation, not Python's first imports
    of the modules the handler loads lazily (their cost is in the cold-import figures)."""
    run(RunSpec("warm-up", Size.each(0), 0.0, sweep=REGIONS[:1]), meter)


def run_median(spec: RunSpec, meter: CpuMeter, repeats: int) -> RunResult:
    """Repeat a run on fresh accounts; keep the median one (by containment time, else end to end)."""
    results = sorted((run(spec, meter) for _ in range(max(1, repeats))), key=_headline_seconds)
    chosen = results[len(results) // 2]
    chosen.samples_s = [_headline_seconds(r) for r in results]
    return chosen


def _headline_seconds(result: RunResult) -> float:
    return result.contained_s if result.contained_s is not None else result.wall_s


def production_max_attempts() -> str:
    """The stack sets AWS_MAX_ATTEMPTS=8, the engine's default (the emulator's 3 is for fast tests)."""
    saved = os.environ.pop("AWS_MAX_ATTEMPTS", None)
    try:
        return str(retry_config().retries["max_attempts"])
    finally:
        if saved is not None:
            os.environ["AWS_MAX_ATTEMPTS"] = saved


def run(spec: RunSpec, meter: CpuMeter) -> RunResult:
    env = {"ALLOWED_REGIONS": ALLOWED_REGIONS, "AWS_MAX_ATTEMPTS": production_max_attempts()}
    with EmulatedAws(regions=REGIONS, env=env, latency=0.0, lookup_quota=True) as aws:
        scene = build(aws, spec.size, shape=spec.shape)
        aws.set_env(SWEEP_REGIONS=",".join(spec.sweep))
        timeline = Timeline()
        timeline.install(aws)
        if spec.throttle:
            aws.faults.fail(**THROTTLE)
        aws.latency.seconds = spec.latency
        init_started = time.perf_counter()
        reports: list[dict[str, Any]] = []
        respond = _responder(spec, scene, reports)
        init = time.perf_counter() - init_started
        measured = _measure(respond, aws, timeline, meter, spec.sample_memory)
        aws.latency.seconds = 0.0
        aws.faults.clear()
        verified = verify(aws, scene, spec.sweep, reports[-1] if reports else None)
    result = _result(spec, measured, verified)
    result.credentials = credentials_read(reports[-1] if reports else None)
    result.init_s = init if spec.cold else None
    return result


def _responder(spec: RunSpec, scene: Scene, reports: list[dict[str, Any]]) -> Callable[[], int]:
    """The response to measure; it returns how many invocations it took, and keeps the report it returned."""
    if spec.engine == "sequential":

        def baseline() -> int:
            sequential.contain(LEAKED_KEY, scene.notice_start, spec.sweep)
            return 1

        return baseline
    if spec.cold:  # a new container: Lambda's init imports the handler module, which creates the home clients
        assert "handlers.health" not in sys.modules, "a cold run needs a fresh interpreter (run_isolated)"
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "compromise-responder-health"
    from handlers import health
    from responder.shell.entrypoint import prewarm

    event = scene.health_event()
    if not spec.cold:
        prewarm()  # Lambda's init phase (module import + home-region clients) is not part of the invocation

    def respond() -> int:
        for invocation in range(1, spec.invocations + 1):
            try:
                reports.append(health.handler(event, LambdaContext()))
                return invocation
            except Exception:
                if invocation == spec.invocations:
                    raise
        return spec.invocations

    return respond


def _measure(
    respond: Callable[[], int], aws: EmulatedAws, timeline: Timeline, meter: CpuMeter, sample_memory: bool
) -> Measured:
    gc.collect()  # the previous runs' garbage is not this run's work
    aws.recorder.reset()
    timeline.reset()
    meter.reset()
    injected = sum(aws.faults.injected.values())
    memory = RssSampler() if sample_memory else None
    if memory:
        memory.start()
    error, invocations = None, 1
    with LogCatcher().catching() as logged:
        cpu, started = time.process_time(), time.perf_counter()
        try:
            invocations = respond()
        except Exception as exc:  # noqa: BLE001 - a failed response is a result to report, not a crash
            error = f"{type(exc).__name__}: {exc}"
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    timeline.stop()
    if memory:
        memory.stop()
    return Measured(
        wall=wall,
        cpu=cpu,
        totals=meter.reset(),
        calls=Counter(aws.recorder.calls),
        timeline=timeline,
        started=started,
        memory=memory,
        injected=sum(aws.faults.injected.values()) - injected,
        error=error,
        invocations=invocations,
        logged=list(logged),
    )


def _result(spec: RunSpec, m: Measured, verified: dict[str, bool]) -> RunResult:
    by_region: dict[str, dict[str, int]] = {}
    by_operation: Counter[str] = Counter()
    for (action, region), n in m.calls.items():
        by_operation[action] += n
        ops = by_region.setdefault(region, {})
        ops[action] = ops.get(action, 0) + n
    key_at = m.timeline.first(KEY_ACTION)
    contained_at = m.timeline.last(STOP_ACTIONS)
    activity = activity_phase(m.timeline, spec.latency)
    # one call after another: every call of the sequential baseline is on its critical path
    critical = sum(m.calls.values()) if spec.engine == "sequential" else critical_calls(m.calls)
    return RunResult(
        label=spec.label,
        size=spec.size.name,
        engine=spec.engine,
        regions=len(spec.sweep),
        rogue=sum(spec.size.in_region(r) for r in spec.sweep),
        latency=spec.latency,
        wall_s=m.wall,
        cpu_s=m.cpu,
        emulator_cpu_s=m.totals.emulator,
        client_cpu_s=m.totals.client_creation,
        clients_created=m.totals.clients_created,
        parsing_cpu_s=m.totals.parsing,
        key_inactive_s=None if key_at is None else key_at - m.started,
        contained_s=None if contained_at is None else contained_at - m.started,
        calls=sum(m.calls.values()),
        calls_by_operation=dict(by_operation.most_common()),
        calls_by_region={r: by_region[r] for r in sorted(by_region)},
        region_done_s=_region_done(m.timeline, m.started),
        milestones_s=milestones(m.timeline, m.started),
        critical_calls=critical,
        estimate_s=m.wall + critical * spec.target_latency if spec.latency < spec.target_latency else None,
        faults_injected=m.injected,
        error=m.error,
        invocations=m.invocations,
        logged=sorted(set(m.logged)),
        rss_before_mb=m.memory.before_mb if m.memory else None,
        rss_peak_mb=m.memory.peak_mb if m.memory else None,
        verified=verified,
        activity_s=activity[1] - activity[0] if activity else None,
        activity_calls=sum(1 for e in m.timeline.events if e.thread.startswith(ACTIVITY_THREAD)),
        activity_after_contained_s=activity[0] - contained_at if activity and contained_at else None,
    )


def credentials_read(report: dict[str, Any] | None) -> int:
    """The key and every key of its chain (``report.chain``: its entries with an access key id)."""
    chain = (report or {}).get("chain") or []
    return 1 + sum(1 for link in chain if str(link.get("credential", "")).startswith(("AKIA", "ASIA")))


def activity_phase(timeline: Timeline, latency: float) -> tuple[float, float] | None:
    """(when the activity summary sent its first lookup, when the response went on: the notification sent).

    A call reaches the timeline one latency after it was sent; everything between the two moments is the
    activity's: its lookups (in parallel), their parsing and the counting. An upper bound: the report's
    assembly before the notification is in it too."""
    lookups = [e.at for e in timeline.events if e.thread.startswith(ACTIVITY_THREAD)]
    notified = [e.at for e in timeline.events if e.action == "sns:Publish" and lookups and e.at > max(lookups)]
    if not lookups or not notified:
        return None
    return min(lookups) - latency, min(notified) - latency


def critical_calls(calls: Counter[tuple[str, str]]) -> int:
    """Upper bound of the calls made one after another: every identity/record call (IAM, SNS, DynamoDB,
    STS) counted as if sequential, plus every sweep call (EC2, Auto Scaling, CloudTrail) of the busiest region."""
    sweep: Counter[str] = Counter()
    other = 0
    for (action, region), n in calls.items():
        if action.split(":", 1)[0] in SWEEP_SERVICES:
            sweep[region] += n
        else:
            other += n
    return other + max(sweep.values(), default=0)


def milestones(timeline: Timeline, started: float) -> dict[str, float]:
    """Seconds from invocation to each phase boundary the timeline shows."""
    regional = [e for e in timeline.events if e.action.split(":", 1)[0] in ("ec2", "autoscaling")]
    describes = [e.at for e in regional if e.action.split(":", 1)[1].startswith("Describe")]
    stops = [e.at for e in timeline.events if e.action in STOP_ACTIONS]
    points = {
        "first AWS call": min((e.at for e in timeline.events), default=None),
        "key Inactive": timeline.first(KEY_ACTION),
        "first EC2/ASG call (sweep starts)": min((e.at for e in regional), default=None),
        "last EC2/ASG describe": max(describes, default=None),
        "first stop call": min(stops, default=None),
        "last stop call (contained)": max(stops, default=None),
        "first activity lookup": min(
            (e.at for e in timeline.events if e.thread.startswith(ACTIVITY_THREAD)), default=None
        ),
        "last activity lookup": max(
            (e.at for e in timeline.events if e.thread.startswith(ACTIVITY_THREAD)), default=None
        ),
        "last AWS call": max((e.at for e in timeline.events), default=None),
    }
    return {name: at - started for name, at in points.items() if at is not None}


def _region_done(timeline: Timeline, started: float) -> dict[str, float]:
    """Per region: seconds from invocation to its last sweep call."""
    done: dict[str, float] = {}
    for event in timeline.events:
        if event.action.split(":", 1)[0] in SWEEP_SERVICES:
            done[event.region] = max(done.get(event.region, 0.0), event.at - started)
    return {r: done[r] for r in sorted(done)}
