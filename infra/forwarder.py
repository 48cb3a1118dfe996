"""Per-region forwarders: EventBridge rules only see their own region's events, so each enabled
region sends the launch calls and GuardDuty findings to the home region's default event bus.

A forwarder is two rules and one role - no assets, no Lambda - and uses the bootstrapless
synthesizer, so plain `cdk deploy --all` deploys it to every region without `cdk bootstrap` there.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, BootstraplessSynthesizer, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct
from responder import own_names

from .guard import GUARD_PATTERN
from .policy_documents import OWN_ROLE_PATH
from .rules import GUARDDUTY_PATTERN, REGIONAL_CLOUDTRAIL_PATTERN, event_pattern


class ForwarderStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, home_region: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, synthesizer=BootstraplessSynthesizer(), **kwargs)
        home_bus_arn = f"arn:{Aws.PARTITION}:events:{home_region}:{Aws.ACCOUNT_ID}:event-bus/default"
        home_bus = events.EventBus.from_event_bus_arn(self, "HomeBus", home_bus_arn)
        role = iam.Role(
            self,
            "ForwardRole",
            assumed_by=iam.ServicePrincipal(  # only this account's own rules (confused deputy)
                "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            path=OWN_ROLE_PATH,
            description="Forwards launch calls and GuardDuty findings to the compromise responder's home bus",
        )
        role.add_to_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=[home_bus_arn]))
        launch, guardduty, guard = own_names.FORWARDER_RULES
        for name, pattern, description, rule_name in (
            ("LaunchCalls", REGIONAL_CLOUDTRAIL_PATTERN, "EC2/Auto Scaling launch and key-pair calls", launch),
            ("GuardDutyFindings", GUARDDUTY_PATTERN, "GuardDuty findings", guardduty),
            ("GuardCalls", GUARD_PATTERN, "Calls that tamper with the responder", guard),
        ):
            rule = events.Rule(self, name, description=f"{description} -> compromise responder ({home_region})",
                               event_pattern=event_pattern(pattern), rule_name=rule_name)  # fmt: skip
            rule.add_target(targets.EventBus(home_bus, role=role))
