"""``sweep-persistence``: what a principal created to come back (users, keys, login profiles, attachments),
neutralised without deleting data."""

from __future__ import annotations

from typing import ClassVar, Literal

from ..core.model import Principal
from ..evidence.probes import key_owner
from ..flows import BACKDOOR_SWEEP, sweep_backdoors
from ..parse.events import AccessKeyIdField, BadInput, RoleNameField, SinceHours, UserNameField
from ..report import Report
from ..shell.context import ResponseContext
from .base import RunbookBase, runbook


class SweepPersistence(RunbookBase):
    """The persistence sweep alone, for a user, a role or the owner of a key: what it created inside the window,
    neutralised without deleting data."""

    one_of: ClassVar[tuple[str, ...]] = ("userName", "roleName", "accessKeyId")
    runbook: Literal["sweep-persistence"]
    userName: UserNameField | None = None
    roleName: RoleNameField | None = None
    accessKeyId: AccessKeyIdField | None = None
    sinceHours: SinceHours | None = None


@runbook(SweepPersistence, flows=(BACKDOOR_SWEEP,))
def run(ctx: ResponseContext, command: SweepPersistence) -> Report:
    return sweep_backdoors(ctx, _principal(ctx, command), ctx.window(ctx.now, command.sinceHours))


def _principal(ctx: ResponseContext, command: SweepPersistence) -> Principal:
    if command.accessKeyId:
        owner = key_owner(ctx.clients, ctx.settings.home_region, command.accessKeyId, ctx.account).principal
        if owner is None:
            raise BadInput(
                f"runbook sweep-persistence: field 'accessKeyId': {command.accessKeyId} is not in this account"
            )
        return owner
    if command.roleName:
        return Principal("Role", command.roleName, ctx.iam_arn("role", command.roleName))
    name = command.userName or ""
    return Principal("IAMUser", name, ctx.iam_arn("user", name))
