"""Tell the team: a human summary first, then the JSON report as the last part of the message.

Published per protocol (SNS ``MessageStructure=json``): ``default`` - what e-mail, SQS and Lambda subscribers
get - is the summary and the JSON report; ``https`` - what Amazon Q Developer in chat applications (AWS
Chatbot) receives for Slack and Teams channels - is the same incident as a custom notification
(``report.chat``). The whole structure fits SNS's 256 KiB.

``compose`` and ``compose_per_protocol`` are pure (tested on their own); ``publish`` is the one SNS call.
"""

from __future__ import annotations

import json
from typing import Any

from ..aws import Clients
from ..core import capabilities as cap
from ..core.fit import fit
from ..report.chat import chat_notification
from ..report.summary import subject_line, summary

PUBLISH = cap.declare("record", "notify", ("sns:Publish",), cap.NOTIFY_TOPIC, "the team's SNS topic")
SNS_MAX_BYTES = 256 * 1024
ATTRIBUTES_ROOM = 2048  # subject, message attributes and their names count too: kept free
JSON_MARKER = "--- machine-readable report (JSON) ---"
HUMAN_MAX = 60_000  # bytes of summary; the JSON report gets the rest


def body_within(report: dict[str, Any], limit: int) -> str:
    """The summary, then the JSON report last, in at most ``limit`` bytes: the summary is cut first to its own
    share, then the report fitted (long strings cut, lists counted) into what is left."""
    human = summary(report)
    human_max = min(HUMAN_MAX, limit // 3)
    if len(human.encode()) > human_max:
        human = human.encode()[:human_max].decode(errors="ignore") + "\n  ... (summary cut to fit; the JSON follows)"
    body = f"{human}\n\n{JSON_MARKER}\n{json.dumps(report, indent=1, default=str)}"
    if len(body.encode()) > limit:
        room = limit - 1024 - len(human.encode())
        body = f"{human}\n\n{JSON_MARKER}\n{json.dumps(fit(report, room), separators=(',', ':'), default=str)}"
    return body


def compose(report: dict[str, Any]) -> tuple[str, str]:
    """(subject, body): the summary, then the JSON report last; always within SNS's 256 KiB."""
    return subject_line(report), body_within(report, SNS_MAX_BYTES - 1024)


def compose_per_protocol(report: dict[str, Any]) -> tuple[str, str]:
    """(subject, message) for ``MessageStructure=json``: ``default`` the body, ``https`` the chat notification.
    The message as SNS counts it (UTF-8 bytes of the JSON, escapes included) stays within 256 KiB."""
    chat = json.dumps(chat_notification(report), ensure_ascii=False, separators=(",", ":"))
    budget = SNS_MAX_BYTES - ATTRIBUTES_ROOM
    limit = budget - len(chat.encode()) - 64
    message = ""
    for _ in range(6):  # escaping (quotes, newlines, control characters) grows the body: shrink until it fits
        body = body_within(report, limit)
        message = json.dumps({"default": body, "https": chat}, ensure_ascii=False)
        size = len(message.encode())
        if size <= budget:
            return subject_line(report), message
        limit = int(limit * budget / size) - 2048
    skeleton = fit(report, 0)  # the last resort: ids, headline, counts and failures only
    message = json.dumps({"default": body_within(skeleton, 16_000), "https": chat}, ensure_ascii=False)
    return subject_line(report), message


def publish(clients: Clients, topic_arn: str, report: dict[str, Any]) -> str:
    subject, message = compose_per_protocol(report)
    region = topic_arn.split(":")[3]
    resp = clients.get("sns", region).publish(
        TopicArn=topic_arn,
        Subject=subject,
        Message=message,
        MessageStructure="json",
        MessageAttributes={
            "severity": {"DataType": "String", "StringValue": str(report.get("severity", "high"))},
            "trigger": {"DataType": "String", "StringValue": str(report.get("trigger"))},
            "incidentId": {"DataType": "String", "StringValue": str(report.get("incidentId"))},
        },
    )
    return str(resp.get("MessageId", ""))
