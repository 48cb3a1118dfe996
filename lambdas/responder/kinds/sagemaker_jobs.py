"""SageMaker training, processing and batch transform jobs: instances billed by the hour while a job runs.

Created by ``CreateTrainingJob``, ``CreateProcessingJob`` and ``CreateTransformJob``. Stopped
(``StopTrainingJob``, ``StopProcessingJob``, ``StopTransformJob``): the job's record, its inputs and what it
wrote so far stay; nothing is deleted. Each is priced by its instance type times its instance count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from ..actions.base import Action, Words, each, register
from ..aws import Clients
from ..core import capabilities as cap
from ..core.model import Outcome, Step, Verdict
from . import register as register_kind
from .base import CapacityKind, Workload, require_text, utc
from .prices import SAGEMAKER_SOURCE, sagemaker_hour

ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:(training-job|processing-job|transform-job)/[A-Za-z0-9-]{1,63}$"
)


@dataclass(frozen=True)
class JobType:
    """One of the three job APIs: its words in the API, its ARN and how it says what it runs on."""

    what: str  # Training / Processing / Transform
    resource: str  # training-job
    resources_key: str  # where its instances are described

    def arn(self) -> str:
        return cap.arn("sagemaker", f"{self.resource}/*")

    def instances(self, raw: Mapping[str, Any]) -> tuple[str, int]:
        found = raw.get(self.resources_key) or {}
        found = found.get("ClusterConfig", found)  # processing: ProcessingResources.ClusterConfig
        return str(found.get("InstanceType") or ""), int(found.get("InstanceCount") or 1)


TRAINING = JobType("Training", "training-job", "ResourceConfig")
PROCESSING = JobType("Processing", "processing-job", "ProcessingResources")
TRANSFORM = JobType("Transform", "transform-job", "TransformResources")
JOB_TYPES = {t.resource: t for t in (TRAINING, PROCESSING, TRANSFORM)}

DESCRIBE_SAGEMAKER_JOBS = cap.declare(
    "read",
    "describe-sagemaker-jobs",
    grants=(
        cap.Grant(tuple(f"sagemaker:List{t.what}Jobs" for t in JOB_TYPES.values())),
        *(cap.Grant((f"sagemaker:Describe{t.what}Job",), (t.arn(),)) for t in JOB_TYPES.values()),
        cap.Grant(("sagemaker:ListTags",), tuple(t.arn() for t in JOB_TYPES.values())),
    ),
    doc="SageMaker training, processing and transform jobs in progress, their instances and tags",
)


class _StopJob(Action):
    job: JobType

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        stop = getattr(client, f"stop_{self.job.what.lower()}_job")
        return each(steps, lambda s: stop(**{f"{self.job.what}JobName": str(s.params["name"])}))


def _stop_action(job: JobType) -> type[Action]:
    noun = f"SageMaker {job.what.lower()} job"
    attrs = {
        "__doc__": f"Stop a rogue {noun} (``Stop{job.what}Job``: its record and output so far are kept).",
        "name": f"stop-{job.resource}",
        "service": "sagemaker",
        "permissions": (f"sagemaker:Stop{job.what}Job",),
        "resource": job.arn(),
        "phase": 40,
        "stops": f"sagemaker-{job.resource}",
        "stops_capacity": True,
        "words": Words(noun, noun + "s", "stopped", "to stop"),
        "job": job,
    }
    return register(cast(type[Action], type(f"Stop{job.what}Job", (_StopJob,), attrs)))


STOP = {resource: _stop_action(job) for resource, job in JOB_TYPES.items()}


class SageMakerJob(CapacityKind):
    name = "sagemaker-job"
    label = "SageMaker job"
    service = "sagemaker"
    event_source = "sagemaker.amazonaws.com"
    create_events = frozenset(f"Create{t.what}Job" for t in JOB_TYPES.values())
    describe = DESCRIBE_SAGEMAKER_JOBS
    actions = tuple(STOP.values())
    price_source = SAGEMAKER_SOURCE + ", times the job's instance count"

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        what = event_name.removeprefix("Create").removesuffix("Job")
        return [
            (self.name, require_text(response, f"responseElements.{what[0].lower()}{what[1:]}JobArn", event_name, ARN))
        ]

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        client = clients.get("sagemaker", region)
        out: list[Workload] = []
        for job in JOB_TYPES.values():
            pages = client.get_paginator(f"list_{job.what.lower()}_jobs").paginate(StatusEquals="InProgress")
            for page in pages:
                for summary in page.get(f"{job.what}JobSummaries", []):
                    name = str(summary[f"{job.what}JobName"])
                    raw = getattr(client, f"describe_{job.what.lower()}_job")(**{f"{job.what}JobName": name})
                    if raw.get(f"{job.what}JobStatus") != "InProgress":
                        continue
                    out.append(self._workload(client, region, job, name, raw))
        return out

    def _workload(self, client: Any, region: str, job: JobType, name: str, raw: Mapping[str, Any]) -> Workload:
        arn = str(raw[f"{job.what}JobArn"])
        itype, count = job.instances(raw)
        tags = {str(t["Key"]): str(t.get("Value", "")) for t in client.list_tags(ResourceArn=arn).get("Tags", [])}
        return Workload(
            kind=self.name,
            id=arn,
            region=region,
            state=f"InProgress on {count} x {itype or 'unknown type'}",
            launched_at=utc(raw.get("CreationTime")),
            instance_types=(itype.removeprefix("ml."),) if itype else (),
            tags=tags,
            hourly_cost=sagemaker_hour(itype, count) if itype else 0.0,
            params={"name": name, "sageMakerJob": job.resource, "instanceType": itype, "instanceCount": count},
        )

    def stop_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        action = STOP[str(w.params["sageMakerJob"])]
        return [Step(action.name, w.id, w.region, verdict.reason, source=verdict.source, params=self._params(w),
                     hourly_cost=w.hourly_cost)]  # fmt: skip

    def skipped_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        action = STOP[str(w.params["sageMakerJob"])]
        return [Step(action.name, w.id, w.region, verdict.reason, status="skipped", params=self._params(w))]


register_kind(SageMakerJob())
