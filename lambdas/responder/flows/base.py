"""What a flow is: a named response and the capabilities it may use.

The flow names are their own kind (a flow is not the action or the runbook of the same idea); the
capabilities are the objects the actions, probes and stores declared, so a typo fails at import.
``responder.shell.catalog`` maps handlers to flows; the stack turns that into each function's IAM policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import kinds
from ..actions import iam
from ..actions.capacity import (
    CancelSpotFleet,
    CancelSpotRequest,
    DeleteEc2Fleet,
    DisableTerminationProtection,
    ScaleAsgToZero,
    TerminateInstance,
)
from ..core.capabilities import Capability
from ..evidence import probes
from ..record import store
from ..record.joining import INCIDENT_CLAIM
from ..record.notify import PUBLISH
from ..record.securityhub import IMPORT_FINDING


@dataclass(frozen=True)
class Flow:
    name: str
    uses: tuple[Capability, ...]
    doc: str = ""
    security_hub: tuple[Capability, ...] = (IMPORT_FINDING,)  # granted too when securityHubFindings is on


RECORD = (PUBLISH, store.INCIDENTS_WRITE, store.INCIDENTS_READ, INCIDENT_CLAIM)  # notify, keep every attempt
DESCRIBE = (
    probes.DESCRIBE_INSTANCES,
    probes.DESCRIBE_SPOT_REQUESTS,
    probes.DESCRIBE_SPOT_FLEETS,
    probes.DESCRIBE_EC2_FLEETS,
    probes.DESCRIBE_ASGS,
    *(kind.describe for kind in kinds.kinds() if kind.describe),  # the kinds beyond EC2 (responder.kinds)
)
STOP = tuple(
    a.capability
    for a in (
        CancelSpotFleet,
        DeleteEc2Fleet,
        CancelSpotRequest,
        ScaleAsgToZero,
        DisableTerminationProtection,
        TerminateInstance,
    )
) + tuple(action.capability for kind in kinds.kinds() for action in kind.actions)  # the kinds beyond EC2
SWEEP = (probes.DESCRIBE_REGIONS, *DESCRIBE, probes.LOOKUP_EVENTS, store.LEDGER_READ, *STOP)
BACKDOORS = (
    store.LEDGER_READ,
    probes.LOOKUP_EVENTS,
    iam.DeactivateAccessKey.capability,
    iam.QuarantineUser.capability,
    iam.QuarantineRole.capability,
    iam.DeleteLoginProfile.capability,
    store.INCIDENTS_WRITE,
)
