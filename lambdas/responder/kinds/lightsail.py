"""Lightsail instances: virtual servers outside EC2's APIs (so outside the EC2 sweep), billed by the month.

Created by ``CreateInstances`` (and ``CreateInstancesFromSnapshot``). Stopped (``StopInstance``): the instance
and its disk stay. Lightsail is not offered in every region: a region without its endpoint has none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from botocore.exceptions import EndpointConnectionError

from ..actions.base import Action, Words, each, register
from ..aws import Clients
from ..core import capabilities as cap
from ..core.model import Outcome, Step, Verdict
from . import register as register_kind
from .base import CapacityKind, Workload, utc
from .prices import LIGHTSAIL_SOURCE, lightsail_hour

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
PREFIX = "lightsail:"  # Lightsail names instances by name: kept apart from other kinds' ids
DESCRIBE_LIGHTSAIL = cap.declare("read", "describe-lightsail-instances", ("lightsail:GetInstances",), doc="Lightsail")


@register
class StopLightsailInstance(Action):
    """Stop a rogue Lightsail instance (``StopInstance``; the instance and its disk are kept)."""

    name = "stop-lightsail-instance"  # type: ignore[assignment]
    service = "lightsail"
    permissions = ("lightsail:StopInstance",)
    resource = cap.arn("lightsail", "Instance/*")
    phase = 40
    stops = "lightsail-instance"
    stops_capacity = True
    words = Words("Lightsail instance", "Lightsail instances", "stopped", "to stop")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(steps, lambda s: client.stop_instance(instanceName=s.target))


class LightsailInstance(CapacityKind):
    name = "lightsail-instance"
    label = "Lightsail instance"
    service = "lightsail"
    event_source = "lightsail.amazonaws.com"
    create_events = frozenset({"CreateInstances", "CreateInstancesFromSnapshot"})
    describe = DESCRIBE_LIGHTSAIL
    actions = (StopLightsailInstance,)
    price_source = LIGHTSAIL_SOURCE

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        names = request.get("instanceNames")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and NAME.match(n) for n in names):
            from ..parse.events import BadInput

            raise BadInput(
                f"cloudtrail event: field 'detail.requestParameters.instanceNames': malformed for {event_name}"
            )
        return [(self.name, PREFIX + n) for n in names]

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        client = clients.get("lightsail", region)
        out: list[Workload] = []
        token: dict[str, str] = {}
        while True:
            try:
                page = client.get_instances(**token)
            except EndpointConnectionError:
                return []  # Lightsail is not offered in this region
            for raw in page.get("instances", []):
                if (raw.get("state") or {}).get("name") not in ("pending", "running"):
                    continue
                out.append(
                    Workload(
                        kind=self.name,
                        id=PREFIX + str(raw["name"]),
                        region=region,
                        state=str(raw["state"]["name"]),
                        launched_at=utc(raw.get("createdAt")),
                        tags={str(t.get("key")): str(t.get("value", "")) for t in raw.get("tags", [])},
                        hourly_cost=lightsail_hour(str(raw.get("bundleId", ""))),
                        params={"name": str(raw["name"]), "bundleId": str(raw.get("bundleId", ""))},
                    )
                )
            if not page.get("nextPageToken"):
                return out
            token = {"pageToken": str(page["nextPageToken"])}

    def stop_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        return [replace(s, target=w.id.removeprefix(PREFIX)) for s in super().stop_steps(w, verdict)]

    def skipped_steps(self, w: Workload, verdict: Verdict) -> list[Step]:
        return [replace(s, target=w.id.removeprefix(PREFIX)) for s in super().skipped_steps(w, verdict)]


register_kind(LightsailInstance())
