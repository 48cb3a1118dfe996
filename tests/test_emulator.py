"""The emulator's gap fillers behave as AWS does where moto does not (emulation-notes.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, TEAM_KEY


def test_termination_protection_is_refused_until_turned_off(aws):
    launched = aws.create_user("u", key_id=LEAKED_KEY).run_instances(
        "eu-west-1", "t3.micro", termination_protection=True
    )
    ec2 = aws.client("ec2", "eu-west-1")
    [instance] = launched.instance_ids
    with pytest.raises(ClientError, match="OperationNotPermitted"):
        ec2.terminate_instances(InstanceIds=[instance])
    ec2.modify_instance_attribute(InstanceId=instance, DisableApiTermination={"Value": False})
    ec2.terminate_instances(InstanceIds=[instance])
    assert aws.instance_states("eu-west-1")[instance] in ("shutting-down", "terminated")


def test_lookup_events_answers_by_key_region_and_time(aws):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    old = attacker.run_instances("sa-east-1", "t3.micro", at=datetime.now(UTC) - timedelta(days=5))
    new = attacker.run_instances("sa-east-1", "t3.micro")
    team.run_instances("sa-east-1", "t3.micro")
    trail = aws.client("cloudtrail", "sa-east-1")
    events = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": LEAKED_KEY}],
        StartTime=datetime.now(UTC) - timedelta(days=1),
    )["Events"]
    assert [e["EventId"] for e in events] == [new.event["detail"]["eventID"]]
    assert old.event["detail"]["eventID"] not in str(events)
    assert (
        aws.client("cloudtrail", "eu-west-1").lookup_events(
            LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": LEAKED_KEY}]
        )["Events"]
        == []
    )
    aws.trail.denied_regions.add("sa-east-1")
    with pytest.raises(ClientError, match="AccessDenied"):
        trail.lookup_events(LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": LEAKED_KEY}])


def test_example_key_ids_are_real_keys_of_their_user(aws):
    aws.create_user("ci-deployer", key_id=LEAKED_KEY, last_used=("ec2", "sa-east-1"))
    used = aws.client("iam").get_access_key_last_used(AccessKeyId=LEAKED_KEY)
    assert used["UserName"] == "ci-deployer" and used["AccessKeyLastUsed"]["Region"] == "sa-east-1"
    aws.client("iam").update_access_key(UserName="ci-deployer", AccessKeyId=LEAKED_KEY, Status="Inactive")
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}


def test_injected_throttling_is_retried_by_botocore(aws):
    aws.faults.fail(region="eu-west-1", services=["ec2"], code="RequestLimitExceeded", status=503, every=2)
    from responder.aws import Clients

    ec2 = Clients().get("ec2", "eu-west-1")
    for _ in range(3):
        ec2.describe_instances()
    assert aws.faults.injected["ec2:DescribeInstances:RequestLimitExceeded"] >= 1


def test_lookup_events_pages_by_50_newest_first_and_a_throttled_page_is_retried(aws):
    from datetime import UTC, datetime, timedelta

    from compromise_responder.tools.emulator.trails import attacker_trail

    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    now = datetime.now(UTC)
    seeded = attacker_trail(aws, attacker.identity, calls=120, services=("ec2",), regions=("eu-west-1",),
                            start=now - timedelta(hours=2), end=now).records  # fmt: skip
    aws.trail.throttle_page(2, region="eu-west-1")
    trail = aws.client("cloudtrail", "eu-west-1")
    pages = list(
        trail.get_paginator("lookup_events").paginate(
            LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": LEAKED_KEY}]
        )
    )
    assert [len(p["Events"]) for p in pages] == [50, 50, 20]
    ids = [e["EventId"] for p in pages for e in p["Events"]]
    assert ids == [r["eventID"] for r in sorted(seeded, key=lambda r: r["eventTime"], reverse=True)]
    assert aws.trail.throttled["eu-west-1"] == 1  # refused once, answered on botocore's retry
    with pytest.raises(ClientError, match="AccessDenied"):
        aws.trail.denied_regions.add("eu-west-1")
        trail.lookup_events(LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": LEAKED_KEY}])


def test_detaching_from_a_group_deregisters_from_its_target_groups_as_aws_does(aws):
    from compromise_responder.tools.emulator.scenarios import load_balanced_web_tier

    tier = load_balanced_web_tier(aws)
    elbv2 = aws.client("elbv2")
    victim = tier.instances[0]

    aws.client("autoscaling").detach_instances(
        InstanceIds=[victim], AutoScalingGroupName=tier.group, ShouldDecrementDesiredCapacity=False
    )

    routed = elbv2.describe_target_health(TargetGroupArn=tier.target_groups["web"])["TargetHealthDescriptions"]
    assert victim not in {t["Target"]["Id"] for t in routed}  # the group's target group: deregistered by AWS
    admin = elbv2.describe_target_health(TargetGroupArn=tier.target_groups["web-admin"])["TargetHealthDescriptions"]
    assert victim in {t["Target"]["Id"] for t in admin}  # registered directly: it stays
    elbv2.deregister_targets(TargetGroupArn=tier.target_groups["web"], Targets=[{"Id": victim}])  # AWS: no error
