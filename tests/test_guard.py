"""Guarding the responder: a tamper call, as CloudTrail records it, through the real CloudTrail handler -
restored, the caller contained, a critical notice; a deploy or protected principal's call notified only."""

from __future__ import annotations

import json

import pytest
from responder.core import own_names

from compromise_responder.tools.emulator.cloudtrail import Identity
from compromise_responder.tools.emulator.responder_world import DEPLOY_ROLE, SESSION_ID, deploy_responder, role_session
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY

FEW_REGIONS = {"SWEEP_REGIONS": "us-east-1,eu-west-1"}
LAUNCH_RULE = own_names.rule("launch-calls")
ACCOUNT = "123456789012"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{own_names.TRAIL}"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:{own_names.TOPIC}"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{own_names.function('cloudtrail')}"
BUCKET = own_names.trail_bucket(ACCOUNT, "us-east-1")
DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"
# Every call of the contract's section, on the responder's own resources, with the requestParameters CloudTrail
# writes (Lambda's event names carry their API version, as in Stratus Red Team's detonation records).
OWN_CALLS: list[tuple[str, str, dict | None]] = [
    ("StopLogging", "cloudtrail", {"name": TRAIL_ARN}),
    ("DeleteTrail", "cloudtrail", {"name": own_names.TRAIL}),
    ("UpdateTrail", "cloudtrail", {"name": own_names.TRAIL, "s3BucketName": "attacker-bucket"}),
    (
        "PutEventSelectors",
        "cloudtrail",
        {
            "trailName": own_names.TRAIL,
            "eventSelectors": [{"readWriteType": "ReadOnly", "includeManagementEvents": True}],
        },
    ),
    ("DeleteDetector", "guardduty", {"detectorId": DETECTOR}),
    ("UpdateDetector", "guardduty", {"detectorId": DETECTOR, "enable": False}),
    ("DisassociateFromAdministratorAccount", "guardduty", {"detectorId": DETECTOR}),
    ("DisableRule", "events", {"name": LAUNCH_RULE}),
    ("DeleteRule", "events", {"name": LAUNCH_RULE, "force": False}),
    ("RemoveTargets", "events", {"rule": LAUNCH_RULE, "ids": ["Target0"]}),
    ("UpdateFunctionCode20150331v2", "lambda", {"functionName": FUNCTION_ARN, "publish": True}),
    ("UpdateFunctionConfiguration20150331v2", "lambda", {"functionName": own_names.function("health"), "timeout": 1}),
    ("DeleteFunction20150331", "lambda", {"functionName": own_names.function("guardduty")}),
    ("PutFunctionConcurrency20171031", "lambda", {"functionName": FUNCTION_ARN, "reservedConcurrentExecutions": 0}),
    ("RemovePermission20150331v2", "lambda", {"functionName": FUNCTION_ARN, "statementId": "AllowEventBridge"}),
    ("DeleteTopic", "sns", {"topicArn": TOPIC_ARN}),
    ("Unsubscribe", "sns", {"subscriptionArn": f"{TOPIC_ARN}:0b6941b4-7f5e-4b8b-a4a3-EXAMPLE11111"}),
    ("SetTopicAttributes", "sns", {"topicArn": TOPIC_ARN, "attributeName": "Policy", "attributeValue": "{}"}),
    ("PutBucketLifecycle", "s3", {"bucketName": BUCKET, "Host": f"{BUCKET}.s3.amazonaws.com", "lifecycle": ""}),
    ("PutBucketPolicy", "s3", {"bucketName": BUCKET, "Host": f"{BUCKET}.s3.amazonaws.com", "policy": ""}),
    ("DeleteBucketPolicy", "s3", {"bucketName": BUCKET, "Host": f"{BUCKET}.s3.amazonaws.com", "policy": ""}),
    ("LeaveOrganization", "organizations", None),
]
OTHERS_CALLS: list[tuple[str, str, dict | None]] = [
    ("StopLogging", "cloudtrail", {"name": "organization-trail"}),
    ("DisableRule", "events", {"name": "nightly-backup"}),
    ("UpdateFunctionCode20150331v2", "lambda", {"functionName": "billing-api"}),
    ("DeleteTopic", "sns", {"topicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:build-alerts"}),
    ("PutBucketPolicy", "s3", {"bucketName": "website-assets", "policy": ""}),
    ("DescribeTrails", "cloudtrail", {"trailNameList": [own_names.TRAIL]}),
]


