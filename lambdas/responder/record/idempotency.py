"""The idempotency capability: one response per EventBridge envelope id (Powertools idempotency).

Declared here, beside its settings and not in the handler glue, so the catalog (and through it the CDK synth)
reads what the functions need without importing the Lambda shell.
"""

from __future__ import annotations

from ..core import capabilities as cap
from .store import MAX_REPORT_BYTES

IDEMPOTENCY = cap.declare(
    "record",
    "idempotency",
    ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
    cap.IDEMPOTENCY_TABLE,
    "Powertools idempotency: one response per EventBridge envelope id",
)
IDEMPOTENCY_SECONDS = 24 * 3600
IDEMPOTENCY_RECORD_BYTES = MAX_REPORT_BYTES
