"""Regions and partitions as botocore knows them (its bundled ``partitions.json``): one source for
"is this a region?", so a hostile ``zz-bogus-9`` is refused as bad input instead of becoming a
ledger write, a failed region and a retry."""

from __future__ import annotations

import functools
import re
from typing import Any

# Only the shape; membership is decided by the partition's region list below.
REGION_SHAPE = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")


@functools.cache
def _partitions() -> tuple[dict[str, Any], ...]:
    import botocore.loaders

    data = botocore.loaders.create_loader().load_data("partitions")
    return tuple(data["partitions"])


def partition_of(region: str) -> str:
    """``us-east-1`` -> ``aws``, ``cn-north-1`` -> ``aws-cn``; unknown regions -> ``aws``."""
    for partition in _partitions():
        if region in partition["regions"] or re.match(partition["regionRegex"], region):
            return str(partition["id"])
    return "aws"


@functools.cache
def regions_of(partition: str) -> frozenset[str]:
    """The real regions of a partition (without pseudo-regions such as ``aws-global``)."""
    for p in _partitions():
        if p["id"] == partition:
            return frozenset(r for r in p["regions"] if REGION_SHAPE.match(r) and not r.endswith("-global"))
    return frozenset()


def is_region(value: object, partition: str = "aws") -> bool:
    return isinstance(value, str) and value in regions_of(partition)


def not_regions(values: tuple[str, ...] | list[str], partition: str = "aws") -> list[str]:
    return [v for v in values if not is_region(v, partition)]
