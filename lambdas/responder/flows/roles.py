"""Roles: deny every session of a role issued before now (its credentials were abused)."""

from __future__ import annotations

from ..actions import ActionName
from ..actions.iam import RevokeRoleSessions
from ..context import ResponseContext
from ..model import GLOBAL, Principal, Step
from ..report import Report
from ..timeutil import iso
from .base import RECORD, Flow

SESSION_REVOCATION = Flow("session-revocation", (RevokeRoleSessions.capability, *RECORD), "deny older sessions")


def revoke_role_sessions(ctx: ResponseContext, role_name: str, reason: str, access_key_id: str | None = None) -> Report:
    report = ctx.new_report()
    arn = ctx.iam_arn("role", role_name)
    report.principal = Principal("Role", role_name, arn, access_key_id)
    if ctx.policy.is_protected_principal(role_name, arn):
        why = f"{role_name} is a protected principal: not touched"
        step = Step(ActionName.REVOKE_ROLE_SESSIONS, role_name, GLOBAL, why, status="skipped")
    else:
        step = Step(ActionName.REVOKE_ROLE_SESSIONS, role_name, GLOBAL, reason, params={"issuedBefore": iso(ctx.now)})
    report.add(ctx.run([step]))
    report.subject = f"Role {role_name}, sessions issued before now"
    report.todo = [f"Find how {role_name}'s credentials were taken; rotate what they could reach."]
    return report
