"""The heartbeat (contract "Guarding the responder"): every 5 minutes, check the responder's own eyes and hands -
the trail logging, GuardDuty's detector enabled, the rules enabled with their targets, the functions unchanged
since the last deploy, the team topic subscribed - switch back on what can be, notify what was found, and
publish a metric each run: an alarm that treats a missing heartbeat as breaching pages when the checks stop."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ..aws import AWS_ERRORS, describe_error
from ..core import own_names
from ..evidence import guard_state as gs
from ..parse.events import BadInput
from ..report import Report
from ..shell.context import ResponseContext
from .base import RECORD, Flow
from .tamper import RESTORE, guard_place

# One data point per run, in the function's log (CloudWatch embedded metric format, flushed by the entrypoint with
# the responder's other metrics): no API call, no permission. The alarm treats missing data as breaching.
metrics = Metrics(namespace=own_names.HEARTBEAT_METRIC_NAMESPACE, service=own_names.METRIC_SERVICE)
HEARTBEAT = Flow(
    "heartbeat",
    (*RESTORE, *gs.GUARD_READS, gs.STACK_EVENTS, *RECORD),
    "contract: Guarding the responder - the heartbeat",
)
DEPLOYED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"})


@dataclass(frozen=True)
class Beat:
    """The schedule's event (or a manual invocation with no event at all)."""

    time: str | None = None


def parse_beat(event: Any, partition: str = "aws") -> Beat:
    if event in (None, {}):
        return Beat()
    if not isinstance(event, dict):
        raise BadInput("heartbeat event: expected an object")
    if event.get("detail-type") != "Scheduled Event" or event.get("source") != "aws.events":
        raise BadInput("heartbeat event: field 'detail-type': expected 'Scheduled Event' from 'aws.events'")
    return Beat(str(event.get("time") or "") or None)


def guarded_handlers() -> tuple[str, ...]:
    """The functions the stack deployed (GUARDED_HANDLERS, set by the stack), else those the rules target."""
    listed = [h.strip() for h in os.environ.get("GUARDED_HANDLERS", "").split(",") if h.strip()]
    return tuple(listed) or tuple(dict.fromkeys(own_names.RULES.values()))


def last_deploy(ctx: ResponseContext) -> tuple[datetime | None, str]:
    """When the responder's stack last finished deploying (None: unknown, or a deploy is running now)."""
    stack = os.environ.get("STACK_NAME", "")
    if not stack:
        return None, "STACK_NAME not set: functions checked for presence only"
    cfn = ctx.clients.get("cloudformation", ctx.settings.home_region)
    try:
        found = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except AWS_ERRORS as exc:
        return None, f"stack {stack} could not be read ({describe_error(exc)}): functions checked for presence only"
    own = [e for e in found if e.get("LogicalResourceId") == stack and e.get("ResourceType", "").endswith("::Stack")]
    own.sort(key=lambda e: e["Timestamp"], reverse=True)
    if not own or own[0].get("ResourceStatus") not in DEPLOYED:
        return None, f"stack {stack} is being deployed: functions checked for presence only"
    when = own[0]["Timestamp"]
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), ""


def heartbeat(ctx: ResponseContext, beat: Beat) -> Report:
    place = guard_place(ctx)
    deployed_at, note = last_deploy(ctx)
    checks = [gs.check_trail(ctx.clients, place)]
    checks += [c for c in gs.check_detectors(ctx.clients, ctx.settings.home_region) if c.problem != "no detector"]
    for rule in own_names.RULES:
        checks += gs.check_rule(ctx.clients, place, rule)
    checks += [gs.check_function(ctx.clients, place, h, deployed_at) for h in guarded_handlers()]
    checks.append(gs.check_topic(ctx.clients, place))
    broken = [c for c in checks if not c.ok]
    report = ctx.new_report()
    report.add(ctx.run(gs.restore_steps(broken)))
    report.facts["checked"] = f"{len(checks)} checks, {len(broken)} found broken"
    if note:
        report.facts["functions"] = note
    _publish(len(broken))
    if not broken:
        report.headline = f"heartbeat: the responder's {len(checks)} checks are ok"
        report.status = "recorded"  # nothing to tell: the metric says the heartbeat ran
        return report
    report.facts["found"] = "; ".join(c.describe() for c in broken)
    report.severity = "critical"
    report.status = "notified"
    report.subject = "HEARTBEAT: the responder was found broken: " + ", ".join(
        f"{c.what.split(' ', 1)[-1]} {c.problem}" for c in broken[:3]
    )
    report.done_word = "restored"
    report.todo = [*gs.todos(broken),
                   "Find who changed it: CloudTrail (the tamper watch may have named the caller already)."]  # fmt: skip
    return report


def _publish(broken: int) -> None:
    metrics.add_metric(name=own_names.HEARTBEAT_METRIC, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="HeartbeatProblems", unit=MetricUnit.Count, value=broken)


__all__ = ["HEARTBEAT", "Beat", "heartbeat", "parse_beat"]
