"""The notification as a chat message: an Amazon Q Developer in chat applications (formerly AWS Chatbot)
custom notification, which Slack and Microsoft Teams channels subscribed to the team topic render.

Schema: https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html (``version`` 1.0, ``source``
custom, ``content`` with ``textType``/``title``/``description``/``nextSteps``/``keywords``, ``metadata`` with
``threadId``/``summary``/``eventType``/``relatedResources``/``additionalContext``); the repository keeps it as
data in ``tests/schemas/`` and a test validates every message against it. Pure: it reads the report JSON only,
and says only what the notification says (the same words, from the steps' statuses).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..aws import clean_text
from .summary import subject_line
from .wording import count_lines

# Our own bounds, well inside what chat platforms render in one message (a Slack section holds 3,000 characters).
TITLE_MAX, DESCRIPTION_MAX, STEP_MAX, STEPS_MAX, KEYWORD_MAX, KEYWORDS_MAX, RESOURCES_MAX = 250, 3000, 300, 6, 60, 8, 10
SEVERITY_EMOJI = {"critical": ":rotating_light:", "high": ":warning:", "medium": ":large_orange_diamond:"}
MARKDOWN = str.maketrans({c: " " for c in "*_`~<>|"})  # values quoted into markdown cannot restyle or link it


def _plain(value: Any, limit: int) -> str:
    text = clean_text(str(value if value is not None else ""), limit).translate(MARKDOWN)
    return " ".join(text.split())


def _bullets(items: list[str], limit: int = 10) -> list[str]:
    lines = [f"• {item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"• ... and {len(items) - limit} more (see the e-mail or the incident record)")
    return lines


def description(report: dict[str, Any]) -> str:
    """What happened and what was done (confirmed by AWS), what failed: the summary's first sections, short."""
    dry = report.get("mode") == "dry-run"
    principal = report.get("principal") or {}
    lines = [
        f"*Incident* `{_plain(report.get('incidentId'), 40)}` · trigger {_plain(report.get('trigger'), 20)}"
        f" · {'DRY-RUN: nothing was changed' if dry else 'mode enforce'}"
        + (f" · account {_plain(report.get('account'), 12)}" if report.get("account") else ""),
    ]
    if principal:
        key = f", key {_plain(principal['accessKeyId'], 32)}" if principal.get("accessKeyId") else ""
        lines.append(f"*Principal*: {_plain(principal.get('type'), 20)} {_plain(principal.get('name'), 64)}{key}")
    lifecycle = report.get("lifecycle")
    if lifecycle:
        lines.append(f"*By*: {_plain(lifecycle.get('by'), 200)}")
        lines.append(f"*Why*: {_plain(lifecycle.get('reason'), 300)}")
    actions = report.get("actions") or []
    done = count_lines(((str(a.get("action")), str(a.get("status"))) for a in actions), dry)
    lines.append("*Would be done*:" if dry else "*Done (confirmed by AWS)*:")
    lines += _bullets(done) or ["• nothing to change" if dry else "• nothing was changed"]
    regions = Counter(str(s) for s in (report.get("regions") or {}).values())
    if regions:
        lines.append(
            f"*Regions*: {regions['contained']} contained, {regions['clean']} clean, {regions['failed']} failed"
        )
    cost = float(report.get("estimatedHourlyCostStopped") or 0)
    if cost:
        lines.append(f"*Cost {'to stop' if dry else 'stopped'}*: ${cost:,.2f}/hour (on-demand estimate)")
    failures = report.get("failures") or []
    if failures:
        lines.append(f"*FAILED ({len(failures)})*: the platform retries; the retry redoes nothing AWS accepted")
        lines += _bullets([_plain(f, 200) for f in failures], 5)
    hub = report.get("securityHub")
    if hub:
        lines.append(
            f"*Security Hub*: {_plain(hub.get('status'), 20)}"
            + (f" ({_plain(hub.get('detail'), 200)})" if hub.get("detail") else "")
        )
    text = "\n".join(lines)
    return (
        text
        if len(text) <= DESCRIPTION_MAX
        else text[: DESCRIPTION_MAX - 40].rstrip() + "\n• ... (cut: see the e-mail)"
    )


def chat_notification(report: dict[str, Any]) -> dict[str, Any]:
    """The custom notification for this report; ``threadId`` is the incident, so its retries and its close
    land in one thread."""
    severity = str(report.get("severity", "high"))
    subject = subject_line(report)  # at most 99 characters (SNS): the thread's summary
    title = f"[{severity.upper()}] {report.get('headline') or 'compromise response'}"  # chat can show it whole
    if report.get("mode") == "dry-run":
        title = f"[DRY-RUN] {title}"
    principal = report.get("principal") or {}
    related = [str(r) for r in (principal.get("arn"), principal.get("accessKeyId")) if r]
    related += [str(a.get("target")) for a in report.get("actions") or [] if a.get("status") in ("done", "failed")]
    keywords = [severity, str(report.get("trigger")), str(report.get("mode"))]
    keywords += [str(v) for v in (principal.get("name"), principal.get("accessKeyId")) if v]
    if report.get("failures"):
        keywords.append("FAILED")
    return {
        "version": "1.0",
        "source": "custom",
        "id": _plain(f"{report.get('incidentId')}-attempt-{report.get('attempt', 1)}", 100),
        "content": {
            "textType": "client-markdown",
            "title": f"{SEVERITY_EMOJI.get(severity, ':information_source:')} {_plain(title, TITLE_MAX - 30)}",
            "description": description(report),
            "nextSteps": [_plain(t, STEP_MAX) for t in (report.get("needsHuman") or [])[:STEPS_MAX]],
            "keywords": list(dict.fromkeys(_plain(k, KEYWORD_MAX) for k in keywords if k))[:KEYWORDS_MAX],
        },
        "metadata": {
            "threadId": _plain(report.get("incidentId"), 100),
            "summary": _plain(subject, TITLE_MAX),
            "eventType": "CompromiseResponderIncident",
            "relatedResources": list(dict.fromkeys(_plain(r, 256) for r in related))[:RESOURCES_MAX],
            "additionalContext": {
                "incidentId": _plain(report.get("incidentId"), 100),
                "severity": _plain(severity, 20),
                "trigger": _plain(report.get("trigger"), 20),
                "mode": _plain(report.get("mode"), 20),
                "attempt": str(report.get("attempt", 1)),
            },
        },
    }
