"""Every AWS call the responder makes is declared here with the IAM permissions it needs.

Actions (changes) and probes (reads) register a Capability; flows list the capabilities they
use; the CDK stack builds each function's IAM policy from the flows its handler can run
(``responder.catalog``). Code and least privilege cannot drift apart: a test records every AWS
call the handlers make against moto and checks each one is declared.
"""

from __future__ import annotations

from dataclasses import dataclass

# Symbolic resources, resolved to ARNs by the stack (infra/permissions.py).
ANY = "*"
IAM_USER = "iam:user/*"
IAM_ROLE = "iam:role/*"
INCIDENTS_TABLE = "table:incidents"
LEDGER_TABLE = "table:ledger"
IDEMPOTENCY_TABLE = "table:idempotency"
NOTIFY_TOPIC = "topic:notify"


@dataclass(frozen=True)
class Capability:
    name: str
    permissions: tuple[str, ...]
    resource: str = ANY
    doc: str = ""


REGISTRY: dict[str, Capability] = {}


def declare(name: str, permissions: tuple[str, ...], resource: str = ANY, doc: str = "") -> Capability:
    """Register (once) what one action or probe needs."""
    cap = Capability(name=name, permissions=tuple(permissions), resource=resource, doc=doc)
    existing = REGISTRY.get(name)
    if existing is not None and existing != cap:
        raise ValueError(f"capability {name!r} declared twice with different permissions")
    REGISTRY[name] = cap
    return cap
