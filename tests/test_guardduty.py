"""GuardDuty findings: each kind gets the containment that fits it; nothing legitimate destroyed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from responder.actions.iam import REVOKE_SESSIONS_POLICY_NAME
from responder.actions.isolation import QUARANTINE_GROUP_NAME
from responder.findings import family_for
from responder.parse.events import BadInput, parse_guardduty

from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, TEAM_KEY, health_event, load_event
from tests.conftest import security_groups

ALLOWED = {"ALLOWED_REGIONS": "us-east-1,eu-west-1"}


def finding(name: str, **detail) -> dict:
    event = load_event(name)
    event["detail"].update(detail)
    return event


def on_instance(name: str, instance_id: str) -> dict:
    """A finding about this instance, delivered as its own EventBridge event (the samples share one id)."""
    event = load_event(name)
    event["detail"]["resource"]["instanceDetails"]["instanceId"] = instance_id
    event["id"] = str(uuid.uuid4())
    return event


def web_instance(aws, *, interfaces: int = 1) -> tuple[str, list[str]]:
    """The team's web server in the default VPC, with its own security group."""
    ec2 = aws.client("ec2", "us-east-1")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    nics = [{"DeviceIndex": n, "SubnetId": subnet, "Groups": [group]} for n in range(interfaces)]
    instance = ec2.run_instances(ImageId=aws.ami("us-east-1"), MinCount=1, MaxCount=1, InstanceType="t3.large",
                                 NetworkInterfaces=nics)["Instances"][0]  # fmt: skip
    return instance["InstanceId"], [group]


def groups_of(aws, instance_id: str) -> set[str]:
    return security_groups(aws.client("ec2"), instance_id)


@pytest.mark.parametrize(
    ("sample", "response"),
    [
        ("guardduty-iamuser-malicious-ip-caller.json", "contain-access-key"),
        ("guardduty-assumedrole-credential-exfiltration.json", "revoke-role-sessions"),
        ("guardduty-ec2-bitcoin-dns.json", "isolate-instance"),
        ("guardduty-sample-low-severity.json", "notify-only"),
    ],
)
def test_each_sample_maps_to_its_response(sample, response):
    assert family_for(parse_guardduty(load_event(sample)).detail).response == response


@pytest.mark.parametrize(
    ("type_", "resource", "user", "response"),
    [
        ("CredentialAccess:IAMUser/AnomalousBehavior", "AccessKey", "IAMUser", "contain-access-key"),
        ("Persistence:IAMUser/AnomalousBehavior", "AccessKey", "IAMUser", "contain-access-key"),
        ("Stealth:IAMUser/CloudTrailLoggingDisabled", "AccessKey", "IAMUser", "contain-access-key"),
        ("Discovery:IAMUser/AnomalousBehavior", "AccessKey", "IAMUser", "contain-access-key"),
        ("Policy:IAMUser/RootCredentialUsage", "AccessKey", "Root", "notify-root"),
        (
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS",
            "AccessKey",
            "AssumedRole",
            "revoke-role-sessions",
        ),
        ("Backdoor:EC2/C&CActivity.B!DNS", "Instance", None, "isolate-instance"),
        ("Trojan:EC2/DropPoint", "Instance", None, "isolate-instance"),
        ("UnauthorizedAccess:EC2/TorClient", "Instance", None, "isolate-instance"),
        ("Policy:S3/BucketBlockPublicAccessDisabled", "S3Bucket", None, "notify-only"),
    ],
)
def test_mapping_table(type_, resource, user, response):
    event = load_event("guardduty-iamuser-malicious-ip-caller.json")
    event["detail"]["type"] = type_
    event["detail"]["resource"]["resourceType"] = resource
    event["detail"]["resource"]["accessKeyDetails"]["userType"] = user
    assert family_for(parse_guardduty(event).detail).response == response


def test_iam_user_finding_contains_the_key(aws, invoke):
    aws.set_env(**ALLOWED)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    swarm = attacker.request_spot_instances("sa-east-1", "g2.8xlarge", 2, at=datetime.now(UTC) - timedelta(hours=2))

    report = invoke("guardduty", load_event("guardduty-iamuser-malicious-ip-caller.json"))

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert "compromise-responder-quarantine" in aws.user_policies("ci-deployer")
    assert {aws.instance_states("sa-east-1")[i] for i in swarm.instance_ids} == {"terminated"}
    assert report["window"]["start"] == "2026-11-17T05:58:00Z"  # eventFirstSeen - 72 h
    [note] = aws.notifications()
    assert "UnauthorizedAccess:IAMUser/MaliciousIPCaller" in note.subject
    assert "console.aws.amazon.com/guardduty" in note.summary


