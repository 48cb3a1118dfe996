"""``close-incident``: later launches by the credential are no longer contained at once; nothing else changes."""

from __future__ import annotations

from typing import ClassVar, Literal

from ..flows import INCIDENT_CLOSE, close_incident
from ..parse.events import AccessKeyIdField, IncidentIdField, Reason
from ..report import Report
from ..shell.context import ResponseContext
from .base import RunbookBase, runbook


class CloseIncident(RunbookBase):
    """Close the open incident(s) of a credential, or one incident: later launches are no longer contained
    at once. Changes nothing else (keys stay Inactive, quarantine policies stay)."""

    one_of: ClassVar[tuple[str, ...]] = ("accessKeyId", "incidentId")
    runbook: Literal["close-incident"]
    accessKeyId: AccessKeyIdField | None = None
    incidentId: IncidentIdField | None = None
    reason: Reason  # type: ignore[assignment]  # required here: the record says who closed it and why


@runbook(
    CloseIncident, flows=(INCIDENT_CLOSE,), effect="later launches by the key are then no longer contained at once"
)
def run(ctx: ResponseContext, command: CloseIncident) -> Report:
    return close_incident(ctx, access_key_id=command.accessKeyId, incident_id=command.incidentId, reason=command.reason)
