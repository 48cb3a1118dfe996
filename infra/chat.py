"""Slack and Microsoft Teams channels subscribed to the team topic through Amazon Q Developer in chat
applications (AWS Chatbot), from the ``chatChannels`` context. The topic's ``https`` message is a custom
notification (``responder.report.chat``), which the channels render.

The channels only read: their role has no permissions and the guardrail denies everything, so nobody can
act on AWS from the chat channel (the runbooks are the way to act). The Slack workspace or Teams team must
be authorized once in the Amazon Q Developer in chat applications console before the first deploy.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from .config import ChatChannel
from .policy_documents import OWN_ROLE_PATH


class ChatChannels(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, topic: sns.ITopic, channels: tuple[ChatChannel, ...]
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "ChannelRole",
            assumed_by=iam.ServicePrincipal(  # only this account's channel configurations (confused deputy)
                "chatbot.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="Compromise responder chat channels: notifications only, no permissions",
            path=OWN_ROLE_PATH,
        )
        self.guardrail = iam.ManagedPolicy(
            self,
            "Guardrail",
            description="Compromise responder chat channels: nothing may be done from the channel",
            statements=[iam.PolicyStatement(effect=iam.Effect.DENY, actions=["*"], resources=["*"])],
        )
        self.configurations: list[
            chatbot.CfnSlackChannelConfiguration | chatbot.CfnMicrosoftTeamsChannelConfiguration
        ] = []
        for channel in channels:
            common = {
                "configuration_name": channel.name,
                "iam_role_arn": self.role.role_arn,
                "sns_topic_arns": [topic.topic_arn],
                "guardrail_policies": [self.guardrail.managed_policy_arn],
                "user_role_required": False,
            }
            if channel.type == "slack":
                self.configurations.append(
                    chatbot.CfnSlackChannelConfiguration(
                        self,
                        f"Slack-{channel.name}",
                        slack_workspace_id=channel.id("workspaceId"),
                        slack_channel_id=channel.id("channelId"),
                        **common,
                    )
                )
            else:
                self.configurations.append(
                    chatbot.CfnMicrosoftTeamsChannelConfiguration(
                        self,
                        f"Teams-{channel.name}",
                        team_id=channel.id("teamId"),
                        teams_tenant_id=channel.id("tenantId"),
                        teams_channel_id=channel.id("channelId"),
                        **common,
                    )
                )