def test_assumed_role_finding_revokes_sessions_and_isolates_its_instance(aws, invoke):
    aws.client("iam").create_role(
        RoleName="web-app-role", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}'
    )
    instance, original = web_instance(aws)

    report = invoke("guardduty", on_instance("guardduty-assumedrole-credential-exfiltration.json", instance))

    [policy] = aws.role_policies("web-app-role").values()
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Deny" and statement["Action"] == "*"
    issued_before = datetime.fromisoformat(
        statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"].replace("Z", "+00:00")
    )
    assert abs(issued_before - datetime.now(UTC)) < timedelta(minutes=5)
    assert REVOKE_SESSIONS_POLICY_NAME in aws.role_policies("web-app-role")
    assert aws.instance_states("us-east-1")[instance] == "running"
    assert groups_of(aws, instance).isdisjoint(original)
    assert "sessions of role web-app-role revoked" in report["headline"]


@pytest.mark.parametrize("interfaces", [1, 2])
def test_mining_instance_is_isolated_and_snapshotted_never_terminated(aws, invoke, interfaces):
    instance, original = web_instance(aws, interfaces=interfaces)
    ec2 = aws.client("ec2")
    volumes = [
        m["Ebs"]["VolumeId"]
        for m in ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0][
            "BlockDeviceMappings"
        ]
    ]

    report = invoke("guardduty", on_instance("guardduty-ec2-bitcoin-dns.json", instance))

    assert aws.instance_states("us-east-1")[instance] == "running"
    [quarantine] = groups_of(aws, instance)
    group = ec2.describe_security_groups(GroupIds=[quarantine])["SecurityGroups"][0]
    assert group["GroupName"] == QUARANTINE_GROUP_NAME
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == []
    snapshots = ec2.describe_snapshots(
        Filters=[{"Name": "tag:compromise-responder:findingId", "Values": ["c3d4e5f60718293a4b5c6d7e8f90a1b2"]}]
    )
    assert sorted(s["VolumeId"] for s in snapshots["Snapshots"]) == sorted(volumes)
    tags = {
        t["Key"]: t["Value"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance]}])["Tags"]
    }
    assert tags["compromise-responder:isolated"] == report["incidentId"]
    assert original[0] in tags["compromise-responder:original-security-groups-1"]
    assert f"instance {instance} isolated (not terminated)" in report["headline"]
    assert "snapshotted" in report["headline"]

    again = invoke("guardduty", on_instance("guardduty-ec2-bitcoin-dns.json", instance) | {"id": "another-delivery"})
    assert [a["status"] for a in again["actions"]] == ["skipped"]  # already isolated: the way back is kept
    assert len(
        ec2.describe_snapshots(Filters=[{"Name": "tag-key", "Values": ["compromise-responder:findingId"]}])["Snapshots"]
    ) == len(volumes)


def test_quarantine_group_is_created_once_per_vpc(aws, invoke):
    first, _ = web_instance(aws)
    ec2 = aws.client("ec2")
    second = ec2.run_instances(ImageId=aws.ami("us-east-1"), MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    invoke("guardduty", on_instance("guardduty-ec2-bitcoin-dns.json", first))
    invoke("guardduty", on_instance("guardduty-ec2-bitcoin-dns.json", second) | {"id": "second-finding"})
    assert groups_of(aws, first) == groups_of(aws, second)
    assert (
        len(
            ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [QUARANTINE_GROUP_NAME]}])[
                "SecurityGroups"
            ]
        )
        == 1
    )


