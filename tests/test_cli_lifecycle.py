"""The incident's life from the command line: ``responder close``, ``release``, ``incidents``, ``show``, against the
emulated account (in-process with --local, or through the deployed function's Invoke)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from responder.actions.iam import QUARANTINE_POLICY_NAME

from compromise_responder.cli import main
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, health_event
from tests.test_cli import RUNBOOK, cli, has_row, stubbed_lambda

CLI_CALLER = "arn:aws:sts::123456789012:user/moto via the responder CLI"  # moto's caller identity


def contained(aws, invoke) -> dict:
    aws.set_env(SWEEP_REGIONS="us-east-1", ALLOWED_REGIONS="us-east-1")
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    report = invoke("health", health_event(datetime.now(UTC)))
    aws.set_env(INCIDENTS_TABLE=aws.tables["incidents"])
    return report


def test_close_then_list_and_show_the_incident(aws, invoke):
    incident = contained(aws, invoke)

    listed_open = cli("incidents", "--status", "open")
    closed = cli("close", "--key", LEAKED_KEY, "--reason", "key rotated", "--local", "--yes", "--json")
    listed = cli("incidents")
    shown = cli("show", incident["incidentId"])
    as_json = cli("show", incident["incidentId"], "--json")

    assert listed_open.exit_code == 0 and has_row(listed_open.output, incident["incidentId"], "open", "ci-deployer")
    assert closed.exit_code == 0, closed.output
    report = json.loads(closed.stdout)
    assert report["actions"][0]["status"] == "done" and report["lifecycle"]["by"].startswith(CLI_CALLER)
    assert listed.exit_code == 0 and "1 incidents in the table: 1 closed" in listed.output
    assert has_row(listed.output, incident["incidentId"], "closed", "health", "ci-deployer")
    assert shown.exit_code == 0, shown.output
    assert f"closed {report['lifecycle']['at']} by {CLI_CALLER}" in shown.output
    assert "Attempts (1)" in shown.output and "Closes and releases" in shown.output
    assert has_row(shown.output, "close-incident", "key rotated", f"close-incident {incident['incidentId']}: done")
    record = json.loads(as_json.stdout)
    assert record["report"]["incidentId"] == incident["incidentId"] and record["incident"]["status"] == "closed"
    assert [a["attempt"] for a in record["attempts"]] == [1]
    assert [e["runbook"] for e in record["lifecycle"]] == ["close-incident"]


def test_release_is_refused_naming_force_then_forced(aws, invoke):
    contained(aws, invoke)

    refused = cli("release", "--user", "ci-deployer", "--reason", "owner confirmed", "--local", "--yes")
    assert refused.exit_code == 2 and "'force'" in refused.output and "open incident" in refused.output
    assert QUARANTINE_POLICY_NAME in aws.user_policies("ci-deployer")

    forced = cli("release", "--user", "ci-deployer", "--reason", "needed now", "--force", "--local", "--yes")
    assert forced.exit_code == 0, forced.output
    assert QUARANTINE_POLICY_NAME not in aws.user_policies("ci-deployer")
    assert has_row(forced.output, "release-user", "ci-deployer", "done")


def test_close_asks_first_and_says_what_closing_means(aws, invoke):
    incident = contained(aws, invoke)

    answered_no = cli("close", "--incident", incident["incidentId"], "--reason", "r", "--local", input="n\n")

    assert answered_no.exit_code == 1
    assert "no longer contained at once" in answered_no.output
    assert json.loads(cli("show", incident["incidentId"], "--json").stdout)["incident"]["status"] == "open"


def test_a_dry_run_close_changes_nothing(aws, invoke):
    incident = contained(aws, invoke)

    plan = cli("close", "--key", LEAKED_KEY, "--reason", "r", "--dry-run", "--local", "--json")

    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["actions"][0]["status"] == "planned"
    assert json.loads(cli("show", incident["incidentId"], "--json").stdout)["incident"]["status"] == "open"


def test_bad_lifecycle_input_exits_2_naming_it(aws):
    aws.set_env(INCIDENTS_TABLE=aws.tables["incidents"])
    for args, named in (
        (("close", "--reason", "r", "--local", "--yes"), "'accessKeyId'"),
        (("close", "--key", "AKIA-nope", "--reason", "r", "--local", "--yes"), "'accessKeyId'"),
        (("close", "--key", LEAKED_KEY, "--local", "--yes"), "--reason"),
        (("release", "--user", "a", "--role", "b", "--reason", "r", "--local", "--yes"), "'roleName'"),
        (("show", "incident-1"), "'INCIDENT'"),
        (("show", "inc-20261120-0123456789"), "no incident inc-20261120-0123456789"),
        (("incidents", "--status", "half-open"), "'--status'"),
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert named in result.output, (args, result.output)
    aws.set_env(INCIDENTS_TABLE="")
    assert "'--table'" in cli("incidents").output


def test_the_deployed_function_is_told_who_runs_the_cli(aws, monkeypatch):
    stubber = stubbed_lambda(monkeypatch, {"payload": {"failures": []}}, RUNBOOK)
    sent = {}
    original = stubber.client.invoke

    def spy(**kwargs):
        sent.update(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(stubber.client, "invoke", spy)
    monkeypatch.setattr(main, "lambda_client", lambda region: stubber.client)

    result = cli("close", "--key", LEAKED_KEY, "--reason", "rotated", "--function-name", "responder-runbook", "--yes")

    assert result.exit_code == 0, result.output
    assert json.loads(base64.b64decode(sent["ClientContext"])) == {"custom": {"caller": CLI_CALLER}}
    assert json.loads(sent["Payload"]) == {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "rotated"}
