"""The words a report may use about its steps, derived from their statuses only.

Contract ("Truth of the report"): a headline or summary never says deactivated, Inactive, revoked,
isolated or contained about a step that is not ``done``, and names every failed step. So no flow
writes such words itself: it names the subject ("Exposed key AKIA... (ci-deployer)") and this module
words the outcome from what AWS accepted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .model import Outcome

Acted = Iterable[tuple[str, str]]  # (action, status) of each step


@dataclass(frozen=True)
class Wording:
    noun: str
    plural: str
    done: str  # past tense: only for steps AWS accepted
    planned: str  # what a dry-run says
    stops_capacity: bool = False
    short: str = ""  # the headline's word, when it names the step (empty: counted, not named)
    one: str = "{noun} {target} {short}"  # how the headline names one step AWS accepted


WORDING: dict[str, Wording] = {
    "deactivate-access-key": Wording(
        "access key", "access keys", "deactivated (not deleted)", "to deactivate", short="deactivated"
    ),
    "quarantine-user": Wording(
        "user", "users", "given the deny-all quarantine policy", "to quarantine", short="quarantined"
    ),
    "quarantine-role": Wording(
        "role", "roles", "given the deny-all quarantine policy", "to quarantine", short="quarantined"
    ),
    "revoke-role-sessions": Wording(
        "role",
        "roles",
        "had their older sessions revoked",
        "to revoke sessions of",
        short="sessions revoked",
        one="sessions of role {target} revoked",
    ),
    "delete-login-profile": Wording(
        "console password", "console passwords", "removed (login profiles)", "to remove (login profiles)"
    ),
    "cancel-spot-fleet": Wording("spot fleet", "spot fleets", "cancelled", "to cancel", stops_capacity=True),
    "delete-ec2-fleet": Wording(
        "EC2 fleet", "EC2 fleets", "deleted (instances terminated separately)", "to delete", stops_capacity=True
    ),
    "cancel-spot-request": Wording("spot request", "spot requests", "cancelled", "to cancel", stops_capacity=True),
    "scale-asg-to-zero": Wording(
        "Auto Scaling group", "Auto Scaling groups", "scaled to zero", "to scale to zero", stops_capacity=True
    ),
    "disable-termination-protection": Wording(
        "termination protection", "termination protections", "turned off", "to turn off"
    ),
    "terminate-instance": Wording("instance", "instances", "terminated", "to terminate", stops_capacity=True),
    "isolate-instance": Wording(
        "instance",
        "instances",
        "isolated (quarantine security group)",
        "to isolate",
        short="isolated",
        one="{noun} {target} {short} (not terminated)",
    ),
    "snapshot-volume": Wording(
        "EBS volume", "EBS volumes", "snapshotted for forensics", "to snapshot", short="snapshotted"
    ),
    "release-instance": Wording("instance", "instances", "released from isolation", "to release", short="released"),
}
CAPACITY_SHORT = (  # the headline's capacity tail, in this order
    ("terminate-instance", "instances"),
    ("cancel-spot-request", "spot requests"),
    ("cancel-spot-fleet", "fleets"),
    ("delete-ec2-fleet", "fleets"),
    ("scale-asg-to-zero", "ASGs"),
)


def statuses(outcomes: Iterable[Outcome]) -> list[tuple[str, str]]:
    return [(o.step.action, o.status) for o in outcomes]


def acted(steps: Acted, dry_run: bool) -> Counter[str]:
    """Per action: how many steps AWS accepted (or, in a dry-run, are planned)."""
    counted = "planned" if dry_run else "done"
    return Counter(action for action, status in steps if status == counted)


def count_lines(steps: Acted, dry_run: bool) -> list[str]:
    """``instances terminated: 22`` - one line per action that happened (or would, in a dry-run)."""
    counts = acted(steps, dry_run)
    lines = []
    for action, wording in WORDING.items():
        if counts[action]:
            verb = wording.planned if dry_run else wording.done
            lines.append(f"{wording.plural} {verb}: {counts[action]}")
    return lines


def capacity_phrase(steps: Acted, regions: dict[str, str], dry_run: bool) -> str:
    """``22 instances, 20 spot requests stopped in 5 regions`` (only what AWS accepted)."""
    counts = acted(steps, dry_run)
    merged: Counter[str] = Counter()
    for action, label in CAPACITY_SHORT:
        merged[label] += counts[action]
    stopped = [f"{n} {label}" for label, n in merged.items() if n]
    contained = sum(1 for s in regions.values() if s == "contained")
    if not stopped:
        return "no rogue capacity found" if not dry_run else "no rogue capacity to stop"
    where = f" in {contained} region{'s' * (contained != 1)}" if contained else ""
    return ", ".join(stopped) + (" to stop" if dry_run else " stopped") + where


DOOR = ("deactivate-access-key", "quarantine-user")  # what "contained" already says for a key


def named_phrase(outcomes: Iterable[Outcome], dry_run: bool, skip: tuple[str, ...] = ()) -> str | None:
    """``instance i-0abc isolated, 2 EBS volumes snapshotted`` - the named steps AWS accepted."""
    counted = "planned" if dry_run else "done"
    by_action: dict[str, list[str]] = {}
    for o in outcomes:
        if o.status == counted and WORDING.get(o.step.action, Wording("", "", "", "")).short:
            by_action.setdefault(o.step.action, []).append(o.step.target)
    parts = []
    for action, wording in WORDING.items():
        targets = by_action.get(action, [])
        if not targets or action in skip:
            continue
        verb = wording.planned if dry_run else wording.short
        if len(targets) == 1:
            parts.append(
                f"{verb} {wording.noun} {targets[0]}"
                if dry_run
                else wording.one.format(noun=wording.noun, target=targets[0], short=verb)
            )
        else:
            parts.append(
                f"{verb} {len(targets)} {wording.plural}" if dry_run else f"{len(targets)} {wording.plural} {verb}"
            )
    return ", ".join(parts) or None


def failure_phrase(outcomes: Iterable[Outcome], regions: dict[str, str], errors: list[str]) -> str | None:
    """``FAILED: deactivate-access-key AKIA..., 2 regions`` - every failed step is named (summary lists all)."""
    failed = [o for o in outcomes if o.status == "failed"]
    failed_regions = sorted(r for r, s in regions.items() if s == "failed")
    if not (failed or failed_regions or errors):
        return None
    names = [f"{o.step.action} {o.step.target}" for o in failed[:2]]
    if len(failed) > 2:
        names.append(f"{len(failed) - 2} more steps")
    if failed_regions:
        names.append(f"region {failed_regions[0]}" if len(failed_regions) == 1 else f"{len(failed_regions)} regions")
    if errors and not names:
        names.append(errors[0].split(":", 1)[0])
    return "FAILED: " + ", ".join(names)
