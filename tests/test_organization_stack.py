"""The hub stack in organization mode, synthesized once (in-process, with cdk-nag), and its member template.

moto stores StackSets, event bus policies and IAM trust policies but deploys and evaluates none of them,
so who may assume the member role, what it may do and what the members forward are asserted here on the
synthesized documents.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from responder.parse.events import AccountOutcomeStep, AccountSweepStep, OrganizationReportStep
from responder.record.account_parts import LEASE_MARGIN_SECONDS, AccountSweepInProgress
from responder.shell import catalog

from compromise_responder.infra.rules import REGIONAL_CLOUDTRAIL_PATTERN
from compromise_responder.tools import deploy_checks
from compromise_responder.tools.iam_policy import evaluate, resolve
from compromise_responder.tools.policy_review import acknowledged_count, review, unacknowledged
from tests.templates import attached_role_policies, cfn_lint, resources

ROOT = Path(__file__).resolve().parent.parent
ORG_ID = "o-a1b2c3d4e5"
HUB = "123456789012"
MEMBER = "210987654321"
ORGANIZATION_CONTEXT = {
    "account": HUB,
    "organization": True,
    "organizationId": ORG_ID,
    "organizationTargets": "r-a1b2",  # a comma list, as `cdk -c` passes it
    "protectedAccounts": '["111122223333"]',  # a JSON list, as `cdk -c` passes it
    "organizationMaxConcurrency": 25,
    "organizationToleratedFailurePercentage": 5,
    "createTestEventRegistry": True,  # off by default (tests/test_stack.py); on, as a team that asks for it gets it
}


@pytest.fixture(scope="session")  # once per worker: xdist may interleave this file with others
def org_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cdk.org")
    script = f"""
import json
from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks
from compromise_responder.infra.config import load
from compromise_responder.infra.responder_stack import ResponderStack
context = json.load(open("cdk.json"))["context"] | json.loads({json.dumps(json.dumps(ORGANIZATION_CONTEXT))})
app = App(context=context, outdir={str(out)!r})
config = load(app.node.get_all_context())
ResponderStack(app, "CompromiseResponder", config=config, env=Environment(account=config.account, region="us-east-1"))
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
"""
    env = dict(
        os.environ,
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20,18",
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]  # cdk-nag failures fail the synth
    return out


@pytest.fixture(scope="session")  # once per worker: xdist may interleave this file with others
def hub(org_assembly: Path) -> dict[str, Any]:
    return json.loads((org_assembly / "CompromiseResponder.template.json").read_text())


def member_template(hub: dict[str, Any]) -> dict[str, Any]:
    """The StackSet's template body: a JSON string the hub stack assembles with Fn::Join (its role ARNs)."""
    [stack_set] = resources(hub, "AWS::CloudFormation::StackSet").values()
    body = stack_set["Properties"]["TemplateBody"]
    if isinstance(body, dict):  # Fn::Join of literal text and the hub's values (its role ARNs, account, region)
        body = "".join(part if isinstance(part, str) else _token(part) for part in body["Fn::Join"][1])
    return json.loads(body)


def _token(part: dict[str, Any]) -> str:
    """A hub-stack value inside the member template's text, named: ``<HealthRole9992383A.Arn>``, ``<AWS::Region>``."""
    if "Fn::GetAtt" in part:
        return "<{}.{}>".format(*part["Fn::GetAtt"])
    return f"<{part['Ref']}>"


def test_the_stack_set_is_service_managed_and_follows_the_organization(hub):
    [stack_set] = resources(hub, "AWS::CloudFormation::StackSet").values()
    props = stack_set["Properties"]
    assert props["PermissionModel"] == "SERVICE_MANAGED" and props["AutoDeployment"]["Enabled"] is True
    [group] = props["StackInstancesGroup"]
    assert group["DeploymentTargets"]["OrganizationalUnitIds"] == ["r-a1b2"]
    assert "us-east-1" in group["Regions"] and len(group["Regions"]) == 17
    assert props["Capabilities"] == ["CAPABILITY_NAMED_IAM"]


def test_only_the_hubs_functions_inside_the_organization_may_assume_the_member_role(hub):
    template = member_template(hub)
    role = template["Resources"]["MemberRole"]
    assert role["Condition"] == "IsHomeRegion" and role["Properties"]["RoleName"] == "CompromiseResponderMember"
    [statement] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
    assert set(statement["Principal"]) == {"AWS"} and statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": ORG_ID}
    }
    function_roles = {
        f"<{fn['Properties']['Role']['Fn::GetAtt'][0]}.Arn>" for fn in resources(hub, "AWS::Lambda::Function").values()
    }
    assert set(statement["Principal"]["AWS"]) == function_roles  # the hub's function roles, and nobody else


