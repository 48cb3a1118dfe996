"""Organization mode: the hub's side of an AWS Organization (context ``organization=true``).

Where events come from (AWS's documentation; see the README, "Organization mode"):
  * GuardDuty findings of every member reach the GuardDuty delegated administrator's EventBridge natively
    (the hub is that account): the hub's own rules and regional forwarders already take them.
  * AWS Health credential notices and CloudTrail launch / IAM calls reach only the member's own EventBridge
    (Health's organizational view aggregates in its API and console, not in EventBridge): each member
    forwards them to the hub's default bus, whose policy admits only the organization.

This construct adds to the hub stack: that bus policy, the service-managed StackSet deploying the member
template to the organization (auto-deployment to new accounts), and the organization sweep's Step Functions
Distributed Map. The member template holds the member role (trusted only by the hub's function roles, inside
the organization; its permissions generated from the same capability declarations as the functions') and
the forwarding rules, in every forwarder region.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudformation as cfn
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from responder.actions.iam import DENY_ALL, QUARANTINE_POLICY_NAME

from .config import ResponderConfig
from .nag import acknowledge
from .policy_documents import OWN_ROLE_PATH, SWEEP_STATE_MACHINE_NAME, Place, member_statements
from .rules import HEALTH_PATTERN, IAM_CLOUDTRAIL_PATTERN, REGIONAL_CLOUDTRAIL_PATTERN

IAM_EVENTS_REGION = "us-east-1"  # IAM is global: its CloudTrail events arrive in us-east-1


def sweep_state_machine_arn() -> str:
    """Known before the state machine exists, so function policies never wait on it (no dependency cycle)."""
    return f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:stateMachine:{SWEEP_STATE_MACHINE_NAME}"


class OrganizationHub(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ResponderConfig,
        function_roles: list[iam.IRole],
        worker: lambda_.Function,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        bus_arn = f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:event-bus/default"
        events.CfnEventBusPolicy(
            self,
            "OrganizationMayForward",
            statement_id="CompromiseResponderOrganizationMembers",
            statement={
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": bus_arn,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": config.organization_id}},
            },
        )
        self.state_machine = self._sweep_state_machine(worker)
        template = member_template(config, [r.role_arn for r in function_roles], bus_arn, Aws.ACCOUNT_ID)
        members = cfn.CfnStackSet(
            self,
            "Members",
            stack_set_name="compromise-responder-member",
            description="Compromise responder: the member role and the forwarding rules, in every member account",
            permission_model="SERVICE_MANAGED",
            call_as=config.organization_call_as,
            auto_deployment=cfn.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            capabilities=["CAPABILITY_NAMED_IAM"],
            managed_execution={"Active": True},
            operation_preferences=cfn.CfnStackSet.OperationPreferencesProperty(
                failure_tolerance_percentage=10, max_concurrent_percentage=50, region_concurrency_type="PARALLEL"
            ),
            stack_instances_group=[
                cfn.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cfn.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(config.organization_targets)
                    ),
                    regions=list(config.forwarder_regions),
                )
            ],
            template_body=Stack.of(self).to_json_string(template),
        )
        # cfn-lint E1029 reads the member template's own ${AWS::...} (its Fn::Sub, evaluated in each member
        # account) as the hub's: acknowledged on this one resource, linted as a template of its own in the tests.
        members.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E1029"]}})

    def _sweep_state_machine(self, worker: lambda_.Function) -> sfn.StateMachine:
        """Distributed Map over the accounts (one STANDARD child execution each: that account's region sweep),
        then one report. The limits agree (README, "Organization mode"):

          * a child is a Standard execution (no 5-minute cap, exactly-once tasks), and its task waits
            ``WAIT_MARGIN`` longer than the function may run: no child ends before the function it waits for;
          * the whole execution has no timeout of its own: every task is bounded, so the map is, and the
            report always runs (a failed map is caught into it);
          * a timed-out account is not retried (its function ended at its own timeout: what it did is in the
            incident record); its error and cause are recorded for the report by ``RecordAccountOutcome``;
          * the retries that may start while the first invocation still runs (the Lambda client's own errors)
            meet the account's lease in the incident table and wait it out (``AccountSweepInProgress``).
        """
        function_seconds = int(worker.timeout.to_seconds()) if worker.timeout else 3
        wait = sfn.Timeout.duration(Duration.seconds(function_seconds + WAIT_MARGIN_SECONDS))
        item = {k: sfn.JsonPath.string_at(f"$.{k}") for k in ("incidentId", "accountId", "dryRun")}
        sweep = tasks.LambdaInvoke(
            self,
            "SweepAccount",
            lambda_function=worker,
            payload_response_only=True,  # the item (ItemSelector) is the payload
            retry_on_service_exceptions=False,  # the retries below, each with the reason it cannot overlap
            task_timeout=wait,
        )
        # the function was not run, or may still run (the lease refuses a second sweep): safe to ask again
        sweep.add_retry(errors=LAMBDA_CLIENT_ERRORS, max_attempts=6, interval=Duration.seconds(2), backoff_rate=2)
        # the function ended (it raises only after recording): a region failed; sweep again
        sweep.add_retry(errors=["IncompleteResponse"], max_attempts=2, interval=Duration.seconds(5), backoff_rate=2)
        # another invocation holds the account's lease: wait longer, in all, than it may run
        sweep.add_retry(
            errors=[IN_PROGRESS],
            max_attempts=IN_PROGRESS_ATTEMPTS,
            interval=Duration.seconds(IN_PROGRESS_INTERVAL_SECONDS),
            backoff_rate=2,
        )
        outcome = tasks.LambdaInvoke(
            self,
            "RecordAccountOutcome",
            lambda_function=worker,
            payload=sfn.TaskInput.from_object(
                {
                    "step": "account-outcome",
                    **item,
                    "error": sfn.JsonPath.string_at("$.failure.Error"),
                    "cause": sfn.JsonPath.string_at("$.failure.Cause"),
                }
            ),
            payload_response_only=True,
            retry_on_service_exceptions=False,
            task_timeout=wait,
        )
        outcome.add_retry(errors=LAMBDA_CLIENT_ERRORS, max_attempts=6, interval=Duration.seconds(2), backoff_rate=2)
        sweep.add_catch(outcome, errors=[sfn.Errors.ALL], result_path="$.failure")
        accounts = sfn.DistributedMap(
            self,
            "EveryAccount",
            items_path="$.accounts",
            item_selector={
                "step": "sweep-account",
                "incidentId.$": "$.incidentId",
                "accountId.$": "$$.Map.Item.Value",
                "accessKeyId.$": "$.accessKeyId",
                "sinceHours.$": "$.sinceHours",
                "dryRun.$": "$.dryRun",
            },
            max_concurrency=self.config.organization_max_concurrency,
            tolerated_failure_percentage=self.config.organization_tolerated_failure_percentage,
            result_path=sfn.JsonPath.DISCARD,  # each account's result is stored with the incident, not carried
            map_execution_type=sfn.StateMachineType.STANDARD,
        )
        accounts.item_processor(sweep, execution_type=sfn.ProcessorType.STANDARD, mode=sfn.ProcessorMode.DISTRIBUTED)
        report = tasks.LambdaInvoke(
            self,
            "Report",
            lambda_function=worker,
            payload=sfn.TaskInput.from_object(
                {
                    "step": "report",
                    "incidentId": sfn.JsonPath.string_at("$.incidentId"),
                    "accounts": sfn.JsonPath.list_at("$.accounts"),
                    "protected": sfn.JsonPath.list_at("$.protected"),
                    "accessKeyId": sfn.JsonPath.string_at("$.accessKeyId"),
                    "sinceHours": sfn.JsonPath.string_at("$.sinceHours"),
                    "dryRun": sfn.JsonPath.string_at("$.dryRun"),
                }
            ),
            payload_response_only=True,
            retry_on_service_exceptions=False,
            task_timeout=wait,
        )
        report.add_retry(errors=LAMBDA_CLIENT_ERRORS, max_attempts=6, interval=Duration.seconds(2), backoff_rate=2)
        # more failed items than tolerated (or a map error): the report still runs and names every account
        accounts.add_catch(report, errors=[sfn.Errors.ALL], result_path="$.mapFailure")
        logs_group = logs.LogGroup(self, "SweepLogs", retention=logs.RetentionDays.ONE_YEAR,
                                   removal_policy=RemovalPolicy.RETAIN)  # fmt: skip
        role = self._sweep_role(worker)
        machine = sfn.StateMachine(
            self,
            "Sweep",
            state_machine_name=SWEEP_STATE_MACHINE_NAME,
            definition_body=sfn.DefinitionBody.from_chainable(accounts.next(report)),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=logs_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            role=iam.Role.from_role_arn(self, "SweepRoleArn", role.role_arn, mutable=False),
        )
        # CreateStateMachine checks that the role may deliver logs: the role's policy must exist first (the
        # role is imported by ARN above, so CDK would not order them by itself)
        machine.node.add_dependency(role)
        # CDK also attaches its own copy of the map's execution grants, with ARNs known only at deploy time:
        # the same grants are in the role above, written with the state machine's fixed name.
        machine.node.try_remove_child("DistributedMapPolicy")
        return machine

    def _sweep_role(self, worker: lambda_.Function) -> iam.Role:
        """The state machine's role, written out (CDK's generated grants name ARNs only at deploy time, so their
        wildcard findings could not be acknowledged by name): invoke the one worker function, run and watch the
        map's child executions of this state machine, deliver logs and traces."""
        role = iam.Role(
            self,
            "SweepRole",
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            path=OWN_ROLE_PATH,
            description="Compromise responder organization sweep: the worker function and its own child executions",
        )
        machine = f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:stateMachine:{SWEEP_STATE_MACHINE_NAME}"
        execution = f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:execution:{SWEEP_STATE_MACHINE_NAME}"
        executions = [f"{execution}:*", f"{execution}/*:*"]  # the run's own, and the map's child executions
        role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[worker.function_arn]))
        role.add_to_policy(iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine]))
        role.add_to_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution", "states:StopExecution"], resources=executions)
        )
        role.add_to_policy(iam.PolicyStatement(actions=LOG_DELIVERY + TRACING, resources=["*"]))
        for pattern in (":*", "/*:*"):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                f"{SWEEP_STATE_MACHINE_NAME}{pattern}]",
                "The Distributed Map's child executions are named by Step Functions at run time; the grant stays "
                "within this state machine's executions.",
            )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "CloudWatch Logs log delivery and X-Ray trace segments accept no narrower resource.",
        )
        return role


