"""cdk-nag acknowledgments: every suppression carries its reason, next to the construct it excuses."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledging {rule_id} needs a real reason")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))
