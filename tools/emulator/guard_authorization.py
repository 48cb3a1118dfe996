"""Emulated authorization of the calls of "Guarding the responder": each one's resource ARN as the Service
Authorization Reference gives it (CloudTrail trails, GuardDuty detectors, EventBridge rules, Lambda functions,
the SNS topic, CloudWatch metrics: none of them takes a condition key the responder uses)."""

from __future__ import annotations

from collections.abc import Callable

from .authorization import Request
from .hooks import Call


def _trail(call: Call) -> list[Request]:
    name = str(call.params.get("Name") or call.params.get("TrailName") or "")
    arn = name if name.startswith("arn:") else f"arn:aws:cloudtrail:{call.region}:{call.account}:trail/{name}"
    return [Request(call.action, arn)]


def _detector(call: Call) -> list[Request]:
    return [
        Request(call.action, f"arn:aws:guardduty:{call.region}:{call.account}:detector/{call.params['DetectorId']}")
    ]


def _rule(call: Call) -> list[Request]:
    name = str(call.params.get("Name") or call.params.get("Rule") or "")
    return [Request(call.action, f"arn:aws:events:{call.region}:{call.account}:rule/{name}")]


def _function(call: Call) -> list[Request]:
    name = str(call.params["FunctionName"])
    arn = name if name.startswith("arn:") else f"arn:aws:lambda:{call.region}:{call.account}:function:{name}"
    return [Request(call.action, arn)]


def _stack(call: Call) -> list[Request]:
    name = str(call.params["StackName"])
    arn = name if name.startswith("arn:") else f"arn:aws:cloudformation:{call.region}:{call.account}:stack/{name}/*"
    return [Request(call.action, arn)]


GUARD_MODELS: dict[str, Callable[[Call], list[Request]]] = {
    "cloudtrail:GetTrailStatus": _trail,
    "cloudtrail:StartLogging": _trail,
    "cloudtrail:PutEventSelectors": _trail,  # what the chain left behind (actions/undo_trail_selectors.py)
    "cloudtrail:GetTrail": _trail,  # a trail the chain deleted, created again (actions/undo_trail_deleted.py)
    "cloudtrail:CreateTrail": _trail,
    "guardduty:ListDetectors": lambda c: [Request(c.action, "*")],
    "guardduty:GetDetector": _detector,
    "guardduty:UpdateDetector": _detector,
    "events:DescribeRule": _rule,
    "events:ListTargetsByRule": _rule,
    "events:EnableRule": _rule,
    "events:PutTargets": _rule,
    "lambda:GetFunctionConfiguration": _function,
    "sns:ListSubscriptionsByTopic": lambda c: [Request(c.action, str(c.params["TopicArn"]))],
    "cloudformation:DescribeStackEvents": _stack,
}
