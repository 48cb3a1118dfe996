"""Isolation keeps the evidence: a compromised instance in an Auto Scaling group behind a load balancer is
isolated without being replaced (terminated) by its group, and can be released."""

from __future__ import annotations

import uuid

import pytest
from responder.actions import ACTIONS, ActionName
from responder.actions.isolation import QUARANTINE_GROUP_NAME, UNTRACKING_GROUP_NAME
from responder.shell.entrypoint import IncompleteResponse

from compromise_responder.tools.emulator.scenarios import load_balanced_web_tier, load_event
from tests.conftest import security_groups
from tests.report_truth import CONFIRM, assert_truthful

FINDING_ID = "c3d4e5f60718293a4b5c6d7e8f90a1b2"  # the sample finding's id
KEEPING_EVIDENCE = [
    "snapshot-volume",
    "keep-volumes-on-termination",
    "enable-termination-protection",
    "detach-from-asg",
    "deregister-from-target-group",
    "deregister-from-target-group",
    "isolate-instance",
    "tag-isolated-instance",
]


def finding_on(instance_id: str) -> dict:
    event = load_event("guardduty-ec2-bitcoin-dns.json")
    event["detail"]["resource"]["instanceDetails"]["instanceId"] = instance_id
    event["id"] = str(uuid.uuid4())
    return event


def routed_to(aws, tier, name: str) -> set[str]:
    health = aws.client("elbv2").describe_target_health(TargetGroupArn=tier.target_groups[name])
    return {t["Target"]["Id"] for t in health["TargetHealthDescriptions"] if t["TargetHealth"]["State"] != "draining"}


def group_of(aws, tier) -> dict:
    return aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[tier.group])[
        "AutoScalingGroups"
    ][0]


def names_of(aws, group_ids: set[str]) -> set[str]:
    groups = aws.client("ec2").describe_security_groups(GroupIds=sorted(group_ids))["SecurityGroups"]
    return {g["GroupName"] for g in groups}


