"""Incident 1 replayed through the real health handler against emulated AWS; AWS state asserted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from responder.actions.iam import QUARANTINE_POLICY_NAME
from responder.parse.events import BadInput
from responder.shell.entrypoint import IncompleteResponse

from compromise_responder.tools.emulator import EmulatedAws
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, health_event, load_event, spot_swarm

ALLOWED = {"ALLOWED_REGIONS": "us-east-1,eu-west-1"}


def all_states(aws: EmulatedAws) -> dict[str, str]:
    states: dict[str, str] = {}
    for region in aws.regions:
        states.update(aws.instance_states(region))
    return states


def assert_contained(aws: EmulatedAws, scene) -> None:
    states = all_states(aws)
    for region, ids in scene.attacker_instances.items():
        assert {states[i] for i in ids} == {"terminated"}, region
    for region, ids in scene.attacker_requests.items():
        assert not set(ids) & set(aws.spot_request_states(region)), f"spot requests still open in {region}"
    for ids in scene.legitimate.values():
        assert {states[i] for i in ids} == {"running"}, [scene.labels[i] for i in ids if states[i] != "running"]


def test_leaked_key_spot_swarm_is_contained(aws, invoke):
    aws.set_env(**ALLOWED)
    scene = spot_swarm(aws, protected_region="sa-east-1")
    for region, ids in scene.attacker_requests.items():
        assert set(ids) <= set(aws.spot_request_states(region))  # open before

    report = invoke("health", scene.health_event())

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}  # deactivated, not deleted
    quarantine = aws.user_policies("ci-deployer")[QUARANTINE_POLICY_NAME]
    assert quarantine["Statement"] == [
        {"Sid": "CompromiseResponderQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}
    ]
    assert aws.key_status("ml-team") == {"AKIAI44QH8DHBEXAMPLE": "Active"}
    assert_contained(aws, scene)

    assert report["principal"] == {
        "type": "IAMUser",
        "name": "ci-deployer",
        "accessKeyId": LEAKED_KEY,
        "arn": "arn:aws:iam::123456789012:user/ci-deployer",
    }
    assert report["regions"] == {r: "contained" for r in scene.attacker_requests} | {"us-east-1": "clean"}
    assert report["estimatedHourlyCostStopped"] == pytest.approx(8 * 2.60 + 2 * 24.48)
    skipped = {a["target"]: a["reason"] for a in report["actions"] if a["status"] == "skipped"}
    assert set(skipped) == {i for ids in scene.legitimate.values() for i in ids}
    protected = next(i for i, label in scene.labels.items() if label == "protect-tagged GPU box")
    assert "protect tag" in skipped[protected]
    order = [a["action"] for a in report["actions"] if a["region"] == "sa-east-1" and a["status"] == "done"]
    assert (
        order.index("cancel-spot-request")
        < order.index("disable-termination-protection")
        < order.index("terminate-instance")
    )

    [note] = aws.notifications()
    assert len(note.subject) <= 100 and LEAKED_KEY in note.subject
    assert "ci-deployer" in note.summary and "Rotate" in note.summary
    assert note.report["incidentId"] == report["incidentId"]
    assert note.body.rstrip().endswith("}")  # the JSON report is the last part

    incidents = aws.client("dynamodb").scan(TableName=aws.tables["incidents"])["Items"]
    pointers = {i["pk"]["S"]: i["status"]["S"] for i in incidents if "status" in i}
    assert pointers[f"credential#{LEAKED_KEY}"] == "open"
    assert pointers[f"incident#{report['incidentId']}"] == "open"


def test_dry_run_changes_nothing_and_returns_the_same_plan(aws, invoke):
    aws.set_env(**ALLOWED, RESPONSE_MODE="dry-run")
    scene = spot_swarm(aws, protected_region="sa-east-1")
    before = aws.snapshot()

    plan = invoke("health", scene.health_event(event_id="11111111-1111-4111-8111-111111111111"))

    assert aws.snapshot() == before
    assert plan["mode"] == "dry-run"
    assert {a["status"] for a in plan["actions"]} == {"planned", "skipped"}
    [note] = aws.notifications()
    assert note.subject.startswith("[DRY-RUN]") and "NOTHING WAS CHANGED" in note.summary
    incident = aws.client("dynamodb").get_item(
        TableName=aws.tables["incidents"], Key={"pk": {"S": f"incident#{plan['incidentId']}"}, "sk": {"S": "incident"}}
    )["Item"]
    assert incident["status"]["S"] == "planned"

    aws.set_env(RESPONSE_MODE="enforce")
    done = invoke("health", scene.health_event(event_id="22222222-2222-4222-8222-222222222222"))
    as_planned = {(a["action"], a["target"], a["status"]) for a in plan["actions"]}
    as_done = {(a["action"], a["target"], "planned" if a["status"] == "done" else a["status"]) for a in done["actions"]}
    assert as_planned == as_done
    assert plan["estimatedHourlyCostStopped"] == done["estimatedHourlyCostStopped"] > 0
    assert_contained(aws, scene)


def test_window_rule_when_cloudtrail_attribution_is_unavailable(aws, invoke):
    """LookupEvents denied everywhere and no ledger: rule 2 decides (suspicious type or region)."""
    aws.set_env(**ALLOWED)
    scene = spot_swarm(aws, protected_region="sa-east-1")
    aws.trail.denied_regions = set(aws.regions)

    report = invoke("health", scene.health_event())

    assert_contained(aws, scene)  # the small legit instances survive: not suspicious, allowed region
    reasons = [a["reason"] for a in report["actions"] if a["action"] == "cancel-spot-request"]
    assert reasons and all("no attribution available" in r and "LookupEvents unavailable" in r for r in reasons)
    # termination protection was unknown to the planner: AWS refused, the executor turned it off and retried
    details = [
        a.get("detail")
        for a in report["actions"]
        if a["region"] == "sa-east-1" and a.get("instanceType") == "p3.16xlarge"
    ]
    assert details == ["termination protection turned off first"] * 2


def test_one_failing_region_does_not_stop_the_others_and_the_retry_completes(aws, invoke):
    aws.set_env(**ALLOWED)
    scene = spot_swarm(aws, protected_region="sa-east-1")  # the world's three regions: home clean, two attacked
    aws.faults.fail(region="eu-west-1", services=["ec2"], code="UnauthorizedOperation")
    event = scene.health_event()

    with pytest.raises(IncompleteResponse, match="eu-west-1"):
        invoke("health", event)
    aws.faults.clear()  # the region recovers; the test reads the state

    states = all_states(aws)
    assert {states[i] for i in scene.attacker_instances["sa-east-1"]} == {"terminated"}
    assert {states[i] for i in scene.attacker_instances["eu-west-1"]} == {"running"}
    [note] = aws.notifications()
    assert note.report["regions"]["eu-west-1"] == "failed"
    assert note.report["regions"]["sa-east-1"] == "contained" and note.report["regions"]["us-east-1"] == "clean"
    assert "region eu-west-1: UnauthorizedOperation" in note.summary
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}

    # the platform retries the same event: it must complete, not double-act
    report = invoke("health", event)
    assert report["regions"]["eu-west-1"] == "contained"
    assert report["regions"]["sa-east-1"] == "contained"  # by the first attempt: the report covers the incident
    first = [a for a in report["actions"] if a["region"] == "sa-east-1" and a["status"] == "done"]
    assert first and all(a["detail"].startswith("attempt 1") for a in first)
    assert report["attempt"] == 2 and report["earlierAttempts"][0]["attempt"] == 1
    assert_contained(aws, scene)
    assert len(aws.notifications()) == 2


def test_throttled_region_is_retried_and_contained(aws, invoke):
    aws.set_env(**ALLOWED, AWS_MAX_ATTEMPTS="6")
    scene = spot_swarm(aws, regions=("sa-east-1", "eu-west-1"))
    aws.faults.fail(
        region="sa-east-1",
        services=["ec2"],
        code="RequestLimitExceeded",
        message="Request limit exceeded.",
        status=503,
        every=2,
    )

    report = invoke("health", scene.health_event())

    assert aws.faults.injected, "the fault was never injected"
    assert report["regions"]["sa-east-1"] == "contained"
    assert_contained(aws, scene)


def test_duplicate_delivery_acts_once(aws, invoke):
    aws.set_env(**ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1",))
    event = scene.health_event()

    first = invoke("health", event)
    second = invoke("health", event)

    assert second == first
    # the idempotency record, and the reads started beside it (entrypoint.read_ahead): nothing changed
    assert aws.recorder.actions() <= {
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "iam:GetAccessKeyLastUsed",
    }
    assert len(aws.notifications()) == 1


def test_metadata_variant_notice_is_contained(aws, invoke):
    aws.set_env(**ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1",))
    event = load_event("health-credentials-exposed-metadata-variant.json")
    event["detail"]["startTime"] = scene.health_event()["detail"]["startTime"]

    report = invoke("health", event)

    assert report["principal"]["accessKeyId"] == LEAKED_KEY
    assert_contained(aws, scene)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e["detail"].update(affectedEntities=[], eventDescription=[]), "detail.affectedEntities"),
        (
            lambda e: (
                e["detail"]["affectedEntities"][0].update(entityValue="not-a-key"),
                e["detail"]["eventDescription"][0].update(latestDescription="An access key was exposed."),
            ),
            "detail.affectedEntities",
        ),
        (lambda e: e["detail"].update(eventTypeCode="AWS_EC2_OPERATIONAL_ISSUE"), "detail.eventTypeCode"),
        (lambda e: e.pop("detail"), "detail"),
        (lambda e: e["detail"].pop("eventArn"), "detail.eventArn"),
        (lambda e: e.update(source="aws.ec2"), "source"),
        (lambda e: e["detail"].update(startTime="yesterday-ish"), "detail.startTime"),
    ],
)
def test_malformed_notice_names_the_field_and_changes_nothing(aws, invoke, mutate, field):
    aws.set_env(**ALLOWED)
    spot_swarm(aws, regions=("sa-east-1",))
    before = aws.snapshot()
    event = health_event(datetime.now(UTC))
    mutate(event)

    with pytest.raises(BadInput) as raised:
        invoke("health", event)

    assert isinstance(raised.value, ValueError)
    assert f"'{field}'" in str(raised.value)
    assert aws.snapshot() == before
    assert aws.notifications() == []


def test_unknown_key_notifies_and_changes_nothing(aws, invoke):
    spot_swarm(aws, regions=("sa-east-1",))
    before = aws.snapshot()

    report = invoke("health", health_event(datetime.now(UTC), key="AKIAJ7EXAMPLEKEY0000"))

    assert report["principal"] is None
    assert aws.snapshot() == before
    [note] = aws.notifications()
    assert "not in this account" in note.subject


def test_root_key_is_escalated_and_regions_still_swept(aws, invoke):
    """moto cannot make root keys: the emulator answers GetAccessKeyLastUsed as IAM does for one."""
    root = aws.actor(aws.create_user("placeholder").identity.__class__("Root", "root", "AKIAJROOTKEY0EXAMPLE"))
    aws.root_keys.keys.add(root.key)
    launched = root.request_spot_instances("sa-east-1", "g2.8xlarge", 3, at=datetime.now(UTC) - timedelta(hours=2))

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1), key=root.key))

    assert report["severity"] == "critical" and report["principal"]["type"] == "Root"
    assert not any(a.startswith("iam:UpdateAccessKey") for a in aws.recorder.actions())
    assert {aws.instance_states("sa-east-1")[i] for i in launched.instance_ids} == {"terminated"}
    [note] = aws.notifications()
    assert note.subject.startswith("[CRITICAL]") and "ROOT KEY" in note.summary


def test_key_of_a_protected_principal_is_not_touched(aws, invoke):
    aws.set_env(**ALLOWED, PROTECTED_PRINCIPALS="break-glass,ci-deployer")
    scene = spot_swarm(aws, regions=("sa-east-1",))
    before = aws.snapshot()

    report = invoke("health", scene.health_event())

    assert aws.snapshot() == before
    assert report["severity"] == "critical"
    [note] = aws.notifications()
    assert "PROTECTED" in note.subject


def test_report_is_json_serialisable_and_names_every_region(aws, invoke):
    aws.set_env(**ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1",))
    report = invoke("health", scene.health_event())
    assert json.loads(json.dumps(report)) == report
    assert set(report["regions"]) == set(aws.regions)
    assert all(a["reason"] for a in report["actions"])


def test_every_enabled_region_of_the_partition_is_swept(aws, invoke):
    """No SWEEP_REGIONS: the enabled regions come from DescribeRegions, limited to the home partition
    (moto lists China and GovCloud too)."""
    aws.set_env(SWEEP_REGIONS="", **ALLOWED)
    scene = spot_swarm(aws, regions=("ap-southeast-2",))

    report = invoke("health", scene.health_event())

    assert "ec2:DescribeRegions" in aws.recorder.actions()
    assert len(report["regions"]) >= 17 and report["regions"]["ap-southeast-2"] == "contained"
    assert not [r for r in report["regions"] if r.startswith(("cn-", "us-gov-"))]
    states = aws.instance_states("ap-southeast-2")
    assert {states[i] for i in scene.attacker_instances["ap-southeast-2"]} == {"terminated"}


def test_a_report_too_big_for_a_dynamodb_item_is_stored_compact(aws, invoke, monkeypatch):
    """1,000+ instances make a report larger than a 400 KB DynamoDB item: the idempotency record keeps
    a compact form (found by the benchmark), so a redelivery still acts once."""
    from responder.shell import entrypoint

    monkeypatch.setattr(entrypoint, "IDEMPOTENCY_RECORD_BYTES", 3_000)
    aws.set_env(**ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1", "eu-west-1"))
    event = scene.health_event()

    first = invoke("health", event)
    again = invoke("health", event)

    assert len(first["actions"]) > len(again["actions"]) and again["actionsOmitted"] > 0
    assert again["incidentId"] == first["incidentId"] and again["regions"] == first["regions"]
    assert aws.recorder.actions() <= {
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "iam:GetAccessKeyLastUsed",
    }
    assert len(aws.notifications()) == 1
