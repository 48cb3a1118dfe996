"""Per-region forwarders: EventBridge rules only see their own region's events, so each enabled
region sends the launch calls and GuardDuty findings to the home region's default event bus.

A forwarder is two rules and one role - no assets, no Lambda - and uses the bootstrapless
synthesizer, so plain `cdk deploy --all` deploys it to every region without `cdk bootstrap` there.

Bootstrapless is not role-less: the CLI deploys each stack by assuming the stack's ``assumeRoleArn`` and passes
its ``cloudFormationExecutionRoleArn`` to CloudFormation as ``RoleARN``. Left to itself the synthesizer names
the roles of the stack's *own* region, which only ``cdk bootstrap`` of that region creates: CloudFormation then
refuses the stack. So every forwarder names the *home* region's bootstrap roles (``bootstrap_roles``): IAM is
global, the bootstrap deploy role may create stacks in any region (its CloudFormation statements are on
``Resource: *``) and pass its own execution role. One bootstrap, in the home region, serves every region - the
one the README runs (chosen over bootstrapping 17 regions: 16 more CDKToolkit stacks and asset buckets that
nothing uses).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, BootstraplessSynthesizer, DefaultStackSynthesizer, Environment, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct
from responder.core import own_names

from .config import ResponderConfig, global_events_region
from .guard import GUARD_PATTERN
from .policy_documents import OWN_ROLE_PATH
from .rules import GUARDDUTY_PATTERN, HEALTH_PATTERN, IAM_CLOUDTRAIL_PATTERN, REGIONAL_CLOUDTRAIL_PATTERN, event_pattern

STACK_PREFIX = "CompromiseResponderForwarder-"


def bootstrap_roles(home_region: str) -> dict[str, str]:
    """The home region's bootstrap deploy role and CloudFormation execution role (default qualifier), as the cloud
    assembly names them: ``${AWS::AccountId}`` and ``${AWS::Partition}`` are filled in by the CLI."""
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    return {
        key: arn.replace("${Qualifier}", qualifier).replace("${AWS::Region}", home_region)
        for key, arn in (
            ("deploy_role_arn", DefaultStackSynthesizer.DEFAULT_DEPLOY_ROLE_ARN),
            ("cloud_formation_execution_role_arn", DefaultStackSynthesizer.DEFAULT_CLOUDFORMATION_ROLE_ARN),
        )
    }


def forwarders(scope: Construct, config: ResponderConfig) -> list[ForwarderStack]:
    """One forwarder per region of ``forwarderRegions`` but the home region. The global events (AWS Health credential
    notices, IAM's CloudTrail calls) are delivered in the partition's global-events region only (us-east-1): when the
    home region is another, that region's forwarder sends them too."""
    global_region = global_events_region(config.home_region)
    return [
        ForwarderStack(
            scope,
            f"{STACK_PREFIX}{region}",
            home_region=config.home_region,
            global_events=region == global_region,
            env=Environment(account=config.account, region=region),
            description=f"Forwards {region}'s launch calls and GuardDuty findings to the compromise responder"
            + (" (and the global Health notices and IAM calls)" if region == global_region else ""),
        )
        for region in config.forwarder_regions
        if region != config.home_region
    ]


class ForwarderStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, home_region: str, global_events: bool = False, **kwargs: Any
    ) -> None:
        synthesizer = BootstraplessSynthesizer(**bootstrap_roles(home_region))
        super().__init__(scope, construct_id, synthesizer=synthesizer, **kwargs)
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
        routes = [
            ("LaunchCalls", REGIONAL_CLOUDTRAIL_PATTERN, "EC2/Auto Scaling launch and key-pair calls", launch),
            ("GuardDutyFindings", GUARDDUTY_PATTERN, "GuardDuty findings", guardduty),
            ("GuardCalls", GUARD_PATTERN, "Calls that tamper with the responder", guard),
        ]
        if global_events:  # delivered here only; the home stack's Health and IAM rules see them once forwarded
            routes += [
                ("HealthNotices", HEALTH_PATTERN, "AWS Health credential-risk notices (global)",
                 own_names.rule("forward-health")),
                ("IamCalls", IAM_CLOUDTRAIL_PATTERN, "IAM persistence calls (global)", own_names.rule("forward-iam-calls")),
            ]  # fmt: skip
        for name, pattern, description, rule_name in routes:
            rule = events.Rule(self, name, description=f"{description} -> compromise responder ({home_region})",
                               event_pattern=event_pattern(pattern), rule_name=rule_name)  # fmt: skip
            rule.add_target(targets.EventBus(home_bus, role=role))
