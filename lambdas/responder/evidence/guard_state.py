"""The state of the responder's own eyes and hands (contract "Guarding the responder"): the reads, and the pure
plan of what to switch back on. Shared by the tamper response (one target) and the heartbeat (everything).

A ``Check`` is one thing looked at: ``ok``, or broken with ``restore`` (a step that switches it back on) or
``todo`` (what only a human can do, e.g. "redeploy with npx cdk deploy").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..actions import ActionName
from ..actions.restore import DETECTORS, RESPONDER_RULES, RESPONDER_TRAIL
from ..aws import AWS_ERRORS, Clients, describe_error, error_code
from ..core import capabilities as cap
from ..core import own_names
from ..core.model import Step

REDEPLOY = "redeploy the responder with `npx cdk deploy` (from a trusted machine, with the deploy role)"
RESPONDER_FUNCTIONS = cap.arn("lambda", f"function:{own_names.PREFIX}-*")
RESPONDER_STACKS = cap.arn("cloudformation", f"stack/{own_names.STACK}/*")

TRAIL_STATUS = cap.declare("read", "trail-status", ("cloudtrail:GetTrailStatus",), RESPONDER_TRAIL,
                           doc="is the responder's trail logging")  # fmt: skip
LIST_DETECTORS = cap.declare("read", "list-detectors", ("guardduty:ListDetectors",), doc="the account's detectors")
GET_DETECTOR = cap.declare("read", "get-detector", ("guardduty:GetDetector",), DETECTORS, doc="is it enabled")
DESCRIBE_RULE = cap.declare("read", "describe-rule", ("events:DescribeRule", "events:ListTargetsByRule"),
                            RESPONDER_RULES, doc="is a responder rule enabled, with its targets")  # fmt: skip
GET_FUNCTION = cap.declare("read", "get-function", ("lambda:GetFunctionConfiguration",), RESPONDER_FUNCTIONS,
                           doc="is a responder function there, unchanged since the deploy")  # fmt: skip
TOPIC_SUBSCRIPTIONS = cap.declare("read", "topic-subscriptions", ("sns:ListSubscriptionsByTopic",), cap.NOTIFY_TOPIC,
                                  doc="does the team topic still reach someone")  # fmt: skip
STACK_EVENTS = cap.declare("read", "stack-events", ("cloudformation:DescribeStackEvents",), RESPONDER_STACKS,
                           doc="when the responder was last deployed")  # fmt: skip
GUARD_READS = (TRAIL_STATUS, LIST_DETECTORS, GET_DETECTOR, DESCRIBE_RULE, GET_FUNCTION, TOPIC_SUBSCRIPTIONS)
MISSING = frozenset({"TrailNotFoundException", "ResourceNotFoundException", "NotFound", "NotFoundException",
                     "BadRequestException"})  # fmt: skip


@dataclass(frozen=True)
class Check:
    """One thing of the responder's looked at."""

    what: str  # "trail compromise-responder-management-events"
    ok: bool
    problem: str = ""  # "not logging", "deleted", "disabled", "no target", "changed after the last deploy" ...
    restore: Step | None = None
    todo: str = ""

    def describe(self) -> str:
        return f"{self.what}: {'ok' if self.ok else self.problem}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"what": self.what, "ok": self.ok}
        if not self.ok:
            out["problem"] = self.problem
            if self.todo:
                out["todo"] = self.todo
        return out


@dataclass
class GuardPlace:
    """Where the responder lives: its account, partition and home region, its topic."""

    account: str
    partition: str
    home_region: str
    topic_arn: str
    handlers: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)

    def rule_targets(self, rule: str) -> list[dict[str, Any]]:
        """A home rule's targets as the stack defines them (fixed names: the ARNs are known without the stack)."""
        handler = own_names.RULES[rule]
        base = f"{self.partition}:%s:{self.home_region}:{self.account}"
        return [
            {
                "Id": own_names.RULE_TARGET_ID,
                "Arn": f"arn:{base % 'lambda'}:function:{own_names.function(handler)}",
                "RetryPolicy": {
                    "MaximumRetryAttempts": own_names.RULE_RETRY_ATTEMPTS,
                    "MaximumEventAgeInSeconds": own_names.RULE_MAX_EVENT_AGE_SECONDS,
                },
                "DeadLetterConfig": {"Arn": f"arn:{base % 'sqs'}:{own_names.dead_letter_queue(handler)}"},
            }
        ]


def _read(call: Callable[[], Any]) -> tuple[Any, str | None]:
    """(answer, None), or (None, error code) when AWS refused or the resource is gone."""
    try:
        return call(), None
    except AWS_ERRORS as exc:
        return None, error_code(exc) or describe_error(exc)


def check_trail(clients: Clients, place: GuardPlace) -> Check:
    what = f"trail {own_names.TRAIL}"
    status, err = _read(lambda: clients.get("cloudtrail", place.home_region).get_trail_status(Name=own_names.TRAIL))
    if err in MISSING:
        return Check(what, False, "deleted", todo=f"The trail was deleted: {REDEPLOY}.")
    if err:
        return Check(what, False, f"could not be read ({err})", todo=f"Check {what} by hand.")
    if not status.get("IsLogging"):
        step = Step(
            ActionName.START_LOGGING, own_names.TRAIL, place.home_region, "the responder's trail stopped logging"
        )
        return Check(what, False, "not logging", restore=step)
    return Check(what, True)


