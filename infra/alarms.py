"""CloudWatch alarms that reach the team: any function error, anything in a dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from .functions import ResponderFunction


class FailureAlarms(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, topic: sns.ITopic, functions: list[ResponderFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []
        notify = actions.SnsAction(topic)
        for fn in functions:
            errors = cloudwatch.Alarm(
                self,
                f"{fn.handler.capitalize()}Errors",
                alarm_description=f"compromise responder {fn.handler}: a response failed (it is retried; check the logs)",
                metric=fn.function.metric_errors(period=Duration.minutes(1), statistic="Sum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            dead = cloudwatch.Alarm(
                self,
                f"{fn.handler.capitalize()}DeadLetters",
                alarm_description=f"compromise responder {fn.handler}: an event was given up on - run the runbook by hand",
                metric=fn.dlq.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic="Maximum"
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            for alarm in (errors, dead):
                alarm.add_alarm_action(notify)
                self.alarms.append(alarm)
