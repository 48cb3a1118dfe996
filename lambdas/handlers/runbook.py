"""Manual invocation (Lambda console test event, `aws lambda invoke`, the `responder` CLI)."""

from __future__ import annotations

from responder.report import Report
from responder.runbooks import parse_runbook, run_runbook
from responder.runbooks.base import RunbookBase
from responder.shell.context import ResponseContext
from responder.shell.entrypoint import entrypoint


@entrypoint(
    "runbook",
    parse_runbook,
    account=lambda command: command.accountId,
    dry_run=lambda command: command.dryRun,
    idempotent=False,
    caller_names_account=True,
)
def handler(command: RunbookBase, ctx: ResponseContext) -> Report:
    """``{"runbook": "contain-access-key", "accessKeyId": "AKIA...", "dryRun": true}`` - see events/runbook-*.json."""
    return run_runbook(ctx, command)
