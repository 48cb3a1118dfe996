"""What a key did: CloudTrail ``LookupEvents`` by ``AccessKeyId`` in every region, read after the door closed.

The first question of every incident review is "what did the attacker do with it?". The reading is a read:
it never fails the response, never marks a region failed and never delays containment (it starts once the
key is Inactive and the regions are swept). Every region is read at once, each paced to LookupEvents' limit
of 2 requests per second per region, within a time budget (``ACTIVITY_BUDGET_SECONDS``). A region that could
not be read (denied, throttled after the SDK's retries) or that the budget cut short makes the summary
``complete: false`` and is named in ``unread``; everything that was read is counted.

``Tally`` is pure (events in, counts out); ``read_activity`` is the thin reader around it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..aws import Clients, describe_error
from ..core import capabilities as cap
from ..core.model import Window
from ..core.timeutil import as_utc, iso, utcnow
from ..parse.cloudtrail_records import EC2_PERSISTENCE_EVENTS, LAUNCH_EVENTS

KEY_ACTIVITY = cap.declare(
    "read", "key-activity", ("cloudtrail:LookupEvents",), doc="what a key did: LookupEvents by AccessKeyId"
)
LOOKUPS_PER_SECOND = 2.0  # LookupEvents: "limited to two per second, per account, per Region"
PAGE_SIZE = 50  # LookupEvents returns at most 50 events a page
TEXT_MAX = 200  # characters kept of a source IP or user agent (attacker-controlled text)

# What a human must see first: calls that change who can get in, what runs, what is logged, what is readable.
_ALWAYS = frozenset({"iam", "kms", "guardduty"})  # every call of these services that is not read-only
_NAMED = {
    "ec2": LAUNCH_EVENTS
    | EC2_PERSISTENCE_EVENTS
    | {"AuthorizeSecurityGroupIngress", "ModifySnapshotAttribute", "ModifyImageAttribute", "CreateSnapshot"},
    "autoscaling": LAUNCH_EVENTS,
    "s3": frozenset(
        {
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            "PutBucketAcl",
            "PutObjectAcl",
            "PutBucketPublicAccessBlock",
            "DeleteBucketPublicAccessBlock",
            "PutAccountPublicAccessBlock",
            "DeleteAccountPublicAccessBlock",
            "PutBucketOwnershipControls",
            "DeleteBucket",
        }
    ),
    "cloudtrail": frozenset({"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "DeleteEventDataStore"}),
    # credentials minted with the key: they outlive its deactivation (and a role's session ignores the user's quarantine)
    "sts": frozenset({"AssumeRole", "GetFederationToken", "GetSessionToken"}),
}


def _kind_launch(service: str, event_name: str) -> bool:
    from ..kinds import kind_of_event

    return kind_of_event(f"{service}.amazonaws.com", event_name) is not None


def service_of(event_source: str) -> str:
    """``ec2.amazonaws.com`` -> ``ec2`` (the name an IAM action starts with)."""
    return event_source.removesuffix(".amazonaws.com")


def is_notable_write(service: str, event_name: str, read_only: bool) -> bool:
    """IAM, KMS and GuardDuty changes, EC2 launches, S3 policy/ACL changes, CloudTrail logging stopped..."""
    if event_name in _NAMED.get(service, ()):
        return True
    if _kind_launch(service, event_name):  # ECS, Lambda, SageMaker ... launches (responder.kinds)
        return True
    return service in _ALWAYS and not read_only


def _text(value: Any) -> str:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(value)).split())
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 3] + "..."


@dataclass
class Tally:
    """Counts of one region's (or all regions') LookupEvents events. Pure."""

    calls: int = 0
    services: Counter[str] = field(default_factory=Counter)
    regions: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    ips: Counter[str] = field(default_factory=Counter)
    agents: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None

    def add(self, region: str, event: Mapping[str, Any]) -> None:
        """One ``Events[]`` item of a LookupEvents page."""
        try:
            record = json.loads(event.get("CloudTrailEvent") or "{}")
        except ValueError:
            record = {}
        record = record if isinstance(record, Mapping) else {}
        service = service_of(str(event.get("EventSource") or record.get("eventSource") or "unknown"))
        name = str(event.get("EventName") or record.get("eventName") or "unknown")
        read_only = str(event.get("ReadOnly", record.get("readOnly", ""))).lower() == "true"
        self.calls += 1
        self.services[service] += 1
        self.regions[region] += 1
        self.events[name] += 1
        if is_notable_write(service, name, read_only):
            self.writes[f"{service}:{name}" + (" (failed)" if record.get("errorCode") else "")] += 1
        if record.get("sourceIPAddress"):
            self.ips[_text(record["sourceIPAddress"])] += 1
        if record.get("userAgent"):
            self.agents[_text(record["userAgent"])] += 1
        when = event.get("EventTime")
        if isinstance(when, datetime):
            when = as_utc(when)
            self.first = when if self.first is None else min(self.first, when)
            self.last = when if self.last is None else max(self.last, when)

    def merge(self, other: Tally) -> None:
        self.calls += other.calls
        for mine, theirs in (
            (self.services, other.services),
            (self.regions, other.regions),
            (self.events, other.events),
            (self.writes, other.writes),
            (self.ips, other.ips),
            (self.agents, other.agents),
        ):
            mine.update(theirs)
        stamps = [t for t in (self.first, self.last, other.first, other.last) if t is not None]
        self.first, self.last = (min(stamps), max(stamps)) if stamps else (None, None)


def summary_json(tally: Tally, unread: Mapping[str, str]) -> dict[str, Any]:
    """The report's ``activity`` (contract: "Report"), plus ``writes`` and, when incomplete, ``unread``."""

    def ranked(counts: Counter[str]) -> dict[str, int]:
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    out: dict[str, Any] = {
        "calls": tally.calls,
        "byService": ranked(tally.services),
        "byRegion": ranked(tally.regions),
        "byEvent": ranked(tally.events),
        "writes": ranked(tally.writes),
        "sourceIPs": list(ranked(tally.ips)),
        "userAgents": list(ranked(tally.agents)),
        "firstSeen": iso(tally.first),
        "lastSeen": iso(tally.last),
        "complete": not unread,
    }
    if unread:
        out["unread"] = dict(sorted(unread.items()))
    return out


