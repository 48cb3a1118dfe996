"""The swarm rule (contract: "One incident per compromise"): suspicious launches by one IAM user's long-term
key (``AKIA...``) in at least SWARM_REGIONS regions within SWARM_MINUTES, in regions where the ledger holds no
earlier launch by that principal, are a compromise: the full access-key containment runs (trigger
``cloudtrail``, critical, each launch named as evidence). ``SWARM_REGIONS=0`` turns it off.

``swarm_evidence`` is pure; ``swarm_of`` reads the ledger; ``contain_swarm`` runs the containment (or joins the
incident another trigger opened a moment earlier, and then stops this launch under it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from ..core.model import Window
from ..core.timeutil import iso
from ..parse.cloudtrail_records import CallRecord, creator_arn
from ..record import store
from ..report import Report
from ..shell.context import ResponseContext
from .base import Flow
from .keys import KEY_CONTAINMENT, contain_access_key

SWARM_CONTAINMENT = Flow(
    "swarm-containment",
    (store.LEDGER_READ, *KEY_CONTAINMENT.uses),
    "contract: the swarm rule - a long-term key launching suspicious types in many new regions is contained",
)
EARLIER_DAYS = store.LEDGER_TTL_DAYS  # how far back "an earlier launch by that principal" is looked for
EVIDENCE_MAX = 50


def swarm_evidence(
    calls: Iterable[CallRecord],
    key: str,
    *,
    regions_needed: int,
    minutes: float,
    suspicious: Callable[[str], bool],
) -> list[CallRecord]:
    """The launches that prove a swarm (one per region at least), or [] when there is none.

    A window of ``minutes`` holds a swarm when ``key``'s suspicious launches in it span ``regions_needed``
    regions in which the principal launched nothing before the window."""
    if regions_needed <= 0:
        return []
    launches = sorted(
        (c for c in calls if c.kind == "launch" and c.time is not None),
        key=lambda c: c.time or datetime.min,
    )
    first_in: dict[str, datetime] = {}
    for call in launches:
        if call.time is not None:
            first_in.setdefault(call.region, call.time)
    mine = [c for c in launches if c.access_key_id == key and suspicious(c.instance_type or "")]
    span = timedelta(minutes=minutes)
    for start in mine:
        begin = start.time or datetime.min
        inside = [c for c in mine if c.time is not None and begin <= c.time <= begin + span]
        new = [c for c in inside if first_in.get(c.region, begin) >= begin]
        if len({c.region for c in new}) >= regions_needed:
            return new
    return []


def swarm_of(ctx: ResponseContext, rec: CallRecord, protected: bool) -> list[CallRecord]:
    """The swarm this launch belongs to, from the ledger ([] when the rule is off or does not apply)."""
    settings = ctx.settings
    key = rec.access_key_id or ""
    if (
        settings.swarm_regions <= 0
        or protected
        or rec.identity_type != "IAMUser"
        or not key.startswith("AKIA")
        or rec.time is None
        or ctx.ledger is None
    ):
        return []
    creator = creator_arn(rec.principal_arn)
    span = timedelta(minutes=settings.swarm_minutes)
    if creator:
        calls = ctx.ledger.calls_by_creator(creator, Window(rec.time - timedelta(days=EARLIER_DAYS), rec.time + span))
    else:
        calls = ctx.ledger.calls_by_key(key, Window(rec.time - span, rec.time + span))
    return swarm_evidence(
        calls,
        key,
        regions_needed=settings.swarm_regions,
        minutes=settings.swarm_minutes,
        suspicious=lambda t: ctx.policy.is_suspicious([t]),
    )


def evidence_lines(launches: Sequence[CallRecord]) -> list[str]:
    return [
        f"{c.event_name} {c.instance_type or ''} in {c.region} at {iso(c.time)}: {', '.join(c.resource_ids) or '-'}"
        for c in launches[:EVIDENCE_MAX]
    ]


def contain_swarm(
    ctx: ResponseContext,
    rec: CallRecord,
    launches: Sequence[CallRecord],
    contain_launch: Callable[[ResponseContext, Report, CallRecord, str], None],
) -> Report:
    """The full access-key containment of the swarming key; when another trigger's containment of it runs,
    this launch joins that incident and is stopped under it."""
    key = str(rec.access_key_id)
    regions = sorted({c.region for c in launches})
    first = min((c.time for c in launches if c.time is not None), default=rec.time)
    facts = {
        "swarmRule": (
            f"suspicious launches by {key} in {len(regions)} new regions ({', '.join(regions)}) within "
            f"{ctx.settings.swarm_minutes:g} minutes (SWARM_REGIONS={ctx.settings.swarm_regions})"
        ),
        "evidence": evidence_lines(launches),
        "call": f"{rec.event_name} in {rec.region} at {iso(rec.time)}",
    }
    report = contain_access_key(ctx, key, window=ctx.window(first), what="Swarm:", facts=facts)
    if report.status == "joined":
        why = f"launched by {key}, a credential under open incident {report.incident_id} (swarm)"
        contain_launch(ctx, report, rec, why)
    report.severity = "critical"
    return report
