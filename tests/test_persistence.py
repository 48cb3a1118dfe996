"""Persistence sweep (incident 2, Code Spaces): what the attacker created to come back is
neutralised without deleting anything, and listed for the team."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.stub import ANY, Stubber
from responder.actions.iam import QUARANTINE_POLICY_NAME
from responder.aws import default_clients
from responder.parse.events import BadInput

from compromise_responder.tools.emulator import EmulatedAws
from compromise_responder.tools.emulator.cloudtrail import envelope
from compromise_responder.tools.emulator.scenarios import (
    ADMIN_POLICY,
    BACKDOOR_KEY,
    LEAKED_KEY,
    code_spaces,
    load_event,
)


@pytest.fixture
def aws():
    """The Code Spaces scene attaches the AWS managed AdministratorAccess policy: load AWS's managed policies."""
    with EmulatedAws(iam_managed_policies=True) as emulated:
        yield emulated


def login_profile(aws, user: str) -> bool:
    try:
        aws.client("iam").get_login_profile(UserName=user)
        return True
    except aws.client("iam").exceptions.NoSuchEntityException:
        return False


def record_through_the_watcher(invoke, scene) -> None:
    for event in scene.events:
        invoke("cloudtrail", event)


def assert_backdoors_closed(aws, scene) -> None:
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert aws.key_status("support-sync") == {BACKDOOR_KEY: "Inactive"}  # deactivated, not deleted
    assert QUARANTINE_POLICY_NAME in aws.user_policies("support-sync")
    assert QUARANTINE_POLICY_NAME in aws.role_policies("ops-automation")
    assert not login_profile(aws, "support-sync")
    users = {u["UserName"] for u in aws.client("iam").list_users()["Users"]}
    assert {"support-sync", "ci-deployer", *scene.admins} <= users  # nobody deleted
    for admin in scene.admins:  # the real admins are untouched
        assert login_profile(aws, admin) and aws.user_policies(admin) == {}
        attached = aws.client("iam").list_attached_user_policies(UserName=admin)["AttachedPolicies"]
        assert [p["PolicyArn"] for p in attached] == [ADMIN_POLICY]


def test_backdoors_recorded_by_the_watcher_are_neutralised(aws, invoke):
    scene = code_spaces(aws)
    record_through_the_watcher(invoke, scene)
    aws.trail.denied_regions = set(aws.regions)  # the ledger alone must find them

    report = invoke("health", scene.health_event())

    assert_backdoors_closed(aws, scene)
    findings = {(f["kind"], f["target"]): f for f in report["persistence"]}
    assert set(findings) == {
        ("iam-user", "support-sync"),
        ("access-key", BACKDOOR_KEY),
        ("login-profile", "support-sync"),
        ("policy", f"user/support-sync:{ADMIN_POLICY}"),
        ("iam-role", "ops-automation"),
        ("key-pair", "recovery"),
    }
    for finding in findings.values():
        assert finding["creator"] == "arn:aws:iam::123456789012:user/ci-deployer"
        assert finding["source"] == "ledger" and finding["eventId"] and finding["time"]
    assert findings[("access-key", BACKDOOR_KEY)]["response"] == "deactivate-access-key: done"
    assert findings[("key-pair", "recovery")]["response"] == "review-persistence: skipped"
    [note] = aws.notifications()
    assert "PERSISTENCE FOUND (6)" in note.summary
    for target in ("support-sync", BACKDOOR_KEY, "ops-automation", "recovery", "AdministratorAccess"):
        assert target in note.summary
    stored = aws.client("dynamodb").get_item(
        TableName=aws.tables["incidents"],
        Key={"pk": {"S": f"incident#{report['incidentId']}"}, "sk": {"S": "findings"}},
    )
    assert "support-sync" in stored["Item"]["findings"]["S"]  # recorded before the login profile was removed


