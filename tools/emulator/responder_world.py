"""The responder's own resources in the emulated account, by their fixed names (what `cdk deploy` creates and
"Guarding the responder" watches): the trail and its bucket, the functions and their dead-letter queues, the
home rules with their targets as the stack defines them, a GuardDuty detector, and a CloudFormation stack
whose last deploy the heartbeat compares the functions with. Tamper calls are then made for real (moto
changes) and recorded as CloudTrail writes them (``tamper``)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from responder.core import own_names
from responder.evidence.guard_state import GuardPlace

from .cloudtrail import Identity, cloudtrail_detail
from .hooks import Call

if TYPE_CHECKING:
    from . import EmulatedAws

HANDLERS = ("health", "guardduty", "cloudtrail", "runbook", "heartbeat")
STACK = own_names.STACK
# A role session: AssumedRole identities carry ``AROA…:session`` as their principalId (aws:userid).
SESSION_ID = "AROACKCEVSQ6C2EXAMPLE:attacker-session"
DEPLOY_ROLE = "cdk-hnb659fds-deploy-role-123456789012-us-east-1"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("handlers/heartbeat.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@dataclass
class ResponderWorld:
    aws: EmulatedAws
    place: GuardPlace
    detectors: dict[str, str] = field(default_factory=dict)  # region -> detector id

    def tamper(
        self, identity: Identity, event_name: str, source: str, request: dict[str, Any] | None,
        *, region: str | None = None, error_code: str | None = None, invoked_by: str | None = None,
        response: dict[str, Any] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The EventBridge event for a tamper call ``identity`` made (the change itself is made by the caller)."""
        detail = cloudtrail_detail(identity, event_name, source, region or self.place.home_region, request, response,
                                   when=datetime.now(UTC), error_code=error_code)  # fmt: skip
        if invoked_by:
            detail["userIdentity"]["invokedBy"] = invoked_by
        return self.aws.trail.record(detail)


def deploy_responder(aws: EmulatedAws, *, detector_regions: tuple[str, ...] = ("us-east-1",)) -> ResponderWorld:
    home = "us-east-1"
    place = GuardPlace(aws.account, "aws", home, aws.topic_arn, HANDLERS)
    world = ResponderWorld(aws, place)
    bucket = own_names.trail_bucket(aws.account, home)
    aws.client("s3").create_bucket(Bucket=bucket)
    trail = aws.client("cloudtrail")
    trail.create_trail(Name=own_names.TRAIL, S3BucketName=bucket, IsMultiRegionTrail=True)
    trail.start_logging(Name=own_names.TRAIL)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    role = aws.client("iam").create_role(RoleName="compromise-responder-function", Path="/compromise-responder/",
                                         AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]  # fmt: skip
    code = _zip()
    for handler in HANDLERS:
        aws.client("sqs").create_queue(QueueName=own_names.dead_letter_queue(handler))
        aws.client("lambda").create_function(
            FunctionName=own_names.function(handler), Runtime="python3.13", Role=role,
            Handler=f"handlers.{handler}.handler", Code={"ZipFile": code},
        )  # fmt: skip
    events = aws.client("events")
    for rule in own_names.RULES:
        if rule == own_names.rule("heartbeat"):
            events.put_rule(Name=rule, ScheduleExpression="rate(5 minutes)")
        else:
            events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.cloudtrail"]}))
        events.put_targets(Rule=rule, Targets=place.rule_targets(rule))
    for region in detector_regions:
        world.detectors[region] = aws.client("guardduty", region).create_detector(Enable=True)["DetectorId"]
    # the deploy finishes after its functions are in place: what changes them later is not the deploy
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    aws.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    aws.set_env(STACK_NAME=STACK, GUARDED_HANDLERS=",".join(HANDLERS))
    return world


def role_session(role: str, session_id: str = SESSION_ID) -> Identity:
    return Identity("AssumedRole", role, "ASIAIOSFODNN7EXAMPLE", principal_id=session_id)


class LambdaLastModified:
    """Gap filled: moto leaves a function's ``LastModified`` at its creation when its code or configuration is
    updated; AWS sets it to the time of the update (what the heartbeat compares with the last deploy)."""

    UPDATES = frozenset({"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"})

    def accepted(self, call: Call, parsed: dict[str, Any]) -> None:
        if call.action not in self.UPDATES:
            return
        from moto.awslambda.models import lambda_backends
        from moto.core.utils import iso_8601_datetime_with_nanoseconds

        name = str(call.params.get("FunctionName", "")).rsplit(":", 1)[-1]
        function = lambda_backends[call.account][call.region].get_function(name)
        function.last_modified = iso_8601_datetime_with_nanoseconds()
