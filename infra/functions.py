"""One Lambda function per trigger, with a role built from the handler's declared capabilities."""

from __future__ import annotations

import jsii
from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from responder import kinds
from responder.actions import restore, undo, undo_flow_logs
from responder.actions.ecs_task import ECS_TASK
from responder.core import capabilities as cap
from responder.core import own_names
from responder.evidence import guard_state as guarded
from responder.shell import catalog

from . import LAMBDAS
from .config import ResponderConfig
from .nag import acknowledge
from .permissions import statement_parts
from .policy_documents import OWN_ROLE_PATH, Place

POWERTOOLS_ACCOUNT = "017000801446"  # AWS's account that publishes the public Powertools layers
RUNTIME = lambda_.Runtime.PYTHON_3_13
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.mypy_cache"]


def powertools_layer(scope: Construct, version: int) -> lambda_.ILayerVersion:
    """AWS's public Powertools layer (with pydantic and the X-Ray SDK): no Docker bundling needed."""
    arn = (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{POWERTOOLS_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-python313-arm64:{version}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", arn)


def encrypted_queue(scope: Construct, construct_id: str, key: kms.IKey, name: str | None = None) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=name,  # fixed: the heartbeat puts a rule's dead-letter target back by its ARN
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(
        queue,
        "AwsSolutions-SQS3",
        "This queue is itself the dead-letter queue of failed responses; an alarm watches its depth.",
    )
    return queue


@jsii.implements(lambda_.IDestination)
class QueueDestination:
    """The dead-letter queue as the function's on-failure destination, granting exactly what sending needs
    (CDK's SqsDestination also grants kms:ReEncrypt*, which SQS never asks for)."""

    def __init__(self, queue: sqs.IQueue, key: kms.IKey) -> None:
        self.queue, self.key = queue, key

    def bind(
        self, scope: Construct, fn: lambda_.IFunction, *, type: lambda_.DestinationType | None = None
    ) -> lambda_.DestinationConfig:
        fn.add_to_role_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.queue.queue_arn]))
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn])
        )
        return lambda_.DestinationConfig(destination=self.queue.queue_arn)


class ResponderFunction(Construct):
    """Code asset ``lambdas/``, Powertools layer, least-privilege role under the responder's path and boundary,
    reserved concurrency, 2 async retries, then the DLQ."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        config: ResponderConfig,
        environment: dict[str, str],
        table_arns: dict[str, str],
        topic_arn: str,
        layer: lambda_.ILayerVersion,
        key: kms.IKey,
        boundary: iam.IManagedPolicy,
        timeout: Duration,
        memory_mb: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = handler
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"compromise responder {handler}: exactly the actions its flows declare",
            path=OWN_ROLE_PATH,
            permissions_boundary=boundary,
        )
        inline, *overflow = statement_parts(handler, config, table_arns, topic_arn)
        for statement in inline:
            self.role.add_to_policy(statement)
        for n, part in enumerate(overflow, start=2):  # children of the role: its acknowledgements cover them
            iam.ManagedPolicy(
                self.role,
                f"Part{n}",
                description=f"compromise responder {handler}: declared actions, part {n}",
                path=OWN_ROLE_PATH,
                statements=part,
                roles=[self.role],
            )
        self.logs = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        self.logs.grant_write(self.role)
        self.dlq = encrypted_queue(self, "FailedResponses", key, own_names.dead_letter_queue(handler))
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=own_names.function(handler),  # fixed: tamper calls are recognised by it
            description=f"Compromise responder: {handler} trigger",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"handlers.{handler}.handler",
            code=lambda_.Code.from_asset(str(LAMBDAS), exclude=ASSET_EXCLUDES),
            role=self.role,
            layers=[layer],
            timeout=timeout,
            memory_size=memory_mb,
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.logs,
            on_failure=QueueDestination(self.dlq, key),
            retry_attempts=2,
            max_event_age=Duration.hours(6),
            reserved_concurrent_executions=config.reserved(handler),
        )
        acknowledge_wildcards(self.role, handler, config)
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Pinned to python3.13 to match AWS's public Powertools layer build (python313-arm64).",
        )


def acknowledge_wildcards(role: iam.IRole, handler: str, config: ResponderConfig) -> None:
    """cdk-nag IAM5, one acknowledgement per wildcard resource the role's grants name, with why it is one."""
    place = Place("<AWS::Partition>", "<AWS::AccountId>", config.organization_id)
    grants = catalog.grants_for(handler, config.organization, security_hub=config.security_hub_findings)
    for symbol in sorted({r for g in grants for r in g.resources if r.startswith("arn:") and "*" in r}):
        acknowledge(role, f"AwsSolutions-IAM5[Resource::{place.resources(symbol)[0]}]", wildcard_reason(symbol))
    if config.organization:
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/{config.member_role_name}]",
            "Organization mode: the member role in any account of the organization (aws:ResourceOrgID "
            "condition); accounts join and leave, so they cannot be listed.",
        )
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "Only reads AWS authorizes on no resource type (Describe*, cloudtrail:LookupEvents, organizations:ListAccounts)"
        ", X-Ray trace segments, and the deny of protect-tag writes: the README lists each (Least privilege).",
    )