def test_an_instance_in_a_group_behind_a_load_balancer_is_isolated_with_its_evidence(aws, invoke):
    tier = load_balanced_web_tier(aws)
    ec2 = aws.client("ec2")
    victim = tier.instances[0]
    volumes = {
        m["Ebs"]["VolumeId"]
        for m in ec2.describe_instances(InstanceIds=[victim])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"]
    }

    report = invoke("guardduty", finding_on(victim))

    # in this order, each its own step, all confirmed
    assert [a["action"] for a in report["actions"]] == KEEPING_EVIDENCE
    assert {a["status"] for a in report["actions"]} == {"done"}
    calls = [r.call for r in aws.recorder.sequence]
    order = [
        next(i for i, c in enumerate(calls) if c.action == action)
        for action in (
            "ec2:CreateSnapshot",
            "autoscaling:DetachInstances",
            "elasticloadbalancing:DeregisterTargets",
            "ec2:ModifyNetworkInterfaceAttribute",
        )
    ]
    assert order == sorted(order)
    # no longer in the group, which kept its capacity (and launched a clean replacement)
    group = group_of(aws, tier)
    assert victim not in {i["InstanceId"] for i in group["Instances"]}
    assert group["DesiredCapacity"] == 2 and len(group["Instances"]) == 2
    assert not aws.client("autoscaling").describe_auto_scaling_instances(InstanceIds=[victim])["AutoScalingInstances"]
    # no target group routes to it
    assert victim not in routed_to(aws, tier, "web") and victim not in routed_to(aws, tier, "web-admin")
    assert tier.instances[1] in routed_to(aws, tier, "web-admin")  # its neighbour still serves
    # protected from termination, a shutdown stops it, its disks outlive it
    assert ec2.describe_instance_attribute(InstanceId=victim, Attribute="disableApiTermination")[
        "DisableApiTermination"
    ]["Value"]
    shutdown = ec2.describe_instance_attribute(InstanceId=victim, Attribute="instanceInitiatedShutdownBehavior")
    assert shutdown["InstanceInitiatedShutdownBehavior"]["Value"] == "stop"
    snapshots = ec2.describe_snapshots(Filters=[{"Name": "tag:compromise-responder:findingId", "Values": [FINDING_ID]}])
    assert {s["VolumeId"] for s in snapshots["Snapshots"]} == volumes
    # cut from the network: via the allow-all group (flows untracked), then the quarantine group
    swaps = [c.params["Groups"] for c in calls if c.action == "ec2:ModifyNetworkInterfaceAttribute"]
    assert [names_of(aws, set(g)) for g in swaps] == [{UNTRACKING_GROUP_NAME}, {QUARANTINE_GROUP_NAME}]
    untracking = ec2.describe_security_groups(GroupIds=swaps[0])["SecurityGroups"][0]
    for rules in (untracking["IpPermissions"], untracking["IpPermissionsEgress"]):
        assert any(
            r["IpProtocol"] == "-1" and r["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}] and r["Ipv6Ranges"] == [{"CidrIpv6": "::/0"}]
            for r in rules
        )  # fmt: skip
    assert names_of(aws, security_groups(ec2, victim)) == {QUARANTINE_GROUP_NAME}
    tags = {t["Key"]: t["Value"] for t in ec2.describe_instances(InstanceIds=[victim])["Reservations"][0]["Instances"][0]["Tags"]}  # fmt: skip
    assert tags["compromise-responder:detached-from-asg"] == tier.group
    assert tier.target_groups["web-admin"] in tags["compromise-responder:deregistered-from-1"]
    assert set(tags["compromise-responder:snapshots-1"].split("+")) == {s["SnapshotId"] for s in snapshots["Snapshots"]}
    assert tags["compromise-responder:finding"] == FINDING_ID
    [note] = aws.notifications()
    assert_truthful(aws, report, [note])
    assert "detached from their Auto Scaling group (capacity kept: a replacement is launched): 1" in note.summary

    # the team terminates it one day (protection off first, as AWS requires): the volumes survive
    ec2.modify_instance_attribute(InstanceId=victim, DisableApiTermination={"Value": False})
    ec2.terminate_instances(InstanceIds=[victim])
    kept = ec2.describe_volumes(VolumeIds=sorted(volumes))["Volumes"]
    assert {v["VolumeId"] for v in kept} == volumes and {v["State"] for v in kept} == {"available"}


def test_release_restores_the_groups_and_says_what_to_reattach(aws, invoke):
    tier = load_balanced_web_tier(aws)
    ec2 = aws.client("ec2")
    victim = tier.instances[0]
    invoke("guardduty", finding_on(victim))

    released = invoke("runbook", {"runbook": "release-instance", "instanceId": victim, "region": "us-east-1"})

    assert security_groups(ec2, victim) == {tier.security_group}
    assert [a["status"] for a in released["actions"]] == ["done"]
    tags = ec2.describe_instances(InstanceIds=[victim])["Reservations"][0]["Instances"][0].get("Tags", [])
    assert not [t for t in tags if t["Key"].startswith("compromise-responder:")]
    note = aws.notifications()[-1]
    assert f"--auto-scaling-group-name {tier.group}" in note.summary
    for arn in tier.target_groups.values():
        assert f"register-targets --target-group-arn {arn}" in note.summary
    assert "Port=8080" in note.summary and "Termination protection stays on" in note.summary
    assert_truthful(aws, released, [note])
    assert victim not in {i["InstanceId"] for i in group_of(aws, tier)["Instances"]}  # re-attaching: the team's call


def test_an_instance_in_no_group_gets_no_detach_and_no_deregister_step(aws, invoke):
    ec2 = aws.client("ec2")
    instance = ec2.run_instances(ImageId=aws.ami("us-east-1"), MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    report = invoke("guardduty", finding_on(instance))

    actions = [a["action"] for a in report["actions"]]
    assert "detach-from-asg" not in actions and "deregister-from-target-group" not in actions
    assert actions[-2:] == ["isolate-instance", "tag-isolated-instance"]
    assert_truthful(aws, report, aws.notifications())


def test_a_dry_run_plans_every_step_and_changes_nothing(aws, invoke):
    tier = load_balanced_web_tier(aws)
    before = aws.snapshot()

    plan = invoke("runbook", {"runbook": "isolate-instance", "instanceId": tier.instances[0], "region": "us-east-1",
                              "dryRun": True})  # fmt: skip

    assert aws.snapshot() == before and routed_to(aws, tier, "web-admin") == set(tier.instances)
    assert [a["action"] for a in plan["actions"]] == KEEPING_EVIDENCE
    assert {a["status"] for a in plan["actions"]} == {"planned"}


def test_a_swap_that_fails_half_way_puts_the_groups_back_and_the_retry_isolates(aws, invoke):
    tier = load_balanced_web_tier(aws)
    ec2 = aws.client("ec2")
    victim = tier.instances[0]
    aws.faults.fail(services=["ec2"], operations=["ModifyNetworkInterfaceAttribute"], every=2)  # the 2nd swap
    event = finding_on(victim)

    with pytest.raises(IncompleteResponse, match="isolate-instance"):
        invoke("guardduty", event)
    aws.faults.clear()

    [first] = aws.notifications()
    [isolate] = [a for a in first.report["actions"] if a["action"] == "isolate-instance"]
    assert isolate["status"] == "failed" and "the original security groups were put back" in isolate["detail"]
    assert security_groups(ec2, victim) == {tier.security_group}  # never left in the allow-all group
    assert_truthful(aws, first.report, [first])

    final = invoke("guardduty", event)  # the platform's retry of the same event

    assert names_of(aws, security_groups(ec2, victim)) == {QUARANTINE_GROUP_NAME}
    assert {a["status"] for a in final["actions"]} == {"done"} and final["failures"] == []
    snapshots = ec2.describe_snapshots(Filters=[{"Name": "tag:compromise-responder:findingId", "Values": [FINDING_ID]}])
    assert len(snapshots["Snapshots"]) == 1  # the retry sent nothing twice
    assert_truthful(aws, final, aws.notifications()[-1:])


def test_unreadable_target_groups_fail_the_response_and_the_retry_deregisters(aws, invoke):
    tier = load_balanced_web_tier(aws)
    victim = tier.instances[0]
    aws.faults.fail(services=["elasticloadbalancing"], operations=["DescribeTargetGroups"], code="AccessDenied")
    event = finding_on(victim)

    with pytest.raises(IncompleteResponse, match="target groups"):
        invoke("guardduty", event)
    aws.faults.clear()
    assert victim in routed_to(aws, tier, "web-admin")  # unknown to the first attempt: left, and said
    assert "could not list the target groups" in aws.notifications()[0].summary

    final = invoke("guardduty", event)

    assert victim not in routed_to(aws, tier, "web-admin")
    assert final["failures"] == [] and [a["action"] for a in final["actions"]].count("isolate-instance") == 1


def test_every_action_a_report_can_claim_is_checked_against_aws():
    assert set(ACTIONS) - {ActionName.REVIEW_PERSISTENCE} <= set(CONFIRM)
