"""``release-instance``: an isolated instance gets back the security groups it had."""

from __future__ import annotations

from typing import Literal

from ..flows import RELEASE, release_instance
from ..parse.events import InstanceIdField, RegionField
from ..report import Report
from ..shell.context import ResponseContext
from .base import RunbookBase, runbook


class ReleaseInstance(RunbookBase):
    """Put back the security groups an isolated instance had (recorded when it was isolated); re-attaching it to
    its Auto Scaling group or target groups is the team's call."""

    runbook: Literal["release-instance"]
    instanceId: InstanceIdField
    region: RegionField


@runbook(ReleaseInstance, flows=(RELEASE,))
def run(ctx: ResponseContext, command: ReleaseInstance) -> Report:
    return release_instance(ctx, command.instanceId, command.region)
