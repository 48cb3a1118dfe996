"""Lambda functions the chain created: miners that run as long as something invokes them.

Created by ``CreateFunction`` (CloudTrail: ``CreateFunction20150331``). Stopped without deleting anything:
reserved concurrency 0 (``PutFunctionConcurrency``: no invocation runs any more) and every event source
mapping that feeds it disabled. Its code, configuration and role stay, as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..actions.base import Action, ActionName, Words, each, register
from ..aws import Clients
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from . import register as register_kind
from .base import CapacityKind, Workload, require_text, utc
from .prices import LAMBDA_SOURCE, lambda_full_concurrency_hour

FUNCTION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}$")
OWN_FUNCTIONS = "compromise-responder"  # the responder's own functions are guarded elsewhere, never throttled here

DESCRIBE_FUNCTIONS = cap.declare(
    "read",
    "describe-lambda-functions",
    grants=(
        cap.Grant(("lambda:ListFunctions", "lambda:ListEventSourceMappings")),
        cap.Grant(("lambda:ListTags",), (cap.arn("lambda", "function:*"),)),
    ),
    doc="Lambda functions, their tags and event source mappings",
)


@register
class ThrottleFunction(Action):
    """Throttle a Lambda function: reserved concurrency 0 and its event source mappings disabled; code kept.

    One action for both callers: the capacity sweep (functions the chain created) and GuardDuty Lambda Protection
    findings (the function named; undo: ``aws lambda delete-function-concurrency``)."""

    name = ActionName.THROTTLE_FUNCTION
    service = "lambda"
    grants = (
        cap.Grant(("lambda:PutFunctionConcurrency",), (cap.arn("lambda", "function:*"),)),
        cap.Grant(("lambda:UpdateEventSourceMapping",), (cap.arn("lambda", "event-source-mapping:*"),)),
    )
    phase = 20
    stops = "lambda-function"
    stops_capacity = True
    words = Words(
        "Lambda function",
        "Lambda functions",
        "throttled (reserved concurrency 0, code kept)",
        "to throttle (reserved concurrency 0)",
        short="throttled",
        one="{noun} {target} {short} (code kept)",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def throttle(step: Step) -> str:
            client.put_function_concurrency(FunctionName=step.target, ReservedConcurrentExecutions=0)
            mappings = [m for m in str(step.params.get("eventSourceMappings") or "").split(",") if m]
            for uuid in mappings:
                client.update_event_source_mapping(UUID=uuid, Enabled=False)
            return (
                f"reserved concurrency 0; {len(mappings)} event source mapping(s) disabled; code and configuration kept"
            )

        return each(steps, throttle)


class LambdaFunction(CapacityKind):
    name = "lambda-function"
    label = "Lambda function"
    service = "lambda"
    event_source = "lambda.amazonaws.com"
    create_events = frozenset({"CreateFunction20150331", "CreateFunction"})
    describe = DESCRIBE_FUNCTIONS
    actions = (ThrottleFunction,)
    price_source = LAMBDA_SOURCE

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        return [(self.name, require_text(response, "responseElements.functionArn", event_name, FUNCTION_ARN))]

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        client = clients.get("lambda", region)
        functions = [
            f
            for p in client.get_paginator("list_functions").paginate()
            for f in p.get("Functions", [])
            if not str(f.get("FunctionName", "")).startswith(OWN_FUNCTIONS)
        ]
        if not functions:
            return []
        mappings: dict[str, list[str]] = {}
        for page in client.get_paginator("list_event_source_mappings").paginate():
            for m in page.get("EventSourceMappings", []):
                if m.get("State") not in ("Disabled", "Disabling"):
                    mappings.setdefault(str(m.get("FunctionArn")), []).append(str(m["UUID"]))
        out = []
        for raw in functions:
            arn = str(raw["FunctionArn"])
            out.append(
                Workload(
                    kind=self.name,
                    id=arn,
                    region=region,
                    state=str(raw.get("State") or "Active"),
                    launched_at=utc(raw.get("LastModified")),
                    tags={str(k): str(v) for k, v in client.list_tags(Resource=arn).get("Tags", {}).items()},
                    hourly_cost=lambda_full_concurrency_hour(int(raw.get("MemorySize") or 128)),
                    params={"name": str(raw["FunctionName"]), "eventSourceMappings": ",".join(mappings.get(arn, []))},
                )
            )
        return out


register_kind(LambdaFunction())
