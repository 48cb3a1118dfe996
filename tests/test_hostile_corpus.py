"""The hostile-input corpus (tests/hostile/corpus.json): every bad-input case through the real handler
(or the ``responder`` CLI) against one emulated account holding a live incident scene.

For each case the test asserts the contract's promise for bad input, "a clear error naming the field,
and nothing is changed":

- a handler raises ``BadInput`` (the project's ``ValueError``), and nothing else: any other exception
  is a crash; ``run --local`` and ``plan`` exit with code 2 and print the error on stderr;
- **the message names the field**: some ``field '<path>'`` (or ``option '<name>'``/``argument '<NAME>'``
  for what the CLI itself reads) in the message has the case's field as one of its components, list
  indices dropped. The case's field is given, or is the last key of the last mutated path. So a bad
  ``detail.resource.instanceDetails.instanceId`` must be refused as ``field
  'detail.resource.instanceDetails.instanceId'`` (or a field below it), never as just ``'detail'``;
- **nothing changed**: IAM (users, roles, keys, inline and attached policies, login profiles), EC2 in
  every emulated region (instances, spot requests, security groups, snapshots, Auto Scaling groups),
  every DynamoDB table (incidents, launch ledger, idempotency), and no SNS notification;
- the message stays short (at most ``MESSAGE_MAX`` characters) whatever the size of the bad value.

The accepted (``ok``) cases are in test_hostile_corpus_accepted.py; ``replay --emulated`` cases, which
make their own emulated account, in test_hostile_corpus_replay.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from responder.parse.events import BadInput

from compromise_responder.tools.emulator import EmulatedAws
from compromise_responder.tools.emulator.scenarios import ALLOWED, spot_swarm
from tests.hostile_corpus import (
    CHANGE_KINDS,
    CLI_COMMANDS,
    EVENTS,
    HANDLERS,
    MESSAGE_MAX,
    TARGETS,
    Case,
    changed,
    cli_args,
    invoke_checked,
    load_cases,
    named_fields,
    names_field,
    run_cli,
    world_state,
)

REFUSED = [c for c in load_cases() if c.expect == "bad-input" and c.target != "cli-replay"]
REGIONS = ("us-east-1", "eu-west-1", "sa-east-1", "ap-south-1")


def test_the_corpus_is_large_spread_and_well_formed():
    cases = load_cases()
    assert len(cases) >= 120
    assert len({c.id for c in cases}) == len(cases), "case ids must be unique"
    by_target = Counter(c.target for c in cases)
    assert set(by_target) == set(TARGETS)
    assert all(by_target[h] >= 20 for h in HANDLERS), by_target
    assert all(by_target[c] >= 5 for c in CLI_COMMANDS), by_target
    for case in cases:
        assert case.expect in ("bad-input", "ok"), case.id
        assert case.id.startswith(f"{case.target}/"), case.id
        assert case.spec.get("base") is None or (EVENTS / case.spec["base"]).is_file(), case.id
        assert set(case.changes) <= CHANGE_KINDS, case.id
        if case.expect == "bad-input":
            assert case.field, case.id
            assert "changes" not in case.spec, f"{case.id}: bad input changes nothing"
        else:
            assert "changes" in case.spec, f"{case.id}: an ok case says what it may change"
        case.event()  # every mutation applies to its base


@pytest.fixture(scope="module")
def world() -> Iterator[EmulatedAws]:
    """One account for every refusal (a refusal changes nothing, and each case proves it): the spot swarm's
    attacker and team capacity, the leaked key's owner, two roles, ALLOWED_REGIONS set."""
    with EmulatedAws(regions=REGIONS, env={"ALLOWED_REGIONS": ALLOWED}) as aws:
        spot_swarm(aws, regions=("sa-east-1", "ap-south-1"), requests_per_region=1)
        for role in ("web-app-role", "deploy-role"):
            aws.client("iam").create_role(RoleName=role, AssumeRolePolicyDocument="{}")
        aws.notifications()
        aws.last_state = world_state(aws)  # type: ignore[attr-defined] - each case's "after" is the next one's "before"
        yield aws


def refusal(world: EmulatedAws, case: Case) -> str:
    """Run the case; the refusal's message (a handler's ``BadInput``, the CLI's stderr), or fail."""
    if case.target in HANDLERS:
        try:
            invoke_checked(world, case.handler, case.event())
        except BadInput as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - the corpus counts these as crashes
            pytest.fail(f"crash: {type(exc).__name__}: {exc}"[:500])
        pytest.fail("accepted: expected a refusal naming " + repr(case.field))
    result = run_cli(cli_args(case))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"crash: {type(result.exception).__name__}: {result.exception}"
    )
    assert result.exit_code == 2, f"exit {result.exit_code}, expected 2 (bad input): {result.output[-500:]}"
    assert "bad input" in result.stderr
    return str(result.stderr)


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(world, case):
    before, notified = world.last_state, len(world.notifications())
    try:
        message = refusal(world, case)
    finally:  # also after a failure: the next case compares with what the account is now
        world.last_state = world_state(world)

    assert names_field(message, case.field), (
        f"refusal does not name {case.field!r} (names {named_fields(message)}): {message[:300]}"
    )
    assert len(message) <= MESSAGE_MAX, f"the refusal is {len(message)} characters long"
    assert changed(before, world.last_state) == set(), "bad input changed the account"
    assert world.notifications()[notified:] == [], "bad input notified the team"
