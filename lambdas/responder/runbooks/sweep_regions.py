"""``sweep-regions``: stop rogue capacity only, no IAM change - for a key, or by the window rule alone."""

from __future__ import annotations

from typing import Literal

from ..flows import REGION_SWEEP, sweep_regions
from ..parse.events import AccessKeyIdField, SinceHours
from ..report import Report
from ..shell.context import ResponseContext
from .base import RunbookBase, runbook


class SweepRegions(RunbookBase):
    """Stop rogue capacity only (no IAM change): for a key, or by the window rule alone."""

    runbook: Literal["sweep-regions"]
    accessKeyId: AccessKeyIdField | None = None
    sinceHours: SinceHours | None = None


@runbook(SweepRegions, flows=(REGION_SWEEP,))
def run(ctx: ResponseContext, command: SweepRegions) -> Report:
    return sweep_regions(ctx, command.accessKeyId, ctx.window(ctx.now, command.sinceHours))
