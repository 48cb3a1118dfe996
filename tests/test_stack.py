"""The synthesized stack, from one real `npx cdk synth` per session (cdk-nag runs inside it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from responder.core import own_names
from responder.core.table_keys import TABLES
from responder.shell import catalog

from compromise_responder.infra.config import ContextError, load
from compromise_responder.infra.policy_documents import INFRA_ACTIONS
from compromise_responder.tools import deploy_checks
from compromise_responder.tools.emulator import EmulatedAws
from compromise_responder.tools.emulator.scenarios import load_event
from compromise_responder.tools.iam_policy import evaluate, statements_of
from compromise_responder.tools.policy_review import acknowledged_count, resource_types, review, unacknowledged
from tests.templates import ACCOUNT, attached_role_policies, cfn_lint, refs, resources, role_of

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_VARIABLES = {
    "NOTIFY_TOPIC_ARN",
    "RESPONSE_MODE",
    "PROTECT_TAG_KEY",
    "PROTECTED_PRINCIPALS",
    "ALLOWED_REGIONS",
    "SUSPICIOUS_INSTANCE_TYPES",
    "INCIDENT_LOOKBACK_HOURS",
    "GUARDDUTY_MIN_SEVERITY",
    "SECURITY_HUB_FINDINGS",
}
HANDLERS = {
    "health": "handlers.health.handler",
    "guardduty": "handlers.guardduty.handler",
    "cloudtrail": "handlers.cloudtrail.handler",
    "runbook": "handlers.runbook.handler",
    "heartbeat": "handlers.heartbeat.handler",
}
# The settings the template tests assume, passed as the CLI passes them (strings): a JSON list and comma lists.
CHAT_CHANNELS = [
    {"type": "slack", "name": "security-oncall", "workspaceId": "T07EA123LEP", "channelId": "C07EZ1ABC23"},
    {
        "type": "teams",
        "name": "security-oncall-teams",
        "teamId": "74361522-da01-538d-aa2e-ac7918c6bb92",
        "tenantId": "5f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "channelId": "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2",
    },
]
# 40 protected principals (names and ARNs): the boundary and every role policy must still fit IAM's quotas.
PROTECTED = [
    "break-glass-admin",
    *(f"platform-admin-{n:02d}" for n in range(19)),
    *(f"arn:aws:iam::123456789012:role/OrganizationAccountAccessRole{n:02d}" for n in range(20)),
]
SYNTH_CONTEXT = {
    "notifyEmails": '["security-oncall@example.com"]',
    "protectedPrincipals": ",".join(PROTECTED),
    "allowedRegions": "us-east-1,eu-west-1",
    "securityHubFindings": "true",
    "chatChannels": json.dumps(CHAT_CHANNELS),
}


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`npx cdk synth` with the pinned CLI: catches CLI/library schema mismatches too. No credentials of
    the caller reach it (the template stays account-agnostic, and no real account is asked)."""
    out = tmp_path_factory.mktemp("cdk.out")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,18")
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    context = [arg for key, value in SYNTH_CONTEXT.items() for arg in ("-c", f"{key}={value}")]
    done = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(out), *context],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"cdk synth failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return out


@pytest.fixture(scope="session")
def template(assembly: Path) -> dict[str, Any]:
    return json.loads((assembly / "CompromiseResponder.template.json").read_text())


def team_topic(template: dict[str, Any]) -> str:
    [logical] = [k for k, t in resources(template, "AWS::SNS::Topic").items()
                 if t["Properties"].get("TopicName") == own_names.TOPIC]  # fmt: skip
    return logical


def function_of(template: dict[str, Any], handler: str) -> tuple[str, dict[str, Any]]:
    for logical, fn in resources(template, "AWS::Lambda::Function").items():
        if fn["Properties"]["Handler"] == HANDLERS[handler]:
            return logical, fn
    raise AssertionError(f"no function for {handler}")


def test_cdk_nag_passes_and_every_acknowledgment_has_a_reason(assembly):
    report = json.loads((assembly / "validation-report.json").read_text())
    failures = [v for plugin in report.get("pluginReports", []) for v in plugin.get("violations", [])]
    assert failures == []
    metadata = json.loads((assembly / "CompromiseResponder.metadata.json").read_text())
    acknowledged = {
        rule: reason
        for entries in metadata.values()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule, reason in entry["data"].items()
    }
    assert any("AwsSolutions-IAM5" in rule for rule in acknowledged)
    assert all(len(reason) >= 20 for reason in acknowledged.values()), acknowledged


def test_cfn_lint_is_clean(assembly):
    assert cfn_lint(*sorted(assembly.glob("*.template.json"))) == ""


