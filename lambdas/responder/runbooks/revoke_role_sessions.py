"""``revoke-role-sessions``: deny every session of a role issued before now."""

from __future__ import annotations

from typing import Literal

from ..flows import SESSION_REVOCATION, revoke_role_sessions
from ..parse.events import RoleNameField
from ..report import Report
from ..shell.context import ResponseContext
from .base import RunbookBase, runbook


class RevokeRoleSessions(RunbookBase):
    """Deny every session of the role issued before now (its credentials were abused); the role itself stays."""

    runbook: Literal["revoke-role-sessions"]
    roleName: RoleNameField


@runbook(RevokeRoleSessions, flows=(SESSION_REVOCATION,))
def run(ctx: ResponseContext, command: RevokeRoleSessions) -> Report:
    report = revoke_role_sessions(ctx, command.roleName, command.reason or "revoke-role-sessions runbook")
    report.subject = f"Runbook: {report.subject}"
    report.status = "planned" if ctx.dry_run else "notified"
    return report
