"""Put the responder's eyes and hands back (contract "Guarding the responder"). Each action may act on the
responder's own resources only (its fixed names); the session that tampered is cut by ``role_session``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core import capabilities as cap
from ..core import own_names
from ..core.model import Outcome, Step
from .base import Action, ActionName, Words, each, register

RESPONDER_TRAIL = cap.arn("cloudtrail", f"trail/{own_names.TRAIL}")
RESPONDER_RULES = cap.arn("events", f"rule/{own_names.PREFIX}-*")
DETECTORS = cap.arn("guardduty", "detector/*")


@register
class StartLogging(Action):
    """Start the responder's trail logging again (it was stopped)."""

    name = ActionName.START_LOGGING
    service = "cloudtrail"
    permissions = ("cloudtrail:StartLogging",)
    resource = RESPONDER_TRAIL
    phase = 1
    words = Words("trail", "trails", "logging again", "to start logging", short="logging again")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(steps, lambda s: client.start_logging(Name=s.target))


@register
class EnableDetector(Action):
    """Enable the account's GuardDuty detector again (it was disabled)."""

    name = ActionName.ENABLE_DETECTOR
    service = "guardduty"
    permissions = ("guardduty:UpdateDetector",)
    resource = DETECTORS
    phase = 1
    words = Words("GuardDuty detector", "GuardDuty detectors", "enabled again", "to enable", short="enabled again")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(steps, lambda s: client.update_detector(DetectorId=s.target, Enable=True))


@register
class EnableRule(Action):
    """Enable a responder rule again (it was disabled)."""

    name = ActionName.ENABLE_RULE
    service = "events"
    permissions = ("events:EnableRule",)
    resource = RESPONDER_RULES
    phase = 1
    words = Words("rule", "rules", "enabled again", "to enable", short="enabled again")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(steps, lambda s: client.enable_rule(Name=s.target))


@register
class PutRuleTargets(Action):
    """Put a responder rule's targets back as the stack defines them (they were removed)."""

    name = ActionName.PUT_RULE_TARGETS
    service = "events"
    permissions = ("events:PutTargets",)
    resource = RESPONDER_RULES
    phase = 2
    words = Words("rule", "rules", "given their targets back", "to give its targets back", short="targets back")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            resp = client.put_targets(Rule=step.target, Targets=list(step.params["targets"]))
            failed = resp.get("FailedEntries") or []
            if failed:
                raise_failed(failed)
            return f"targets {', '.join(t['Id'] for t in step.params['targets'])} put back"

        return each(steps, call)


def raise_failed(failed: list[dict[str, Any]]) -> None:
    from botocore.exceptions import ClientError

    first = failed[0]
    raise ClientError(
        {"Error": {"Code": str(first.get("ErrorCode", "FailedEntry")), "Message": str(first.get("ErrorMessage", ""))}},
        "PutTargets",
    )
