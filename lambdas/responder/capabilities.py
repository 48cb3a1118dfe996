"""Every AWS call the responder makes is declared here with the IAM permissions it needs.

Three kinds, each named by its kind (``change:terminate-instance``, ``read:describe-instances``,
``record:notify``): actions (changes) register one each, probes (reads) and stores (the responder's own
records) declare theirs. Flows list the Capability objects they use (a typo fails at import); the CDK
stack builds each function's IAM policy from the flows its handler can run (``responder.catalog``). Code
and least privilege cannot drift apart: the tests record every AWS call the handlers make against moto
and check each one is declared, and that every declared permission is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["change", "read", "record"]

# Symbolic resources, resolved to ARNs by the stack (infra/permissions.py).
ANY = "*"
IAM_USER = "iam:user/*"
IAM_ROLE = "iam:role/*"
INCIDENTS_TABLE = "table:incidents"
LEDGER_TABLE = "table:ledger"
IDEMPOTENCY_TABLE = "table:idempotency"
NOTIFY_TOPIC = "topic:notify"
MEMBER_ROLE = "iam:member-role"  # organization mode: MEMBER_ROLE_NAME in every account of the organization
SWEEP_STATE_MACHINE = "states:organization-sweep"  # organization mode: the Distributed Map state machine
SECURITY_HUB_PRODUCT = "securityhub:product/default"  # the account's own default product (its findings)
SECURITY_HUB_HUB = "securityhub:hub/default"  # the account's hub (customer-side updates of findings)
# The responder's own resources: in organization mode they stay in the hub, never in a member role.
HUB_RESOURCES = frozenset(
    {INCIDENTS_TABLE, LEDGER_TABLE, IDEMPOTENCY_TABLE, NOTIFY_TOPIC, SECURITY_HUB_PRODUCT, SECURITY_HUB_HUB,
     SWEEP_STATE_MACHINE}
)  # fmt: skip


@dataclass(frozen=True)
class Capability:
    kind: Kind
    name: str
    permissions: tuple[str, ...]
    resource: str = ANY
    doc: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


REGISTRY: dict[str, Capability] = {}


def declare(kind: Kind, name: str, permissions: tuple[str, ...], resource: str = ANY, doc: str = "") -> Capability:
    """Register (once) what one action, probe or store needs."""
    cap = Capability(kind=kind, name=name, permissions=tuple(permissions), resource=resource, doc=doc)
    existing = REGISTRY.get(cap.key)
    if existing is not None and existing != cap:
        raise ValueError(f"capability {cap.key!r} declared twice with different permissions")
    REGISTRY[cap.key] = cap
    return cap
