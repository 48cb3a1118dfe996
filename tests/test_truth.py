"""Truth of the report: each defect of issue 12 replayed through the real handler against emulated AWS,
with every claim of the report and the notification compared with the AWS state (tests/report_truth.py)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from responder.parse.events import BadInput
from responder.record.notify import SNS_MAX_BYTES
from responder.shell.entrypoint import IncompleteResponse

from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, load_event, spot_swarm
from tests.report_truth import assert_truthful, incident_items

ALLOWED = {"ALLOWED_REGIONS": "us-east-1,eu-west-1"}
TWO_REGIONS = ("sa-east-1", "eu-west-1")


def test_a_retry_keeps_the_first_attempt_and_reports_the_whole_incident(aws, invoke):
    """Defect 1: publish denied on the first try; the retry's record and notification cover both attempts."""
    aws.set_env(**ALLOWED)
    scene = spot_swarm(aws, regions=TWO_REGIONS)
    event = scene.health_event()
    aws.faults.fail(services=["sns"], operations=["Publish"], code="AuthorizationError", message="denied (injected)")

    with pytest.raises(IncompleteResponse, match="notification failed"):
        invoke("health", event)
    aws.faults.clear()
    assert aws.notifications() == []  # nobody was told yet
    first = [i for ids in scene.attacker_instances.values() for i in ids]
    assert {aws.instance_states(r)[i] for r, ids in scene.attacker_instances.items() for i in ids} == {"terminated"}

    aws.recorder.reset()
    report = invoke("health", event)

    # the retry re-sent nothing the first attempt had done
    assert not {"iam:UpdateAccessKey", "iam:AttachUserPolicy", "ec2:TerminateInstances"} & aws.recorder.actions()
    done = {a["target"] for a in report["actions"] if a["action"] == "terminate-instance" and a["status"] == "done"}
    assert done == set(first)
    assert report["attempt"] == 2 and report["earlierAttempts"][0]["notified"] is False
    assert {r: s for r, s in report["regions"].items() if s != "clean"} == dict.fromkeys(TWO_REGIONS, "contained")
    [note] = aws.notifications()
    assert "no rogue capacity" not in note.subject and "8 instances" in note.subject
    assert "attempt 1" in note.summary and "notification FAILED" in note.summary
    assert_truthful(aws, report, [note])
    items = incident_items(aws, report["incidentId"])
    assert {"attempt#0001", "attempt#0002", "incident"} <= set(items)
    assert json.loads(items["attempt#0001"]["attempt"]["S"])["notified"] is False
    stored = json.loads(items["incident"]["report"]["S"])
    assert stored["attempt"] == 2 and len([a for a in stored["actions"] if a["status"] == "done"]) >= 8


