"""One incident per compromise: later triggers join the open incident, the page budget, the swarm rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from responder.core.config import ConfigError, Settings
from responder.flows import left_running

from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, TEAM_KEY, health_event, load_event

ALLOWED = {"ALLOWED_REGIONS": "us-east-1,us-west-2,eu-west-1", "SWEEP_REGIONS": "us-east-1,us-west-2,eu-west-1"}
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
TOPIC = "arn:aws:sns:us-east-1:123456789012:team"


@pytest.fixture(autouse=True)
def no_grace(monkeypatch):
    """In one process nothing runs meanwhile: the "left running" grace only matters between processes."""
    monkeypatch.setattr(left_running, "GRACE_SECONDS", 0.0)


def incident_items(aws, incident_id: str) -> list[dict]:
    table = aws.tables["incidents"]
    resp = aws.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"incident#{incident_id}"}},
    )
    return resp["Items"]


def age_last_page(aws, key: str, minutes: int = 10) -> None:
    """Time passes: the incident's last page is ``minutes`` old."""
    old = (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    aws.client("dynamodb").update_item(
        TableName=aws.tables["incidents"],
        Key={"pk": {"S": f"credential#{key}"}, "sk": {"S": "claim"}},
        UpdateExpression="SET lastPageAt = :old",
        ExpressionAttributeValues={":old": {"S": old}},
    )


def test_guardduty_and_runbook_join_the_incident_health_opened(aws, invoke):
    aws.set_env(**ALLOWED)
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    opened = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}

    finding = invoke("guardduty", load_event("guardduty-iamuser-malicious-ip-caller.json"))
    runbook = invoke("runbook", {"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "reason": "leaked"})

    for joined in (finding, runbook):
        assert joined["incidentId"] == opened["incidentId"]
        assert joined["page"] == "none"
        assert not any(a["status"] == "done" for a in joined["actions"])  # nothing contained twice
        assert "joined open incident" in joined["headline"]
    assert len(aws.notifications()) == 1  # the opener's page only
    items = incident_items(aws, opened["incidentId"])
    triggers = [json.loads(i["summary"]["S"]) for i in items if i["sk"]["S"].startswith("trigger#")]
    assert sorted(t["trigger"] for t in triggers) == ["guardduty", "runbook"]


def test_launches_under_an_open_incident_are_stopped_without_paging_then_one_digest(aws, invoke):
    aws.set_env(**ALLOWED)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    opened = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))
    aws.notifications()

    first = attacker.run_instances("us-west-2", "g5.48xlarge")
    report = invoke("cloudtrail", first.event)
    assert report["incidentId"] == opened["incidentId"] and report["page"] == "none"
    assert aws.instance_states("us-west-2")[first.instance_ids[0]] == "terminated"
    assert len(aws.notifications()) == 1

    age_last_page(aws, LEAKED_KEY)  # five minutes later, triggers keep joining: one digest
    later = [attacker.run_instances(region, "g5.48xlarge") for region in ("eu-west-1", "us-east-1")]
    pages = [invoke("cloudtrail", launched.event)["page"] for launched in later]
    assert pages == ["digest", "none"]
    notes = aws.notifications()
    assert len(notes) == 2
    assert f"Digest: 2 more launches by {LEAKED_KEY} contained in 2 regions" in notes[-1].subject
    for launched in later:
        assert aws.instance_states(launched.region)[launched.instance_ids[0]] == "terminated"


