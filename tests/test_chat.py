"""Notifications where the team already looks: SNS per-protocol messages. E-mail, SQS and Lambda subscribers get
the summary and the JSON report (``default``); AWS Chatbot (``https``) gets a custom notification that validates
against AWS's documented schema. The whole structure fits SNS's 256 KiB."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from responder.record.notify import JSON_MARKER, SNS_MAX_BYTES, compose_per_protocol

from compromise_responder.tools.emulator.scenarios import ALLOWED, LEAKED_KEY, health_event, spot_swarm
from tests.report_truth import assert_text_truthful, assert_truthful
from tests.test_notify import report as sample_report

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "chatbot-custom-notification.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_the_schema_itself_is_valid_and_refuses_what_aws_documents_as_required():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    good = {"version": "1.0", "source": "custom", "content": {"description": "d"}}
    VALIDATOR.validate(good)
    for bad in (
        {**good, "version": "2.0"},
        {**good, "source": "aws.health"},
        {"version": "1.0", "source": "custom", "content": {"title": "no description"}},
        {**good, "content": {"description": "d", "textType": "plain"}},
        {**good, "metadata": {"additionalContext": {"attempt": 2}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            VALIDATOR.validate(bad)


def test_a_contained_incident_reaches_chat_as_a_valid_custom_notification(aws, invoke):
    aws.set_env(ALLOWED_REGIONS=ALLOWED, SWEEP_REGIONS="us-east-1,sa-east-1")
    scene = spot_swarm(aws, regions=("sa-east-1",), requests_per_region=2)

    report = invoke("health", scene.health_event())

    [chat] = aws.chat_notifications()
    VALIDATOR.validate(chat)
    content = chat["content"]
    assert chat["metadata"]["threadId"] == report["incidentId"]  # retries and the close land in one thread
    assert content["title"].startswith(":warning: [HIGH] Exposed key AKIAIOSFODNN7EXAMPLE (ci-deployer) contained")
    assert "*Done (confirmed by AWS)*" in content["description"]
    assert (
        "instances terminated: 2" in content["description"] and "spot requests cancelled: 2" in content["description"]
    )
    assert "Regions*: 1 contained, 1 clean, 0 failed" in content["description"]
    assert content["nextSteps"][0].startswith("Rotate: create a new key for ci-deployer")
    assert {"high", "health", "ci-deployer", LEAKED_KEY} <= set(content["keywords"])
    assert LEAKED_KEY in chat["metadata"]["relatedResources"]
    [note] = aws.notifications()
    assert_text_truthful(aws, note.subject, f"{content['title']}\n{content['description']}", report)
    # e-mail, SQS and Lambda subscribers get the default message: the summary, then the JSON report last
    assert note.report["incidentId"] == report["incidentId"] and "WHAT WAS DONE" in note.summary
    assert_truthful(aws, report, [note])
    [published] = aws.published.messages
    assert published.structure == "json" and set(json.loads(published.message)) == {"default", "https"}


def test_a_failed_step_is_named_in_chat_and_nothing_is_claimed_for_it(aws, invoke):
    aws.set_env(ALLOWED_REGIONS=ALLOWED, SWEEP_REGIONS="us-east-1")
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    aws.faults.fail(operations=["UpdateAccessKey"], code="AccessDenied", message="explicit deny (injected)")
    with pytest.raises(RuntimeError):
        invoke("health", health_event(datetime.now(UTC)))

    [chat] = aws.chat_notifications()
    VALIDATOR.validate(chat)
    content = chat["content"]
    assert "[CRITICAL]" in content["title"] and "contained" not in content["title"]
    assert "*FAILED (1)*" in content["description"] and "AccessDenied" in content["description"]
    assert "FAILED" in content["keywords"]
    assert content["nextSteps"][0].startswith(f"KEY {LEAKED_KEY} IS STILL ACTIVE")
    [note] = aws.notifications()
    assert_text_truthful(aws, note.subject, f"{content['title']}\n{content['description']}", note.report)


def test_markup_in_reported_values_cannot_restyle_or_link_the_chat_message():
    hostile = sample_report(
        principal={"type": "IAMUser", "name": "<https://evil.example|click>*bold*", "accessKeyId": LEAKED_KEY},
        needsHuman=["`rm -rf` <!channel> _now_"],
    )
    chat = json.loads(json.loads(compose_per_protocol(hostile)[1])["https"])

    VALIDATOR.validate(chat)
    assert "<https://evil.example|click>" not in chat["content"]["description"]
    assert "*bold*" not in chat["content"]["description"] and "<!channel>" not in chat["content"]["nextSteps"][0]


@pytest.mark.parametrize(
    "filler",
    [
        "x" * 200,  # plain
        '"quoted" \\ "escapes" ' * 12,  # every quote and backslash doubles when the body is put into the JSON message
        "\x01\x02\x1f" * 60,  # control characters grow six-fold (\\u0001)
        "é漢字🙂" * 50,  # multi-byte characters
    ],
    ids=["plain", "quotes", "control", "unicode"],
)
def test_the_whole_per_protocol_structure_fits_sns_whatever_the_report(filler):
    actions = [
        {
            "action": "terminate-instance",
            "target": f"i-{n:017x}",
            "region": "sa-east-1",
            "status": "done",
            "reason": filler,
        }
        for n in range(3000)
    ]
    big = sample_report(actions=actions, facts={f"fact{n}": filler * 5 for n in range(40)}, needsHuman=[filler] * 30)

    subject, message = compose_per_protocol(big)

    assert len(message.encode()) <= SNS_MAX_BYTES - 2048  # room kept for the subject and the message attributes
    assert len(subject) < 100
    messages = json.loads(message)
    body = messages["default"]
    machine = json.loads(body.split(JSON_MARKER, 1)[1])  # the JSON report is still the last, parseable part
    assert machine["incidentId"] == big["incidentId"] and machine.get("actionsOmitted", 0) > 0
    VALIDATOR.validate(json.loads(messages["https"]))


def test_a_small_report_is_sent_whole_to_both():
    subject, message = compose_per_protocol(sample_report())
    messages = json.loads(message)
    assert json.loads(messages["default"].split(JSON_MARKER, 1)[1]) == sample_report()
    chat = json.loads(messages["https"])
    VALIDATOR.validate(chat)
    assert chat["content"]["title"].endswith(sample_report()["headline"]) and chat["metadata"]["summary"] == subject
