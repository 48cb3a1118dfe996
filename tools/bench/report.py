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
from .instrument import STOP_ACTIONS
from .runs import RunResult
from .scenario import CLEAN_REGIONS, REGIONS
from .targets import LATENCY, Target, memory_estimate_mb

SIZE_ORDER = ("17x10 critical path", "17x0", "17x10", "17x100", "1000/17")


def _s(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def runs_table(runs: dict[str, RunResult]) -> Table:
    table = Table(title="Runs: each on a fresh emulated account; seconds from invocation; CPU over all threads")
    estimates = any(run.estimate_s is not None for run in runs.values())
    columns = ["run", "regions", "rogue", "latency", "end to end", "key off", "contained", "activity", "calls"]
    columns += ["CPU (moto/clients)", *(["est. at 100 ms"] if estimates else []), "AWS state after"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("run", "AWS state after") else "right", no_wrap=True)
    for run in runs.values():
        cells = [run.label, str(run.regions), f"{run.rogue:,}", f"{run.latency * 1000:.0f} ms", _s(run.wall_s)]
        cells += [_s(run.key_inactive_s), _s(run.contained_s), _s(run.activity_s), str(run.calls)]
        cells.append(f"{run.cpu_s:.1f} ({run.emulator_cpu_s:.1f}/{run.client_cpu_s:.1f})")
        if estimates:
            cells.append("-" if run.estimate_s is None else f"~{run.estimate_s:.1f}")
        table.add_row(*cells, _state(run))
    return table


def _state(run: RunResult) -> str:
    state = "[green]contained[/green]" if run.contained else "[red]NOT contained[/red]"
    notes = []
    if run.faults_injected:
        notes.append(f"{run.faults_injected} throttles")
    if run.invocations > 1:
        notes.append(f"{run.invocations} invocations")
    if run.error:
        notes.append(f"raised {run.error.split(':', 1)[0]}")
    return state + (f" ({', '.join(notes)})" if notes else "")


def _memory(run: RunResult) -> str:
    if run.rss_peak_mb is None or run.rss_before_mb is None:
        return "-"
    return f"{run.rss_peak_mb:.0f} (+{run.rss_peak_mb - run.rss_before_mb:.0f})"


def targets_table(targets: list[Target]) -> Table:
    table = Table(title="Targets")
    for column in ("target", "measured", "limit", "ratio", "result", "note"):
        table.add_column(column, justify="right" if column == "ratio" else "left", overflow="fold")
    for t in targets:
        result = "n/a" if t.passed is None else "[green]PASS[/green]" if t.passed else "[red]MISS[/red]"
        table.add_row(t.name, t.measured, t.limit, _s(t.ratio), result, t.note)
    return table


def time_table(runs: list[RunResult]) -> Table:
    table = Table(title="Where the time goes (seconds from invocation; CPU in seconds over all threads)")
    table.add_column("moment / share")
    for run in runs:
        table.add_column(f"{run.label}\n{run.regions} region{'s' * (run.regions != 1)}", justify="right")
    moments = list(dict.fromkeys(name for run in runs for name in run.milestones_s))
    for name in moments:
        table.add_row(name, *(_s(run.milestones_s.get(name)) for run in runs))
    table.add_row("handler returned (end to end)", *(_s(run.wall_s) for run in runs))
    table.add_row("  ... in call latencies", *(_s(run.wall_s / run.latency, 1) if run.latency else "-" for run in runs))
    table.add_row("latency injected per call (ms)", *(f"{run.latency * 1000:.0f}" for run in runs))
    table.add_row("process CPU during the run (GIL: one core at a time)", *(_s(run.cpu_s) for run in runs))
    table.add_row("  in moto (emulated AWS: Amazon's side for real)", *(_s(run.emulator_cpu_s) for run in runs))
    table.add_row("  creating boto3 clients", *(f"{run.client_cpu_s:.2f} ({run.clients_created})" for run in runs))
    table.add_row("  botocore response parsing", *(_s(run.parsing_cpu_s) for run in runs))
    table.add_row(
        "  the rest (request building, engine, Powertools, threads)",
        *(_s(run.cpu_s - run.emulator_cpu_s - run.client_cpu_s - run.parsing_cpu_s) for run in runs),
    )
    table.add_row(
        "end to end minus moto CPU (approx. real AWS)", *(_s(run.wall_s - run.emulator_cpu_s) for run in runs)
    )
    table.add_row("resident memory: peak (grown during the run), MB", *(_memory(run) for run in runs))
    table.add_row(
        "calls on the critical path (upper bound) x latency",
        *(f"{run.critical_calls * run.latency:.2f} ({run.critical_calls})" for run in runs),
    )
    return table


def calls_table(runs: dict[str, RunResult]) -> Table:
    sized = [runs[k] for k in SIZE_ORDER if k in runs]
    table = Table(title="AWS calls by operation: growth with regions (1 -> 17) and rogue instances (0 -> 1,400)")
    table.add_column("operation")
    for run in sized:
        table.add_column(f"{run.label}\n{run.regions} reg., {run.rogue:,} rogue", justify="right")
    operations = sorted({op for run in sized for op in run.calls_by_operation})
    for op in operations:
        table.add_row(op, *(str(run.calls_by_operation.get(op, 0)) for run in sized))
    table.add_row("[bold]total[/bold]", *(f"[bold]{run.calls}[/bold]" for run in sized))
    table.add_row("calls / region swept", *(f"{run.calls / run.regions:.1f}" for run in sized))
    empty = runs.get("17x0")
    table.add_row(
        "extra calls / rogue instance vs 17x0",
        *(
            f"{(run.calls - empty.calls) / run.rogue:.3f}"
            if empty and run.rogue and run.regions == empty.regions
            else "-"
            for run in sized
        ),
    )
    table.add_row("latency (ms)", *(f"{run.latency * 1000:.0f}" for run in sized))
    table.add_row("end to end (s)", *(_s(run.wall_s) for run in sized))
    table.add_row("contained (s)", *(_s(run.contained_s) for run in sized))
    table.add_row("end to end minus moto CPU (s)", *(_s(run.wall_s - run.emulator_cpu_s) for run in sized))
    return table


def regions_table(run: RunResult) -> Table:
    table = Table(title=f"Per region: {run.label} (clean = nothing rogue there; global = IAM)")
    for column in ("region", "kind", "calls", "describe/lookup", "stop", "records", "last sweep call at (s)"):
        table.add_column(column, justify="left" if column in ("region", "kind") else "right")
    for region in (*REGIONS, "aws-global"):
        ops = run.calls_by_region.get(region)
        if not ops:
            continue
        kind = "clean" if region in CLEAN_REGIONS else "global" if region == "aws-global" else "attacked"
        looks = sum(n for op, n in ops.items() if op.split(":", 1)[1].startswith(("Describe", "Lookup")))
        stops = sum(n for op, n in ops.items() if op in STOP_ACTIONS)
        other = sum(ops.values()) - looks - stops
        table.add_row(
            region, kind, str(sum(ops.values())), str(looks), str(stops), str(other), _s(run.region_done_s.get(region))
        )
    return table


def imports_table(imports: list[ColdImport]) -> Table:
    table = Table(title="Cold import of each handler module (fresh interpreter, median)")
    for column in ("module", "import (s)", "interpreter + import (s)", "RSS (MB)", "modules", "heaviest (self time)"):
        table.add_column(column, justify="left" if column in ("module", "heaviest (self time)") else "right")
    for c in imports:
        heavy = ", ".join(f"{name} {seconds:.2f}" for name, seconds in c.heaviest) or (
            "placeholder" if c.placeholder else "(same engine imports)"
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
    timed = [runs[k] for k in ("17x10 critical path", "17x10", "17x100", "1000/17") if k in runs]
    if timed:
        console.print(time_table(timed))
    console.print(calls_table(runs))
    if "17x10" in runs:
        console.print(regions_table(runs["17x10"]))
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
    extra: dict[str, Any] | None = None,
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
    result.update(extra or {})
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
