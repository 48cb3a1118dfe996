"""Organization mode: one hub, member accounts acted in through the member role (contract: "Organization mode").

An emulated organization: the hub is the management account (123456789012) and five member accounts; moto
keeps one state per account and lets the hub assume any role (``aws.assume_denied`` plays a member whose
role is missing). Every assertion reads the member's own state through its own credentials.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from responder.actions.iam import QUARANTINE_POLICY_NAME
from responder.parse.events import BadInput
from responder.record.account_parts import AccountSweepInProgress
from responder.shell.entrypoint import IncompleteResponse

from compromise_responder.tools.emulator import LambdaContext
from compromise_responder.tools.emulator.hooks import Call
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, load_event, spot_swarm
from tests.report_truth import assert_truthful

ROLE = "CompromiseResponderMember"
KEY_B = "AKIA2OSFODNN7EXAMPLE"
TEAM_B = "AKIA3OSFODNN7EXAMPLE"
KEY_D = "AKIA4OSFODNN7EXAMPLE"
TEAM_D = "AKIA5OSFODNN7EXAMPLE"
SWARM = ("sa-east-1", "eu-west-1")


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
    swarm_d = spot_swarm(d, regions=("eu-west-1",), requests_per_region=1, key=KEY_D, team_key=TEAM_D)
    aws.assume_denied.accounts.add(org["C"])

    with pytest.raises(IncompleteResponse, match=org["C"]):
        invoke("runbook", {"runbook": "sweep-organization", "sinceHours": 24})

    [note] = aws.notifications()
    report = note.report
    assert set(report["accounts"]) == {*org.values(), aws.account}
    assert set(report["accounts"][org["C"]].values()) == {"failed"} and org["C"] in report["accountErrors"]
    assert report["accounts"][org["B"]]["sa-east-1"] == "contained"
    assert report["accounts"][org["D"]]["eu-west-1"] == "contained"
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


class HeldRegion:
    """A member's calls in one region wait until released: that account's sweep outlasts any limit we set.
    Also counts every call made with the member's credentials, and the hub's AssumeRole calls into it."""

    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region
        self.released, self.holding = threading.Event(), threading.Event()
        self.calls: Counter[str] = Counter()
        self.assumed = 0

    def __call__(self, call: Call) -> None:
        if call.action == "sts:AssumeRole" and f":{self.account}:" in str(call.params.get("RoleArn")):
            self.assumed += 1
        if call.account != self.account:
            return
        self.calls[f"{call.action} {call.region}"] += 1
        if call.region == self.region and call.service == "ec2":
            self.holding.set()
            assert self.released.wait(30), "the held region was never released"


def test_an_account_sweep_that_outlasts_its_limit_is_reported_timed_out_and_never_swept_twice_at_once(aws, invoke, org):
    """The map's item for B runs with a small limit (LIMIT s) and is held in eu-west-1 beyond it. Step Functions
    ends the item at the limit (``Sandbox.Timedout``: no retry; the Catch records the outcome); a retry of the item
    that comes while the first invocation still runs meets its lease and sweeps nothing. The report names B
    timed out, with what was done before the cut (sa-east-1 contained) and the region it had not finished."""
    limit = 0.5
    aws.set_env(SWEEP_REGIONS="sa-east-1,us-east-1,eu-west-1")
    b = aws.in_account(org["B"])
    swarm = spot_swarm(b, regions=SWARM, requests_per_region=1, key=KEY_B, team_key=TEAM_B)
    held = HeldRegion(org["B"], "eu-west-1")
    aws.dispatcher.plugins.append(held)
    incident = "inc-20261205-0123456789"
    item = {"step": "sweep-account", "incidentId": incident, "sinceHours": 24}
    invoke("organization", {**item, "accountId": org["A"]})
    first: dict[str, Any] = {}

    def first_attempt() -> None:  # B's item, slower than its limit
        try:
            first["report"] = invoke("organization", {**item, "accountId": org["B"]},
                                     LambdaContext(aws_request_id="request-1", timeout_millis=int(limit * 1000)))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - asserted below
            first["error"] = exc

    worker = threading.Thread(target=first_attempt)
    worker.start()
    try:
        assert held.holding.wait(10)
        until = time.monotonic() + 10  # sa-east-1 and us-east-1 finish and are recorded while eu-west-1 is held
        while len(_part(aws, incident, org["B"]).get("regions") or {}) < 2 and time.monotonic() < until:
            time.sleep(0.05)
        time.sleep(limit)  # the limit passes: the item is cut, the invocation still runs

        before = (sum(held.calls.values()), held.assumed)
        with pytest.raises(AccountSweepInProgress, match=org["B"]):  # a retry while it runs: refused
            invoke("organization", {**item, "accountId": org["B"]}, LambdaContext(aws_request_id="request-2"))
        assert (sum(held.calls.values()), held.assumed) == before  # not a single call in B: not swept twice

        cause = json.dumps(
            {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {limit:.2f} seconds"}
        )
        invoke("organization", {"step": "account-outcome", "incidentId": incident, "accountId": org["B"],
                                "error": "Sandbox.Timedout", "cause": cause})  # fmt: skip
        with pytest.raises(IncompleteResponse, match="timed out"):
            invoke("organization", {"step": "report", "incidentId": incident, "accounts": [org["A"], org["B"]],
                                    "sinceHours": 24})  # fmt: skip
    finally:
        held.released.set()
        worker.join(30)

    [note] = aws.notifications()
    report = note.report
    assert report["accounts"][org["B"]] == {"sa-east-1": "contained", "us-east-1": "clean", "eu-west-1": "failed"}
    assert set(report["accounts"][org["A"]].values()) == {"clean"}
    error = report["accountErrors"][org["B"]]
    assert "timed out (Sandbox.Timedout: Task timed out after 0.50 seconds)" in error and "2 of 3 regions" in error
    assert "not finished" in report["regionErrors"][f"{org['B']}/eu-west-1"]
    assert report["facts"]["accountsTimedOut"] == [org["B"]]
    cut = [a for a in report["actions"] if a["account"] == org["B"] and a["status"] == "done"]
    assert cut and {a["region"] for a in cut} == {"sa-east-1"}  # what was done before the cut, from the record
    assert org["B"] in note.subject + note.summary and "timed out" in note.summary
    assert_truthful(b, report, [note])
    # the first invocation was never stopped: it finished alone, once; its whole part is in the incident record
    assert "error" not in first and held.assumed == 1
    for region, ids in swarm.attacker_instances.items():
        assert {b.instance_states(region)[i] for i in ids} == {"terminated"}
        assert held.calls[f"ec2:TerminateInstances {region}"] == 1
    assert _part(aws, incident, org["B"])["state"] == "finished"


def _part(aws, incident: str, account: str) -> dict[str, Any]:
    """One account's part of an organization sweep, as the incidents table holds it."""
    item = (
        aws.client("dynamodb")
        .get_item(
            TableName=aws.tables["incidents"],
            Key={"pk": {"S": f"incident#{incident}"}, "sk": {"S": f"account#{account}"}},
        )
        .get("Item")
    )
    return json.loads(item["report"]["S"]) if item else {}


