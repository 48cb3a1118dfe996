"""Benchmark of the compromise responder against emulated AWS with injected per-call latency.

``python -m compromise_responder.tools.bench`` (``make bench``); see tools/bench/README.md for what is measured and how to read it.
"""

from __future__ import annotations

import compromise_responder.tools.emulator  # noqa: F401 - first: it configures moto (MOTO_AMIS_PATH) before anything imports moto
