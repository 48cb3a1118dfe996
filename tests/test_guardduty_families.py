"""GuardDuty finding families (contract "GuardDuty finding families"): one real-shaped finding per family through
the real handler on emulated AWS, AWS's resulting state and the report asserted; every documented finding type
lands on a row of the table; GuardDuty's severity band is kept end to end; README and the table stay equal."""

from __future__ import annotations

import copy
import io
import json
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from responder.actions.iam import REVOKE_SESSIONS_POLICY_NAME
from responder.actions.isolation import QUARANTINE_GROUP_NAME
from responder.actions.role_session import REVOKE_SESSION_POLICY_NAME
from responder.findings import families, family_for, readme_table
from responder.findings.documented import DOCUMENTED_TYPES, DOCUMENTED_TYPES_SOURCE
from responder.findings.models import severity_band
from responder.findings.notify_only import FALLBACK
from responder.parse.events import parse_guardduty

from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, TEAM_KEY
from tests.conftest import security_groups
from tests.report_truth import assert_truthful

FIXTURES = Path(__file__).parent / "fixtures" / "guardduty"
README = Path(__file__).resolve().parents[1] / "README.md"
ALLOWED = {"ALLOWED_REGIONS": "us-east-1,eu-west-1", "SWEEP_REGIONS": "us-east-1,eu-west-1,sa-east-1"}
TRUST = json.dumps({"Version": "2012-10-17", "Statement": []})


def fixture(name: str) -> dict[str, Any]:
    event = json.loads((FIXTURES / name).read_text())
    event["id"] = str(uuid.uuid4())  # each test its own delivery
    return event


def role(aws, name: str) -> str:
    return aws.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]


def instance(aws) -> tuple[str, str]:
    """The team's instance in the default VPC with its own security group."""
    ec2 = aws.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName=f"app-{uuid.uuid4().hex[:6]}", Description="app", VpcId=vpc)["GroupId"]
    found = ec2.run_instances(ImageId=aws.ami("us-east-1"), MinCount=1, MaxCount=1, InstanceType="t3.large",
                              SecurityGroupIds=[group])["Instances"][0]  # fmt: skip
    return found["InstanceId"], group


def quarantined(aws, group_ids: set[str]) -> bool:
    groups = aws.client("ec2").describe_security_groups(GroupIds=sorted(group_ids))["SecurityGroups"]
    return [g["GroupName"] for g in groups] == [QUARANTINE_GROUP_NAME]


def ecs_task(aws, *, tags: dict[str, str] | None = None) -> tuple[str, str, str]:
    """A Fargate task (awsvpc: its own network interface) in cluster ``prod``: (task ARN, ENI, original group)."""
    ecs, ec2 = aws.client("ecs"), aws.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    group = ec2.create_security_group(GroupName="web-task", Description="web task", VpcId=vpc)["GroupId"]
    cluster = ecs.create_cluster(clusterName="prod")["cluster"]["clusterArn"]
    definition = ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "web", "image": "public.ecr.aws/nginx/nginx:latest", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
    task = ecs.run_task(
        cluster=cluster, taskDefinition=definition, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
        tags=[{"key": k, "value": v} for k, v in (tags or {}).items()],
    )["tasks"][0]  # fmt: skip
    eni = next(d["value"] for a in task["attachments"] for d in a["details"] if d["name"] == "networkInterfaceId")
    return task["taskArn"], eni, group


def eni_groups(aws, eni: str) -> set[str]:
    described = aws.client("ec2").describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
    return {g["GroupId"] for g in described["Groups"]}


def note_of(aws) -> Any:
    [note] = aws.notifications()
    return note


