"""Configuration from environment variables (contract: "Configuration"), validated once per invocation.

Read at invocation time, never at import time, so one warm container always sees the
environment it runs with and tests can change it freely.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .partitions import not_regions, partition_of

DEFAULT_PROTECT_TAG_KEY = "compromise-responder:protect"
DEFAULT_SUSPICIOUS_INSTANCE_TYPES = ("g*", "p*", "inf*", "trn*", "dl*", "f1.*", "vt1.*", "x1*", "x2*", "*.metal")
ROLE_NAME = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}$")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
STATE_MACHINE_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$")
POLICY_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:policy/([\x21-\x7e]*/)?[A-Za-z0-9_+=,.@-]{1,128}$")
TOPIC_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")

Mode = Literal["enforce", "dry-run"]


class ConfigError(ValueError):
    """A configuration variable is missing or malformed; the message names it."""


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything a handler reads from its environment."""

    notify_topic_arn: str
    mode: Mode = "enforce"
    protect_tag_key: str = DEFAULT_PROTECT_TAG_KEY
    protected_principals: tuple[str, ...] = ()
    allowed_regions: tuple[str, ...] = ()
    suspicious_instance_types: tuple[str, ...] = DEFAULT_SUSPICIOUS_INSTANCE_TYPES
    lookback_hours: float = 72.0
    guardduty_min_severity: float = 7.0
    incidents_table: str | None = None
    idempotency_table: str | None = None
    ledger_table: str | None = None
    sweep_regions: tuple[str, ...] = ()
    home_region: str = "us-east-1"
    max_workers: int = 24
    member_role_name: str | None = None  # organization mode: the role assumed in a member account
    protected_accounts: tuple[str, ...] = ()  # organization mode: never changed, notify only
    organization_state_machine: str | None = None  # sweep-organization beyond the in-process limit
    organization_inline_accounts: int = 10  # sweep-organization: up to this many accounts in one invocation
    security_hub_findings: bool = False
    activity_budget_seconds: float = 60.0  # reading what a key did, after containment (functions run 900 s)
    propagation_seconds: float = 10.0  # after closing the door, check again that it stayed closed
    quarantine_policy_arn: str | None = None  # the stack's managed deny-all policy (in the responder's account)
    swarm_regions: int = 3  # the swarm rule: suspicious launches by one IAM user key in this many regions; 0 = off
    swarm_minutes: float = 15.0  # the swarm rule's window
    notify_digest_minutes: float = 5.0  # at most one digest (and one "left running" notice) per incident/principal

    @property
    def partition(self) -> str:
        return partition_of(self.home_region)

    @property
    def organization(self) -> bool:
        """Organization mode: the responder acts in member accounts through MEMBER_ROLE_NAME."""
        return bool(self.member_role_name)

    @property
    def dry_run(self) -> bool:
        return self.mode == "dry-run"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        topic = env.get("NOTIFY_TOPIC_ARN", "").strip()
        if not topic:
            raise ConfigError("NOTIFY_TOPIC_ARN is required: the SNS topic of the team")
        if not TOPIC_ARN_PATTERN.match(topic):
            raise ConfigError(f"NOTIFY_TOPIC_ARN is not an SNS topic ARN: {topic!r}")
        mode = (env.get("RESPONSE_MODE") or "enforce").strip().lower()
        if mode not in ("enforce", "dry-run"):
            raise ConfigError(f"RESPONSE_MODE must be 'enforce' or 'dry-run', not {mode!r}")
        home = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        allowed = _split(env.get("ALLOWED_REGIONS"))
        sweep = _split(env.get("SWEEP_REGIONS"))
        for name, regions in (("ALLOWED_REGIONS", allowed), ("SWEEP_REGIONS", sweep)):
            bad = not_regions(regions, partition_of(home))
            if bad:
                raise ConfigError(
                    f"{name} holds values that are not regions of the {partition_of(home)} partition: {bad}"
                )
        role = (env.get("MEMBER_ROLE_NAME") or "").strip() or None
        if role and not ROLE_NAME.match(role):
            raise ConfigError(f"MEMBER_ROLE_NAME is not an IAM role name: {role!r}")
        protected_accounts = _split(env.get("PROTECTED_ACCOUNTS"))
        bad_accounts = [a for a in protected_accounts if not ACCOUNT_ID.match(a)]
        if bad_accounts:
            raise ConfigError(f"PROTECTED_ACCOUNTS holds values that are not 12-digit account ids: {bad_accounts}")
        machine = (env.get("ORGANIZATION_SWEEP_STATE_MACHINE") or "").strip() or None
        if machine and not STATE_MACHINE_ARN.match(machine):
            raise ConfigError(f"ORGANIZATION_SWEEP_STATE_MACHINE is not a state machine ARN: {machine!r}")
        quarantine = (env.get("QUARANTINE_POLICY_ARN") or "").strip() or None
        if quarantine and not POLICY_ARN_PATTERN.match(quarantine):
            raise ConfigError(f"QUARANTINE_POLICY_ARN is not an IAM policy ARN: {quarantine!r}")
        return cls(
            quarantine_policy_arn=quarantine,
            propagation_seconds=_number(env, "PROPAGATION_SECONDS", 10.0, low=0.0, high=60.0),
            member_role_name=role,
            protected_accounts=protected_accounts,
            organization_state_machine=machine,
            organization_inline_accounts=int(_number(env, "ORGANIZATION_INLINE_ACCOUNTS", 10, low=0, high=1000)),
            notify_topic_arn=topic,
            mode=mode,  # type: ignore[arg-type]
            protect_tag_key=(env.get("PROTECT_TAG_KEY") or DEFAULT_PROTECT_TAG_KEY).strip(),
            protected_principals=_split(env.get("PROTECTED_PRINCIPALS")),
            allowed_regions=allowed,
            suspicious_instance_types=_split(env.get("SUSPICIOUS_INSTANCE_TYPES")) or DEFAULT_SUSPICIOUS_INSTANCE_TYPES,
            lookback_hours=_number(env, "INCIDENT_LOOKBACK_HOURS", 72.0, low=0.0, high=24 * 90),
            guardduty_min_severity=_number(env, "GUARDDUTY_MIN_SEVERITY", 7.0, low=0.0, high=10.0),
            incidents_table=env.get("INCIDENTS_TABLE") or None,
            idempotency_table=env.get("IDEMPOTENCY_TABLE") or None,
            ledger_table=env.get("LEDGER_TABLE") or None,
            sweep_regions=sweep,
            home_region=home,
            max_workers=int(_number(env, "SWEEP_MAX_WORKERS", 24, low=1, high=256)),
            security_hub_findings=_flag(env, "SECURITY_HUB_FINDINGS"),
            activity_budget_seconds=_number(env, "ACTIVITY_BUDGET_SECONDS", 60.0, low=1.0, high=600.0),
            swarm_regions=_whole(env, "SWARM_REGIONS", 3, high=64),
            swarm_minutes=_number(env, "SWARM_MINUTES", 15.0, low=1.0, high=24 * 60),
            notify_digest_minutes=_number(env, "NOTIFY_DIGEST_MINUTES", 5.0, low=0.0, high=24 * 60),
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    """``true`` or ``false`` (any case), empty = false; anything else is refused rather than guessed."""
    raw = (env.get(name) or "false").strip().lower()
    if raw not in ("true", "false"):
        raise ConfigError(f"{name} must be true or false, not {raw!r}")
    return raw == "true"


def _number(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    """A finite number in [low, high]: ``nan`` would crash the window, ``inf`` would silence every finding."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigError(f"{name} must be a number from {low:g} to {high:g}, not {raw.strip()!r}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, *, high: int) -> int:
    """A whole number in [0, high] (``2.5`` regions means nothing: refused, not rounded)."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number from 0 to {high}, not {raw.strip()!r}") from None
    if not 0 <= value <= high:
        raise ConfigError(f"{name} must be a whole number from 0 to {high}, not {raw.strip()!r}")
    return value
