"""Runtime Monitoring and Malware Protection on an ECS task (``resource.ecsClusterDetails.taskDetails``): the task
isolated (its interfaces moved to the quarantine group) and kept running for evidence; on a standalone container
(``resource.containerDetails``): a critical notification naming it and its host."""

from __future__ import annotations

from typing import Any

from ..flows import NOTICE
from ..flows.tasks import TASK_ISOLATION, isolate_tasks
from ..parse.events import FindingDetail, InstanceDetails
from ..report import Report
from ..shell.context import ResponseContext
from .base import family
from .common import finish
from .models import ContainerDetails, EcsClusterDetails


def _ecs_task(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    cluster = finding.resource.ecsClusterDetails
    task = cluster.taskDetails if cluster else None
    if not (cluster and task and task.arn):
        return None
    report = ctx.new_report()
    report.add(isolate_tasks(ctx, [(task.arn, cluster.arn or cluster.name)], region, f"GuardDuty {finding.type}"))
    report.todo.append(
        f"Investigate task {task.arn} (kept running: memory and disk are evidence), then stop it and redeploy from a "
        "clean image; rotate the secrets its task role could read."
    )
    return finish(ctx, report, finding, facts)


family(
    "Runtime / Malware Protection on an ECS task",
    order=50,
    types=("*",),
    resources=("ECSCluster",),
    response="isolate-task",
    reason="isolate the task (its interfaces to the quarantine group); it keeps running, for evidence",
    flows=(TASK_ISOLATION,),
    respond=_ecs_task,
    details=(("resource.ecsClusterDetails", EcsClusterDetails),),
)
family(
    "Runtime / Malware Protection on a standalone container",
    order=51,
    types=("*",),
    resources=("Container",),
    response="notify-container",
    reason="critical notification naming the container and its host: a human stops or isolates it",
    flows=(NOTICE,),
    details=(("resource.containerDetails", ContainerDetails), ("resource.instanceDetails", InstanceDetails)),
    needs_human=True,
)