def test_finding_on_a_rogue_instance_terminates_it(aws, invoke):
    aws.set_env(**ALLOWED)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    miner = attacker.run_instances("us-east-1", "t3.large")
    invoke("cloudtrail", miner.event)  # the ledger knows who launched it
    invoke("health", health_event(datetime.now(UTC)))  # ... and that credential is under an open incident
    rogue = miner.instance_ids[0]
    assert aws.instance_states("us-east-1")[rogue] == "terminated"  # the sweep already got it

    second = attacker.run_instances("us-east-1", "t3.large")  # launched, then seen by GuardDuty before the watcher
    aws.client("dynamodb").put_item(
        TableName=aws.tables["ledger"],
        Item={"pk": {"S": f"resource#{second.instance_ids[0]}"}, "sk": {"S": "launch"}, "accessKeyId": {"S": LEAKED_KEY},
              "eventName": {"S": "RunInstances"}, "region": {"S": "us-east-1"}},
    )  # fmt: skip
    report = invoke("guardduty", on_instance("guardduty-ec2-bitcoin-dns.json", second.instance_ids[0]))

    assert aws.instance_states("us-east-1")[second.instance_ids[0]] == "terminated"
    assert "rogue instance" in report["headline"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"severity": 5}, "below GUARDDUTY_MIN_SEVERITY"),
        (
            {"service": {"additionalInfo": {"sample": True}, "eventFirstSeen": "2026-11-20T05:58:00.000Z"}},
            "sample finding",
        ),
        ({"service": {"archived": True, "eventFirstSeen": "2026-11-20T05:58:00.000Z"}}, "archived"),
    ],
)
def test_low_sample_or_archived_findings_only_notify(aws, invoke, change, why):
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    before = aws.snapshot()

    report = invoke("guardduty", finding("guardduty-iamuser-malicious-ip-caller.json", **change))

    assert aws.snapshot() == before
    [note] = aws.notifications()
    assert why in note.summary and "notify only" in note.subject and report["actions"] == []


def test_the_sample_low_severity_finding_changes_nothing(aws, invoke):
    before = aws.snapshot()
    invoke("guardduty", load_event("guardduty-sample-low-severity.json"))
    assert aws.snapshot() == before and len(aws.notifications()) == 1


def test_protected_principal_and_protected_instance_are_not_touched(aws, invoke):
    aws.set_env(PROTECTED_PRINCIPALS="ci-deployer")
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    instance = (
        aws.create_user("ml-team", key_id=TEAM_KEY)
        .run_instances("us-east-1", "t3.large", tags={"compromise-responder:protect": "true"})
        .instance_ids[0]
    )
    before = aws.snapshot()

    invoke("guardduty", load_event("guardduty-iamuser-malicious-ip-caller.json"))
    report = invoke("guardduty", on_instance("guardduty-ec2-bitcoin-dns.json", instance))

    assert aws.snapshot() == before
    assert "protect tag" in report["actions"][0]["reason"]
    assert len(aws.notifications()) == 2


def test_root_finding_is_critical_and_changes_nothing(aws, invoke):
    event = load_event("guardduty-iamuser-malicious-ip-caller.json")
    event["detail"]["type"] = "Policy:IAMUser/RootCredentialUsage"
    event["detail"]["resource"]["accessKeyDetails"].update(userType="Root", userName="Root")
    before = aws.snapshot()

    report = invoke("guardduty", event)

    assert aws.snapshot() == before and report["severity"] == "critical"
    [note] = aws.notifications()
    assert note.subject.startswith("[CRITICAL]") and "ROOT" in note.subject


def test_unknown_finding_type_only_notifies(aws, invoke):
    event = load_event("guardduty-ec2-bitcoin-dns.json")
    event["detail"]["type"] = "Policy:S3/BucketBlockPublicAccessDisabled"
    event["detail"]["resource"] = {"resourceType": "S3Bucket"}
    before = aws.snapshot()
    report = invoke("guardduty", event)
    assert aws.snapshot() == before and report["actions"] == [] and len(aws.notifications()) == 1


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e["detail"].pop("resource"), "detail.resource"),
        (lambda e: e["detail"].update(severity=42), "detail.severity"),
        (lambda e: e["detail"].pop("type"), "detail.type"),
        (lambda e: e.update(source="aws.securityhub"), "source"),
    ],
)
def test_malformed_finding_names_the_field_and_changes_nothing(aws, invoke, mutate, field):
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    event = load_event("guardduty-iamuser-malicious-ip-caller.json")
    mutate(event)
    before = aws.snapshot()
    with pytest.raises(BadInput, match=f"'{field}'"):
        invoke("guardduty", event)
    assert aws.snapshot() == before and aws.notifications() == []
