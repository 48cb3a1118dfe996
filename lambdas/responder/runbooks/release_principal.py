"""``release-principal``: the responder's own quarantine policy removed from a user or role, and nothing else."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, Strict

from ..flows import PRINCIPAL_RELEASE, release_principal
from ..parse.events import Reason, RoleNameField, UserNameField
from ..report import Report
from ..shell.context import ResponseContext
from .base import RunbookBase, runbook


class ReleasePrincipal(RunbookBase):
    """Remove the responder's own quarantine policy from a user or role, and nothing else."""

    one_of: ClassVar[tuple[str, ...]] = ("userName", "roleName")
    runbook: Literal["release-principal"]
    userName: UserNameField | None = None
    roleName: RoleNameField | None = None
    force: Annotated[bool, Strict()] = Field(
        False, description="JSON true: release even while an open incident concerns the principal"
    )
    reason: Reason  # type: ignore[assignment]


@runbook(ReleasePrincipal, flows=(PRINCIPAL_RELEASE,), effect="this removes the responder's quarantine policy from it")
def run(ctx: ResponseContext, command: ReleasePrincipal) -> Report:
    return release_principal(
        ctx, user_name=command.userName, role_name=command.roleName, force=command.force, reason=command.reason
    )