# A task waits this much longer than its function may run (cold start, Invoke's own round trip): a child
# execution never ends before the function it waits for.
WAIT_MARGIN_SECONDS = 60
# The Lambda client's errors: the function did not run, or it may still be running (a client-side timeout).
LAMBDA_CLIENT_ERRORS = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
IN_PROGRESS = "AccountSweepInProgress"  # raised by the organization function when the account's lease is held
IN_PROGRESS_INTERVAL_SECONDS = 120
IN_PROGRESS_ATTEMPTS = 4  # waits 120 + 240 + 480 + 960 s: longer than a lease (function timeout + margin)

LOG_DELIVERY = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]
TRACING = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]


def member_policy(config: ResponderConfig) -> list[Any]:
    """The member role's policy, built like the functions', in the member's own account (its stack's
    ``${AWS::...}``)."""
    place = Place("${AWS::Partition}", "${AWS::AccountId}", config.organization_id)
    return [_sub(statement) for statement in member_statements(config, place)]


# IAM's quotas: a role's inline policies together, and one managed policy (characters, without whitespace)
INLINE_ROLE_CHARS = 10240
MANAGED_POLICY_CHARS = 6144
_DOCUMENT_OVERHEAD = 64  # {"Version":"2012-10-17","Statement":[...]} and a margin