# --- attack sequences ---------------------------------------------------------------------------------------
def test_iam_attack_sequence_contains_the_key_cuts_the_session_and_lists_bucket_and_foreign_key(aws, invoke):
    aws.set_env(**ALLOWED)
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    role(aws, "deploy-role")

    report = invoke("guardduty", fixture("attack-sequence-iam-compromised-credentials.json"))
    assert_truthful(aws, report, aws.notifications())

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert "compromise-responder-quarantine" in aws.user_policies("ci-deployer")
    [statement] = aws.role_policies("deploy-role")[REVOKE_SESSION_POLICY_NAME]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Action"] == "*"
    assert statement["Condition"] == {"StringEquals": {"aws:userid": ["AROACKCEVSQ6C2EXAMPLE:attacker-session"]}}
    assert REVOKE_SESSIONS_POLICY_NAME not in aws.role_policies("deploy-role")  # only that session, not the role's
    done = {(a["action"], a["target"]) for a in report["actions"] if a["status"] == "done"}
    assert {("deactivate-access-key", LEAKED_KEY), ("revoke-session", "deploy-role")} <= done
    assert "AKIAI44QH8DHBEXAMPLE" not in {a["target"] for a in report["actions"]}  # another account's key
    todo = " ".join(report["needsHuman"])
    assert "example-bucket" in todo and "NOT ACTED ON" in todo and "111122223333" in todo
    note = note_of(aws)
    assert report["severity"] == "critical" and note.attributes["severity"] == "critical"
    assert note.subject.startswith("[CRITICAL]") and "AttackSequence:IAM/CompromisedCredentials" in note.subject


@pytest.mark.parametrize("protected", [False, True])
def test_s3_attack_sequence_cuts_the_named_session_unless_the_role_is_protected(aws, invoke, protected):
    if protected:
        aws.set_env(PROTECTED_PRINCIPALS="data-pipeline-role")
    role(aws, "data-pipeline-role")

    report = invoke("guardduty", fixture("attack-sequence-s3-compromised-data.json"))
    assert_truthful(aws, report, aws.notifications())

    [step] = [a for a in report["actions"] if a["action"] == "revoke-session"]  # actor and key: one session
    if protected:
        assert aws.role_policies("data-pipeline-role") == {} and step["status"] == "skipped"
        assert "protected principal" in step["reason"]
    else:
        document = aws.role_policies("data-pipeline-role")[REVOKE_SESSION_POLICY_NAME]
        assert document["Statement"][0]["Condition"]["StringEquals"]["aws:userid"] == ["AROAJQABLZS4A3EXAMPLE:exfil"]
        assert step["status"] == "done"
    assert any("example-bucket" in t for t in report["needsHuman"])
    assert report["severity"] == "critical"


def test_a_second_session_cut_on_the_same_role_keeps_the_first(aws, invoke):
    role(aws, "data-pipeline-role")
    invoke("guardduty", fixture("attack-sequence-s3-compromised-data.json"))
    second = fixture("attack-sequence-s3-compromised-data.json")
    actor = second["detail"]["service"]["detection"]["sequence"]["actors"][0]["user"]
    actor["uid"] = "AROAJQABLZS4A3EXAMPLE:second"
    second["detail"]["service"]["detection"]["sequence"]["resources"].pop()  # only the actor names it

    invoke("guardduty", second)

    document = aws.role_policies("data-pipeline-role")[REVOKE_SESSION_POLICY_NAME]
    assert document["Statement"][0]["Condition"]["StringEquals"]["aws:userid"] == [
        "AROAJQABLZS4A3EXAMPLE:exfil",
        "AROAJQABLZS4A3EXAMPLE:second",
    ]


