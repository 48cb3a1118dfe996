"""Manual runbooks through the real runbook handler; strict input; the shipped sample events."""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from responder import runbooks
from responder.actions.isolation import QUARANTINE_GROUP_NAME
from responder.parse.events import BadInput

from compromise_responder.tools.emulator.scenarios import ALLOWED, LEAKED_KEY, spot_swarm
from tests.conftest import security_groups

EVENTS = Path(__file__).resolve().parent.parent / "events"
RUNBOOKS = runbooks.names()  # every registered runbook (responder.runbooks: one module each)
HANDLER_OF = {h: h for h in ("health", "guardduty", "cloudtrail", "runbook", "heartbeat")}


def run(invoke, **command):
    return invoke("runbook", command)


def test_contain_access_key_runbook_contains_everything(aws, invoke):
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1", "eu-west-1"), protected_region="eu-west-1")

    report = run(invoke, runbook="contain-access-key", accessKeyId=LEAKED_KEY, reason="found in a gist")

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    for region, ids in scene.attacker_instances.items():
        states = aws.instance_states(region)
        assert {states[i] for i in ids} == {"terminated"}, region
    assert report["trigger"] == "runbook" and report["facts"]["reason"] == "found in a gist"
    window = report["window"]
    assert datetime.fromisoformat(window["end"].replace("Z", "+00:00")) - datetime.fromisoformat(
        window["start"].replace("Z", "+00:00")
    ) == pytest.approx(timedelta(hours=72), abs=timedelta(seconds=2))


def test_dry_run_flag_wins_over_enforce_mode(aws, invoke):
    aws.set_env(ALLOWED_REGIONS=ALLOWED, RESPONSE_MODE="enforce")
    spot_swarm(aws, regions=("sa-east-1",))
    before = aws.snapshot()

    plan = run(invoke, runbook="contain-access-key", accessKeyId=LEAKED_KEY, dryRun=True)

    assert aws.snapshot() == before
    assert plan["mode"] == "dry-run"
    assert {a["status"] for a in plan["actions"]} == {"planned", "skipped"}
    assert any(a["action"] == "cancel-spot-request" for a in plan["actions"])


def test_sweep_regions_for_a_key_changes_no_iam(aws, invoke):
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1",))

    report = run(invoke, runbook="sweep-regions", accessKeyId=LEAKED_KEY, sinceHours=72)

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Active"}
    assert aws.user_policies("ci-deployer") == {}
    states = aws.instance_states("sa-east-1")
    assert {states[i] for i in scene.attacker_instances["sa-east-1"]} == {"terminated"}
    assert report["regions"]["sa-east-1"] == "contained"


def test_sweep_regions_without_a_key_uses_the_window_rule_alone(aws, invoke):
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1",))

    report = run(invoke, runbook="sweep-regions", sinceHours=6)

    states = {**aws.instance_states("sa-east-1"), **aws.instance_states("us-east-1")}
    assert {states[i] for i in scene.attacker_instances["sa-east-1"]} == {"terminated"}
    for ids in scene.legitimate.values():
        assert all(states.get(i, "running") == "running" for i in ids)
    assert all("inside the incident window" in a["reason"] for a in report["actions"] if a["status"] == "done")


def test_revoke_role_sessions_runbook(aws, invoke):
    aws.client("iam").create_role(RoleName="deploy-role", AssumeRolePolicyDocument="{}")

    report = run(invoke, runbook="revoke-role-sessions", roleName="deploy-role")

    [doc] = aws.role_policies("deploy-role").values()
    assert "aws:TokenIssueTime" in doc["Statement"][0]["Condition"]["DateLessThan"]
    assert report["actions"][0]["status"] == "done"


def test_isolate_then_release_restores_the_instance(aws, invoke):
    ec2 = aws.client("ec2", "eu-west-1")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    instance = ec2.run_instances(ImageId=aws.ami("eu-west-1"), MinCount=1, MaxCount=1, SecurityGroupIds=[web])[
        "Instances"
    ][0]["InstanceId"]

    def groups() -> set[str]:
        return security_groups(ec2, instance)

    isolated = run(invoke, runbook="isolate-instance", instanceId=instance, region="eu-west-1", reason="suspicious")
    [quarantine] = groups()
    assert (
        ec2.describe_security_groups(GroupIds=[quarantine])["SecurityGroups"][0]["GroupName"] == QUARANTINE_GROUP_NAME
    )
    assert "isolated (not terminated)" in isolated["headline"]

    released = run(invoke, runbook="release-instance", instanceId=instance, region="eu-west-1")
    assert groups() == {web}
    assert released["actions"][0]["status"] == "done"
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance]}])["Tags"]
    assert not [t for t in tags if t["Key"].startswith("compromise-responder:")]
    assert aws.instance_states("eu-west-1")[instance] == "running"


