"""The words a report may use about its steps, derived from their statuses only.

Contract ("Truth of the report"): a headline or summary never says deactivated, Inactive, revoked,
isolated or contained about a step that is not ``done``, and names every failed step. So no flow
writes such words itself: it names the subject ("Exposed key AKIA... (ci-deployer)") and this module
words the outcome from what AWS accepted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..actions import ACTIONS, ActionName
from ..core.model import Outcome

Acted = Iterable[tuple[str, str]]  # (action, status) of each step


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
    for action, cls in ACTIONS.items():
        if counts[action]:
            verb = cls.words.planned if dry_run else cls.words.done
            lines.append(f"{cls.words.plural} {verb}: {counts[action]}")
    return lines


def capacity_phrase(steps: Acted, regions: dict[str, str], dry_run: bool) -> str:
    """``22 instances, 20 spot requests stopped in 5 regions`` (only what AWS accepted)."""
    counts = acted(steps, dry_run)
    stopped = [
        f"{counts[name]} {cls.words.noun if counts[name] == 1 else cls.words.plural}"
        for name, cls in sorted(ACTIONS.items(), key=lambda item: item[1].phase, reverse=True)
        if cls.stops_capacity and not cls.words.short and counts[name]
    ]
    contained = sum(1 for s in regions.values() if s == "contained")
    if not stopped:
        return "no rogue capacity found" if not dry_run else "no rogue capacity to stop"
    where = f" in {contained} region{'s' * (contained != 1)}" if contained else ""
    return ", ".join(stopped) + (" to stop" if dry_run else " stopped") + where


DOOR = (ActionName.DEACTIVATE_ACCESS_KEY, ActionName.QUARANTINE_USER)  # what "contained" says for a key


def named_phrase(outcomes: Iterable[Outcome], dry_run: bool, skip: tuple[str, ...] = ()) -> str | None:
    """``instance i-0abc isolated, 2 EBS volumes snapshotted`` - the named steps AWS accepted."""
    counted = "planned" if dry_run else "done"
    by_action: dict[str, list[str]] = {}
    for o in outcomes:
        if o.status == counted and o.step.action in ACTIONS and ACTIONS[o.step.action].words.short:
            by_action.setdefault(o.step.action, []).append(o.step.target)
    parts = []
    for action, cls in ACTIONS.items():
        targets = by_action.get(action, [])
        wording = cls.words
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
