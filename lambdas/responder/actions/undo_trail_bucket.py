"""Undo ``s3:PutBucketLifecycle`` by the chain on a trail's bucket (Stratus Red Team
``defense-evasion.cloudtrail-lifecycle-rule``: the logs expire after a day, the evidence with them).

Beyond the contract's table, kept conservative: only the bucket's lifecycle configuration is written, never an
object, and only on a bucket a trail logs to (``DescribeTrails``, shadow trails included, in the bucket's region);
a lifecycle put on any other bucket is listed for a human. What is put back:
  1. the configuration the last principal outside the chain left, from CloudTrail's event history (90 days before
     the change): its ``PutBucketLifecycle`` rules put back, or - when it had deleted them - none;
  2. otherwise the attacker's configuration deleted (``DeleteBucketLifecycle``): objects then never expire, which
     keeps every log; rules the team set more than 90 days ago are not in the record, a human puts them back.
``rules_of`` and ``previous_lifecycle`` are pure; ``trail_buckets`` is the thin reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .. import capabilities as cap
from ..model import Outcome, Step
from ..timeutil import parse_time
from .base import Action, ActionName, Words, each, register

EVENT = "PutBucketLifecycle"  # CloudTrail's name for PutBucketLifecycleConfiguration (and the older PutBucketLifecycle)
HISTORY = ("PutBucketLifecycle", "DeleteBucketLifecycle")  # read in the bucket's region
S3_BUCKET = cap.arn("s3", "*", region="", account="")  # bucket ARNs carry no region, no account
TRAIL_BUCKETS = cap.declare(
    "read",
    "trail-buckets",
    ("cloudtrail:DescribeTrails",),  # no resource type (Service Authorization Reference): only "*" grants it
    doc="the buckets trails log to: a lifecycle the chain put there is undone, elsewhere listed",
)

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


def trail_buckets(client: Any) -> set[str]:
    """The buckets the trails of this region log to (multi-region trails of other home regions included)."""
    trails = client.describe_trails(includeShadowTrails=True).get("trailList", [])
    return {str(t["S3BucketName"]) for t in trails if t.get("S3BucketName")}


@register
class RestoreBucketLifecycle(Action):
    """Put back the lifecycle of a trail's bucket the chain replaced (s3:PutBucketLifecycle): the rules set before,
    or none (DeleteBucketLifecycle); objects are never touched."""

    name = ActionName.RESTORE_BUCKET_LIFECYCLE
    service = "s3"
    permissions = ("s3:PutLifecycleConfiguration",)  # the IAM action of PutBucketLifecycleConfiguration and of
    resource = S3_BUCKET  # DeleteBucketLifecycle (Service Authorization Reference)
    phase = 15
    words = Words(
        "trail bucket",
        "trail buckets",
        "lifecycle put back",
        "to put back the lifecycle of",
        short="lifecycle put back",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            rules = json.loads(str(step.params.get("rules") or "null"))
            if rules:
                client.put_bucket_lifecycle_configuration(Bucket=step.target, LifecycleConfiguration={"Rules": rules})
                return f"PutBucketLifecycleConfiguration accepted: {len(rules)} rule(s)"
            client.delete_bucket_lifecycle(Bucket=step.target)
            return "DeleteBucketLifecycle accepted: no rule, no object touched"

        return each(steps, call)