def split_statements(statements: list[Any]) -> list[list[Any]]:
    """The member role's statements in IAM-sized documents: the first inline (10,240 characters), the rest managed
    policies attached to the role (6,144 each). Sizes are measured before ``Fn::Sub`` is evaluated, which only
    shortens them (an account id is shorter than ``${AWS::AccountId}``)."""
    chunks: list[list[Any]] = [[]]
    used = _DOCUMENT_OVERHEAD
    for statement in statements:
        size = len(json.dumps(statement, separators=(",", ":"))) + 1
        limit = INLINE_ROLE_CHARS if len(chunks) == 1 else MANAGED_POLICY_CHARS
        if chunks[-1] and used + size > limit:
            chunks.append([])
            used = _DOCUMENT_OVERHEAD
        chunks[-1].append(statement)
        used += size
    return chunks


def _sub(node: Any) -> Any:
    """Strings naming the member stack's pseudo parameters become ``Fn::Sub`` (evaluated in each member)."""
    if isinstance(node, str):
        return {"Fn::Sub": node} if "${AWS::" in node else node
    if isinstance(node, list):
        return [_sub(n) for n in node]
    if isinstance(node, dict):
        return {k: (v if k in ("Sid", "Effect") else _sub(v)) for k, v in node.items()}
    return node