@pytest.mark.parametrize("handler", list(HANDLERS))
def test_every_function_has_every_variable_it_reads(template, handler):
    _, fn = function_of(template, handler)
    props = fn["Properties"]
    variables = props["Environment"]["Variables"]
    assert set(variables) >= CONTRACT_VARIABLES
    assert variables["ALLOWED_REGIONS"] == "us-east-1,eu-west-1"  # a comma list from -c
    assert variables["PROTECTED_PRINCIPALS"] == ",".join(PROTECTED)
    assert variables["SECURITY_HUB_FINDINGS"] == "true"
    assert variables["ACTIVITY_BUDGET_SECONDS"] == "60"  # read by the key containment and the activity runbook
    assert variables["NOTIFY_TOPIC_ARN"] == {"Ref": team_topic(template)}
    for symbol in catalog.tables_for(handler):
        logical = symbol.split(":", 1)[1]
        ref = variables[TABLES[logical]["env"]]
        assert ref["Ref"] in resources(template, "AWS::DynamoDB::Table")
    assert props["Runtime"] == "python3.13" and props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert any("AWSLambdaPowertoolsPythonV3-python313-arm64" in json.dumps(layer) for layer in props["Layers"])


def _policy_actions(template: dict[str, Any], role_logical: str) -> set[str]:
    """What the role's policies allow (the configuration's denies are statements too, not grants)."""
    actions: set[str] = set()
    for policy in attached_role_policies(template).values():
        if {"Ref": role_logical} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found = statement["Action"]
                if statement["Effect"] == "Allow":
                    actions |= {found} if isinstance(found, str) else set(found)
    return actions


@pytest.mark.parametrize("handler", list(HANDLERS))
def test_function_iam_actions_are_exactly_the_declared_ones(template, handler):
    _, fn = function_of(template, handler)
    role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    granted = _policy_actions(template, role) - set(INFRA_ACTIONS)
    assert granted == catalog.permissions_for(handler, security_hub=True)  # securityHubFindings is on
    removes_no_data = ("iam:DeleteLoginProfile", "iam:DeleteUserPolicy", "iam:DeleteRolePolicy", "ec2:DeleteFleets",
                       "ec2:DeleteTags")  # fmt: skip
    assert not [
        p
        for p in granted
        if p.endswith("*") or (p.startswith(("iam:Delete", "ec2:Delete")) and p not in removes_no_data)
    ]


def test_no_function_may_delete_data(template):
    granted = set()
    for policy in attached_role_policies(template).values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            granted |= {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])
    for forbidden in (
        "ec2:DeleteVolume",
        "ec2:DeleteSnapshot",
        "s3:Delete",
        "iam:DeleteUser",  # iam:DeleteUserPolicy (release-principal) removes only the responder's own policy
        "iam:DeleteAccessKey",
        "rds:Delete",
        "dynamodb:DeleteTable",
    ):
        assert not [g for g in granted if g == forbidden or (forbidden.endswith(":Delete") and g.startswith(forbidden))]


def test_failures_reach_a_dead_letter_queue_and_an_alarm(template):
    configs = resources(template, "AWS::Lambda::EventInvokeConfig")
    assert len(configs) == len(HANDLERS)
    for config in configs.values():
        props = config["Properties"]
        assert props["MaximumRetryAttempts"] == 2
        assert "OnFailure" in props["DestinationConfig"]
    alarms = [a for a in resources(template, "AWS::CloudWatch::Alarm").values()
              if a["Properties"]["MetricName"] != own_names.HEARTBEAT_METRIC]  # fmt: skip
    topic = team_topic(template)
    assert {a["Properties"]["MetricName"] for a in alarms} == {"Errors", "ApproximateNumberOfMessagesVisible"}
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": topic}] for a in alarms)


