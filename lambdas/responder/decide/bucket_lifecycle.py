"""A bucket lifecycle the chain replaced (``s3:PutBucketLifecycle``; Stratus Red Team
``defense-evasion.cloudtrail-lifecycle-rule``: a trail's logs expire after a day, the evidence with them): what was
there before, for the human who puts it back.

Never changed by the responder: granting ``s3:PutLifecycleConfiguration`` (the IAM action of both
PutBucketLifecycleConfiguration and DeleteBucketLifecycle) would let a stolen function role expire every object of
every bucket, and no function may delete data. So the item is listed, critical for the evidence, with the
configuration the last principal outside the chain left, read from CloudTrail's event history (90 days before the
change): its ``PutBucketLifecycle`` rules, or none when it had deleted them. ``rules_of`` and ``previous_lifecycle``
are pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..core.timeutil import parse_time

EVENT = "PutBucketLifecycle"  # CloudTrail's name for PutBucketLifecycleConfiguration (and the older PutBucketLifecycle)
HISTORY = ("PutBucketLifecycle", "DeleteBucketLifecycle")  # read in the bucket's region

# CloudTrail writes the XML of the request as JSON: a repeated element is one object, or a list of them
_REPEATED = {"Transition": "Transitions", "NoncurrentVersionTransition": "NoncurrentVersionTransitions"}
_NUMBERS = {"Days", "NoncurrentDays", "NewerNoncurrentVersions", "DaysAfterInitiation", "ObjectSizeGreaterThan",
            "ObjectSizeLessThan"}  # fmt: skip
_BOOLEANS = {"ExpiredObjectDeleteMarker"}
_RULE_KEYS = {"ID", "Status", "Prefix", "Filter", "Expiration", "NoncurrentVersionExpiration",
              "AbortIncompleteMultipartUpload", *_REPEATED}  # fmt: skip
_INNER_KEYS = {"Prefix", "Tag", "And", "Key", "Value", "Date", "StorageClass", *_NUMBERS, *_BOOLEANS}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _value(key: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k not in _INNER_KEYS:
                raise ValueError(f"lifecycle element {k} is not read")
            if k == "Tag" and key == "And":
                out["Tags"] = [_value("Tag", t) for t in _listed(v)]
            else:
                out[k] = _value(k, v)
        return out
    if key in _NUMBERS:
        return int(value)
    if key in _BOOLEANS:
        return str(value).lower() == "true"
    return str(value)


def rules_of(configuration: Any) -> list[dict[str, Any]]:
    """The ``Rules`` of PutBucketLifecycleConfiguration from CloudTrail's ``LifecycleConfiguration`` (the request's
    XML as JSON). Raises ValueError on an element it does not read: nothing is guessed. Pure."""
    if not isinstance(configuration, Mapping):
        raise ValueError("no LifecycleConfiguration in the record")
    rules = []
    for rule in _listed(configuration.get("Rule")):
        if not isinstance(rule, Mapping) or set(rule) - _RULE_KEYS:
            raise ValueError(f"lifecycle rule elements not read: {sorted(set(rule) - _RULE_KEYS)}")
        out: dict[str, Any] = {}
        for key, value in rule.items():
            if key in _REPEATED:
                out[_REPEATED[key]] = [_value(key, v) for v in _listed(value)]
            else:
                out[key] = _value(key, value)
        rules.append(out)
    if not rules:
        raise ValueError("a lifecycle configuration without rules")
    return rules


def previous_lifecycle(
    records: Iterable[Mapping[str, Any]], bucket: str, before: datetime | None, chain_keys: Iterable[str]
) -> tuple[list[dict[str, Any]] | None, Mapping[str, Any]] | None:
    """What the last principal outside the chain left on ``bucket`` before ``before``: its rules (PutBucketLifecycle)
    or None (it deleted them), with the record; None when the history has neither. Pure."""
    chain = set(chain_keys)
    found: list[tuple[datetime, Mapping[str, Any]]] = []
    for detail in records:
        request = detail.get("requestParameters")
        if detail.get("errorCode") or detail.get("eventName") not in HISTORY or not isinstance(request, Mapping):
            continue
        if (detail.get("userIdentity") or {}).get("accessKeyId") in chain or request.get("bucketName") != bucket:
            continue
        when = parse_time(detail.get("eventTime"))
        if when is not None and (before is None or when < before):
            found.append((when, detail))
    if not found:
        return None
    _, detail = max(found, key=lambda f: f[0])
    if detail.get("eventName") == "DeleteBucketLifecycle":
        return None, detail
    return rules_of(detail["requestParameters"].get("LifecycleConfiguration")), detail
