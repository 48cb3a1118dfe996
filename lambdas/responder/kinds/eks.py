"""EKS managed node groups: EC2 instances an Auto Scaling group keeps running for a cluster.

Created by ``CreateNodegroup``. Scaled to zero (``UpdateNodegroupConfig``: minimum and desired size 0; AWS
requires a maximum of at least 1, so the maximum is kept): the node group, its launch template and the cluster
stay. Its instances are the node group's Auto Scaling group's, which EKS owns: scaling the node group is what
stops them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..actions.base import Action, Words, each, register
from ..aws import Clients
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from ..decide.pricing import hourly_price
from . import register as register_kind
from .base import CapacityKind, Workload, require_text, utc

NODEGROUP_ARN = re.compile(r"^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:nodegroup/[A-Za-z0-9_/-]{1,512}$")
NODEGROUP = cap.arn("eks", "nodegroup/*")

DESCRIBE_EKS = cap.declare(
    "read",
    "describe-eks-nodegroups",
    grants=(
        cap.Grant(("eks:ListClusters",)),
        cap.Grant(("eks:ListNodegroups",), (cap.arn("eks", "cluster/*"),)),
        cap.Grant(("eks:DescribeNodegroup",), (NODEGROUP,)),
    ),
    doc="EKS clusters' managed node groups, their sizes and instance types",
)


@register
class ScaleNodegroupToZero(Action):
    """Scale a rogue EKS node group to zero (minimum and desired size 0); the node group is kept."""

    name = "scale-nodegroup-to-zero"  # type: ignore[assignment]
    service = "eks"
    permissions = ("eks:UpdateNodegroupConfig",)
    resource = NODEGROUP
    phase = 20
    stops = "eks-nodegroup"
    stops_capacity = True
    words = Words("EKS node group", "EKS node groups", "scaled to zero", "to scale to zero")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(
            steps,
            lambda s: client.update_nodegroup_config(
                clusterName=str(s.params["cluster"]),
                nodegroupName=str(s.params["name"]),
                scalingConfig={"minSize": 0, "desiredSize": 0, "maxSize": max(1, int(s.params.get("maxSize") or 1))},
            ),
        )


class EksNodegroup(CapacityKind):
    name = "eks-nodegroup"
    label = "EKS node group"
    service = "eks"
    event_source = "eks.amazonaws.com"
    create_events = frozenset({"CreateNodegroup"})
    describe = DESCRIBE_EKS
    actions = (ScaleNodegroupToZero,)
    price_source = "responder.decide.pricing: EC2 on-demand list prices of its instance type, times its desired size"

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        return [
            (self.name, require_text(response, "responseElements.nodegroup.nodegroupArn", event_name, NODEGROUP_ARN))
        ]

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        eks = clients.get("eks", region)
        out = []
        for page in eks.get_paginator("list_clusters").paginate():
            for cluster in page.get("clusters", []):
                for group_page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster):
                    for name in group_page.get("nodegroups", []):
                        raw = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
                        scaling = raw.get("scalingConfig") or {}
                        desired = int(scaling.get("desiredSize") or 0)
                        if not desired and not scaling.get("minSize"):
                            continue  # already at zero
                        types = tuple(str(t) for t in raw.get("instanceTypes") or [])
                        out.append(
                            Workload(
                                kind=self.name,
                                id=str(raw["nodegroupArn"]),
                                region=region,
                                state=f"desired {desired}",
                                launched_at=utc(raw.get("createdAt")),
                                instance_types=types,
                                tags={str(k): str(v) for k, v in (raw.get("tags") or {}).items()},
                                hourly_cost=round(hourly_price(types[0]) * desired, 4) if types else 0.0,
                                params={
                                    "cluster": str(cluster),
                                    "name": str(name),
                                    "maxSize": int(scaling.get("maxSize") or 1),
                                },
                            )
                        )
        return out


register_kind(EksNodegroup())
