"""Tell the team: a human summary first, then the JSON report as the last part of the message.

``compose`` is pure (tested on its own); ``publish`` is the one SNS call.
"""

from __future__ import annotations

import json
from typing import Any

from . import capabilities as cap
from .aws import Clients
from .report import fit
from .report.summary import subject_line, summary

PUBLISH = cap.declare("record", "notify", ("sns:Publish",), cap.NOTIFY_TOPIC, "the team's SNS topic")
SNS_MAX_BYTES = 256 * 1024
JSON_MARKER = "--- machine-readable report (JSON) ---"
HUMAN_MAX = 60_000  # bytes of summary; the JSON report gets the rest


def compose(report: dict[str, Any]) -> tuple[str, str]:
    """(subject, body): the summary, then the JSON report last; always within SNS's 256 KiB."""
    human = summary(report)
    if len(human.encode()) > HUMAN_MAX:
        human = human.encode()[:HUMAN_MAX].decode(errors="ignore") + "\n  ... (summary cut to fit; the JSON follows)"
    body = f"{human}\n\n{JSON_MARKER}\n{json.dumps(report, indent=1, default=str)}"
    if len(body.encode()) > SNS_MAX_BYTES - 1024:
        room = SNS_MAX_BYTES - 2048 - len(human.encode())
        body = f"{human}\n\n{JSON_MARKER}\n{json.dumps(fit(report, room), separators=(',', ':'), default=str)}"
    return subject_line(report), body


def publish(clients: Clients, topic_arn: str, report: dict[str, Any]) -> str:
    subject, body = compose(report)
    region = topic_arn.split(":")[3]
    resp = clients.get("sns", region).publish(
        TopicArn=topic_arn,
        Subject=subject,
        Message=body,
        MessageAttributes={
            "severity": {"DataType": "String", "StringValue": str(report.get("severity", "high"))},
            "trigger": {"DataType": "String", "StringValue": str(report.get("trigger"))},
            "incidentId": {"DataType": "String", "StringValue": str(report.get("incidentId"))},
        },
    )
    return str(resp.get("MessageId", ""))
