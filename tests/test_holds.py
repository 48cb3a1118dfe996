"""Containment that holds: the managed quarantine, the check after PROPAGATION_SECONDS (the attacker's counter-moves
undone), AWS's own quarantine attachment as the earliest trigger, and the console-compromise Health code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from responder.actions.iam import QUARANTINE_POLICY_NAME
from responder.core.config import ConfigError, Settings

from compromise_responder.tools.emulator import clock
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, aws_quarantine_attached, health_event
from tests.report_truth import assert_truthful

USER = "ci-deployer"


def contained_user(aws):
    return aws.create_user(USER, key_id=LEAKED_KEY, last_used=("ec2", "us-east-1"))


def has_login_profile(aws, user: str) -> bool:
    try:
        aws.client("iam").get_login_profile(UserName=user)
        return True
    except aws.client("iam").exceptions.NoSuchEntityException:
        return False


def test_the_quarantine_is_the_stacks_managed_policy_attached_not_an_inline_one(aws, invoke):
    contained_user(aws)

    report = invoke("health", health_event(datetime.now(UTC)))

    assert aws.attached("user", USER) == {aws.quarantine_policy_arn}
    assert aws.client("iam").list_user_policies(UserName=USER)["PolicyNames"] == []
    [quarantine] = [a for a in report["actions"] if a["action"] == "quarantine-user"]
    assert quarantine["status"] == "done" and quarantine["policyArn"] == aws.quarantine_policy_arn
    assert report["facts"]["containmentCheck"] == "checked again: containment held"
    assert "attackerActedAfterContainment" not in report["facts"]


def test_every_counter_move_after_the_door_closes_is_undone_and_paged_as_critical(aws, invoke):
    attacker = contained_user(aws)
    iam = aws.client("iam")
    made: dict[str, str] = {}

    def counter_moves() -> None:  # right after the responder attached the quarantine: the door just closed
        iam.update_access_key(UserName=USER, AccessKeyId=LEAKED_KEY, Status="Active")
        iam.detach_user_policy(UserName=USER, PolicyArn=aws.quarantine_policy_arn)
        made["own key"], _ = attacker.create_access_key(USER)
        attacker.create_login_profile(USER)
        attacker.create_user("backup-admin")
        made["new user's key"], _ = attacker.create_access_key("backup-admin")

    aws.after_first("AttachUserPolicy", counter_moves)
    aws.set_env(PROPAGATION_SECONDS="1")

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(minutes=5)))

    assert aws.key_status(USER) == {LEAKED_KEY: "Inactive", made["own key"]: "Inactive"}
    assert aws.attached("user", USER) == {aws.quarantine_policy_arn}
    assert not has_login_profile(aws, USER)
    assert aws.attached("user", "backup-admin") == {aws.quarantine_policy_arn}  # the new user quarantined
    assert aws.key_status("backup-admin") == {made["new user's key"]: "Inactive"}  # deactivated, not deleted
    moves = "\n".join(report["facts"]["attackerActedAfterContainment"])
    for named in (
        f"access key {LEAKED_KEY} set Active again",
        "quarantine policy detached",
        made["own key"],
        "console password",
        "backup-admin",
        made["new user's key"],
    ):
        assert named in moves
    assert "NOT undone" not in moves
    [note] = aws.notifications()
    first_line = note.summary.splitlines()[0]
    assert first_line.startswith("CRITICAL: the attacker acted after containment")
    assert "backup-admin" in first_line and "quarantine policy detached" in first_line
    assert note.subject.startswith("[CRITICAL] the attacker acted after containment")
    assert_truthful(aws, report, [note])


def test_a_dry_run_plans_the_check_and_changes_nothing(aws, invoke):
    contained_user(aws)
    aws.set_env(RESPONSE_MODE="dry-run", PROPAGATION_SECONDS="30")
    before = aws.snapshot()

    report = invoke("health", health_event(datetime.now(UTC)))

    assert report["facts"]["containmentCheck"].startswith("planned: 30 s (PROPAGATION_SECONDS) after closing the door")
    assert aws.snapshot() == before
    assert {a["status"] for a in report["actions"]} == {"planned"}


@pytest.mark.parametrize("value", ["-1", "61", "soon", "nan"])
def test_propagation_seconds_outside_0_to_60_is_refused_by_name(value):
    env = {"NOTIFY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:team", "PROPAGATION_SECONDS": value}
    with pytest.raises(ConfigError, match="PROPAGATION_SECONDS"):
        Settings.from_env(env)


def test_release_detaches_the_managed_quarantine_and_still_removes_an_older_inline_one(aws, invoke):
    contained_user(aws)
    invoke("health", health_event(datetime.now(UTC)))
    deny_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    # an incident from before the managed policy left its inline quarantine
    aws.client("iam").put_user_policy(
        UserName=USER, PolicyName=QUARANTINE_POLICY_NAME, PolicyDocument=json.dumps(deny_all)
    )
    invoke("runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "rotated"})

    report = invoke("runbook", {"runbook": "release-principal", "userName": USER, "reason": "owner confirmed"})

    assert aws.attached("user", USER) == set() and aws.user_policies(USER) == {}
    [release] = [a for a in report["actions"] if a["action"] == "release-user"]
    assert release["status"] == "done"
    assert "detached" in release["detail"] and "inline policy" in release["detail"]
    assert aws.key_status(USER) == {LEAKED_KEY: "Inactive"}  # release touches the quarantine only


# --- the earliest trigger: AWS attaches its own quarantine policy -------------------------------------------
SECOND_KEY = "AKIAI44QH8DHBEXAMPLE"


@pytest.mark.parametrize(
    ("version", "caller"),
    [
        ("V3", {}),  # AWS itself
        ("V4", {"type": "IAMUser", "userName": "security-admin", "arn": "arn:aws:iam::123456789012:user/sec"}),
    ],
)
def test_aws_attaching_its_quarantine_contains_every_key_of_the_user_at_once(aws, invoke, version, caller):
    attacker = contained_user(aws)
    earlier = datetime.now(UTC) - timedelta(minutes=10)
    with clock(earlier):  # the user's second key, made long before: not a move after containment
        attacker.create_access_key(USER, key_id=SECOND_KEY, at=earlier)

    report = invoke("cloudtrail", aws_quarantine_attached(USER, version, **caller))

    assert aws.key_status(USER) == {LEAKED_KEY: "Inactive", SECOND_KEY: "Inactive"}  # every key, not deleted
    assert aws.attached("user", USER) == {aws.quarantine_policy_arn}
    assert set(report["regions"]) == set(aws.regions)  # the full containment: every region swept
    [note] = aws.notifications()
    assert "AWS found in public" in note.subject and "attacker acted after containment" not in note.summary
    assert f"AWSCompromisedKeyQuarantine{version}" in note.summary
    assert_truthful(aws, report, [note])


def test_another_policy_attached_is_only_recorded(aws, invoke):
    contained_user(aws)
    event = aws_quarantine_attached(USER)
    event["detail"]["requestParameters"]["policyArn"] = "arn:aws:iam::aws:policy/ReadOnlyAccess"

    report = invoke("cloudtrail", event)

    assert report["headline"].startswith("recorded AttachUserPolicy") and report["actions"] == []
    assert aws.key_status(USER) == {LEAKED_KEY: "Active"} and aws.attached("user", USER) == set()


def test_a_persistence_call_by_a_credential_under_an_open_incident_is_contained_at_once(aws, invoke):
    attacker = contained_user(aws)
    invoke("health", health_event(datetime.now(UTC)))
    seen = len(aws.notifications())

    created = attacker.create_user("shadow-admin")  # the key still works for a few seconds (IAM propagation)
    report = invoke("cloudtrail", created)

    assert aws.attached("user", "shadow-admin") == {aws.quarantine_policy_arn}
    assert report["severity"] == "critical"
    [action] = report["actions"]
    assert (action["action"], action["target"], action["status"]) == ("quarantine-user", "shadow-admin", "done")
    assert len(aws.notifications()) == seen + 1


# --- AWS Health: the console sign-in compromised --------------------------------------------------------------
def console_notice(entity: str) -> dict:
    event = health_event(datetime.now(UTC))
    event["detail"]["eventTypeCode"] = "AWS_RISK_ACCOUNT_CONSOLE_COMPROMISE"
    event["detail"]["eventArn"] = event["detail"]["eventArn"].replace(
        "AWS_RISK_CREDENTIALS_EXPOSED", "AWS_RISK_ACCOUNT_CONSOLE_COMPROMISE"
    )
    event["detail"]["eventDescription"][0]["latestDescription"] = "We believe the console sign-in was compromised."
    event["detail"]["affectedEntities"] = [{"entityValue": entity}]
    return event


@pytest.mark.parametrize("entity", ["arn:aws:iam::123456789012:user/ci-deployer", "ci-deployer"])
def test_a_compromised_console_user_is_quarantined_and_loses_its_password(aws, invoke, entity):
    user = contained_user(aws)
    user.create_login_profile(USER)

    report = invoke("health", console_notice(entity))

    assert aws.attached("user", USER) == {aws.quarantine_policy_arn}
    assert not has_login_profile(aws, USER)
    assert aws.key_status(USER) == {LEAKED_KEY: "Active"}  # a console notice: the keys are the team's call
    assert {a["action"]: a["status"] for a in report["actions"]} == {
        "quarantine-user": "done",
        "delete-login-profile": "done",
    }
    assert_truthful(aws, report, aws.notifications())


def test_a_compromised_root_console_is_critical_and_changes_nothing(aws, invoke):
    contained_user(aws)
    before = aws.snapshot()

    report = invoke("health", console_notice("arn:aws:iam::123456789012:root"))

    assert aws.snapshot() == before
    assert report["severity"] == "critical" and report["actions"] == []
    [note] = aws.notifications()
    assert note.subject.startswith("[CRITICAL]") and "ROOT" in note.subject