def tamper_events() -> tuple[list[dict], list[dict]]:
    """(calls on the responder's own resources, calls on others' or reads), as EventBridge delivers them."""
    from compromise_responder.tools.emulator.cloudtrail import cloudtrail_detail, envelope

    who = Identity("IAMUser", "ci-deployer", LEAKED_KEY)

    def event(n: int, name: str, service: str, request: dict | None) -> dict:
        detail = cloudtrail_detail(who, name, f"{service}.amazonaws.com", "us-east-1", request, None)
        detail["eventID"] = f"{name}-{n}"
        return envelope(detail)

    return ([event(n, *c) for n, c in enumerate(OWN_CALLS)],
            [event(n, *c) for n, c in enumerate(OTHERS_CALLS)])  # fmt: skip


@pytest.fixture
def world(aws):
    aws.set_env(**FEW_REGIONS)
    return deploy_responder(aws)


def trail_logging(aws) -> bool:
    return bool(aws.client("cloudtrail").get_trail_status(Name=own_names.TRAIL)["IsLogging"])


def actions(report) -> dict[str, str]:
    return {a["action"]: a["status"] for a in report["actions"]}


def test_stop_logging_by_a_leaked_key_restores_logging_and_contains_the_key(aws, world, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    aws.client("cloudtrail").stop_logging(Name=own_names.TRAIL)
    arn = f"arn:aws:cloudtrail:us-east-1:{aws.account}:trail/{own_names.TRAIL}"
    event = world.tamper(attacker.identity, "StopLogging", "cloudtrail.amazonaws.com", {"name": arn})

    report = invoke("cloudtrail", event)

    assert trail_logging(aws)
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert actions(report)["start-logging"] == "done" and actions(report)["deactivate-access-key"] == "done"
    [note] = aws.notifications()
    assert "TAMPERING" in note.subject and "StopLogging" in note.subject
    assert note.report["principal"]["accessKeyId"] == LEAKED_KEY
    assert "StopLogging" in note.summary and "ci-deployer" in note.summary


def test_disable_rule_by_a_role_session_enables_it_and_cuts_only_that_session(aws, world, invoke):
    aws.client("iam").create_role(RoleName="ops-automation", AssumeRolePolicyDocument="{}")
    aws.client("events").disable_rule(Name=LAUNCH_RULE)
    event = world.tamper(role_session("ops-automation"), "DisableRule", "events.amazonaws.com", {"name": LAUNCH_RULE})

    report = invoke("cloudtrail", event)

    assert aws.client("events").describe_rule(Name=LAUNCH_RULE)["State"] == "ENABLED"
    [policy] = aws.role_policies("ops-automation").values()
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {"aws:userid": [SESSION_ID]}}
    assert actions(report) == {"enable-rule": "done", "revoke-session": "done"}
    assert report["severity"] == "critical"
    [note] = aws.notifications()
    assert "TAMPERING" in note.subject


def test_remove_targets_puts_the_rule_target_back_as_the_stack_defines_it(aws, world, invoke):
    aws.client("iam").create_role(RoleName="ops-automation", AssumeRolePolicyDocument="{}")
    events = aws.client("events")
    events.remove_targets(Rule=LAUNCH_RULE, Ids=[own_names.RULE_TARGET_ID])
    request = {"rule": LAUNCH_RULE, "ids": [own_names.RULE_TARGET_ID]}
    event = world.tamper(role_session("ops-automation"), "RemoveTargets", "events.amazonaws.com", request)

    report = invoke("cloudtrail", event)

    [target] = events.list_targets_by_rule(Rule=LAUNCH_RULE)["Targets"]
    assert target["Arn"].endswith(":function:compromise-responder-cloudtrail")
    assert target["DeadLetterConfig"]["Arn"].endswith(":compromise-responder-cloudtrail-failed")
    assert actions(report)["put-rule-targets"] == "done"


