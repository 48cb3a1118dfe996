"""Time helpers: every timestamp inside the responder is timezone-aware UTC."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Timestamps outside these years are not AWS event times (a hostile 1e20 would overflow datetime).
EARLIEST_YEAR, LATEST_YEAR = 2000, 2200


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def iso(when: datetime | None) -> str | None:
    return None if when is None else as_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    """Parse the time formats AWS events use: ISO 8601, RFC 1123 (Health), epoch millis."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _bounded(as_utc(value), value)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not a timestamp: {type(value).__name__}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"not a timestamp: {value!r}")
        try:  # a 400-digit JSON integer is a valid int but too large for a float: OverflowError
            seconds = value / 1000 if value > 1e11 else value
            return _bounded(datetime.fromtimestamp(seconds, UTC), value)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"timestamp out of range: {str(value)[:40]}") from None
    text = value.strip()
    for parse in (_iso, _rfc1123, _console):
        try:
            return _bounded(parse(text), text)
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
    raise ValueError(f"unrecognised time {text[:60]!r}")


def _iso(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _rfc1123(text: str) -> datetime:
    return as_utc(parsedate_to_datetime(text))


def _console(text: str) -> datetime:
    return datetime.strptime(text, "%b %d, %Y %I:%M:%S %p").replace(tzinfo=UTC)  # CloudTrail createDate of IAM keys


def _bounded(when: datetime, raw: object) -> datetime:
    if not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
        raise ValueError(f"timestamp out of range: {str(raw)[:60]!r}")
    return when
