"""Customer-managed KMS keys of the responder: rotated, and kept when the stack is destroyed (what they
encrypted - notifications, dead letters, the trail's log files - is evidence that must stay readable)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct


def evidence_key(scope: Construct, construct_id: str, description: str) -> kms.Key:
    return kms.Key(
        scope, construct_id, description=description, enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN
    )
