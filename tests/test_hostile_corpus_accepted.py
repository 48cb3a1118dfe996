"""The hostile-input corpus, accepted cases: legitimately odd events (extra envelope fields, unknown finding
types, a Health key only in the description, control characters in free text ...) and ordinary ones the
contract answers with a notification only (another account, a protected principal, a sample finding).

Each runs in a fresh emulated account set up by its ``scene``, through the real handler (or ``responder
run --local``/``plan``), and must return a report whose claims AWS confirms (tests/report_truth.py), with
exactly the ``changes`` the case lists - IAM, EC2, SNS, the incidents table, the launch ledger (plus the
idempotency record an automatic trigger's envelope id claims) - and every notification deliverable by real
SNS (subject 1-100 printable ASCII characters, message within 256 KB).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from compromise_responder.tools.emulator import EmulatedAws
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY
from tests.hostile_corpus import (
    HANDLERS,
    changed,
    cli_args,
    expected_changes,
    invoke_checked,
    load_cases,
    run_cli,
    sns_safe,
    world_state,
)
from tests.report_truth import assert_truthful

ACCEPTED = [c for c in load_cases() if c.expect == "ok" and c.target != "cli-replay"]
REGIONS = ("us-east-1", "eu-west-1")  # the sweep's cost is per region; what is tested here is the input
REPORT_KEYS = {"incidentId", "trigger", "mode", "headline", "actions", "regions", "account"}


@pytest.fixture
def small_aws() -> Iterator[EmulatedAws]:
    with EmulatedAws(regions=REGIONS) as aws:
        yield aws


def set_scene(aws: EmulatedAws, scene: str) -> None:
    """``empty``: nothing; ``key-owner``: ci-deployer holding the sample key; ``role``: and the samples' roles."""
    if scene in ("key-owner", "role"):
        aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    if scene == "role":
        for role in ("web-app-role", "deploy-role"):
            aws.client("iam").create_role(RoleName=role, AssumeRolePolicyDocument="{}")
    assert scene in ("empty", "key-owner", "role"), f"unknown scene {scene!r}"


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.id)
def test_odd_but_valid_input_gets_a_true_report_and_only_the_allowed_changes(small_aws, case):
    aws = small_aws
    set_scene(aws, case.scene)
    aws.set_env(**case.env)
    event = case.event()
    before = world_state(aws)

    if case.target in HANDLERS:
        report = invoke_checked(aws, case.handler, event)
    else:
        result = run_cli(cli_args(case))
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code == 0, result.output[-1000:]
        report = json.loads(result.stdout)

    assert set(report) >= REPORT_KEYS, f"not a report: {sorted(report)}"
    assert report["trigger"] == case.handler
    if case.acting is not None:
        acting = [a for a in report["actions"] if a["status"] in ("planned", "done")]
        assert len(acting) == case.acting, f"expected {case.acting} planned/done actions: {acting}"
    notes = aws.notifications()
    assert changed(before, world_state(aws)) | ({"sns"} if notes else set()) == expected_changes(case, event)
    for note in notes:
        assert sns_safe(note.subject, note.body) == []
        assert note.report["incidentId"] == report["incidentId"]
    assert_truthful(aws, report, notes)
