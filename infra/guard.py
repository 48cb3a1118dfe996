"""Guarding the responder (contract section of that name): the rule pattern of the tamper calls, the heartbeat's
schedule and its alarm (missing data is breaching), the watchdog topic, and the trail bucket's harder policy.

The names come from ``responder.core.own_names``, the one list the functions read too."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from responder.core import own_names
from responder.parse.guard_calls import LAMBDA_EVENT_NAMES, SOURCES, TAMPER_CALLS, base_name

WATCHDOG_TOPIC = f"{own_names.PREFIX}-watchdog"
HEARTBEAT_MINUTES = 5
_OWN = {"prefix": f"{own_names.PREFIX}-"}


def _calls(source: str, *names: str) -> dict[str, Any]:
    return {"eventSource": [source], "eventName": sorted(names)}


def guard_pattern() -> dict[str, Any]:
    """Every call of "Guarding the responder", scoped to the responder's own resources where the call names one
    (``requestParameters``): a name, or an ARN ending in it."""
    trail = [own_names.TRAIL, {"suffix": f":trail/{own_names.TRAIL}"}]
    rule = [_OWN, {"wildcard": f"arn:*:events:*:*:rule/{own_names.PREFIX}-*"}]
    function = [_OWN, {"wildcard": f"arn:*:lambda:*:*:function:{own_names.PREFIX}-*"}]
    lambda_names = [{"prefix": base_name(n)} for n in LAMBDA_EVENT_NAMES]
    alternatives: list[dict[str, Any]] = [
        {**_calls("cloudtrail.amazonaws.com", "StopLogging", "DeleteTrail", "UpdateTrail"),
         "requestParameters": {"name": trail}},
        {**_calls("cloudtrail.amazonaws.com", "PutEventSelectors"), "requestParameters": {"trailName": trail}},
        _calls("guardduty.amazonaws.com", *TAMPER_CALLS["guardduty.amazonaws.com"]),
        {**_calls("events.amazonaws.com", "DisableRule", "DeleteRule"), "requestParameters": {"name": rule}},
        {**_calls("events.amazonaws.com", "RemoveTargets"), "requestParameters": {"rule": rule}},
        {"eventSource": ["lambda.amazonaws.com"], "eventName": lambda_names,
         "requestParameters": {"functionName": function}},
        {**_calls("sns.amazonaws.com", "DeleteTopic", "SetTopicAttributes"),
         "requestParameters": {"topicArn": [{"suffix": f":{own_names.TOPIC}"}]}},
        {**_calls("sns.amazonaws.com", "Unsubscribe"),
         "requestParameters": {"subscriptionArn": [{"wildcard": f"*:{own_names.TOPIC}:*"}]}},
        {**_calls("s3.amazonaws.com", *TAMPER_CALLS["s3.amazonaws.com"]),
         "requestParameters": {"bucketName": [{"prefix": own_names.TRAIL_BUCKET_PREFIX}]}},
        _calls("organizations.amazonaws.com", "LeaveOrganization"),
    ]  # fmt: skip
    return {
        "source": sorted(SOURCES.values()),
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"$or": alternatives},
    }


GUARD_PATTERN = guard_pattern()


class Heartbeat(Construct):
    """The schedule (every 5 minutes) -> the heartbeat function; an alarm on its metric with missing data
    BREACHING, whose actions are the team topic and a second, watchdog topic (a different channel the team
    configures: an attacker who deletes the team topic does not silence it)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        dlq: sqs.IQueue,
        team_topic: sns.ITopic,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Schedule",
            rule_name=own_names.rule("heartbeat"),
            description="compromise responder: check its own trail, detector, rules, functions and topic",
            schedule=events.Schedule.rate(Duration.minutes(HEARTBEAT_MINUTES)),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                dead_letter_queue=dlq,
                retry_attempts=own_names.RULE_RETRY_ATTEMPTS,
                max_event_age=Duration.seconds(own_names.RULE_MAX_EVENT_AGE_SECONDS),
            )
        )
        self.watchdog = sns.Topic(
            self, "Watchdog", topic_name=WATCHDOG_TOPIC, display_name="Compromise responder watchdog",
            master_key=key, enforce_ssl=True,
        )  # fmt: skip
        # subscribed by the team, on a channel other than the team topic's (README "Guarding the responder")
        metric = cloudwatch.Metric(
            namespace=own_names.HEARTBEAT_METRIC_NAMESPACE,
            metric_name=own_names.HEARTBEAT_METRIC,
            dimensions_map={"service": own_names.METRIC_SERVICE},  # the embedded-metric dimension (Powertools)
            period=Duration.minutes(HEARTBEAT_MINUTES),
            statistic="Sum",
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "Missing",
            alarm_name=f"{own_names.PREFIX}-heartbeat-missing",
            alarm_description="compromise responder: the heartbeat stopped - the responder may be disarmed "
            "(functions, rules or schedule changed). Check it now; redeploy with npx cdk deploy.",
            metric=metric,
            threshold=1,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        for topic in (team_topic, self.watchdog):
            self.alarm.add_alarm_action(actions.SnsAction(topic))
            self.alarm.add_ok_action(actions.SnsAction(topic))


def harden_trail_bucket(bucket: s3.IBucket) -> None:
    """Only the deploy roles (and root, which AWS always allows) may change the trail bucket's lifecycle or
    policy: a leaked key cannot expire the logs or open the bucket."""
    account = Aws.ACCOUNT_ID
    deploy_roles = [f"arn:{Aws.PARTITION}:iam::{account}:role/{p}" for p in own_names.DEPLOY_ROLE_PATTERNS]
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="OnlyTheDeployRolesChangeLifecycleOrPolicy",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
            resources=[bucket.bucket_arn],
            conditions={
                "ArnNotLike": {"aws:PrincipalArn": [*deploy_roles, f"arn:{Aws.PARTITION}:iam::{account}:root"]},
                "Bool": {"aws:PrincipalIsAWSService": "false"},
            },
        )
    )
