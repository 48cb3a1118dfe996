"""What the families' responses share: the finish of a report, and what a finding names but the responder does
not change (said under NEEDS A HUMAN)."""

from __future__ import annotations

from typing import Any

from ..parse.events import FindingDetail
from ..report import Report
from ..shell.context import ResponseContext
from .models import Targets


def finish(ctx: ResponseContext, report: Report, finding: FindingDetail, facts: dict[str, Any]) -> Report:
    report.facts.update(facts)
    report.subject = f"GuardDuty {finding.type}"
    report.status = "planned" if ctx.dry_run else "contained"
    return report


def listed(report: Report, targets: Targets) -> None:
    """What the finding names but the responder does not change: said under NEEDS A HUMAN."""
    for bucket in targets.buckets:
        report.todo.append(
            f"Bucket {bucket} is named by the finding: review its bucket policy and ACLs, what was read or deleted "
            "(CloudTrail S3 data events, server access logs), and restore from versions or backups."
        )
    for root in targets.root:
        report.todo.append(f"ROOT credentials {root} are named: sign in as root, rotate them, delete root keys.")
        report.severity = "critical"
    for other in targets.others:
        report.todo.append(f"{other} is named: review and contain it by hand.")
    for elsewhere in targets.elsewhere:
        report.todo.append(f"NOT ACTED ON: {elsewhere}: contain it in that account.")