class Pacer:
    """At most ``rate`` requests a second from one reader (LookupEvents' limit is per region): the first
    request goes at once, each next one ``1 / rate`` seconds after the previous."""

    def __init__(
        self,
        rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.interval = 1.0 / (rate or LOOKUPS_PER_SECOND)  # the module's rate, read now (an emulator may lift it)
        self.clock = clock
        self.sleep = sleep
        self.next_at = 0.0

    def wait(self, deadline: float) -> bool:
        """Sleep until the next request may go; False (without sleeping) when that is past ``deadline``."""
        now = self.clock()
        if max(self.next_at, now) >= deadline:
            return False
        if self.next_at > now:
            self.sleep(self.next_at - now)
        self.next_at = max(self.next_at, now) + self.interval
        return True


class RegionReading:
    """One region's reading, filled by its reader thread; ``close`` freezes it when the budget is spent."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.tally = Tally()
        self.pages = 0
        self.finished = False
        self.problem: str | None = None
        self._closed = False
        self._lock = threading.Lock()

    def add_page(self, events: Iterable[Mapping[str, Any]]) -> bool:
        """Count a page; False once closed (what arrives after the budget is not reported)."""
        with self._lock:
            if self._closed:
                return False
            for event in events:
                self.tally.add(self.region, event)
            self.pages += 1
            return True

    def end(self, problem: str | None = None) -> None:
        with self._lock:
            if not self._closed:
                self.finished, self.problem = True, problem

    def close(self, budget: float) -> tuple[Tally, str | None]:
        """What was read, and why it is incomplete (if it is)."""
        with self._lock:
            self._closed = True
            if self.finished:
                return self.tally, self.problem
            return self.tally, f"time budget of {budget:g} s reached after {self.pages} page(s): older calls not read"


def read_region(
    clients: Clients,
    reading: RegionReading,
    access_key_id: str,
    window: Window,
    deadline: float,
    rate: float | None = None,
) -> None:
    """Every page of the key's events in one region, newest first, paced, until the deadline."""
    trail = clients.get("cloudtrail", reading.region)
    pacer = Pacer(rate)
    request: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": access_key_id}],
        "StartTime": window.start,
        "EndTime": window.end,
        "MaxResults": PAGE_SIZE,
    }
    try:
        while pacer.wait(deadline):
            page = trail.lookup_events(**request)
            if not reading.add_page(page.get("Events", [])):
                return
            if not page.get("NextToken"):
                reading.end()
                return
            request["NextToken"] = page["NextToken"]
    except Exception as exc:  # noqa: BLE001 - a read: its failure is reported, never raised
        reading.end(describe_error(exc))


def read_activity(
    clients: Clients,
    regions: Sequence[str],
    access_key_id: str,
    window: Window,
    *,
    budget_seconds: float,
    max_workers: int,
    log: Callable[..., Any] | None = None,
    share: int = 1,
) -> dict[str, Any]:
    """The report's ``activity``: every region read in parallel; returns when all are read or the budget ends.
    ``share``: how many keys are read at once (each reader then keeps to its share of a region's quota)."""
    if not regions:
        return summary_json(Tally(), {"all regions": "the enabled regions could not be listed: nothing read"})
    window = Window(window.start, max(window.end, utcnow()))  # up to the moment of reading: the door just closed
    started = time.monotonic()
    deadline = started + budget_seconds
    readings = [RegionReading(region) for region in regions]
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(regions), max_workers)), thread_name_prefix="activity")
    rate = LOOKUPS_PER_SECOND / max(1, share)
    futures = [pool.submit(read_region, clients, r, access_key_id, window, deadline, rate) for r in readings]
    wait(futures, timeout=max(0.0, deadline - time.monotonic()))
    pool.shutdown(wait=False, cancel_futures=True)  # a reader still waiting on AWS is not waited for
    total, unread = Tally(), dict[str, str]()
    for reading in readings:
        tally, problem = reading.close(budget_seconds)
        total.merge(tally)
        if problem:
            unread[reading.region] = problem
    if log:
        log("activity read", calls=total.calls, unread=sorted(unread), seconds=round(time.monotonic() - started, 3))
    return summary_json(total, unread)
