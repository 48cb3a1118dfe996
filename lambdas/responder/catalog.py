"""Which flows each handler can run, hence exactly which AWS permissions its function needs.

The CDK stack reads ``permissions_for(handler, security_hub=...)`` to build each function's IAM policy, so the
policy is derived from the code's own declarations (see ``capabilities``). What a flow needs only when
``securityHubFindings`` is on (``Flow.security_hub``) is granted only then.
"""

from __future__ import annotations

from collections import defaultdict

from . import capabilities
from .entrypoint import IDEMPOTENCY
from .flows import (
    BACKDOOR_SWEEP,
    INCIDENT_CLOSE,
    ISOLATION,
    KEY_CONTAINMENT,
    LAUNCH_CONTAINMENT,
    NOTICE,
    PRINCIPAL_RELEASE,
    REGION_SWEEP,
    RELEASE,
    SESSION_REVOCATION,
    Flow,
)

HANDLER_FLOWS: dict[str, tuple[Flow, ...]] = {
    "health": (KEY_CONTAINMENT, NOTICE),
    "guardduty": (KEY_CONTAINMENT, SESSION_REVOCATION, ISOLATION, NOTICE),
    "cloudtrail": (LAUNCH_CONTAINMENT, NOTICE),
    "runbook": (
        KEY_CONTAINMENT,
        REGION_SWEEP,
        BACKDOOR_SWEEP,
        SESSION_REVOCATION,
        ISOLATION,
        RELEASE,
        INCIDENT_CLOSE,
        PRINCIPAL_RELEASE,
        NOTICE,
    ),
}
IDEMPOTENT = ("health", "guardduty", "cloudtrail")  # EventBridge may deliver twice; runbooks are deliberate


def capabilities_for(handler: str, *, security_hub: bool = False) -> list[capabilities.Capability]:
    found: dict[str, capabilities.Capability] = {}
    for flow in HANDLER_FLOWS[handler]:
        found.update((c.key, c) for c in flow.uses)
        if security_hub:
            found.update((c.key, c) for c in flow.security_hub)
    if handler in IDEMPOTENT:
        found[IDEMPOTENCY.key] = IDEMPOTENCY
    return list(found.values())


def permissions_for(handler: str, *, security_hub: bool = False) -> dict[str, list[str]]:
    """symbolic resource -> sorted IAM actions, e.g. ``{"*": ["ec2:TerminateInstances", ...]}``."""
    by_resource: dict[str, set[str]] = defaultdict(set)
    for capability in capabilities_for(handler, security_hub=security_hub):
        by_resource[capability.resource].update(capability.permissions)
    return {resource: sorted(perms) for resource, perms in sorted(by_resource.items())}


def tables_for(handler: str) -> list[str]:
    return sorted({c.resource for c in capabilities_for(handler) if c.resource.startswith("table:")})
