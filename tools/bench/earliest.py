"""The earliest trigger, timed (issue 21): AWS attaches its quarantine policy ``AWSCompromisedKeyQuarantineV2`` to
the user whose key it found in public (CloudTrail ``AttachUserPolicy``, an AWS-internal caller); the real CloudTrail
handler contains every access key of that user. Measured: from the event reaching the handler to the last of the
user's keys Inactive (``iam:UpdateAccessKey`` accepted), in the 17 default regions, every AWS call 100 ms.
Target: <= 2 s, shown beside the Health-triggered run's key Inactive.

``python -m compromise_responder.tools.bench.earliest [LATENCY]`` runs it alone."""

from __future__ import annotations

import importlib
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from compromise_responder.tools.emulator import EmulatedAws, clock
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, aws_quarantine_attached

from .instrument import KEY_ACTION, timed_invocation
from .scenario import ALLOWED_REGIONS, REGIONS
from .targets import LATENCY, Target, _ratio_target

LIMIT_S = 2.0
USER = "ci-deployer"
SECOND_KEY = "AKIAI44QH8DHBEXAMPLE"  # the user's other key, made long before
QUARANTINE_PREFIX = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine"
POLICY = f"{QUARANTINE_PREFIX}V2"


@dataclass(frozen=True)
class EarliestRun:
    latency_s: float
    keys: int
    all_keys_inactive_s: float | None  # from the event reaching the handler to the last key Inactive
    first_key_inactive_s: float | None
    wall_s: float  # the whole response (the 17 regions swept, the notification sent)
    key_status: dict[str, str]

    @property
    def contained(self) -> bool:
        return bool(self.key_status) and set(self.key_status.values()) == {"Inactive"}

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "contained": self.contained}


def run_earliest(latency: float = LATENCY) -> EarliestRun:
    handler = importlib.import_module("handlers.cloudtrail").handler  # a warm container: imported already
    with EmulatedAws(regions=REGIONS, env={"ALLOWED_REGIONS": ALLOWED_REGIONS}, lookup_quota=True) as aws:
        attacker = aws.create_user(USER, key_id=LEAKED_KEY, last_used=("ec2", "us-east-1"))
        earlier = datetime.now(UTC) - timedelta(days=30)
        with clock(earlier):
            attacker.create_access_key(USER, key_id=SECOND_KEY, at=earlier)
        keys = len(aws.key_status(USER))
        event = aws_quarantine_attached(USER, POLICY.removeprefix(QUARANTINE_PREFIX), datetime.now(UTC))
        timeline, began, wall = timed_invocation(aws, handler, event, latency)
        offs = sorted(e.at for e in timeline.events if e.action == KEY_ACTION)
        status = aws.key_status(USER)
    return EarliestRun(
        latency,
        keys,
        offs[keys - 1] - began if len(offs) >= keys else None,
        offs[0] - began if offs else None,
        wall,
        status,
    )


def run_earliest_bench() -> EarliestRun:
    run_earliest(0.0)  # warm-up: imports and clients, as in a warm Lambda container
    return run_earliest()


def earliest_target(result: EarliestRun, health_key_inactive_s: float | None) -> Target:
    beside = f"; Health-triggered (17x10): {health_key_inactive_s:.2f} s" if health_key_inactive_s else ""
    seconds = result.all_keys_inactive_s if result.contained else None
    return _ratio_target(
        "AWS quarantine attached -> every key of the user Inactive", seconds, LIMIT_S, "s",
        f"{result.keys} keys, 17 regions, 100 ms a call{beside}",
    )  # fmt: skip


def main(argv: list[str]) -> int:
    result = run_earliest(float(argv[0])) if argv else run_earliest_bench()
    print(result.to_json())
    return 0 if result.contained and (result.all_keys_inactive_s or 99) <= LIMIT_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