def member_template(
    config: ResponderConfig, hub_roles: list[str], hub_bus_arn: str, hub_account: str
) -> dict[str, Any]:
    """The member stack: the member role in the home region, the forwarders in every region (not in the hub)."""
    inline, *overflow = split_statements(member_policy(config))
    rules: dict[str, Any] = {}
    for name, pattern, condition in (
        ("HealthNotices", HEALTH_PATTERN, "NotHub"),
        ("LaunchCalls", REGIONAL_CLOUDTRAIL_PATTERN, "NotHub"),
        ("IamCalls", IAM_CLOUDTRAIL_PATTERN, "IamEventsHere"),
    ):
        rules[name] = {
            "Type": "AWS::Events::Rule",
            "Condition": condition,
            "Properties": {
                "Description": f"{name} -> the compromise responder's hub bus",
                "EventPattern": pattern,
                "Targets": [{"Id": "Hub", "Arn": hub_bus_arn, "RoleArn": {"Fn::GetAtt": ["ForwardRole", "Arn"]}}],
            },
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Compromise responder member: the role the hub assumes, and the rules that forward events",
        "Conditions": {
            "IsHomeRegion": {"Fn::Equals": [{"Ref": "AWS::Region"}, config.home_region]},
            "NotHub": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::AccountId"}, hub_account]}]},
            "QuarantineHere": {"Fn::And": [{"Condition": "IsHomeRegion"}, {"Condition": "NotHub"}]},
            "IamEventsHere": {
                "Fn::And": [
                    {"Condition": "NotHub"},
                    {"Fn::Equals": [{"Ref": "AWS::Region"}, IAM_EVENTS_REGION]},
                ]
            },
        },
        "Resources": {
            # the managed deny-all quarantine of this account (the hub's own stack makes the hub's)
            "Quarantine": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Condition": "QuarantineHere",
                "Properties": {
                    "ManagedPolicyName": QUARANTINE_POLICY_NAME,
                    "Description": "Compromise responder: deny-all quarantine attached to a contained principal",
                    "PolicyDocument": DENY_ALL,
                },
            },
            "MemberRole": {
                "Type": "AWS::IAM::Role",
                "Condition": "IsHomeRegion",
                "Properties": {
                    "RoleName": config.member_role_name,
                    "Description": "Assumed by the compromise responder's hub functions, and only by them",
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": hub_roles},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:PrincipalOrgID": config.organization_id}},
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "compromise-responder-member",
                            "PolicyDocument": {"Version": "2012-10-17", "Statement": inline},
                        }
                    ],
                },
            },
            "ForwardRole": {
                "Type": "AWS::IAM::Role",
                "Condition": "NotHub",
                "Properties": {
                    "RoleName": {"Fn::Sub": "compromise-responder-forward-${AWS::Region}"},
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "forward-to-hub",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {"Effect": "Allow", "Action": "events:PutEvents", "Resource": hub_bus_arn}
                                ],
                            },
                        }
                    ],
                },
            },
            # what does not fit the role's 10,240 characters of inline policy (as CDK's overflow policies do)
            **{
                f"MemberPolicy{n}": {
                    "Type": "AWS::IAM::ManagedPolicy",
                    "Condition": "IsHomeRegion",
                    "Properties": {
                        "Description": f"Compromise responder member role, part {n}",
                        "Roles": [{"Ref": "MemberRole"}],
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": chunk},
                    },
                }
                for n, chunk in enumerate(overflow, start=2)
            },
            **rules,
        },
    }
