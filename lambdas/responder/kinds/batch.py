"""AWS Batch managed compute environments: EC2 or Fargate capacity that Batch scales up for queued jobs.

Created by ``CreateComputeEnvironment``. Disabled with no capacity (``UpdateComputeEnvironment``: state
``DISABLED``, minimum and maximum vCPUs 0): Batch scales its instances in and starts no new job there; the
environment, its queues and job definitions stay. Jobs already running are not terminated by the responder
yet (issue 23): NEEDS A HUMAN reviews the queues.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .. import capabilities as cap
from ..actions.base import Action, Words, each, register
from ..aws import Clients
from ..model import Outcome, Step
from ..pricing import hourly_price, size_units
from . import register as register_kind
from .base import CapacityKind, Workload, require_text

ARN = re.compile(r"^arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:compute-environment/[A-Za-z0-9_-]{1,128}$")
COMPUTE_ENVIRONMENT = cap.arn("batch", "compute-environment/*")
DESCRIBE_BATCH = cap.declare(
    "read", "describe-batch-compute-environments", ("batch:DescribeComputeEnvironments",), doc="Batch capacity"
)


@register
class DisableComputeEnvironment(Action):
    """Disable a rogue Batch compute environment with no capacity (state DISABLED, min/max vCPUs 0); kept."""

    name = "disable-compute-environment"  # type: ignore[assignment]
    service = "batch"
    permissions = ("batch:UpdateComputeEnvironment",)
    resource = COMPUTE_ENVIRONMENT
    phase = 20
    stops = "batch-compute-environment"
    stops_capacity = True
    words = Words("Batch compute environment", "Batch compute environments", "disabled (0 vCPUs)", "to disable")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def disable(step: Step) -> None:
            resources = {"minvCpus": 0, "maxvCpus": 0} if step.params.get("capacity") == "EC2" else {"maxvCpus": 0}
            client.update_compute_environment(
                computeEnvironment=step.target, state="DISABLED", computeResources=resources
            )

        return each(steps, disable)


def _per_vcpu(instance_type: str) -> float:
    """$/vCPU-hour of an instance type (its normalisation units / 2 = its vCPUs)."""
    size = instance_type.partition(".")[2]
    return hourly_price(instance_type) / max(1.0, size_units(size) / 2) if size else 0.0


class BatchComputeEnvironment(CapacityKind):
    name = "batch-compute-environment"
    label = "Batch compute environment"
    service = "batch"
    event_source = "batch.amazonaws.com"
    create_events = frozenset({"CreateComputeEnvironment"})
    describe = DESCRIBE_BATCH
    actions = (DisableComputeEnvironment,)
    price_source = "responder.pricing: EC2 on-demand $/vCPU of its first instance type, times its desired vCPUs"

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        return [(self.name, require_text(response, "responseElements.computeEnvironmentArn", event_name, ARN))]

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        batch = clients.get("batch", region)
        out = []
        for page in batch.get_paginator("describe_compute_environments").paginate():
            for raw in page.get("computeEnvironments", []):
                resources = raw.get("computeResources") or {}
                if raw.get("state") != "ENABLED" or raw.get("type") != "MANAGED":
                    continue  # disabled already, or unmanaged (its instances are the team's, judged as EC2)
                types = tuple(str(t) for t in resources.get("instanceTypes") or [] if "." in str(t))
                fargate = "FARGATE" in str(resources.get("type", ""))
                desired = int(resources.get("desiredvCpus") or 0)
                out.append(
                    Workload(
                        kind=self.name,
                        id=str(raw["computeEnvironmentArn"]),
                        region=region,
                        state=f"ENABLED, desired {desired} vCPUs",
                        launched_at=None,  # Batch does not say when: attribution, or its region, decides
                        instance_types=types,
                        tags={str(k): str(v) for k, v in (raw.get("tags") or {}).items()},
                        hourly_cost=round(_per_vcpu(types[0]) * desired, 4) if types and not fargate else 0.0,
                        params={
                            "name": str(raw["computeEnvironmentName"]),
                            "capacity": "FARGATE" if fargate else "EC2",
                        },
                    )
                )
        return out


register_kind(BatchComputeEnvironment())