def test_ec2_attack_sequence_isolates_every_instance_named_and_of_the_named_group(aws, invoke):
    named, _ = instance(aws)
    member, _ = instance(aws)
    bystander, bystander_group = instance(aws)
    event = fixture("attack-sequence-ec2-compromised-instance-group.json")
    resources = event["detail"]["service"]["detection"]["sequence"]["resources"]
    resources[0]["uid"] = named
    resources[1]["data"]["autoscalingAutoScalingGroup"]["ec2InstanceUids"] = [member]

    report = invoke("guardduty", event)
    assert_truthful(aws, report, aws.notifications())

    ec2 = aws.client("ec2")
    assert quarantined(aws, security_groups(ec2, named)) and quarantined(aws, security_groups(ec2, member))
    assert security_groups(ec2, bystander) == {bystander_group}
    assert {aws.instance_states("us-east-1")[i] for i in (named, member)} == {"running"}  # evidence kept
    isolated = {a["target"] for a in report["actions"] if a["action"] == "isolate-instance" and a["status"] == "done"}
    assert isolated == {named, member}
    assert report["severity"] == "critical"


def test_ecs_attack_sequence_isolates_the_task_and_keeps_it_running(aws, invoke):
    task, eni, original = ecs_task(aws)
    event = fixture("attack-sequence-ecs-compromised-cluster.json")
    event["detail"]["service"]["detection"]["sequence"]["resources"][1]["uid"] = task

    report = invoke("guardduty", event)
    assert_truthful(aws, report, aws.notifications())

    assert quarantined(aws, eni_groups(aws, eni))
    [step] = [a for a in report["actions"] if a["action"] == "isolate-task"]
    assert step["status"] == "done" and original in step["detail"]
    described = aws.client("ecs").describe_tasks(cluster="prod", tasks=[task])["tasks"][0]
    assert described["desiredStatus"] == "RUNNING"  # never stopped: the task is evidence
    assert "ECS task" in report["headline"] and "isolated" in report["headline"]


def test_eks_attack_sequence_is_a_critical_notification_naming_cluster_and_workload(aws, invoke):
    before = aws.snapshot()
    report = invoke("guardduty", fixture("attack-sequence-eks-compromised-cluster.json"))
    assert_truthful(aws, report, aws.notifications())
    assert aws.snapshot() == before and report["actions"] == []
    note = note_of(aws)
    assert note.subject.startswith("[CRITICAL]") and note.attributes["severity"] == "critical"
    todo = " ".join(report["needsHuman"])
    assert "prod-eks" in todo and "miner" in todo


# --- instance, task, container, Lambda ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["runtime-instance-trojan.json", "malware-ec2-malicious-file.json"])
def test_runtime_and_malware_findings_on_an_instance_isolate_it(aws, invoke, name):
    target, _ = instance(aws)
    event = fixture(name)
    event["detail"]["resource"]["instanceDetails"]["instanceId"] = target

    report = invoke("guardduty", event)
    assert_truthful(aws, report, aws.notifications())

    assert quarantined(aws, security_groups(aws.client("ec2"), target))
    assert aws.instance_states("us-east-1")[target] == "running"
    assert f"instance {target} isolated (not terminated)" in report["headline"]
    assert report["severity"] == "high" and note_of(aws).attributes["severity"] == "high"


def test_recon_below_high_only_notifies_even_when_the_gate_lets_it_through(aws, invoke):
    aws.set_env(GUARDDUTY_MIN_SEVERITY="4")
    target, group = instance(aws)
    event = fixture("recon-ec2-portscan-medium.json")
    event["detail"]["resource"]["instanceDetails"]["instanceId"] = target

    report = invoke("guardduty", event)
    assert_truthful(aws, report, aws.notifications())

    assert security_groups(aws.client("ec2"), target) == {group} and report["actions"] == []
    assert report["severity"] == "medium" and note_of(aws).subject.startswith("[MEDIUM]")


