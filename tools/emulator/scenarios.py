"""Incidents replayed against the emulated account (../shared/reference/incidents.md).

Each builder sets the scene (the team's legitimate capacity and the attacker's) and returns what
a test or the demo needs to check the outcome.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from . import HOME, EmulatedAws
from .actor import Actor

EVENTS = Path(__file__).resolve().parents[2] / "events"
LEAKED_KEY = "AKIAIOSFODNN7EXAMPLE"
TEAM_KEY = "AKIAI44QH8DHBEXAMPLE"
ATTACKER_REGIONS = ("us-west-2", "eu-west-1", "eu-north-1", "ap-south-1", "sa-east-1")  # the demo's world but home
ALLOWED = "us-east-1,eu-west-1"


def load_event(name: str) -> dict[str, Any]:
    """A sample event from ``events/`` (the shapes AWS delivers), as a fresh dict."""
    return copy.deepcopy(json.loads((EVENTS / name).read_text()))


def health_event(start: datetime, *, key: str = LEAKED_KEY, event_id: str | None = None) -> dict[str, Any]:
    event = load_event("health-credentials-exposed.json")
    stamp = format_datetime(start.astimezone(UTC), usegmt=True)
    event["detail"]["startTime"] = event["detail"]["lastUpdatedTime"] = stamp
    event["time"] = (start + timedelta(minutes=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if key != LEAKED_KEY:
        event["detail"]["affectedEntities"][0]["entityValue"] = key
        event["detail"]["eventDescription"][0]["latestDescription"] = event["detail"]["eventDescription"][0][
            "latestDescription"
        ].replace(LEAKED_KEY, key)
    if event_id:
        event["id"] = event_id
    return event


@dataclass
class SpotSwarm:
    """Incident 1: a leaked key, persistent g2.8xlarge spot requests in every region."""

    notice_start: datetime
    attacker: Actor
    team: Actor
    attacker_requests: dict[str, list[str]] = field(default_factory=dict)
    attacker_instances: dict[str, list[str]] = field(default_factory=dict)
    legitimate: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    key: str = LEAKED_KEY

    def health_event(self, event_id: str | None = None, account: str | None = None) -> dict[str, Any]:
        event = health_event(self.notice_start, key=self.key, event_id=event_id)
        if account:
            event["account"] = account
        return event


def spot_swarm(
    aws: EmulatedAws,
    *,
    regions: tuple[str, ...] | None = None,
    requests_per_region: int = 4,
    now: datetime | None = None,
    key: str = LEAKED_KEY,
    team_key: str = TEAM_KEY,
    protected_region: str = "ap-south-1",
) -> SpotSwarm:
    """The team runs small instances in its two regions, an old GPU box and a protected GPU box;
    the attacker, with the leaked key, opens persistent g2.8xlarge spot requests in ``regions`` (unless given,
    every region of the emulated world but home), plus two termination-protected p3.16xlarge instances in
    ``protected_region`` when it is one of ``regions`` (ap-south-1, as the CloudTrail sample shows)."""
    now = now or datetime.now(UTC)
    regions = regions if regions is not None else tuple(r for r in aws.regions if r != HOME)
    attacker = aws.create_user("ci-deployer", key_id=key, last_used=("ec2", "sa-east-1"))
    team = aws.create_user("ml-team", key_id=team_key)
    scene = SpotSwarm(notice_start=now - timedelta(hours=1), attacker=attacker, team=team, key=key)
    protect = {"compromise-responder:protect": "true", "Name": "ml-training-protected"}

    def legit(label: str, launched: Any) -> None:
        scene.legitimate.setdefault(launched.region, []).extend(launched.instance_ids)
        for i in launched.instance_ids:
            scene.labels[i] = label

    legit(
        "web (t3.micro)",
        team.run_instances("us-east-1", "t3.micro", 2, tags={"Name": "web"}, at=now - timedelta(hours=5)),
    )
    legit(
        "old GPU box (launched 10 days ago)",
        team.run_instances("us-east-1", "g4dn.xlarge", tags={"Name": "ml-old"}, at=now - timedelta(days=10)),
    )
    legit(
        "protect-tagged GPU box",
        team.run_instances("us-east-1", "p3.2xlarge", tags=protect, at=now - timedelta(hours=3)),
    )
    legit(
        "api (t3.large)",
        team.run_instances("eu-west-1", "t3.large", tags={"Name": "api"}, at=now - timedelta(hours=30)),
    )

    for region in regions:
        launched = attacker.request_spot_instances(
            region, "g2.8xlarge", requests_per_region, at=now - timedelta(hours=2)
        )
        scene.attacker_requests.setdefault(region, []).extend(launched.ids)
        scene.attacker_instances.setdefault(region, []).extend(launched.instance_ids)
        scene.events.append(launched.event)
    if protected_region in regions:
        launched = attacker.run_instances(
            protected_region, "p3.16xlarge", 2, termination_protection=True, at=now - timedelta(hours=2)
        )
        scene.attacker_instances[protected_region].extend(launched.instance_ids)
        scene.events.append(launched.event)
    for region, ids in scene.attacker_instances.items():
        for i in ids:
            scene.labels[i] = f"attacker ({region})"
    return scene


BACKDOOR_KEY = "AKIAI44QH8DHBEXAMPLE"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


@dataclass
class Backdoors:
    """Incident 2 (Code Spaces): the attacker, holding a leaked key, builds ways back in."""

    notice_start: datetime
    attacker: Actor
    admins: list[str]
    events: list[dict[str, Any]] = field(default_factory=list)

    def health_event(self, event_id: str | None = None) -> dict[str, Any]:
        return health_event(self.notice_start, event_id=event_id)


def code_spaces(aws: EmulatedAws, *, now: datetime | None = None) -> Backdoors:
    """Two real admins (console passwords, AdministratorAccess); the compromised ci-deployer creates a
    backdoor user with a key, a console password and AdministratorAccess, a role, and a key pair."""
    now = now or datetime.now(UTC)
    iam = aws.client("iam")
    admins = ["alice-admin", "bob-admin"]
    for admin in admins:
        iam.create_user(UserName=admin)
        iam.create_login_profile(UserName=admin, Password="Team-Passw0rd!", PasswordResetRequired=False)
        iam.attach_user_policy(UserName=admin, PolicyArn=ADMIN_POLICY)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY, last_used=("iam", "us-east-1"))
    scene = Backdoors(notice_start=now - timedelta(minutes=30), attacker=attacker, admins=admins)
    at = now - timedelta(hours=1)
    scene.events.append(attacker.create_user("support-sync", at=at))
    _, key_event = attacker.create_access_key("support-sync", key_id=BACKDOOR_KEY, at=at)
    scene.events.append(key_event)
    scene.events.append(attacker.create_login_profile("support-sync", at=at))
    scene.events.append(attacker.attach_user_policy("support-sync", ADMIN_POLICY, at=at))
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"sts:AssumeRole"}]}'
    scene.events.append(attacker.create_role("ops-automation", trust, at=at))
    scene.events.append(attacker.create_key_pair("eu-west-1", "recovery", at=at))
    return scene


@dataclass
class WebTier:
    """The team's web servers: an Auto Scaling group behind an Application Load Balancer target group, plus a
    second target group (an admin port) the instances are registered with directly."""

    region: str
    group: str
    security_group: str
    target_groups: dict[str, str]  # name -> ARN
    instances: list[str]


def load_balanced_web_tier(aws: EmulatedAws, region: str = "us-east-1", size: int = 2) -> WebTier:
    ec2 = aws.client("ec2", region)
    elbv2 = aws.client("elbv2", region)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    web = ec2.create_security_group(GroupName="web-tier", Description="web tier", VpcId=vpc)["GroupId"]
    target_groups = {
        name: elbv2.create_target_group(Name=name, Protocol="HTTP", Port=port, VpcId=vpc, TargetType="instance")[
            "TargetGroups"
        ][0]["TargetGroupArn"]
        for name, port in (("web", 80), ("web-admin", 8080))
    }
    template = ec2.create_launch_template(
        LaunchTemplateName="web-tier",
        LaunchTemplateData={"ImageId": aws.ami(region), "InstanceType": "t3.large", "SecurityGroupIds": [web]},
    )["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling = aws.client("autoscaling", region)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="web-tier",
        MinSize=size,
        MaxSize=size * 2,
        DesiredCapacity=size,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        VPCZoneIdentifier=subnets[0],
        TargetGroupARNs=[target_groups["web"]],
        HealthCheckType="ELB",
    )
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["web-tier"])["AutoScalingGroups"][0]
    instances = [i["InstanceId"] for i in group["Instances"]]
    elbv2.register_targets(TargetGroupArn=target_groups["web-admin"], Targets=[{"Id": i} for i in instances])
    return WebTier(region, "web-tier", web, target_groups, instances)


def aws_quarantine_attached(
    user: str, version: str = "V3", at: datetime | None = None, **identity: object
) -> dict[str, Any]:
    """CloudTrail's record of AWS attaching its quarantine policy: an AWS-internal caller (sourceIPAddress and
    userAgent "AWS Internal"), as public detections of it (Elastic, Datadog) match it. The tests and the
    benchmark replay this one shape."""
    now = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": "0b7c2a6e-5d4f-4c3b-9a8e-1f2d3c4b5a69",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": "123456789012",
        "time": now,
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": identity or {"type": "AWSService", "invokedBy": "AWS Internal"},
            "eventTime": now,
            "eventSource": "iam.amazonaws.com",
            "eventName": "AttachUserPolicy",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "AWS Internal",
            "userAgent": "AWS Internal",
            "requestParameters": {
                "userName": user,
                "policyArn": f"arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine{version}",
            },
            "responseElements": None,
            "requestID": "2b5f1e3c-8d7a-4e6b-9c0d-3a4b5c6d7e8f",
            "eventID": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": "123456789012",
            "eventCategory": "Management",
        },
    }
