"""What one response needs: settings, clients, the clock, the incident id, the stores."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from ..actions import execute
from ..aws import Clients
from ..core.config import Settings
from ..core.model import Outcome, RegionResult, Step, Window, planned
from ..core.timeutil import utcnow
from ..decide.rogue import RoguePolicy
from ..record.attempts import Journal, StepKey, load
from ..record.store import Incidents, Ledger
from ..report import Report
from ..sweep import RegionSweep
from .quarantine import quarantine_policy_arn, with_quarantine_arn


def incident_id_for(seed: str, when: datetime) -> str:
    """Deterministic from the delivery (envelope id), so a redelivery names the same incident."""
    digest = hashlib.sha256(seed.encode()).hexdigest()[:10]
    return f"inc-{when.strftime('%Y%m%d')}-{digest}"


def _no_log(message: str, **fields: Any) -> None:
    return None


@dataclass
class ResponseContext:
    """``clients`` act in the account acted on (a member account's, in organization mode); ``hub`` in the
    responder's own account, where notifications, incident records, the ledger and idempotency stay."""

    settings: Settings
    clients: Clients
    trigger: str
    incident_id: str
    dry_run: bool
    account: str | None = None  # the account acted on
    own_account: str | None = None  # the account the responder runs in
    now: datetime = field(default_factory=utcnow)
    log: Callable[..., None] = _no_log
    progress: Callable[[RegionResult], None] | None = None  # called as each region finishes (CLI)
    journal: Future[Journal] | None = None  # earlier attempts, being read in the background
    hub: Clients | None = None  # defaults to ``clients`` (single-account mode)

    def __post_init__(self) -> None:
        if self.hub is None:
            self.hub = self.clients

    @property
    def home(self) -> Clients:
        """The responder's own account's clients (never None after construction)."""
        assert self.hub is not None
        return self.hub

    caller: str = "unknown caller"  # who invoked it, as far as the invocation tells (recorded by close/release)
    request_id: str | None = None  # the invocation's request id (Lambda's aws_request_id)
    claim: Any = None  # joining.Claim: the open incident this response opened or joined (one per credential)
    # reads started beside the idempotency record: ("owner", key) -> its owner, ("chain-parent", key) -> the open
    # incident whose chain holds the key (entrypoint.read_ahead); each taken once by ``ahead``
    read_ahead: dict[tuple[str, str], Future[Any]] = field(default_factory=dict)

    def ahead(self, what: str, key: str, read: Callable[[], Any]) -> Any:
        """The read started ahead for ``(what, key)``, else ``read()`` now."""
        started = self.read_ahead.pop((what, key), None)
        return started.result() if started is not None else read()

    @cached_property
    def earlier(self) -> Journal:
        """Earlier attempts of this incident (a retry keeps what they did)."""
        if self.journal is not None:
            return self.journal.result()
        incidents = self.incidents
        return load(lambda: incidents.attempts(self.incident_id) if incidents else [], self.incident_id)

    @cached_property
    def done_before(self) -> Mapping[StepKey, tuple[int, Mapping[str, Any]]]:
        return {} if self.dry_run else self.earlier.done()

    def run(self, steps: list[Step]) -> list[Outcome]:
        """Execute steps (or only plan them, in a dry-run); nothing an earlier attempt did is sent again."""
        steps = with_quarantine_arn(steps, self.quarantine_arn)
        if self.dry_run:
            return planned(steps)
        return execute(self.clients, steps, self.settings.home_region, self.done_before)

    @property
    def quarantine_arn(self) -> str | None:
        """The managed quarantine policy in the account acted on (contract "Containment that holds")."""
        return quarantine_policy_arn(self.settings, self.account)

    @cached_property
    def policy(self) -> RoguePolicy:
        return RoguePolicy.from_settings(self.settings)

    @cached_property
    def ledger(self) -> Ledger | None:
        name = self.settings.ledger_table
        return Ledger(self.home, name, self.settings.home_region) if name else None

    @cached_property
    def incidents(self) -> Incidents | None:
        name = self.settings.incidents_table
        return Incidents(self.home, name, self.settings.home_region) if name else None

    @property
    def mode(self) -> str:
        return "dry-run" if self.dry_run else "enforce"

    def iam_arn(self, kind: str, name: str) -> str | None:
        """``arn:PARTITION:iam::ACCOUNT:KIND/NAME`` in the account acted on (None when it is unknown)."""
        return f"arn:{self.settings.partition}:iam::{self.account}:{kind}/{name}" if self.account else None

    def new_report(self, headline: str = "", severity: str = "high") -> Report:
        return Report(
            incident_id=self.incident_id,
            trigger=self.trigger,
            mode=self.mode,
            headline=headline,
            severity=severity,
            status="planned" if self.dry_run else "open",
            started=self.now,
            account=self.account,
        )

    def window(self, start: datetime | None, hours: float | None = None) -> Window:
        """``[start - hours, now]``; ``start`` defaults to now, ``hours`` to INCIDENT_LOOKBACK_HOURS."""
        start = start or self.now
        lookback = self.settings.lookback_hours if hours is None else hours
        return Window(start - timedelta(hours=lookback), max(self.now, start))

    def region_sweep(self) -> RegionSweep:
        return RegionSweep(
            self.clients,
            self.settings,
            self.policy,
            self.ledger,
            dry_run=self.dry_run,
            log=self.log,
            done_before=self.done_before,
            incident_id=self.incident_id,
        )
