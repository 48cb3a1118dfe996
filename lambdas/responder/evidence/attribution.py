"""Attribution, in one place (contract "What is rogue", rule 1): who launched what, read from the launch ledger
first and CloudTrail ``LookupEvents`` second. By credential - which resources a key (and, through the chain's
suspects, what it became) launched: the region sweep - and by resource - who launched this instance: a GuardDuty
finding about it. ``kinds_to_probe`` in the sweep and the chain (``chain.py``) build on the same evidence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from ..aws import Clients, describe_error
from ..core.model import Launch, Suspect
from ..core.timeutil import iso
from ..parse.cloudtrail_records import CallRecord
from ..record.store import Ledger
from .probes import launch_of


def suspects_of(key: str, launches: Iterable[Launch]) -> dict[str, Suspect]:
    """Every resource the launches of ``key`` created, each with the call that names it (pure)."""
    out: dict[str, Suspect] = {}
    for launch in launches:
        for rid in launch.resource_ids:
            out.setdefault(
                rid,
                Suspect(
                    reason=f"launched by {key} ({launch.event_name} at {iso(launch.time)}, source: {launch.source})",
                    source=launch.source,
                    compromised=True,
                ),
            )
    return out


def ledger_launches(ledger: Ledger | None, key: str | None) -> tuple[dict[str, list[Launch]], str | None]:
    """The ledger's launches by ``key``, by region; and why it could not be read (then the lookup and rule 2
    decide)."""
    if not (key and ledger):
        return {}, None
    try:
        calls = ledger.calls_by_key(key, None)
    except Exception as exc:  # noqa: BLE001 - attribution is best effort; rule 2 covers its absence
        return {}, f"launch ledger unreadable ({describe_error(exc)})"
    return launches_by_region(calls), None


def launches_by_region(calls: Iterable[CallRecord]) -> dict[str, list[Launch]]:
    """The launches among a key's ledger records, by region (pure)."""
    by_region: dict[str, list[Launch]] = defaultdict(list)
    for call in calls:
        if call.kind == "launch":
            by_region[call.region].append(call.to_launch("ledger"))
    return by_region


def launcher_of(
    ledger: Ledger | None, clients: Clients, region: str, instance_id: str, log: Callable[..., Any]
) -> Launch | None:
    """Who launched the instance: the ledger, else CloudTrail LookupEvents by resource name (90 days); None when
    neither knows (a failed lookup is logged: the caller treats the instance as unattributed)."""
    launcher = ledger.launchers_of([instance_id]).get(instance_id) if ledger else None
    if launcher is None:
        try:
            launcher = launch_of(clients, region, instance_id)
        except Exception as exc:  # noqa: BLE001 - no attribution: the caller decides without it
            log("launcher lookup failed", instance=instance_id, error=describe_error(exc))
    return launcher
