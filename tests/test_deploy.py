"""The README's Deploy section, rehearsed: every ``npx cdk`` line runs literally with the pinned CDK CLI
against moto in server mode (tools/deploy_local.py, also ``make deploy-local``), checking AWS after
each. What moto skips or drops stays asserted on the synthesized template (tests/test_stack.py)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from compromise_responder.infra.config import load
from compromise_responder.tools.deploy_local import (
    EXAMPLE_KEY_ID,
    README,
    Command,
    RehearsalFailed,
    Result,
    adapt_event,
    readme_commands,
    rehearse,
    resolve,
)
from compromise_responder.tools.moto_server import MotoServer

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = json.loads((ROOT / "cdk.json").read_text())["context"]
CONFIG = load(SHIPPED)
FORWARDER_REGIONS = sorted(set(CONFIG.forwarder_regions) - {CONFIG.home_region})
COMMANDS = readme_commands(README.read_text())


# --- the README as the script (no AWS) ----------------------------------------------------------------


def test_the_readme_deploys_all_stacks_after_bootstrapping_the_home_region_only():
    assert [c.verb for c in COMMANDS] == ["bootstrap", "deploy", "diff", "deploy", "destroy", "destroy"]
    bootstrap, deploy, _, update, *_ = COMMANDS
    assert bootstrap.words[3:] == [f"aws://*/{CONFIG.home_region}"]
    assert all("--all" in c.words for c in (deploy, update))
    assert deploy.context == {}  # settings come from cdk.json, nothing to repeat on every command


def test_the_update_passes_a_json_list_and_a_comma_list_as_the_cli_does():
    update = COMMANDS[3]
    assert update.context == {
        "notifyEmails": '["security-oncall@example.com"]',
        "allowedRegions": "us-east-1,eu-west-1",
    }
    config = load({**SHIPPED, **update.context})
    assert config.notify_emails == ("security-oncall@example.com",)
    assert config.allowed_regions == ("us-east-1", "eu-west-1")


def test_command_words_are_what_bash_sees():
    command = Command('npx cdk deploy --all \\\n  -c a=\'["x", "y"]\' --context=b=1,2  # comment')
    assert command.words == ["npx", "cdk", "deploy", "--all", "-c", 'a=["x", "y"]', "--context=b=1,2"]
    assert command.context == {"a": '["x", "y"]', "b": "1,2"}
    assert command.shown == 'npx cdk deploy --all -c \'a=["x", "y"]\' --context=b=1,2'


def test_the_event_is_adapted_to_the_generated_key_everywhere():
    text = (ROOT / "events" / "health-credentials-exposed.json").read_text()
    event = adapt_event(text, "AKIA4EXAMPLEGENERATE")
    assert EXAMPLE_KEY_ID not in json.dumps(event)
    assert event["detail"]["affectedEntities"] == [{"entityValue": "AKIA4EXAMPLEGENERATE"}]
    assert "AKIA4EXAMPLEGENERATE" in event["detail"]["eventDescription"][0]["latestDescription"]
    with pytest.raises(RehearsalFailed):
        adapt_event("{}", "AKIA4EXAMPLEGENERATE")


def test_template_references_resolve_to_deployed_resources():
    refs = {
        "Topic": "arn:aws:sns:us-east-1:123456789012:team",
        "AWS::AccountId": "123456789012",
        "AWS::Partition": "aws",
    }
    attributes = {("Fn", "Arn"): "arn:aws:lambda:us-east-1:123456789012:function:health"}
    value = {
        "NOTIFY": {"Ref": "Topic"},
        "Targets": [{"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}],
        "Bus": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":events:us-east-1:", {"Ref": "AWS::AccountId"}]]},
    }
    assert resolve(value, refs, attributes) == {
        "NOTIFY": "arn:aws:sns:us-east-1:123456789012:team",
        "Targets": [{"Arn": "arn:aws:lambda:us-east-1:123456789012:function:health"}],
        "Bus": "arn:aws:events:us-east-1:123456789012",
    }


def test_the_moto_server_gets_its_own_port_and_is_stopped_by_pid_even_on_failure(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        pytest.raises(RuntimeError, match="what ran against it failed"),
        MotoServer(tmp_path / "a") as first,
        MotoServer(tmp_path / "b") as second,
    ):
        processes = [first.process, second.process]
        assert first.port != second.port and first.endpoint.startswith("http://127.0.0.1:")
        sts = [
            boto3.client(
                "sts", region_name="us-east-1", endpoint_url=server.endpoint,
                aws_access_key_id="testing", aws_secret_access_key="testing",
            )
            for server in (first, second)
        ]  # fmt: skip
        assert [c.get_caller_identity()["Account"] for c in sts] == ["123456789012"] * 2
        raise RuntimeError("what ran against it failed")
    assert all(p is not None and p.poll() is not None for p in processes)


# --- the rehearsal: bootstrap, deploy, incident, diff, update, destroy against moto server mode ----------


@pytest.fixture(scope="session")  # once per worker: xdist may interleave this file with others
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Result:
    """One rehearsal (about a minute) for every assertion below; logs stay in the pytest temp dir."""
    return rehearse(tmp_path_factory.mktemp("deploy-rehearsal"), say=lambda _: None)


def test_every_stack_deploys_and_only_the_home_region_is_bootstrapped(rehearsal):
    assert rehearsal.toolkit_regions == [CONFIG.home_region]
    assert len(rehearsal.stacks) == 17
    assert rehearsal.stacks == sorted(
        ["CompromiseResponder", *(f"CompromiseResponderForwarder-{r}" for r in FORWARDER_REGIONS)]
    )
    assert rehearsal.forwarder_rules == {region: 3 for region in FORWARDER_REGIONS}  # launch, GuardDuty, guard


def test_the_incident_is_contained_through_the_deployed_configuration(rehearsal):
    replay = rehearsal.replay
    assert replay["keyStatus"] == "Inactive"
    assert replay["userPolicies"] == ["compromise-responder-quarantine"]
    [subject] = replay["subjects"]
    assert replay["keyId"] in subject and "ci-deployer" in subject
    [message] = replay["messages"]
    assert replay["keyId"] in message and "--- machine-readable report (JSON) ---" in message
    report = replay["report"]
    assert report["failures"] == [] and set(report["regions"].values()) == {"clean"}
    assert [(a["action"], a["status"]) for a in report["actions"][:2]] == [
        ("deactivate-access-key", "done"),
        ("quarantine-user", "done"),
    ]
    assert replay["incidentMentionsKey"]
    assert (
        ":compromise-responder-team" in replay["topic"]
    )  # the deployed topic (its fixed name), from the function's own environment


def test_diff_after_deploy_shows_no_changes_with_or_without_the_account(rehearsal):
    assert len(rehearsal.diff_outputs) == 2
    assert all("Number of stacks with differences: 0" in out for out in rehearsal.diff_outputs)


def test_the_update_reaches_the_functions(rehearsal):
    assert rehearsal.updated_environment["ALLOWED_REGIONS"] == "us-east-1,eu-west-1"
    assert rehearsal.stored_subscriptions == ["security-oncall@example.com"]


def test_a_forwarder_region_is_removed_alone(rehearsal):
    assert rehearsal.destroyed_alone == ["CompromiseResponderForwarder-ap-northeast-3"]


def test_destroy_removes_every_stack_and_keeps_the_evidence(rehearsal):
    assert rehearsal.remaining_stacks == []
    assert rehearsal.retained and all(rehearsal.retained.values())
    kept = {name.split("/", 1)[1][:-8] for name in rehearsal.retained}  # logical id: name + 8-digit hash
    assert kept == {
        "TablesIncidents",
        "TablesLedger",
        "NotificationsKey",
        "HealthLogs",
        "GuarddutyLogs",
        "CloudtrailLogs",
        "RunbookLogs",
        "HeartbeatLogs",
        "ManagementTrailLogs",
        "ManagementTrailAccessLogs",
        "ManagementTrailKey",  # the trail's log files are encrypted with it
    }
    assert [n for n in rehearsal.deleted_with_stack if "Idempotency" in n] and all(
        rehearsal.deleted_with_stack.values()
    )


def test_every_step_is_timed(rehearsal):
    names = [s.name for s in rehearsal.steps]
    assert names[:3] == ["moto server", "stand-in layer", "bootstrap"] and names[-1] == "stop server"
    assert {"deploy", "incident", "diff", "update", "destroy"} <= set(names)
    assert all(s.seconds >= 0 for s in rehearsal.steps)


def test_the_shipped_settings_create_no_chat_channel_and_grant_no_security_hub(rehearsal):
    """chatChannels empty and securityHubFindings false (cdk.json): nothing of either is in the deployed template."""
    template = json.loads((rehearsal.workdir / "project" / "cdk.out" / "CompromiseResponder.template.json").read_text())
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert not [k for k in kinds if k.startswith("AWS::Chatbot::")]
    assert "securityhub:" not in json.dumps(template)
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert {f["Properties"]["Environment"]["Variables"]["SECURITY_HUB_FINDINGS"] for f in functions} == {"false"}


def test_every_deploy_is_checked_against_the_roles_the_bootstrap_made_and_iams_quotas(rehearsal):
    """moto assumes any role: the rehearsal checks the assembly itself, before and after each deploy."""
    assert any(
        "cdk-hnb659fds-cfn-exec-role" in r and r.endswith(f"-{CONFIG.home_region}") for r in rehearsal.bootstrap_roles
    )
    assert not [r for r in rehearsal.bootstrap_roles if "CompromiseResponder" in r]  # only the bootstrap's roles
    assert rehearsal.assembly_checks == [
        "before deploy: 17 stacks",
        "after deploy: 17 stacks",
        "before deploy: 17 stacks",
        "after deploy: 17 stacks",
    ]