def test_an_account_item_run_again_keeps_what_it_did_and_an_account_swept_whole_is_not_swept_again(aws, invoke, org):
    """The map's retries of one account: after a region failed, the retry sweeps again and the part keeps the
    first attempt's containment; once the account is swept whole, a further run of its item sweeps nothing."""
    aws.set_env(SWEEP_REGIONS="sa-east-1,eu-west-1")
    b = aws.in_account(org["B"])
    swarm = spot_swarm(b, regions=("sa-east-1",), requests_per_region=1, key=KEY_B, team_key=TEAM_B)
    counted = HeldRegion(org["B"], "none")
    counted.released.set()
    aws.dispatcher.plugins.append(counted)
    incident = "inc-20261205-abcdef0123"
    item = {"step": "sweep-account", "incidentId": incident, "accountId": org["B"], "sinceHours": 24}
    aws.faults.fail(region="eu-west-1", services=["ec2"])  # UnauthorizedOperation: an SCP, say

    with pytest.raises(IncompleteResponse, match="eu-west-1"):
        invoke("organization", item)
    aws.faults.clear()
    first = counted.calls.total()
    invoke("organization", item, LambdaContext(aws_request_id="request-2"))  # the map's retry: swept again
    assert counted.calls.total() > first and counted.calls["ec2:DescribeInstances eu-west-1"] >= 2
    swept = counted.calls.total()
    again = invoke("organization", item, LambdaContext(aws_request_id="request-3"))
    assert "swept whole earlier" in again["facts"]["alreadySwept"] and counted.calls.total() == swept  # no call in B

    report = invoke("organization", {"step": "report", "incidentId": incident, "accounts": [org["B"]]})
    assert report["accounts"][org["B"]] == {"sa-east-1": "contained", "eu-west-1": "clean"}
    terminated = [a for a in report["actions"] if a["action"] == "terminate-instance" and a["status"] == "done"]
    assert sorted(a["target"] for a in terminated) == sorted(swarm.attacker_instances["sa-east-1"])
    assert {b.instance_states("sa-east-1")[i] for i in swarm.attacker_instances["sa-east-1"]} == {"terminated"}
    assert report["failures"] == [] and "accountErrors" not in report
    assert_truthful(b, report, aws.notifications())


def test_an_item_that_failed_before_recording_anything_reaches_the_report_with_its_error(aws, invoke, org):
    """The function died without a part (out of memory, say): the Catch records Step Functions' error, and the
    report names the account failed in every region it would have swept, with that error."""
    aws.set_env(SWEEP_REGIONS="sa-east-1,eu-west-1")
    incident = "inc-20261205-fedcba9876"
    cause = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited with error: signal: killed"})
    invoke("organization", {"step": "account-outcome", "incidentId": incident, "accountId": org["C"],
                            "error": "Lambda.Unknown", "cause": cause})  # fmt: skip

    with pytest.raises(IncompleteResponse, match=org["C"]):
        invoke("organization", {"step": "report", "incidentId": incident, "accounts": [org["C"]]})
    [note] = aws.notifications()
    assert note.report["accounts"][org["C"]] == {"sa-east-1": "failed", "eu-west-1": "failed"}
    assert (
        "sweep failed (Lambda.Unknown: Runtime exited with error: signal: killed)"
        in (note.report["accountErrors"][org["C"]])
    )
    assert "accountsTimedOut" not in note.report["facts"] and org["C"] in note.summary
