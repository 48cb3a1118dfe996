"""What the key did: the activity summary after every key containment, and by hand (runbook, CLI)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from responder.evidence.activity import Pacer, Tally, is_notable_write, summary_json
from typer.testing import CliRunner

from compromise_responder.cli.main import app
from compromise_responder.tools.emulator import DEFAULT_REGIONS
from compromise_responder.tools.emulator.cloudtrail import Identity
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, TEAM_KEY, health_event, spot_swarm
from compromise_responder.tools.emulator.trails import attacker_trail
from tests.report_truth import assert_truthful

SERVICES = ("ec2", "iam", "s3", "kms", "cloudtrail", "guardduty")
REGIONS = DEFAULT_REGIONS  # the attacker called from every region the handlers sweep
NOW = datetime.now(UTC)


def seed(aws: Any, identity: Identity, calls: int = 500, regions: tuple[str, ...] = REGIONS) -> list[dict[str, Any]]:
    """The attacker's trail: between 30 hours and 10 minutes ago, inside every window below."""
    return attacker_trail(
        aws, identity, calls=calls, services=SERVICES, regions=regions, start=NOW - timedelta(hours=30),
        end=NOW - timedelta(minutes=10),
    ).records  # fmt: skip


def expected(records: list[dict[str, Any]]) -> dict[str, Any]:
    """What the activity must say, counted here from the records themselves."""
    times = sorted(r["eventTime"] for r in records)
    return {
        "calls": len(records),
        "byService": dict(Counter(r["eventSource"].split(".")[0] for r in records)),
        "byRegion": dict(Counter(r["awsRegion"] for r in records)),
        "byEvent": dict(Counter(r["eventName"] for r in records)),
        "sourceIPs": {r["sourceIPAddress"] for r in records},
        "userAgents": {r["userAgent"] for r in records},
        "firstSeen": times[0] if times else None,
        "lastSeen": times[-1] if times else None,
    }


def as_read(activity: dict[str, Any]) -> dict[str, Any]:
    return {**{k: activity[k] for k in ("calls", "byService", "byRegion", "byEvent", "firstSeen", "lastSeen")},
            "sourceIPs": set(activity["sourceIPs"]), "userAgents": set(activity["userAgents"])}  # fmt: skip


def activity_calls(aws: Any) -> list[int]:
    """Positions, in call order, of the LookupEvents calls the activity reading made."""
    return [
        i
        for i, r in enumerate(aws.recorder.sequence)
        if r.call.action == "cloudtrail:LookupEvents" and r.thread.startswith("activity")
    ]


