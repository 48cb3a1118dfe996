"""Purchases that cannot be undone by API: Reserved Instances, Savings Plans, Bedrock model agreements.

A leaked key can commit the account to a year or three of spend in one call. Nothing in the account runs
that the responder could stop, so each purchase the chain made is listed as a ``review-purchase`` step
(skipped: never executed), critical, under NEEDS A HUMAN with the AWS Support path. Attribution only (the
ledger or ``LookupEvents``): the window rule has nothing to look at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..aws import Clients
from . import register as register_kind
from .base import CapacityKind, Workload, require_text


class Purchase(CapacityKind):
    """A purchase kind: what CloudTrail names it by; nothing to probe or stop."""

    needs_human = True
    actions = ()
    describe = None  # type: ignore[assignment]
    field: ClassVar[str]  # where the record names what was bought

    def created(self, event_name: str, request: Mapping[str, Any], response: Any) -> list[tuple[str, str]]:
        source = request if self.field.startswith("requestParameters") else response
        return [(self.name, f"{self.name}:{require_text(source, self.field, event_name)}")]

    def probe(self, clients: Clients, region: str) -> list[Workload]:
        return []


class ReservedInstances(Purchase):
    name = "reserved-instances"
    label = "Reserved Instances purchase"
    service = "ec2"
    event_source = "ec2.amazonaws.com"
    create_events = frozenset({"PurchaseReservedInstancesOffering"})
    field = "responseElements.reservedInstancesId"
    price_source = "not priced: a commitment, not an hourly run"


class SavingsPlan(Purchase):
    name = "savings-plan"
    label = "Savings Plan purchase"
    service = "savingsplans"
    event_source = "savingsplans.amazonaws.com"
    create_events = frozenset({"CreateSavingsPlan"})
    field = "responseElements.savingsPlanId"
    price_source = "not priced: a commitment, not an hourly run"


class BedrockAgreement(Purchase):
    name = "bedrock-agreement"
    label = "Bedrock model agreement"
    service = "bedrock"
    event_source = "bedrock.amazonaws.com"
    create_events = frozenset({"CreateFoundationModelAgreement"})
    field = "requestParameters.modelId"
    price_source = "not priced: a marketplace agreement"


for _kind in (ReservedInstances(), SavingsPlan(), BedrockAgreement()):
    register_kind(_kind)
