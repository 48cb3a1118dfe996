"""ECS services and tasks (Fargate and EC2 launch types): the November 2025 campaign's miners.

Created by ``CreateService`` (a scheduler that keeps ``desiredCount`` tasks running) and ``RunTask`` /
``StartTask`` (standalone tasks). Stopped in the order that keeps the scheduler from starting new ones:
the service's desired count to 0 (phase 20), then ``StopTask`` of its running tasks and of the tasks the chain
ran (phase 40). Nothing is deleted: the service, its task definition and the cluster stay, as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..actions.base import Action, Words, each, register
from ..aws import Clients
from ..core import capabilities as cap
from ..core.model import Outcome, Step, Verdict
from . import register as register_kind
from .base import CapacityKind, Workload, require_text, utc
from .prices import FARGATE_SOURCE, fargate_task_hour

SERVICE_ARN = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service/[A-Za-z0-9_/-]{1,512}$")
TASK_ARN = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task/[A-Za-z0-9_/-]{1,512}$")
STOP_REASON = "compromise-responder: rogue capacity (contract: Capacity beyond EC2)"

DESCRIBE_ECS = cap.declare(
    "read",
    "describe-ecs",
    grants=(
        cap.Grant(("ecs:ListClusters", "ecs:ListServices")),
        cap.Grant(("ecs:DescribeServices",), (cap.arn("ecs", "service/*"),)),
        cap.Grant(("ecs:ListTasks",), (cap.arn("ecs", "container-instance/*"),)),
        cap.Grant(("ecs:DescribeTasks",), (cap.arn("ecs", "task/*"),)),
    ),
    doc="ECS clusters, services and their running tasks",
)


@register
class ScaleEcsService(Action):
    """Set a rogue ECS service's desired count to 0 so its scheduler starts no task again (the service is kept)."""

    name = "scale-ecs-service-to-zero"  # type: ignore[assignment]
    service = "ecs"
    permissions = ("ecs:UpdateService",)
    resource = cap.arn("ecs", "service/*")
    phase = 20
    stops = "ecs-service"
    stops_capacity = True
    words = Words("ECS service", "ECS services", "scaled to desired count 0", "to scale to desired count 0")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(
            steps, lambda s: client.update_service(cluster=str(s.params["cluster"]), service=s.target, desiredCount=0)
        )


@register
class StopEcsTask(Action):
    """Stop a running ECS task of a rogue service, or one the compromised credential ran (``StopTask``)."""

    name = "stop-ecs-task"  # type: ignore[assignment]
    service = "ecs"
    permissions = ("ecs:StopTask",)
    resource = cap.arn("ecs", "task/*")
    phase = 40
    stops = "ecs-task"
    stops_capacity = True
    words = Words("ECS task", "ECS tasks", "stopped", "to stop")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(
            steps, lambda s: client.stop_task(cluster=str(s.params["cluster"]), task=s.target, reason=STOP_REASON)
        )


class Ecs(CapacityKind):
    name = "ecs-service"
    label = "ECS service"
    service = "ecs"
    event_source = "ecs.amazonaws.com"
    create_events = frozenset({"CreateService", "RunTask", "StartTask"})
    describe = DESCRIBE_ECS
    actions = (ScaleEcsService, StopEcsTask)
    price_source = FARGATE_SOURCE

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        if event_name == "CreateService":
            return [
                ("ecs-service", require_text(response, "responseElements.service.serviceArn", event_name, SERVICE_ARN))
            ]
        tasks = response.get("tasks") if isinstance(response, Mapping) else None
        return [
            ("ecs-task", require_text(t, f"responseElements.tasks.{i}.taskArn", event_name, TASK_ARN, key="taskArn"))
            for i, t in enumerate(tasks if isinstance(tasks, list) else [])
        ]  # every task may have failed to start (``failures``): nothing created

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        ecs = clients.get("ecs", region)
        out: list[Workload] = []
        for page in ecs.get_paginator("list_clusters").paginate():
            for cluster in page.get("clusterArns", []):
                out += self._cluster(ecs, region, str(cluster))
        return out

    def _cluster(self, ecs: Any, region: str, cluster: str) -> list[Workload]:
        arns = [
            a
            for p in ecs.get_paginator("list_tasks").paginate(cluster=cluster, desiredStatus="RUNNING")
            for a in p.get("taskArns", [])
        ]
        tasks = [
            t
            for i in range(0, len(arns), 100)
            for t in ecs.describe_tasks(cluster=cluster, tasks=arns[i : i + 100], include=["TAGS"])["tasks"]
        ]
        running = [_task(region, cluster, t) for t in tasks if t.get("desiredStatus") == "RUNNING"]
        names = [
            a for p in ecs.get_paginator("list_services").paginate(cluster=cluster) for a in p.get("serviceArns", [])
        ]
        services = [
            s
            for i in range(0, len(names), 10)
            for s in ecs.describe_services(cluster=cluster, services=names[i : i + 10], include=["TAGS"])["services"]
        ]
        out: list[Workload] = []
        in_service: set[str] = set()
        for raw in services:
            group = f"service:{raw['serviceName']}"
            members = tuple(t for t in running if t.params.get("group") == group)
            in_service.update(t.id for t in members)
            if raw.get("status") != "ACTIVE" or (not raw.get("desiredCount") and not members):
                continue  # already stopped
            out.append(
                Workload(
                    kind="ecs-service",
                    id=str(raw["serviceArn"]),
                    region=region,
                    state=f"desired {raw.get('desiredCount', 0)}",
                    launched_at=utc(raw.get("createdAt")),
                    instance_types=(),
                    tags=_tags(raw.get("tags")),
                    params={"cluster": cluster, "name": str(raw["serviceName"])},
                    members=members,
                )
            )
        out += [t for t in running if t.id not in in_service]
        return out

    def stop_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        action = ScaleEcsService if w.kind == "ecs-service" else StopEcsTask
        return [
            Step(
                action.name,
                w.id,
                w.region,
                verdict.reason,
                source=verdict.source,
                params=self._params(w),
                hourly_cost=w.hourly_cost,
            )
        ]

    def skipped_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        action = ScaleEcsService if w.kind == "ecs-service" else StopEcsTask
        return [Step(action.name, w.id, w.region, verdict.reason, status="skipped", params=self._params(w))]


def _task(region: str, cluster: str, raw: Mapping[str, Any]) -> Workload:
    fargate = raw.get("launchType") == "FARGATE" or str(raw.get("capacityProviderName") or "").startswith("FARGATE")
    cost = fargate_task_hour(_number(raw.get("cpu")) / 1024, _number(raw.get("memory")) / 1024) if fargate else 0.0
    gpu = any(c.get("gpuIds") for c in raw.get("containers", []))
    return Workload(
        kind="ecs-task",
        id=str(raw["taskArn"]),
        region=region,
        state=str(raw.get("desiredStatus", "")),
        launched_at=utc(raw.get("createdAt")),
        instance_types=("gpu",) if gpu else (),
        tags=_tags(raw.get("tags")),
        hourly_cost=cost,
        params={
            "cluster": cluster,
            "group": str(raw.get("group") or ""),
            "launchType": "FARGATE" if fargate else str(raw.get("launchType") or "EC2"),
        },
    )


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _tags(raw: Any) -> dict[str, str]:
    return {str(t.get("key")): str(t.get("value", "")) for t in raw or [] if isinstance(t, Mapping)}


register_kind(Ecs())
