"""SageMaker notebook instances and real-time endpoints: GPU capacity billed by the hour.

Created by ``CreateNotebookInstance`` and ``CreateEndpoint``. A notebook instance is stopped
(``StopNotebookInstance``: its storage volume and code stay). An endpoint has no "stopped" state: it is
deleted (``DeleteEndpoint``), and nothing is lost - its model and endpoint configuration are kept, so
``CreateEndpoint`` with the same configuration brings it back; the report says so.
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
from .prices import SAGEMAKER_SOURCE, sagemaker_hour

ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:(notebook-instance|endpoint)/[A-Za-z0-9-]{1,63}$")
NOTEBOOK = cap.arn("sagemaker", "notebook-instance/*")
ENDPOINT = cap.arn("sagemaker", "endpoint/*")

DESCRIBE_SAGEMAKER = cap.declare(
    "read",
    "describe-sagemaker",
    grants=(
        cap.Grant(("sagemaker:ListNotebookInstances", "sagemaker:ListEndpoints")),
        cap.Grant(("sagemaker:DescribeEndpoint",), (ENDPOINT,)),
        cap.Grant(("sagemaker:DescribeEndpointConfig",), (cap.arn("sagemaker", "endpoint-config/*"),)),
        cap.Grant(("sagemaker:ListTags",), (NOTEBOOK, ENDPOINT)),
    ),
    doc="SageMaker notebook instances and endpoints, their instance types and tags",
)


@register
class StopNotebookInstance(Action):
    """Stop a rogue SageMaker notebook instance (its volume and code are kept)."""

    name = "stop-notebook-instance"  # type: ignore[assignment]
    service = "sagemaker"
    permissions = ("sagemaker:StopNotebookInstance",)
    resource = NOTEBOOK
    phase = 40
    stops = "sagemaker-notebook"
    stops_capacity = True
    words = Words("SageMaker notebook instance", "SageMaker notebook instances", "stopped", "to stop")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(steps, lambda s: client.stop_notebook_instance(NotebookInstanceName=str(s.params["name"])))


@register
class DeleteEndpoint(Action):
    """Delete a rogue SageMaker endpoint: its model and endpoint configuration are kept (it can be re-created)."""

    name = "delete-sagemaker-endpoint"  # type: ignore[assignment]
    service = "sagemaker"
    permissions = ("sagemaker:DeleteEndpoint",)
    resource = ENDPOINT
    phase = 40
    stops = "sagemaker-endpoint"
    stops_capacity = True
    words = Words(
        "SageMaker endpoint",
        "SageMaker endpoints",
        "deleted (model and endpoint configuration kept)",
        "to delete (model and endpoint configuration kept)",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def delete(step: Step) -> str:
            client.delete_endpoint(EndpointName=str(step.params["name"]))
            return (
                f"model and endpoint configuration {step.params.get('endpointConfig')} kept: CreateEndpoint restores it"
            )

        return each(steps, delete)


class SageMaker(CapacityKind):
    name = "sagemaker"
    label = "SageMaker resource"
    service = "sagemaker"
    event_source = "sagemaker.amazonaws.com"
    create_events = frozenset({"CreateNotebookInstance", "CreateEndpoint"})
    describe = DESCRIBE_SAGEMAKER
    actions = (StopNotebookInstance, DeleteEndpoint)
    price_source = SAGEMAKER_SOURCE

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        key = "notebookInstanceArn" if event_name == "CreateNotebookInstance" else "endpointArn"
        return [(self.name, require_text(response, f"responseElements.{key}", event_name, ARN))]

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        client = clients.get("sagemaker", region)
        out: list[Workload] = []
        for page in client.get_paginator("list_notebook_instances").paginate():
            for raw in page.get("NotebookInstances", []):
                if raw.get("NotebookInstanceStatus") not in ("Pending", "InService", "Updating"):
                    continue
                arn, itype = str(raw["NotebookInstanceArn"]), str(raw.get("InstanceType", ""))
                out.append(self._workload(client, region, "notebook", arn, raw, itype, 1, {}))
        for page in client.get_paginator("list_endpoints").paginate():
            for raw in page.get("Endpoints", []):
                if raw.get("EndpointStatus") in ("Deleting", "Failed", "OutOfService"):
                    continue
                config = client.describe_endpoint(EndpointName=raw["EndpointName"])["EndpointConfigName"]
                variants = client.describe_endpoint_config(EndpointConfigName=config).get("ProductionVariants", [])
                itype = str(next((v.get("InstanceType") for v in variants if v.get("InstanceType")), ""))
                count = sum(int(v.get("InitialInstanceCount") or 1) for v in variants) or 1
                extra = {"endpointConfig": str(config)}
                out.append(
                    self._workload(client, region, "endpoint", str(raw["EndpointArn"]), raw, itype, count, extra)
                )
        return out

    def _workload(
        self, client: Any, region: str, what: str, arn: str, raw: Mapping[str, Any], itype: str, count: int,
        extra: dict[str, str],
    ) -> Workload:  # fmt: skip
        name = str(raw.get("NotebookInstanceName") or raw.get("EndpointName"))
        tags = {str(t["Key"]): str(t.get("Value", "")) for t in client.list_tags(ResourceArn=arn).get("Tags", [])}
        return Workload(
            kind=self.name,
            id=arn,
            region=region,
            state=str(raw.get("NotebookInstanceStatus") or raw.get("EndpointStatus") or ""),
            launched_at=utc(raw.get("CreationTime")),
            instance_types=(itype.removeprefix("ml."),) if itype else (),
            tags=tags,
            hourly_cost=sagemaker_hour(itype, count) if itype else 0.0,
            params={"name": name, "sageMaker": what, "instanceType": itype, **extra},
        )

    def _action(self, w: Workload) -> type[Action]:
        return StopNotebookInstance if w.params.get("sageMaker") == "notebook" else DeleteEndpoint

    def stop_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        return [
            Step(self._action(w).name, w.id, w.region, verdict.reason, source=verdict.source, params=self._params(w),
                 hourly_cost=w.hourly_cost)
        ]  # fmt: skip

    def skipped_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        return [Step(self._action(w).name, w.id, w.region, verdict.reason, status="skipped", params=self._params(w))]


register_kind(SageMaker())
