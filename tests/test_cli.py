"""The `responder` CLI driving the real engine and handlers against the emulated account."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from typer.testing import CliRunner

from compromise_responder.cli import main
from compromise_responder.cli.main import app
from compromise_responder.tools.emulator.scenarios import ALLOWED, LEAKED_KEY, spot_swarm

EVENTS = Path(__file__).resolve().parent.parent / "events"
WIDE = {"COLUMNS": "200", "NO_COLOR": "1"}  # no folding of ids in tables, no escape codes


def cli(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=WIDE, input=input)


def has_row(output: str, *cells: str) -> bool:
    """A table row (one line, at this width) holding every cell."""
    return any(all(cell in line for cell in cells) for line in output.splitlines())


def test_events_lists_every_sample_with_its_handler():
    result = cli("events")

    assert result.exit_code == 0, result.output
    for path in EVENTS.glob("*.json"):
        assert path.name in result.output
    assert "AWS_RISK_CREDENTIALS_EXPOSED" in result.output
    assert 'sweep-regions: sinceHours=24, dryRun=true - "GPU bill spike' in result.output


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_the_event_itself_names_the_same_handler_as_its_file_name(path):
    event = json.loads(path.read_text())

    assert main.handler_for("saved.json", event) == main.handler_for(path.name, event) == path.name.split("-")[0]


def test_plan_shows_the_cancels_and_terminations_and_changes_nothing(aws):
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1",), requests_per_region=2)
    before = aws.snapshot()

    runbook = json.dumps({"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY})
    result = cli("plan", runbook, "--regions", "us-east-1,eu-west-1,sa-east-1")  # where the scene is: faster

    assert result.exit_code == 0, result.output
    assert aws.snapshot() == before
    assert aws.notifications() == []
    out = result.output
    assert "PLAN (dry run, nothing changed)" in out
    assert "sa-east-1       contained" in out  # the progress line of the region, as it finished
    for request in scene.attacker_requests["sa-east-1"]:
        assert has_row(out, "cancel-spot-request", request, "sa-east-1", "planned")
    for instance in scene.attacker_instances["sa-east-1"]:
        assert has_row(out, "terminate-instance", instance, "sa-east-1", "planned")
    assert has_row(out, "deactivate-access-key", LEAKED_KEY, "planned")
    assert has_row(out, "terminate-instance", "us-east-1", "carries the protect tag")  # left alone, and why


def test_plan_json_is_the_report_on_stdout_and_options_override_the_environment(aws):
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    spot_swarm(aws, regions=("sa-east-1",), requests_per_region=1)

    result = cli(
        "plan", str(EVENTS / "runbook-sweep-regions-window-only.json"), "--json", "--regions", "us-east-1,sa-east-1"
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # progress went to stderr
    assert report["mode"] == "dry-run" and report["failures"] == []
    assert report["regions"] == {"sa-east-1": "contained", "us-east-1": "clean"}
    assert {a["status"] for a in report["actions"]} == {"planned", "skipped"}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("plan", '{"runbook": "contain-access-key", "accessKeyId": "not-a-key"}'), "accessKeyId"),
        (("plan", '{"runbook": "sweep-everything"}'), "'runbook'"),
        (("plan", '{"runbook": "sweep-regions",'), "not valid JSON"),
        (("plan", "no-such-runbook.json"), "no-such-runbook.json"),
        (("plan", '{"runbook": "sweep-regions"}', "--regions", "mars-north-1"), "--regions"),
        (("run", '{"runbook": "sweep-regions"}'), "--function-name"),
        (("replay", "{}"), "--handler"),
    ],
)
def test_bad_input_exits_2_and_names_the_field(aws, args, named):
    result = cli(*args)

    assert result.exit_code == 2, result.output
    assert named in result.output
    assert aws.notifications() == []


def test_run_local_contains_the_swarm(aws):
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1",), requests_per_region=2)

    result = cli("run", "--local", "--yes", "--json", '{"runbook": "sweep-regions", "sinceHours": 6}')

    assert result.exit_code == 0, result.output
    states = aws.instance_states("sa-east-1")
    assert {states[i] for i in scene.attacker_instances["sa-east-1"]} == {"terminated"}
    report = json.loads(result.stdout)  # no handler logs or EMF metrics on stdout
    assert report["mode"] == "enforce" and report["regions"]["sa-east-1"] == "contained"
    assert [n.report["incidentId"] for n in aws.notifications()] == [report["incidentId"]]  # notified, as deployed


def test_run_local_asks_first_and_a_no_changes_nothing(aws):
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    spot_swarm(aws, regions=("sa-east-1",), requests_per_region=1)
    before = aws.snapshot()

    result = cli("run", "--local", '{"runbook": "sweep-regions", "sinceHours": 6}', input="n\n")

    assert result.exit_code == 1
    assert "Run runbook=sweep-regions" in result.output
    assert aws.snapshot() == before


def test_run_local_with_a_failed_region_exits_1(aws):
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    scene = spot_swarm(aws, regions=("sa-east-1",), requests_per_region=1)
    aws.faults.fail(region="sa-east-1", services=["ec2"])

    result = cli("run", "--local", "--yes", '{"runbook": "sweep-regions", "sinceHours": 6}')

    aws.faults.clear()
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output and "region sa-east-1" in result.output
    states = aws.instance_states("sa-east-1")
    assert {states[i] for i in scene.attacker_instances["sa-east-1"]} == {"running"}
    assert len(aws.notifications()) == 1  # the team still heard about it


def stubbed_lambda(monkeypatch, response: dict[str, Any], event: dict[str, Any]) -> Stubber:
    client = boto3.client("lambda", region_name="us-east-1")
    stubber = Stubber(client)
    payload = json.dumps(response.pop("payload")).encode()
    response["Payload"] = StreamingBody(io.BytesIO(payload), len(payload))
    expected = {
        "FunctionName": "responder-runbook",
        "InvocationType": "RequestResponse",
        "Payload": ANY,
        "ClientContext": ANY,  # the caller's ARN, for the incident's record
    }
    stubber.add_response("invoke", {"StatusCode": 200, **response}, expected)
    stubber.activate()
    monkeypatch.setattr(main, "lambda_client", lambda region: client)
    return stubber


RUNBOOK = {"runbook": "sweep-regions", "sinceHours": 6, "dryRun": True}
REPORT = {
    "incidentId": "inc-20261120-abcdef0123",
    "trigger": "runbook",
    "mode": "dry-run",
    "severity": "high",
    "headline": "Region sweep: 1 instances to stop in 1 region",
    "principal": None,
    "actions": [
        {
            "action": "terminate-instance",
            "target": "i-0123456789abcdef0",
            "region": "sa-east-1",
            "status": "planned",
            "reason": "g2.8xlarge outside ALLOWED_REGIONS",
        }
    ],
    "regions": {"sa-east-1": "contained"},
    "estimatedHourlyCostStopped": 2.6,
    "failures": [],
    "needsHuman": ["Check the bill."],
}


def test_run_invokes_the_deployed_function_and_renders_its_report(aws, monkeypatch):
    stubber = stubbed_lambda(monkeypatch, {"payload": REPORT}, RUNBOOK)
    monkeypatch.setenv("RESPONDER_RUNBOOK_FUNCTION", "responder-runbook")

    result = cli("run", json.dumps(RUNBOOK))

    assert result.exit_code == 0, result.output
    stubber.assert_no_pending_responses()
    assert "i-0123456789abcdef0" in result.output and "Check the bill." in result.output


def test_run_deployed_function_error_exits_1(aws, monkeypatch):
    error = {
        "errorType": "IncompleteResponse",
        "errorMessage": "incident inc-1: region sa-east-1: UnauthorizedOperation: denied",
        "stackTrace": [],
    }
    stubbed_lambda(monkeypatch, {"payload": error, "FunctionError": "Unhandled"}, RUNBOOK)

    result = cli("run", "--function-name", "responder-runbook", json.dumps(RUNBOOK))

    assert result.exit_code == 1, result.output
    assert "IncompleteResponse" in result.output and "region sa-east-1: UnauthorizedOperation" in result.output


def test_replay_emulated_health_notice_notifies_the_team():
    result = cli("replay", str(EVENTS / "health-credentials-exposed.json"), "--emulated")

    assert result.exit_code == 0, result.output
    assert "ENFORCED" in result.output and has_row(result.output, "deactivate-access-key", LEAKED_KEY, "done")
    assert f"SNS: [HIGH] Exposed key {LEAKED_KEY} (ci-deployer) contained" in result.output
    assert "WHAT WAS DONE" in result.output  # the notification's summary
