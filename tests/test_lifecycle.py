"""An incident's life after containment (contract "Runbook events"): close-incident ends instant containment of
the credential's later launches and changes nothing else; release-principal removes the responder's own
quarantine policy and nothing else, and refuses a principal under an open incident unless forced."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from responder.actions.iam import QUARANTINE_POLICY_NAME, REVOKE_SESSIONS_POLICY_NAME
from responder.parse.events import BadInput

from compromise_responder.tools.emulator import ClientContext, LambdaContext
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, health_event
from tests.report_truth import assert_truthful, incident_items

ALLOWED = {"ALLOWED_REGIONS": "us-east-1,eu-west-1"}
CALLER = "arn:aws:sts::123456789012:assumed-role/SecurityOnCall/jane"
RUNBOOK_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:compromise-responder-runbook"


def oncall(request_id: str = "5f0e3c1a-4b7d-4c3e-9a1f-0123456789ab") -> LambdaContext:
    """The runbook function's context when the responder CLI invokes it (it states its caller's ARN)."""
    return LambdaContext(
        function_name="compromise-responder-runbook",
        invoked_function_arn=RUNBOOK_FUNCTION,
        aws_request_id=request_id,
        client_context=ClientContext(custom={"caller": CALLER}),
    )


def pointer_statuses(aws, pk: str) -> dict[str, str]:
    items = aws.client("dynamodb").query(
        TableName=aws.tables["incidents"],
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": pk}},
    )["Items"]
    return {i["incidentId"]["S"]: i["status"]["S"] for i in items}


def new_notes(aws, seen: int) -> list:
    """What the team topic received after the first ``seen`` messages."""
    return aws.notifications()[seen:]


def contained_key(aws, invoke) -> tuple[object, dict]:
    """ci-deployer's key exposed and contained: an open incident for the key and the user."""
    aws.set_env(**ALLOWED, SWEEP_REGIONS="us-east-1,eu-west-1")  # nothing rogue anywhere: two regions suffice
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    report = invoke("health", health_event(datetime.now(UTC)))
    assert report["actions"][0]["status"] == "done" and aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    return attacker, report


# --- close-incident ----------------------------------------------------------------------------------------
def test_after_close_a_later_launch_by_the_key_is_recorded_and_not_contained(aws, invoke):
    attacker, incident = contained_key(aws, invoke)
    seen = len(aws.notifications())  # the containment's own notification

    closed = invoke(
        "runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "key rotated"}, oncall()
    )
    later = attacker.run_instances("us-east-1", "t3.micro", tags={"compromise-responder:protect": "true"})
    watched = invoke("cloudtrail", later.event)

    assert aws.instance_states("us-east-1")[later.instance_ids[0]] == "running"
    assert watched["actions"] == [] and watched["headline"].startswith("recorded RunInstances")
    ledger = aws.client("dynamodb").get_item(
        TableName=aws.tables["ledger"], Key={"pk": {"S": f"resource#{later.instance_ids[0]}"}, "sk": {"S": "launch"}}
    )
    assert ledger["Item"]["accessKeyId"]["S"] == LEAKED_KEY  # recorded in the launch ledger
    [close] = closed["actions"]
    assert (close["action"], close["target"], close["status"]) == ("close-incident", incident["incidentId"], "done")
    assert closed["incidentId"] == incident["incidentId"]  # the notification is about the incident it closed
    assert f"incident {incident['incidentId']} closed" in closed["headline"]
    [note] = new_notes(aws, seen)  # the close was notified; the launch after it was not
    assert "closed" in note.subject and CALLER in note.summary and "key rotated" in note.summary
    assert_truthful(aws, closed, [note])


