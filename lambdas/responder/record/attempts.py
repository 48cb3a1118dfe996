"""Earlier attempts of the same incident (contract: "Truth of the report").

A response that raised is retried by the platform with the same envelope id, hence the same incident
id. The retry must keep what earlier attempts did: it reads them before acting, sends no AWS call
that an earlier attempt already had accepted, and reports the whole incident.

Where earlier attempts come from: the incidents table (one item per attempt), and - when the table
itself failed - this container's memory, so a retry on the same warm container still knows them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..aws import describe_error

StepKey = tuple[str, str, str]  # (action, target, region)

_UNRECORDED: dict[str, list[tuple[float, dict[str, Any]]]] = {}  # incident id -> (kept at, attempt)
_UNRECORDED_LOCK = threading.Lock()
_UNRECORDED_MAX = 50
_UNRECORDED_SECONDS = 6 * 3600  # EventBridge gives up on an event after 6 hours: no retry comes later


def step_key(action: Mapping[str, Any]) -> StepKey:
    return (str(action.get("action")), str(action.get("target")), str(action.get("region")))


@dataclass
class Journal:
    """What earlier attempts of one incident did."""

    attempts: list[dict[str, Any]] = field(default_factory=list)  # oldest first, each an attempt record
    note: str | None = None  # why earlier attempts could not be read, if they could not

    @property
    def next_number(self) -> int:
        return max((int(a.get("attempt", 0)) for a in self.attempts), default=0) + 1

    def done(self) -> dict[StepKey, tuple[int, dict[str, Any]]]:
        """Every step AWS accepted in an earlier attempt: (attempt number, the action as reported)."""
        out: dict[StepKey, tuple[int, dict[str, Any]]] = {}
        for attempt in self.attempts:
            for action in (attempt.get("report") or {}).get("actions", []):
                if action.get("status") == "done":
                    out.setdefault(step_key(action), (int(attempt.get("attempt", 0)), action))
        return out


def load(read: Callable[[], list[dict[str, Any]]] | None, incident_id: str) -> Journal:
    """Earlier attempts from the table (``read``), plus any this container kept because the table failed."""
    kept = remembered(incident_id)
    if read is None:
        return Journal(kept)
    try:
        stored = read()
    except Exception as exc:  # noqa: BLE001 - unreadable history must not stop containment
        return Journal(kept, f"earlier attempts unreadable ({describe_error(exc)})")
    seen = {a.get("startedAt") for a in stored}
    merged = stored + [a for a in kept if a.get("startedAt") not in seen]
    return Journal(sorted(merged, key=lambda a: int(a.get("attempt", 0))))


def load_in_background(read: Callable[[], list[dict[str, Any]]] | None, incident_id: str) -> Future[Journal]:
    """Read the journal beside the first IAM call, so closing the door waits for neither."""
    future: Future[Journal] = Future()

    def run() -> None:
        try:
            future.set_result(load(read, incident_id))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            future.set_exception(exc)

    threading.Thread(target=run, name="journal", daemon=True).start()
    return future


def remember(incident_id: str, attempt: dict[str, Any]) -> None:
    """The table did not take this attempt: keep it for a retry on this container."""
    with _UNRECORDED_LOCK:
        if incident_id not in _UNRECORDED and len(_UNRECORDED) >= _UNRECORDED_MAX:
            _UNRECORDED.pop(next(iter(_UNRECORDED)))
        _UNRECORDED.setdefault(incident_id, []).append((time.monotonic(), attempt))


def remembered(incident_id: str) -> list[dict[str, Any]]:
    oldest = time.monotonic() - _UNRECORDED_SECONDS
    with _UNRECORDED_LOCK:
        return [attempt for kept, attempt in _UNRECORDED.get(incident_id, []) if kept >= oldest]


def forget(incident_id: str) -> None:
    """Every kept attempt of this incident is now in the table."""
    with _UNRECORDED_LOCK:
        _UNRECORDED.pop(incident_id, None)


def forget_all() -> None:
    with _UNRECORDED_LOCK:
        _UNRECORDED.clear()
