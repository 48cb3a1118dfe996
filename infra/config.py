"""The stack's configuration: ``cdk.json`` context, typed and validated once.

A bad value fails ``cdk synth`` with a message naming the context key.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
ACCOUNT = re.compile(r"^\d{12}$")
PRINCIPAL = re.compile(r"^(arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/-]+|[\w+=,.@-]{1,64})$")
# Regions EventBridge forwarders are deployed to by default: the commercial regions enabled by default.
DEFAULT_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
)


class ContextError(ValueError):
    """A cdk.json context value is wrong; the message names the key."""


@dataclass(frozen=True)
class ResponderConfig:
    account: str | None
    home_region: str
    notify_emails: tuple[str, ...]
    response_mode: str
    protect_tag_key: str
    protected_principals: tuple[str, ...]
    allowed_regions: tuple[str, ...]
    suspicious_instance_types: tuple[str, ...]
    incident_lookback_hours: float
    guardduty_min_severity: float
    forwarder_regions: tuple[str, ...]
    create_trail: bool
    create_test_event_registry: bool
    powertools_layer_version: int
    sweep_regions: tuple[str, ...]

    def environment(self) -> dict[str, str]:
        """The contract's environment variables (tables and topic are added by the stack)."""
        return {
            "RESPONSE_MODE": self.response_mode,
            "PROTECT_TAG_KEY": self.protect_tag_key,
            "PROTECTED_PRINCIPALS": ",".join(self.protected_principals),
            "ALLOWED_REGIONS": ",".join(self.allowed_regions),
            "SUSPICIOUS_INSTANCE_TYPES": ",".join(self.suspicious_instance_types),
            "INCIDENT_LOOKBACK_HOURS": _num(self.incident_lookback_hours),
            "GUARDDUTY_MIN_SEVERITY": _num(self.guardduty_min_severity),
            "SWEEP_REGIONS": ",".join(self.sweep_regions),
        }


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _list(ctx: Mapping[str, Any], key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    value = ctx.get(key, list(default))
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContextError(f"context '{key}' must be a list of strings (or a comma-separated string)")
    return tuple(value)


def _float(ctx: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = ctx.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ContextError(f"context '{key}' must be a number, not {value!r}") from None
    if not low <= number <= high:
        raise ContextError(f"context '{key}' must be between {low} and {high}, not {number}")
    return number


def _bool(ctx: Mapping[str, Any], key: str, default: bool) -> bool:
    value = ctx.get(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ContextError(f"context '{key}' must be true or false, not {value!r}")
    return value


def load(ctx: Mapping[str, Any]) -> ResponderConfig:
    """Validate every key once; the first problem stops synth with the key's name."""
    account = ctx.get("account") or None
    if account is not None and not ACCOUNT.match(str(account)):
        raise ContextError(f"context 'account' must be a 12-digit account id, not {account!r}")
    home = str(ctx.get("homeRegion", "us-east-1"))
    if not REGION.match(home):
        raise ContextError(f"context 'homeRegion' is not a region name: {home!r}")
    emails = _list(ctx, "notifyEmails")
    bad = [e for e in emails if not EMAIL.match(e)]
    if bad:
        raise ContextError(f"context 'notifyEmails' holds values that are not e-mail addresses: {bad}")
    mode = str(ctx.get("responseMode", "enforce"))
    if mode not in ("enforce", "dry-run"):
        raise ContextError(f"context 'responseMode' must be 'enforce' or 'dry-run', not {mode!r}")
    tag = str(ctx.get("protectTagKey", "compromise-responder:protect"))
    if not tag or len(tag) > 128 or tag.lower().startswith("aws:"):
        raise ContextError(
            f"context 'protectTagKey' must be a tag key of 1-128 characters not starting with aws:, not {tag!r}"
        )
    principals = _list(ctx, "protectedPrincipals")
    bad = [p for p in principals if not PRINCIPAL.match(p)]
    if bad:
        raise ContextError(f"context 'protectedPrincipals' holds values that are not IAM names or ARNs: {bad}")
    regions: dict[str, tuple[str, ...]] = {}
    for key, default in (("allowedRegions", ()), ("forwarderRegions", DEFAULT_REGIONS), ("sweepRegions", ())):
        regions[key] = _list(ctx, key, default)
        bad = [r for r in regions[key] if not REGION.match(r)]
        if bad:
            raise ContextError(f"context '{key}' holds values that are not region names: {bad}")
    if home not in regions["forwarderRegions"]:
        regions["forwarderRegions"] = (home, *regions["forwarderRegions"])
    types = _list(
        ctx, "suspiciousInstanceTypes", ("g*", "p*", "inf*", "trn*", "dl*", "f1.*", "vt1.*", "x1*", "x2*", "*.metal")
    )
    if not types or any(not t or fnmatch.translate(t) == "" for t in types):
        raise ContextError("context 'suspiciousInstanceTypes' must be a non-empty list of glob patterns")
    layer = ctx.get("powertoolsLayerVersion", 27)
    if not isinstance(layer, int) or layer < 1:
        raise ContextError(f"context 'powertoolsLayerVersion' must be a positive integer, not {layer!r}")
    return ResponderConfig(
        account=str(account) if account else None,
        home_region=home,
        notify_emails=emails,
        response_mode=mode,
        protect_tag_key=tag,
        protected_principals=principals,
        allowed_regions=regions["allowedRegions"],
        suspicious_instance_types=types,
        incident_lookback_hours=_float(ctx, "incidentLookbackHours", 72, 1, 24 * 90),
        guardduty_min_severity=_float(ctx, "guarddutyMinSeverity", 7, 0, 10),
        forwarder_regions=regions["forwarderRegions"],
        create_trail=_bool(ctx, "createTrail", True),
        create_test_event_registry=_bool(ctx, "createTestEventRegistry", True),
        powertools_layer_version=layer,
        sweep_regions=regions["sweepRegions"],
    )
