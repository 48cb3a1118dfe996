"""EventBridge rules: each trigger's events to its function, with retries and a dead-letter queue."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from responder import kinds
from responder.core import own_names
from responder.parse.cloudtrail_records import (
    CHAIN_EVENTS,
    EC2_PERSISTENCE_EVENTS,
    IAM_PERSISTENCE_EVENTS,
    LAUNCH_EVENTS,
)
from responder.parse.events import HEALTH_CREDENTIAL_CODES, HEALTH_DETAIL_TYPES

HEALTH_PATTERN: dict[str, Any] = {
    "source": ["aws.health"],
    "detail-type": sorted(HEALTH_DETAIL_TYPES),
    "detail": {"service": ["RISK"], "eventTypeCode": sorted(HEALTH_CREDENTIAL_CODES)},
}

REGIONAL_CALLS = sorted(LAUNCH_EVENTS | EC2_PERSISTENCE_EVENTS | CHAIN_EVENTS | kinds.launch_events())
# Launch APIs, EC2 key pairs and STS calls (recorded in the region of the endpoint used) happen in every region;
# IAM is global and its events arrive in us-east-1. The kinds beyond EC2 (responder.kinds) add their services'
# sources and create calls.
REGIONAL_CLOUDTRAIL_PATTERN: dict[str, Any] = {
    "source": ["aws.ec2", "aws.autoscaling", "aws.sts", *sorted(kinds.event_sources_as("aws."))],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": [
            "ec2.amazonaws.com",
            "autoscaling.amazonaws.com",
            "sts.amazonaws.com",
            *sorted(kinds.event_sources()),
        ],
        "eventName": REGIONAL_CALLS,
    },
}
IAM_CLOUDTRAIL_PATTERN: dict[str, Any] = {
    "source": ["aws.iam"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {"eventSource": ["iam.amazonaws.com"], "eventName": sorted(IAM_PERSISTENCE_EVENTS)},
}
GUARDDUTY_PATTERN: dict[str, Any] = {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    detail_type = pattern.get("detail-type")
    return events.EventPattern(
        source=pattern.get("source"),
        detail_type=detail_type,
        detail=pattern.get("detail"),
    )


class TriggerRule(Construct):
    """One rule -> one function; failed deliveries go to the function's dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pattern: dict[str, Any],
        function: lambda_.IFunction,
        dlq: sqs.IQueue,
        description: str,
        rule_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self, "Rule", rule_name=rule_name, description=description, event_pattern=event_pattern(pattern)
        )
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                dead_letter_queue=dlq,
                retry_attempts=own_names.RULE_RETRY_ATTEMPTS,
                max_event_age=Duration.seconds(own_names.RULE_MAX_EVENT_AGE_SECONDS),
            )
        )
