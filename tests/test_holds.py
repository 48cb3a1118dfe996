"""Containment that holds: the managed quarantine, the check after PROPAGATION_SECONDS (the attacker's counter-moves
undone), AWS's own quarantine attachment as the earliest trigger, and the console-compromise Health code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from responder.actions.iam import QUARANTINE_POLICY_NAME
from responder.config import ConfigError, Settings

from tests.report_truth import assert_truthful
from tools.emulator.scenarios import LEAKED_KEY, health_event

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
