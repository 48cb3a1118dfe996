"""The incident's own record (DynamoDB): close an incident, so later launches by its credential are no longer
contained at once. Nothing in the account is changed: keys stay Inactive, quarantine policies stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core import capabilities as cap
from ..core.model import Outcome, Step
from ..record.joining import close_claim
from ..record.store import pointer_items, write_all
from .base import Action, ActionName, Words, each, register


@register
class CloseIncident(Action):
    """Mark an incident closed, with who closed it, when and why; its open pointers become closed."""

    name = ActionName.CLOSE_INCIDENT
    service = "dynamodb"
    permissions = ("dynamodb:UpdateItem", "dynamodb:BatchWriteItem")
    resource = cap.INCIDENTS_TABLE
    phase = 5
    words = Words("incident", "incidents", "closed", "to close", short="closed", one="{noun} {target} {short}")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            p = step.params
            table, at, by = str(p["incidentsTable"]), str(p["closedAt"]), str(p["closedBy"])
            # pointers first: if the update below fails, the incident still reads open and a second close redoes both
            write_all(client, table, pointer_items(p.get("pointers") or (), step.target, "closed", at))
            close_claim(client, table, p.get("pointers") or (), step.target, at)  # a later trigger opens a new one
            client.update_item(
                TableName=table,
                Key={"pk": {"S": f"incident#{step.target}"}, "sk": {"S": "incident"}},
                UpdateExpression="SET #status = :closed, closedAt = :at, closedBy = :by, closeReason = :why",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":closed": {"S": "closed"},
                    ":at": {"S": at},
                    ":by": {"S": by},
                    ":why": {"S": step.reason},
                },
            )
            return f"closed at {at} by {by}"

        return each(steps, call)
