"""CodeBuild builds: a build project runs any container for up to 36 hours (GPU compute types included).

Started by ``StartBuild`` (and ``StartBuildBatch``'s builds, not yet: issue 23). Stopped (``StopBuild``): the
project, its logs and artifacts stay. Only the newest 100 builds of a region are looked at (``ListBuilds`` is
newest first; a build older than that has finished long ago: a build runs 8 hours at most by default).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..actions.base import Action, Words, each, register
from ..aws import Clients
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from . import register as register_kind
from .base import CapacityKind, Workload, require_text, utc
from .prices import CODEBUILD_HOUR, CODEBUILD_SOURCE

BUILD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,254}:[0-9a-f-]{36}$")
PROJECT = cap.arn("codebuild", "project/*")
NEWEST = 100
DESCRIBE_BUILDS = cap.declare(
    "read",
    "describe-codebuild-builds",
    grants=(cap.Grant(("codebuild:ListBuilds",)), cap.Grant(("codebuild:BatchGetBuilds",), (PROJECT,))),
    doc="the newest CodeBuild builds and whether they run",
)


@register
class StopBuild(Action):
    """Stop a rogue CodeBuild build (``StopBuild``; the project, logs and artifacts are kept)."""

    name = "stop-build"  # type: ignore[assignment]
    service = "codebuild"
    permissions = ("codebuild:StopBuild",)
    resource = PROJECT
    phase = 40
    stops = "codebuild-build"
    stops_capacity = True
    words = Words("CodeBuild build", "CodeBuild builds", "stopped", "to stop")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(steps, lambda s: client.stop_build(id=s.target))


class CodeBuildBuild(CapacityKind):
    name = "codebuild-build"
    label = "CodeBuild build"
    service = "codebuild"
    event_source = "codebuild.amazonaws.com"
    create_events = frozenset({"StartBuild"})
    describe = DESCRIBE_BUILDS
    actions = (StopBuild,)
    price_source = CODEBUILD_SOURCE

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        return [(self.name, require_text(response, "responseElements.build.id", event_name, BUILD_ID))]

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        client = clients.get("codebuild", region)
        ids = [str(i) for i in client.list_builds(sortOrder="DESCENDING").get("ids", [])][:NEWEST]
        if not ids:
            return []
        out = []
        for raw in client.batch_get_builds(ids=ids).get("builds", []):
            if raw.get("buildStatus") != "IN_PROGRESS":
                continue
            compute = str((raw.get("environment") or {}).get("computeType", ""))
            out.append(
                Workload(
                    kind=self.name,
                    id=str(raw["id"]),
                    region=region,
                    state="IN_PROGRESS",
                    launched_at=utc(raw.get("startTime")),
                    instance_types=("gpu",) if "GPU" in compute else (),
                    hourly_cost=CODEBUILD_HOUR.get(compute, CODEBUILD_HOUR["BUILD_GENERAL1_LARGE"]),
                    params={"name": str(raw["id"]), "project": str(raw.get("projectName", "")), "computeType": compute},
                )
            )
        return out


register_kind(CodeBuildBuild())