BAD_INPUTS = [
    ({"runbook": "nuke-everything"}, "runbook"),
    ({"accessKeyId": LEAKED_KEY}, "runbook"),
    ({"runbook": "contain-access-key"}, "accessKeyId"),
    ({"runbook": "contain-access-key", "accessKeyId": "AKIA-not-a-key"}, "accessKeyId"),
    ({"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "force": True}, "force"),
    ({"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "sinceHours": -3}, "sinceHours"),
    ({"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "dryRun": "maybe"}, "dryRun"),
    ({"runbook": "sweep-regions", "accessKeyId": 12345}, "accessKeyId"),
    ({"runbook": "isolate-instance", "instanceId": "i-0123456789abcdef0", "region": "moon-1"}, "region"),
    ({"runbook": "isolate-instance", "instanceId": "instance-1", "region": "eu-west-1"}, "instanceId"),
    ({"runbook": "isolate-instance", "instanceId": "i-0123456789abcdef0"}, "region"),
    ({"runbook": "revoke-role-sessions", "roleName": "has spaces"}, "roleName"),
    ({"runbook": "sweep-persistence"}, "userName"),
]


@pytest.mark.parametrize(("event", "field"), BAD_INPUTS, ids=[f"{e.get('runbook', 'none')}-{f}" for e, f in BAD_INPUTS])
def test_bad_input_names_the_field_and_changes_nothing(aws, invoke, event, field):
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    spot_swarm(aws, regions=("sa-east-1",))
    before = aws.snapshot()

    with pytest.raises(ValueError, match=f"'{field}'"):
        invoke("runbook", event)

    assert aws.snapshot() == before and aws.notifications() == []


def test_a_non_object_event_is_refused(invoke):
    with pytest.raises(BadInput, match="'event'"):
        invoke("runbook", ["contain-access-key"])


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_every_shipped_event_is_accepted_by_its_handler_in_dry_run(aws, invoke, path):
    aws.set_env(RESPONSE_MODE="dry-run", ALLOWED_REGIONS=ALLOWED)
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    if "organization" in path.name:  # organization mode only: an emulated organization with one member
        aws.organization(1)
        aws.set_env(MEMBER_ROLE_NAME="CompromiseResponderMember")
    before = aws.snapshot()
    handler = path.name.split("-", 1)[0]

    report = invoke(HANDLER_OF[handler], json.loads(path.read_text()))

    assert report["mode"] == "dry-run" and report["trigger"] == handler
    assert aws.snapshot() == before
    assert not [a for a in report["actions"] if a["status"] == "done"]


def test_every_runbook_has_a_shipped_sample():
    shipped = {json.loads(p.read_text())["runbook"] for p in EVENTS.glob("runbook-*.json")}
    assert shipped == set(RUNBOOKS)


# --- fuzzing: no input mutates anything unless it is a valid command in enforce mode --------
FIELDS = [
    "runbook",
    "accessKeyId",
    "dryRun",
    "reason",
    "sinceHours",
    "roleName",
    "instanceId",
    "region",
    "userName",
    "junk",
]
VALUES = st.one_of(
    st.sampled_from([*RUNBOOKS, "contain", "", LEAKED_KEY, "AKIAI44QH8DHBEXAMPLE", "ASIAIOSFODNN7EXAMPL", "deploy-role",
                     "i-0123456789abcdef0", "eu-west-1", "moon-1", "ci-deployer"]),
    st.none(), st.booleans(), st.integers(-5, 10_000), st.floats(allow_nan=True), st.text(max_size=30),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)  # fmt: skip
FUZZ_COUNT = {"runbook": 0}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.one_of(st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6), VALUES))
def test_fuzzed_runbook_events_never_mutate_unless_valid(fuzz_world, event):
    aws, invoke, before = fuzz_world
    FUZZ_COUNT["runbook"] += 1
    if isinstance(event, dict) and isinstance(event.get("runbook"), str) and event["runbook"] in RUNBOOKS:
        event = {**event, "dryRun": True} if isinstance(event.get("dryRun", True), bool) else event
    with contextlib.suppress(ValueError):
        invoke("runbook", event)
    assert aws.snapshot() == before


@pytest.fixture
def fuzz_world(aws, invoke):
    aws.set_env(ALLOWED_REGIONS=ALLOWED, RESPONSE_MODE="enforce")
    aws.regions = ("us-east-1", "sa-east-1")
    aws.set_env(SWEEP_REGIONS="us-east-1,sa-east-1")
    spot_swarm(aws, regions=("sa-east-1",), requests_per_region=1)
    return aws, invoke, aws.snapshot()


TRIGGER_SAMPLES = sorted(p for p in EVENTS.glob("*.json") if not p.name.startswith("runbook-"))


def _mutations():
    def drop(event, path):
        node = event
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                return event
        if isinstance(node, dict):
            node.pop(path[-1], None)
        return event

    paths = st.lists(st.sampled_from(["detail", "source", "detail-type", "id", "account", "time", "resource", "service",
                                      "severity", "type", "eventName", "userIdentity", "responseElements", "affectedEntities",
                                      "eventTypeCode", "instanceDetails", "accessKeyDetails"]), min_size=1, max_size=3)  # fmt: skip
    return st.tuples(st.sampled_from(TRIGGER_SAMPLES), st.lists(paths, max_size=3), VALUES).map(
        lambda t: (
            t[0],
            [lambda e, p=p: drop(e, ["detail", *p]) if p[0] != "detail" else drop(e, p) for p in t[1]],
            t[2],
        )
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_mutations())
def test_fuzzed_trigger_events_never_mutate_in_dry_run(fuzz_world, case):
    aws, invoke, before = fuzz_world
    aws.set_env(RESPONSE_MODE="dry-run")
    path, mutations, junk = case
    event = json.loads(path.read_text())
    event["id"] = str(uuid.uuid4())
    for mutate in mutations:
        event = mutate(event)
    if isinstance(event.get("detail"), dict) and junk is not None:
        event["detail"]["fuzz"] = junk
    with contextlib.suppress(ValueError):
        invoke(path.name.split("-", 1)[0], event)
    assert aws.snapshot() == before
    assert datetime.now(UTC)  # the world is intact; the count of fuzzed inputs is reported by the note
