"""The sample events in ``events/`` as Lambda *shareable test events*: they appear in every
function's console Test tab for the whole team (EventBridge schema registry
``lambda-testevent-schemas``, one schema ``_<function name>-schema`` per function).

Off by default (``createTestEventRegistry=false``): AWS creates that registry, under that fixed name, the first time
anyone saves a shareable test event in the region, so in a lived-in account creating it fails ("already exists"),
and a stack that owned it would delete every other function's test events with it. With the setting on, the
registry must not exist yet; the stack creates it and the schemas, and ``cdk destroy`` keeps the registry
(RETAIN: other functions' events may be saved in it by then). Without the registry there are no schemas either:
a schema needs its registry, and the stack cannot know whether AWS has made it."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

EVENTS = Path(__file__).resolve().parent.parent / "events"
REGISTRY = "lambda-testevent-schemas"


def examples_for(handler: str) -> dict[str, dict[str, object]]:
    """events/<handler>-*.json, named by file (the runbook samples all have dryRun: true)."""
    return {path.stem: {"value": json.loads(path.read_text())} for path in sorted(EVENTS.glob(f"{handler}-*.json"))}


class ShareableTestEvents(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, functions: dict[str, lambda_.IFunction], create_registry: bool
    ) -> None:
        super().__init__(scope, construct_id)
        if not create_registry:
            return
        registry = eventschemas.CfnRegistry(
            self, "Registry", registry_name=REGISTRY, description="Lambda console shareable test events"
        )
        registry.apply_removal_policy(RemovalPolicy.RETAIN)  # never deleted: AWS and others keep events in it
        for handler, function in functions.items():
            content = {
                "openapi": "3.0.0",
                "info": {"version": "1.0.0", "title": "Event"},
                "paths": {},
                "components": {"schemas": {"Event": {"type": "object"}}, "examples": examples_for(handler)},
            }
            schema = eventschemas.CfnSchema(
                self,
                f"{handler.capitalize()}TestEvents",
                registry_name=REGISTRY,
                schema_name=f"_{function.function_name}-schema",
                type="OpenApi3",
                description=f"Ready-made test events of the compromise responder's {handler} function",
                content=json.dumps(content),
            )
            schema.add_dependency(registry)
