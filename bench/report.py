"""The printed tables (rich) and the JSON result."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .coldstart import ColdImport
from .runs import RunResult
from .scenario import CLEAN_REGIONS, REGIONS
from .targets import LATENCY, Target, memory_estimate_mb

SIZE_ORDER = ("17x0", "17x10", "17x100", "1000/17")


def _s(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def runs_table(runs: dict[str, RunResult]) -> Table:
    table = Table(title="Runs (each on a fresh emulated account; seconds from invocation)")
    for column in ("run", "regions", "rogue", "latency", "end to end", "key Inactive", "contained", "AWS calls"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for column in ("CPU (moto / clients)", "RSS peak (grown)", "est. at 100 ms", "AWS state after"):
        table.add_column(column, justify="right" if column != "AWS state after" else "left")
    for run in runs.values():
        state = "[green]contained[/green]" if run.contained else "[red]NOT contained[/red]"
        if run.invocations > 1:
            state += f" ({run.invocations} invocations)"
        if run.error:
            state += f" [yellow](raised {run.error.split(':', 1)[0]})[/yellow]"
        table.add_row(
            run.label,
            str(run.regions),
            f"{run.rogue:,}",
            f"{run.latency * 1000:.0f} ms",
            _s(run.wall_s),
            _s(run.key_inactive_s),
            _s(run.contained_s),
            str(run.calls) + (f" +{run.faults_injected} retried" if run.faults_injected else ""),
            f"{run.cpu_s:.1f} ({run.emulator_cpu_s:.1f} / {run.client_cpu_s:.1f})",
            _memory(run),
            "-" if run.estimate_s is None else f"~{run.estimate_s:.1f}",
            state,
        )
    return table


def _memory(run: RunResult) -> str:
    if run.rss_peak_mb is None or run.rss_before_mb is None:
        return "-"
    return f"{run.rss_peak_mb:.0f} MB (+{run.rss_peak_mb - run.rss_before_mb:.0f})"


def targets_table(targets: list[Target]) -> Table:
    table = Table(title="Targets")
    for column in ("target", "measured", "limit", "ratio", "result", "note"):
        table.add_column(column, justify="right" if column == "ratio" else "left", overflow="fold")
    for t in targets:
        result = "n/a" if t.passed is None else "[green]PASS[/green]" if t.passed else "[red]MISS[/red]"
        table.add_row(t.name, t.measured, t.limit, _s(t.ratio), result, t.note)
    return table


def time_table(run: RunResult) -> Table:
    table = Table(title=f"Where the time goes: {run.label} at {run.latency * 1000:.0f} ms per call")
    table.add_column("moment / share")
    table.add_column("seconds", justify="right")
    table.add_column("call latencies", justify="right")
    for name, seconds in run.milestones_s.items():
        table.add_row(name, _s(seconds), _s(seconds / run.latency if run.latency else None, 1))
    table.add_row("handler returned (end to end)", _s(run.wall_s), _s(run.wall_s / run.latency, 1))
    other = run.cpu_s - run.emulator_cpu_s - run.client_cpu_s - run.parsing_cpu_s
    table.add_row("process CPU during the run (all threads, GIL-bound)", _s(run.cpu_s), "")
    table.add_row("  in moto (emulated AWS: on Amazon's side for real)", _s(run.emulator_cpu_s), "")
    table.add_row(f"  creating {run.clients_created} boto3 clients", _s(run.client_cpu_s), "")
    table.add_row("  botocore response parsing", _s(run.parsing_cpu_s), "")
    table.add_row("  the rest (request building, retries, engine, Powertools, threads)", _s(other), "")
    table.add_row("end to end minus moto CPU (approx. against real AWS)", _s(run.wall_s - run.emulator_cpu_s), "")
    table.add_row(
        f"calls on the critical path (upper bound) x {run.latency * 1000:.0f} ms",
        _s(run.critical_calls * run.latency),
        str(run.critical_calls),
    )
    return table


def calls_table(runs: dict[str, RunResult]) -> Table:
    sized = [runs[k] for k in SIZE_ORDER if k in runs]
    table = Table(title="AWS calls by operation (growth with rogue instances)")
    table.add_column("operation")
    for run in sized:
        table.add_column(f"{run.label}\n({run.rogue:,} rogue)", justify="right")
    operations = sorted({op for run in sized for op in run.calls_by_operation})
    for op in operations:
        table.add_row(op, *(str(run.calls_by_operation.get(op, 0)) for run in sized))
    table.add_row("[bold]total[/bold]", *(f"[bold]{run.calls}[/bold]" for run in sized))
    table.add_row("calls / region swept", *(f"{run.calls / run.regions:.1f}" for run in sized))
    table.add_row(
        "extra calls / rogue instance vs 17x0",
        *(
            f"{(run.calls - sized[0].calls) / run.rogue:.3f}" if run.rogue and sized[0].rogue == 0 else "-"
            for run in sized
        ),
    )
    table.add_row("end to end (s)", *(_s(run.wall_s) for run in sized))
    table.add_row("contained (s)", *(_s(run.contained_s) for run in sized))
    return table


def regions_table(run: RunResult, critical: RunResult | None) -> Table:
    table = Table(title=f"Per region: {run.label} (clean = nothing rogue there)")
    for column in ("region", "kind", "calls", "operations", "last call at (s)"):
        table.add_column(column, justify="right" if column in ("calls", "last call at (s)") else "left")
    for region in (*REGIONS, "aws-global"):
        ops = run.calls_by_region.get(region)
        if not ops:
            continue
        kind = "clean" if region in CLEAN_REGIONS else "global" if region == "aws-global" else "attacked"
        detail = ", ".join(f"{op.split(':', 1)[1]} {n}" for op, n in sorted(ops.items()))
        table.add_row(region, kind, str(sum(ops.values())), detail, _s(run.region_done_s.get(region)))
    if critical is not None:
        table.caption = (
            f"Region growth: {critical.regions} region ({critical.slowest_region}) alone: {critical.calls} calls, "
            f"contained at {_s(critical.contained_s)} s, end to end {_s(critical.wall_s)} s; "
            f"{run.regions} regions: {run.calls} calls, contained at {_s(run.contained_s)} s, "
            f"end to end {_s(run.wall_s)} s"
        )
    return table


def imports_table(imports: list[ColdImport]) -> Table:
    table = Table(title="Cold import of each handler module (fresh interpreter, median)")
    for column in ("module", "import (s)", "interpreter + import (s)", "RSS (MB)", "modules", "heaviest (self time)"):
        table.add_column(column, justify="left" if column in ("module", "heaviest (self time)") else "right")
    for c in imports:
        heavy = ", ".join(f"{name} {seconds:.2f}" for name, seconds in c.heaviest) or (
            "placeholder" if c.placeholder else "-"
        )
        table.add_row(c.module, _s(c.seconds), _s(c.process_s), f"{c.maxrss_mb:.0f}", str(c.modules_loaded), heavy)
    return table


def logged_table(runs: dict[str, RunResult]) -> Table | None:
    rows = [(run.label, message) for run in runs.values() for message in run.logged]
    if not rows:
        return None
    table = Table(title="Warnings and errors the responder logged (deduplicated per run)")
    table.add_column("run")
    table.add_column("message", overflow="fold")
    for label, message in rows:
        table.add_row(label, message if len(message) <= 300 else message[:297] + "...")
    return table


def show(console: Console, runs: dict[str, RunResult], imports: list[ColdImport], targets: list[Target]) -> None:
    console.print(runs_table(runs))
    head = runs.get("17x10")
    if head is not None:
        console.print(time_table(head))
        console.print(regions_table(head, runs.get("17x10 critical path")))
    console.print(calls_table(runs))
    console.print(imports_table(imports))
    logged = logged_table(runs)
    if logged is not None:
        console.print(logged)
    console.print(targets_table(targets))


def write_json(
    path: Path,
    *,
    quick: bool,
    seconds: float,
    runs: dict[str, RunResult],
    imports: list[ColdImport],
    targets: list[Target],
) -> None:
    result: dict[str, Any] = {
        "generatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "callLatencySeconds": LATENCY,
        "benchSeconds": round(seconds, 1),
        "machine": {
            "cpus": _cpus(),
            "python": platform.python_version(),
            "moto": version("moto"),
            "boto3": version("boto3"),
            "loadAverageAtEnd": list(os.getloadavg()),
        },
        "regions": list(REGIONS),
        "cleanRegions": list(CLEAN_REGIONS),
        "runs": {label: run.to_json() for label, run in runs.items()},
        "coldImports": [c.to_json() for c in imports],
        "memoryEstimateMb": memory_estimate_mb(runs.get("1000/17"), imports),
        "targets": [t.to_json() for t in targets],
        "targetsMet": sum(1 for t in targets if t.passed),
        "targetsMissed": [t.name for t in targets if t.passed is False],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