def test_close_records_who_when_and_why_and_changes_nothing_else(aws, invoke):
    _, incident = contained_key(aws, invoke)
    before = aws.snapshot()

    invoke("runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "key rotated"}, oncall())

    assert aws.snapshot() == before  # the key stays Inactive, the quarantine policy stays: nothing else changes
    items = incident_items(aws, incident["incidentId"])
    record = items["incident"]
    assert record["status"]["S"] == "closed" and record["closeReason"]["S"] == "key rotated"
    assert CALLER in record["closedBy"]["S"] and "5f0e3c1a" in record["closedBy"]["S"]
    assert json.loads(record["report"]["S"])["headline"] == incident["headline"]  # the incident's report is kept
    assert "attempt#0001" in items  # the containment attempt stays as it was
    [lifecycle] = [json.loads(v["lifecycle"]["S"]) for k, v in items.items() if k.startswith("lifecycle#")]
    assert lifecycle["runbook"] == "close-incident" and lifecycle["reason"] == "key rotated"
    assert CALLER in lifecycle["by"] and lifecycle["notified"] is True and lifecycle["at"]
    assert pointer_statuses(aws, f"credential#{LEAKED_KEY}") == {incident["incidentId"]: "closed"}
    assert pointer_statuses(aws, "principal#arn:aws:iam::123456789012:user/ci-deployer") == {
        incident["incidentId"]: "closed"
    }


def test_close_by_incident_id_and_a_second_close_finds_nothing_open(aws, invoke):
    _, incident = contained_key(aws, invoke)

    first = invoke("runbook", {"runbook": "close-incident", "incidentId": incident["incidentId"], "reason": "done"})
    again = invoke("runbook", {"runbook": "close-incident", "incidentId": incident["incidentId"], "reason": "again"})
    by_key = invoke("runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "again"})

    assert first["actions"][0]["status"] == "done"
    [skipped] = again["actions"]
    assert skipped["status"] == "skipped" and skipped["reason"].startswith("already closed at")
    assert incident_items(aws, incident["incidentId"])["incident"]["closeReason"]["S"] == "done"  # not overwritten
    assert by_key["actions"][0]["status"] == "skipped" and "no open incident for key" in by_key["actions"][0]["reason"]
    assert "nothing changed" in by_key["headline"]


def test_closing_by_key_closes_every_open_incident_of_the_key(aws, invoke):
    aws.set_env(**ALLOWED, SWEEP_REGIONS="us-east-1")
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    first = invoke("health", health_event(datetime.now(UTC), event_id="6a7e3e2a-0d3a-4d8e-9a4c-0f6b1c2d3e4f"))
    second = invoke("health", health_event(datetime.now(UTC), event_id="7b8f4f3b-1e4b-4e9f-8b5d-1a7c2d3e4f5a"))

    closed = invoke("runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "rotated"})

    assert {a["target"] for a in closed["actions"] if a["status"] == "done"} == {
        first["incidentId"],
        second["incidentId"],
    }
    assert set(pointer_statuses(aws, f"credential#{LEAKED_KEY}").values()) == {"closed"}


def test_dry_run_close_changes_nothing_and_the_next_launch_is_still_contained(aws, invoke):
    attacker, incident = contained_key(aws, invoke)

    plan = invoke("runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "r", "dryRun": True})
    later = attacker.run_instances("us-east-1", "t3.micro")
    invoke("cloudtrail", later.event)

    assert plan["mode"] == "dry-run" and plan["actions"][0]["status"] == "planned"
    assert incident_items(aws, incident["incidentId"])["incident"]["status"]["S"] == "open"
    assert not [k for k in incident_items(aws, incident["incidentId"]) if k.startswith("lifecycle#")]
    assert aws.instance_states("us-east-1")[later.instance_ids[0]] == "terminated"


def test_closing_an_unknown_incident_changes_nothing(aws, invoke):
    report = invoke("runbook", {"runbook": "close-incident", "incidentId": "inc-20261120-0123456789", "reason": "r"})

    [step] = report["actions"]
    assert step["status"] == "skipped" and "no incident inc-20261120-0123456789" in step["reason"]
    assert not report["failures"]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"runbook": "close-incident", "reason": "r"}, "accessKeyId"),
        ({"runbook": "close-incident", "accessKeyId": LEAKED_KEY}, "reason"),
        ({"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": ""}, "reason"),
        ({"runbook": "close-incident", "incidentId": "inc-1", "reason": "r"}, "incidentId"),
        (
            {
                "runbook": "close-incident",
                "accessKeyId": LEAKED_KEY,
                "incidentId": "inc-20261120-0123456789",
                "reason": "r",
            },
            "incidentId",
        ),
        ({"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "r", "force": True}, "force"),
        ({"runbook": "release-principal", "reason": "r"}, "userName"),
        (
            {"runbook": "release-principal", "userName": "ci-deployer", "roleName": "deploy-role", "reason": "r"},
            "roleName",
        ),
        ({"runbook": "release-principal", "userName": "ci deployer", "reason": "r"}, "userName"),
        ({"runbook": "release-principal", "userName": "ci-deployer", "reason": "r", "force": "yes"}, "force"),
        ({"runbook": "release-principal", "userName": "ci-deployer", "reason": "r", "dryRun": 1}, "dryRun"),
    ],
)
def test_bad_lifecycle_input_names_the_field_and_changes_nothing(aws, invoke, event, field):
    contained_key(aws, invoke)
    before = aws.snapshot()
    seen = len(aws.notifications())

    with pytest.raises(BadInput, match=f"'{field}'"):
        invoke("runbook", event)

    assert aws.snapshot() == before and new_notes(aws, seen) == []


# --- release-principal -------------------------------------------------------------------------------------
TEAM_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def test_release_refuses_a_user_under_an_open_incident_then_removes_exactly_the_quarantine_policy(aws, invoke):
    iam = aws.client("iam")
    _, incident = contained_key(aws, invoke)
    iam.put_user_policy(UserName="ci-deployer", PolicyName="deploy-artifacts", PolicyDocument=json.dumps(TEAM_POLICY))
    managed = iam.create_policy(PolicyName="ci-read", PolicyDocument=json.dumps(TEAM_POLICY))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="ci-deployer", PolicyArn=managed)
    release = {"runbook": "release-principal", "userName": "ci-deployer", "reason": "owner confirmed"}

    with pytest.raises(BadInput, match=rf"'force'.*open incident {incident['incidentId']}"):
        invoke("runbook", release)
    assert set(aws.user_policies("ci-deployer")) == {QUARANTINE_POLICY_NAME, "deploy-artifacts"}

    invoke("runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "rotated"})
    seen = len(aws.notifications())
    before = aws.snapshot()
    report = invoke("runbook", release, oncall())

    after = aws.snapshot()
    assert after["userPolicies"]["ci-deployer"] == ["deploy-artifacts"]  # only the quarantine policy went
    assert aws.user_policies("ci-deployer")["deploy-artifacts"] == TEAM_POLICY
    attached = iam.list_attached_user_policies(UserName="ci-deployer")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [managed]
    assert after["keys"] == before["keys"] == {**before["keys"], "ci-deployer": {LEAKED_KEY: "Inactive"}}
    assert {k: v for k, v in after.items() if k != "userPolicies"} == {
        k: v for k, v in before.items() if k != "userPolicies"
    }
    [step] = report["actions"]
    assert (step["action"], step["target"], step["status"]) == ("release-user", "ci-deployer", "done")
    assert "user ci-deployer released (quarantine policy removed)" in report["headline"]
    assert report["incidentId"] == incident["incidentId"] and report["severity"] == "info"
    entries = [json.loads(v["lifecycle"]["S"]) for k, v in incident_items(aws, incident["incidentId"]).items()
               if k.startswith("lifecycle#")]  # fmt: skip
    by_runbook = {e["runbook"]: e for e in entries}
    assert set(by_runbook) == {"close-incident", "release-principal"}  # both in the incident's record
    assert (
        CALLER in by_runbook["release-principal"]["by"]
        and by_runbook["release-principal"]["reason"] == "owner confirmed"
    )
    [note] = new_notes(aws, seen)
    assert_truthful(aws, report, [note])
    assert "removed" in note.subject


def test_release_with_force_under_an_open_incident_is_done_and_said_loudly(aws, invoke):
    _, incident = contained_key(aws, invoke)

    report = invoke(
        "runbook", {"runbook": "release-principal", "userName": "ci-deployer", "reason": "needed now", "force": True}
    )

    assert QUARANTINE_POLICY_NAME not in aws.user_policies("ci-deployer")
    assert report["severity"] == "high" and incident["incidentId"] in report["facts"]["forced"]
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}  # the key stays as the incident left it


def test_release_dry_run_plans_and_changes_nothing(aws, invoke):
    contained_key(aws, invoke)
    invoke("runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "rotated"})
    before = aws.snapshot()

    plan = invoke("runbook", {"runbook": "release-principal", "userName": "ci-deployer", "reason": "r", "dryRun": True})

    assert aws.snapshot() == before
    assert plan["actions"][0]["status"] == "planned" and plan["mode"] == "dry-run"


def test_release_of_a_principal_without_the_quarantine_policy_changes_nothing(aws, invoke):
    aws.create_user("ml-team")
    aws.client("iam").put_user_policy(
        UserName="ml-team", PolicyName="deploy-artifacts", PolicyDocument=json.dumps(TEAM_POLICY)
    )
    before = aws.snapshot()

    report = invoke("runbook", {"runbook": "release-principal", "userName": "ml-team", "reason": "audit"})

    assert aws.snapshot() == before
    [step] = report["actions"]
    assert step["status"] == "skipped" and f"no {QUARANTINE_POLICY_NAME} policy to remove" in step["reason"]
    assert "nothing changed" in report["headline"]


def test_release_of_a_role_removes_the_quarantine_policy_and_leaves_the_session_revocation(aws, invoke):
    iam = aws.client("iam")
    iam.create_role(RoleName="deploy-role", AssumeRolePolicyDocument="{}")
    invoke("runbook", {"runbook": "revoke-role-sessions", "roleName": "deploy-role"})
    deny_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName="deploy-role", PolicyName=QUARANTINE_POLICY_NAME, PolicyDocument=json.dumps(deny_all))

    report = invoke("runbook", {"runbook": "release-principal", "roleName": "deploy-role", "reason": "rebuilt"})

    assert set(aws.role_policies("deploy-role")) == {REVOKE_SESSIONS_POLICY_NAME}
    assert report["actions"][0]["action"] == "release-role" and report["actions"][0]["status"] == "done"
    assert REVOKE_SESSIONS_POLICY_NAME in report["facts"]["leftInPlace"]
    assert any(REVOKE_SESSIONS_POLICY_NAME in t for t in report["needsHuman"])
    assert_truthful(aws, report, aws.notifications())


def test_a_release_iam_refuses_is_reported_failed_and_never_said_removed(aws, invoke):
    contained_key(aws, invoke)
    invoke("runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "rotated"})
    seen = len(aws.notifications())
    aws.faults.fail(operations=["DetachUserPolicy"], code="AccessDenied", message="not allowed (injected)")

    with pytest.raises(RuntimeError, match="release-user ci-deployer"):
        invoke("runbook", {"runbook": "release-principal", "userName": "ci-deployer", "reason": "r"})

    assert QUARANTINE_POLICY_NAME in aws.user_policies("ci-deployer")
    [note] = new_notes(aws, seen)
    assert "FAILED" in note.subject and "removed" not in note.subject
    assert "AccessDenied" in note.summary
    assert_truthful(aws, note.report, [note])
