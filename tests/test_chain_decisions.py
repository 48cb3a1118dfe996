"""The chain and the undo table as pure decisions: records in the shapes AWS writes them (Stratus Red Team's
detonation records, ids replaced by AWS documentation examples) in, links and steps out."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from responder.decide.left_behind import left_behind_from, plan_undos, previous_trust, without_outside_principals
from responder.decide.rogue import RoguePolicy
from responder.evidence.chain import Chain, Link, link_of, plan_cuts

C = "AKIAIOSFODNN7EXAMPLE"
USER = {"type": "IAMUser", "principalId": "AIDACKCEVSQ6C2EXAMPLE", "arn": "arn:aws:iam::123456789012:user/ci-deployer",
        "accountId": "123456789012", "accessKeyId": C, "userName": "ci-deployer"}  # fmt: skip
POLICY = RoguePolicy("compromise-responder:protect", frozenset({"break-glass"}), frozenset(), ("p*",))
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def record(name: str, source: str, request: object, response: object, **extra: object) -> dict[str, object]:
    return {"eventVersion": "1.08", "userIdentity": USER, "eventTime": "2025-12-31T23:00:00Z", "eventSource": source,
            "eventName": name, "awsRegion": "us-east-1", "requestParameters": request, "responseElements": response,
            "eventID": "6e882b9d-2af8-4c67-b91f-aeac6a0e5e70", **extra}  # fmt: skip


def test_each_way_of_minting_a_credential_is_a_link():
    federation = record(
        "GetFederationToken", "sts.amazonaws.com", {"name": "stratus_red_team"},
        {"credentials": {"accessKeyId": "ASIAY34FZKBOKEXAMPLE", "expiration": "Nov 30, 2024, 8:43:17 PM",
                         "sessionToken": "IQoJEXAMPLE"},
         "federatedUser": {"arn": "arn:aws:sts::123456789012:federated-user/stratus_red_team",
                           "federatedUserId": "123456789012:stratus_red_team"}, "packedPolicySize": 4},
    )  # fmt: skip
    session = record("GetSessionToken", "sts.amazonaws.com", None,
                     {"credentials": {"accessKeyId": "ASIAIOSFODNN7EXAMPLE", "expiration": "x"}})  # fmt: skip
    assumed = record(
        "AssumeRole", "sts.amazonaws.com", {"roleArn": "arn:aws:iam::123456789012:role/deploy", "roleSessionName": "x"},
        {"assumedRoleUser": {"assumedRoleId": "AROACKCEVSQ6C2EXAMPLE:x",
                             "arn": "arn:aws:sts::123456789012:assumed-role/deploy/x"}},
    )  # fmt: skip
    failed = record("AssumeRole", "sts.amazonaws.com", {}, None, errorCode="AccessDenied")
    links = [link_of(r, C, 1, "123456789012", "aws") for r in (federation, session, assumed, failed)]
    assert [(x.kind, x.credential, x.user_name) for x in links[:2] if x] == [
        ("federation", "ASIAY34FZKBOKEXAMPLE", "ci-deployer"), ("session-token", "ASIAIOSFODNN7EXAMPLE", "ci-deployer")
    ]  # fmt: skip
    assert links[2] is not None and (links[2].credential, links[2].role_name) == ("AROACKCEVSQ6C2EXAMPLE:x", "deploy")
    assert links[3] is None
    assert [(s.action, s.params["sessionIds"]) for s in plan_cuts(Chain(C, [links[2]]), POLICY, None, NOW)] == [
        ("revoke-session", "AROACKCEVSQ6C2EXAMPLE:x")
    ]
    # a record without the session id: the role's sessions issued before now are cut, never a guessed id
    unknown = record("AssumeRole", "sts.amazonaws.com", {"roleArn": "arn:aws:iam::123456789012:role/deploy"},
                     {"credentials": {"accessKeyId": "ASIAIOSFODNN7EXAMPLE"}})  # fmt: skip
    link = link_of(unknown, C, 1, "123456789012", "aws")
    assert link is not None and link.session_id is None
    steps = plan_cuts(Chain(C, [link]), POLICY, "ci-deployer", NOW)
    assert [(s.action, s.target, s.params["issuedBefore"]) for s in steps] == [
        ("revoke-role-sessions", "deploy", "2026-01-01T00:00:00Z")
    ]


def test_sessions_of_one_role_are_cut_in_one_policy_and_a_protected_user_is_only_listed():
    def link(credential: str, kind: str, **kw: str) -> Link:
        return Link(credential, kind, "arn", C, "AssumeRole", NOW, "us-east-1", "e", 1, **kw)  # type: ignore[arg-type]

    chain = Chain(C, [
        link("ASIAIOSFODNN7EXAMPLE", "role-session", session_id="AROACKCEVSQ6C2EXAMPLE:a", role_name="deploy"),
        link("ASIAY34FZKBOKEXAMPLE", "role-session", session_id="AROACKCEVSQ6C2EXAMPLE:b", role_name="deploy"),
        link("AKIAI44QH8DHBEXAMPLE", "access-key", user_name="break-glass"),
    ])  # fmt: skip
    steps = plan_cuts(chain, POLICY, "ci-deployer", NOW)
    assert [(s.action, s.target, s.status) for s in steps] == [
        ("deactivate-access-key", "AKIAI44QH8DHBEXAMPLE", "skipped"), ("revoke-session", "deploy", "planned")
    ]  # fmt: skip
    assert steps[1].params["sessionIds"] == "AROACKCEVSQ6C2EXAMPLE:a,AROACKCEVSQ6C2EXAMPLE:b"


def test_what_only_a_human_may_change_is_listed_and_reads_without_decryption_are_not():
    records = [
        record("UpdateFunctionCode20150331v2", "lambda.amazonaws.com", {"functionName": "orders"}, {}),
        record("ModifyInstanceAttribute", "ec2.amazonaws.com", {"instanceId": "i-0123456789abcdef0", "userData": "x"}, {}),
        record("ModifyInstanceAttribute", "ec2.amazonaws.com", {"instanceId": "i-0123456789abcdef0"}, {}),
        record("GetParameters", "ssm.amazonaws.com", {"names": ["a", "b"], "withDecryption": True}, None),
        record("GetParameter", "ssm.amazonaws.com", {"name": "plain"}, None),
        record("SendCommand", "ssm.amazonaws.com", {"instanceIds": ["i-0123456789abcdef0"]}, {}),
    ]  # fmt: skip
    steps = plan_undos(left_behind_from(records))
    assert [(s.action, s.target, s.status) for s in steps] == [
        ("review-left-behind", "orders", "skipped"),
        ("review-left-behind", "i-0123456789abcdef0", "skipped"),
        ("review-left-behind", "a,b", "skipped"),
        ("review-left-behind", "i-0123456789abcdef0", "skipped"),
    ]
    assert "rotate" in steps[2].reason


def test_the_trust_policy_to_put_back_is_the_last_one_set_outside_the_chain():
    def trust_record(name: str, key: str, when: str, principal: str) -> dict[str, object]:
        doc = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}}]})
        field = "assumeRolePolicyDocument" if name == "CreateRole" else "policyDocument"
        return {**record(name, "iam.amazonaws.com", {"roleName": "r", field: doc}, None),
                "userIdentity": {**USER, "accessKeyId": key}, "eventTime": when}  # fmt: skip

    history = [
        trust_record("CreateRole", "AKIAI44QH8DHBEXAMPLE", "2025-10-01T00:00:00Z", "first"),
        trust_record("UpdateAssumeRolePolicy", "AKIAI44QH8DHBEXAMPLE", "2025-11-01T00:00:00Z", "team"),
        trust_record("UpdateAssumeRolePolicy", C, "2025-12-01T00:00:00Z", "attacker-earlier"),
    ]
    found = previous_trust(history, "r", datetime(2025, 12, 31, tzinfo=UTC), [C])
    assert found is not None and "team" in found[0]
    assert previous_trust(history[2:], "r", None, [C]) is None
    doc = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:role/ci", "arn:aws:iam::210987654321:root"]}},
        {"Effect": "Allow", "Principal": {"AWS": "210987654321"}},
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}},
    ]})  # fmt: skip
    cleaned, removed = without_outside_principals(doc, "123456789012")
    assert removed == ["arn:aws:iam::210987654321:root", "210987654321"]
    assert json.loads(cleaned)["Statement"] == [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/ci"}},
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}},
    ]


def test_a_protected_target_keeps_its_undo_listed_skipped_naming_why():
    from responder.evidence.left_behind_tags import guard_protected, key_of

    found = left_behind_from(
        [
            record("StopLogging", "cloudtrail.amazonaws.com", {"name": "audit"}, None),
            record("StopLogging", "cloudtrail.amazonaws.com", {"name": "team-trail"}, None),
            record(
                "UpdateAssumeRolePolicy", "iam.amazonaws.com", {"roleName": "break-glass", "policyDocument": "{}"}, None
            ),
            record("StopLogging", "cloudtrail.amazonaws.com", {"name": "unread"}, None),
        ]
    )
    tags = {key_of(found[0]): {"compromise-responder:protect": "TRUE"}, key_of(found[1]): {"team": "x"},
            key_of(found[3]): "AccessDenied"}  # fmt: skip

    guarded = guard_protected(found, tags, POLICY)

    assert [bool(i.protected) for i in guarded] == [True, False, True, False]
    assert "protect tag compromise-responder:protect=true" in str(guarded[0].protected)
    assert "protected principal" in str(guarded[2].protected)
    assert "could not be read: AccessDenied" in guarded[3].why
    steps = {s.target: s for s in plan_undos(guarded)}
    assert (steps["audit"].action, steps["audit"].status) == ("restart-trail-logging", "skipped")
    assert "logging started again" not in steps["audit"].reason and "not changed" in steps["audit"].reason
    assert steps["team-trail"].status != "skipped" and steps["break-glass"].status == "skipped"


# --- what the chain did to the logs (actions/undo_trail_selectors.py, undo_trail_bucket.py, undo_flow_logs.py) ----
STRATUS_SELECTORS = {  # Stratus Red Team's cloudtrail-event-selectors detonation record, requestParameters
    "eventSelectors": [{"dataResources": [{"type": "AWS::S3::Object", "values": []},
                                          {"type": "AWS::Lambda::Function", "values": []}],
                        "excludeManagementEventSources": [], "includeManagementEvents": False,
                        "readWriteType": "ReadOnly"}],
    "trailName": "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit"}  # fmt: skip


def test_trail_selectors_put_back_from_the_history_or_management_events_logged_again():
    from responder.actions.undo_trail_selectors import (
        ALL_MANAGEMENT,
        management_restored,
        previous_selectors,
        selectors_of,
    )

    [found] = left_behind_from([record("PutEventSelectors", "cloudtrail.amazonaws.com", STRATUS_SELECTORS, None)])
    assert (found.target, found.undo) == ("audit", "restore-event-selectors")
    attacker = selectors_of(STRATUS_SELECTORS)
    assert attacker == dict(found.before)
    restored, what = management_restored(attacker)
    assert restored["EventSelectors"][0] == ALL_MANAGEMENT
    assert restored["EventSelectors"][1]["DataResources"] == attacker["EventSelectors"][0]["DataResources"]
    assert restored["EventSelectors"][1]["IncludeManagementEvents"] is False and "1 data-event selector" in what
    advanced = {"AdvancedEventSelectors": [
        {"Name": "only reads", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                                  {"Field": "readOnly", "Equals": ["true"]}]},
        {"Name": "s3", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}]}  # fmt: skip
    restored, _ = management_restored(advanced)
    assert [s["Name"] for s in restored["AdvancedEventSelectors"]] == ["Management events", "s3"]

    def put(key: str, when: str, read_write: str, trail: str = "audit") -> dict[str, object]:
        request = {
            "trailName": trail,
            "eventSelectors": [{"readWriteType": read_write, "includeManagementEvents": True}],
        }
        return {**record("PutEventSelectors", "cloudtrail.amazonaws.com", request, None),
                "userIdentity": {**USER, "accessKeyId": key}, "eventTime": when}  # fmt: skip

    team = "AKIAI44QH8DHBEXAMPLE"
    history = [
        {**record("CreateTrail", "cloudtrail.amazonaws.com", {"name": "audit"}, None),
         "userIdentity": {**USER, "accessKeyId": team}, "eventTime": "2025-10-01T00:00:00Z"},
        put(team, "2025-11-01T00:00:00Z", "WriteOnly"),
        put(team, "2025-11-02T00:00:00Z", "ReadOnly", trail="other"),
        put(C, "2025-12-01T00:00:00Z", "ReadOnly"),  # the chain's own: never what is put back
        put(team, "2026-01-02T00:00:00Z", "All"),  # after the change
    ]  # fmt: skip
    before = datetime(2025, 12, 31, tzinfo=UTC)
    selectors, detail = previous_selectors(history, "audit", before, [C]) or ({}, {})
    assert selectors == {"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}
    assert detail["eventTime"] == "2025-11-01T00:00:00Z"
    assert previous_selectors(history[:1], "audit", before, [C]) == ({"EventSelectors": [ALL_MANAGEMENT]}, history[0])
    assert previous_selectors(history[3:], "audit", before, [C]) is None


def test_lifecycle_rules_are_read_from_the_record_as_cloudtrail_writes_them():
    from responder.decide.bucket_lifecycle import previous_lifecycle, rules_of

    stratus = {"Host": "team-audit-logs.s3.us-east-1.amazonaws.com", "bucketName": "team-audit-logs", "lifecycle": "",
               "LifecycleConfiguration": {"Rule": {"Expiration": {"Days": 1}, "Filter": {"Prefix": "*"},
                                                   "ID": "nuke-cloudtrail-logs-after-1-day", "Status": "Enabled"},
                                          "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}}  # fmt: skip
    [found] = left_behind_from([record("PutBucketLifecycle", "s3.amazonaws.com", stratus, None)])
    assert (found.target, found.undo) == ("team-audit-logs", None)  # never changed: it could expire any data
    assert "put back what was there before" in found.why
    assert rules_of(stratus["LifecycleConfiguration"]) == [
        {"Expiration": {"Days": 1}, "Filter": {"Prefix": "*"}, "ID": "nuke-cloudtrail-logs-after-1-day", "Status": "Enabled"}
    ]  # fmt: skip
    team = {"Rule": [
        {"ID": "archive", "Status": "Enabled", "Filter": {"And": {"Prefix": "AWSLogs/", "Tag": [
            {"Key": "tier", "Value": "cold"}, {"Key": "team", "Value": "platform"}]}},
         "Transition": [{"Days": "30", "StorageClass": "STANDARD_IA"}, {"Days": "90", "StorageClass": "GLACIER"}],
         "NoncurrentVersionExpiration": {"NoncurrentDays": "30"}},
        {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": ""},
         "Expiration": {"ExpiredObjectDeleteMarker": "true"}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    ]}  # fmt: skip
    assert rules_of(team) == [
        {"ID": "archive", "Status": "Enabled", "Filter": {"And": {"Prefix": "AWSLogs/", "Tags": [
            {"Key": "tier", "Value": "cold"}, {"Key": "team", "Value": "platform"}]}},
         "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 90, "StorageClass": "GLACIER"}],
         "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},
        {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": ""},
         "Expiration": {"ExpiredObjectDeleteMarker": True}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not read"):
        rules_of({"Rule": {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "FutureElement": {}}})

    def call(name: str, when: str, key: str = "AKIAI44QH8DHBEXAMPLE") -> dict[str, object]:
        request = {"bucketName": "team-audit-logs", "LifecycleConfiguration": team} if name == "PutBucketLifecycle" else {
            "bucketName": "team-audit-logs"}  # fmt: skip
        return {**record(name, "s3.amazonaws.com", request, None), "userIdentity": {**USER, "accessKeyId": key},
                "eventTime": when}  # fmt: skip

    before = datetime(2025, 12, 31, tzinfo=UTC)
    put, deleted = (
        call("PutBucketLifecycle", "2025-11-01T00:00:00Z"),
        call("DeleteBucketLifecycle", "2025-11-02T00:00:00Z"),
    )
    assert previous_lifecycle([put], "team-audit-logs", before, [C]) == (rules_of(team), put)
    assert previous_lifecycle([put, deleted], "team-audit-logs", before, [C]) == (None, deleted)  # it had none
    assert (
        previous_lifecycle([call("DeleteBucketLifecycle", "2025-11-02T00:00:00Z", C)], "team-audit-logs", before, [C])
        is None
    )


def test_a_deleted_flow_log_is_created_again_only_as_its_own_record_made_it():
    from responder.actions.undo_flow_logs import creation_of

    stratus = {"DeleteFlowLogsRequest": {"FlowLogId": {"content": "fl-1234567890abcdef0", "tag": 1}}}  # its detonation
    [found] = left_behind_from([record("DeleteFlowLogs", "ec2.amazonaws.com", stratus, None)])
    assert (found.target, found.undo) == ("fl-1234567890abcdef0", "recreate-flow-log")
    several = {"DeleteFlowLogsRequest": {"FlowLogId": [{"content": "fl-1", "tag": 1}, {"content": "fl-2", "tag": 2}]}}
    assert [i.target for i in left_behind_from([record("DeleteFlowLogs", "ec2.amazonaws.com", several, None)])] == [
        "fl-1", "fl-2"]  # fmt: skip

    def created(flow_log: str, key: str = "AKIAI44QH8DHBEXAMPLE", **request: object) -> dict[str, object]:
        made = {"ResourceId": {"tag": 1, "content": "vpc-1a2b3c4d"}, "ResourceType": "VPC", "TrafficType": "REJECT",
                "LogDestinationType": "cloud-watch-logs", "MaxAggregationInterval": 600,
                "LogDestination": "arn:aws:logs:us-east-1:123456789012:log-group:/team/vpc-flow-logs",
                "DeliverLogsPermissionArn": "arn:aws:iam::123456789012:role/flow-logs-delivery", **request}  # fmt: skip
        response = {"CreateFlowLogsResponse": {"flowLogIdSet": {"item": flow_log}, "unsuccessful": ""}}
        return {**record("CreateFlowLogs", "ec2.amazonaws.com", {"CreateFlowLogsRequest": made}, response),
                "userIdentity": {**USER, "accessKeyId": key}, "eventTime": "2025-11-01T00:00:00Z"}  # fmt: skip

    before = datetime(2025, 12, 31, tzinfo=UTC)
    args, what = creation_of([created("fl-2"), created("fl-1234567890abcdef0")], "fl-1234567890abcdef0", before, [C])
    assert args == {"ResourceIds": ["vpc-1a2b3c4d"], "ResourceType": "VPC", "TrafficType": "REJECT",
                    "LogDestinationType": "cloud-watch-logs", "MaxAggregationInterval": 600,
                    "LogDestination": "arn:aws:logs:us-east-1:123456789012:log-group:/team/vpc-flow-logs",
                    "DeliverLogsPermissionArn": "arn:aws:iam::123456789012:role/flow-logs-delivery"}  # fmt: skip
    assert "created again as CreateFlowLogs at 2025-11-01T00:00:00Z" in what
    cases = {
        "published to s3": created("fl-1", LogDestinationType="s3", LogDestination="arn:aws:s3:::logs",
                                   DeliverLogsPermissionArn=None),
        "2 VPC resources in one call": created("fl-1", ResourceId=[{"tag": 1, "content": "vpc-1a2b3c4d"},
                                                                   {"tag": 2, "content": "vpc-4d3c2b1a"}]),
        "created by the chain itself": created("fl-1", C),
        "not in the event history": created("fl-other"),
    }  # fmt: skip
    for why, detail in cases.items():
        args, what = creation_of([detail], "fl-1", before, [C])
        assert args is None and why in what, (why, what)


def test_dns_logging_deleted_and_amis_deregistered_are_listed_with_what_to_recreate():
    deleted = record(
        "DeleteResolverQueryLogConfig",
        "route53resolver.amazonaws.com",
        {"originSequenceNumber": 0, "resolverQueryLogConfigId": "rslvr-qlc-1234567890abcdef"},
        {
            "resolverQueryLogConfig": {
                "associationCount": 0,
                "destinationArn": "arn:aws:s3:::team-dns-logs",
                "id": "rslvr-qlc-1234567890abcdef",
                "name": "team-dns",
                "status": "DELETING",
            }
        },
    )  # fmt: skip (Stratus Red Team's dns-delete-logs detonation record)
    deregistered = record("DeregisterImage", "ec2.amazonaws.com",
                          {"imageId": "ami-1234567890abcdef0", "deleteAssociatedSnapshots": False}, {"_return": True})  # fmt: skip
    steps = plan_undos(left_behind_from([deleted, deregistered]))
    assert [(s.action, s.target, s.status) for s in steps] == [
        ("review-left-behind", "rslvr-qlc-1234567890abcdef", "skipped"),
        ("review-left-behind", "ami-1234567890abcdef0", "skipped"),
    ]
    assert "team-dns (to arn:aws:s3:::team-dns-logs) deleted" in steps[0].reason
    assert "Recycle Bin" in steps[1].reason


def test_a_deleted_trail_is_created_again_only_as_the_team_made_it():
    from responder.actions.undo_trail_deleted import recreation_of

    team = "AKIAI44QH8DHBEXAMPLE"

    def call(name: str, when: str, key: str = team, **request: object) -> dict[str, object]:
        return {**record(name, "cloudtrail.amazonaws.com", {"name": "audit", **request}, None),
                "userIdentity": {**USER, "accessKeyId": key}, "eventTime": when}  # fmt: skip

    created = call("CreateTrail", "2025-10-01T00:00:00Z", s3BucketName="team-logs", isMultiRegionTrail=True,
                   enableLogFileValidation=True, kmsKeyId="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                   cloudWatchLogsLogGroupArn="arn:aws:logs:us-east-1:123456789012:log-group:trail:*")  # fmt: skip
    history = [
        created,
        call("StartLogging", "2025-10-01T00:00:00Z"),
        call("UpdateTrail", "2025-11-01T00:00:00Z", s3KeyPrefix="audit/"),
        call("StopLogging", "2025-12-01T00:00:00Z", key=C),  # the chain's own: not the team's will
        call("UpdateTrail", "2026-01-02T00:00:00Z", s3KeyPrefix="after/"),  # after the deletion
    ]
    before = datetime(2025, 12, 31, tzinfo=UTC)
    plan, what = recreation_of(history, "audit", before, [C])
    assert plan == {"create": {"Name": "audit", "S3BucketName": "team-logs", "IsMultiRegionTrail": True,
                               "EnableLogFileValidation": True, "S3KeyPrefix": "audit/",
                               "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
                    "selectors": None, "start": True}  # fmt: skip
    assert "and 1 UpdateTrail since" in what and "not put back: its CloudWatch Logs delivery" in what
    stopped, _ = recreation_of([*history[:3], call("StopLogging", "2025-12-02T00:00:00Z")], "audit", before, [C])
    assert stopped is not None and stopped["start"] is False
    organization = call("CreateTrail", "2025-10-01T00:00:00Z", s3BucketName="org-logs", isOrganizationTrail=True)
    for records, why in (([organization], "organization trail"), (history[1:], "not in the event history"),
                         ([call("CreateTrail", "2025-10-01T00:00:00Z", key=C, s3BucketName="x")], "not in the event")):  # fmt: skip
        plan, what = recreation_of(records, "audit", before, [C])
        assert plan is None and why in what, what