def test_lookup_events_fallback_when_the_watcher_saw_nothing(aws, invoke):
    """moto has no LookupEvents: botocore's Stubber answers with the realistic records instead."""
    scene = code_spaces(aws)
    aws.set_env(SWEEP_REGIONS="sa-east-1")  # us-east-1's CloudTrail client then serves the persistence sweep only
    trail = default_clients().get("cloudtrail", "us-east-1")
    iam_records = [e["detail"] for e in scene.events if e["detail"]["eventSource"] == "iam.amazonaws.com"]
    events = [
        {"EventId": d["eventID"], "EventName": d["eventName"], "EventTime": datetime.now(UTC), "Username": "ci-deployer",
         "CloudTrailEvent": json.dumps(d)}
        for d in iam_records
    ]  # fmt: skip
    with Stubber(trail) as stub:
        stub.add_response(
            "lookup_events",
            {"Events": events},
            {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "ci-deployer"}], "StartTime": ANY,
             "EndTime": ANY},
        )  # fmt: skip
        report = invoke("health", scene.health_event())
        stub.assert_no_pending_responses()

    assert_backdoors_closed(aws, scene)
    assert {f["source"] for f in report["persistence"]} == {"cloudtrail"}
    assert len(report["persistence"]) == 5  # IAM only: the eu-west-1 key pair is not in us-east-1's trail


def test_sweep_persistence_runbook(aws, invoke):
    scene = code_spaces(aws)
    record_through_the_watcher(invoke, scene)

    plan = invoke("runbook", {"runbook": "sweep-persistence", "userName": "ci-deployer", "dryRun": True})
    assert aws.key_status("support-sync") == {BACKDOOR_KEY: "Active"} and login_profile(aws, "support-sync")
    assert {a["status"] for a in plan["actions"]} == {"planned", "skipped"}

    report = invoke("runbook", {"runbook": "sweep-persistence", "accessKeyId": LEAKED_KEY})
    assert aws.key_status("support-sync") == {BACKDOOR_KEY: "Inactive"}
    assert not login_profile(aws, "support-sync")
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Active"}  # the runbook only sweeps persistence
    assert "6 found" in report["headline"]


def test_protected_principals_are_never_touched(aws, invoke):
    scene = code_spaces(aws)
    aws.set_env(PROTECTED_PRINCIPALS="support-sync")
    record_through_the_watcher(invoke, scene)

    report = invoke("health", scene.health_event())

    assert aws.key_status("support-sync") == {BACKDOOR_KEY: "Active"}
    assert login_profile(aws, "support-sync") and aws.user_policies("support-sync") == {}
    skipped = [a for a in report["actions"] if a["target"] in ("support-sync", BACKDOOR_KEY)]
    assert skipped and all(a["status"] == "skipped" and "protected principal" in a["reason"] for a in skipped)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(responseElements=None), "detail.responseElements.accessKey.accessKeyId"),
        (lambda d: d["requestParameters"].pop("userName"), None),  # a key for the caller itself: valid
    ],
)
def test_malformed_persistence_events_change_nothing(aws, invoke, mutate, field):
    event = load_event("cloudtrail-createaccesskey.json")
    mutate(event["detail"])
    before = aws.snapshot()
    if field:
        with pytest.raises(BadInput, match=f"'{field}'"):
            invoke("cloudtrail", event)
    else:
        invoke("cloudtrail", envelope(event["detail"]))
    assert aws.snapshot() == before and aws.notifications() == []


def test_what_an_open_incident_quarantined_is_not_released_until_the_incident_is_closed(aws, invoke):
    """The backdoor user and role the incident quarantined are under it: release-principal refuses them,
    naming 'force', while it is open; after close-incident it removes the quarantine policy and nothing else."""
    scene = code_spaces(aws)
    record_through_the_watcher(invoke, scene)
    report = invoke("health", scene.health_event())
    assert QUARANTINE_POLICY_NAME in aws.role_policies("ops-automation")

    for principal in ({"roleName": "ops-automation"}, {"userName": "support-sync"}):
        with pytest.raises(BadInput, match=f"'force'.*open incident {report['incidentId']}"):
            invoke("runbook", {"runbook": "release-principal", "reason": "reviewed", **principal})

    invoke("runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "backdoors reviewed"})
    released = invoke("runbook", {"runbook": "release-principal", "roleName": "ops-automation", "reason": "reviewed"})

    assert aws.role_policies("ops-automation") == {}
    assert released["actions"][0]["status"] == "done" and released["incidentId"] == report["incidentId"]
    assert aws.key_status("support-sync") == {BACKDOOR_KEY: "Inactive"}  # nothing else is opened again
    assert QUARANTINE_POLICY_NAME in aws.user_policies("support-sync")