@pytest.mark.parametrize("protect", [False, True])
def test_ecs_task_finding_isolates_the_task_unless_it_carries_the_protect_tag(aws, invoke, protect):
    task, eni, original = ecs_task(aws, tags={"compromise-responder:protect": "true"} if protect else None)
    event = fixture("runtime-ecs-task-container-escape.json")
    event["detail"]["resource"]["ecsClusterDetails"]["taskDetails"]["arn"] = task

    report = invoke("guardduty", event)
    assert_truthful(aws, report, aws.notifications())

    [step] = report["actions"]
    if protect:
        assert eni_groups(aws, eni) == {original} and step["status"] == "skipped"
    else:
        assert quarantined(aws, eni_groups(aws, eni)) and step["status"] == "done"
        tags = aws.client("ec2").describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
        recorded = {t["Key"]: t["Value"] for t in tags["TagSet"]}
        assert recorded["compromise-responder:original-security-groups-1"] == f"{eni}={original}"  # the way back


def test_standalone_container_is_a_critical_notification_naming_its_host(aws, invoke):
    before = aws.snapshot()
    report = invoke("guardduty", fixture("runtime-standalone-container.json"))
    assert_truthful(aws, report, aws.notifications())
    assert aws.snapshot() == before and report["actions"] == []
    assert report["severity"] == "critical" and note_of(aws).attributes["severity"] == "critical"
    assert "batch-worker" in report["needsHuman"][0] and "i-0123456789abcdef0" in report["needsHuman"][0]


def test_lambda_finding_throttles_the_function_and_revokes_its_role_sessions_keeping_the_code(aws, invoke):
    aws.set_env(SECURITY_HUB_FINDINGS="true")
    aws.client("securityhub").enable_security_hub()
    role_arn = role(aws, "image-resizer-role")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    lam = aws.client("lambda")
    created = lam.create_function(FunctionName="image-resizer", Runtime="python3.12", Role=role_arn,
                                  Handler="index.handler", Code={"ZipFile": code.getvalue()})  # fmt: skip

    report = invoke("guardduty", fixture("lambda-backdoor-cc-activity.json"))
    assert_truthful(aws, report, aws.notifications())

    assert lam.get_function_concurrency(FunctionName="image-resizer")["ReservedConcurrentExecutions"] == 0
    assert lam.get_function(FunctionName="image-resizer")["Configuration"]["CodeSha256"] == created["CodeSha256"]
    [statement] = aws.role_policies("image-resizer-role")[REVOKE_SESSIONS_POLICY_NAME]["Statement"]
    assert "aws:TokenIssueTime" in statement["Condition"]["DateLessThan"]
    assert {(a["action"], a["status"]) for a in report["actions"]} == {
        ("throttle-function", "done"),
        ("revoke-role-sessions", "done"),
    }
    assert "throttled" in report["headline"]
    [found] = aws.findings().values()
    assert found["Severity"]["Label"] == "HIGH"
    assert {"AwsLambdaFunction", "AwsIamRole"} <= {r["Type"] for r in found["Resources"]}


# --- credentials in S3 findings -----------------------------------------------------------------------------
def test_s3_finding_naming_an_iam_users_key_contains_the_key_and_lists_the_bucket(aws, invoke):
    aws.set_env(**ALLOWED)
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    report = invoke("guardduty", fixture("s3-exfiltration-iamuser.json"))
    assert_truthful(aws, report, aws.notifications())
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert any("example-bucket" in t for t in report["needsHuman"])


def test_s3_policy_finding_by_an_assumed_role_does_not_revoke_its_sessions(aws, invoke):
    role(aws, "admin-role")
    before = aws.snapshot()
    report = invoke("guardduty", fixture("s3-policy-anonymous-access-assumedrole.json"))
    assert_truthful(aws, report, aws.notifications())
    assert aws.snapshot() == before and report["actions"] == []
    assert "example-bucket" in " ".join(report["needsHuman"]) and report["severity"] == "high"


# --- notify-only families -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("eks-audit-exec-in-kube-system.json", "prod-eks"),
        ("rds-anomalous-successful-login.json", "orders-db"),
        ("malware-s3-object.json", "s3://example-bucket/uploads/invoice.pdf.exe"),
    ],
)
def test_families_without_a_safe_change_notify_naming_target_and_next_step(aws, invoke, name, named):
    before = aws.snapshot()
    report = invoke("guardduty", fixture(name))
    assert_truthful(aws, report, aws.notifications())
    assert aws.snapshot() == before and report["actions"] == []
    note = note_of(aws)
    assert named in " ".join(report["needsHuman"]) and named in note.body
    assert note.attributes["severity"] == "high" and note.subject.startswith("[HIGH]")


