"""``contain-access-key``: the full containment of one access key, window ``[now - sinceHours, now]``."""

from __future__ import annotations

from typing import Literal

from ..flows import KEY_CONTAINMENT, contain_access_key
from ..parse.events import AccessKeyIdField, SinceHours
from ..report import Report
from ..shell.context import ResponseContext
from .base import RunbookBase, runbook


class ContainAccessKey(RunbookBase):
    """Full containment of one access key: the same response as an AWS exposure notice."""

    runbook: Literal["contain-access-key"]
    accessKeyId: AccessKeyIdField
    sinceHours: SinceHours | None = None


@runbook(ContainAccessKey, flows=(KEY_CONTAINMENT,))
def run(ctx: ResponseContext, command: ContainAccessKey) -> Report:
    window = ctx.window(ctx.now, command.sinceHours)
    return contain_access_key(ctx, command.accessKeyId, window=window, what="Runbook:", facts=command.facts())
