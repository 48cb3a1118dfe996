"""Organization mode: one hub, member accounts acted in through the member role (contract: "Organization mode").

An emulated organization: the hub is the management account (123456789012) and five member accounts; moto
keeps one state per account and lets the hub assume any role (``aws.assume_denied`` plays a member whose
role is missing). Every assertion reads the member's own state through its own credentials.
"""

from __future__ import annotations

import json
import uuid

import pytest
from responder.actions.iam import QUARANTINE_POLICY_NAME
from responder.entrypoint import IncompleteResponse
from responder.events import BadInput

from tests.report_truth import assert_truthful
from tools.emulator.scenarios import LEAKED_KEY, load_event, spot_swarm

ROLE = "CompromiseResponderMember"
KEY_B = "AKIA2OSFODNN7EXAMPLE"
TEAM_B = "AKIA3OSFODNN7EXAMPLE"
KEY_D = "AKIA4OSFODNN7EXAMPLE"
TEAM_D = "AKIA5OSFODNN7EXAMPLE"
SWARM = ("sa-east-1", "eu-north-1")


@pytest.fixture
def org(aws):
    """Five member accounts A..E; organization mode on; the hub sweeps the emulator's regions."""
    members = aws.organization(5, names=("a-web", "b-data", "c-ml", "d-batch", "e-sandbox"))
    aws.set_env(MEMBER_ROLE_NAME=ROLE, ALLOWED_REGIONS="us-east-1,eu-west-1")
    return dict(zip("ABCDE", members, strict=True))


def test_a_health_notice_from_member_b_is_contained_in_b_with_bs_credentials(aws, invoke, org):
    b = aws.in_account(org["B"])
    a = aws.in_account(org["A"])
    swarm = spot_swarm(b, regions=SWARM, requests_per_region=2, key=KEY_B, team_key=TEAM_B)
    bystander = a.create_user("ci-deployer", key_id=LEAKED_KEY)
    a_instance = bystander.run_instances("sa-east-1", "g2.8xlarge").instance_ids[0]
    hub_before = aws.snapshot()

    report = invoke("health", swarm.health_event(account=org["B"]))

    assert report["account"] == org["B"] and report["principal"]["arn"] == f"arn:aws:iam::{org['B']}:user/ci-deployer"
    assert b.key_status("ci-deployer") == {KEY_B: "Inactive"}
    assert QUARANTINE_POLICY_NAME in b.user_policies("ci-deployer")
    for region, ids in swarm.attacker_instances.items():
        assert {b.instance_states(region)[i] for i in ids} == {"terminated"}
    assert {b.instance_states(r)[i] for r, ids in swarm.legitimate.items() for i in ids} == {"running"}
    # A and the hub are untouched (the same key id in A is another user's)
    assert a.key_status("ci-deployer") == {LEAKED_KEY: "Active"} and a.user_policies("ci-deployer") == {}
    assert a.instance_states("sa-east-1")[a_instance] == "running"
    assert aws.snapshot() == hub_before
    [note] = aws.notifications()
    assert org["B"] in note.summary and "b-data" in note.summary  # the account and its name
    assert_truthful(b, report, [note])
    # the member's CloudTrail shows who acted: the role session carries the incident id
    sessions = {c.params.get("RoleSessionName") for c in aws.recorder.changes if c.action == "sts:AssumeRole"}
    assert sessions == {f"compromise-responder-{report['incidentId']}"}
    assert {c.account for c in aws.recorder.changes if c.action.startswith(("ec2:", "iam:"))} == {org["B"]}


def test_a_guardduty_finding_for_member_c_isolates_cs_instance(aws, invoke, org):
    c = aws.in_account(org["C"])
    ec2 = c.client("ec2", "us-east-1")
    instance = ec2.run_instances(ImageId=c.ami("us-east-1"), MinCount=1, MaxCount=1, InstanceType="t3.large")
    instance_id = instance["Instances"][0]["InstanceId"]
    event = load_event("guardduty-ec2-bitcoin-dns.json")
    event["id"] = str(uuid.uuid4())
    event["detail"]["accountId"] = org["C"]  # delivered in the hub (the GuardDuty administrator)
    event["detail"]["resource"]["instanceDetails"]["instanceId"] = instance_id

    report = invoke("guardduty", event)

    assert report["account"] == org["C"]
    [isolated] = [a for a in report["actions"] if a["action"] == "isolate-instance"]
    assert isolated["status"] == "done"
    assert c.instance_states("us-east-1")[instance_id] == "running"  # isolated, never terminated
    assert_truthful(c, report, aws.notifications())


def test_a_protected_account_only_notifies(aws, invoke, org):
    aws.set_env(PROTECTED_ACCOUNTS=org["E"])
    e = aws.in_account(org["E"])
    swarm = spot_swarm(e, regions=("sa-east-1",), requests_per_region=1, key=KEY_D, team_key=TEAM_D)
    before = e.snapshot()

    report = invoke("health", swarm.health_event(account=org["E"]))

    assert e.snapshot() == before and report["actions"] == []
    assert "PROTECTED_ACCOUNTS" in report["facts"]["refused"]
    [note] = aws.notifications()
    assert "nothing changed" in note.subject


def test_a_member_whose_role_cannot_be_assumed_fails_alone_and_the_retry_completes(aws, invoke, org):
    b = aws.in_account(org["B"])
    swarm = spot_swarm(b, regions=("sa-east-1",), requests_per_region=1, key=KEY_B, team_key=TEAM_B)
    aws.assume_denied.accounts.add(org["B"])
    event = swarm.health_event(account=org["B"])

    with pytest.raises(IncompleteResponse, match="AccessDenied"):
        invoke("health", event)
    assert b.key_status("ci-deployer") == {KEY_B: "Active"}
    [note] = aws.notifications()
    assert note.subject.startswith("[CRITICAL]") and org["B"] in note.subject

    aws.assume_denied.accounts.clear()  # the StackSet reached the account
    report = invoke("health", event)
    assert b.key_status("ci-deployer") == {KEY_B: "Inactive"} and report["failures"] == []


