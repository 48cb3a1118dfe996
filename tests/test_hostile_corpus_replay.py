"""The hostile-input corpus through ``responder replay EVENT --emulated``: the saved event goes to its
handler in the empty emulated account the command makes itself (plus the sample key's owner).

The command's own account is observed from inside: it is made by a recording subclass of the emulator,
and the account's state is taken just before and just after the handler runs. Bad input: exit code 2,
the field named on stderr (the rule of test_hostile_corpus.py), and nothing changed - or no account made
at all when the command refused before making one. Accepted input: exit code 0 and exactly the case's
``changes``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from compromise_responder.cli import main
from compromise_responder.tools.emulator import EmulatedAws
from tests.hostile_corpus import (
    changed,
    cli_args,
    expected_changes,
    load_cases,
    named_fields,
    names_field,
    run_cli,
    sns_safe,
    world_state,
)

REPLAYED = [c for c in load_cases() if c.target == "cli-replay"]


class RecordedAws(EmulatedAws):
    """The emulated account ``replay --emulated`` makes, kept for the test to read."""

    made: ClassVar[list[RecordedAws]] = []

    def __enter__(self) -> RecordedAws:
        super().__enter__()
        self.before: dict[str, Any] | None = None
        self.after: dict[str, Any] | None = None
        RecordedAws.made.append(self)
        return self


@pytest.fixture
def recorded(monkeypatch) -> list[RecordedAws]:
    """Replay's emulator is ``RecordedAws``, and its handler is wrapped to record the state around it."""
    _, context, key = main.emulator()
    real_handler_function = main.handler_function

    def handler_function(name: str) -> Any:
        handler = real_handler_function(name)

        def observed(event: Any, ctx: Any) -> Any:
            aws = RecordedAws.made[-1]
            aws.before = world_state(aws)
            try:
                return handler(event, ctx)
            finally:
                aws.notifications()  # drained into aws.seen; replay shows them from there
                aws.after = world_state(aws)

        return observed

    RecordedAws.made = []
    monkeypatch.setattr(main, "emulator", lambda: (RecordedAws, context, key))
    monkeypatch.setattr(main, "handler_function", handler_function)
    return RecordedAws.made


@pytest.mark.parametrize("case", REPLAYED, ids=lambda c: c.id)
def test_replayed_hostile_events(recorded, tmp_path, case):
    result = run_cli(cli_args(case, tmp_path))

    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if case.expect == "bad-input":
        assert result.exit_code == 2, result.output[-1000:]
        assert names_field(result.stderr, case.field), f"names {named_fields(result.stderr)}: {result.stderr[:300]}"
        for aws in recorded:  # none when the command refused before making its account
            assert aws.before is not None and aws.after is not None
            assert changed(aws.before, aws.after) == set(), "bad input changed the account"
            assert aws.seen == [], "bad input notified the team"
        assert "team topic: no notification published" in result.stdout or not recorded
    else:
        assert result.exit_code == 0, result.output[-1000:]
        [aws] = recorded
        assert aws.before is not None and aws.after is not None
        made = changed(aws.before, aws.after) | ({"sns"} if aws.seen else set())
        assert made == expected_changes(case, case.event())
        for note in aws.seen:
            assert sns_safe(note.subject, note.body) == []
            assert f"SNS: {note.subject}" in result.stdout