def test_the_summary_counts_every_seeded_call_through_pagination_and_a_throttled_page(aws, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    records = seed(aws, attacker.identity)
    assert len({r["eventSource"] for r in records}) == 6 and len({r["awsRegion"] for r in records}) == len(REGIONS)
    busiest = Counter(r["awsRegion"] for r in records).most_common(1)[0]
    assert busiest[1] > 50  # more than a page: NextToken is followed
    aws.trail.throttle_page(2, region=busiest[0])

    report = invoke("health", health_event(NOW))

    activity = report["activity"]
    assert activity["complete"] is True and "unread" not in activity
    assert as_read(activity) == expected(records)
    assert aws.trail.throttled[busiest[0]] >= 1  # the page was refused, the SDK's retry read it
    writes = activity["writes"]
    assert writes and all(is_notable_write(*k.split(" ")[0].split(":"), read_only=False) for k in writes)
    assert "cloudtrail:StopLogging" in writes or "cloudtrail:StopLogging (failed)" in writes
    # the door closed first: every activity call after the key was Inactive
    [deactivated] = aws.recorder.order("iam:UpdateAccessKey")
    assert activity_calls(aws) and min(activity_calls(aws)) > deactivated
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    [note] = aws.notifications()
    assert_truthful(aws, report, [note])


def test_the_regions_are_swept_before_the_first_activity_call(aws, invoke):
    aws.set_env(ALLOWED_REGIONS="us-east-1,eu-west-1")
    scene = spot_swarm(aws, regions=("sa-east-1", "eu-west-1"), requests_per_region=2, protected_region="eu-west-1")
    seed(aws, scene.attacker.identity, calls=120)

    report = invoke("health", scene.health_event())

    stops = [
        i
        for i, r in enumerate(aws.recorder.sequence)
        if r.call.action in ("ec2:CancelSpotInstanceRequests", "ec2:TerminateInstances")
    ]
    assert stops and max(stops) < min(activity_calls(aws))
    assert report["regions"]["sa-east-1"] == "contained" and report["activity"]["complete"]
    own = [r for r in aws.trail.records if r["userIdentity"]["accessKeyId"] == LEAKED_KEY]
    assert as_read(report["activity"]) == expected(own)  # the swarm's own launches are in its trail too
    assert "ec2:RequestSpotInstances" in report["activity"]["writes"]  # launches are listed first


def test_a_denied_region_makes_it_incomplete_and_the_rest_is_still_counted(aws, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    records = seed(aws, attacker.identity)
    aws.trail.denied_regions.add("sa-east-1")

    report = invoke("health", health_event(NOW))  # it does not raise: reading is not containment

    activity = report["activity"]
    assert activity["complete"] is False
    assert list(activity["unread"]) == ["sa-east-1"] and "AccessDenied" in activity["unread"]["sa-east-1"]
    assert as_read(activity) == expected([r for r in records if r["awsRegion"] != "sa-east-1"])
    assert report["regions"]["sa-east-1"] == "clean" and report["failures"] == []
    [note] = aws.notifications()
    assert "NOT READ sa-east-1: AccessDeniedException" in note.summary
    assert "Activity NOT read in sa-east-1" in note.summary
    assert_truthful(aws, report, [note])


def test_the_time_budget_cuts_the_reading_short_and_says_so(aws, invoke):
    aws.set_env(ACTIVITY_BUDGET_SECONDS="1")
    aws.emulate_lookup_quota()
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    records = seed(aws, attacker.identity, calls=400, regions=("eu-west-1",))  # IAM's in us-east-1, 1 page
    in_region = sum(1 for r in records if r["awsRegion"] == "eu-west-1")
    assert in_region > 3 * 50  # 2 lookups a second: more pages than a 1 s budget allows

    report = invoke("health", health_event(NOW))

    activity = report["activity"]
    assert activity["complete"] is False and "time budget of 1 s" in activity["unread"]["eu-west-1"]
    assert 0 < activity["byRegion"]["eu-west-1"] < in_region  # what was read is counted
    assert report["failures"] == []


def test_the_notification_lists_what_the_key_changed_first(aws, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    seed(aws, attacker.identity)

    invoke("health", health_event(NOW))

    [note] = aws.notifications()
    section = note.summary.split("WHAT THE KEY DID", 1)[1]
    assert section.index("CHANGES IT MADE OR TRIED") < section.index("most frequent calls")
    top = section.split("most frequent calls: ", 1)[1].splitlines()[0]
    assert top.count(",") == 9 and "(+" in top  # the 10 most frequent, then how many more
    assert "203.0.113.77" in section and "iam:AttachUserPolicy" in section
    assert "run the activity runbook again in 15 minutes" in note.summary


def test_activity_runbook_reads_and_changes_nothing(aws, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    records = seed(aws, attacker.identity, calls=200)
    before = aws.snapshot()

    report = invoke("runbook", {"runbook": "activity", "accessKeyId": LEAKED_KEY, "sinceHours": 48})

    assert aws.snapshot() == before and report["actions"] == []
    assert as_read(report["activity"]) == expected(records)
    assert report["principal"]["name"] == "ci-deployer"
    assert {c.service for c in aws.recorder.changes} <= {"sns", "dynamodb"}  # told the team, recorded: nothing else
    [note] = aws.notifications()
    assert note.subject.startswith("[INFO] What key AKIAIOSFODNN7EXAMPLE (ci-deployer) did: 200 CloudTrail calls")
    assert_truthful(aws, report, [note])


def test_activity_runbook_window_excludes_older_calls(aws, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    records = seed(aws, attacker.identity, calls=100)

    report = invoke("runbook", {"runbook": "activity", "accessKeyId": LEAKED_KEY, "sinceHours": 6})

    cutoff = (datetime.now(UTC) - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert report["activity"]["calls"] == sum(1 for r in records if r["eventTime"] >= cutoff) < len(records)


def test_a_deleted_key_is_still_read(aws, invoke):
    """IAM no longer knows the key (deleted after the leak), CloudTrail still does: read, say so."""
    records = seed(aws, Identity("IAMUser", "old-contractor", TEAM_KEY), calls=60)

    report = invoke("runbook", {"runbook": "activity", "accessKeyId": TEAM_KEY})

    assert report["principal"]["type"] == "Unknown" and "not found in this account" in report["facts"]["keyOwner"]
    assert report["activity"]["calls"] == len(records)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"runbook": "activity"}, "accessKeyId"),
        ({"runbook": "activity", "accessKeyId": "not-a-key"}, "accessKeyId"),
        ({"runbook": "activity", "accessKeyId": LEAKED_KEY, "sinceHours": "24"}, "sinceHours"),
        ({"runbook": "activity", "accessKeyId": LEAKED_KEY, "sinceHours": 24 * 91}, "sinceHours"),
        ({"runbook": "activity", "accessKeyId": LEAKED_KEY, "region": "eu-west-1"}, "region"),
    ],
)
def test_activity_runbook_refuses_bad_input_naming_the_field(aws, invoke, event, field):
    with pytest.raises(ValueError, match=f"'{field}'"):
        invoke("runbook", event)
    assert not aws.recorder.calls and aws.notifications() == []  # no AWS call before the refusal


def test_cli_activity_prints_the_summary_and_publishes_nothing(aws):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    records = seed(aws, attacker.identity, calls=150)

    result = CliRunner().invoke(
        app, ["activity", LEAKED_KEY, "--since", "2d", "--regions", ",".join(REGIONS)], env={"COLUMNS": "200"}
    )

    assert result.exit_code == 0, result.output
    assert f"{len(records)} calls from" in result.output and "CHANGES IT MADE OR TRIED" in result.output
    assert aws.notifications() == []
    as_json = CliRunner().invoke(app, ["activity", LEAKED_KEY, "--since", "36h", "--json", "--regions", "eu-west-1"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["activity"]["byRegion"] == {"eu-west-1": sum(1 for r in records if r["awsRegion"] == "eu-west-1")}


@pytest.mark.parametrize(("since", "field"), [("yesterday", "--since"), ("0h", "sinceHours"), ("AKIA", "--since")])
def test_cli_activity_bad_input_exits_2(aws, since, field):
    result = CliRunner().invoke(app, ["activity", LEAKED_KEY, "--since", since])
    assert result.exit_code == 2 and field in result.output


# --- the pure parts --------------------------------------------------------------------------
def test_pacer_keeps_to_two_lookups_a_second():
    now = [100.0]
    slept: list[float] = []

    def clock() -> float:
        return now[0]

    pacer = Pacer(rate=2, clock=clock, sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    assert all(pacer.wait(deadline=110) for _ in range(5))
    assert slept == [0.5, 0.5, 0.5, 0.5]  # the first request goes at once
    assert not pacer.wait(deadline=now[0] + 0.1)  # the next slot is past the deadline: no request, no sleep
    assert len(slept) == 4


def test_tally_counts_writes_and_failed_writes_apart():
    tally = Tally()
    event = {"EventSource": "iam.amazonaws.com", "EventName": "CreateUser", "ReadOnly": "false"}
    tally.add("us-east-1", {**event, "CloudTrailEvent": json.dumps({"sourceIPAddress": "203.0.113.9"})})
    tally.add("us-east-1", {**event, "CloudTrailEvent": json.dumps({"errorCode": "AccessDenied"})})
    tally.add("us-east-1", {"EventSource": "iam.amazonaws.com", "EventName": "ListUsers", "ReadOnly": "true"})
    tally.add("eu-west-1", {"EventSource": "s3.amazonaws.com", "EventName": "GetObject", "CloudTrailEvent": "{oops"})
    out = summary_json(tally, {})
    assert out["writes"] == {"iam:CreateUser": 1, "iam:CreateUser (failed)": 1}
    assert out["byService"] == {"iam": 3, "s3": 1} and out["sourceIPs"] == ["203.0.113.9"]
    assert out["complete"] and out["firstSeen"] is None


def test_cli_plan_of_a_containment_shows_what_the_key_did(aws):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    records = seed(aws, attacker.identity, calls=60)
    runbook = json.dumps({"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY})

    result = CliRunner().invoke(app, ["plan", runbook, "--regions", ",".join(REGIONS)], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "WHAT THE KEY DID" in result.output and f"{len(records)} calls from" in result.output
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Active"}  # a plan: read, nothing changed
