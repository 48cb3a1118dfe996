"""The responses GuardDuty's newer finding families need beyond keys, roles and instances: ECS tasks isolated,
Lambda functions throttled, single role sessions cut (contract "GuardDuty finding families").

Each function plans (pure, from the finding and what the probes read), runs the steps and returns the outcomes;
``responder.finding_responses`` folds them into one report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import capabilities as cap
from ..actions import ActionName
from ..actions.ecs_task import ECS_TASK, IsolateTask, task_interfaces
from ..actions.iam import RevokeRoleSessions
from ..actions.isolation import ISOLATED_TAG
from ..actions.role_session import RevokeSession
from ..aws import AWS_ERRORS, describe_error
from ..context import ResponseContext
from ..guardduty_findings import SessionTarget
from ..kinds.lambda_function import ThrottleFunction
from ..model import GLOBAL, Outcome, Step
from ..timeutil import iso
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
FUNCTION_THROTTLE = Flow(
    "function-throttle",
    (ThrottleFunction.capability, RevokeRoleSessions.capability, *RECORD),
    "throttle a Lambda function (reserved concurrency 0) and revoke its role's sessions issued before now",
)
SESSION_CUT = Flow(
    "session-cut",
    (RevokeSession.capability, RevokeRoleSessions.capability, *RECORD),
    "cut the role sessions an attack sequence names (that session only; unknown session: the older ones)",
)
FAMILY_FLOWS = (TASK_ISOLATION, FUNCTION_THROTTLE, SESSION_CUT)


# --- ECS tasks ----------------------------------------------------------------------------------------------
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


# --- Lambda functions ---------------------------------------------------------------------------------------
def throttle_function(
    ctx: ResponseContext, function: str, region: str, role_arn: str | None, tags: dict[str, str], reason: str
) -> list[Outcome]:
    """Concurrency 0 (no new invocation), then the execution role's sessions issued before now revoked (the running
    invocations' credentials); the code is kept. The protect tag or a protected role: that part is skipped."""
    steps = []
    if ctx.policy.has_protect_tag(tags):
        why = f"carries the protect tag {ctx.policy.protect_tag_key}=true: not touched"
        steps.append(Step(ActionName.THROTTLE_FUNCTION, function, region, why, status="skipped"))
    else:
        steps.append(Step(ActionName.THROTTLE_FUNCTION, function, region, reason))
    if role_arn:
        role = role_arn.rsplit("/", 1)[-1]
        if ctx.policy.is_protected_principal(role, role_arn):
            why = f"{role} is a protected principal: its sessions are not revoked"
            steps.append(Step(ActionName.REVOKE_ROLE_SESSIONS, role, GLOBAL, why, status="skipped"))
        else:
            why = f"the execution role of {function}: its credentials may be in the attacker's hands ({reason})"
            steps.append(
                Step(ActionName.REVOKE_ROLE_SESSIONS, role, GLOBAL, why, params={"issuedBefore": iso(ctx.now)})
            )
    return ctx.run(steps)


# --- role sessions ------------------------------------------------------------------------------------------
def cut_sessions(ctx: ResponseContext, sessions: Sequence[SessionTarget], reason: str) -> list[Outcome]:
    """One step per role: the named sessions only (``aws:userid``); a session whose id is unknown: the role's
    sessions issued before now. A protected role: skipped, listed."""
    by_role: dict[str, list[SessionTarget]] = {}
    for session in sessions:
        by_role.setdefault(session.role_name, []).append(session)
    steps = []
    for role, named in by_role.items():
        arn = ctx.iam_arn("role", role)
        if ctx.policy.is_protected_principal(role, arn):
            why = f"{role} is a protected principal: its sessions are not touched (a human decides)"
            steps.append(Step(ActionName.REVOKE_SESSION, role, GLOBAL, why, status="skipped"))
            continue
        ids = sorted({s.user_id for s in named if s.user_id})
        if ids:
            params: dict[str, Any] = {"sessionIds": ",".join(ids)}
            steps.append(Step(ActionName.REVOKE_SESSION, role, GLOBAL, reason, params=params))
        if any(s.user_id is None for s in named):
            why = f"{reason}; the session id is unknown: every session issued before now"
            steps.append(
                Step(ActionName.REVOKE_ROLE_SESSIONS, role, GLOBAL, why, params={"issuedBefore": iso(ctx.now)})
            )
    return ctx.run(steps)
