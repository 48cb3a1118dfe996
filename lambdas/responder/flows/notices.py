"""Notices: responses that change nothing in AWS and tell the team why."""

from __future__ import annotations

from typing import Any

from ..report import Report
from ..shell.context import ResponseContext
from .base import RECORD, Flow

NOTICE = Flow("notice", RECORD, "notify only: severity, sample, archived, protected, another account, no rule")


def notify_only(ctx: ResponseContext, headline: str, severity: str, facts: dict[str, Any], todo: list[str]) -> Report:
    report = ctx.new_report(headline=headline, severity=severity)
    report.facts.update(facts)
    report.todo = todo
    report.status = "notified"
    return report


def not_acted(ctx: ResponseContext, why: str) -> Report:
    """An event about an account the responder may not act on: notify, change nothing."""
    return notify_only(
        ctx,
        f"{ctx.trigger} event for account {ctx.account}: nothing changed",
        "high",
        {"refused": why},
        [f"Contain it in account {ctx.account} itself (deploy the responder there, or run it in organization mode)."],
    )
