"""The issue's targets, each checked against the measured runs (or marked n/a when a run was skipped)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .coldstart import ColdImport
from .runs import RunResult

LATENCY = 0.1
LAMBDA_LIMIT_S = 15 * 60
LAMBDA_MEMORY_MB = 256
HOP_LIMIT = 1.3  # issue 22: the swarm with a role hop within 1.3 x the same swarm without it
CAMPAIGN_LIMIT = 1.5  # issue 23: EC2 + ECS + Lambda within 1.5 x the EC2-only swarm
DESCRIBES = frozenset(
    {
        "ec2:DescribeInstances",
        "ec2:DescribeSpotInstanceRequests",
        "ec2:DescribeSpotFleetRequests",
        "ec2:DescribeFleets",
        "autoscaling:DescribeAutoScalingGroups",
    }
)
LOOKUPS = frozenset({"cloudtrail:LookupEvents"})  # the attribution, and the activity summary after containment


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    limit: str
    ratio: float | None  # measured / limit (or limit / measured for "at least" targets): <= 1 passes
    passed: bool | None  # None: not measured in this run
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _ratio_target(name: str, measured: float | None, limit: float, unit: str, note: str = "") -> Target:
    if measured is None:
        return Target(name, "n/a", f"<= {limit:g} {unit}", None, None, note)
    return Target(name, f"{measured:.2f} {unit}", f"<= {limit:g} {unit}", measured / limit, measured <= limit, note)


def evaluate(runs: dict[str, RunResult], imports: list[ColdImport]) -> list[Target]:
    head = runs.get("17x10")
    return [
        key_inactive(head),
        key_inactive_cold(runs.get("17x10 cold start")),
        end_to_end(head),
        activity_summary(head),
        versus_critical_path(head, runs.get("17x10 critical path")),
        versus_sequential(head, runs.get("17x10 sequential")),
        versus_sequential(runs.get("17x10 cold start"), runs.get("17x10 sequential"), "from a cold start"),
        clean_regions(list(runs.values())),
        per_instance(runs.get("17x0"), runs.get("17x100") or runs.get("1000/17")),
        lambda_time(runs.get("1000/17")),
        lambda_memory(runs.get("1000/17"), imports),
        *cold_imports(imports),
        throttled(runs.get("17x10 throttled")),
        versus_swarm(head, runs.get("17x10 role hop"), HOP_LIMIT, "role hop: end to end / the same swarm's"),
        versus_swarm(head, runs.get("17x10 campaign"), CAMPAIGN_LIMIT, "campaign: end to end / EC2-only swarm's"),
    ]


def key_inactive(head: RunResult | None) -> Target:
    seconds = head.key_inactive_s if head else None
    return _ratio_target(
        "key Inactive after invocation", seconds, 3 * LATENCY, "s", "3 call latencies; 17x10 run at 100 ms"
    )


def key_inactive_cold(cold: RunResult | None) -> Target:
    note = (
        f"Lambda init before it (import, home clients): {cold.init_s:.2f} s; from the import's start: "
        f"{cold.init_s + cold.key_inactive_s:.2f} s"
        if cold and cold.init_s and cold.key_inactive_s is not None
        else ""
    )
    seconds = cold.key_inactive_s if cold else None
    return _ratio_target("key Inactive, cold start", seconds, 3 * LATENCY + 0.1, "s", "3 latencies + 0.1 s; " + note)


def end_to_end(head: RunResult | None) -> Target:
    note = "25 call latencies" + (f"; median run of {len(head.samples_s)}" if head and len(head.samples_s) > 1 else "")
    return _ratio_target("17x10 end to end at 100 ms", head.wall_s if head else None, 25 * LATENCY, "s", note)


def activity_summary(head: RunResult | None) -> Target:
    """What the key did, read after containment: it may add at most 2 call latencies to the response."""
    seconds = head.activity_s if head else None
    note = ""
    if head and head.activity_s is not None:
        after = head.activity_after_contained_s
        note = (
            f"{head.activity_calls} LookupEvents over {head.regions} regions at once, starting "
            + (f"{after:.2f} s after the last stop call" if after is not None else "after containment")
            + "; from its first lookup sent to the notification sent"
        )
    return _ratio_target("activity summary after containment", seconds, 2 * LATENCY, "s", note)


def versus_critical_path(head: RunResult | None, critical: RunResult | None) -> Target:
    if not (head and critical and head.contained_s and critical.contained_s):
        return Target("containment vs critical path", "n/a", "<= 1.3x", None, None)
    ratio = head.contained_s / critical.contained_s
    return Target(
        "containment vs critical path",
        f"{head.contained_s:.2f} s / {critical.contained_s:.2f} s = {ratio:.2f}x",
        "<= 1.3x",
        ratio / 1.3,
        ratio <= 1.3,
        f"critical path: {critical.slowest_region} swept alone"
        + (f"; contained in runs: {_samples(head)} / {_samples(critical)}" if len(head.samples_s) > 1 else ""),
    )


def _samples(run: RunResult) -> str:
    return "[" + ", ".join(f"{s:.2f}" for s in run.samples_s) + "]"


def versus_sequential(head: RunResult | None, baseline: RunResult | None, when: str = "") -> Target:
    name = "speed-up vs sequential" + (f", {when}" if when else "")
    if not (head and baseline and head.contained_s):
        return Target(name, "n/a", ">= 8x", None, None)
    seconds = baseline.estimate_s if baseline.estimate_s is not None else baseline.wall_s
    speedup = seconds / head.contained_s
    how = (
        f"computed: wall at 0 ms + {baseline.calls} calls x 100 ms (exact: one call after another)"
        if baseline.estimate_s is not None
        else "measured at 100 ms"
    )
    return Target(
        name,
        f"{seconds:.1f} s / {head.contained_s:.2f} s = {speedup:.1f}x",
        ">= 8x",
        8 / speedup,
        speedup >= 8,
        f"sequential {how}",
    )


def clean_regions(runs: list[RunResult]) -> Target:
    """A region with nothing rogue: one describe per kind and, for each credential the response reads (the key and
    every key of its chain: the contract reads each in every region), one lookup to attribute and one to count."""
    worst: tuple[float, dict[str, int], int] | None = None
    for run in runs:
        if run.engine != "responder" or run.faults_injected:
            continue
        allowed = len(DESCRIBES) + 2 * run.credentials
        for ops in run.clean_region_calls().values():
            share = sum(ops.values()) / allowed
            if worst is None or share > worst[0]:
                worst = (share, ops, run.credentials)
    if worst is None:
        return Target("calls in a region with nothing to do", "n/a", "1 describe per kind", None, None)
    share, ops, credentials = worst
    describes = sum(n for op, n in ops.items() if op in DESCRIBES)
    lookups = sum(n for op, n in ops.items() if op in LOOKUPS)
    other = {op: n for op, n in ops.items() if op not in DESCRIBES | LOOKUPS}
    ok = all(ops.get(op, 0) <= 1 for op in DESCRIBES) and lookups <= 2 * credentials and not other
    measured = f"{sum(ops.values())} = {describes} describes + {lookups} LookupEvents" + (
        f" + {sum(other.values())} other" if other else ""
    )
    return Target(
        "calls in a region with nothing to do",
        measured + f" ({credentials} credential{'s' * (credentials != 1)} read)",
        "<= 5 describes (1 per kind) + 2 lookups per credential read, no per-item",
        share,
        ok,
        "worst clean region over all runs; LookupEvents = the chain's reading (which the sweep attributes from) "
        "and the activity summary, for the key and each key of its chain",
    )


def per_instance(empty: RunResult | None, big: RunResult | None) -> Target:
    if not (empty and big and big.rogue):
        return Target("calls per rogue instance (amortised)", "n/a", "<= 0.1", None, None)
    per = (big.calls - empty.calls) / big.rogue
    return Target(
        "calls per rogue instance (amortised)",
        f"{per:.3f} ({big.calls} - {empty.calls} calls) / {big.rogue:,}",
        "<= 0.1",
        per / 0.1,
        per <= 0.1,
        f"{big.label} vs 17x0",
    )


def lambda_time(big: RunResult | None) -> Target:
    if big is None:
        return Target("1,000 instances: time at 100 ms", "n/a", f"<= {LAMBDA_LIMIT_S} s", None, None)
    seconds = big.estimate_s if big.estimate_s is not None else big.wall_s
    how = "estimate: wall at 0 ms + critical-path calls x 100 ms" if big.estimate_s is not None else "measured"
    return Target(
        "1,000 instances: time at 100 ms",
        f"{seconds:.1f} s",
        f"<= {LAMBDA_LIMIT_S} s (Lambda limit)",
        seconds / LAMBDA_LIMIT_S,
        seconds <= LAMBDA_LIMIT_S,
        how,
    )


def memory_estimate_mb(big: RunResult | None, imports: list[ColdImport]) -> float | None:
    """Lambda memory = the handler's cold-import RSS + what the containment run added at its peak."""
    base = next((c.maxrss_mb for c in imports if c.module == "handlers.health"), None)
    if big is None or big.rss_peak_mb is None or big.rss_before_mb is None or base is None:
        return None
    return base + big.rss_peak_mb - big.rss_before_mb


