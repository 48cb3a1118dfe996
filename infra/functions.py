"""One Lambda function per trigger, with a role built from the handler's declared capabilities."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from . import LAMBDAS
from .nag import acknowledge
from .permissions import statements_for

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


def encrypted_queue(scope: Construct, construct_id: str, key: kms.IKey) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        construct_id,
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


class ResponderFunction(Construct):
    """Code asset ``lambdas/``, Powertools layer, least-privilege role, 2 async retries, then the DLQ."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        environment: dict[str, str],
        table_arns: dict[str, str],
        topic_arn: str,
        layer: lambda_.ILayerVersion,
        key: kms.IKey,
        timeout: Duration,
        memory_mb: int,
        member_role_name: str | None = None,
        organization_id: str = "",
        security_hub: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = handler
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"compromise responder {handler}: exactly the actions its flows declare",
        )
        for statement in statements_for(
            handler, table_arns, topic_arn, member_role_name, organization_id, security_hub=security_hub
        ):
            self.role.add_to_policy(statement)
        if member_role_name:
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/{member_role_name}]",
                "Organization mode: the member role in any account of the organization (aws:ResourceOrgID "
                "condition); accounts join and leave, so they cannot be listed.",
            )
        self.logs = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        self.logs.grant_write(self.role)
        self.dlq = encrypted_queue(self, "FailedResponses", key)
        self.function = lambda_.Function(
            self,
            "Function",
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
            on_failure=destinations.SqsDestination(self.dlq),
            retry_attempts=2,
            max_event_age=Duration.hours(6),
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "EC2/Auto Scaling containment acts on instances, requests and fleets the attacker created: their "
            "ids are unknown until the sweep finds them, and these describe/cancel/terminate actions accept no "
            "narrower resource; X-Ray tracing needs '*'.",
        )
        for symbol in ("user", "role"):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:{symbol}/*]",
                f"The compromised {symbol} is only known when the incident arrives; only key/policy actions are granted.",
            )
        for action in ("kms:ReEncrypt*", "kms:GenerateDataKey*"):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Action::{action}]",
                "CDK's grant to send to the KMS-encrypted dead-letter queue; scoped to that one key.",
            )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Pinned to python3.13 to match AWS's public Powertools layer build (python313-arm64).",
        )