def test_sweep_organization_sweeps_every_member_in_parallel_one_failing_alone(aws, invoke, org):
    b, d = aws.in_account(org["B"]), aws.in_account(org["D"])
    swarm_b = spot_swarm(b, regions=SWARM, requests_per_region=2, key=KEY_B, team_key=TEAM_B)
    swarm_d = spot_swarm(d, regions=("ap-south-1",), requests_per_region=1, key=KEY_D, team_key=TEAM_D)
    aws.assume_denied.accounts.add(org["C"])

    with pytest.raises(IncompleteResponse, match=org["C"]):
        invoke("runbook", {"runbook": "sweep-organization", "sinceHours": 24})

    [note] = aws.notifications()
    report = note.report
    assert set(report["accounts"]) == {*org.values(), aws.account}
    assert set(report["accounts"][org["C"]].values()) == {"failed"} and org["C"] in report["accountErrors"]
    assert report["accounts"][org["B"]]["sa-east-1"] == "contained"
    assert report["accounts"][org["D"]]["ap-south-1"] == "contained"
    assert set(report["accounts"][org["A"]].values()) == {"clean"}
    for swarm, member in ((swarm_b, b), (swarm_d, d)):
        for region, ids in swarm.attacker_instances.items():
            assert {member.instance_states(region)[i] for i in ids} == {"terminated"}
        assert member.key_status("ci-deployer")[swarm.key] == "Active"  # a sweep changes no IAM
    done = [a for a in report["actions"] if a["status"] == "done"]
    assert done and {a["account"] for a in done} == {org["B"], org["D"]}


def test_sweep_organization_dry_run_changes_nothing_and_names_each_account(aws, invoke, org):
    b = aws.in_account(org["B"])
    spot_swarm(b, regions=("sa-east-1",), requests_per_region=1, key=KEY_B, team_key=TEAM_B)
    before = b.snapshot()

    report = invoke("runbook", {"runbook": "sweep-organization", "accounts": [org["B"], org["A"]], "dryRun": True})

    assert b.snapshot() == before and report["mode"] == "dry-run"
    assert set(report["accounts"]) == {org["B"], org["A"]}
    assert {a["status"] for a in report["actions"] if a["account"] == org["B"]} >= {"planned"}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"runbook": "sweep-organization", "accounts": ["999999999999"]}, "accounts[0]"),
        ({"runbook": "sweep-organization", "accounts": ["12345"]}, "accounts"),
        ({"runbook": "sweep-regions", "accountId": "999999999999"}, "accountId"),
        ({"runbook": "sweep-regions", "accountId": "1234567890123"}, "accountId"),
        ({"runbook": "sweep-organization", "accountId": "123456789012"}, "accountId"),
    ],
)
def test_an_account_outside_the_organization_is_refused_naming_the_field(aws, invoke, org, event, field):
    before = aws.snapshot()
    with pytest.raises(BadInput, match=field.replace("[", r"\[").replace("]", r"\]")):
        invoke("runbook", event)
    assert aws.snapshot() == before and aws.notifications() == []


def test_sweep_organization_needs_organization_mode(aws, invoke):
    with pytest.raises(ValueError, match="organization mode"):
        invoke("runbook", {"runbook": "sweep-organization"})


def test_beyond_the_inline_limit_the_distributed_map_sweeps_through_the_organization_function(aws, invoke, org):
    """The runbook starts the state machine; its items and last state run the organization function (moto
    stores executions but cannot run Lambda tasks: the items run here, in-process, as the map would)."""
    machine = aws.client("stepfunctions").create_state_machine(
        name="organization-sweep",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    aws.set_env(ORGANIZATION_SWEEP_STATE_MACHINE=machine, ORGANIZATION_INLINE_ACCOUNTS="2")
    b = aws.in_account(org["B"])
    swarm = spot_swarm(b, regions=("sa-east-1",), requests_per_region=1, key=KEY_B, team_key=TEAM_B)

    started = invoke("runbook", {"runbook": "sweep-organization", "sinceHours": 24})

    execution = aws.client("stepfunctions").describe_execution(executionArn=started["facts"]["execution"])
    payload = json.loads(execution["input"])
    assert payload["incidentId"] == started["incidentId"] and len(payload["accounts"]) == 6
    for account in payload["accounts"]:  # the Distributed Map's items (ItemSelector in infra/organization.py)
        item = {"step": "sweep-account", "incidentId": payload["incidentId"], "accountId": account,
                "accessKeyId": None, "sinceHours": 24, "dryRun": False}  # fmt: skip
        invoke("organization", {k: v for k, v in item.items() if v is not None})
    final = invoke("organization", {"step": "report", **{k: v for k, v in payload.items() if v is not None}})

    assert final["incidentId"] == started["incidentId"]
    assert final["accounts"][org["B"]]["sa-east-1"] == "contained"
    assert {b.instance_states("sa-east-1")[i] for i in swarm.attacker_instances["sa-east-1"]} == {"terminated"}
    notes = aws.notifications()
    assert [n.report["incidentId"] for n in notes] == [started["incidentId"]] * 2  # started, then the report
    assert "started on Step Functions" in notes[0].subject and "Organization sweep of 6 accounts" in notes[1].subject