def test_close_incident_frees_the_credential_for_a_new_incident(aws, invoke):
    aws.set_env(**ALLOWED)
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    first = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))
    invoke("runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "rotated"})

    second = invoke("health", health_event(datetime.now(UTC), event_id="9f1c8e1e-0000-4000-8000-000000000002"))

    assert second["incidentId"] != first["incidentId"]
    assert "joined" not in second["headline"]
    assert any(a["action"] == "deactivate-access-key" and a["status"] == "done" for a in second["actions"])


def test_swarm_in_three_new_regions_contains_the_key_at_the_third_launch(aws, invoke):
    aws.set_env(**ALLOWED)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    launched = [attacker.run_instances(region, "g5.48xlarge") for region in REGIONS]

    reports = [invoke("cloudtrail", launch.event) for launch in launched]

    assert [r["page"] for r in reports] == ["at once", "none", "at once"]  # notice, held, the swarm's page
    swarm = reports[2]
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert swarm["trigger"] == "cloudtrail" and swarm["severity"] == "critical"
    assert len(swarm["facts"]["evidence"]) == 3
    assert all(region in swarm["facts"]["swarmRule"] for region in REGIONS)
    for launch in launched:
        assert aws.instance_states(launch.region)[launch.instance_ids[0]] == "terminated"
    notes = aws.notifications()
    assert sum("left running" in n.subject for n in notes) == 1  # the first launch; the second was held
    assert "Swarm" in notes[-1].subject


def test_a_team_gpu_launches_in_two_regions_do_not_trigger_the_swarm_rule(aws, invoke):
    aws.set_env(**ALLOWED)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    launched = [team.run_instances(region, "p4d.24xlarge") for region in REGIONS[:2]]

    reports = [invoke("cloudtrail", launch.event) for launch in launched]

    assert aws.key_status("ml-team") == {TEAM_KEY: "Active"}
    assert {aws.instance_states(launch.region)[launch.instance_ids[0]] for launch in launched} == {"running"}
    assert [r["page"] for r in reports] == ["at once", "none"]  # one aggregated notice
    [note] = aws.notifications()
    assert "left running" in note.subject


def test_regions_the_principal_already_used_do_not_count(aws, invoke):
    aws.set_env(**ALLOWED)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    earlier = team.run_instances("us-east-1", "t3.micro", at=datetime.now(UTC) - timedelta(days=3))
    invoke("cloudtrail", earlier.event)
    launched = [team.run_instances(region, "p4d.24xlarge") for region in REGIONS]

    for launch in launched:
        invoke("cloudtrail", launch.event)

    assert aws.key_status("ml-team") == {TEAM_KEY: "Active"}  # two new regions only


@pytest.mark.parametrize("env", [{"SWARM_REGIONS": "0"}, {"PROTECTED_PRINCIPALS": "ci-deployer"}])
def test_swarm_rule_off_or_protected_principal_only_notifies(aws, invoke, env):
    aws.set_env(**ALLOWED, **env)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    launched = [attacker.run_instances(region, "g5.48xlarge") for region in REGIONS]

    reports = [invoke("cloudtrail", launch.event) for launch in launched]

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Active"}
    assert {aws.instance_states(launch.region)[launch.instance_ids[0]] for launch in launched} == {"running"}
    assert [r["page"] for r in reports] == ["at once", "none", "none"]
    assert len(aws.notifications()) == 1


def test_left_running_notice_counts_the_launches_since_the_last_one(aws, invoke):
    aws.set_env(**ALLOWED, SWARM_REGIONS="0")
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    for region in REGIONS[:2]:
        invoke("cloudtrail", team.run_instances(region, "g5.xlarge").event)
    aws.client("dynamodb").update_item(  # the notice window passes
        TableName=aws.tables["incidents"],
        Key={"pk": {"S": "notice#arn:aws:iam::123456789012:user/ml-team"}, "sk": {"S": "left-running"}},
        UpdateExpression="SET lastNoticeAt = :old",
        ExpressionAttributeValues={":old": {"S": "2000-01-01T00:00:00Z"}},
    )

    report = invoke("cloudtrail", team.run_instances(REGIONS[2], "g5.xlarge").event)

    assert report["page"] == "at once"
    assert report["headline"].startswith("2 launches left running: ml-team"), report.get("facts", {}).get(
        "leftRunning"
    )  # held one + this one
    assert len(aws.notifications()) == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [("SWARM_REGIONS", "three"), ("SWARM_REGIONS", "-1"), ("SWARM_REGIONS", "2.5"), ("SWARM_MINUTES", "0"),
     ("NOTIFY_DIGEST_MINUTES", "-5"), ("NOTIFY_DIGEST_MINUTES", "nan")],
)  # fmt: skip
def test_bad_settings_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"NOTIFY_TOPIC_ARN": TOPIC, name: value})


def test_settings_defaults():
    s = Settings.from_env({"NOTIFY_TOPIC_ARN": TOPIC})
    assert (s.swarm_regions, s.swarm_minutes, s.notify_digest_minutes) == (3, 15.0, 5.0)


def test_a_guardduty_finding_that_joins_adds_its_facts_to_the_same_security_hub_finding(aws, invoke):
    aws.set_env(**ALLOWED, SECURITY_HUB_FINDINGS="true")
    aws.client("securityhub").enable_security_hub()
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    opened = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    joined = invoke("guardduty", load_event("guardduty-iamuser-malicious-ip-caller.json"))

    [finding] = aws.findings().values()  # no second finding
    assert joined["securityHub"]["findingId"] == finding["Id"] == opened["securityHub"]["findingId"]
    fields = finding["ProductFields"]
    assert fields["compromise-responder/TriggersJoined"] == "1"
    assert "guardduty" in fields["compromise-responder/Joined/1"]
    assert "MaliciousIPCaller" in fields["compromise-responder/Joined/1"]
    assert fields["compromise-responder/Done/deactivate-access-key"] == "1"  # the incident's own steps stay
