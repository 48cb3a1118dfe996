"""AWS Health ``AWS_RISK_ACCOUNT_CONSOLE_COMPROMISE`` (contract "Containment that holds"): someone else signed in
to the console. An IAM user (``affectedEntities`` by ARN or name): the deny-all quarantine attached and its login
profile removed (a login profile holds no data). Root: critical, notify only - a role cannot change root."""

from __future__ import annotations

import re

from ..actions import ActionName
from ..core.model import GLOBAL, Principal, Step
from ..parse.events import IAM_NAME, HealthEvent
from ..report import Report
from ..shell.context import ResponseContext
from .notices import notify_only

USER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):user/(?:[\x21-\x7e]*/)?([A-Za-z0-9_+=,.@-]{1,64})$")
ROOT_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


def console_target(event: HealthEvent) -> tuple[str, str] | None:
    """("root", account) or ("user", name) from the notice's affected entities; None when it names neither."""
    for entity in event.detail.affectedEntities:
        value = entity.entityValue.strip()
        if ROOT_ARN.match(value) or value.lower() == "root" or value == event.account:
            return "root", event.account
        found = USER_ARN.match(value)
        if found:
            return "user", found.group(2)
        if IAM_NAME.match(value):
            return "user", value
    return None


def console_compromise(ctx: ResponseContext, event: HealthEvent) -> Report:
    facts = {
        "notice": f"AWS Health {event.detail.eventTypeCode} ({event.detail.eventArn})",
        "noticeStart": event.detail.startTime.isoformat() if event.detail.startTime else None,
        "noticeSays": event.description()[:500] or None,
    }
    target = console_target(event)
    if target is None:
        return notify_only(
            ctx,
            "Console compromise notice names no IAM user or root: nothing changed",
            "critical",
            facts,
            ["Read the notice in AWS Health, find the principal that signed in, and contain it by hand."],
        )
    kind, name = target
    if kind == "root":
        return notify_only(
            ctx,
            f"Console sign-in of the ROOT user of {name} compromised: a role cannot change root - act now",
            "critical",
            facts,
            [
                "Sign in as root, change its password, check its MFA devices, delete any root access keys.",
                "Review CloudTrail for what root did since the notice's start (ConsoleLogin events).",
            ],
        )
    report = ctx.new_report()
    report.facts.update(facts)
    report.principal = Principal("IAMUser", name, ctx.iam_arn("user", name))
    report.subject = f"Console-compromised user {name}"
    report.done_word = "contained"
    if ctx.policy.is_protected_principal(name, report.principal.arn):
        why = f"{name} is a protected principal (PROTECTED_PRINCIPALS): not touched, a human decides"
        steps = [Step(a, name, GLOBAL, why, status="skipped") for a in (ActionName.QUARANTINE_USER,
                                                                         ActionName.DELETE_LOGIN_PROFILE)]  # fmt: skip
        report.severity = "critical"
        report.status = "notified"
        report.headline = f"Console-compromised user {name} is PROTECTED: nothing changed"
    else:
        steps = [
            Step(ActionName.QUARANTINE_USER, name, GLOBAL, "console sign-in compromised: deny-all quarantine policy"),
            Step(
                ActionName.DELETE_LOGIN_PROFILE,
                name,
                GLOBAL,
                "console sign-in compromised: remove its console password (a login profile holds no data)",
            ),
        ]
    report.add(ctx.run(steps))
    report.todo = [
        f"Find how {name}'s console password leaked; review what it did since the notice (CloudTrail ConsoleLogin).",
        f"When it is safe: give {name} a new password and MFA, then release it (release-principal).",
    ]
    return report
