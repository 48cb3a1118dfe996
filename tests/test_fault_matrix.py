"""The fault matrix: every AWS call the engine makes in the swarm, failing three ways, then retried.

For each (call, fault): the first attempt's every claim is true and every failed step named, and the
handler raises exactly when something failed; the retry (same envelope, fault cleared) contains
everything, sends no change AWS had already accepted, and the incident record holds every attempt.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from responder.shell.entrypoint import IncompleteResponse

from compromise_responder.tools.emulator import EmulatedAws
from compromise_responder.tools.emulator.hooks import Call
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, spot_swarm
from tests.report_truth import assert_truthful

REGIONS = ("us-east-1", "sa-east-1", "ap-south-1")
ATTACKED = ("sa-east-1", "ap-south-1")
pytestmark = pytest.mark.regions(*REGIONS)  # the world: snapshots read these regions
CALLS = {  # service -> operations the health response makes against this scene
    "iam": ("GetAccessKeyLastUsed", "UpdateAccessKey", "AttachUserPolicy"),
    "ec2": (
        "DescribeInstances",
        "DescribeSpotInstanceRequests",
        "DescribeSpotFleetRequests",
        "DescribeSpotFleetInstances",
        "DescribeFleets",
        "DescribeFleetInstances",
        "CancelSpotFleetRequests",
        "DeleteFleets",
        "CancelSpotInstanceRequests",
        "ModifyInstanceAttribute",
        "TerminateInstances",
    ),
    "autoscaling": ("DescribeAutoScalingGroups", "UpdateAutoScalingGroup"),
    "cloudtrail": ("LookupEvents",),
    "sns": ("Publish",),
    "dynamodb": ("PutItem", "UpdateItem", "Query", "BatchWriteItem"),
}
FAULTS = {  # fault -> service -> (code, HTTP status)
    "denied": {
        "ec2": ("UnauthorizedOperation", 403),
        "sns": ("AuthorizationError", 403),
        "dynamodb": ("AccessDeniedException", 400),
        "cloudtrail": ("AccessDeniedException", 400),
        "*": ("AccessDenied", 403),
    },
    "throttled": {
        "ec2": ("RequestLimitExceeded", 503),
        "dynamodb": ("ThrottlingException", 400),
        "cloudtrail": ("ThrottlingException", 400),
        "*": ("Throttling", 400),
    },
    "5xx": {"ec2": ("InternalError", 500), "*": ("InternalFailure", 500)},
}
# AWS's own wording of each fault ("Rate exceeded" is what a throttled call says; it never says "throttled", a word
# the report keeps for a Lambda function it throttled)
MESSAGES = {"denied": "denied", "throttled": "Rate exceeded", "5xx": "internal error"}
RECORD_WRITE = ("dynamodb", "BatchWriteItem")
CELLS = [(service, op, fault) for service, ops in CALLS.items() for op in ops for fault in FAULTS]


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries still happen (each throttled call is sent AWS_MAX_ATTEMPTS times); only botocore's sleeps go."""
    from botocore.retries import adaptive, standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(adaptive.ClientRateLimiter, "on_sending_request", lambda self, request, **kw: None)


def scene(aws: EmulatedAws) -> Any:
    """The swarm in two regions, plus a spot fleet, an EC2 fleet and an Auto Scaling group in sa-east-1."""
    swarm = spot_swarm(aws, regions=ATTACKED, requests_per_region=2)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    group = swarm.attacker.create_auto_scaling_group("sa-east-1", "miner-asg", "g4dn.xlarge", 2, at=two_hours_ago)
    for launched in (
        swarm.attacker.request_spot_fleet("sa-east-1", "g4dn.xlarge", 2, at=two_hours_ago),
        swarm.attacker.create_fleet("sa-east-1", "p3.2xlarge", 1, at=two_hours_ago),
        group,
    ):
        swarm.attacker_instances["sa-east-1"].extend(launched.instance_ids)
    swarm.asg_members = list(group.instance_ids)
    return swarm


def inject(aws: EmulatedAws, service: str, operation: str, fault: str) -> None:
    code, status = FAULTS[fault].get(service, FAULTS[fault]["*"])
    message = f"{MESSAGES[fault]} (injected at {operation})"
    if service == "cloudtrail":  # answered by the emulated CloudTrail, ahead of the HTTP layer
        aws.trail.failure = (code, message, status)
    else:
        aws.faults.fail(services=[service], operations=[operation], code=code, message=message, status=status)


