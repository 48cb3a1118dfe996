"""Glue job runs: Spark or Python jobs on Glue's workers (DPUs), billed by the DPU-hour.

Started by ``StartJobRun``. Stopped (``BatchStopJobRun``): the job, its script and its earlier runs stay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..actions.base import Action, Words, register
from ..aws import AWS_ERRORS, Clients, describe_error
from ..core import capabilities as cap
from ..core.model import Outcome, Step, Verdict
from . import register as register_kind
from .base import CapacityKind, Workload, require_text, utc
from .prices import GLUE_DPU_HOUR, GLUE_SOURCE, GLUE_WORKER_DPU

RUN_ID = re.compile(r"^jr_[0-9a-f]{64}$")
JOB_NAME = re.compile(r"^[\w .-]{1,255}$")
JOB = cap.arn("glue", "job/*")
PREFIX = "glue-job-run:"
DESCRIBE_GLUE = cap.declare(
    "read",
    "describe-glue-job-runs",
    grants=(cap.Grant(("glue:GetJobs",)), cap.Grant(("glue:GetJobRuns",), (JOB,))),
    doc="Glue jobs and their running runs",
)


@register
class StopJobRun(Action):
    """Stop a rogue Glue job run (``BatchStopJobRun``; the job and its script are kept)."""

    name = "stop-glue-job-run"  # type: ignore[assignment]
    service = "glue"
    permissions = ("glue:BatchStopJobRun",)
    resource = JOB
    phase = 40
    stops = "glue-job-run"
    stops_capacity = True
    words = Words("Glue job run", "Glue job runs", "stopped", "to stop")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        out = []
        for step in steps:  # BatchStopJobRun answers 200 with per-run errors: a run it refused is failed
            try:
                resp = client.batch_stop_job_run(JobName=str(step.params["job"]), JobRunIds=[step.target])
            except AWS_ERRORS as exc:
                out.append(step.outcome("failed", describe_error(exc)))
                continue
            errors = [
                f"{(e.get('ErrorDetail') or {}).get('ErrorCode', 'Error')}: {(e.get('ErrorDetail') or {}).get('ErrorMessage', '')}"
                for e in resp.get("Errors", [])
            ]
            out.append(step.outcome("failed", "; ".join(errors)[:300]) if errors else step.outcome("done"))
        return out


class GlueJobRun(CapacityKind):
    name = "glue-job-run"
    label = "Glue job run"
    service = "glue"
    event_source = "glue.amazonaws.com"
    create_events = frozenset({"StartJobRun"})
    describe = DESCRIBE_GLUE
    actions = (StopJobRun,)
    price_source = GLUE_SOURCE

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        job = require_text(request, "requestParameters.jobName", event_name, JOB_NAME)
        run = require_text(response, "responseElements.jobRunId", event_name, RUN_ID)
        return [(self.name, f"{PREFIX}{job}/{run}")]

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        glue = clients.get("glue", region)
        out = []
        for page in glue.get_paginator("get_jobs").paginate():
            for job in page.get("Jobs", []):
                name = str(job["Name"])
                for runs in glue.get_paginator("get_job_runs").paginate(JobName=name):
                    for raw in runs.get("JobRuns", []):
                        if raw.get("JobRunState") not in ("STARTING", "RUNNING", "WAITING"):
                            continue
                        dpus = float(raw.get("MaxCapacity") or 0) or (
                            GLUE_WORKER_DPU.get(str(raw.get("WorkerType")), 1.0) * int(raw.get("NumberOfWorkers") or 10)
                        )
                        out.append(
                            Workload(
                                kind=self.name,
                                id=f"{PREFIX}{name}/{raw['Id']}",
                                region=region,
                                state=str(raw["JobRunState"]),
                                launched_at=utc(raw.get("StartedOn")),
                                hourly_cost=round(dpus * GLUE_DPU_HOUR, 4),
                                params={"name": f"{name} run {raw['Id'][:12]}", "job": name},
                            )
                        )
        return out

    def stop_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        return [replace(s, target=w.id.rsplit("/", 1)[1]) for s in super().stop_steps(w, verdict)]

    def skipped_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        return [replace(s, target=w.id.rsplit("/", 1)[1]) for s in super().skipped_steps(w, verdict)]


register_kind(GlueJobRun())
