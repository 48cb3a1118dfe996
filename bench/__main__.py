"""``python -m bench [--quick]``: run the benchmark, print the tables, write bench/results/latest.json."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rich.console import Console

from . import coldstart
from .instrument import CpuMeter
from .isolated import run_isolated
from .report import show, write_json
from .runs import RunResult, RunSpec, run, warm_up
from .scenario import REGIONS, Size
from .targets import LATENCY, evaluate

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
BIG = 1000
T = TypeVar("T")


def in_process_plan(quick: bool, slowest: str) -> list[RunSpec]:
    """The runs after the headline one (which names the slowest region, the critical path)."""
    ten = Size.each(10)
    # quick: the sequential baseline at 0 ms; its calls are one after another, so wall + calls x 100 ms
    # is what it takes at 100 ms
    specs = [
        RunSpec("17x10 critical path", ten, LATENCY, sweep=(slowest,)),
        RunSpec("17x10 sequential", ten, 0.0 if quick else LATENCY, engine="sequential"),
        RunSpec("17x10 throttled", ten, 0.0 if quick else LATENCY, throttle=True, invocations=3),
    ]
    if not quick:
        specs.insert(0, RunSpec("17x100", Size.each(100), LATENCY))
    return specs


def measure(console: Console, quick: bool) -> dict[str, RunResult]:
    meter = CpuMeter()
    runs: dict[str, RunResult] = {}
    with meter.installed():
        timed(console, "warm-up (not reported)", lambda: warm_up(meter))
        for spec in (RunSpec("17x0", Size.each(0), LATENCY), RunSpec("17x10", Size.each(10), LATENCY)):
            runs[spec.label] = timed(console, spec.label, lambda spec=spec: run(spec, meter))
        for spec in in_process_plan(quick, runs["17x10"].slowest_region or REGIONS[0]):
            runs[spec.label] = timed(console, spec.label, lambda spec=spec: run(spec, meter))
    # in a fresh interpreter for its memory figures; quick: at 0 ms, the 100 ms time estimated
    label = f"{BIG}/17"
    runs[label] = timed(console, label, lambda: run_isolated(label, BIG, 0.0 if quick else LATENCY))
    return runs


def timed(console: Console, label: str, work: Callable[[], T]) -> T:
    began = time.perf_counter()
    result = work()
    console.print(f"[dim]  {label}: {time.perf_counter() - began:.1f} s (set-up and checks included)[/dim]")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
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
    imports = timed(console, "cold imports", lambda: coldstart.measure_all(1 if args.quick else 3))
    runs = measure(console, args.quick)
    targets = evaluate(runs, imports)
    seconds = time.perf_counter() - started
    show(console, runs, imports, targets)
    write_json(args.out, quick=args.quick, seconds=seconds, runs=runs, imports=imports, targets=targets)
    met = sum(1 for t in targets if t.passed)
    missed = sum(1 for t in targets if t.passed is False)
    console.print(f"[bold]{met} targets met, {missed} missed[/bold]; benchmark took {seconds:.0f} s; JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