def wildcard_reason(symbol: str) -> str:
    """Why a wildcard resource is granted: the table below, or - for the kinds of capacity beyond EC2, each of which
    declares its own grants - the kind that grants it (adding a kind touches no file here)."""
    if symbol in WILDCARD_REASONS:
        return WILDCARD_REASONS[symbol]
    labels = sorted(
        kind.label
        for kind in kinds.kinds()
        for capability in (kind.describe, *(action.capability for action in kind.actions))
        if capability is not None and any(symbol in g.resources for g in capability.grants)
    )
    if not labels:
        raise KeyError(f"no reason recorded for the wildcard resource {symbol} (WILDCARD_REASONS)")
    return f"{', '.join(dict.fromkeys(labels))}: {_UNKNOWN_UNTIL_INCIDENT}."


_UNKNOWN_UNTIL_INCIDENT = (
    "what the attacker launched (or the compromised resource) is known only when the incident arrives, in any "
    "region: the ARN is scoped to this account and the resource type"
)
WILDCARD_REASONS = {
    cap.IAM_USER: "The compromised user is only known when the incident arrives; only key/policy actions are "
    "granted, and the responder's own, deploy and protected principals are denied.",
    cap.IAM_ROLE: "The compromised role is only known when the incident arrives; only policy actions are granted, "
    "and the responder's own, deploy and protected roles are denied; iam:PassRole only to vpc-flow-logs (the "
    "delivery role of a flow log the chain deleted).",
    cap.EC2_INSTANCE: f"Instances: {_UNKNOWN_UNTIL_INCIDENT}.",
    cap.EC2_VOLUME: f"Volumes of the isolated instance: {_UNKNOWN_UNTIL_INCIDENT}.",
    cap.EC2_SNAPSHOT: "Evidence snapshots do not exist before the incident; created only with the responder's tags; "
    "and snapshots the credential chain shared (the added create-volume permissions removed).",
    cap.EC2_SECURITY_GROUP: "The instance's own groups (put back on release) and the responder's quarantine "
    "groups; rule changes only on groups carrying the responder's tag, except revoking exactly the ingress rules "
    "the credential chain added (from its CloudTrail records).",
    cap.EC2_NETWORK_INTERFACE: f"Interfaces of the isolated instance: {_UNKNOWN_UNTIL_INCIDENT}.",
    cap.EC2_VPC: "The quarantine group is created in the isolated instance's VPC, known only at the incident; a flow "
    "log the chain deleted is created again on its VPC (or subnet, interface).",
    cap.SPOT_REQUEST: f"Spot requests: {_UNKNOWN_UNTIL_INCIDENT}.",
    cap.SPOT_FLEET: f"Spot fleets: {_UNKNOWN_UNTIL_INCIDENT}.",
    cap.EC2_FLEET: f"EC2 fleets: {_UNKNOWN_UNTIL_INCIDENT}.",
    cap.AUTOSCALING_GROUP: f"Auto Scaling groups: {_UNKNOWN_UNTIL_INCIDENT}.",
    cap.TARGET_GROUP: "The target groups routing to the isolated instance, known only when the finding arrives.",
    cap.ORGANIZATION_ACCOUNT: "Any account of this organization (its id is fixed; accounts join and leave).",
    ECS_TASK: "The ECS task a GuardDuty finding names, known only when the finding arrives (DescribeTasks only).",
    undo.LAMBDA_FUNCTION: "Lambda functions a GuardDuty finding names or the chain created (throttled: concurrency 0), "
    "or whose resource policy the chain extended (RemovePermission of that statement only): known only at the "
    "incident.",
    undo.EC2_IMAGE: "AMIs the chain shared (the added launch permissions removed): known only at the incident.",
    undo.RDS_SNAPSHOT: "RDS snapshots the chain shared (the added restore accounts removed): known only at the "
    "incident.",
    undo.RDS_CLUSTER_SNAPSHOT: "RDS cluster snapshots the chain shared (the added restore accounts removed): known "
    "only at the incident.",
    undo.TRUST_ANCHOR: "Roles Anywhere trust anchors the chain created (disabled, kept): known only at the incident.",
    undo.CLOUDTRAIL_TRAIL: "Trails the credential chain stopped, deleted or whose event selectors it replaced (logging "
    "started again, the trail created again as the team made it, selectors put back; tags read first so a protected "
    "trail is only listed): known only from the chain's CloudTrail records.",
    undo_flow_logs.EC2_SUBNET: "Subnets whose flow log the chain deleted (created again as the team made it): known "
    "only from the chain's CloudTrail records.",
    undo_flow_logs.VPC_FLOW_LOG: "The flow log created again in place of one the chain deleted: its id is generated.",
    restore.RESPONDER_RULES: "The responder's own rules only (fixed name prefix compromise-responder-), in any region "
    "(the forwarders' rules too): enabled again and their targets put back after tampering.",
    restore.RESPONDER_TRAIL: "The responder's own trail only (its fixed name); the ARN's region is the trail's home "
    "region: logging started again after tampering.",
    restore.DETECTORS: "The account's GuardDuty detector, whose id is generated: re-enabled after tampering.",
    guarded.RESPONDER_FUNCTIONS: "The responder's own functions only (fixed name prefix compromise-responder-): "
    "read by the heartbeat.",
    guarded.RESPONDER_STACKS: "The responder's own stack (its id suffix is generated): when it was last deployed.",
}
