"""The swarm rule, timed: an IAM user's key launches g5.48xlarge in three new regions with no Health notice;
the launch watcher handles each launch event in turn. Measured: from the third region's launch event reaching
the handler to ``UpdateAccessKey`` accepted (the key Inactive), at the injected per-call latency.

``python -m compromise_responder.tools.bench.swarm [LATENCY]`` prints the figure; ``make bench`` runs ``measure_swarm``.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from responder.flows import left_running

from compromise_responder.tools.emulator import EmulatedAws, LambdaContext

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
KEY = "AKIAIOSFODNN7EXAMPLE"
LIMIT_S = 2.0


@dataclass(frozen=True)
class SwarmRun:
    latency_s: float
    key_inactive_s: float | None  # after the third region's launch event reached the handler
    handler_s: float  # the third event's whole response (containment, sweep, notification)
    key_status: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def measure_swarm(latency: float) -> SwarmRun:
    grace, left_running.GRACE_SECONDS = left_running.GRACE_SECONDS, 0.0  # one process: nothing races it
    try:
        with EmulatedAws(regions=REGIONS, env={"SWEEP_REGIONS": ",".join(REGIONS)}, lookup_quota=True) as aws:
            attacker = aws.create_user("ci-deployer", key_id=KEY)
            events = [attacker.run_instances(region, "g5.48xlarge").event for region in REGIONS]
            handler = importlib.import_module("handlers.cloudtrail").handler
            for event in events[:2]:
                handler(event, LambdaContext())
            inactive: list[float] = []
            aws.dispatcher.observers.append(
                lambda call, parsed: (
                    inactive.append(time.perf_counter()) if call.action == "iam:UpdateAccessKey" else None
                )
            )
            aws.latency.seconds = latency
            started = time.perf_counter()
            with contextlib.suppress(Exception):  # a failed region still counts the key's time
                handler(events[2], LambdaContext())
            ended = time.perf_counter()
            status = aws.key_status("ci-deployer").get(KEY, "missing")
    finally:
        left_running.GRACE_SECONDS = grace
    return SwarmRun(latency, (inactive[0] - started) if inactive else None, ended - started, status)


def main(argv: list[str]) -> int:
    latency = float(argv[0]) if argv else 0.1
    run = measure_swarm(latency)
    print(run.to_json())
    return 0 if run.key_inactive_s is not None and run.key_inactive_s <= LIMIT_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
