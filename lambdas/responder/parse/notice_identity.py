"""One answer per AWS Health notice, however many times EventBridge delivers it.

AWS Health delivers a global notice (a leaked key is IAM's, a global service) in us-east-1 and, as a backup,
in us-west-2. In organization mode (only there: a single account has one Health rule, in its home region, and a
notice re-sent under a new envelope id is answered again, as the contract's idempotency says) every member
forwards both to the hub - two envelopes, two envelope ids, one
notice - and the entrypoint's idempotency is keyed on the envelope id. So the health handler keys it on the
notice's own identity instead: the account, the Health event ARN and the affected entities (the exposed key),
and the response mode (a dry-run's plan never stands for the enforced answer). A later notice about another
key, or another account, is another identity and is answered.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

NAMESPACE = uuid.UUID("6f0c1a52-3c1e-4b8e-9d35-7a2e0c9b4f11")  # fixed: the same notice gets the same id forever


def notice_id(event: Any, mode: str = "enforce") -> str | None:
    """A stable id of the notice ``event`` carries (``None``: not a Health notice with an event ARN)."""
    detail = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(detail, dict) or not isinstance(detail.get("eventArn"), str) or not detail["eventArn"]:
        return None
    arn = detail["eventArn"]
    entities = detail.get("affectedEntities")
    values = sorted(
        str(e.get("entityValue")) for e in (entities if isinstance(entities, list) else []) if isinstance(e, dict)
    )
    return str(uuid.uuid5(NAMESPACE, json.dumps([event.get("account"), arn, values, mode])))


def keyed_by_notice(event: Any, mode: str = "enforce") -> Any:
    """The event with its envelope id replaced by the notice's own (the envelope's stays in ``envelopeId``)."""
    identity = notice_id(event, mode)
    if identity is None or not isinstance(event.get("id"), str) or not event["id"]:
        return event  # the parser names what is missing or malformed, as sent
    return {**event, "id": identity, "envelopeId": event.get("id")}
