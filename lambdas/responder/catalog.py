"""Which flows each handler can run, hence exactly which AWS permissions its function needs.

The CDK stack reads ``permissions_for(handler)`` to build each function's IAM policy, so the
policy is derived from the code's own declarations (see ``capabilities``).
"""

from __future__ import annotations

from collections import defaultdict

from . import actions, capabilities, flows, notify, probes, runtime, store  # noqa: F401 - they register capabilities

HANDLER_FLOWS: dict[str, tuple[str, ...]] = {
    "health": ("contain-access-key",),
    "guardduty": ("contain-access-key", "revoke-role-sessions", "isolate-instance", "notify-only"),
    "cloudtrail": ("contain-launch", "notify-only"),
    "runbook": (
        "contain-access-key",
        "sweep-regions",
        "sweep-persistence",
        "revoke-role-sessions",
        "isolate-instance",
        "release-instance",
    ),
}
IDEMPOTENT = ("health", "guardduty", "cloudtrail")  # EventBridge may deliver twice; runbooks are deliberate


def capabilities_for(handler: str) -> list[capabilities.Capability]:
    names: dict[str, None] = {}
    for flow in HANDLER_FLOWS[handler]:
        names.update(dict.fromkeys(flows.USES[flow]))
    if handler in IDEMPOTENT:
        names["idempotency"] = None
    return [capabilities.REGISTRY[n] for n in names]


def permissions_for(handler: str) -> dict[str, list[str]]:
    """symbolic resource -> sorted IAM actions, e.g. ``{"*": ["ec2:TerminateInstances", ...]}``."""
    by_resource: dict[str, set[str]] = defaultdict(set)
    for capability in capabilities_for(handler):
        by_resource[capability.resource].update(capability.permissions)
    return {resource: sorted(perms) for resource, perms in sorted(by_resource.items())}


def tables_for(handler: str) -> list[str]:
    return sorted({c.resource for c in capabilities_for(handler) if c.resource.startswith("table:")})