def test_the_member_role_may_do_exactly_what_responses_do_in_a_member_account(hub):
    documents = member_role_documents(member_template(hub))
    granted = {a for d in documents for s in d["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    assert granted == {p for c in catalog.member_capabilities() for p in c.permissions}
    assert not {a for a in granted if a.startswith(("dynamodb:", "sns:", "states:", "organizations:", "sts:"))}
    # deletes only of what holds no data: login profiles, fleets (their instances are terminated explicitly),
    # the responder's own tags and inline policies (release-principal)
    assert not [a for a in granted if a.startswith(("iam:Delete", "ec2:Delete")) and a not in (
        "iam:DeleteLoginProfile", "ec2:DeleteFleets", "ec2:DeleteTags", "iam:DeleteUserPolicy",
        "iam:DeleteRolePolicy")]  # fmt: skip


def test_members_forward_health_launch_and_iam_events_to_the_hub_bus(hub):
    resources = member_template(hub)["Resources"]
    rules = {k: v for k, v in resources.items() if v["Type"] == "AWS::Events::Rule"}
    patterns = {k: v["Properties"]["EventPattern"]["source"] for k, v in rules.items()}
    assert patterns == {
        "HealthNotices": ["aws.health"],
        "LaunchCalls": REGIONAL_CLOUDTRAIL_PATTERN["source"],  # EC2, Auto Scaling and every kind beyond EC2
        "IamCalls": ["aws.iam"],
    }
    assert {v["Condition"] for v in rules.values()} == {"NotHub", "IamEventsHere"}  # the hub never forwards to itself
    for rule in rules.values():
        [target] = rule["Properties"]["Targets"]
        assert ":event-bus/default" in json.dumps(target["Arn"]) and target["RoleArn"]


def test_the_hub_bus_admits_only_the_organization(hub):
    [policy] = resources(hub, "AWS::Events::EventBusPolicy").values()
    statement = policy["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}


WORKER_ARN = f"arn:aws:lambda:us-east-1:{HUB}:function:compromise-responder-organization"


def definition(hub: dict[str, Any]) -> dict[str, Any]:
    """The state machine's definition as Step Functions receives it (the worker's ARN resolved)."""
    [machine] = resources(hub, "AWS::StepFunctions::StateMachine").values()
    text = machine["Properties"]["DefinitionString"]
    if isinstance(text, dict):
        text = "".join(p if isinstance(p, str) else WORKER_ARN for p in text["Fn::Join"][1])
    return json.loads(text)  # type: ignore[no-any-return]


def test_the_distributed_map_sweeps_accounts_through_the_organization_function(hub):
    [machine] = resources(hub, "AWS::StepFunctions::StateMachine").values()
    states = definition(hub)["States"]
    [the_map] = [v for v in states.values() if v["Type"] == "Map"]
    assert the_map["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert the_map["MaxConcurrency"] == 25 and the_map["ToleratedFailurePercentage"] == 5
    assert the_map["ItemsPath"] == "$.accounts" and the_map["ResultPath"] is None
    selector = {k.removesuffix(".$") for k in the_map["ItemSelector"]}
    assert selector == set(AccountSweepStep.model_fields)  # exactly what the organization function accepts
    assert states[the_map["Next"]]["Type"] == "Task"
    report_fields = {k.removesuffix(".$") for k in states[the_map["Next"]]["Parameters"]}
    assert report_fields <= set(OrganizationReportStep.model_fields)
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}


def test_organization_settings_reach_every_function(hub):
    functions = resources(hub, "AWS::Lambda::Function")
    assert {f["Properties"]["Handler"] for f in functions.values()} == {
        f"handlers.{h}.handler" for h in catalog.handlers(organization=True)
    }
    for fn in functions.values():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert variables["MEMBER_ROLE_NAME"] == "CompromiseResponderMember"
        assert variables["PROTECTED_ACCOUNTS"] == "111122223333"
        assert "stateMachine:compromise-responder-organization-sweep" in json.dumps(
            variables["ORGANIZATION_SWEEP_STATE_MACHINE"]
        )


def test_functions_may_assume_only_the_member_role_only_inside_the_organization(hub):
    assume = [
        s
        for p in attached_role_policies(hub).values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sts:AssumeRole" in json.dumps(s["Action"])
    ]
    assert len(assume) == len(catalog.handlers(organization=True))
    for statement in assume:
        assert statement["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORG_ID}}
        assert json.dumps(statement["Resource"]).endswith(':iam::*:role/CompromiseResponderMember"]]}')


def test_cfn_lint_is_clean_on_the_hub_and_the_member_template(org_assembly, hub, tmp_path):
    member = tmp_path / "member.template.json"
    text = json.dumps(member_template(hub))
    for token, value in (("<AWS::Partition>", "aws"), ("<AWS::Region>", "us-east-1"), ("<AWS::AccountId>", HUB)):
        text = text.replace(token, value)
    member.write_text(re.sub(r"<[A-Za-z0-9]+\.Arn>", f"arn:aws:iam::{HUB}:role/responder", text))
    assert cfn_lint(org_assembly / "CompromiseResponder.template.json", member) == ""


def member_role_documents(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The member role's inline policy and the managed policies attached to it (what does not fit inline)."""
    [inline] = template["Resources"]["MemberRole"]["Properties"]["Policies"]
    attached = [r["Properties"]["PolicyDocument"] for r in resources(template, "AWS::IAM::ManagedPolicy").values()
                if {"Ref": "MemberRole"} in r["Properties"].get("Roles", [])]  # fmt: skip
    return [inline["PolicyDocument"], *attached]


def member_policy(hub: dict[str, Any], account: str = MEMBER) -> list[dict[str, Any]]:
    """The member role's policies as IAM holds them in one member account (its stack's ``${AWS::...}`` evaluated)."""
    pseudo = {"AWS::Partition": "aws", "AWS::AccountId": account}
    return [resolve(document, pseudo) for document in member_role_documents(member_template(hub))]


def test_the_member_role_cannot_write_on_itself_the_deployers_or_protected_principals(hub):
    policy = member_policy(hub)
    iam = f"arn:aws:iam::{MEMBER}"
    for action in ("iam:PutRolePolicy", "iam:DeleteRolePolicy"):
        for role in ("CompromiseResponderMember", "stacksets-exec-0123456789abcdef", "cdk-hnb659fds-deploy-role"):
            assert evaluate(action, f"{iam}:role/{role}", policy) == "explicit-deny", (action, role)
        assert evaluate(action, f"{iam}:role/deploy-role", policy) == "allow"
        assert evaluate(action, f"arn:aws:iam::{HUB}:role/deploy-role", policy) == "implicit-deny"  # its account only
    instance = f"arn:aws:ec2:eu-west-1:{MEMBER}:instance/i-0123456789abcdef0"
    assert evaluate("ec2:TerminateInstances", instance, policy) == "allow"
    assert evaluate("ec2:CreateTags", instance, policy, context={"aws:TagKeys": ["compromise-responder:protect"]}) == (
        "explicit-deny"
    )


def test_the_reviewers_tools_find_nothing_unacknowledged_in_the_member_role(hub):
    findings = review({"member-role": member_policy(hub)})
    assert unacknowledged(findings) == []
    assert f"on the member role: 0 unacknowledged, {acknowledged_count(findings)} acknowledged" in " ".join(
        (ROOT / "README.md").read_text().split()
    )


def test_asl_validator_accepts_the_organization_state_machine(hub, tmp_path):
    """An independent reading of the States Language (npm ``asl-validator``, pinned in package.json), ARNs and
    paths checked too."""
    path = tmp_path / "organization-sweep.asl.json"
    path.write_text(json.dumps(definition(hub)))
    done = subprocess.run(
        ["npx", "--no-install", "asl-validator", "--json-path", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "is valid" in done.stdout, done.stdout + done.stderr


def _waits(retrier: dict[str, Any]) -> float:
    """Seconds a retrier waits in all before its last attempt."""
    interval, rate = retrier.get("IntervalSeconds", 1), retrier.get("BackoffRate", 2.0)
    return float(sum(interval * rate**n for n in range(retrier.get("MaxAttempts", 3))))


def test_no_child_execution_can_end_before_the_function_it_waits_for(hub):
    """Both numbers read from the template: the worker's timeout and how long each task waits for it; a child
    is a Standard execution (Express ends after 300 s), the whole run has no timeout of its own."""
    [worker] = [f for f in resources(hub, "AWS::Lambda::Function").values()
                if f["Properties"]["Handler"] == "handlers.organization.handler"]  # fmt: skip
    function_seconds = worker["Properties"]["Timeout"]
    top = definition(hub)
    assert "TimeoutSeconds" not in top
    [the_map] = [v for v in top["States"].values() if v["Type"] == "Map"]
    processor = the_map["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert function_seconds > 300  # why Express cannot be the child's type
    tasks = {name: s for name, s in [*processor["States"].items(), *top["States"].items()] if s["Type"] == "Task"}
    assert set(tasks) == {"SweepAccount", "RecordAccountOutcome", "Report"}
    for name, task in tasks.items():
        assert task["Resource"] == WORKER_ARN and task["TimeoutSeconds"] > function_seconds, name
    sweep = processor["States"][processor["StartAt"]]
    # a timeout is never retried (the function ended at its own timeout; what it did is in its part) ...
    retried = {e for r in sweep["Retry"] for e in r["ErrorEquals"]}
    assert not retried & {"States.ALL", "States.TaskFailed", "States.Timeout", "Sandbox.Timedout", "Lambda.Unknown"}
    # ... and a retry that meets the lease of an invocation still running waits, in all, longer than it may run
    [in_progress] = [r for r in sweep["Retry"] if r["ErrorEquals"] == [AccountSweepInProgress.__name__]]
    assert _waits(in_progress) > function_seconds + LEASE_MARGIN_SECONDS
    # every item's end reaches the report: its error is recorded; a failed map still runs the report
    [catch] = sweep["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "RecordAccountOutcome"
    recorded = {k.removesuffix(".$") for k in processor["States"]["RecordAccountOutcome"]["Parameters"]}
    assert recorded == set(AccountOutcomeStep.model_fields)
    assert [c["Next"] for c in the_map["Catch"]] == [the_map["Next"]] == ["Report"]
    assert the_map["Catch"][0]["ResultPath"] not in (None, "$")  # the report keeps the run's input


def test_the_state_machine_waits_for_its_roles_policy(hub):
    """CreateStateMachine checks that the role may deliver logs: the role's policy must exist first."""
    [machine] = resources(hub, "AWS::StepFunctions::StateMachine").values()
    role_arn = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    [policy] = [k for k, p in resources(hub, "AWS::IAM::Policy").items()
                if {"Ref": role_arn} in p["Properties"]["Roles"]]  # fmt: skip
    assert policy in machine["DependsOn"]
    statements = resources(hub, "AWS::IAM::Policy")[policy]["Properties"]["PolicyDocument"]["Statement"]
    assert any("logs:CreateLogDelivery" in s["Action"] for s in statements)


def test_with_create_test_event_registry_the_registry_is_kept_and_each_function_has_its_test_events(hub):
    [registry] = resources(hub, "AWS::EventSchemas::Registry").values()
    assert registry["Properties"]["RegistryName"] == "lambda-testevent-schemas"
    assert registry["DeletionPolicy"] == "Retain"  # destroy never deletes it: others' test events live there
    schemas = resources(hub, "AWS::EventSchemas::Schema").values()
    functions = resources(hub, "AWS::Lambda::Function")
    assert len(schemas) == len(catalog.handlers(True))
    events_dir = ROOT / "events"
    for schema in schemas:
        props = schema["Properties"]
        assert props["RegistryName"] == "lambda-testevent-schemas" and props["Type"] == "OpenApi3"
        [logical] = [p["Ref"] for p in props["SchemaName"]["Fn::Join"][1] if isinstance(p, dict)]
        handler = functions[logical]["Properties"]["Handler"].split(".")[1]
        examples = json.loads(props["Content"])["components"]["examples"]
        assert set(examples) == {p.stem for p in events_dir.glob(f"{handler}-*.json")}
        for name, example in examples.items():
            assert example["value"] == json.loads((events_dir / f"{name}.json").read_text())


def test_the_hub_and_the_member_template_fit_iams_quotas_and_key_policies(hub):
    assert deploy_checks.template_problems(hub, "CompromiseResponder", HUB, "us-east-1") == []
    member = member_template(hub)
    member["Resources"] = {k: {**v, "Condition": None} for k, v in member["Resources"].items()}
    refs = deploy_checks.synthetic_refs(member, "StackSet-compromise-responder-member", MEMBER, "us-east-1")
    assert deploy_checks.quota_problems(json.loads(re.sub(r"<[^>]+>", "x" * 64, json.dumps(member))), refs) == []


def test_organization_mode_logs_every_account_with_an_organization_trail(hub):
    """Members' "AWS API Call via CloudTrail" events reach their EventBridge only under a logging trail: the hub's
    trail is an organization trail (every account, the management account included)."""
    [trail] = resources(hub, "AWS::CloudTrail::Trail").values()
    assert trail["Properties"]["IsOrganizationTrail"] is True and trail["Properties"]["IsMultiRegionTrail"]
    policies = [p["Properties"]["PolicyDocument"] for p in resources(hub, "AWS::S3::BucketPolicy").values()]
    assert any(f"AWSLogs/{ORG_ID}/" in json.dumps(p) for p in policies)  # the members' log files may be written