def test_tables_keep_history(template):
    tables = resources(template, "AWS::DynamoDB::Table").values()
    assert len(tables) == len(TABLES)
    for table in tables:
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_topic_is_encrypted_and_only_the_stack_publishes(template):
    topic = resources(template, "AWS::SNS::Topic")[team_topic(template)]
    assert "KmsMasterKeyId" in topic["Properties"]
    [subscription] = [s for s in resources(template, "AWS::SNS::Subscription").values()
                      if s["Properties"]["TopicArn"] == {"Ref": team_topic(template)}]  # fmt: skip
    assert subscription["Properties"]["Endpoint"] == "security-oncall@example.com"  # a JSON list from -c
    [policy] = [p for p in resources(template, "AWS::SNS::TopicPolicy").values()
                if p["Properties"]["Topics"] == [{"Ref": team_topic(template)}]]  # fmt: skip
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    [deny] = [s for s in statements if s["Effect"] == "Deny" and "aws:PrincipalArn" in json.dumps(s)]
    assert deny["Action"] == "sns:Publish"
    assert deny["Condition"]["Bool"] == {"aws:PrincipalIsAWSService": "false"}
    assert len(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == len(HANDLERS)


def rule_routes(template: dict[str, Any], target_handler: str) -> list[dict[str, Any]]:
    logical, _ = function_of(template, target_handler)
    patterns = []
    for rule in resources(template, "AWS::Events::Rule").values():
        targets = rule["Properties"]["Targets"]
        if any(t["Arn"] == {"Fn::GetAtt": [logical, "Arn"]} for t in targets):
            patterns.append(rule["Properties"]["EventPattern"])
    return patterns


def delivered(patterns: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[str]:
    """Route events through moto's EventBridge with the template's patterns; return the ids that arrive."""
    with EmulatedAws(regions=("us-east-1",)) as aws:
        bus = aws.client("events")
        sqs = aws.client("sqs")
        url = sqs.create_queue(QueueName="routed")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for n, pattern in enumerate(patterns):
            bus.put_rule(Name=f"rule-{n}", EventPattern=json.dumps(pattern))
            bus.put_targets(Rule=f"rule-{n}", Targets=[{"Id": "q", "Arn": arn}])
        for event in events:
            bus.put_events(
                Entries=[
                    {
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                        "Resources": event.get("resources", []),
                    }
                ]
            )
        arrived = []
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return arrived
            for m in messages:
                body = json.loads(m["Body"])
                arrived.append(
                    body["detail"].get("eventArn") or body["detail"].get("id") or body["detail"].get("eventID")
                )
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_health_rule_routes_real_notices_and_nothing_else(template):
    patterns = rule_routes(template, "health")
    assert patterns
    exposed = load_event("health-credentials-exposed.json")
    variant = load_event("health-credentials-exposed-metadata-variant.json")
    other = load_event("health-credentials-exposed.json")
    other["detail"].update(eventTypeCode="AWS_EC2_OPERATIONAL_ISSUE", service="EC2", eventArn="arn:other")
    guardduty = load_event("guardduty-iamuser-malicious-ip-caller.json")
    arrived = delivered(patterns, [exposed, variant, other, guardduty])
    assert sorted(arrived) == sorted([exposed["detail"]["eventArn"], variant["detail"]["eventArn"]])


def test_context_is_validated_and_names_the_bad_key():
    good = {**json.loads((ROOT / "cdk.json").read_text())["context"], **SYNTH_CONTEXT}
    assert load(good).allowed_regions == ("us-east-1", "eu-west-1")  # more in test_context.py
    for key, value in (
        ("notifyEmails", ["not-an-email"]),
        ("responseMode", "yolo"),
        ("allowedRegions", ["mars-1"]),
        ("incidentLookbackHours", "soon"),
        ("protectedPrincipals", ["has spaces"]),
        ("guarddutyMinSeverity", 11),
        ("createTrail", "maybe"),
    ):
        with pytest.raises(ContextError, match=f"'{key}'"):
            load({**good, key: value})


def _stack_templates(assembly: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    return {
        name: json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def test_one_asset_less_forwarder_per_region(assembly):
    config = load(json.loads((ROOT / "cdk.json").read_text())["context"])
    manifest = json.loads((assembly / "manifest.json").read_text())
    templates = _stack_templates(assembly)
    forwarders = {name for name in templates if name.startswith("CompromiseResponderForwarder-")}
    assert forwarders == {
        f"CompromiseResponderForwarder-{r}" for r in config.forwarder_regions if r != config.home_region
    }
    for name in forwarders:
        kinds = {r["Type"] for r in templates[name]["Resources"].values()} - {"AWS::CDK::Metadata"}
        assert kinds == {"AWS::Events::Rule", "AWS::IAM::Role", "AWS::IAM::Policy"}, kinds
        assert not manifest["artifacts"][name].get("dependencies"), "a forwarder must need no asset (no bootstrap)"
        region = name.rsplit("-", 3)[-3:]
        assert manifest["artifacts"][name]["environment"].endswith("-".join(region))
        [policy] = [r for r in templates[name]["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
        [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Action"] == "events:PutEvents"
        assert ":events:us-east-1:" in json.dumps(statement["Resource"])


def _tagged(name: str, tag: str, **detail: Any) -> dict[str, Any]:
    event = load_event(name)
    event["detail"]["eventID"] = tag
    event["detail"].update(detail)
    return event


def test_cloudtrail_rules_route_launch_and_persistence_calls_only(template, assembly):
    calls = [
        _tagged("cloudtrail-runinstances.json", "run"),
        _tagged("cloudtrail-requestspotinstances.json", "spot"),
        _tagged("cloudtrail-runinstances-denied.json", "denied"),
        _tagged("cloudtrail-createaccesskey.json", "key"),
    ]
    ignored = [
        _tagged("cloudtrail-runinstances.json", "describe", eventName="DescribeInstances", readOnly=True),
        _tagged("cloudtrail-runinstances.json", "s3", eventSource="s3.amazonaws.com", eventName="RunInstances"),
    ]
    ignored[1]["source"] = "aws.s3"
    assert sorted(delivered(rule_routes(template, "cloudtrail"), calls + ignored)) == ["denied", "key", "run", "spot"]

    forwarder = _stack_templates(assembly)["CompromiseResponderForwarder-ap-south-1"]
    patterns = [
        r["Properties"]["EventPattern"] for r in forwarder["Resources"].values() if r["Type"] == "AWS::Events::Rule"
    ]
    finding = load_event("guardduty-ec2-bitcoin-dns.json")
    arrived = delivered(patterns, [*calls, *ignored, finding])
    assert sorted(arrived) == sorted(["denied", "run", "spot", finding["detail"]["id"]])  # IAM is global: home only


def test_trail_logs_every_region_with_validation(template):
    [trail] = resources(template, "AWS::CloudTrail::Trail").values()
    props = trail["Properties"]
    assert props["IsMultiRegionTrail"] and props["EnableLogFileValidation"] and props["IsLogging"]
    assert props["IncludeGlobalServiceEvents"]


def test_the_test_event_registry_is_neither_created_nor_deleted_by_default(template):
    """AWS makes lambda-testevent-schemas itself; a stack owning it would fail ("already exists") or delete it."""
    assert load(json.loads((ROOT / "cdk.json").read_text())["context"]).create_test_event_registry is False
    assert not resources(template, "AWS::EventSchemas::Registry")
    assert not resources(template, "AWS::EventSchemas::Schema")  # a schema needs the registry


def test_guardduty_rule_routes_findings(template):
    findings = [load_event(n) for n in ("guardduty-ec2-bitcoin-dns.json", "guardduty-iamuser-malicious-ip-caller.json")]
    health = load_event("health-credentials-exposed.json")
    arrived = delivered(rule_routes(template, "guardduty"), [*findings, health])
    assert sorted(arrived) == sorted(f["detail"]["id"] for f in findings)


def test_security_hub_is_granted_on_the_accounts_own_product_and_hub_only(template):
    statements = [
        statement
        for policy in attached_role_policies(template).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "securityhub:" in json.dumps(statement["Action"])
    ]
    assert statements
    for statement in statements:
        [resource] = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        text = json.dumps(resource)
        if statement["Action"] == "securityhub:BatchImportFindings":
            assert ":product/" in text and "/default" in text
        else:
            assert statement["Action"] == "securityhub:BatchUpdateFindings" and ":hub/default" in text
    runbook_role = function_of(template, "runbook")[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert "securityhub:BatchUpdateFindings" in _policy_actions(template, runbook_role)
    health_role = function_of(template, "health")[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert "securityhub:BatchUpdateFindings" not in _policy_actions(template, health_role)  # only close resolves


def test_chat_channels_subscribe_to_the_team_topic_and_can_do_nothing(template):
    topic = next(iter(resources(template, "AWS::SNS::Topic")))
    slack = resources(template, "AWS::Chatbot::SlackChannelConfiguration")
    teams = resources(template, "AWS::Chatbot::MicrosoftTeamsChannelConfiguration")
    [slack_props] = [r["Properties"] for r in slack.values()]
    [teams_props] = [r["Properties"] for r in teams.values()]
    assert (slack_props["SlackWorkspaceId"], slack_props["SlackChannelId"]) == ("T07EA123LEP", "C07EZ1ABC23")
    assert teams_props["TeamsChannelId"] == CHAT_CHANNELS[1]["channelId"]
    assert teams_props["TeamsTenantId"] == CHAT_CHANNELS[1]["tenantId"]
    for props in (slack_props, teams_props):
        assert props["SnsTopicArns"] == [{"Ref": topic}]
        [guardrail] = props["GuardrailPolicies"]  # without it AWS applies AdministratorAccess
        policy = template["Resources"][guardrail["Ref"]]["Properties"]["PolicyDocument"]
        assert policy["Statement"] == [{"Action": "*", "Effect": "Deny", "Resource": "*"}]
        role = props["IamRoleArn"]["Fn::GetAtt"][0]
        assert template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "chatbot.amazonaws.com"
        }
        attached = [
            p for p in resources(template, "AWS::IAM::Policy").values() if {"Ref": role} in p["Properties"]["Roles"]
        ]
        assert attached == [] and "ManagedPolicyArns" not in template["Resources"][role]["Properties"]


# --- least privilege that cannot be turned against us: the synthesized policies, evaluated as AWS would --------
def role_policies(template: dict[str, Any], handler: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return statements_of(template, role_of(template, HANDLERS[handler]), refs(template))


# Account-level switches that AWS authorizes on no resource type; the responder only turns them off.
ACCOUNT_SWITCHES = frozenset({"ec2:DisableSerialConsoleAccess"})


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("handler", list(HANDLERS))
def test_every_statement_on_any_resource_is_a_read_aws_cannot_narrow(template, handler):
    """0 mutating statements on ``Resource: "*"`` without a condition; what stays on ``*`` is listed in the
    README with why."""
    identity, _ = role_policies(template, handler)
    readme = (ROOT / "README.md").read_text()
    for statement in (s for doc in identity for s in doc["Statement"]):
        if statement["Effect"] != "Allow" or "*" not in listed(statement["Resource"]):
            continue
        for action in listed(statement["Action"]):
            assert "Condition" not in statement or action.startswith("ec2:"), statement
            assert not resource_types(action), f"{handler}: {action} on '*' though AWS can scope it"
            assert (
                action.split(":")[1].startswith(("Describe", "List", "Lookup", "Get", "PutTrace", "PutTelemetry"))
                or action in ACCOUNT_SWITCHES
            ), action
            assert f"`{action}`" in readme, f"README (Least privilege) does not list {action} on '*'"


@pytest.mark.parametrize("handler", ["health", "guardduty", "runbook"])
def test_the_roles_cannot_write_on_the_responders_roles_its_deployers_or_protected_principals(template, handler):
    identity, boundary = role_policies(template, handler)

    def decision(action: str, resource: str, **context: Any) -> str:
        return evaluate(action, resource, identity, boundary=boundary, context=context)

    iam = f"arn:aws:iam::{ACCOUNT}"
    writes = sorted(a for a in catalog.permissions_for(handler) if a.startswith(("iam:Put", "iam:Update",
                                                                                  "iam:Delete")))  # fmt: skip
    assert writes
    guarded = [
        f"{iam}:role/compromise-responder/CompromiseResponder-HealthRole-AbCdEf",  # the responder's own roles
        f"{iam}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-us-east-1",  # its deploy roles
        f"{iam}:role/stacksets-exec-0123456789abcdef",
        f"{iam}:user/break-glass-admin",  # protectedPrincipals (SYNTH_CONTEXT), on any path
        f"{iam}:user/admins/break-glass-admin",
        f"{iam}:role/break-glass-admin",
    ]
    for action in writes:
        kind = "role" if "Role" in action else "user"
        for resource in (r for r in guarded if f":{kind}/" in r):
            assert decision(action, resource) == "explicit-deny", (action, resource)
        assert decision(action, f"{iam}:{kind}/ci-deployer") == "allow", action  # what containment needs
        assert decision(action, f"arn:aws:iam::210987654321:{kind}/ci-deployer") != "allow"  # no other account


def test_tags_only_the_responders_own_never_the_protect_tag(template):
    identity, boundary = role_policies(template, "guardduty")
    instance = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0123456789abcdef0"

    def tagging(*keys: str) -> str:
        return evaluate("ec2:CreateTags", instance, identity, boundary=boundary, context={"aws:TagKeys": list(keys)})

    assert tagging("compromise-responder:isolated") == "allow"
    assert tagging("compromise-responder:protect") == "explicit-deny"  # the protect tag is the team's
    assert tagging("compromise-responder:isolated", "Name") == "implicit-deny"
    group = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:security-group/sg-0123456789abcdef0"
    rules = "ec2:RevokeSecurityGroupEgress"
    assert evaluate(rules, group, identity, context={"aws:ResourceTag/compromise-responder:incidentId": "i"}) == "allow"
    assert evaluate(rules, group, identity, context={}) == "implicit-deny"  # only groups the responder created
    other = "arn:aws:ec2:eu-west-1:210987654321:instance/i-0123456789abcdef0"
    assert evaluate("ec2:TerminateInstances", other, identity, boundary=boundary) == "implicit-deny"


def test_every_function_role_has_the_boundary_and_the_responders_path(template):
    boundaries = resources(template, "AWS::IAM::ManagedPolicy")
    for handler in HANDLERS:
        role = template["Resources"][role_of(template, HANDLERS[handler])]["Properties"]
        assert role["Path"] == "/compromise-responder/"
        assert role["PermissionsBoundary"]["Ref"] in boundaries
        identity, boundary = role_policies(template, handler)
        granted = {
            a for doc in identity for s in doc["Statement"] if s["Effect"] == "Allow" for a in listed(s["Action"])
        }
        assert all(evaluate(a, "*", boundary) == "allow" for a in granted)  # the boundary takes nothing needed
        assert evaluate("iam:CreateUser", "*", boundary) == "implicit-deny"  # ... and caps what may be added


def test_the_reviewers_tools_find_nothing_unacknowledged(template):
    policies = {handler: role_policies(template, handler)[0] for handler in HANDLERS}
    findings = review(policies)
    assert unacknowledged(findings) == []
    assert f"{acknowledged_count(findings)} acknowledged" in (ROOT / "README.md").read_text()


def test_reserved_concurrency_keeps_room_for_every_trigger(template):
    for handler, reserved in (("health", 5), ("guardduty", 10), ("cloudtrail", 20), ("runbook", 5)):
        _, fn = function_of(template, handler)
        assert fn["Properties"]["ReservedConcurrentExecutions"] == reserved


def test_every_service_principal_is_bound_to_this_account(template):
    """Confused deputy: a resource or trust policy naming a service principal says for whom it may act."""
    documents = [
        (kind, logical, props.get(field))
        for kind, field in (
            ("AWS::SNS::TopicPolicy", "PolicyDocument"),
            ("AWS::KMS::Key", "KeyPolicy"),
            ("AWS::SQS::QueuePolicy", "PolicyDocument"),
            ("AWS::S3::BucketPolicy", "PolicyDocument"),
            ("AWS::IAM::Role", "AssumeRolePolicyDocument"),
        )
        for logical, resource in resources(template, kind).items()
        for props in [resource["Properties"]]
    ]
    checked = 0
    for kind, logical, document in documents:
        for statement in document["Statement"]:
            service = statement.get("Principal", {}).get("Service") if isinstance(statement.get("Principal"),
                                                                                   dict) else None  # fmt: skip
            if not service or statement["Effect"] != "Allow" or service == "lambda.amazonaws.com":
                continue  # Lambda assumes an execution role only for its own functions (no third party asks it)
            keys = json.dumps(statement.get("Condition", {}))
            assert "aws:SourceAccount" in keys or "aws:SourceArn" in keys, (kind, logical, statement)
            checked += 1
    assert checked >= 6


def test_the_trail_and_its_bucket_use_a_rotated_customer_key(template):
    [trail] = resources(template, "AWS::CloudTrail::Trail").values()
    key = trail["Properties"]["KMSKeyId"]["Fn::GetAtt"][0]
    assert template["Resources"][key]["Properties"]["EnableKeyRotation"] is True
    buckets = [b["Properties"] for b in resources(template, "AWS::S3::Bucket").values()]
    [logs] = [b for b in buckets if "LoggingConfiguration" in b]  # the trail's bucket; its access logs: SSE-S3
    [rule] = logs["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0] == key


# --- what the emulator cannot see (tools/deploy_checks.py): the assembly as AWS would take it ----------------


def stack_refs(template: dict[str, Any]) -> dict[str, str]:
    return deploy_checks.synthetic_refs(template, "CompromiseResponder", ACCOUNT, "us-east-1")


BOOTSTRAP_ROLES = {  # what the README's `cdk bootstrap 'aws://*/us-east-1'` creates (the CDKToolkit stack's roles)
    f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-{kind}-role-{ACCOUNT}-us-east-1"
    for kind in ("deploy", "cfn-exec", "lookup", "file-publishing", "image-publishing")
}


def test_every_stack_names_only_roles_the_readmes_bootstrap_creates(assembly):
    assert deploy_checks.role_problems(assembly, BOOTSTRAP_ROLES, ACCOUNT) == []
    named = {(where, what): arn for where, what, arn in deploy_checks.named_roles(assembly)}
    forwarder = "CompromiseResponderForwarder-eu-west-1"
    assert named[(forwarder, "cloudFormationExecutionRoleArn")].endswith("cfn-exec-role-${AWS::AccountId}-us-east-1")
    # the check fails when a stack names a role the bootstrap did not make (another region's, as before)
    without_home = {arn for arn in BOOTSTRAP_ROLES if "deploy-role" not in arn}
    assert any(
        forwarder in p and "deploy-role" in p for p in deploy_checks.role_problems(assembly, without_home, ACCOUNT)
    )


def test_every_policy_fits_its_quota_and_every_key_allows_what_its_services_call(assembly):
    assert deploy_checks.assembly_problems(assembly, ACCOUNT) == []
    template = json.loads((assembly / "CompromiseResponder.template.json").read_text())
    uses = {(service, action) for _, service, action, _ in deploy_checks.key_uses(template, stack_refs(template))}
    assert {("cloudtrail.amazonaws.com", "kms:DescribeKey"), ("cloudwatch.amazonaws.com", "kms:Decrypt"),
            ("events.amazonaws.com", "kms:GenerateDataKey")} <= uses  # fmt: skip


def test_the_trail_key_describes_itself_in_its_own_statement(template):
    """AWS's CloudTrail key policy: DescribeKey carries no encryption context, so it needs its own statement."""
    [trail] = resources(template, "AWS::CloudTrail::Trail").values()
    key = trail["Properties"]["KMSKeyId"]["Fn::GetAtt"][0]
    statements = template["Resources"][key]["Properties"]["KeyPolicy"]["Statement"]
    [describe] = [s for s in statements if "kms:DescribeKey" in listed(s["Action"])]
    assert listed(describe["Action"]) == ["kms:DescribeKey"] and "EncryptionContext" not in json.dumps(describe)
    assert deploy_checks.key_policy_problems(template, stack_refs(template)) == []
    # the statement as it was (DescribeKey beside the encryption-context condition) is found
    broken = json.loads(json.dumps(template))
    policy = broken["Resources"][key]["Properties"]["KeyPolicy"]
    [encrypt] = [s for s in policy["Statement"] if "kms:GenerateDataKey*" in listed(s["Action"])]
    encrypt["Action"] = ["kms:GenerateDataKey*", "kms:DescribeKey"]
    policy["Statement"] = [s for s in policy["Statement"] if s is not describe and s.get("Sid") != describe.get("Sid")]
    [problem] = deploy_checks.key_policy_problems(broken, stack_refs(broken))
    assert "kms:DescribeKey" in problem and "cloudtrail" in problem


def test_a_policy_over_its_quota_is_found(template):
    bigger = json.loads(json.dumps(template))
    [boundary] = [r for k, r in resources(bigger, "AWS::IAM::ManagedPolicy").items() if k.startswith("Boundary")]
    boundary["Properties"]["PolicyDocument"]["Statement"][0]["Action"] += [f"ec2:Describe{n:04d}" for n in range(300)]
    [problem] = deploy_checks.quota_problems(bigger, stack_refs(bigger), "CompromiseResponder")
    assert "managed policy" in problem and "6144" in problem


def test_forty_protected_principals_fit_the_boundary_and_more_are_refused_naming_the_setting(template):
    """The session synth protects 40 principals: its boundary is within 6,144 characters as IAM counts them (and
    test_every_policy_fits_its_quota... checks every other policy of it); so is organization mode's."""
    from compromise_responder.infra.permissions import MANAGED_POLICY_CHARS, check_boundary_size, iam_chars

    [boundary] = [r for k, r in resources(template, "AWS::IAM::ManagedPolicy").items() if k.startswith("Boundary")]
    document = deploy_checks.resolve(boundary["Properties"]["PolicyDocument"], stack_refs(template))
    assert "break-glass-admin" in json.dumps(document) and len(PROTECTED) == 40
    assert iam_chars(document) <= MANAGED_POLICY_CHARS
    shipped = json.loads((ROOT / "cdk.json").read_text())["context"]
    organization = {"organization": True, "organizationId": "o-a1b2c3d4e5", "organizationTargets": "r-a1b2"}
    config = load({**shipped, **organization, "protectedPrincipals": PROTECTED, "securityHubFindings": True})
    assert check_boundary_size(config) <= MANAGED_POLICY_CHARS
    many = [f"arn:aws:iam::{ACCOUNT}:role/{'x' * 50}{n:03d}" for n in range(90)]
    with pytest.raises(ContextError, match=r"'protectedPrincipals'.*6144"):
        check_boundary_size(load({**shipped, "protectedPrincipals": many}))


def test_another_home_region_gets_the_global_events_from_us_east_1_or_is_refused(tmp_path):
    """Health credential notices and IAM's CloudTrail calls arrive in us-east-1 only: with homeRegion=eu-west-1 the
    us-east-1 forwarder sends them on (and every forwarder deploys with eu-west-1's bootstrap roles)."""
    shipped = json.loads((ROOT / "cdk.json").read_text())["context"]
    with pytest.raises(ContextError, match=r"'homeRegion'.*us-east-1.*'forwarderRegions'"):
        load({**shipped, "homeRegion": "eu-west-1", "forwarderRegions": "eu-west-1,eu-central-1"})
    script = f"""
import json
from aws_cdk import App
from compromise_responder.infra.config import load
from compromise_responder.infra.forwarder import forwarders
context = json.load(open("cdk.json"))["context"] | {{"homeRegion": "eu-west-1", "forwarderRegions": "eu-west-1,us-east-1,ap-south-1"}}
app = App(context=context, outdir={str(tmp_path)!r})
forwarders(app, load(app.node.get_all_context()))
app.synth()
"""
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20,18",
               JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    templates = _stack_templates(tmp_path)
    assert set(templates) == {"CompromiseResponderForwarder-us-east-1", "CompromiseResponderForwarder-ap-south-1"}
    home_roles = {r.replace("us-east-1", "eu-west-1") for r in BOOTSTRAP_ROLES}
    assert deploy_checks.role_problems(tmp_path, home_roles, ACCOUNT) == []
    health, iam_call = load_event("health-credentials-exposed.json"), _tagged("cloudtrail-createaccesskey.json", "key")
    run = _tagged("cloudtrail-runinstances.json", "run")
    for name, want in (("us-east-1", ["key", "run", health["detail"]["eventArn"]]), ("ap-south-1", ["run"])):
        rules = resources(templates[f"CompromiseResponderForwarder-{name}"], "AWS::Events::Rule").values()
        assert all(":events:eu-west-1:" in json.dumps(r["Properties"]["Targets"]) for r in rules)
        patterns = [r["Properties"]["EventPattern"] for r in rules]
        assert sorted(delivered(patterns, [health, iam_call, run])) == sorted(want), name


def test_a_sixth_trail_in_the_home_region_is_refused_at_synth_naming_create_trail():
    from compromise_responder.infra.preflight import trail_quota_problem
    from compromise_responder.infra.trail import TRAIL_NAME

    trails = [
        {"Name": f"team-{n}", "TrailARN": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/team-{n}"} for n in range(5)
    ]
    assert "'createTrail'" in str(trail_quota_problem(trails, "us-east-1"))
    assert trail_quota_problem(trails[:4], "us-east-1") is None
    assert trail_quota_problem([*trails[:4], {"Name": TRAIL_NAME}], "us-east-1") is None  # its own, redeployed


def test_reserved_concurrency_beyond_the_accounts_limit_is_refused_at_synth_naming_the_setting():
    from compromise_responder.infra.preflight import concurrency_problem

    assert concurrency_problem(1000, 40) is None and concurrency_problem(140, 40) is None
    assert "'reservedConcurrency'" in str(concurrency_problem(10, 40))  # a new account's limit
    assert "at least 160" in str(concurrency_problem(150, 60))  # organization mode's 60


# --- Guarding the responder ------------------------------------------------------------------------------------
def test_the_responders_resources_have_their_fixed_names(template):
    names = {fn["Properties"]["FunctionName"] for fn in resources(template, "AWS::Lambda::Function").values()}
    assert names >= {own_names.function(h) for h in HANDLERS}
    rules = {r["Properties"].get("Name") for r in resources(template, "AWS::Events::Rule").values()}
    assert rules == set(own_names.RULES)
    [trail] = resources(template, "AWS::CloudTrail::Trail").values()
    assert trail["Properties"]["TrailName"] == own_names.TRAIL
    queues = {q["Properties"].get("QueueName") for q in resources(template, "AWS::SQS::Queue").values()}
    assert queues >= {own_names.dead_letter_queue(h) for h in HANDLERS}


def test_tamper_calls_are_routed_to_the_cloudtrail_function(template):
    from tests.test_guard import tamper_events

    own, others = tamper_events()
    arrived = delivered(rule_routes(template, "cloudtrail"), own + others)
    assert sorted(arrived) == sorted(e["detail"]["eventID"] for e in own)


def test_a_missing_heartbeat_pages_the_team_and_the_watchdog(template):
    [alarm] = [a for a in resources(template, "AWS::CloudWatch::Alarm").values()
               if a["Properties"]["MetricName"] == own_names.HEARTBEAT_METRIC]  # fmt: skip
    props = alarm["Properties"]
    assert props["TreatMissingData"] == "breaching" and props["ComparisonOperator"] == "LessThanThreshold"
    topics = resources(template, "AWS::SNS::Topic")
    watchdog = next(k for k, t in topics.items() if t["Properties"].get("TopicName") == "compromise-responder-watchdog")
    assert {json.dumps(a) for a in props["AlarmActions"]} == {
        json.dumps({"Ref": team_topic(template)}),
        json.dumps({"Ref": watchdog}),
    }
    [schedule] = [
        r for r in resources(template, "AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]
    ]
    assert schedule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    logical, fn = function_of(template, "heartbeat")
    assert schedule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [logical, "Arn"]}
    assert fn["Properties"]["Environment"]["Variables"]["STACK_NAME"] == {"Ref": "AWS::StackName"}


def test_trail_bucket_lifecycle_and_policy_only_by_the_deploy_roles(template):
    [trail] = resources(template, "AWS::CloudTrail::Trail").values()
    assert trail["Properties"]["EnableLogFileValidation"] is True
    bucket = trail["Properties"]["S3BucketName"]["Ref"]
    [policy] = [
        p for p in resources(template, "AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    [deny] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
              if s.get("Sid") == "OnlyTheDeployRolesChangeLifecycleOrPolicy"]  # fmt: skip
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert sorted(deny["Action"]) == ["s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutLifecycleConfiguration"]
    allowed = json.dumps(deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"])
    assert "cdk-*-deploy-role-*" in allowed and "cdk-*-cfn-exec-role-*" in allowed and ":root" in allowed
