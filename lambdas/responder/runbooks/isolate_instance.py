"""``isolate-instance``: isolate one instance, keeping its evidence."""

from __future__ import annotations

from typing import Literal

from ..flows import ISOLATION, isolate_instance
from ..parse.events import InstanceIdField, RegionField
from ..report import Report
from ..shell.context import ResponseContext
from .base import RunbookBase, runbook


class IsolateInstance(RunbookBase):
    """Isolate one instance keeping its evidence (snapshots, out of its Auto Scaling group and target groups,
    the quarantine security group); it is never terminated."""

    runbook: Literal["isolate-instance"]
    instanceId: InstanceIdField
    region: RegionField


@runbook(IsolateInstance, flows=(ISOLATION,))
def run(ctx: ResponseContext, command: IsolateInstance) -> Report:
    reason = command.reason or "isolate-instance runbook"
    report = isolate_instance(ctx, command.instanceId, command.region, reason, {})
    report.subject = f"Runbook: {report.subject}"
    report.status = "planned" if ctx.dry_run else "notified"
    return report
