"""Reading the hostile-input corpus (``tests/hostile/corpus.json``): cases as data, events built fresh.

A case names its target (a handler, or a ``responder`` CLI command), a base event (a sample from
``events/`` by file name, or a literal ``event``), the mutations to apply, and the expected outcome:

- ``"expect": "bad-input"``: refused before anything changes, the message naming ``field``;
- ``"expect": "ok"``: a report, and exactly the ``changes`` listed (``iam``, ``ec2``, ``sns``,
  ``incidents``, ``ledger``; the idempotency record of an automatic trigger is implied); ``acting``, when
  given, is how many of the report's actions are ``planned`` or ``done`` (0: it only notifies).

Mutations: ``"set": {path: value}`` then ``"delete": [path, ...]``. A path is dot-separated keys, a
number indexes a list (``detail.affectedEntities.0.entityValue``); the empty path is the whole event.
Values are JSON, plus a few markers for what JSON cannot write or should not spell out:
``{"$float": "nan"|"inf"|"-inf"}``, ``{"$bigint": N}`` (10**N), ``{"$repeat": "ab", "times": N}``.

Envelope ids: every case built from an EventBridge envelope gets its own ``id`` (derived from the
case id) unless the case mutates ``id`` itself, so no case is answered from another's idempotency record.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "hostile" / "corpus.json"
EVENTS = ROOT / "events"
HANDLERS = ("health", "guardduty", "cloudtrail", "runbook")
CLI_COMMANDS = ("cli-run", "cli-plan", "cli-replay")
TARGETS = HANDLERS + CLI_COMMANDS
CHANGE_KINDS = frozenset({"iam", "ec2", "sns", "incidents", "ledger"})
CASE_NAMESPACE = uuid.UUID("8d6a3f0e-5b1c-4c2e-9a7d-1f0e2d3c4b5a")
# What a refusal message names: ``field 'detail.severity'``, ``option '--regions'``, ``argument 'RUNBOOK'``.
NAMED = re.compile(r"\b(?:field|option|argument) '([^']*)'")
MISSING = object()


@dataclass(frozen=True)
class Case:
    id: str
    target: str
    expect: str  # "bad-input" | "ok"
    spec: dict[str, Any] = field(repr=False, compare=False)

    @property
    def field(self) -> str:
        """The field a refusal must name: given, or the last key (not list index) of the last mutated path."""
        if "field" in self.spec:
            return str(self.spec["field"])
        paths = [*self.spec.get("set", {}), *self.spec.get("delete", [])]
        keys = [part for part in (paths[-1].split(".") if paths else []) if not part.isdigit()]
        if not keys:
            raise ValueError(f"case {self.id}: bad-input without a mutated key needs an explicit 'field'")
        return keys[-1]

    @property
    def changes(self) -> frozenset[str]:
        return frozenset(self.spec.get("changes", []))

    @property
    def acting(self) -> int | None:
        """ok cases: how many actions the report may show as planned or done (0: notify only), if the case says."""
        value = self.spec.get("acting")
        return None if value is None else int(value)

    @property
    def scene(self) -> str:
        return str(self.spec.get("scene", "key-owner"))

    @property
    def env(self) -> dict[str, str]:
        return dict(self.spec.get("env", {}))

    @property
    def handler(self) -> str:
        """The handler that receives the event (the CLI's ``run``/``plan`` feed the runbook handler)."""
        if self.target in HANDLERS:
            return self.target
        if self.target in ("cli-run", "cli-plan"):
            return "runbook"
        base = str(self.spec.get("file") or self.spec.get("base") or "")
        return base.split("-", 1)[0]

    @property
    def argument(self) -> str | None:
        """CLI cases: the text typed as the RUNBOOK/EVENT argument, when it is not the event's JSON."""
        raw = self.spec.get("arg")
        return None if raw is None else str(raw)

    @property
    def file_name(self) -> str:
        """``cli-replay``: the saved event's file name (its prefix tells the CLI the handler)."""
        return str(self.spec.get("file") or self.spec.get("base") or "event.json")

    def event(self) -> Any:
        """The hostile event, built fresh (callers may mutate it)."""
        if "base" in self.spec:
            event = json.loads((EVENTS / self.spec["base"]).read_text())
        else:
            event = copy.deepcopy(decode(self.spec.get("event")))
        if isinstance(event, dict) and "detail-type" in event and "id" not in self.spec.get("set", {}):
            event["id"] = str(uuid.uuid5(CASE_NAMESPACE, self.id))
        for path, value in self.spec.get("set", {}).items():
            event = put(event, path, decode(value))
        for path in self.spec.get("delete", []):
            event = put(event, path, MISSING)
        return event


def decode(value: Any) -> Any:
    """Corpus markers -> the values they stand for (recursively)."""
    if isinstance(value, dict):
        if set(value) == {"$float"}:
            return float(value["$float"])
        if set(value) == {"$bigint"}:
            return 10 ** int(value["$bigint"])
        if set(value) == {"$repeat", "times"}:
            return str(value["$repeat"]) * int(value["times"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def put(event: Any, path: str, value: Any) -> Any:
    """Set (or, with ``MISSING``, delete) the value at ``path``; the empty path replaces the event."""
    if path == "":
        return value
    parts = path.split(".")
    node = event
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
    if value is MISSING:
        del node[last]
    else:
        node[last] = value
    return event


def named_fields(message: str) -> list[str]:
    """The fields a refusal message names (``field 'a.b[0].c'`` -> ``a.b[0].c``)."""
    return NAMED.findall(" ".join(message.split()))  # CLI output may wrap a long message


def components(path: str) -> list[str]:
    """``detail.affectedEntities[0].entityValue`` -> ``["detail", "affectedEntities", "entityValue"]``."""
    return [part for part in re.sub(r"\[\d+\]", "", path).split(".") if part]


def names_field(message: str, wanted: str) -> bool:
    """The rule: some field the message names has ``wanted`` as one of its components (list indices dropped),
    i.e. the message points at the mutated field itself, or at a field inside it."""
    return any(wanted in components(path) or wanted == path for path in named_fields(message))


@cache
def load_cases() -> tuple[Case, ...]:
    data = json.loads(CORPUS.read_text())
    return tuple(Case(c["id"], c["target"], c["expect"], c) for c in data["cases"])


def cases(*, expect: str | None = None, targets: tuple[str, ...] = TARGETS) -> list[Case]:
    return [c for c in load_cases() if c.target in targets and (expect is None or c.expect == expect)]


# --- checks shared by the corpus tests -----------------------------------------------------------
SNS_SUBJECT_MAX, SNS_MESSAGE_MAX = 100, 256 * 1024
MESSAGE_MAX = 5_000  # a refusal quotes bad values cut short, never a 200 KB input whole
AUTOMATIC = frozenset({"health", "guardduty", "cloudtrail"})  # their envelope id claims an idempotency record


def world_state(aws: Any) -> dict[str, Any]:
    """Everything the responder could change, by kind: IAM, EC2 (every emulated region), each DynamoDB table.
    IAM goes beyond ``aws.snapshot()``: users, roles and attached managed policies too."""
    snap = aws.snapshot()
    iam = aws.client("iam")
    users = sorted(u["UserName"] for u in iam.list_users()["Users"])
    roles = sorted(r["RoleName"] for r in iam.list_roles()["Roles"])
    state: dict[str, Any] = {
        "iam": {
            **{k: snap[k] for k in ("keys", "userPolicies", "rolePolicies", "loginProfiles")},
            "users": users,
            "roles": roles,
            "attached": {
                **{
                    f"user/{u}": sorted(
                        p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=u)["AttachedPolicies"]
                    )
                    for u in users
                },
                **{
                    f"role/{r}": sorted(
                        p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=r)["AttachedPolicies"]
                    )
                    for r in roles
                },
            },
        },
        "ec2": {region: snap[region] for region in aws.regions},
    }
    dynamodb = aws.client("dynamodb")
    for logical, table in aws.tables.items():
        items: list[str] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            items.extend(json.dumps(item, sort_keys=True) for item in page["Items"])
        state[logical] = sorted(items)
    return state


def changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {kind for kind in before if before[kind] != after[kind]}


def expected_changes(case: Case, event: Any) -> set[str]:
    """The case's ``changes``, plus the idempotency record an automatic trigger's envelope id claims."""
    implied = {"idempotency"} if case.handler in AUTOMATIC and isinstance(event, dict) and event.get("id") else set()
    return set(case.changes) | implied


def sns_safe(subject: str, message: str) -> list[str]:
    """What real SNS would reject (moto does not): contract "Truth of the report"."""
    problems = []
    if not subject or len(subject) > SNS_SUBJECT_MAX or not all(32 <= ord(c) < 127 for c in subject):
        problems.append(f"subject is not 1-{SNS_SUBJECT_MAX} printable ASCII characters: {subject!r}")
    if len(message.encode()) > SNS_MESSAGE_MAX:
        problems.append(f"message is {len(message.encode())} bytes, over SNS's {SNS_MESSAGE_MAX}")
    return problems


def invoke_checked(aws: Any, handler: str, event: Any) -> dict[str, Any]:
    """The real handler, with the least-privilege check of ``tests.conftest.invoke``."""
    import importlib

    from compromise_responder.tools.emulator import LambdaContext
    from tests.conftest import DECLARED, NEEDS_NO_PERMISSION, USED

    module = importlib.import_module(f"handlers.{handler}")
    aws.recorder.reset()
    try:
        return module.handler(event, LambdaContext())  # type: ignore[no-any-return]
    finally:
        used = aws.recorder.actions()
        USED[handler] |= used
        undeclared = used - DECLARED[handler] - NEEDS_NO_PERMISSION
        assert not undeclared, f"{handler} called AWS actions its IAM policy lacks: {sorted(undeclared)}"


def cli_args(case: Case, saved: Path | None = None) -> list[str]:
    """The command line typed for a CLI case (``--json`` where the command has it, to read the report).
    ``replay`` reads a saved event: written to ``saved`` (a directory) under the case's file name."""
    argument = case.argument if case.argument is not None else json.dumps(case.event())
    if case.target == "cli-run":
        return ["run", "--local", "--yes", "--json", argument]
    if case.target == "cli-plan":
        return ["plan", "--json", argument]
    if saved is not None and case.argument is None:
        path = saved / case.file_name
        path.write_text(argument)
        argument = str(path)
    return ["replay", argument, "--emulated"]


def run_cli(args: list[str]) -> Any:
    from typer.testing import CliRunner

    from compromise_responder.cli.main import app

    return CliRunner().invoke(app, args, env={"COLUMNS": "200", "NO_COLOR": "1"})
