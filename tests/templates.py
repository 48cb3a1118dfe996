"""Reading synthesized CloudFormation templates in tests."""

from __future__ import annotations

from typing import Any


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Every resource of one type, by logical id."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}
