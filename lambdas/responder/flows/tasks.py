"""ECS tasks isolated: each named task's network interfaces moved to the quarantine group, the task kept running
for evidence (the GuardDuty families of an ECS task and of an ECS attack sequence, ``responder.findings``).

Plans (pure, from what DescribeTasks and DescribeNetworkInterfaces read), runs the steps and returns the outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..actions import ActionName
from ..actions.ecs_task import ECS_TASK, IsolateTask, task_interfaces
from ..actions.isolation import ISOLATED_TAG
from ..aws import AWS_ERRORS, describe_error
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from ..shell.context import ResponseContext
from .base import RECORD, Flow

DESCRIBE_TASK_NETWORK = cap.declare(
    "read",
    "describe-task-network",
    grants=(cap.Grant(("ecs:DescribeTasks",), (ECS_TASK,)), cap.Grant(("ec2:DescribeNetworkInterfaces",))),
    doc="an ECS task's network interfaces, their VPC and security groups, its protect tag",
)
TASK_ISOLATION = Flow(
    "task-isolation",
    (DESCRIBE_TASK_NETWORK, IsolateTask.capability, *RECORD),
    "isolate an ECS task: its interfaces to the quarantine group, the task kept running for evidence",
)


@dataclass(frozen=True)
class TaskNetwork:
    """What isolating one task must know: its interfaces with their groups, and why it is left alone."""

    task: str
    vpc_id: str | None = None
    interfaces: tuple[tuple[str, tuple[str, ...]], ...] = ()
    why_not: str | None = None
    error: str | None = None


def task_network(ctx: ResponseContext, region: str, cluster: str, task_arn: str) -> TaskNetwork:
    """DescribeTasks (with its tags) and DescribeNetworkInterfaces: the task's interfaces and their groups."""
    try:
        resp = ctx.clients.get("ecs", region).describe_tasks(cluster=cluster, tasks=[task_arn], include=["TAGS"])
        if not resp.get("tasks"):
            return TaskNetwork(task_arn, why_not="task not found (stopped and expired?): nothing to isolate")
        task = resp["tasks"][0]
        tags = {str(t.get("key")): str(t.get("value")) for t in task.get("tags") or []}
        if ctx.policy.has_protect_tag(tags):
            return TaskNetwork(task_arn, why_not=f"carries the protect tag {ctx.policy.protect_tag_key}=true")
        enis = task_interfaces(task)
        if not enis:
            return TaskNetwork(task_arn, why_not="no network interface of its own (not awsvpc): isolate its host")
        described = ctx.clients.get("ec2", region).describe_network_interfaces(NetworkInterfaceIds=enis)
    except AWS_ERRORS as exc:
        return TaskNetwork(task_arn, error=describe_error(exc))
    found = described["NetworkInterfaces"]
    if any(ISOLATED_TAG in {t.get("Key") for t in eni.get("TagSet") or []} for eni in found):
        return TaskNetwork(task_arn, why_not="already isolated by the responder: nothing to redo")
    interfaces = tuple(
        (str(eni["NetworkInterfaceId"]), tuple(str(g["GroupId"]) for g in eni.get("Groups") or [])) for eni in found
    )
    return TaskNetwork(task_arn, str(found[0]["VpcId"]) if found else None, interfaces)


def plan_task_isolation(network: TaskNetwork, region: str, reason: str, incident_id: str | None) -> Step:
    if network.error:
        return Step(ActionName.ISOLATE_TASK, network.task, region, f"{reason}: could not read the task", "planned",
                    params={"readError": network.error})  # fmt: skip
    if network.why_not or not network.vpc_id:
        return Step(ActionName.ISOLATE_TASK, network.task, region, network.why_not or "no VPC", status="skipped")
    params = {"vpcId": network.vpc_id, "interfaces": network.interfaces, "incidentId": incident_id}
    return Step(ActionName.ISOLATE_TASK, network.task, region, reason, params=params)


def isolate_tasks(
    ctx: ResponseContext, tasks: Sequence[tuple[str, str | None]], region: str, reason: str
) -> list[Outcome]:
    """Every task named: its interfaces to the quarantine group; a task that cannot be read is a failed step."""
    steps: list[Step] = []
    unreadable: list[Step] = []
    for task_arn, cluster in tasks:
        where = task_arn.split(":")[3] if task_arn.count(":") >= 5 else region
        network = task_network(ctx, where, cluster or _cluster_of(task_arn), task_arn)
        step = plan_task_isolation(network, where, reason, ctx.incident_id)
        (unreadable if network.error else steps).append(step)
    return ctx.run(steps) + [s.outcome("failed", s.params.get("readError")) for s in unreadable]


def _cluster_of(task_arn: str) -> str:
    """``arn:...:task/CLUSTER/ID`` -> the cluster's name (DescribeTasks accepts a name)."""
    parts = task_arn.split("/")
    return parts[1] if len(parts) == 3 else "default"