def changed_targets(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """What the first attempt changed in AWS: keys, users, instances, spot requests, groups."""
    out = {k for u, keys in after["keys"].items() for k, s in keys.items() if before["keys"][u].get(k) != s}
    out |= {u for u, p in after["userPolicies"].items() if p != before["userPolicies"].get(u)}
    for region in REGIONS:
        b, a = before[region], after[region]
        out |= {i for i, s in a["instances"].items() if i in b["instances"] and s != b["instances"][i]}
        out |= set(b["spot"]) - set(a["spot"])
        out |= {g for g, n in a["asgs"].items() if n != b["asgs"].get(g)}
    return out


def targets_of(call: Call) -> set[str]:
    p = call.params
    values: list[Any] = [
        p.get("AccessKeyId"),
        p.get("UserName") if call.operation == "AttachUserPolicy" else None,
        p.get("InstanceId"),
        p.get("AutoScalingGroupName"),
        *(p.get("InstanceIds") or []),
        *(p.get("SpotInstanceRequestIds") or []),
        *(p.get("SpotFleetRequestIds") or []),
        *(p.get("FleetIds") or []),
    ]
    return {str(v) for v in values if v}


@pytest.mark.parametrize(("service", "operation", "fault"), CELLS, ids=[f"{s}:{o}:{f}" for s, o, f in CELLS])
def test_fault_then_retry(aws, invoke, service, operation, fault):
    aws.set_env(ALLOWED_REGIONS="us-east-1,eu-west-1", SWEEP_REGIONS=",".join(REGIONS), AWS_MAX_ATTEMPTS="2")
    swarm = scene(aws)
    event = swarm.health_event()
    before = aws.snapshot()
    inject(aws, service, operation, fault)

    try:
        first: dict[str, Any] | None = invoke("health", event)
        raised = False
    except IncompleteResponse:
        first, raised = None, True
    aws.faults.clear()
    aws.trail.failure = None

    # first attempt: every claim true, every failure named, raised exactly when something failed
    notes = aws.notifications()
    for note in notes:
        assert_truthful(aws, note.report, [note])
        # a failure makes the handler raise; raising without one in the notification happens only when
        # the incident record (written after the notification, contract step 6) failed
        assert bool(note.report["failures"]) == raised or (raised and (service, operation) == RECORD_WRITE)
    if first is not None:
        assert_truthful(aws, first)
    if service == "sns" and raised:
        assert notes == []
    after_first = aws.snapshot()
    done_first = changed_targets(before, after_first)

    # the retry: same envelope, the fault gone
    aws.recorder.reset()
    final = invoke("health", event)

    sent_again = set().union(*(targets_of(c) for c in aws.recorder.changes)) & done_first
    assert not sent_again, f"the retry re-sent changes AWS had accepted: {sorted(sent_again)}"
    assert final["failures"] == []
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    for region, ids in swarm.attacker_instances.items():
        states = aws.instance_states(region)
        assert {states[i] for i in ids} <= {"terminated", "shutting-down"}, region
    for ids in swarm.legitimate.values():
        states = {**aws.instance_states("us-east-1"), **aws.instance_states("eu-west-1")}
        assert {states[i] for i in ids if i in states} == {"running"}
    terminated = {
        a["target"] for a in final["actions"] if a["action"] == "terminate-instance" and a["status"] == "done"
    }
    scaled_in = any(a["action"] == "scale-asg-to-zero" and a["status"] == "done" for a in final["actions"])
    # the whole incident: every attacker instance terminated by some attempt (or taken by its group's scale-in)
    assert terminated | (set(swarm.asg_members) if scaled_in else set()) >= {
        i for ids in swarm.attacker_instances.values() for i in ids
    }
    last = aws.notifications()[-1]
    assert last.report["incidentId"] == final["incidentId"] and last.report["failures"] == []
    assert_truthful(aws, final, [last])
    attempts = aws.client("dynamodb").query(
        TableName=aws.tables["incidents"],
        KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
        ExpressionAttributeValues={":p": {"S": f"incident#{final['incidentId']}"}, ":a": {"S": "attempt#"}},
    )["Items"]
    # without a failure the retry is a duplicate: answered from the idempotency record, or - when that store
    # was the fault - answered again as attempt 2, which (asserted above) re-sent nothing
    assert len(attempts) == 2 if raised else len(attempts) in (1, 2)
    if raised:
        recorded = [json.loads(i["attempt"]["S"]) for i in attempts]
        assert [a["attempt"] for a in recorded] == [1, 2] and recorded[0]["failures"]