# --- severity: GuardDuty's band end to end ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("severity", "band"), [(10.0, "critical"), (9.0, "critical"), (8.9, "high"), (7.0, "high"), (6.9, "medium"),
                           (4.0, "medium"), (3.9, "low"), (1.0, "low")],
)  # fmt: skip
def test_severity_bands(severity, band):
    assert severity_band(severity) == band


def test_a_critical_finding_that_only_notifies_is_a_critical_security_hub_finding(aws, invoke):
    aws.set_env(SECURITY_HUB_FINDINGS="true")
    aws.client("securityhub").enable_security_hub()
    report = invoke("guardduty", fixture("attack-sequence-eks-compromised-cluster.json"))
    assert_truthful(aws, report, aws.notifications())
    [found] = aws.findings().values()
    assert found["Severity"]["Label"] == "CRITICAL" and report["actions"] == []


def test_a_gated_finding_keeps_its_band(aws, invoke):
    event = fixture("attack-sequence-eks-compromised-cluster.json")
    event["detail"]["service"]["archived"] = True
    report = invoke("guardduty", event)
    assert_truthful(aws, report, aws.notifications())
    assert report["severity"] == "critical" and "archived" in note_of(aws).subject


# --- the table ----------------------------------------------------------------------------------------------
def minimal(finding_type: str, resource_type: str, user_type: str = "IAMUser", severity: float = 8.0) -> dict:
    event = json.loads((FIXTURES / "runtime-instance-trojan.json").read_text())
    detail = event["detail"]
    detail["type"], detail["severity"] = finding_type, severity
    detail["resource"] = {"resourceType": resource_type}
    if resource_type in ("AccessKey", "S3Bucket"):
        key = "AKIAIOSFODNN7EXAMPLE" if user_type == "IAMUser" else "ASIAIOSFODNN7EXAMPLE"
        detail["resource"]["accessKeyDetails"] = {"accessKeyId": key, "userName": "ci-deployer", "userType": user_type}
    return event


@pytest.mark.parametrize(("finding_type", "resource_type"), DOCUMENTED_TYPES)
def test_every_documented_finding_type_lands_on_a_row(finding_type, resource_type):
    family = family_for(parse_guardduty(minimal(finding_type, resource_type)).detail)
    assert family is not FALLBACK, f"{finding_type} ({resource_type}) falls through: {DOCUMENTED_TYPES_SOURCE}"


