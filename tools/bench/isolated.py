"""The 1,000-instance run in a fresh interpreter, so its memory figures are its own.

``python -m compromise_responder.tools.bench.isolated OUT LABEL TOTAL LATENCY [cold]``: warm-up (unless cold: then the handler is
first imported for the run, as in a new Lambda container), then one measured response with the resident
memory sampled; the ``RunResult`` goes to OUT as JSON.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from .instrument import CpuMeter
from .runs import RunResult, RunSpec, run, warm_up
from .scenario import Size

ROOT = Path(__file__).resolve().parents[2]


def run_isolated(label: str, total: int, latency: float, cold: bool = False) -> RunResult:
    """Run ``total`` rogue instances over every region in a child interpreter; its output is shown as is."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "compromise_responder.tools.bench.isolated",
                str(out),
                label,
                str(total),
                str(latency),
            ]
            + (["cold"] if cold else []),
            cwd=ROOT,
            check=True,
        )
        return RunResult.from_json(json.loads(out.read_text()))


def main(argv: list[str]) -> int:
    out, label, total, latency = Path(argv[0]), argv[1], int(argv[2]), float(argv[3])
    cold = argv[4:] == ["cold"]
    meter = CpuMeter()
    with meter.installed():
        if not cold:
            warm_up(meter)
        result = run(RunSpec(label, Size.total(total), latency, sample_memory=True, cold=cold), meter)
    result.process_maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_text(json.dumps(result.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
