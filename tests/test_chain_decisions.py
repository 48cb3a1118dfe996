"""The chain and the undo table as pure decisions: records in the shapes AWS writes them (Stratus Red Team's
detonation records, ids replaced by AWS documentation examples) in, links and steps out."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from responder.chain import Chain, Link, link_of, plan_cuts
from responder.left_behind import left_behind_from, plan_undos, previous_trust, without_outside_principals
from responder.rogue import RoguePolicy

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
    from responder.left_behind_tags import guard_protected, key_of

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
