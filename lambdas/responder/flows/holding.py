"""The hooks of the key containment (flows/keys.py) that run the check after PROPAGATION_SECONDS (flows/holds.py)
beside the region sweep, and word the report when the attacker acted after containment."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from datetime import datetime

from ..actions import ActionName
from ..actions.iam import DeleteLoginProfile
from ..core.model import GLOBAL, Outcome, Principal, Step
from ..evidence import probes
from ..report import Report
from ..shell.context import ResponseContext
from .holds import CONTAINMENT_CHECK, COUNTER_MOVE, check_again, counter_moves, planned_check

HOLDS = (CONTAINMENT_CHECK, probes.ATTACHED_USER_POLICIES, DeleteLoginProfile.capability)
Recheck = Future[tuple[list[Outcome], list[str]]]
MOVES_FACT = "attackerActedAfterContainment"


def start_recheck(
    ctx: ResponseContext,
    report: Report,
    background: Executor,
    principal: Principal,
    access_key_id: str,
    door_closed: datetime,
    first_sweep: Future[list[Outcome]] | None,
) -> Recheck | None:
    """The check, in the background, once the door is closed (an IAM user's key, not protected); a dry-run plans it."""
    if principal.type != "IAMUser" or ctx.policy.is_protected_principal(principal.name, principal.arn):
        return None
    if ctx.dry_run:
        report.facts["containmentCheck"] = planned_check(ctx, principal)
        return None
    shut = frozenset(o.step.action for o in report.outcomes if o.status == "done")
    return background.submit(check_again, ctx, principal, access_key_id, door_closed, first_sweep, shut)


def finish_recheck(report: Report, recheck: Recheck | None, door_closed: datetime) -> None:
    """Join the check: its steps become actions; what the attacker did since the door closed becomes a fact."""
    if recheck is None:
        return
    outcomes, notes = recheck.result()
    report.add(_superseding(report, outcomes))
    moves = counter_moves(outcomes, report.findings, door_closed)
    report.facts["containmentCheck"] = "; ".join(
        [f"checked again: {len(moves)} counter-move(s) found" if moves else "checked again: containment held", *notes]
    )
    if moves:
        report.facts[MOVES_FACT] = moves


def _superseding(report: Report, outcomes: list[Outcome]) -> list[Outcome]:
    """A door step that failed and was tried again by the check is one step: its latest outcome replaces the first
    (done if AWS accepted the retry, else the latest error), so the report names each failure once."""
    failed = {(o.step.action, o.step.target): i for i, o in enumerate(report.outcomes) if o.status == "failed"}
    fresh = []
    for outcome in outcomes:
        earlier = failed.get((outcome.step.action, outcome.step.target))
        if earlier is not None and not outcome.step.params.get(COUNTER_MOVE):
            report.outcomes[earlier] = outcome
        else:
            fresh.append(outcome)
    return fresh


def also_deactivate(door: list[Step], principal: Principal, keys: tuple[str, ...]) -> list[Step]:
    """The user's other keys, deactivated with the door - unless the door itself is not opened (root, protected)."""
    if not keys or any(s.status != "planned" for s in door):
        return []
    why = f"another access key of {principal.name}, whose key AWS found in public: deactivate (never delete)"
    return [Step(ActionName.DEACTIVATE_ACCESS_KEY, k, GLOBAL, why, params={"userName": principal.name}) for k in keys]


def attacker_acted_after_containment(report: Report) -> None:
    """Critical, first words of the notification: the attacker acted after containment, and what was undone."""
    moves = report.facts.get(MOVES_FACT)
    if not moves:
        return
    report.severity = "critical"
    report.subject = f"the attacker acted after containment: {'; '.join(moves)} - {report.subject}"
