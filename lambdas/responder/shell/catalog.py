"""Which flows each handler can run, hence exactly which AWS permissions its function needs.

The CDK stack reads ``grants_for(handler, organization, security_hub=...)`` to build each function's IAM policy, so the
policy is derived from the code's own declarations (see ``capabilities``). What a flow needs only when
``securityHubFindings`` is on (``Flow.security_hub``) is granted only then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from .. import findings, runbooks
from ..core import capabilities
from ..flows import KEY_CONTAINMENT, LAUNCH_CONTAINMENT, NOTICE, Flow
from ..flows.heartbeat import HEARTBEAT
from ..flows.organization import ACCOUNT_SWEEP, START_SWEEP
from ..flows.swarm import SWARM_CONTAINMENT
from ..flows.tamper import TAMPER_RESPONSE
from ..record.idempotency import IDEMPOTENCY
from . import accounts

HANDLER_FLOWS: dict[str, tuple[Flow, ...]] = {
    "health": (KEY_CONTAINMENT, NOTICE),
    "guardduty": (NOTICE,),  # the gate; and every finding family's flows (REGISTRIES)
    # KEY: AWS's quarantine attached (earliest trigger); SWARM: the swarm rule; TAMPER: guarding the responder
    "cloudtrail": (LAUNCH_CONTAINMENT, KEY_CONTAINMENT, SWARM_CONTAINMENT, TAMPER_RESPONSE, NOTICE),
    "runbook": (NOTICE,),  # an account it may not act in; and every runbook's flows (REGISTRIES)
    "heartbeat": (HEARTBEAT,),  # "Guarding the responder": every 5 minutes
    "organization": (ACCOUNT_SWEEP,),  # organization mode only: the Distributed Map's states
}
# Handlers that answer with a registry's units: their flows are read from it at each call (a unit registered
# later - a test's fake family or runbook - is granted what it declares).
REGISTRIES: dict[str, Callable[[], tuple[Flow, ...]]] = {"guardduty": findings.flows, "runbook": runbooks.flows}
IDEMPOTENT = ("health", "guardduty", "cloudtrail")  # EventBridge may deliver twice; runbooks are deliberate
ORGANIZATION_HANDLERS = ("organization",)
# What only organization mode grants; every function then may act in a member account and name it.
ORGANIZATION_ONLY = (accounts.MEMBER_ROLE, accounts.ORGANIZATION_ACCOUNTS, START_SWEEP)
IN_EVERY_MEMBER = (accounts.MEMBER_ROLE, accounts.ORGANIZATION_ACCOUNTS)


def handlers(organization: bool) -> list[str]:
    return [h for h in HANDLER_FLOWS if organization or h not in ORGANIZATION_HANDLERS]


def flows_for(handler: str) -> tuple[Flow, ...]:
    """The flows the handler can run: its registry's units' first (``REGISTRIES``), then its own."""
    registered = REGISTRIES.get(handler)
    return (*(registered() if registered else ()), *HANDLER_FLOWS[handler])


def capabilities_for(
    handler: str, organization: bool = False, *, security_hub: bool = False
) -> list[capabilities.Capability]:
    found: dict[str, capabilities.Capability] = {}
    for flow in flows_for(handler):
        found.update((c.key, c) for c in flow.uses)
        if security_hub:
            found.update((c.key, c) for c in flow.security_hub)
    if handler in IDEMPOTENT:
        found[IDEMPOTENCY.key] = IDEMPOTENCY
    if organization:
        found.update((c.key, c) for c in IN_EVERY_MEMBER)
    else:
        for capability in ORGANIZATION_ONLY:
            found.pop(capability.key, None)
    return list(found.values())


def grants_for(handler: str, organization: bool = False, *, security_hub: bool = False) -> list[capabilities.Grant]:
    """The handler's grants, merged: one per (resources, conditions), each with every action it needs there."""
    return merged(capabilities_for(handler, organization, security_hub=security_hub))


def permissions_for(handler: str, organization: bool = False, *, security_hub: bool = False) -> set[str]:
    """Every IAM action the handler's function may call (on some resource, under some condition)."""
    return {a for g in grants_for(handler, organization, security_hub=security_hub) for a in g.actions}


def merged(found: list[capabilities.Capability]) -> list[capabilities.Grant]:
    """One grant per (resources, conditions): a policy statement each, however many capabilities share it."""
    by_scope: dict[tuple[tuple[str, ...], tuple[capabilities.Condition, ...]], set[str]] = defaultdict(set)
    for capability in found:
        for grant in capability.grants:
            by_scope[(tuple(sorted(grant.resources)), tuple(sorted(grant.conditions)))].update(grant.actions)
    return [
        capabilities.Grant(tuple(sorted(actions)), resources, conditions)
        for (resources, conditions), actions in sorted(by_scope.items())
    ]


def member_capabilities() -> list[capabilities.Capability]:
    """What the member role allows in a member account: every change and read a response makes there (the
    hub's own records, the organization reads and the member role itself stay in the hub)."""
    found: dict[str, capabilities.Capability] = {}
    hub_only = {c.key for c in ORGANIZATION_ONLY}
    for handler in HANDLER_FLOWS:
        for capability in capabilities_for(handler, organization=True):
            in_hub = capability.kind == "record" or capability.resources & capabilities.HUB_RESOURCES
            if not in_hub and capability.key not in hub_only:
                found[capability.key] = capability
    return sorted(found.values(), key=lambda c: c.key)


def tables_for(handler: str) -> list[str]:
    return sorted({r for c in capabilities_for(handler) for r in c.resources if r.startswith("table:")})
