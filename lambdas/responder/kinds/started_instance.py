"""EC2 instances the chain started (``StartInstances`` of a stopped instance): the team's machines, put to work.

They are stopped (``StopInstances``), never terminated: the instance, its disks and its data are the team's.
Only attribution selects them (the chain's ``StartInstances`` in the ledger or CloudTrail): the window rule
cannot tell a restart from the team's own, and EC2's sweep already judges every running instance by it. The
id a start records is ``started:<instance id>``, so the EC2 sweep does not read it as a launch to terminate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..actions.base import Action, Words, each, register
from ..aws import Clients
from ..core import capabilities as cap
from ..core.model import Outcome, RegionEvidence, Step, Verdict
from ..decide.pricing import hourly_price
from ..evidence.probes import DESCRIBE_INSTANCES
from . import register as register_kind
from .base import CapacityKind, Workload

INSTANCE_ID = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")
PREFIX = "started:"


@register
class StopStartedInstance(Action):
    """Stop an instance the compromised credential started (``StopInstances``; never terminated: it is the team's)."""

    name = "stop-instance"  # type: ignore[assignment]
    service = "ec2"
    permissions = ("ec2:StopInstances",)
    resource = cap.EC2_INSTANCE
    batch_size = 100
    phase = 40
    stops = "started-instance"
    stops_capacity = True
    words = Words("started instance", "started instances", "stopped (kept, not terminated)", "to stop")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(steps, lambda s: client.stop_instances(InstanceIds=[s.target]))


class StartedInstance(CapacityKind):
    name = "started-instance"
    label = "started instance"
    service = "ec2"
    event_source = "ec2.amazonaws.com"
    create_events = frozenset({"StartInstances"})
    describe = DESCRIBE_INSTANCES
    actions = (StopStartedInstance,)
    price_source = "responder.decide.pricing: EC2 on-demand list prices (us-east-1 Linux)"

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        items = (response.get("instancesSet") or {}).get("items") if isinstance(response, Mapping) else None
        out = []
        for item in items if isinstance(items, list) else []:
            iid = item.get("instanceId") if isinstance(item, Mapping) else None
            if not isinstance(iid, str) or not INSTANCE_ID.match(iid):
                from ..parse.events import BadInput

                raise BadInput(
                    "cloudtrail event: field 'detail.responseElements.instancesSet.items.instanceId': not an instance id"
                )
            if str((item.get("previousState") or {}).get("name", "stopped")) in ("stopped", "stopping"):
                out.append((self.name, PREFIX + iid))
        return out

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        return []  # the EC2 sweep's DescribeInstances already lists them: see ``derive``

    def derive(self, evidence: RegionEvidence) -> list[Workload]:
        return [
            Workload(
                kind=self.name,
                id=PREFIX + i.id,
                region=i.region,
                state=i.state,
                launched_at=None,  # only attribution selects a started instance (see above)
                instance_types=(i.type,),
                tags=i.tags,
                hourly_cost=hourly_price(i.type),
                params={"name": i.id, "instanceType": i.type},
            )
            for i in evidence.instances
            if i.state in ("pending", "running")
        ]

    def stop_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        return [replace(step, target=w.id.removeprefix(PREFIX)) for step in super().stop_steps(w, verdict)]

    def skipped_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        return []  # every instance is judged (and listed when left alone) by the EC2 sweep


register_kind(StartedInstance())
