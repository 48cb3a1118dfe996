"""The stack's configuration: ``cdk.json`` context, typed and validated once.

A bad value fails ``cdk synth`` with a message naming the context key. Values arrive two ways:
from ``cdk.json`` as JSON (lists, numbers, booleans) and from ``cdk -c key=value`` always as a
string - so a list may also be a JSON list (``'["a","b"]'``) or a comma list (``a,b``), a number
or boolean a string (``72``, ``false``).
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from responder.core.config import DEFAULT_SUSPICIOUS_INSTANCE_TYPES
from responder.core.partitions import is_region, not_regions, partition_of

# The local part and the domain as SMTP allows them unquoted: no brackets, quotes, commas or spaces
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
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


# Where a partition's global events arrive (AWS Health notices of global services, IAM's CloudTrail calls).
GLOBAL_EVENTS_REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


def global_events_region(home_region: str) -> str:
    return GLOBAL_EVENTS_REGIONS.get(partition_of(home_region), "us-east-1")


# Every context key this app reads; anything else without a CDK prefix is a typo (e.g. "notifyEmail").
SETTINGS = (
    "account",
    "homeRegion",
    "notifyEmails",
    "responseMode",
    "protectTagKey",
    "protectedPrincipals",
    "allowedRegions",
    "suspiciousInstanceTypes",
    "incidentLookbackHours",
    "guarddutyMinSeverity",
    "forwarderRegions",
    "createTrail",
    "createTestEventRegistry",
    "powertoolsLayerVersion",
    "sweepRegions",
    "organization",
    "organizationId",
    "organizationTargets",
    "organizationCallAs",
    "memberRoleName",
    "protectedAccounts",
    "organizationMaxConcurrency",
    "organizationToleratedFailurePercentage",
    "organizationInlineAccounts",
    "securityHubFindings",
    "chatChannels",
    "activityBudgetSeconds",
    "propagationSeconds",
    "reservedConcurrency",
    "swarmRegions",
    "swarmMinutes",
    "notifyDigestMinutes",
)
# Concurrency kept for each function (the account's pool is shared): a storm of launch events can never take the
# Health and GuardDuty functions' room, and the launch watcher cannot take all of the account's.
DEFAULT_RESERVED_CONCURRENCY = {"health": 5, "guardduty": 10, "cloudtrail": 20, "runbook": 5, "organization": 20}
ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
OU_OR_ROOT = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
ROLE_NAME = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}$")
# Context keys the CDK itself keeps next to ours: feature flags (@aws-cdk/...), the CLI's (aws:cdk:...),
# cached lookups (provider:key=value...), and the notices the team acknowledged.
CDK_KEYS = ("acknowledged-issue-numbers",)


class ContextError(ValueError):
    """A cdk.json context value is wrong; the message names the key."""


# AWS::Chatbot::SlackChannelConfiguration / MicrosoftTeamsChannelConfiguration property patterns (CloudFormation)
CHANNEL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
SLACK_WORKSPACE = re.compile(r"^[0-9A-Z]{1,255}$")
SLACK_CHANNEL = re.compile(r"^[A-Za-z0-9]{1,255}$")
UUID = re.compile(r"^[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
TEAMS_CHANNEL = re.compile(r"^[a-zA-Z0-9-_=+/.,]*%3[aA][a-zA-Z0-9-_=+/.,]*%40[a-zA-Z0-9-_=+/.,]*$")
CHANNEL_FIELDS: dict[str, dict[str, tuple[re.Pattern[str], str]]] = {  # type -> field -> (pattern, what it is)
    "slack": {
        "workspaceId": (SLACK_WORKSPACE, "the Slack workspace id (upper-case letters and digits, e.g. T07EA123LEP)"),
        "channelId": (SLACK_CHANNEL, "the Slack channel id (letters and digits, e.g. C07EZ1ABC23)"),
    },
    "teams": {
        "teamId": (UUID, "the Microsoft Teams team id (a UUID)"),
        "tenantId": (UUID, "the Microsoft Teams tenant id (a UUID)"),
        "channelId": (TEAMS_CHANNEL, "the URL-encoded Teams channel id (19%3a...%40thread.tacv2)"),
    },
}


@dataclass(frozen=True)
class ChatChannel:
    """A Slack or Microsoft Teams channel that gets the team topic through Amazon Q Developer (AWS Chatbot)."""

    type: str  # slack | teams
    name: str  # the channel configuration's name
    ids: tuple[tuple[str, str], ...]  # (field, value) as given: workspaceId/channelId, or teamId/tenantId/channelId

    def id(self, field: str) -> str:
        return dict(self.ids)[field]


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
    activity_budget_seconds: float
    propagation_seconds: float = 10.0
    organization: bool = False
    organization_id: str = ""
    organization_targets: tuple[str, ...] = ()
    organization_call_as: str = "DELEGATED_ADMIN"
    member_role_name: str = "CompromiseResponderMember"
    protected_accounts: tuple[str, ...] = ()
    organization_max_concurrency: int = 20
    organization_tolerated_failure_percentage: float = 10.0
    organization_inline_accounts: int = 10
    security_hub_findings: bool = False
    chat_channels: tuple[ChatChannel, ...] = ()
    reserved_concurrency: tuple[tuple[str, int], ...] = tuple(DEFAULT_RESERVED_CONCURRENCY.items())
    swarm_regions: int = 3  # the swarm rule (0 = off)
    swarm_minutes: float = 15.0
    notify_digest_minutes: float = 5.0

    def reserved(self, handler: str) -> int | None:
        return dict(self.reserved_concurrency).get(handler)

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
            "SECURITY_HUB_FINDINGS": "true" if self.security_hub_findings else "false",
            "ACTIVITY_BUDGET_SECONDS": _num(self.activity_budget_seconds),
            "PROPAGATION_SECONDS": _num(self.propagation_seconds),
            "SWARM_REGIONS": str(self.swarm_regions),
            "SWARM_MINUTES": _num(self.swarm_minutes),
            "NOTIFY_DIGEST_MINUTES": _num(self.notify_digest_minutes),
        } | (
            {
                "MEMBER_ROLE_NAME": self.member_role_name,
                "PROTECTED_ACCOUNTS": ",".join(self.protected_accounts),
                "ORGANIZATION_INLINE_ACCOUNTS": str(self.organization_inline_accounts),
            }
            if self.organization
            else {}
        )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _list(ctx: Mapping[str, Any], key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A JSON list (cdk.json), or from ``-c``: a JSON list as a string, or a comma list. Duplicates dropped."""
    value = ctx.get(key, list(default))
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise ContextError(f"context '{key}' is not a valid JSON list: {value!r}") from None
    elif isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContextError(
            f"context '{key}' must be a list of strings, a JSON list or a comma-separated string, not {value!r}"
        )
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def _list_of(ctx: Mapping[str, Any], key: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    """A list (as ``_list``) whose every value matches ``pattern``; else the error names the key and the values."""
    values = _list(ctx, key)
    bad = [v for v in values if not pattern.match(v)]
    if bad:
        raise ContextError(f"context '{key}' holds values that are not {what}: {bad}")
    return values


def _float(ctx: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = ctx.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ContextError(f"context '{key}' must be a number, not {value!r}") from None
    if not low <= number <= high:
        raise ContextError(f"context '{key}' must be between {low} and {high}, not {number}")
    return number


def _int(ctx: Mapping[str, Any], key: str, default: int) -> int:
    value = ctx.get(key, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ContextError(f"context '{key}' must be a positive integer, not {value!r}")
    return value


def _bool(ctx: Mapping[str, Any], key: str, default: bool) -> bool:
    value = ctx.get(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ContextError(f"context '{key}' must be true or false, not {value!r}")
    return value


def _chat_channels(ctx: Mapping[str, Any]) -> tuple[ChatChannel, ...]:
    """A JSON list of channel objects (cdk.json), or the same list as a JSON string (``-c``); empty = none."""
    value = ctx.get("chatChannels", [])
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            raise ContextError(f"context 'chatChannels' is not a valid JSON list: {value[:200]!r}") from None
    if not isinstance(value, list):
        raise ContextError(f"context 'chatChannels' must be a list of channel objects, not {value!r}")
    channels: list[ChatChannel] = []
    for n, entry in enumerate(value):
        where = f"context 'chatChannels[{n}]"
        if not isinstance(entry, dict):
            raise ContextError(f"{where}' must be an object with type, name and the channel's ids, not {entry!r}")
        kind = entry.get("type")
        if kind not in CHANNEL_FIELDS:
            raise ContextError(f"{where}.type' must be one of {sorted(CHANNEL_FIELDS)}, not {kind!r}")
        fields = CHANNEL_FIELDS[kind]
        unknown = sorted(set(entry) - {"type", "name", *fields})
        if unknown:
            raise ContextError(f"{where}.{unknown[0]}' is not a field of a {kind} channel ({', '.join(fields)})")
        name = entry.get("name")
        if not isinstance(name, str) or not CHANNEL_NAME.match(name):
            raise ContextError(f"{where}.name' must be 1-128 letters, digits, - or _, not {name!r}")
        if name in {c.name for c in channels}:
            raise ContextError(f"{where}.name' {name!r} is used twice: each channel configuration needs its own name")
        for field, (pattern, what) in fields.items():
            found = entry.get(field)
            if not isinstance(found, str) or not pattern.match(found):
                raise ContextError(f"{where}.{field}' must be {what}, not {found!r}")
        channels.append(ChatChannel(kind, name, tuple((f, str(entry[f])) for f in fields)))
    return tuple(channels)


def _reserved_concurrency(ctx: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    """``{"health": 5, ...}`` (a JSON object, or its string from ``-c``); a function left out reserves nothing,
    ``{}`` reserves nothing at all (an account whose concurrency limit is too small to reserve from)."""
    value = ctx.get("reservedConcurrency", DEFAULT_RESERVED_CONCURRENCY)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ContextError(f"context 'reservedConcurrency' is not a valid JSON object: {value[:200]!r}") from None
    if not isinstance(value, dict):
        raise ContextError(f"context 'reservedConcurrency' must be an object of function -> number, not {value!r}")
    unknown = sorted(set(value) - set(DEFAULT_RESERVED_CONCURRENCY))
    if unknown:
        raise ContextError(
            f"context 'reservedConcurrency.{unknown[0]}' is not a function ({', '.join(DEFAULT_RESERVED_CONCURRENCY)})"
        )
    for handler, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 1000:
            raise ContextError(f"context 'reservedConcurrency.{handler}' must be an integer of 1-1000, not {number!r}")
    return tuple((h, value[h]) for h in DEFAULT_RESERVED_CONCURRENCY if h in value)


def _unknown_keys(ctx: Mapping[str, Any]) -> None:
    for key in ctx:
        if key in SETTINGS or key in CDK_KEYS or key.startswith("@") or ":" in key:
            continue
        close = difflib.get_close_matches(key, SETTINGS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ContextError(f"context '{key}' is not a setting of this app{hint}; settings: {', '.join(SETTINGS)}")


def shadowed_settings(project: Mapping[str, Any], local: Mapping[str, Any]) -> list[str]:
    """Settings ``cdk.context.json`` sets differently from ``cdk.json``. The CDK CLI reads ``cdk.json``
    first, so those values would be ignored without a word - an e-mail list that never subscribes."""
    return sorted(k for k in local if k in SETTINGS and k in project and local[k] != project[k])


def check_local_context(root: Path) -> None:
    """A setting in ``cdk.context.json`` that ``cdk.json`` also sets fails synth instead of being ignored."""
    local = root / "cdk.context.json"
    if not local.exists():
        return
    ignored = shadowed_settings(json.loads((root / "cdk.json").read_text())["context"], json.loads(local.read_text()))
    if ignored:
        raise ContextError(
            f"context {ignored} in cdk.context.json would be ignored: cdk.json sets them and the CDK CLI reads "
            "cdk.json first. Set them in cdk.json (cdk.context.example.json shows every setting filled in)."
        )


def resolve_account(ctx: Mapping[str, Any], default_account: str | None) -> str | None:
    """``account`` from context, else the account of the credentials the CDK CLI runs with.

    The CLI passes that account (``CDK_DEFAULT_ACCOUNT``) to every command, so deploy and diff
    synthesize the same template whether or not ``-c account=`` is repeated: no false diffs.
    Only a synth without credentials stays account-agnostic.
    """
    account = ctx.get("account") or default_account or None
    if account is not None and not ACCOUNT.match(str(account)):
        raise ContextError(f"context 'account' must be a 12-digit account id, not {account!r}")
    return str(account) if account is not None else None


def load(ctx: Mapping[str, Any], default_account: str | None = None) -> ResponderConfig:
    """Validate every key once; the first problem stops synth with the key's name."""
    _unknown_keys(ctx)
    account = resolve_account(ctx, default_account)
    home = str(ctx.get("homeRegion", "us-east-1"))
    if not is_region(home, partition_of(home)):
        raise ContextError(f"context 'homeRegion' is not a region name: {home!r}")
    emails = _list_of(ctx, "notifyEmails", EMAIL, "e-mail addresses")
    mode = str(ctx.get("responseMode", "enforce"))
    if mode not in ("enforce", "dry-run"):
        raise ContextError(f"context 'responseMode' must be 'enforce' or 'dry-run', not {mode!r}")
    tag = str(ctx.get("protectTagKey", "compromise-responder:protect"))
    if not tag or len(tag) > 128 or tag.lower().startswith("aws:"):
        raise ContextError(
            f"context 'protectTagKey' must be a tag key of 1-128 characters not starting with aws:, not {tag!r}"
        )
    principals = _list_of(ctx, "protectedPrincipals", PRINCIPAL, "IAM names or ARNs")
    regions: dict[str, tuple[str, ...]] = {}
    for key, default in (("allowedRegions", ()), ("forwarderRegions", DEFAULT_REGIONS), ("sweepRegions", ())):
        regions[key] = _list(ctx, key, default)
        bad = not_regions(regions[key], partition_of(home))
        if bad:
            raise ContextError(f"context '{key}' holds values that are not region names: {bad}")
    if home not in regions["forwarderRegions"]:
        regions["forwarderRegions"] = (home, *regions["forwarderRegions"])
    global_region = global_events_region(home)
    if global_region not in regions["forwarderRegions"]:
        raise ContextError(
            f"context 'homeRegion' is {home}, but AWS Health credential notices and IAM's CloudTrail calls are "
            f"delivered in {global_region} only, and 'forwarderRegions' does not list {global_region}: its forwarder "
            f"sends them to {home}. Add {global_region} to 'forwarderRegions' (or make it the homeRegion)."
        )
    organization = _organization(ctx)
    types = _list(ctx, "suspiciousInstanceTypes", DEFAULT_SUSPICIOUS_INSTANCE_TYPES)
    if not types or any(not t or fnmatch.translate(t) == "" for t in types):
        raise ContextError("context 'suspiciousInstanceTypes' must be a non-empty list of glob patterns")
    return ResponderConfig(
        account=account,
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
        # AWS creates lambda-testevent-schemas itself the first time anyone saves a shareable test event: off by default
        create_test_event_registry=_bool(ctx, "createTestEventRegistry", False),
        powertools_layer_version=_int(ctx, "powertoolsLayerVersion", 27),
        sweep_regions=regions["sweepRegions"],
        # reading what the key did runs after containment, inside the 900 s functions: at most 5 minutes
        activity_budget_seconds=_float(ctx, "activityBudgetSeconds", 60, 1, 300),
        # IAM's propagation: the check that containment held, this long after the door closed
        propagation_seconds=_float(ctx, "propagationSeconds", 10, 0, 60),
        security_hub_findings=_bool(ctx, "securityHubFindings", False),
        chat_channels=_chat_channels(ctx),
        reserved_concurrency=_reserved_concurrency(ctx),
        swarm_regions=int(_float(ctx, "swarmRegions", 3, 0, 64)),
        swarm_minutes=_float(ctx, "swarmMinutes", 15, 1, 24 * 60),
        notify_digest_minutes=_float(ctx, "notifyDigestMinutes", 5, 0, 24 * 60),
        **organization,
    )


def _organization(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """Organization mode's keys: validated only when ``organization`` is true (and then required)."""
    if not _bool(ctx, "organization", False):
        return {}
    org_id = str(ctx.get("organizationId", ""))
    if not ORGANIZATION_ID.match(org_id):
        raise ContextError(f"context 'organizationId' must be the organization's id (o-...), not {org_id!r}")
    targets = _list(ctx, "organizationTargets")
    bad = [t for t in targets if not OU_OR_ROOT.match(t)]
    if not targets or bad:
        raise ContextError(
            f"context 'organizationTargets' must list the root (r-...) or OUs (ou-...) to deploy members to: {bad}"
        )
    role = str(ctx.get("memberRoleName", "CompromiseResponderMember"))
    if not ROLE_NAME.match(role):
        raise ContextError(f"context 'memberRoleName' is not an IAM role name: {role!r}")
    protected = _list_of(ctx, "protectedAccounts", ACCOUNT, "12-digit account ids")
    call_as = str(ctx.get("organizationCallAs", "DELEGATED_ADMIN"))
    if call_as not in ("SELF", "DELEGATED_ADMIN"):
        raise ContextError(f"context 'organizationCallAs' must be SELF or DELEGATED_ADMIN, not {call_as!r}")
    return {
        "organization": True,
        "organization_id": org_id,
        "organization_targets": targets,
        "organization_call_as": call_as,
        "member_role_name": role,
        "protected_accounts": protected,
        "organization_max_concurrency": _int(ctx, "organizationMaxConcurrency", 20),
        "organization_tolerated_failure_percentage": _float(ctx, "organizationToleratedFailurePercentage", 10, 0, 100),
        "organization_inline_accounts": _int(ctx, "organizationInlineAccounts", 10),
    }