def lambda_memory(big: RunResult | None, imports: list[ColdImport]) -> Target:
    mb = memory_estimate_mb(big, imports)
    note = ""
    if big is not None and big.rss_peak_mb is not None and big.rss_before_mb is not None:
        note = (
            f"import RSS + {big.rss_peak_mb - big.rss_before_mb:.0f} MB grown during the run; whole bench process "
            f"incl. moto and the scenario: {big.process_maxrss_mb or 0:.0f} MB"
        )
    return _ratio_target("1,000 instances: peak memory", mb, LAMBDA_MEMORY_MB, "MB", note)


def cold_imports(imports: list[ColdImport]) -> list[Target]:
    return [
        _ratio_target(
            f"cold import {c.module}",
            c.seconds,
            1.0,
            "s",
            ("placeholder module; " if c.placeholder else "") + f"interpreter + import {c.process_s:.2f} s",
        )
        for c in imports
    ]


def throttled(run: RunResult | None) -> Target:
    if run is None:
        return Target("contained under EC2 throttling", "n/a", "all checks pass", None, None)
    failed = [name for name, ok in run.verified.items() if not ok]
    outcome = "all checks pass" if not failed else "FAILED: " + ", ".join(failed)
    invocations = f"{run.invocations} invocation{'s' * (run.invocations != 1)}"
    note = "every 5th EC2 call answered RequestLimitExceeded (503); botocore retries them"
    if run.error:
        note += f"; last invocation raised {run.error[:100]}"
    elif run.invocations > 1:
        note += "; earlier invocations raised (IncompleteResponse), the platform's retry finished the job"
    return Target(
        "contained under EC2 throttling",
        f"{run.faults_injected} throttles; {outcome} after {invocations}",
        "all checks pass",
        None,
        run.contained,
        note,
    )


