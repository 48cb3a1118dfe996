"""The team's SNS topic: encrypted, e-mail subscriptions from context, publishers restricted."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct


class TeamTopic(Construct):
    """Every response lands here: a human summary and the JSON report."""

    def __init__(self, scope: Construct, construct_id: str, *, emails: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the compromise responder's notifications and queues",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Allow{service.split('.')[0].capitalize()}ToPublishEncrypted",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                )
            )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Compromise responder",
            master_key=self.key,
            enforce_ssl=True,
        )
        for email in emails:
            self.topic.add_subscription(subs.EmailSubscription(email))
        for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"{service.split('.')[0].capitalize()}MayPublish",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                )
            )
        self._publishers: list[str] = []

    def only_these_may_publish(self, role_arns: list[str]) -> None:
        """Deny publishing to anyone but the stack's functions and AWS services (EventBridge, alarms)."""
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyResponderFunctionsAndServicesPublish",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnNotEquals": {"aws:PrincipalArn": role_arns},
                    "Bool": {"aws:PrincipalIsAWSService": "false"},
                },
            )
        )
