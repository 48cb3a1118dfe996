"""Benchmark of the compromise responder against emulated AWS with injected per-call latency.

``python -m bench`` (``make bench``); see bench/README.md for what is measured and how to read it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "lambdas"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

import emulator  # noqa: E402,F401 - first: it configures moto (MOTO_AMIS_PATH) before anything imports moto