def check_detectors(clients: Clients, region: str) -> list[Check]:
    gd = clients.get("guardduty", region)
    listed, err = _read(lambda: gd.list_detectors())
    if err:
        return [Check(f"GuardDuty in {region}", False, f"could not be read ({err})", todo="Check GuardDuty by hand.")]
    ids = list(listed.get("DetectorIds", []))
    if not ids:
        return [Check(f"GuardDuty in {region}", False, "no detector",
                      todo=f"GuardDuty has no detector in {region}: enable GuardDuty there (or {REDEPLOY}).")]  # fmt: skip
    checks = []
    for detector in ids:
        what = f"GuardDuty detector {detector} ({region})"
        got, err = _read(functools.partial(gd.get_detector, DetectorId=detector))
        if err:
            checks.append(Check(what, False, f"could not be read ({err})", todo="Check GuardDuty by hand."))
        elif got.get("Status") != "ENABLED":
            step = Step(ActionName.ENABLE_DETECTOR, detector, region, "the account's GuardDuty detector was disabled")
            checks.append(Check(what, False, "disabled", restore=step))
        else:
            checks.append(Check(what, True))
    return checks


def check_rule(clients: Clients, place: GuardPlace, rule: str, region: str | None = None) -> list[Check]:
    region = region or place.home_region
    what = f"rule {rule}" + ("" if region == place.home_region else f" ({region})")
    events = clients.get("events", region)
    described, err = _read(lambda: events.describe_rule(Name=rule))
    if err in MISSING:
        return [Check(what, False, "deleted", todo=f"Rule {rule} was deleted: {REDEPLOY}.")]
    if err:
        return [Check(what, False, f"could not be read ({err})", todo=f"Check {what} by hand.")]
    checks = []
    if described.get("State") != "ENABLED":
        step = Step(ActionName.ENABLE_RULE, rule, region, "a responder rule was disabled")
        checks.append(Check(what, False, "disabled", restore=step))
    listed, err = _read(lambda: events.list_targets_by_rule(Rule=rule))
    ids = {t["Id"] for t in (listed or {}).get("Targets", [])}
    if err:
        checks.append(Check(f"{what} targets", False, f"could not be read ({err})", todo=f"Check {what} by hand."))
    elif own_names.RULE_TARGET_ID not in ids:
        if rule in own_names.RULES and region == place.home_region:
            targets = place.rule_targets(rule)
            step = Step(ActionName.PUT_RULE_TARGETS, rule, region, "a responder rule lost its target",
                        params={"targets": targets})  # fmt: skip
            checks.append(Check(f"{what} targets", False, "target removed", restore=step))
        else:
            checks.append(
                Check(f"{what} targets", False, "target removed", todo=f"{what} lost its target: {REDEPLOY}.")
            )
    if not checks:
        checks.append(Check(what, True))
    return checks


def check_function(clients: Clients, place: GuardPlace, handler: str, deployed_at: datetime | None) -> Check:
    name = own_names.function(handler)
    what = f"function {name}"
    got, err = _read(lambda: clients.get("lambda", place.home_region).get_function_configuration(FunctionName=name))
    if err in MISSING:
        return Check(what, False, "deleted", todo=f"Function {name} was deleted: {REDEPLOY}.")
    if err:
        return Check(what, False, f"could not be read ({err})", todo=f"Check {what} by hand.")
    modified = _lambda_time(got.get("LastModified"))
    if deployed_at is not None and modified is not None and modified > deployed_at:
        return Check(what, False, f"code or configuration changed after the last deploy ({got.get('LastModified')})",
                     todo=f"Function {name} was changed outside a deploy: {REDEPLOY}, then find who changed it.")  # fmt: skip
    return Check(what, True)


def check_topic(clients: Clients, place: GuardPlace) -> Check:
    what = f"topic {place.topic_arn.rsplit(':', 1)[-1]}"
    sns = clients.get("sns", place.home_region)
    listed, err = _read(lambda: sns.list_subscriptions_by_topic(TopicArn=place.topic_arn))
    if err in MISSING:
        return Check(what, False, "deleted", todo=f"The team topic was deleted: {REDEPLOY}.")
    if err:
        return Check(what, False, f"could not be read ({err})", todo=f"Check {what} by hand.")
    confirmed = [s for s in listed.get("Subscriptions", []) if s.get("SubscriptionArn", "").startswith("arn:")]
    if not confirmed:
        return Check(what, False, "no subscriptions",
                     todo="Nobody receives the responder's notifications: subscribe the team again (e-mail, chat).")  # fmt: skip
    return Check(what, True)


_LAMBDA_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")


def _lambda_time(value: Any) -> datetime | None:
    """Lambda's ``LastModified`` (``2024-08-01T13:52:02.000+0000``; fractions of any length, ``Z`` too)."""
    found = _LAMBDA_TIME.match(value) if isinstance(value, str) else None
    if not found:
        return None
    seconds, fraction, zone = found.groups()
    zone = "+0000" if zone in (None, "Z") else zone.replace(":", "")
    return datetime.strptime(f"{seconds}.{(fraction or '0')[:6]:0<6}{zone}", "%Y-%m-%dT%H:%M:%S.%f%z")


def restore_steps(checks: Iterable[Check]) -> list[Step]:
    return [c.restore for c in checks if c.restore is not None]


def todos(checks: Iterable[Check]) -> list[str]:
    out: list[str] = []
    for c in checks:
        if c.todo and c.todo not in out:
            out.append(c.todo)
    return out
