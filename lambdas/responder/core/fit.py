"""Fitting a report into a size limit: SNS takes 256 KiB, a DynamoDB item 400 KB.

A leaf module (it imports nothing of the engine), so the store, the notifier and the report can all use it
without an import circle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

STRING_MAX = 2_000
LIST_MAX = 200


def fit(report: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """The report, or a compact form that fits ``max_bytes`` of JSON: long strings cut, then skipped entries
    dropped, then action lists shortened, then a skeleton; ``actionsOmitted`` says how many actions went."""
    if _size(report) <= max_bytes:
        return report
    actions = report.get("actions", [])
    trimmed = {k: _trim(v, STRING_MAX, LIST_MAX) for k, v in report.items() if k != "actions"}
    short = [_trim(a, STRING_MAX, LIST_MAX) for a in actions]
    kept = [a for a in short if a.get("status") != "skipped"]
    for keep in (short, kept[:1000], kept[:100], []):
        compact = {**trimmed, "actions": keep}
        if len(keep) < len(actions):
            compact["actionsOmitted"] = len(actions) - len(keep)
        if _size(compact) <= max_bytes:
            return compact
    skeleton = {
        k: _trim(report.get(k), 200, 20)
        for k in ("incidentId", "trigger", "mode", "account", "severity", "headline", "principal", "regions")
    }
    skeleton["estimatedHourlyCostStopped"] = report.get("estimatedHourlyCostStopped", 0)
    skeleton["failures"] = _trim(report.get("failures", []), 200, 20)
    skeleton["actionsOmitted"] = len(actions)
    skeleton["truncated"] = "the full report did not fit; see the incident record"
    return skeleton


def _trim(value: Any, string_max: int, list_max: int) -> Any:
    """Every string cut to ``string_max`` characters and every list to ``list_max`` items (counted)."""
    if isinstance(value, str):
        return value if len(value) <= string_max else value[: string_max - 20] + f"...[{len(value)} chars]"
    if isinstance(value, Mapping):
        return {str(k)[:200]: _trim(v, string_max, list_max) for k, v in list(value.items())[: list_max * 5]}
    if isinstance(value, list):
        items = [_trim(v, string_max, list_max) for v in value[:list_max]]
        if len(value) > list_max:
            items.append(f"... and {len(value) - list_max} more")
        return items
    return value


def _size(data: Any) -> int:
    return len(json.dumps(data, separators=(",", ":"), default=str).encode())
