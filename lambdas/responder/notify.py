"""Tell the team: a human summary first, then the JSON report as the last part of the message.

``compose`` is pure (tested on its own); ``publish`` is the one SNS call.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from . import capabilities as cap
from .aws import Clients
from .report import fit

PUBLISH = cap.declare("notify", ("sns:Publish",), cap.NOTIFY_TOPIC, "the team's SNS topic")
SUBJECT_MAX = 99  # SNS: "less than 100 characters", ASCII, no line breaks
SNS_MAX_BYTES = 256 * 1024
JSON_MARKER = "--- machine-readable report (JSON) ---"
LIST_LIMIT = 25

VERBS = {
    ("deactivate-access-key", "done"): "access keys deactivated (not deleted)",
    ("quarantine-user", "done"): "users given the deny-all quarantine policy",
    ("quarantine-role", "done"): "roles given the deny-all quarantine policy",
    ("revoke-role-sessions", "done"): "roles had their older sessions revoked",
    ("delete-login-profile", "done"): "console passwords (login profiles) removed",
    ("cancel-spot-fleet", "done"): "spot fleets cancelled",
    ("delete-ec2-fleet", "done"): "EC2 fleets deleted (instances terminated separately)",
    ("cancel-spot-request", "done"): "spot requests cancelled",
    ("scale-asg-to-zero", "done"): "Auto Scaling groups scaled to zero",
    ("disable-termination-protection", "done"): "termination protections turned off",
    ("terminate-instance", "done"): "instances terminated",
    ("isolate-instance", "done"): "instances isolated (quarantine security group)",
    ("snapshot-volume", "done"): "EBS volumes snapshotted for forensics",
    ("tag-instance", "done"): "instances tagged",
    ("release-instance", "done"): "instances released from isolation",
}


def subject_line(report: dict[str, Any]) -> str:
    text = f"[{str(report.get('severity', 'high')).upper()}] {report.get('headline') or 'compromise response'}"
    if report.get("mode") == "dry-run":
        text = "[DRY-RUN] " + text
    text = " ".join(text.split())
    text = text.encode("ascii", "replace").decode("ascii")
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3].rstrip() + "..."


def summary(report: dict[str, Any]) -> str:
    """The human part: what happened, what was done, what was left alone, what needs a human."""
    dry = report.get("mode") == "dry-run"
    lines = [
        f"{str(report.get('severity', 'high')).upper()}: {report.get('headline', '')}",
        f"Incident {report['incidentId']} | trigger: {report['trigger']} | mode: {report['mode']}"
        + (" (NOTHING WAS CHANGED: this is the plan)" if dry else ""),
        "",
        "WHAT HAPPENED",
    ]
    facts = report.get("facts") or {}
    for key, value in facts.items():
        if value not in (None, "", [], {}):
            lines.append(f"  {key}: {value}")
    principal = report.get("principal")
    if principal:
        lines.append(
            f"  principal: {principal.get('type')} {principal.get('name')}"
            + (f", key {principal['accessKeyId']}" if principal.get("accessKeyId") else "")
        )
    if report.get("window"):
        lines.append(f"  incident window: {report['window']['start']} .. {report['window']['end']}")

    actions = report.get("actions", [])
    lines += ["", "WHAT WOULD BE DONE (dry-run)" if dry else "WHAT WAS DONE"]
    counts = Counter((a["action"], "done" if dry and a["status"] == "planned" else a["status"]) for a in actions)
    did = [f"  - {label}: {counts[key]}" for key, label in VERBS.items() if counts[key]]
    lines += did or ["  - nothing needed changing"]
    for a in actions:
        if a["region"] == "global" and a["status"] in ("done", "planned", "failed"):
            lines.append(
                f"    {a['action']} {a['target']}: {a['status']}" + (f" ({a['detail']})" if a.get("detail") else "")
            )
    cost = report.get("estimatedHourlyCostStopped", 0)
    if cost:
        verb = "that would be stopped" if dry else "stopped"
        lines.append(f"  - estimated on-demand cost {verb}: ${cost:,.2f}/hour")
    regions = report.get("regions") or {}
    by_status: dict[str, list[str]] = {}
    for region, status in regions.items():
        by_status.setdefault(status, []).append(region)
    if regions:
        lines.append(
            "  regions: "
            + ", ".join(f"{len(by_status.get(s, []))} {s}" for s in ("contained", "clean", "failed"))
            + (f" (contained: {', '.join(by_status['contained'])})" if by_status.get("contained") else "")
        )
        per_region = Counter(
            a["region"] for a in actions if a["status"] in ("done", "planned") and a["region"] != "global"
        )
        for region in by_status.get("contained", []):
            kinds = Counter(
                a["action"] for a in actions if a["region"] == region and a["status"] in ("done", "planned")
            )
            lines.append(
                f"    {region}: "
                + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
                + f" ({per_region[region]} steps)"
            )

    failures = report.get("failures") or []
    if failures:
        lines += ["", "FAILED (the platform will retry; the retry is idempotent)"]
        lines += [f"  - {f}" for f in failures[:LIST_LIMIT]]

    skipped = [a for a in actions if a["status"] == "skipped"]
    if skipped:
        lines += ["", f"LEFT ALONE ({len(skipped)})"]
        lines += [f"  - {a['target']} ({a['region']}): {a['reason']}" for a in skipped[:LIST_LIMIT]]
        if len(skipped) > LIST_LIMIT:
            lines.append(f"  ... and {len(skipped) - LIST_LIMIT} more (see the JSON report)")

    findings = report.get("persistence") or []
    if findings:
        lines += ["", f"PERSISTENCE FOUND ({len(findings)}): what the principal created to come back"]
        lines += [
            f"  - {f['kind']} {f['target']} by {f.get('creator')} at {f.get('time')} ({f.get('eventName')}, {f.get('source')})"
            + (f" -> {f['response']}" if f.get("response") else "")
            for f in findings[:LIST_LIMIT]
        ]

    todo = report.get("needsHuman") or []
    if todo:
        lines += ["", "NEEDS A HUMAN"]
        lines += [f"  {i}. {t}" for i, t in enumerate(todo, 1)]
    return "\n".join(lines)


def compose(report: dict[str, Any]) -> tuple[str, str]:
    """(subject, body): the summary, then the JSON report last; shrunk to fit SNS's 256 KiB."""
    human = summary(report)
    body = f"{human}\n\n{JSON_MARKER}\n{json.dumps(report, indent=1, default=str)}"
    if len(body.encode()) > SNS_MAX_BYTES - 1024:
        human = human[:60_000]
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
