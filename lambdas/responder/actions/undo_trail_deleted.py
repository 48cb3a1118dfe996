"""Undo ``cloudtrail:DeleteTrail`` by the chain (Stratus Red Team ``defense-evasion.cloudtrail-delete``: the account's
audit trail gone; its logs stay in its bucket, new calls are no longer written).

Beyond the contract's table, kept conservative: the trail is created again only as the team made it, from its own
``CreateTrail`` record in CloudTrail's event history (90 days before the deletion), with the ``UpdateTrail`` calls
the team made since applied, its selectors as the team last put them (``undo_trail_selectors.previous_selectors``),
and logging started unless the team had stopped it. Nothing of the team's is modified: a trail is a new resource
writing into the bucket it wrote to before (its logs untouched). Listed for a human instead, with why: its creation
is not in the event history; it was an organization trail (created from the management account only). Not put
back, and said: its CloudWatch Logs delivery (the responder passes no role to CloudTrail) and its tags.
``recreation_of`` is pure; the action never creates a trail that exists (a retry, or the team was faster).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..aws import AWS_ERRORS, describe_error, error_code
from ..core.model import Outcome, Step
from ..core.timeutil import parse_time
from .base import Action, ActionName, Words, register
from .undo import CLOUDTRAIL_TRAIL
from .undo_trail_selectors import NEW_TRAIL, previous_selectors, trail_name

EVENT = "DeleteTrail"
HISTORY = ("CreateTrail", "UpdateTrail", "StartLogging", "StopLogging", "PutEventSelectors")  # the trail's region
_COPIED = {  # CreateTrail's request members (CloudTrail's camelCase) -> the API's
    "name": "Name",
    "s3BucketName": "S3BucketName",
    "s3KeyPrefix": "S3KeyPrefix",
    "snsTopicName": "SnsTopicName",
    "includeGlobalServiceEvents": "IncludeGlobalServiceEvents",
    "isMultiRegionTrail": "IsMultiRegionTrail",
    "enableLogFileValidation": "EnableLogFileValidation",
    "kmsKeyId": "KmsKeyId",
}
_NOT_PUT_BACK = {"cloudWatchLogsLogGroupArn": "its CloudWatch Logs delivery", "tagsList": "its tags"}


def _outside(records: Iterable[Mapping[str, Any]], trail: str, before: datetime | None,
             chain: set[str]) -> list[tuple[datetime, Mapping[str, Any]]]:  # fmt: skip
    found = []
    for detail in records:
        request = detail.get("requestParameters")
        if detail.get("errorCode") or detail.get("eventName") not in HISTORY or not isinstance(request, Mapping):
            continue
        if (detail.get("userIdentity") or {}).get("accessKeyId") in chain:
            continue
        when = parse_time(detail.get("eventTime"))
        named = request.get("trailName") if detail.get("eventName") == "PutEventSelectors" else request.get("name")
        if trail_name(named) == trail and when is not None and (before is None or when < before):
            found.append((when, detail))
    return sorted(found, key=lambda f: (f[0], f[1].get("eventName") != "CreateTrail"))  # creation first in a second


def recreation_of(
    records: Iterable[Mapping[str, Any]], trail: str, before: datetime | None, chain_keys: Iterable[str]
) -> tuple[dict[str, Any] | None, str]:
    """How to create ``trail`` again (``{"create": CreateTrail arguments, "selectors": ..., "start": bool}``) from
    the team's records before its deletion, and what was found; None when it is for a human (the text says why)."""
    records = list(records)
    history = _outside(records, trail, before, set(chain_keys))
    created = [(when, d) for when, d in history if d.get("eventName") == "CreateTrail"]
    if not created:
        return None, "its CreateTrail is not in the event history (90 days): create it again by hand"
    made_at, made = created[-1]
    request = made.get("requestParameters") or {}
    if request.get("isOrganizationTrail"):
        return None, f"an organization trail (CreateTrail at {made.get('eventTime')}): create it again from the " \
                     "organization's management account"  # fmt: skip
    args = {api: request[field] for field, api in _COPIED.items() if request.get(field) not in (None, "")}
    left = {what for field, what in _NOT_PUT_BACK.items() if request.get(field)}
    since = history[history.index((made_at, made)) + 1 :]  # what the team did to it after creating it
    updates = [d for _, d in since if d.get("eventName") == "UpdateTrail"]
    for update in updates:
        changed = update.get("requestParameters") or {}
        args.update({api: changed[field] for field, api in _COPIED.items() if field in changed and field != "name"})
        left |= {what for field, what in _NOT_PUT_BACK.items() if changed.get(field)}
    args["Name"] = trail
    switches = [d.get("eventName") for _, d in since if d.get("eventName") in ("StartLogging", "StopLogging")]
    start = not switches or switches[-1] == "StartLogging"
    found = previous_selectors(records, trail, before, chain_keys)
    selectors = found[0] if found is not None and found[0] != NEW_TRAIL else None
    what = f"created again as CreateTrail at {made.get('eventTime')} made it" + (
        f" (and {len(updates)} UpdateTrail since)" if updates else "")  # fmt: skip
    what += f", to bucket {args.get('S3BucketName')}"
    what += "; its event selectors put back as the team last put them" if selectors else ""
    what += "; logging started" if start else "; not logging, as the team had stopped it"
    if left:
        what += f"; not put back: {', '.join(sorted(left))} (a human adds them)"
    return {"create": args, "selectors": selectors, "start": start}, what


@register
class RecreateTrail(Action):
    """Create again a trail the chain deleted (cloudtrail:DeleteTrail) as the team made it, and start its logging."""

    name = ActionName.RECREATE_TRAIL
    service = "cloudtrail"
    permissions = ("cloudtrail:GetTrail", "cloudtrail:CreateTrail", "cloudtrail:PutEventSelectors",
                   "cloudtrail:StartLogging")  # fmt: skip
    resource = CLOUDTRAIL_TRAIL
    phase = 16  # after the other trail undos, which skip a trail that no longer exists
    words = Words("trail", "trails", "created again", "to create again", short="created again")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return [self._one(client, step) for step in steps]

    @staticmethod
    def _one(client: Any, step: Step) -> Outcome:
        plan = json.loads(str(step.params["recreate"]))
        try:
            try:
                client.get_trail(Name=step.target)
                return step.outcome("skipped", "a trail of that name exists again (created since): none created")
            except ClientError as exc:
                if error_code(exc) != "TrailNotFoundException":
                    raise
            made = client.create_trail(**plan["create"])
            said = [f"CreateTrail accepted ({made.get('TrailARN')})"]
            if plan.get("selectors"):
                client.put_event_selectors(TrailName=step.target, **plan["selectors"])
                said.append("PutEventSelectors accepted")
            if plan.get("start"):
                client.start_logging(Name=step.target)
                said.append("StartLogging accepted")
        except AWS_ERRORS as exc:
            return step.outcome("failed", describe_error(exc))
        return step.outcome("done", "; ".join(said))
