"""NEEDS A HUMAN: what the on-call engineer must do next, worded from what AWS confirmed."""

from __future__ import annotations

from typing import Any

from ..actions import ActionName
from ..actions.iam import QUARANTINE_POLICY_NAME
from ..core.model import Principal
from . import Report


def key_todo(principal: Principal, access_key_id: str, report: Report) -> list[str]:
    """Never "it is Inactive" unless it is; a key still active is said first and loudly."""
    todo = []
    key_step = report.status_of(ActionName.DEACTIVATE_ACCESS_KEY)
    quarantine_step = report.status_of(ActionName.QUARANTINE_USER)
    if principal.type == "Root":
        todo += [
            f"ROOT KEY: sign in as root and delete access key {access_key_id} now (a role cannot deactivate root keys).",
            "Enable MFA on the root user and stop using root keys.",
        ]
    elif key_step == "done":
        todo.append(
            f"Rotate: create a new key for {principal.name}'s legitimate use, update where it is used, then delete "
            f"{access_key_id} (it is Inactive, not deleted)."
        )
    elif key_step != "planned":
        todo.append(
            f"KEY {access_key_id} IS STILL ACTIVE: deactivate it by hand now (IAM console: Users > {principal.name} > "
            "Security credentials > Actions > Deactivate), then find out why the responder could not."
        )
    if principal.type != "Root" and quarantine_step == "done":
        todo.append(
            f"Once it is safe, close the incident and remove {QUARANTINE_POLICY_NAME} from {principal.name}: "
            f"responder close --key {access_key_id} --reason '...', then responder release --user {principal.name} "
            "--reason '...' (the close-incident and release-principal runbooks)."
        )
    elif principal.type != "Root" and quarantine_step != "planned":
        todo.append(f"{principal.name} has NO quarantine policy: attach a deny-all policy by hand if the key was used.")
    if report.activity is None:
        todo.append(f"Review CloudTrail for everything {access_key_id} did (data read or deleted, resources created).")
    else:  # WHAT THE KEY DID has the management events; say what it cannot show
        todo += activity_todo(access_key_id, report.activity)
    todo = purchase_todo(report) + todo
    if report.status_of(ActionName.REVIEW_PERSISTENCE):
        todo.append("Review the persistence findings marked review-persistence (policies, trust changes, key pairs).")
    return todo


def purchase_todo(report: Report) -> list[str]:
    """Purchases the key made (Reserved Instances, Savings Plans, Bedrock agreements): only AWS Support undoes them."""
    return [f"{o.step.target} ({o.step.region}): {o.step.reason}" for o in report.outcomes
            if o.step.action == "review-purchase"]  # fmt: skip


def protected_key_todo(principal: Principal, access_key_id: str) -> list[str]:
    return [
        f"{principal.name} is in PROTECTED_PRINCIPALS (break-glass): decide by hand whether to deactivate "
        f"{access_key_id} (IAM console: Users > {principal.name} > Security credentials > Actions > Deactivate).",
        "Run the sweep-regions runbook (dryRun first) to see rogue capacity launched with this key.",
    ]


def unknown_key_todo(access_key_id: str) -> list[str]:
    return [
        f"Find which AWS account owns {access_key_id} (aws sts get-access-key-info --access-key-id {access_key_id}) "
        "and contain it there."
    ]


RETRY_NOTE = (
    "Some steps FAILED (see FAILED): the platform retries; the retry redoes nothing that AWS accepted. "
    "If the DLQ alarm fires, run the matching runbook by hand."
)


def activity_todo(access_key_id: str, activity: dict[str, Any]) -> list[str]:
    """What the reading cannot show, and where to look instead."""
    todo = []
    unread = activity.get("unread") or {}
    if unread:
        todo.append(
            f"Activity NOT read in {', '.join(sorted(unread))}: read it there by hand (CloudTrail console > Event "
            f"history, filter 'AWS access key' = {access_key_id}), or run the activity runbook again."
        )
    todo.append(
        "CloudTrail shows calls up to ~15 minutes late and LookupEvents holds management events only (no S3 object "
        "reads, no Lambda invokes): run the activity runbook again in 15 minutes, and check your trail's data events."
    )
    return todo
