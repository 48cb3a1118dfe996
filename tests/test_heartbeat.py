"""The heartbeat: the responder's own trail, detector, rules, functions and topic checked every 5 minutes through
the real handler; each broken thing found (one at a time), restored where an API call can, and notified."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from responder.core import own_names

from compromise_responder.tools.emulator.responder_world import deploy_responder

BEAT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-12-05T03:40:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/compromise-responder-heartbeat"],
    "detail": {},
}
RULE = own_names.rule("guard-calls")


@pytest.fixture
def world(aws):
    return deploy_responder(aws)


def beats(capsys) -> float:
    """The heartbeat metric the run wrote in its log (CloudWatch embedded metric format, as Lambda logs it)."""
    total = 0.0
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            emf = json.loads(line)
            names = {m["Name"] for d in emf["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
            if (
                own_names.HEARTBEAT_METRIC in names
                and emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == (own_names.HEARTBEAT_METRIC_NAMESPACE)
                and emf.get("service") == own_names.METRIC_SERVICE
            ):
                total += sum(emf[own_names.HEARTBEAT_METRIC])
    return total


def found(invoke, aws) -> tuple[dict, str]:
    report = invoke("heartbeat", BEAT)
    [message] = aws.published.messages
    return report, message.subject + "\n" + message.message


def test_all_well_publishes_the_heartbeat_and_stays_quiet(aws, world, invoke, capsys):
    capsys.readouterr()
    report = invoke("heartbeat", BEAT)

    assert beats(capsys) == 1
    assert aws.published.messages == [] and report["actions"] == []


def test_trail_stopped_is_started_again(aws, world, invoke, capsys):
    aws.client("cloudtrail").stop_logging(Name=own_names.TRAIL)
    capsys.readouterr()

    report, text = found(invoke, aws)

    assert aws.client("cloudtrail").get_trail_status(Name=own_names.TRAIL)["IsLogging"]
    assert [(a["action"], a["status"]) for a in report["actions"]] == [("start-logging", "done")]
    assert "not logging" in text and beats(capsys) == 1


def test_trail_deleted_is_named_for_a_redeploy(aws, world, invoke):
    aws.client("cloudtrail").delete_trail(Name=own_names.TRAIL)

    report, text = found(invoke, aws)

    assert report["actions"] == [] and report["severity"] == "critical"
    assert "deleted" in text and "npx cdk deploy" in text


def test_rule_disabled_is_enabled_again(aws, world, invoke):
    aws.client("events").disable_rule(Name=RULE)

    report, _text = found(invoke, aws)

    assert aws.client("events").describe_rule(Name=RULE)["State"] == "ENABLED"
    assert [a["action"] for a in report["actions"]] == ["enable-rule"]


def test_rule_target_removed_is_put_back(aws, world, invoke):
    aws.client("events").remove_targets(Rule=RULE, Ids=[own_names.RULE_TARGET_ID])

    report, _text = found(invoke, aws)

    [target] = aws.client("events").list_targets_by_rule(Rule=RULE)["Targets"]
    assert target["Arn"].endswith(":function:compromise-responder-cloudtrail")
    assert [(a["action"], a["status"]) for a in report["actions"]] == [("put-rule-targets", "done")]


def test_function_code_changed_after_the_deploy_is_found(aws, world, invoke):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("handlers/cloudtrail.py", "def handler(event, context):\n    return None  # blinded\n")
    aws.client("lambda").update_function_code(FunctionName="compromise-responder-cloudtrail", ZipFile=buffer.getvalue())

    report, text = found(invoke, aws)

    assert report["actions"] == []
    assert "compromise-responder-cloudtrail" in text and "changed after the last deploy" in text
    assert "npx cdk deploy" in text


def test_detector_disabled_is_enabled_again(aws, world, invoke):
    detector = world.detectors["us-east-1"]
    aws.client("guardduty").update_detector(DetectorId=detector, Enable=False)

    report, _text = found(invoke, aws)

    assert aws.client("guardduty").get_detector(DetectorId=detector)["Status"] == "ENABLED"
    assert [(a["action"], a["status"]) for a in report["actions"]] == [("enable-detector", "done")]


def test_topic_without_subscriptions_is_named(aws, world, invoke):
    sns = aws.client("sns")
    for subscription in sns.list_subscriptions_by_topic(TopicArn=aws.topic_arn)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])

    report, text = found(invoke, aws)

    assert report["actions"] == []
    assert "no subscriptions" in text and "subscribe the team again" in text


def test_a_malformed_beat_names_the_field(aws, world, invoke):
    with pytest.raises(ValueError, match="detail-type"):
        invoke("heartbeat", {**BEAT, "detail-type": "Something Else"})