def test_detector_disabled_by_a_leaked_key_is_enabled_again(aws, world, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    detector = world.detectors["us-east-1"]
    gd = aws.client("guardduty")
    gd.update_detector(DetectorId=detector, Enable=False)
    event = world.tamper(attacker.identity, "UpdateDetector", "guardduty.amazonaws.com",
                         {"detectorId": detector, "enable": False})  # fmt: skip

    report = invoke("cloudtrail", event)

    assert gd.get_detector(DetectorId=detector)["Status"] == "ENABLED"
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert actions(report)["enable-detector"] == "done"


def test_function_code_overwritten_is_named_for_a_redeploy_and_the_key_contained(aws, world, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    name = own_names.function("cloudtrail")
    arn = f"arn:aws:lambda:us-east-1:{aws.account}:function:{name}"
    event = world.tamper(attacker.identity, "UpdateFunctionCode20150331v2", "lambda.amazonaws.com",
                         {"functionName": arn, "publish": True})  # fmt: skip

    invoke("cloudtrail", event)

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    [note] = aws.notifications()
    assert "npx cdk deploy" in note.summary and name in note.subject


def test_trail_deleted_is_named_not_restorable(aws, world, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    aws.client("cloudtrail").delete_trail(Name=own_names.TRAIL)
    event = world.tamper(attacker.identity, "DeleteTrail", "cloudtrail.amazonaws.com", {"name": own_names.TRAIL})

    report = invoke("cloudtrail", event)

    assert "start-logging" not in actions(report)
    [note] = aws.notifications()
    assert "deleted" in note.summary and "npx cdk deploy" in note.summary


def test_a_deploy_role_or_cloudformation_change_is_only_notified(aws, world, invoke):
    aws.client("cloudtrail").stop_logging(Name=own_names.TRAIL)
    deploy = Identity("AssumedRole", DEPLOY_ROLE, "ASIAIOSFODNN7EXAMPLE", principal_id="AROACKCEVSQ6C2EXAMPLE:cdk")
    by_deploy = world.tamper(deploy, "StopLogging", "cloudtrail.amazonaws.com", {"name": own_names.TRAIL})
    team = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    via_cfn = world.tamper(team.identity, "DisableRule", "events.amazonaws.com", {"name": LAUNCH_RULE},
                           invoked_by="cloudformation.amazonaws.com")  # fmt: skip
    before = aws.snapshot()

    first = invoke("cloudtrail", by_deploy)
    second = invoke("cloudtrail", via_cfn)

    assert aws.snapshot() == before and not trail_logging(aws)
    assert first["actions"] == second["actions"] == []
    notes = aws.notifications()
    assert len(notes) == 2 and all("deploy principal" in n.subject for n in notes)


def test_a_protected_principal_is_only_notified(aws, world, invoke):
    aws.set_env(PROTECTED_PRINCIPALS="break-glass-admin")
    admin = aws.create_user("break-glass-admin", key_id=LEAKED_KEY)
    aws.client("events").disable_rule(Name=LAUNCH_RULE)
    event = world.tamper(admin.identity, "DisableRule", "events.amazonaws.com", {"name": LAUNCH_RULE})

    report = invoke("cloudtrail", event)

    assert aws.key_status("break-glass-admin") == {LEAKED_KEY: "Active"}
    assert aws.client("events").describe_rule(Name=LAUNCH_RULE)["State"] == "DISABLED"
    assert report["actions"] == []
    [note] = aws.notifications()
    assert "PROTECTED" in note.subject


def test_a_failed_tamper_call_changes_nothing(aws, world, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    event = world.tamper(attacker.identity, "StopLogging", "cloudtrail.amazonaws.com", {"name": own_names.TRAIL},
                         error_code="AccessDenied")  # fmt: skip
    before = aws.snapshot()

    report = invoke("cloudtrail", event)

    assert aws.snapshot() == before and report["actions"] == []
    assert aws.notifications() == []


def test_a_call_on_someone_elses_rule_is_not_tampering(aws, world, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    event = world.tamper(attacker.identity, "DisableRule", "events.amazonaws.com", {"name": "nightly-backup"})

    report = invoke("cloudtrail", event)

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Active"}
    assert report["actions"] == [] and aws.notifications() == []


def test_the_record_names_the_target_and_session(aws, world):
    from responder.parse.cloudtrail_records import parse_call_event

    event = world.tamper(role_session("ops-automation"), "PutFunctionConcurrency20171031", "lambda.amazonaws.com",
                         {"functionName": "compromise-responder-health", "reservedConcurrentExecutions": 0})  # fmt: skip
    rec = parse_call_event(json.loads(json.dumps(event)))
    assert rec.kind == "tamper"
    assert rec.details["target"] == "compromise-responder-health" and rec.details["principalId"] == SESSION_ID


def test_the_rule_pattern_catches_every_tamper_call_on_the_responder_only():
    from compromise_responder.infra.guard import GUARD_PATTERN
    from tests.test_stack import delivered

    own, others = tamper_events()
    assert sorted(delivered([GUARD_PATTERN], own + others)) == sorted(e["detail"]["eventID"] for e in own)


@pytest.mark.parametrize("call", OWN_CALLS, ids=[c[0] for c in OWN_CALLS])
def test_every_tamper_call_by_a_leaked_key_contains_it_with_a_critical_notice(aws, invoke, call):
    aws.set_env(SWEEP_REGIONS="us-east-1")
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    [event] = [e for e in tamper_events()[0] if e["detail"]["eventName"] == call[0]]

    report = invoke("cloudtrail", event)

    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert report["severity"] == "critical"
    [note] = aws.notifications()
    assert note.subject.startswith("[CRITICAL] TAMPERING") and call[0].rstrip("0123456789v") in note.summary
