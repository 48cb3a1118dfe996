"""What the chain did to the account's logs, put back as the team had it: CloudTrail's event history holds the team's
own calls (90 days), so a trail's selectors are put back exactly and a deleted trail is created again with its
selectors and its logging as the team left them; a bucket lifecycle is listed with the rules the team had (never
changed: the responder may not expire data); a trail or flow log whose creation is not in the history is listed for
a human, never guessed at. Through the real handlers, in enforce and dry-run, with the records in the shapes AWS
writes them (Stratus Red Team's detonations for the attacker's calls)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from responder.actions.undo_trail_selectors import ALL_MANAGEMENT

from compromise_responder.tools.emulator import EmulatedAws
from compromise_responder.tools.emulator.chain import stop_logging
from compromise_responder.tools.emulator.logging_moves import (
    STRATUS_LIFECYCLE,
    create_trail,
    delete_flow_logs,
    delete_trail,
    put_bucket_lifecycle,
    put_event_selectors,
)
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, TEAM_KEY, health_event
from tests.report_truth import assert_truthful

REGION = "us-east-1"
TEAM_SELECTORS = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "ExcludeManagementEventSources": [],
                   "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::team-data/"]}]}]  # fmt: skip
TEAM_RULES = [{"ID": "archive-then-expire", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"},
               "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}], "Expiration": {"Days": 365}}]  # fmt: skip


@pytest.fixture
def aws():
    with EmulatedAws(regions=(REGION,)) as emulated:
        yield emulated


def history_scene(aws: EmulatedAws) -> dict[str, Any]:
    """The platform team set trails up a month ago (one with data events, its bucket's logs archived then expired
    after a year, one it stopped); the leaked key blinds two, deletes the others - one made before the event history
    began - makes the logs expire after a day and deletes a flow log made before the event history began."""
    now = datetime.now(UTC)
    aws.client("s3").create_bucket(Bucket="team-audit-logs")
    platform = aws.create_user("platform-admin", key_id=TEAM_KEY)
    month = now - timedelta(days=30)
    create_trail(platform, REGION, "audit", "team-audit-logs", at=month - timedelta(days=1))
    create_trail(platform, REGION, "archive", "team-audit-logs", at=month - timedelta(days=1))
    put_event_selectors(platform, REGION, "audit", TEAM_SELECTORS, at=month)
    create_trail(platform, REGION, "data-events", "team-audit-logs", at=month)
    put_event_selectors(platform, REGION, "data-events", TEAM_SELECTORS, at=month)
    stop_logging(platform, REGION, "data-events", at=month)
    aws.client("cloudtrail").create_trail(Name="legacy", S3BucketName="team-audit-logs")  # before the history began
    put_bucket_lifecycle(platform, REGION, "team-audit-logs", TEAM_RULES, at=month)
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    old = ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", LogDestinationType="s3",
                               LogDestination="arn:aws:s3:::team-audit-logs")["FlowLogIds"][0]  # fmt: skip

    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY, last_used=("cloudtrail", REGION))
    at = now - timedelta(minutes=40)
    put_event_selectors(attacker, REGION, "audit", at=at)
    put_event_selectors(attacker, REGION, "archive", at=at)
    put_bucket_lifecycle(attacker, REGION, "team-audit-logs", at=at)
    delete_flow_logs(attacker, REGION, [old], at=at)
    stop_logging(attacker, REGION, "data-events", at=at)  # blinded, then deleted: created again, logging as before
    put_event_selectors(attacker, REGION, "data-events", at=at)
    delete_trail(attacker, REGION, "data-events", at=at)
    delete_trail(attacker, REGION, "legacy", at=at)
    return {"flow_log": old, "event": health_event(now - timedelta(minutes=20))}


def logging(aws: EmulatedAws) -> dict[str, Any]:
    trails, s3 = aws.client("cloudtrail"), aws.client("s3")
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket="team-audit-logs")["Rules"]
    except s3.exceptions.ClientError:
        rules = []
    names = [t["Name"] for t in trails.describe_trails()["trailList"]]
    return {
        "trails": {n: trails.get_trail_status(Name=n)["IsLogging"] for n in names},
        "audit": trails.get_event_selectors(TrailName="audit")["EventSelectors"],
        "archive": trails.get_event_selectors(TrailName="archive")["EventSelectors"],
        "data-events": trails.get_event_selectors(TrailName="data-events")["EventSelectors"]
        if "data-events" in names
        else None,
        "lifecycle": [r["ID"] for r in rules],
        "flow_logs": len(aws.client("ec2").describe_flow_logs()["FlowLogs"]),
    }


@pytest.mark.parametrize("dry_run", [False, True], ids=["enforce", "dry-run"])
def test_what_the_team_set_before_is_put_back_from_the_event_history(aws, invoke, dry_run):
    scene = history_scene(aws)
    attacked = logging(aws)
    assert (
        attacked["lifecycle"] == [STRATUS_LIFECYCLE[0]["ID"]]
        and attacked["audit"][0]["IncludeManagementEvents"] is False
    )

    if dry_run:
        report = invoke("runbook", {"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "dryRun": True})
    else:
        report = invoke("health", scene["event"])

    assert_truthful(aws, report, aws.notifications())
    steps = {(a["action"], a["target"]): a for a in report["actions"] if a.get("source") == "chain"}
    status = "planned" if dry_run else "done"
    audit, archive = steps["restore-event-selectors", "audit"], steps["restore-event-selectors", "archive"]
    trail = steps["recreate-trail", "data-events"]
    assert {audit["status"], archive["status"], trail["status"]} == {status}
    assert "cloudtrail:PutEventSelectors" in audit["reason"] and "put back as PutEventSelectors at" in audit["reason"]
    assert "put back as CreateTrail at" in archive["reason"]  # a new trail's selectors: every management event
    assert "event selectors put back" in trail["reason"]
    assert "not logging, as the team had stopped it" in trail["reason"]
    if not dry_run:  # the trail was gone when its selectors and logging were to be put back: nothing failed
        assert report["failures"] == []
        assert steps["restore-event-selectors", "data-events"]["status"] == "skipped"
        assert steps["restart-trail-logging", "data-events"]["status"] == "skipped"
    lifecycle = steps["review-left-behind", "team-audit-logs"]  # never changed: listed with what the team had
    assert "as PutBucketLifecycle at" in lifecycle["reason"] and "rules archive-then-expire" in lifecycle["reason"]
    for unknown in (scene["flow_log"], "legacy"):
        listed = steps["review-left-behind", unknown]
        assert listed["status"] == "skipped" and "not in the event history" in listed["reason"]
    assert ("recreate-flow-log", scene["flow_log"]) not in steps and ("recreate-trail", "legacy") not in steps
    if dry_run:
        assert logging(aws) == attacked
    else:
        assert logging(aws) == {**attacked, "trails": {**attacked["trails"], "data-events": False},
                                "audit": TEAM_SELECTORS, "archive": [ALL_MANAGEMENT], "data-events": TEAM_SELECTORS}  # fmt: skip