def test_a_denied_deactivation_is_never_called_contained(aws, invoke):
    """Defect 2: UpdateAccessKey denied -> no 'contained', no 'Inactive'; the failed step is named; CRITICAL."""
    aws.set_env(**ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1",))
    aws.faults.fail(services=["iam"], operations=["UpdateAccessKey"], code="AccessDenied", message="no (injected)")

    with pytest.raises(IncompleteResponse, match="deactivate-access-key"):
        invoke("health", scene.health_event())

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Active"}
    [note] = aws.notifications()
    assert "contained" not in note.subject and "FAILED" in note.subject and note.subject.startswith("[CRITICAL]")
    assert "Inactive" not in note.summary and "STILL ACTIVE" in note.summary
    assert_truthful(aws, note.report, [note])


def test_a_failed_revoke_and_a_missing_instance_are_not_claimed(aws, invoke):
    """Defect 2: the assumed-role sample with no such role and no such instance."""
    with pytest.raises(IncompleteResponse, match="NoSuchEntity"):
        invoke("guardduty", load_event("guardduty-assumedrole-credential-exfiltration.json"))
    [note] = aws.notifications()
    assert "revoked" not in note.subject and "isolated" not in note.subject
    assert "revoke-role-sessions web-app-role" in note.summary  # the failed step, named
    assert_truthful(aws, note.report, [note])


def test_a_huge_finding_still_reaches_the_team(aws, invoke):
    """Defect 3: a 241 KB GuardDuty event (legal in EventBridge) and a subject with control characters."""
    event = load_event("guardduty-sample-low-severity.json")
    event["detail"]["title"] = "bell\x07 nul\x00 " + "é" * 200 + "x" * 240_000
    assert len(json.dumps(event).encode()) > 240_000

    report = invoke("guardduty", event)

    [note] = aws.notifications()
    assert len(note.body.encode()) <= SNS_MAX_BYTES
    assert len(note.subject) < 100 and all(32 <= ord(c) < 127 for c in note.subject)
    assert note.report["incidentId"] == report["incidentId"]


def test_an_event_for_another_account_changes_nothing(aws, invoke):
    """Defect 4: account 999999999999 in the envelope; the protected user given as an ARN is not touched."""
    aws.set_env(**ALLOWED, PROTECTED_PRINCIPALS="arn:aws:iam::123456789012:user/ci-deployer")
    scene = spot_swarm(aws, regions=("sa-east-1",))
    event = scene.health_event()
    event["account"] = "999999999999"
    before = aws.snapshot()

    report = invoke("health", event)

    assert aws.snapshot() == before
    assert report["account"] == "999999999999" and report["actions"] == []
    [note] = aws.notifications()
    assert "999999999999" in note.subject and "nothing changed" in note.subject


def test_a_protected_user_given_by_arn_is_protected_in_its_own_account(aws, invoke):
    aws.set_env(**ALLOWED, PROTECTED_PRINCIPALS="arn:aws:iam::123456789012:user/ci-deployer")
    scene = spot_swarm(aws, regions=("sa-east-1",))

    report = invoke("health", scene.health_event())

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Active"}
    assert report["severity"] == "critical" and "PROTECTED" in report["headline"]


@pytest.mark.parametrize("dry_run", ["false", "true", 0, 1, None, "yes"])
def test_dry_run_must_be_a_json_boolean(aws, invoke, dry_run):
    """Defect 5: "dryRun": "false" once deactivated the key; anything but true/false is bad input."""
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    before = aws.snapshot()
    with pytest.raises(BadInput, match="dryRun"):
        invoke("runbook", {"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "dryRun": dry_run})
    assert aws.snapshot() == before and aws.notifications() == []


def test_a_protected_role_given_by_arn_keeps_its_sessions(aws, invoke):
    """Defect 6: userType AssumedRole, userName = the role name, PROTECTED_PRINCIPALS holds its ARN."""
    aws.set_env(PROTECTED_PRINCIPALS="arn:aws:iam::123456789012:role/web-app-role")
    aws.client("iam").create_role(RoleName="web-app-role", AssumeRolePolicyDocument="{}")

    report = invoke("guardduty", load_event("guardduty-assumedrole-credential-exfiltration.json"))

    assert aws.role_policies("web-app-role") == {}
    assert "protected principal" in report["facts"]["response"]


def test_an_instance_the_leaked_key_launched_is_terminated_when_only_cloudtrail_knows(aws, invoke):
    """Defect 7: the ledger lacks the launch; CloudTrail LookupEvents attributes it to an open incident."""
    aws.set_env(**ALLOWED)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    miner = attacker.run_instances("us-east-1", "c5.xlarge", at=datetime.now(UTC) - timedelta(hours=1))
    invoke("runbook", {"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "sinceHours": 0.5})
    assert aws.instance_states("us-east-1")[miner.instance_ids[0]] == "running"  # old, small: not judged rogue
    # the launch watcher never saw the launch: the ledger has no record of it, only CloudTrail does
    event = load_event("guardduty-ec2-bitcoin-dns.json")
    event["detail"]["resource"]["instanceDetails"]["instanceId"] = miner.instance_ids[0]
    event["id"] = str(uuid.uuid4())

    report = invoke("guardduty", event)

    assert aws.instance_states("us-east-1")[miner.instance_ids[0]] == "terminated"
    [terminate] = [a for a in report["actions"] if a["action"] == "terminate-instance"]
    assert terminate["status"] == "done" and "open incident" in terminate["reason"]
    assert_truthful(aws, report, aws.notifications())


def test_aws_error_text_is_code_and_message_without_markup(aws, invoke):
    """Defect 9: a LookupEvents failure answered by a proxy's HTML page."""
    aws.set_env(**ALLOWED)
    spot_swarm(aws, regions=("sa-east-1",))
    page = "<html><head><title>502 Bad Gateway</title></head><body>" + "<p>upstream</p>" * 500 + "</body></html>"
    aws.trail.failure = ("BadGateway", page, 400)

    report = invoke("runbook", {"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY})

    note = report["facts"]["persistenceSweep"]
    assert "<" not in note and len(note) < 400 and "BadGateway" in note


def test_a_concurrent_duplicate_is_not_an_error(aws, invoke, monkeypatch, context):
    """Idempotency in progress: a second delivery while the first runs returns quietly (no Errors alarm),
    notifies nobody and changes nothing; the first delivery completes and notifies once."""
    import handlers.health
    from responder.shell import entrypoint

    aws.set_env(**ALLOWED)
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    event = load_event("health-credentials-exposed.json")
    real, seen = entrypoint.finish, {}

    def finish_after_a_duplicate_arrived(ctx, report):
        if "duplicate" not in seen:
            seen["duplicate"] = handlers.health.handler(event, context)  # the same envelope, meanwhile
        return real(ctx, report)

    monkeypatch.setattr(entrypoint, "finish", finish_after_a_duplicate_arrived)
    first = invoke("health", event)

    assert seen["duplicate"]["headline"].startswith("duplicate delivery") and seen["duplicate"]["actions"] == []
    assert first["incidentId"] == seen["duplicate"]["incidentId"]
    assert len(aws.notifications()) == 1


def test_lookup_of_an_instance_by_resource_name_is_answered_like_aws(aws):
    """Emulator: LookupEvents by ResourceName finds the RunInstances that created the instance."""
    actor = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    launched = actor.run_instances("eu-west-1", "t3.micro")
    events = aws.client("cloudtrail", "eu-west-1").lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": launched.instance_ids[0]}]
    )["Events"]
    assert [e["EventName"] for e in events] == ["RunInstances"]
    assert events[0]["Resources"] == [{"ResourceType": "AWS::EC2::Instance", "ResourceName": launched.instance_ids[0]}]
