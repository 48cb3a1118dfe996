"""On-demand $/hour of instance types: a small built-in table, and an estimate from size otherwise.

Figures are us-east-1 Linux on-demand list prices (rounded); they give the order of magnitude of
the money a containment stopped, not an invoice.
"""

from __future__ import annotations

import re

PRICES: dict[str, float] = {
    "t2.nano": 0.0058,
    "t2.micro": 0.0116,
    "t2.small": 0.023,
    "t2.medium": 0.0464,
    "t2.large": 0.0928,
    "t3.nano": 0.0052,
    "t3.micro": 0.0104,
    "t3.small": 0.0208,
    "t3.medium": 0.0416,
    "t3.large": 0.0832,
    "t3.xlarge": 0.1664,
    "t3.2xlarge": 0.3328,
    "t4g.micro": 0.0084,
    "t4g.small": 0.0168,
    "t4g.medium": 0.0336,
    "m5.large": 0.096,
    "m5.xlarge": 0.192,
    "m5.2xlarge": 0.384,
    "m5.4xlarge": 0.768,
    "m5.24xlarge": 4.608,
    "m6i.large": 0.096,
    "m7i.large": 0.1008,
    "c5.large": 0.085,
    "c5.xlarge": 0.17,
    "c5.18xlarge": 3.06,
    "c5.24xlarge": 4.08,
    "r5.large": 0.126,
    "g2.2xlarge": 0.65,
    "g2.8xlarge": 2.60,
    "g3.4xlarge": 1.14,
    "g3.16xlarge": 4.56,
    "g4dn.xlarge": 0.526,
    "g4dn.12xlarge": 3.912,
    "g4dn.metal": 7.824,
    "g5.xlarge": 1.006,
    "g5.48xlarge": 16.288,
    "g6.xlarge": 0.805,
    "p2.xlarge": 0.90,
    "p2.16xlarge": 14.40,
    "p3.2xlarge": 3.06,
    "p3.8xlarge": 12.24,
    "p3.16xlarge": 24.48,
    "p4d.24xlarge": 32.7726,
    "p5.48xlarge": 98.32,
    "inf1.xlarge": 0.228,
    "inf2.48xlarge": 12.98,
    "trn1.32xlarge": 21.50,
    "x1.32xlarge": 13.338,
    "x1e.32xlarge": 26.688,
    "f1.16xlarge": 13.20,
    "dl1.24xlarge": 13.11,
    "vt1.24xlarge": 5.20,
}

# $/hour of one "large" (4 normalisation units) by family prefix, when the family is unknown.
FAMILY_LARGE_PRICE = (
    ("trn", 1.3),
    ("inf", 0.2),
    ("dl", 2.0),
    ("vt", 0.4),
    ("p", 1.5),
    ("g", 0.5),
    ("f", 0.8),
    ("x", 0.42),
    ("r", 0.126),
    ("c", 0.085),
    ("m", 0.096),
    ("t", 0.083),
)
DEFAULT_LARGE_PRICE = 0.1
_SIZE = re.compile(r"^(?P<n>\d*)xlarge$")
_NAMED_UNITS = {"nano": 0.25, "micro": 0.5, "small": 1, "medium": 2, "large": 4, "metal": 192}


def size_units(size: str) -> float:
    """AWS normalisation factor of an instance size (large = 4, xlarge = 8, 2xlarge = 16 ...)."""
    if size in _NAMED_UNITS:
        return float(_NAMED_UNITS[size])
    match = _SIZE.match(size)
    if match:
        return 8.0 * (int(match.group("n")) if match.group("n") else 1)
    return 4.0


def hourly_price(instance_type: str) -> float:
    """List price, or an estimate scaled from a known size of the family, or from the family class."""
    if instance_type in PRICES:
        return PRICES[instance_type]
    family, _, size = instance_type.partition(".")
    units = size_units(size)
    for known, price in PRICES.items():
        known_family, _, known_size = known.partition(".")
        if known_family == family:
            return round(price * units / size_units(known_size), 4)
    per_large = next((p for prefix, p in FAMILY_LARGE_PRICE if family.startswith(prefix)), DEFAULT_LARGE_PRICE)
    return round(per_large * units / 4.0, 4)
