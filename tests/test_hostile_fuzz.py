"""Property-based fuzzing of the event parsers: the sample events, structurally mutated.

Each parser (``parse_health``, ``parse_guardduty``, ``parse_call_event`` - the CloudTrail handler's,
``parse_runbook``) gets its samples from ``events/`` with random paths set to random JSON values (wrong
types, NaN/Infinity, 400-digit integers, unicode and control characters, bogus regions and ids, 100 KB
strings, nested junk), deleted, or new keys added. The properties:

1. parsing succeeds, or raises ``BadInput`` - never another exception;
2. a refusal names at least one field (``field '<path>'``) and does not echo a huge input back;
3. when one existing value is swapped for a value of another JSON type, a refusal names that field, a
   field inside it, or the object holding it (the field paths share a prefix) - unless the value is one
   that decides how the rest is read (``SWITCHES``: the runbook name, ``source``, the CloudTrail event name
   or error code, the GuardDuty sample flag or user type ...), whose change may rightly be refused at the
   field it makes invalid (a sample finding's placeholder key id, once the finding is no longer a sample).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from responder.parse.cloudtrail_records import parse_call_event
from responder.parse.events import BadInput, parse_guardduty, parse_health
from responder.runbooks import parse_runbook

from tests.hostile_corpus import EVENTS, MESSAGE_MAX, components, named_fields

PARSERS: dict[str, Callable[[Any], Any]] = {
    "health": parse_health,
    "guardduty": parse_guardduty,
    "cloudtrail": parse_call_event,
    "runbook": parse_runbook,
}
SAMPLES = {path.name: json.loads(path.read_text()) for path in sorted(EVENTS.glob("*.json"))}
HUGE = "A" * 100_000
ODD_STRINGS = [
    "",
    " ",
    "zz-bogus-9",
    "us-bogus-1",
    "eu-west-1",
    "cn-north-1",
    "AKIAIOSFODNN7EXAMPLE",
    "AKIA-not-a-key",
    "akiaiosfodnn7example",
    "i-0123456789abcdef0",
    "i-zzzz",
    "123456789012",
    "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12",
    "ci-d\u00ebployer",
    "web-app-role\u0000",
    "\u202e\u0007\r\n\t",
    "2026-11-20T06:31:05Z",
    "Fri, 20 Nov 2026 06:31:05 GMT",
    "1e20",
    "NaN",
    "true",
    "false",
    "contain-access-key",
    "aws.health",
    "aws.ec2",
    "GuardDuty Finding",
    "RunInstances",
    "IAMUser",
    "AssumedRole",
    HUGE,
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(ODD_STRINGS),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["x", "items", "instanceType", "id"]), inner)
    ),
    max_leaves=8,
)
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Path = tuple[str | int, ...]
SWITCHES: tuple[Path, ...] = (
    ("runbook",),
    ("source",),
    ("detail-type",),
    ("detail", "eventName"),
    ("detail", "eventSource"),
    ("detail", "errorCode"),
    ("detail", "userIdentity", "type"),
    ("detail", "service", "additionalInfo"),
    ("detail", "resource", "accessKeyDetails", "userType"),
)


def paths(node: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every path below ``node`` (not the root itself)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def get(event: Any, path: Path) -> Any:
    for part in path:
        event = event[part]
    return event


def json_type(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    return {int: "number", float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def mutate(data: st.DataObject, event: Any) -> tuple[Any, list[Path]]:
    """1-3 mutations: set an existing path to a random value, delete it, or add a key to an object."""
    mutated: list[Path] = []
    for _ in range(data.draw(st.integers(1, 3))):
        if not isinstance(event, (dict, list)) or not event:
            break
        path = data.draw(st.sampled_from(list(paths(event))))
        parent = get(event, path[:-1])
        operation = data.draw(st.sampled_from(["set", "set", "delete", "add"]))
        if operation == "set":
            parent[path[-1]] = data.draw(JSON_VALUES)
        elif operation == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            path = (*path[:-1], data.draw(st.sampled_from(["junk", "extra-field", "\u0000", "runbook", "region"])))
            parent[path[-1]] = data.draw(JSON_VALUES)
        mutated.append(path)
    return event, mutated


def parse_or_refusal(parser: str, event: Any) -> str | None:
    """The refusal's message, or None when the event parsed. Any other exception fails the test."""
    try:
        PARSERS[parser](event)
    except BadInput as exc:
        message = str(exc)
        assert named_fields(message), f"refusal names no field: {message[:300]}"
        assert len(message) <= MESSAGE_MAX, f"refusal is {len(message)} characters long"
        return message
    return None


def related(named: str, mutated: Path) -> bool:
    """One path is a prefix of the other (list indices dropped)."""
    a, b = components(named), [str(p) for p in mutated if not isinstance(p, int)]
    return a[: len(b)] == b or b[: len(a)] == a


def samples_of(parser: str) -> list[str]:
    return [name for name in SAMPLES if name.startswith(f"{parser}-")]


@pytest.mark.parametrize("parser", sorted(PARSERS))
@EXAMPLES
@given(data=st.data())
def test_mutated_samples_parse_or_are_refused_naming_a_field(parser, data):
    name = data.draw(st.sampled_from(samples_of(parser)))
    event, _ = mutate(data, json.loads(json.dumps(SAMPLES[name])))

    parse_or_refusal(parser, event)


@pytest.mark.parametrize("parser", sorted(PARSERS))
@EXAMPLES
@given(data=st.data())
def test_a_value_of_the_wrong_type_is_refused_naming_that_field(parser, data):
    name = data.draw(st.sampled_from(samples_of(parser)))
    event = json.loads(json.dumps(SAMPLES[name]))
    path = data.draw(st.sampled_from(list(paths(event))))
    original = get(event, path)
    value = data.draw(JSON_VALUES.filter(lambda v: json_type(v) != json_type(original)))
    get(event, path[:-1])[path[-1]] = value

    message = parse_or_refusal(parser, event)

    if message is not None and not any(path[: len(switch)] == switch for switch in SWITCHES):
        assert any(related(named, path) for named in named_fields(message)), (
            f"{'.'.join(map(str, path))} set to {str(value)[:60]!r}; the refusal names {named_fields(message)}"
        )


@pytest.mark.parametrize("parser", sorted(PARSERS))
@EXAMPLES
@given(event=JSON_VALUES)
def test_any_json_at_all_parses_or_is_refused(parser, event):
    parse_or_refusal(parser, event)
