"""The team's SNS topic: encrypted, e-mail subscriptions from context, publishers restricted."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct
from responder.core import own_names

from .keys import evidence_key


def from_this_account(service: str, source: str) -> dict[str, dict[str, str]]:
    """``aws:SourceAccount`` and ``aws:SourceArn``: the service acts for this account's own ``source`` only."""
    return {
        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:{service}:{Aws.REGION}:{Aws.ACCOUNT_ID}:{source}"},
    }


class TeamTopic(Construct):
    """Every response lands here: a human summary and the JSON report."""

    def __init__(self, scope: Construct, construct_id: str, *, emails: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.key = evidence_key(self, "Key", "Encrypts the compromise responder's notifications and queues")
        # Confused-deputy guards: each service acts for this account's own rules and alarms only.
        # EventBridge: failed deliveries into the functions' encrypted dead-letter queues; CloudWatch: alarms
        # publishing to the encrypted topic.
        for service, source in (("events", "rule/*"), ("cloudwatch", "alarm:*")):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Allow{service.capitalize()}ToSendEncrypted",
                    principals=[iam.ServicePrincipal(f"{service}.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],  # in a key policy, "*" is this key
                    conditions=from_this_account(service, source),
                )
            )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=own_names.TOPIC,  # fixed: tamper calls on it are recognised by it
            display_name="Compromise responder",
            master_key=self.key,
            enforce_ssl=True,
        )
        for email in emails:
            self.topic.add_subscription(subs.EmailSubscription(email))
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsOfThisAccountMayPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=from_this_account("cloudwatch", "alarm:*"),
            )
        )
        self._publishers: list[str] = []

    def only_these_may_publish(self, role_arns: list[str]) -> None:
        """Deny publishing to anyone but the stack's functions and AWS services (the alarms, above)."""
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
