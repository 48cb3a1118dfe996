"""Guarding the responder: from a tamper event (a leaked key stopped the responder's trail) to the trail logging
again and the key Inactive, through the real CloudTrail handler, every AWS call 100 ms. Target: both <= 1 s.

``python -m compromise_responder.tools.bench.guard`` runs it alone."""

from __future__ import annotations

import importlib
import sys
from dataclasses import asdict, dataclass
from typing import Any

from responder.core import own_names

from compromise_responder.tools.emulator import EmulatedAws
from compromise_responder.tools.emulator.responder_world import deploy_responder
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY

from .instrument import KEY_ACTION, timed_invocation
from .targets import LATENCY, Target, _ratio_target

LIMIT_S = 1.0
REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")


@dataclass(frozen=True)
class TamperRun:
    logging_restored_s: float | None
    key_inactive_s: float | None
    calls_before: int  # AWS calls the handler made before both were done
    wall_s: float  # the whole response (region sweep, activity, notification included)

    @property
    def both_s(self) -> float | None:
        if self.logging_restored_s is None or self.key_inactive_s is None:
            return None
        return max(self.logging_restored_s, self.key_inactive_s)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "both_s": self.both_s}


def run_tamper(latency: float = LATENCY) -> TamperRun:
    handler = importlib.import_module("handlers.cloudtrail").handler  # a warm container: imported already
    with EmulatedAws(regions=REGIONS, lookup_quota=True) as aws:
        world = deploy_responder(aws)
        attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
        aws.client("cloudtrail").stop_logging(Name=own_names.TRAIL)
        event = world.tamper(attacker.identity, "StopLogging", "cloudtrail.amazonaws.com", {"name": own_names.TRAIL})
        timeline, began, wall = timed_invocation(aws, handler, event, latency)
        logging = timeline.first("cloudtrail:StartLogging")
        key = timeline.first(KEY_ACTION)
        done = max(logging or 0.0, key or 0.0)
        return TamperRun(
            logging - began if logging else None,
            key - began if key else None,
            sum(1 for e in timeline.events if e.at <= done),
            wall,
        )


def run_guard_bench() -> TamperRun:
    run_tamper(0.0)  # warm-up: imports and clients, as in a warm Lambda container
    return run_tamper()


def tamper_target(result: TamperRun) -> Target:
    return _ratio_target(
        "tamper -> trail logging + key Inactive", result.both_s, LIMIT_S, "s",
        f"{result.calls_before} calls at 100 ms, restore and containment side by side",
    )  # fmt: skip


def main() -> int:
    result = run_guard_bench()
    print(
        f"tamper -> logging restored {result.logging_restored_s:.2f} s, key Inactive {result.key_inactive_s:.2f} s "
        f"({result.calls_before} calls at {LATENCY * 1000:.0f} ms; whole response {result.wall_s:.2f} s); "
        f"target <= {LIMIT_S:.1f} s: {'met' if (result.both_s or 99) <= LIMIT_S else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