@pytest.mark.parametrize(
    ("finding_type", "resource_type", "user_type", "severity", "response"),
    [
        ("AttackSequence:IAM/CompromisedCredentials", "AttackSequence", "", 9.0, "contain-sequence-credentials"),
        ("AttackSequence:S3/CompromisedData", "AttackSequence", "", 9.0, "contain-sequence-credentials"),
        ("AttackSequence:EC2/CompromisedInstanceGroup", "AttackSequence", "", 9.0, "isolate-sequence-instances"),
        ("AttackSequence:ECS/CompromisedCluster", "AttackSequence", "", 9.0, "isolate-sequence-tasks"),
        ("AttackSequence:EKS/CompromisedCluster", "AttackSequence", "", 9.0, "notify-critical"),
        ("Exfiltration:IAMUser/AnomalousBehavior", "AccessKey", "AssumedRole", 8.0, "revoke-role-sessions"),
        ("Policy:IAMUser/RootCredentialUsage", "AccessKey", "AssumedRole", 8.0, "notify-only"),
        ("Recon:IAMUser/MaliciousIPCaller", "AccessKey", "AssumedRole", 8.0, "notify-only"),
        ("Policy:S3/BucketAnonymousAccessGranted", "S3Bucket", "AssumedRole", 8.0, "notify-only"),
        ("Exfiltration:S3/AnomalousBehavior", "S3Bucket", "IAMUser", 8.0, "contain-access-key"),
        ("Exfiltration:S3/AnomalousBehavior", "S3Bucket", "AssumedRole", 8.0, "revoke-role-sessions"),
        ("PenTest:IAMUser/KaliLinux", "AccessKey", "IAMUser", 8.0, "notify-only"),
        ("Trojan:Runtime/DropPoint", "Instance", "", 8.0, "isolate-instance"),
        ("PrivilegeEscalation:Runtime/RuncContainerEscape", "Instance", "", 8.0, "isolate-instance"),
        ("DefenseEvasion:Runtime/ProcessInjection.Proc", "Instance", "", 8.0, "isolate-instance"),
        ("Execution:EC2/MaliciousFile", "Instance", "", 8.0, "isolate-instance"),
        ("Recon:EC2/Portscan", "Instance", "", 5.0, "notify-only"),
        ("Recon:EC2/PortProbeEMRUnprotectedPort", "Instance", "", 8.0, "isolate-instance"),
        ("Behavior:EC2/NetworkPortUnusual", "Instance", "", 5.0, "notify-only"),
        ("Execution:Runtime/ReverseShell", "ECSCluster", "", 8.0, "isolate-task"),
        ("Execution:Runtime/ReverseShell", "Container", "", 8.0, "notify-container"),
        ("Execution:Runtime/ReverseShell", "EKSCluster", "", 8.0, "notify-human"),
        ("Backdoor:Lambda/C&CActivity.B", "Lambda", "", 8.0, "throttle-function"),
        ("Object:S3/MaliciousFile", "S3Object", "", 8.0, "notify-human"),
    ],
)
def test_rows(finding_type, resource_type, user_type, severity, response):
    event = minimal(finding_type, resource_type, user_type or "IAMUser", severity)
    assert family_for(parse_guardduty(event).detail).response == response


def test_the_documented_types_list_says_where_it_comes_from():
    assert DOCUMENTED_TYPES_SOURCE.startswith("https://docs.aws.amazon.com/guardduty/")
    assert len({t for t, _ in DOCUMENTED_TYPES}) > 150


def test_readme_finding_table_is_generated_from_the_rows():
    text = README.read_text()
    found = re.search(r"<!-- finding-table:start -->\n(.*?)\n<!-- finding-table:end -->", text, re.S)
    assert found, "README lacks the generated finding table markers"
    assert found.group(1) == readme_table(), "README's finding table differs: paste readme_table() between the markers"
    assert len(families()) == readme_table().count("\n") - 1


def test_fixtures_are_valid_findings():
    for path in sorted(FIXTURES.glob("*.json")):
        parse_guardduty(copy.deepcopy(json.loads(path.read_text())))


def test_a_sequence_naming_a_protected_users_key_contains_the_other_and_lists_it(aws, invoke):
    aws.set_env(PROTECTED_PRINCIPALS="break-glass", **ALLOWED)
    aws.create_user("break-glass", key_id=TEAM_KEY)
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    role(aws, "deploy-role")
    event = fixture("attack-sequence-iam-compromised-credentials.json")
    actors = event["detail"]["service"]["detection"]["sequence"]["actors"]
    actors[2]["user"].update(name="break-glass", account={"uid": "123456789012"})
    actors.insert(0, actors.pop())  # the protected user's key named first

    report = invoke("guardduty", event)
    assert_truthful(aws, report, aws.notifications())

    assert aws.key_status("break-glass") == {TEAM_KEY: "Active"}
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert report["severity"] == "critical"
    assert any("break-glass" in t and "PROTECTED_PRINCIPALS" in t for t in report["needsHuman"])
