"""Containment that holds: PROPAGATION_SECONDS after the door closed, look again and put back what changed.

IAM takes seconds to enforce a change everywhere; an attacker watching the key can act in that window: set the
key Active again, detach the quarantine, mint a key, set a console password, create a user. The check runs in
the same invocation, in a thread started once the door is closed, while the region sweep runs (contract
"Containment that holds"):

  every access key of the contained user            -> Inactive (a key created since: deactivated)
  the managed quarantine policy                     -> attached again if it was detached
  a login profile of the user created since         -> removed
  what the user created since (the persistence sweep again, for the time since the door closed)

Each counter-move undone is an action; the report's subject says, critical, that the attacker acted after
containment, and ``facts`` name each counter-move. Planning is pure (``plan_recheck``); the reads are below.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ..actions import ActionName
from ..aws import describe_error, error_code
from ..core import capabilities as cap
from ..core.model import GLOBAL, Outcome, Principal, Step, Window
from ..core.timeutil import as_utc, iso, utcnow
from ..evidence.backdoors import NEUTRALISE, gather_backdoors, plan_backdoors
from ..evidence.probes import attached_policy
from ..shell.context import ResponseContext

CONTAINMENT_CHECK = cap.declare(
    "read",
    "containment-check",
    ("iam:ListAccessKeys", "iam:ListAttachedUserPolicies", "iam:GetLoginProfile"),
    cap.IAM_USER,
    doc="after PROPAGATION_SECONDS: the user's keys, its quarantine, its console password",
)
COUNTER_MOVE = "counterMove"  # a step's param: what the attacker did that this step undoes
CLOCK_SLACK = timedelta(seconds=1)  # CloudTrail and IAM stamp whole seconds


@dataclass(frozen=True)
class UserState:
    """What IAM says about the contained user when the check runs."""

    keys: Mapping[str, tuple[str, datetime | None]]  # key id -> (status, created)
    quarantined: bool
    login_profile_created: datetime | None  # None: no login profile


def plan_recheck(
    principal: Principal,
    contained_key: str,
    state: UserState,
    door_closed: datetime,
    quarantine_arn: str | None,
    shut: frozenset[str] = frozenset({ActionName.DEACTIVATE_ACCESS_KEY, ActionName.QUARANTINE_USER}),
) -> list[Step]:
    """The steps that put containment back as it was left. ``shut``: the door's steps AWS accepted (one that
    failed is no counter-move when found undone: it is tried again). Pure."""
    user = principal.name
    steps: list[Step] = []
    for key, (status, created) in sorted(state.keys.items()):
        if status != "Active":
            continue
        if key == contained_key and ActionName.DEACTIVATE_ACCESS_KEY not in shut:
            move = ""
        elif key == contained_key:
            move = f"access key {key} set Active again after containment"
        elif created is not None and created >= door_closed - CLOCK_SLACK:
            move = f"access key {key} created for {user} after containment ({iso(created)})"
        else:
            move = ""
        why = f"{move}: deactivate it again" if move else f"active key of contained user {user}: deactivate"
        params: dict[str, Any] = {"userName": user}
        if move:
            params[COUNTER_MOVE] = move
        steps.append(Step(ActionName.DEACTIVATE_ACCESS_KEY, key, GLOBAL, why, params=params, source="recheck"))
    if not state.quarantined and quarantine_arn and ActionName.QUARANTINE_USER in shut:
        move = f"quarantine policy detached from {user} after containment"
        steps.append(
            Step(
                ActionName.QUARANTINE_USER,
                user,
                GLOBAL,
                f"{move}: attach it again",
                params={COUNTER_MOVE: move},
                source="recheck",
            )
        )
    created = state.login_profile_created
    if created is not None and created >= door_closed - CLOCK_SLACK:
        move = f"console password (login profile) created for {user} after containment ({iso(created)})"
        steps.append(
            Step(
                ActionName.DELETE_LOGIN_PROFILE,
                user,
                GLOBAL,
                f"{move}: remove it",
                params={COUNTER_MOVE: move},
                source="recheck",
            )
        )
    return steps


def read_user_state(ctx: ResponseContext, user: str) -> UserState:
    iam = ctx.clients.get("iam", ctx.settings.home_region)
    keys: dict[str, tuple[str, datetime | None]] = {}
    for page in iam.get_paginator("list_access_keys").paginate(UserName=user):
        for k in page.get("AccessKeyMetadata", []):
            made = k.get("CreateDate")
            keys[str(k["AccessKeyId"])] = (str(k.get("Status")), as_utc(made) if isinstance(made, datetime) else None)
    arn = ctx.quarantine_arn
    quarantined = attached_policy(ctx.clients, ctx.settings.home_region, "user", user, arn) if arn else True
    try:
        made = iam.get_login_profile(UserName=user)["LoginProfile"].get("CreateDate")
        profile = as_utc(made) if isinstance(made, datetime) else utcnow()
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        profile = None
    return UserState(keys, quarantined, profile)


def check_again(
    ctx: ResponseContext,
    principal: Principal,
    contained_key: str,
    door_closed: datetime,
    first_sweep: Future[list[Outcome]] | None,
    shut: frozenset[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Outcome], list[str]]:
    """Wait until PROPAGATION_SECONDS after the door closed, then put back what changed. Returns the outcomes and
    the notes for the report (why a part could not be checked)."""
    waited = (utcnow() - door_closed).total_seconds()
    sleep(max(0.0, ctx.settings.propagation_seconds - waited))
    notes: list[str] = []
    outcomes: list[Outcome] = []
    try:
        state = read_user_state(ctx, principal.name)
        outcomes += ctx.run(plan_recheck(principal, contained_key, state, door_closed, ctx.quarantine_arn, shut))
    except Exception as exc:  # noqa: BLE001 - the check is reported as not done, never a crash
        notes.append(f"could not read {principal.name}'s keys, quarantine and console password: {describe_error(exc)}")
    already = _handled([*(first_sweep.result() if first_sweep is not None else []), *outcomes])
    since = Window(door_closed - CLOCK_SLACK, utcnow())
    found, note = gather_backdoors(ctx, principal, since)
    if note:
        notes.append(note)
    steps = [
        _as_counter_move(s)
        for s in plan_backdoors(found, ctx.policy, principal)
        if s.action in {a for a, _ in NEUTRALISE.values()} and (s.action, s.target) not in already
    ]
    outcomes += ctx.run(steps)
    return outcomes, notes


def _handled(outcomes: Iterable[Outcome]) -> set[tuple[str, str]]:
    return {(o.step.action, o.step.target) for o in outcomes if o.status in ("done", "planned")}


MOVE_WORDS = {  # what the attacker did, by the step that undoes it
    ActionName.DEACTIVATE_ACCESS_KEY: "access key {target} created after containment",
    ActionName.QUARANTINE_USER: "user {target} created after containment",
    ActionName.QUARANTINE_ROLE: "role {target} created after containment",
    ActionName.DELETE_LOGIN_PROFILE: "console password (login profile) set for {target} after containment",
}


def _as_counter_move(step: Step) -> Step:
    move = MOVE_WORDS[ActionName(step.action)].format(target=step.target)
    return Step(
        step.action,
        step.target,
        step.region,
        f"after containment: {step.reason}",
        status=step.status,
        params={**step.params, COUNTER_MOVE: move},
        source=step.source,
    )


def counter_moves(
    outcomes: Iterable[Outcome], findings: Iterable[Mapping[str, Any]], door_closed: datetime
) -> list[str]:
    """What the attacker did after the door closed, and what became of it (from the check's outcomes, and from the
    first persistence sweep's findings made after the door closed)."""
    moves = [f"{o.step.params[COUNTER_MOVE]} -> {_undone(o)}" for o in outcomes if o.step.params.get(COUNTER_MOVE)]
    for f in findings:
        when, kind = f.get("time"), str(f.get("kind"))
        if kind in NEUTRALISE and when and when >= iso(door_closed - CLOCK_SLACK):
            move = MOVE_WORDS[NEUTRALISE[kind][0]].format(target=f.get("target"))
            moves.append(f"{move} ({f.get('eventName')}) -> {f.get('response')}")
    return moves


def _undone(outcome: Outcome) -> str:
    return {"done": "undone", "planned": "to undo", "failed": "NOT undone"}.get(outcome.status, outcome.status) + (
        f" ({outcome.detail})" if outcome.status == "failed" and outcome.detail else ""
    )


def planned_check(ctx: ResponseContext, principal: Principal) -> str:
    """What a dry-run says the check would do."""
    return (
        f"planned: {ctx.settings.propagation_seconds:g} s (PROPAGATION_SECONDS) after closing the door, check again "
        f"that no access key of {principal.name} is active again, the quarantine policy is still attached and no console "
        "password was created, and sweep for what the user created since; put back and report what changed"
    )
