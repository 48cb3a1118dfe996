"""``python -m compromise_responder.tools.bench [--quick]``: run the benchmark, print the tables, write tools/bench/results/latest.json."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from rich.console import Console

# set here, for the benchmark's own process only (a test importing a bench module keeps its handlers' logs and metrics)
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from . import coldstart
from .earliest import earliest_target, run_earliest_bench
from .guard import run_guard_bench, tamper_target
from .instrument import CpuMeter
from .isolated import run_isolated
from .organization import ACCOUNTS, organization_table, run_organization
from .report import show, write_json
from .runs import RunResult, RunSpec, run_median, warm_up
from .scenario import REGIONS, Size
from .swarm import measure_swarm
from .targets import LATENCY, evaluate, swarm_target

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
BIG = 1000
COLD = "17x10 cold start"
ORG_ACCOUNTS_QUICK = 10
REPEATS = 3  # full mode: the two runs the ratio targets compare are repeated, the median kept
REPEATED = frozenset({"17x10", "17x10 critical path", "17x10 role hop", "17x10 campaign"})  # ratios: median to median
T = TypeVar("T")


def in_process_plan(quick: bool, slowest: str) -> list[RunSpec]:
    """The runs after the headline one (which names the slowest region, the critical path)."""
    ten = Size.each(10)
    specs = [
        RunSpec("17x10 critical path", ten, LATENCY, sweep=(slowest,)),
        # one call after another: its time at 100 ms is exactly its wall at 0 ms + calls x 100 ms
        RunSpec("17x10 sequential", ten, 0.0, engine="sequential"),
        RunSpec("17x10 throttled", ten, 0.0 if quick else LATENCY, throttle=True, invocations=3),
        # issues 22 and 23: the same swarm with a role hop, and the campaign (EC2 + ECS + Lambda), vs 17x10
        RunSpec("17x10 role hop", ten, LATENCY, shape="hop"),
        RunSpec("17x10 campaign", ten, LATENCY, shape="campaign"),
    ]
    if not quick:
        specs.insert(0, RunSpec("17x100", Size.each(100), LATENCY))
    return specs


def measure(console: Console, quick: bool) -> dict[str, RunResult]:
    meter = CpuMeter()
    runs: dict[str, RunResult] = {}
    with meter.installed():
        timed(console, "warm-up (not reported)", partial(warm_up, meter))
        for spec in (RunSpec("17x0", Size.each(0), LATENCY), RunSpec("17x10", Size.each(10), LATENCY)):
            runs[spec.label] = measured(console, spec, meter, quick)
        for spec in in_process_plan(quick, runs["17x10"].slowest_region or REGIONS[0]):
            runs[spec.label] = measured(console, spec, meter, quick)
    # in a fresh interpreter for its memory figures; quick: at 0 ms, the 100 ms time estimated
    label = f"{BIG}/17"
    runs[label] = timed(console, label, partial(run_isolated, label, BIG, 0.0 if quick else LATENCY))
    # a new Lambda container: the handler is first imported (init) for this very response
    runs[COLD] = timed(console, COLD, partial(run_isolated, COLD, Size.each(10).rogue, LATENCY, True))
    return runs


def measured(console: Console, spec: RunSpec, meter: CpuMeter, quick: bool) -> RunResult:
    repeats = REPEATS if spec.label in REPEATED and not quick else 1
    label = spec.label + (f" (median of {repeats})" if repeats > 1 else "")
    return timed(console, label, partial(run_median, spec, meter, repeats))


def timed(console: Console, label: str, work: Callable[[], T]) -> T:
    began = time.perf_counter()
    result = work()
    console.print(f"[dim]  {label}: {time.perf_counter() - began:.1f} s (set-up and checks included)[/dim]")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compromise_responder.tools.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs at 100 ms; estimates for the slow ones")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON result (default: %(default)s)")
    args = parser.parse_args(argv)
    console = Console(width=160)
    started = time.perf_counter()
    console.print(
        f"[bold]Compromise responder benchmark[/bold] ({'quick' if args.quick else 'full'}): "
        f"{len(REGIONS)} regions, {LATENCY * 1000:.0f} ms injected per AWS call; "
        f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews every figure)"
    )
    imports = timed(console, "cold imports", partial(coldstart.measure_all, 1 if args.quick else 2))
    runs = measure(console, args.quick)
    org = timed(
        console, "organization", partial(run_organization, LATENCY, ORG_ACCOUNTS_QUICK if args.quick else ACCOUNTS)
    )
    swarm = timed(console, "swarm rule", partial(measure_swarm, LATENCY))
    tamper = timed(console, "tamper (Guarding the responder)", run_guard_bench)
    earliest = timed(console, "AWS quarantine attached (earliest trigger)", run_earliest_bench)
    head = runs.get("17x10")
    targets = [
        *evaluate(runs, imports), swarm_target(swarm), tamper_target(tamper),
        earliest_target(earliest, head.key_inactive_s if head else None),
    ]  # fmt: skip
    seconds = time.perf_counter() - started
    show(console, runs, imports, targets)
    console.print(organization_table(org))
    write_json(args.out, quick=args.quick, seconds=seconds, runs=runs, imports=imports, targets=targets,
               extra={"organization": org.to_json(), "swarm": swarm.to_json(), "tamper": tamper.to_json(),
                      "earliest": earliest.to_json()})  # fmt: skip
    met = sum(1 for t in targets if t.passed)
    missed = sum(1 for t in targets if t.passed is False)
    console.print(f"[bold]{met} targets met, {missed} missed[/bold]; benchmark took {seconds:.0f} s; JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
