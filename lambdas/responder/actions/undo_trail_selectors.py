"""Undo ``cloudtrail:PutEventSelectors`` by the chain (Stratus Red Team ``defense-evasion.cloudtrail-event-selectors``:
management events filtered out, the trail blind while it still says it logs).

Beyond the contract's table, kept conservative: only the trail's selectors are written, never its bucket or logs.
What is put back, in this order:
  1. the trail's selectors as the last principal outside the chain set them, from CloudTrail's event history
     (90 days before the change): its ``PutEventSelectors`` record, or its ``CreateTrail`` (a new trail logs every
     management event, read and write, and no data event);
  2. otherwise management events logged again (``ReadWriteType`` All, ``IncludeManagementEvents`` true; with
     advanced selectors one ``eventCategory = Management`` selector), the data-event selectors the call set kept as
     they were (the team may have had them; a human reviews them).
The attacker's selectors are stored in the incident record before the undo; the reason names the call and says
which of the two was done. ``selectors_of``, ``previous_selectors`` and ``management_restored`` are pure.
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

EVENT = "PutEventSelectors"
HISTORY = ("PutEventSelectors", "CreateTrail")  # read in the trail's home region: where PutEventSelectors is called
MAX_SELECTORS = 5  # PutEventSelectors: "You can configure up to five event selectors for each trail"
ALL_MANAGEMENT = {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                  "ExcludeManagementEventSources": []}  # fmt: skip
MANAGEMENT_SELECTOR = {
    "Name": "Management events",
    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
}
NEW_TRAIL = {"EventSelectors": [ALL_MANAGEMENT]}  # what CreateTrail logs until selectors are put


def trail_name(value: Any) -> str:
    """``arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`` or ``NAME`` -> ``NAME``."""
    text = str(value or "")
    return text.split(":trail/", 1)[1] if ":trail/" in text else text


def api_shape(value: Any) -> Any:
    """CloudTrail writes the request in camelCase (``readWriteType``, ``dataResources``, ``fieldSelectors``); the API
    takes the same members capitalised (``ReadWriteType`` ...)."""
    if isinstance(value, Mapping):
        return {str(k)[:1].upper() + str(k)[1:]: api_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [api_shape(v) for v in value]
    return value


def selectors_of(request: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The selectors a PutEventSelectors record set, as PutEventSelectors takes them. Raises ValueError on a record
    with neither kind (a shape no AWS record has)."""
    if isinstance(request.get("advancedEventSelectors"), list):
        return {"AdvancedEventSelectors": api_shape(request["advancedEventSelectors"])}
    if isinstance(request.get("eventSelectors"), list):
        return {"EventSelectors": api_shape(request["eventSelectors"])}
    raise ValueError("PutEventSelectors without selectors")


def _is_management(selector: Mapping[str, Any]) -> bool:
    fields = selector.get("FieldSelectors") or []
    return any(f.get("Field") == "eventCategory" and "Management" in (f.get("Equals") or []) for f in fields)


def management_restored(selectors: Mapping[str, list[Any]]) -> tuple[dict[str, list[Any]], str]:
    """What to put when the event history has no earlier selectors: every management event logged again, the
    data-event selectors the attacker's call set kept. Pure."""
    if "AdvancedEventSelectors" in selectors:
        kept = [s for s in selectors["AdvancedEventSelectors"] if not _is_management(s)]
        out: dict[str, list[Any]] = {"AdvancedEventSelectors": [MANAGEMENT_SELECTOR, *kept]}
        what = "an advanced selector for every management event put first"
    else:
        kept = [
            {**{k: v for k, v in s.items() if k != "ExcludeManagementEventSources"}, "IncludeManagementEvents": False}
            for s in selectors.get("EventSelectors", [])
            if s.get("DataResources")
        ][: MAX_SELECTORS - 1]
        out = {"EventSelectors": [ALL_MANAGEMENT, *kept]}
        what = "management events logged again (ReadWriteType All, IncludeManagementEvents true)"
    if kept:
        what += f"; the {len(kept)} data-event selector(s) the call set kept as they were, for a human to review"
    return out, what


def previous_selectors(
    records: Iterable[Mapping[str, Any]], trail: str, before: datetime | None, chain_keys: Iterable[str]
) -> tuple[dict[str, list[Any]], Mapping[str, Any]] | None:
    """The trail's selectors as the last principal outside the chain left them before ``before`` (its
    PutEventSelectors, or the defaults of its CreateTrail), with the record. Pure."""
    chain = set(chain_keys)
    found: list[tuple[datetime, Mapping[str, Any]]] = []
    for detail in records:
        name = detail.get("eventName")
        request = detail.get("requestParameters")
        if detail.get("errorCode") or name not in HISTORY or not isinstance(request, Mapping):
            continue
        if (detail.get("userIdentity") or {}).get("accessKeyId") in chain:
            continue
        named = request.get("trailName") if name == EVENT else request.get("name")
        when = parse_time(detail.get("eventTime"))
        if trail_name(named) == trail and when is not None and (before is None or when < before):
            found.append((when, detail))
    # newest first; in one second a trail's creation comes before its selectors (CloudTrail stamps whole seconds)
    for _, detail in sorted(found, key=lambda f: (f[0], f[1].get("eventName") == EVENT), reverse=True):
        if detail.get("eventName") == "CreateTrail":
            return dict(NEW_TRAIL), detail
        try:
            return selectors_of(detail["requestParameters"]), detail
        except ValueError:
            continue
    return None


@register
class RestoreEventSelectors(Action):
    """Put back a trail's event selectors the chain replaced (cloudtrail:PutEventSelectors); the trail and its logs
    are untouched."""

    name = ActionName.RESTORE_EVENT_SELECTORS
    service = "cloudtrail"
    permissions = ("cloudtrail:PutEventSelectors",)
    resource = CLOUDTRAIL_TRAIL
    phase = 14  # before a trail the chain deleted is created again (undo_trail_deleted, phase 16)
    words = Words(
        "trail", "trails", "event selectors put back", "to put back the event selectors of", short="selectors put back"
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return [self._one(client, step) for step in steps]

    @staticmethod
    def _one(client: Any, step: Step) -> Outcome:
        selectors = json.loads(str(step.params["selectors"]))
        try:
            client.put_event_selectors(TrailName=step.target, **selectors)
        except ClientError as exc:
            if error_code(exc) == "TrailNotFoundException":  # deleted since: its own undo creates it again
                return step.outcome("skipped", "the trail no longer exists (deleted since): no selectors to put back")
            return step.outcome("failed", describe_error(exc))
        except AWS_ERRORS as exc:
            return step.outcome("failed", describe_error(exc))
        return step.outcome(
            "done", f"PutEventSelectors accepted: {sum(len(v) for v in selectors.values())} selector(s)"
        )
