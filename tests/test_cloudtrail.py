"""The launch watcher: CloudTrail calls from every region -> ledger, and instant containment."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from responder.core.table_keys import TABLES
from responder.parse.events import BadInput

from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, TEAM_KEY, health_event, load_event

ALLOWED = {"ALLOWED_REGIONS": "us-east-1,eu-west-1"}
HOUR = timedelta(hours=1)


def ledger_items(aws) -> list[dict]:
    return aws.client("dynamodb").scan(TableName=aws.tables["ledger"])["Items"]


def test_launch_outside_allowed_regions_is_contained_at_once(aws, invoke):
    aws.set_env(**ALLOWED)
    user = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    launched = user.run_instances("sa-east-1", "p3.16xlarge", 2, termination_protection=True)

    report = invoke("cloudtrail", launched.event)

    assert {aws.instance_states("sa-east-1")[i] for i in launched.instance_ids} == {"terminated"}
    assert report["regions"] == {"sa-east-1": "contained"}
    [note] = aws.notifications()
    assert "sa-east-1" in note.subject
    assert all("outside ALLOWED_REGIONS" in a["reason"] for a in report["actions"])


def test_spot_requests_outside_allowed_regions_are_cancelled_then_terminated(aws, invoke):
    aws.set_env(**ALLOWED)
    user = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    launched = user.request_spot_instances("sa-east-1", "g2.8xlarge", 3)

    report = invoke("cloudtrail", launched.event)

    assert not set(launched.ids) & set(aws.spot_request_states("sa-east-1"))
    assert {aws.instance_states("sa-east-1")[i] for i in launched.instance_ids} == {"terminated"}
    order = [a["action"] for a in report["actions"]]
    assert order == ["cancel-spot-request"] * 3 + ["terminate-instance"] * 3


def test_gpu_launch_in_an_allowed_region_by_a_normal_principal_keeps_running_and_notifies(aws, invoke):
    aws.set_env(**ALLOWED)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    launched = team.run_instances("us-east-1", "p3.2xlarge")

    report = invoke("cloudtrail", launched.event)

    assert aws.instance_states("us-east-1")[launched.instance_ids[0]] == "running"
    assert report["actions"] == []
    [note] = aws.notifications()
    assert "p3.2xlarge" in note.subject and "left running" in note.subject


def test_small_launch_in_an_allowed_region_is_recorded_silently(aws, invoke):
    aws.set_env(**ALLOWED)
    launched = aws.create_user("ml-team", key_id=TEAM_KEY).run_instances("eu-west-1", "t3.micro")

    invoke("cloudtrail", launched.event)

    assert aws.instance_states("eu-west-1")[launched.instance_ids[0]] == "running"
    assert aws.notifications() == []
    resource_items = [i for i in ledger_items(aws) if i["pk"]["S"] == f"resource#{launched.instance_ids[0]}"]
    assert resource_items[0]["accessKeyId"]["S"] == TEAM_KEY


def test_protected_principal_and_protect_tag_are_honoured(aws, invoke):
    aws.set_env(**ALLOWED, PROTECTED_PRINCIPALS="break-glass-admin")
    admin = aws.create_user("break-glass-admin", key_id="AKIABREAKGLASEXAMPLE")
    by_admin = admin.run_instances("sa-east-1", "c5.xlarge")
    tagged = aws.create_user("ml-team", key_id=TEAM_KEY).run_instances(
        "sa-east-1", "c5.xlarge", tags={"compromise-responder:protect": "true"}
    )

    invoke("cloudtrail", by_admin.event)
    report = invoke("cloudtrail", tagged.event)

    states = aws.instance_states("sa-east-1")
    assert states[by_admin.instance_ids[0]] == states[tagged.instance_ids[0]] == "running"
    assert [a["status"] for a in report["actions"]] == ["skipped"]
    assert "protect tag" in report["actions"][0]["reason"]
    first, _second = aws.notifications()
    assert "break-glass-admin" in first.subject and "left running" in first.subject


def test_failed_call_is_recorded_and_nothing_else(aws, invoke):
    aws.set_env(**ALLOWED)
    before = aws.snapshot()

    report = invoke("cloudtrail", load_event("cloudtrail-runinstances-denied.json"))

    assert aws.snapshot() == before
    assert aws.notifications() == []
    assert report["actions"] == []
    [item] = ledger_items(aws)
    assert item["kind"]["S"] == "attempt" and item["errorCode"]["S"] == "Client.UnauthorizedOperation"


def test_persistence_call_is_recorded_with_its_creator(aws, invoke):
    report = invoke("cloudtrail", load_event("cloudtrail-createaccesskey.json"))

    [item] = ledger_items(aws)
    assert item["kind"]["S"] == "persistence"
    assert item["creatorArn"]["S"] == "arn:aws:iam::123456789012:user/ci-deployer"
    assert item["resources"]["L"][0]["M"]["id"]["S"] == "AKIAI44QH8DHBEXAMPLE"
    assert report["actions"] == [] and aws.notifications() == []


def test_ledger_attribution_chain_terminates_small_instances_of_the_leaked_key(aws, invoke):
    """Launches recorded by the watcher; then the exposure notice. LookupEvents is unavailable, so
    only the ledger can tell the attacker's t3.micro from the team's identical one."""
    aws.set_env(**ALLOWED)
    now = datetime.now(UTC)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    theirs = attacker.run_instances("us-east-1", "t3.micro", 2, at=now - 2 * HOUR)
    ours = team.run_instances("us-east-1", "t3.micro", 1, at=now - 2 * HOUR)
    for launched in (theirs, ours):
        invoke("cloudtrail", launched.event)
    assert aws.notifications() == []  # small types in an allowed region: recorded only
    aws.trail.denied_regions = set(aws.regions)

    report = invoke("health", health_event(now - HOUR))

    states = aws.instance_states("us-east-1")
    assert [states[i] for i in theirs.instance_ids] == ["terminated", "terminated"]
    assert states[ours.instance_ids[0]] == "running"
    terminated = [a for a in report["actions"] if a["action"] == "terminate-instance" and a["status"] == "done"]
    assert {a["source"] for a in terminated} == {"ledger"}
    assert report["attribution"]["us-east-1"] == "ledger"


def test_launch_by_a_credential_under_an_open_incident_is_contained_even_when_tagged(aws, invoke):
    aws.set_env(**ALLOWED)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    invoke("health", health_event(datetime.now(UTC)))  # opens the incident for the key
    later = attacker.run_instances("us-east-1", "t3.micro", tags={"compromise-responder:protect": "true"})

    report = invoke("cloudtrail", later.event)

    assert aws.instance_states("us-east-1")[later.instance_ids[0]] == "terminated"
    assert report["severity"] == "critical"
    [action] = [a for a in report["actions"] if a["action"] == "terminate-instance"]
    assert "open incident" in action["reason"] and "protect tag overridden" in action["reason"]


def test_spot_fleet_ec2_fleet_and_asg_launches_are_stopped(aws, invoke):
    aws.set_env(**ALLOWED)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    fleet = attacker.request_spot_fleet("sa-east-1", "p3.2xlarge", 2)
    ec2_fleet = attacker.create_fleet("sa-east-1", "g4dn.xlarge", 2)
    group = attacker.create_auto_scaling_group("sa-east-1", "miner", "g4dn.xlarge", 2)

    reports = [invoke("cloudtrail", launched.event) for launched in (fleet, ec2_fleet, group)]

    ec2 = aws.client("ec2", "sa-east-1")
    assert ec2.describe_spot_fleet_requests(SpotFleetRequestIds=fleet.ids)["SpotFleetRequestConfigs"][0][
        "SpotFleetRequestState"
    ].startswith("cancelled")
    assert ec2.describe_fleets(FleetIds=ec2_fleet.ids)["Fleets"][0]["FleetState"].startswith("deleted")
    asg = aws.client("autoscaling", "sa-east-1").describe_auto_scaling_groups(AutoScalingGroupNames=["miner"])
    assert asg["AutoScalingGroups"][0]["MaxSize"] == 0
    states = aws.instance_states("sa-east-1")
    for launched in (fleet, ec2_fleet):
        assert {states[i] for i in launched.instance_ids} == {"terminated"}
    assert next(a["action"] for a in reports[0]["actions"]) == "cancel-spot-fleet"
    assert next(a["action"] for a in reports[1]["actions"]) == "delete-ec2-fleet"
    assert next(a["action"] for a in reports[2]["actions"]) == "scale-asg-to-zero"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e["detail"].update(responseElements=None), "detail.responseElements"),
        (lambda e: e["detail"]["responseElements"].pop("instancesSet"), "detail.responseElements.instancesSet.items"),
        (lambda e: e["detail"].pop("userIdentity"), "detail.userIdentity"),
        (lambda e: e.update({"detail-type": "AWS Console Sign In via CloudTrail"}), "detail-type"),
    ],
)
def test_malformed_launch_event_names_the_field_and_changes_nothing(aws, invoke, mutate, field):
    aws.set_env(**ALLOWED)
    event = load_event("cloudtrail-runinstances.json")
    mutate(event)
    before = aws.snapshot()

    with pytest.raises(BadInput, match=f"'{field}'"):
        invoke("cloudtrail", event)

    assert aws.snapshot() == before and ledger_items(aws) == [] and aws.notifications() == []


def test_unknown_or_read_only_calls_are_ignored(aws, invoke):
    event = load_event("cloudtrail-runinstances.json")
    event["detail"].update(eventName="DescribeInstances", readOnly=True, requestParameters={}, responseElements=None)
    before = aws.snapshot()

    report = invoke("cloudtrail", event)

    assert report["headline"].startswith("ignored DescribeInstances")
    assert aws.snapshot() == before and ledger_items(aws) == [] and aws.notifications() == []


def test_sample_events_parse_and_record(aws, invoke):
    aws.set_env(ALLOWED_REGIONS="")  # every region allowed: the samples are recorded, p3 launches notified
    for n, name in enumerate(("cloudtrail-runinstances.json", "cloudtrail-requestspotinstances.json")):
        event = load_event(name)  # the two samples share their ids: make them two deliveries of two calls
        event["id"], event["detail"]["eventID"] = f"{n}{event['id'][1:]}", f"{n}{event['detail']['eventID'][1:]}"
        invoke("cloudtrail", event)
    kinds = sorted(i["kind"]["S"] for i in ledger_items(aws) if i["pk"]["S"].startswith("key#"))
    assert kinds == ["launch", "launch"]
    # 2 instances + 2 spot requests, one resource item each
    assert sum(1 for i in ledger_items(aws) if i["pk"]["S"].startswith("resource#")) == 4


def test_ledger_item_stays_far_below_the_dynamodb_limit(aws, invoke):
    aws.set_env(ALLOWED_REGIONS="")
    invoke("cloudtrail", load_event("cloudtrail-runinstances.json"))
    item = next(i for i in ledger_items(aws) if i["pk"]["S"].startswith("key#"))
    size = len(json.dumps(item))
    assert size < 2_000  # a 1,000-instance RunInstances stays under 400 KB too (~25 bytes per id)
    assert TABLES["ledger"]["ttl"] == "expiresAt" and "expiresAt" in item
