"""The notification: a human summary, then the JSON report last; fits SNS whatever the size."""

from __future__ import annotations

import json

from responder.record.notify import JSON_MARKER, SNS_MAX_BYTES, compose
from responder.report.summary import subject_line


def report(**extra):
    base = {
        "incidentId": "inc-20261120-0123456789",
        "trigger": "health",
        "mode": "enforce",
        "severity": "high",
        "headline": "Exposed key AKIAIOSFODNN7EXAMPLE (ci-deployer) contained: 22 instances, 20 spot requests stopped",
        "principal": {"type": "IAMUser", "name": "ci-deployer", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"},
        "actions": [
            {
                "action": "deactivate-access-key",
                "target": "AKIAIOSFODNN7EXAMPLE",
                "region": "global",
                "status": "done",
                "reason": "r",
            },
            {
                "action": "terminate-instance",
                "target": "i-0123456789abcdef0",
                "region": "sa-east-1",
                "status": "done",
                "reason": "r",
            },
            {
                "action": "terminate-instance",
                "target": "i-0fedcba9876543210",
                "region": "us-east-1",
                "status": "skipped",
                "reason": "protect tag",
            },
        ],
        "regions": {"sa-east-1": "contained", "us-east-1": "clean"},
        "estimatedHourlyCostStopped": 2.6,
        "needsHuman": ["Rotate the key."],
        "failures": [],
        "facts": {"keyLastUsed": "2026-11-20T06:12:00Z (ec2, sa-east-1)"},
    }
    return base | extra


def test_subject_is_short_ascii_and_names_the_key():
    subject = subject_line(report(headline="Exposed key AKIAIOSFODNN7EXAMPLE " + "é" * 300))
    assert len(subject) <= 99 and subject.isascii() and "\n" not in subject
    assert "AKIAIOSFODNN7EXAMPLE" in subject


def test_body_is_summary_then_json_report():
    _, body = compose(report())
    human, machine = body.split(JSON_MARKER)
    assert json.loads(machine) == report()
    for words in (
        "WHAT HAPPENED",
        "WHAT WAS DONE",
        "LEFT ALONE (1)",
        "NEEDS A HUMAN",
        "$2.60/hour",
        "ci-deployer",
        "keyLastUsed",
        "1 contained, 1 clean, 0 failed",
    ):
        assert words in human, words


def test_dry_run_says_nothing_changed():
    subject, body = compose(report(mode="dry-run"))
    assert subject.startswith("[DRY-RUN]")
    assert "NOTHING WAS CHANGED" in body and "WHAT WOULD BE DONE" in body


def test_huge_reports_still_fit_in_one_sns_message():
    actions = [
        {
            "action": "terminate-instance",
            "target": f"i-{n:017x}",
            "region": "sa-east-1",
            "status": "done",
            "reason": "x" * 200,
        }
        for n in range(3000)
    ]
    _, body = compose(report(actions=actions))
    assert len(body.encode()) <= SNS_MAX_BYTES
    machine = json.loads(body.split(JSON_MARKER)[1])
    assert machine["actionsOmitted"] > 0 and machine["incidentId"] == "inc-20261120-0123456789"


def test_fit_keeps_what_was_done_before_what_was_left_alone():
    from responder.core.fit import fit

    big = report(actions=[{"action": "terminate-instance", "target": f"i-{n:017x}", "region": "sa-east-1",
                           "status": "skipped" if n % 2 else "done", "reason": "x" * 100} for n in range(400)])  # fmt: skip
    small = fit(big, 30_000)
    assert len(json.dumps(small)) <= 30_000
    assert {a["status"] for a in small["actions"]} <= {"done"} and small["actionsOmitted"] >= 200
    assert fit(report(), 100_000) == report()
