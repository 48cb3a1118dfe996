"""``sweep-organization`` (organization mode): ``sweep-regions`` in every active account, fault-isolated."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..flows.organization import ORGANIZATION_SWEEP, sweep_organization
from ..parse.events import AccessKeyIdField, AccountIdField, BadInput, SinceHours
from ..report import Report
from ..shell.context import ResponseContext
from .base import RunbookBase, runbook


class SweepOrganization(RunbookBase):
    """Organization mode: sweep-regions in every active account (or ``accounts``), accounts in parallel,
    each fault-isolated; the report holds ``accounts: {account: {region: status}}``."""

    runbook: Literal["sweep-organization"]
    accessKeyId: AccessKeyIdField | None = None
    sinceHours: SinceHours | None = None
    accounts: list[AccountIdField] | None = Field(
        None, min_length=1, max_length=10_000, description="Default: every ACTIVE account of the organization"
    )

    def check(self) -> None:
        super().check()
        if self.accountId:
            raise BadInput("runbook sweep-organization: field 'accountId': give the accounts to sweep as 'accounts'")


@runbook(SweepOrganization, flows=(ORGANIZATION_SWEEP,))
def run(ctx: ResponseContext, command: SweepOrganization) -> Report:
    return sweep_organization(ctx, command)
