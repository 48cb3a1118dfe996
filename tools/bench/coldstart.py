"""Cold start: each handler module imported in a fresh interpreter, as a new Lambda container does."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = ROOT / "lambdas"
HANDLERS = ("handlers.health", "handlers.guardduty", "handlers.cloudtrail", "handlers.runbook")
PROBE = """
import importlib, json, resource, sys, time
started = time.perf_counter()
module = importlib.import_module(sys.argv[1])
seconds = time.perf_counter() - started
print(json.dumps({
    "seconds": seconds,
    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "has_handler": callable(getattr(module, "handler", None)),
    "modules": len(sys.modules),
}))
"""


@dataclass
class ColdImport:
    module: str
    seconds: float  # median import time over the repeats, interpreter start excluded
    process_s: float  # median interpreter start + import (what a Lambda init pays at least)
    maxrss_mb: float
    placeholder: bool
    modules_loaded: int
    heaviest: list[tuple[str, float]] = field(default_factory=list)  # top-level packages, cumulative seconds

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def measure_all(repeats: int) -> list[ColdImport]:
    """Every existing handler module; the heaviest packages are listed for the first real handler only
    (they all import the same engine)."""
    found = [measure(module, repeats) for module in HANDLERS if _exists(module)]
    first = next((c for c in found if not c.placeholder), None)
    if first is not None:
        first.heaviest = heaviest_imports(first.module)
    return found


def _exists(module: str) -> bool:
    return (LAMBDAS / (module.replace(".", "/") + ".py")).is_file()


def measure(module: str, repeats: int) -> ColdImport:
    samples = [_probe(module) for _ in range(max(1, repeats))]
    first = samples[0][0]
    placeholder = not first["has_handler"]
    return ColdImport(
        module=module,
        seconds=statistics.median(s["seconds"] for s, _ in samples),
        process_s=statistics.median(wall for _, wall in samples),
        maxrss_mb=max(s["maxrss_mb"] for s, _ in samples),
        placeholder=placeholder,
        modules_loaded=int(first["modules"]),
    )


def _probe(module: str) -> tuple[dict[str, Any], float]:
    import time

    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        cwd=LAMBDAS,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def heaviest_imports(module: str, top: int = 4) -> list[tuple[str, float]]:
    """``python -X importtime``: the packages whose own module bodies cost most (self time, summed)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=LAMBDAS,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        own = parts[0].rsplit(":", 1)[-1].strip()
        if len(parts) != 3 or not own.isdigit():
            continue
        root = parts[2].strip().split(".", 1)[0]
        found[root] = found.get(root, 0.0) + int(own) / 1e6
    return sorted(found.items(), key=lambda kv: -kv[1])[:top]