def swarm_target(run: Any) -> Target:
    """The swarm rule: the key Inactive within 2 s of the third region's launch event (no Health notice)."""
    seconds = run.key_inactive_s if run is not None else None
    return _ratio_target(
        "swarm: key Inactive after 3rd region's launch event", seconds, 2.0, "s", "3 regions, 100 ms a call"
    )


def swarm_ratio(head: RunResult | None, other: RunResult | None) -> float | None:
    """End to end of ``other`` over the headline swarm's; None unless both ran and ``other`` was contained."""
    if head is None or other is None or not other.contained or other.error or head.wall_s <= 0:
        return None
    return other.wall_s / head.wall_s


def versus_swarm(head: RunResult | None, other: RunResult | None, limit: float, name: str) -> Target:
    ratio = swarm_ratio(head, other)
    note = "" if head is None or other is None else f"{other.wall_s:.2f} s vs {head.wall_s:.2f} s; " + (
        "every state check passed" if other.contained else "NOT contained: " + ", ".join(
            k for k, ok in other.verified.items() if not ok) + (f" ({other.error})" if other.error else "")
    )  # fmt: skip
    if ratio is None:
        missed = head is not None and other is not None  # it ran, but did not contain: a miss, not n/a
        return Target(
            name, "not contained" if missed else "n/a", f"<= {limit:g} x", None, False if missed else None, note
        )
    return Target(name, f"{ratio:.2f} x", f"<= {limit:g} x", ratio / limit, ratio <= limit, note)
