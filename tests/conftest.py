"""Shared fixtures: an emulated account per test, and ``invoke`` - the real handler, with a check
that every AWS call it made is declared in its function's IAM policy (least privilege)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from responder import catalog

from emulator import EmulatedAws, LambdaContext

DECLARED = {
    handler: {p for perms in catalog.permissions_for(handler).values() for p in perms}
    for handler in catalog.HANDLER_FLOWS
}
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
USED: dict[str, set[str]] = {handler: set() for handler in catalog.HANDLER_FLOWS}  # over the whole session


@pytest.fixture
def aws() -> Iterator[EmulatedAws]:
    with EmulatedAws() as emulated:
        yield emulated


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke(aws: EmulatedAws, context: LambdaContext) -> Invoke:
    """``invoke("health", event)`` runs ``handlers.health.handler`` and checks its AWS calls."""

    def run(handler: str, event: Any, ctx: Any = None) -> dict[str, Any]:
        module = importlib.import_module(f"handlers.{handler}")
        aws.recorder.reset()
        try:
            return module.handler(event, ctx or context)  # type: ignore[no-any-return]
        finally:
            used = aws.recorder.actions()
            USED[handler] |= used
            undeclared = used - DECLARED[handler] - NEEDS_NO_PERMISSION
            assert not undeclared, f"{handler} called AWS actions its IAM policy lacks: {sorted(undeclared)}"

    return run


def security_groups(ec2, instance_id: str) -> set[str]:
    """The instance's groups, read both ways AWS reports them (instance attribute and interfaces): they must agree.
    moto gap: it reports an interface's groups as the union of the interface's and the instance attribute's."""
    described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    interfaces = {g["GroupId"] for eni in described["NetworkInterfaces"] for g in eni["Groups"]}
    if len(described["NetworkInterfaces"]) == 1:
        assert {g["GroupId"] for g in described["SecurityGroups"]} == interfaces
    return interfaces
