"""AWS Batch managed compute environments and their jobs: EC2 or Fargate capacity that Batch scales up for
queued jobs.

Created by ``CreateComputeEnvironment``; jobs by ``SubmitJob``. A rogue environment is disabled with no
capacity first (``UpdateComputeEnvironment``: state ``DISABLED``, minimum and maximum vCPUs 0, phase 20): Batch
scales its instances in and starts no new job there. Then the jobs of its queues, and the jobs the chain
submitted anywhere (a team's queue included), are terminated (``TerminateJob``, phase 30, its reason naming
the incident). The environment, its queues, job definitions and job records stay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..actions.base import Action, Words, each, register
from ..aws import Clients
from ..core import capabilities as cap
from ..core.model import Outcome, Step, Verdict
from ..decide.pricing import hourly_price, size_units
from . import register as register_kind
from .base import CapacityKind, Workload, require_text, utc

ARN = re.compile(r"^arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:compute-environment/[A-Za-z0-9_-]{1,128}$")
JOB_ARN = re.compile(r"^arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:job/[A-Za-z0-9:-]{1,128}$")
COMPUTE_ENVIRONMENT = cap.arn("batch", "compute-environment/*")
JOB = cap.arn("batch", "job/*")
LIVE_JOB = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
DESCRIBE_BATCH = cap.declare(
    "read",
    "describe-batch-compute-environments",
    ("batch:DescribeComputeEnvironments", "batch:DescribeJobQueues", "batch:ListJobs"),
    doc="Batch capacity: compute environments, their queues and the jobs not finished",
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


@register
class TerminateBatchJob(Action):
    """Terminate a rogue Batch job (after its environment is disabled); its record and definition stay."""

    name = "terminate-batch-job"  # type: ignore[assignment]
    service = "batch"
    permissions = ("batch:TerminateJob",)
    resource = JOB
    phase = 30
    stops = "batch-job"
    stops_capacity = True
    names_incident = True
    words = Words("Batch job", "Batch jobs", "terminated", "to terminate")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def terminate(step: Step) -> None:
            incident = str(step.params.get("incidentId") or "n/a")
            reason = f"compromise-responder incident {incident}: {step.reason}"
            client.terminate_job(jobId=str(step.params["jobId"]), reason=reason[:250])

        return each(steps, terminate)


def _per_vcpu(instance_type: str) -> float:
    """$/vCPU-hour of an instance type (its normalisation units / 2 = its vCPUs)."""
    size = instance_type.partition(".")[2]
    return hourly_price(instance_type) / max(1.0, size_units(size) / 2) if size else 0.0


class BatchComputeEnvironment(CapacityKind):
    name = "batch-compute-environment"
    label = "Batch compute environment"
    service = "batch"
    event_source = "batch.amazonaws.com"
    create_events = frozenset({"CreateComputeEnvironment", "SubmitJob"})
    describe = DESCRIBE_BATCH
    actions = (DisableComputeEnvironment, TerminateBatchJob)
    price_source = "responder.decide.pricing: EC2 on-demand $/vCPU of its first instance type, times its desired vCPUs"

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        if event_name == "SubmitJob":
            return [("batch-job", require_text(response, "responseElements.jobArn", event_name, JOB_ARN))]
        return [(self.name, require_text(response, "responseElements.computeEnvironmentArn", event_name, ARN))]

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        """Enabled managed environments, each with the live jobs of the queues it serves first as members;
        the jobs of queues without one are listed on their own."""
        batch = clients.get("batch", region)
        environments = self._environments(batch, region)
        listed = {w.id for w in environments}
        members: dict[str, list[Workload]] = {arn: [] for arn in listed}
        alone: list[Workload] = []
        for page in batch.get_paginator("describe_job_queues").paginate():
            for queue in page.get("jobQueues", []):
                order = sorted(queue.get("computeEnvironmentOrder") or [], key=lambda o: int(o.get("order") or 0))
                home = next(
                    (str(o["computeEnvironment"]) for o in order if o.get("computeEnvironment") in listed), None
                )
                jobs = self._jobs(batch, region, str(queue["jobQueueArn"]))
                (members[home] if home else alone).extend(jobs)
        return [replace(w, members=tuple(members[w.id])) for w in environments] + alone

    def _jobs(self, batch: Any, region: str, queue: str) -> list[Workload]:
        return [
            Workload(
                kind="batch-job",
                id=str(raw["jobArn"]),
                region=region,
                state=status,
                launched_at=utc(datetime.fromtimestamp(int(raw["createdAt"]) / 1000, UTC))
                if raw.get("createdAt")
                else None,
                params={"name": str(raw.get("jobName") or raw["jobId"]), "jobId": str(raw["jobId"]), "jobQueue": queue},
            )
            for status in LIVE_JOB
            for page in batch.get_paginator("list_jobs").paginate(jobQueue=queue, jobStatus=status)
            for raw in page.get("jobSummaryList", [])
        ]

    def stop_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        action = TerminateBatchJob if w.kind == "batch-job" else DisableComputeEnvironment
        return [Step(action.name, w.id, w.region, verdict.reason, source=verdict.source, params=self._params(w),
                     hourly_cost=w.hourly_cost)]  # fmt: skip

    def skipped_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        action = TerminateBatchJob if w.kind == "batch-job" else DisableComputeEnvironment
        return [Step(action.name, w.id, w.region, verdict.reason, status="skipped", params=self._params(w))]

    def _environments(self, batch: Any, region: str) -> list[Workload]:
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
