"""``activity``: what a key did (CloudTrail, every enabled region); a read, nothing is changed."""

from __future__ import annotations

from typing import Literal

from ..flows import ACTIVITY_SUMMARY, key_activity
from ..parse.events import AccessKeyIdField, SinceHours
from ..report import Report
from ..shell.context import ResponseContext
from .base import RunbookBase, runbook


class KeyActivity(RunbookBase):
    """What a key did (CloudTrail, every enabled region): a read, nothing is changed."""

    runbook: Literal["activity"]
    accessKeyId: AccessKeyIdField
    sinceHours: SinceHours | None = None


@runbook(KeyActivity, flows=(ACTIVITY_SUMMARY,))
def run(ctx: ResponseContext, command: KeyActivity) -> Report:
    return key_activity(ctx, command.accessKeyId, ctx.window(ctx.now, command.sinceHours))
