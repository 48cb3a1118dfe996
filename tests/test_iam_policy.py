"""The IAM evaluator that least-privilege tests rely on: each rule of AWS's evaluation logic it claims to follow."""

from __future__ import annotations

from typing import Any

import pytest

from compromise_responder.tools.iam_policy import Context, allows, evaluate, resolve, statements_of

ACCOUNT = "123456789012"
BUCKET = "arn:aws:s3:::example-bucket"
OBJECT = f"{BUCKET}/reports/2024/summary.csv"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/example-role"
INSTANCE = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0123456789abcdef0"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def stmt(effect: str = "Allow", action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def holds(condition: dict[str, Any], context: Context | None = None) -> bool:
    """Whether a condition block is true, seen through an Allow statement guarded by it."""
    return allows("s3:GetObject", OBJECT, [doc(stmt(Condition=condition))], context=context)


# --- decisions ------------------------------------------------------------------------------------------


def test_nothing_granted_is_an_implicit_deny() -> None:
    assert evaluate("s3:GetObject", OBJECT, []) == "implicit-deny"
    assert evaluate("s3:GetObject", OBJECT, [doc(stmt(action="s3:PutObject"))]) == "implicit-deny"


def test_explicit_deny_beats_allow_within_and_across_policies() -> None:
    allow_all = doc(stmt())
    assert evaluate("s3:GetObject", OBJECT, [allow_all]) == "allow"
    assert evaluate("s3:GetObject", OBJECT, [doc(stmt(), stmt("Deny", "s3:Get*"))]) == "explicit-deny"
    assert evaluate("s3:GetObject", OBJECT, [allow_all, doc(stmt("Deny", "s3:*", BUCKET + "/*"))]) == "explicit-deny"
    assert not allows("s3:GetObject", OBJECT, [doc(stmt("Deny")), allow_all])


def test_boundary_limits_what_identity_policies_allow() -> None:
    identity = [doc(stmt(action="s3:*"))]
    boundary = [doc(stmt(action=["s3:GetObject", "ec2:*"]))]
    assert evaluate("s3:GetObject", OBJECT, identity, boundary=boundary) == "allow"
    assert evaluate("s3:PutObject", OBJECT, identity, boundary=boundary) == "implicit-deny"
    # the boundary grants nothing by itself
    assert evaluate("ec2:StopInstances", INSTANCE, identity, boundary=boundary) == "implicit-deny"


def test_deny_in_boundary_is_explicit_and_empty_boundary_is_none() -> None:
    identity = [doc(stmt())]
    boundary = [doc(stmt(), stmt("Deny", "iam:*"))]
    assert evaluate("iam:CreateUser", "*", identity, boundary=boundary) == "explicit-deny"
    assert evaluate("iam:CreateUser", "*", identity, boundary=[]) == "allow"


def test_single_statement_object_and_scalar_elements() -> None:
    assert allows("s3:GetObject", OBJECT, [{"Statement": stmt(action="s3:GetObject", resource=OBJECT)}])


def test_malformed_statements_raise() -> None:
    with pytest.raises(ValueError, match="Resource"):
        evaluate("s3:GetObject", OBJECT, [doc({"Effect": "Allow", "Action": "*"})])
    with pytest.raises(ValueError, match="Effect"):
        evaluate("s3:GetObject", OBJECT, [doc(stmt("allow"))])


# --- Action and Resource ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("ec2:Cancel*", "ec2:CancelSpotFleetRequests", True),
        ("ec2:Cancel*", "ec2:CreateTags", False),
        ("EC2:cancel*", "ec2:CancelSpotFleetRequests", True),  # actions are case-insensitive
        ("iam:*", "IAM:CreateUser", True),
        ("*", "sts:AssumeRole", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get?bject", "s3:GetObjectAcl", False),  # the whole action must match
        ("s3:GetObject", "s3:GetObjectAcl", False),
        ("iam:*", "iam-x:CreateUser", False),
    ],
)
def test_action_matching(pattern: str, action: str, expected: bool) -> None:
    assert allows(action, "*", [doc(stmt(action=pattern))]) is expected


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        (f"{BUCKET}/*", OBJECT, True),  # * spans "/"
        ("arn:aws:ec2:*", INSTANCE, True),  # * spans ":"
        (f"arn:aws:ec2:*:{ACCOUNT}:instance/*", INSTANCE, True),
        (f"arn:aws:ec2:*:{ACCOUNT}:volume/*", INSTANCE, False),
        (f"{BUCKET}/reports/202?/*", OBJECT, True),
        (f"{BUCKET}/reports/20?/*", OBJECT, False),  # ? is exactly one character
        (f"{BUCKET}/Reports/*", OBJECT, False),  # resources are case-sensitive
        (BUCKET, OBJECT, False),
    ],
)
def test_resource_matching(pattern: str, resource: str, expected: bool) -> None:
    assert allows("s3:GetObject", resource, [doc(stmt(resource=pattern))]) is expected


def test_not_action_allows_everything_else() -> None:
    policy = [doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})]
    assert allows("ec2:StopInstances", INSTANCE, policy)
    assert not allows("iam:CreateAccessKey", ROLE, policy)
    assert not allows("Organizations:LeaveOrganization", "*", policy)


def test_not_resource_denies_everything_else() -> None:
    policies = [doc(stmt(), {"Effect": "Deny", "Action": "s3:*", "NotResource": [BUCKET, f"{BUCKET}/*"]})]
    assert evaluate("s3:GetObject", OBJECT, policies) == "allow"
    assert evaluate("s3:GetObject", "arn:aws:s3:::other-bucket/x", policies) == "explicit-deny"


# --- conditions ------------------------------------------------------------------------------------------

SOURCE_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:example-fn"


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        # strings: exact, case-sensitive; missing key -> positive false, negated true
        ({"StringEquals": {"aws:PrincipalTag/team": "sec"}}, {"aws:PrincipalTag/team": "sec"}, True),
        ({"StringEquals": {"aws:PrincipalTag/team": "sec"}}, {"aws:PrincipalTag/team": "Sec"}, False),
        ({"StringEquals": {"aws:PrincipalTag/team": "se*"}}, {"aws:PrincipalTag/team": "sec"}, False),
        ({"StringEquals": {"aws:PrincipalTag/team": "sec"}}, {}, False),
        ({"StringNotEquals": {"aws:PrincipalTag/team": "sec"}}, {"aws:PrincipalTag/team": "sec"}, False),
        ({"StringNotEquals": {"aws:PrincipalTag/team": "sec"}}, {"aws:PrincipalTag/team": "ops"}, True),
        ({"StringNotEquals": {"aws:PrincipalTag/team": "sec"}}, {}, True),
        ({"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "SEC"}}, {"aws:PrincipalTag/team": "sec"}, True),
        ({"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "SEC"}}, {}, False),
        ({"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/team": "SEC"}}, {"aws:PrincipalTag/team": "sec"}, False),
        ({"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/team": "SEC"}}, {}, True),
        ({"StringLike": {"s3:prefix": "reports/*"}}, {"s3:prefix": "reports/2024/"}, True),
        ({"StringLike": {"s3:prefix": "reports/?"}}, {"s3:prefix": "reports/24"}, False),
        ({"StringLike": {"s3:prefix": "reports/*"}}, {}, False),
        ({"StringNotLike": {"s3:prefix": "reports/*"}}, {"s3:prefix": "reports/2024/"}, False),
        ({"StringNotLike": {"s3:prefix": "reports/*"}}, {}, True),
        # ARNs: wildcards stay within one colon-separated field
        ({"ArnEquals": {"aws:SourceArn": SOURCE_ARN}}, {"aws:SourceArn": SOURCE_ARN}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:lambda:*:*:function:example-*"}}, {"aws:SourceArn": SOURCE_ARN}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:*:function:example-fn"}}, {"aws:SourceArn": SOURCE_ARN}, False),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:lambda:*:*:function:*"}}, {}, False),
        ({"ArnNotEquals": {"aws:SourceArn": SOURCE_ARN}}, {"aws:SourceArn": SOURCE_ARN}, False),
        ({"ArnNotEquals": {"aws:SourceArn": SOURCE_ARN}}, {}, True),
        ({"ArnNotLike": {"aws:SourceArn": "arn:aws:lambda:*:*:function:other-*"}}, {"aws:SourceArn": SOURCE_ARN}, True),
        ({"ArnNotLike": {"aws:SourceArn": "arn:aws:lambda:*:*:function:*"}}, {"aws:SourceArn": SOURCE_ARN}, False),
        ({"ArnNotLike": {"aws:SourceArn": "arn:aws:lambda:*:*:function:*"}}, {}, True),
        # Bool: JSON booleans and strings alike
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, True),
        ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "false"}, False),
        ({"Bool": {"aws:SecureTransport": "True"}}, {"aws:SecureTransport": True}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, {}, False),
        # Null: "true" iff absent, "false" iff present
        ({"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
        ({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, False),
        ({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, True),
        ({"Null": {"aws:TokenIssueTime": False}}, {}, False),
        ({"Null": {"aws:TagKeys": "true"}}, {"aws:TagKeys": []}, True),  # no values is no key
        # dates: ISO 8601 (zone or none) or epoch seconds
        (
            {"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}},
            {"aws:CurrentTime": "2024-06-01T12:00:00Z"},
            True,
        ),
        (
            {"DateLessThan": {"aws:CurrentTime": "2024-06-01T12:00:00Z"}},
            {"aws:CurrentTime": "2024-06-01T12:00:00Z"},
            False,
        ),
        (
            {"DateLessThanEquals": {"aws:CurrentTime": "2024-06-01T12:00:00Z"}},
            {"aws:CurrentTime": "2024-06-01T12:00:00Z"},
            True,
        ),
        (
            {"DateGreaterThan": {"aws:CurrentTime": "2024-06-01"}},
            {"aws:CurrentTime": "2024-06-01T00:00:01+00:00"},
            True,
        ),
        (
            {"DateGreaterThanEquals": {"aws:CurrentTime": "1717243200"}},
            {"aws:CurrentTime": "2024-06-01T11:59:59Z"},
            False,
        ),
        ({"DateGreaterThan": {"aws:CurrentTime": "2024-06-01"}}, {}, False),
        # numbers compare as numbers, not strings
        ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10.0"}, True),
        ({"NumericNotEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, False),
        ({"NumericNotEquals": {"s3:max-keys": "10"}}, {}, True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "9"}, True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, False),
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
        ({"NumericGreaterThan": {"s3:max-keys": "9"}}, {"s3:max-keys": "10"}, True),
        ({"NumericGreaterThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "9"}, False),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {}, False),
        # ...IfExists: true when absent, the plain operator when present
        ({"StringEqualsIfExists": {"ec2:ResourceTag/env": "dev"}}, {}, True),
        ({"StringEqualsIfExists": {"ec2:ResourceTag/env": "dev"}}, {"ec2:ResourceTag/env": "prod"}, False),
        ({"StringEqualsIfExists": {"ec2:ResourceTag/env": "dev"}}, {"ec2:ResourceTag/env": "dev"}, True),
        ({"NumericLessThanIfExists": {"s3:max-keys": "10"}}, {}, True),
        ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": False}, False),
    ],
)
def test_condition_operator(condition: dict[str, Any], context: Context, expected: bool) -> None:
    assert holds(condition, context) is expected


def test_values_for_one_key_are_ored_and_negated_operators_need_no_match() -> None:
    values = {"aws:PrincipalTag/team": ["sec", "ops"]}
    assert holds({"StringEquals": values}, {"aws:PrincipalTag/team": "ops"})
    assert not holds({"StringEquals": values}, {"aws:PrincipalTag/team": "dev"})
    assert not holds({"StringNotEquals": values}, {"aws:PrincipalTag/team": "ops"})
    assert holds({"StringNotEquals": values}, {"aws:PrincipalTag/team": "dev"})


def test_keys_and_operators_are_anded() -> None:
    block = {"StringEquals": {"aws:PrincipalTag/team": "sec", "aws:RequestedRegion": "us-east-1"}}
    assert holds(block, {"aws:PrincipalTag/team": "sec", "aws:RequestedRegion": "us-east-1"})
    assert not holds(block, {"aws:PrincipalTag/team": "sec", "aws:RequestedRegion": "eu-west-1"})
    both = {"StringEquals": {"aws:PrincipalTag/team": "sec"}, "Bool": {"aws:SecureTransport": "true"}}
    assert holds(both, {"aws:PrincipalTag/team": "sec", "aws:SecureTransport": True})
    assert not holds(both, {"aws:PrincipalTag/team": "sec", "aws:SecureTransport": False})


def test_condition_key_names_are_case_insensitive_but_tag_keys_are_not() -> None:
    assert holds({"StringEquals": {"AWS:RequestedRegion": "us-east-1"}}, {"aws:requestedregion": "us-east-1"})
    assert holds({"StringEquals": {"aws:resourcetag/Owner": "alice"}}, {"aws:ResourceTag/Owner": "alice"})
    assert not holds({"StringEquals": {"aws:ResourceTag/owner": "alice"}}, {"aws:ResourceTag/Owner": "alice"})


@pytest.mark.parametrize(
    ("condition", "tag_keys", "expected"),
    [
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner"]}}, ["env"], True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner"]}}, ["env", "cost"], False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner"]}}, None, True),  # vacuously
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner"]}}, [], True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "owner"]}}, ["cost", "owner"], True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "owner"]}}, ["cost"], False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "owner"]}}, None, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "owner"]}}, [], False),
        ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": "env"}}, None, False),
        ({"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "env"}}, None, True),
        # AWS's example: every key must lack the prefix
        ({"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}, ["key1:legal"], False),
        ({"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}, ["key2:audit"], True),
        ({"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}, ["key2:audit", "key1:hr"], False),
        ({"ForAnyValue:StringNotLike": {"aws:TagKeys": "key1*"}}, ["key2:audit", "key1:hr"], True),
        # a plain operator on a list-valued key behaves like ForAnyValue
        ({"StringEquals": {"aws:TagKeys": "env"}}, ["cost", "env"], True),
        ({"StringEquals": {"aws:TagKeys": "env"}}, ["cost"], False),
        ({"StringNotEquals": {"aws:TagKeys": "env"}}, ["env"], False),
        ({"StringNotEquals": {"aws:TagKeys": "env"}}, [], True),  # no values: absent
    ],
)
def test_set_operators(condition: dict[str, Any], tag_keys: list[str] | None, expected: bool) -> None:
    assert holds(condition, {} if tag_keys is None else {"aws:TagKeys": tag_keys}) is expected


@pytest.mark.parametrize(
    "operator", ["StringMatches", "IpAddress", "ForSomeValues:StringEquals", "NullIfExists", "ForAnyValue:Null"]
)
def test_unknown_operator_raises_even_beside_a_false_condition(operator: str) -> None:
    deny = stmt("Deny", Condition={"Bool": {"aws:SecureTransport": "false"}, operator: {"aws:SourceIp": "10.0.0.0/8"}})
    with pytest.raises(ValueError, match=operator):
        evaluate("s3:GetObject", OBJECT, [doc(stmt(), deny)], context={"aws:SecureTransport": True})


# --- policy variables ------------------------------------------------------------------------------------

HOME = f"{BUCKET}/home/${{aws:username}}/*"


def test_policy_variable_in_resource_is_substituted() -> None:
    policy = [doc(stmt(action="s3:*", resource=HOME))]
    assert allows("s3:GetObject", f"{BUCKET}/home/alice/notes.txt", policy, context={"aws:username": "alice"})
    assert not allows("s3:GetObject", f"{BUCKET}/home/bob/notes.txt", policy, context={"aws:username": "alice"})
    # the value is literal: a "*" in it is no wildcard
    assert not allows("s3:GetObject", f"{BUCKET}/home/alice/x", policy, context={"aws:username": "*"})


def test_statement_with_unresolved_variable_does_not_match() -> None:
    assert not allows("s3:GetObject", f"{BUCKET}/home/alice/notes.txt", [doc(stmt(resource=HOME))])
    guarded = [doc(stmt(), stmt("Deny", resource=HOME))]
    assert evaluate("s3:GetObject", f"{BUCKET}/home/alice/x", guarded) == "allow"
    # whatever else the statement lists, and in whichever order
    listed = [doc(stmt(), stmt("Deny", resource=[OBJECT, HOME]))]
    assert evaluate("s3:GetObject", OBJECT, listed) == "allow"
    negated = [doc(stmt(), {"Effect": "Deny", "Action": "*", "NotResource": [HOME, "arn:aws:s3:::unrelated"]})]
    assert evaluate("s3:GetObject", OBJECT, negated) == "allow"
    # multivalued keys cannot be variables
    users = {"aws:username": ["alice", "bob"]}
    assert not allows("s3:GetObject", f"{BUCKET}/home/alice/x", [doc(stmt(resource=HOME))], context=users)


def test_policy_variable_default_and_escapes() -> None:
    policy = [doc(stmt(resource=f"{BUCKET}/home/${{aws:username, 'shared'}}/${{*}}"))]
    assert allows("s3:GetObject", f"{BUCKET}/home/shared/*", policy)
    assert not allows("s3:GetObject", f"{BUCKET}/home/shared/x", policy)
    assert allows("s3:GetObject", f"{BUCKET}/home/alice/*", policy, context={"aws:username": "alice"})


def test_policy_variable_in_condition_value() -> None:
    condition = {"StringEquals": {"aws:ResourceTag/owner": "${aws:PrincipalTag/owner}"}}
    assert holds(condition, {"aws:ResourceTag/owner": "alice", "aws:PrincipalTag/owner": "alice"})
    assert not holds(condition, {"aws:ResourceTag/owner": "alice", "aws:PrincipalTag/owner": "bob"})
    assert not holds(condition, {"aws:ResourceTag/owner": "${aws:PrincipalTag/owner}"})


# --- CloudFormation ----------------------------------------------------------------------------------------

REFS = {
    "AWS::Partition": "aws",
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": "us-east-1",
    "AWS::URLSuffix": "amazonaws.com",
    "ExampleRole": "example-role",
    "ExampleRole.Arn": ROLE,
    "ExampleBucket": "example-bucket",
    "ExampleBucket.Arn": BUCKET,
}


def test_resolve_ref_and_getatt() -> None:
    assert resolve({"Ref": "AWS::AccountId"}, REFS) == ACCOUNT
    assert resolve({"Fn::GetAtt": ["ExampleRole", "Arn"]}, REFS) == ROLE
    assert resolve({"Fn::GetAtt": "ExampleBucket.Arn"}, REFS) == BUCKET


def test_resolve_join_select_split() -> None:
    join = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": "ExampleBucket"}, "/*"]]}
    assert resolve(join, REFS) == f"{BUCKET}/*"
    assert resolve({"Fn::Split": [":", {"Fn::GetAtt": ["ExampleRole", "Arn"]}]}, REFS)[4] == ACCOUNT
    assert resolve({"Fn::Select": [1, ["a", {"Ref": "AWS::Region"}]]}, REFS) == "us-east-1"
    assert resolve({"Fn::Select": ["5", {"Fn::Split": [":", {"Ref": "ExampleRole.Arn"}]}]}, REFS) == "role/example-role"


def test_resolve_sub_with_refs_attributes_literals_and_variables() -> None:
    text = "arn:${AWS::Partition}:s3:::${ExampleBucket}/${!aws:username}/${ExampleRole.Arn}"
    assert resolve({"Fn::Sub": text}, REFS) == f"{BUCKET}/${{aws:username}}/{ROLE}"
    nested = {"Fn::Join": ["-", [{"Ref": "ExampleBucket"}, {"Fn::Select": [0, {"Fn::Split": [".", "logs.x"]}]}]]}
    sub = {"Fn::Sub": ["arn:${AWS::Partition}:s3:::${Name}/*", {"Name": nested}]}
    assert resolve(sub, REFS) == "arn:aws:s3:::example-bucket-logs/*"
    assert resolve({"Fn::Sub": ["${AWS::Region}", {"AWS::Region": "eu-west-1"}]}, REFS) == "eu-west-1"


def test_resolve_recurses_and_leaves_plain_values() -> None:
    fragment = {"Statement": [{"Resource": [{"Ref": "ExampleBucket.Arn"}, "*"], "Condition": {"Bool": {"k": True}}}]}
    assert resolve(fragment, REFS) == {"Statement": [{"Resource": [BUCKET, "*"], "Condition": {"Bool": {"k": True}}}]}


@pytest.mark.parametrize(
    "node",
    [
        {"Ref": "MissingQueue"},
        {"Fn::GetAtt": ["MissingQueue", "Arn"]},
        {"Fn::Sub": "arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:${MissingQueue}"},
        [{"Fn::Join": ["", [{"Ref": "MissingQueue"}]]}],
    ],
)
def test_resolve_unknown_reference_raises_key_error_naming_it(node: Any) -> None:
    with pytest.raises(KeyError, match="MissingQueue"):
        resolve(node, REFS)


def test_resolve_unsupported_intrinsic_raises() -> None:
    with pytest.raises(ValueError, match="Fn::If"):
        resolve({"Fn::If": ["IsProd", "a", "b"]}, REFS)


def role(**properties: Any) -> dict[str, Any]:
    trust = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust, **properties}}


BUCKET_ARN = {"Fn::GetAtt": ["ExampleBucket", "Arn"]}
AWS_MANAGED = {
    "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]]
}
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "ExampleBucket": {"Type": "AWS::S3::Bucket"},
        "ExampleRole": role(
            Policies=[
                {"PolicyName": "inline", "PolicyDocument": doc(stmt(action="s3:GetObject", resource=BUCKET_ARN))}
            ],
            ManagedPolicyArns=[AWS_MANAGED, {"Ref": "AttachedPolicy"}],
            PermissionsBoundary={"Ref": "Boundary"},
        ),
        "ExampleRoleDefaultPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "default",
                "Roles": [{"Ref": "ExampleRole"}],
                "PolicyDocument": doc(
                    stmt(action="s3:PutObject", resource={"Fn::Sub": "${ExampleBucket.Arn}/*"}),
                    stmt("Deny", "s3:PutObject", {"Fn::Join": ["", [BUCKET_ARN, "/locked/*"]]}),
                ),
            },
        },
        "AttachedPolicy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": doc(stmt(action="ec2:StopInstances"))},
        },
        "SharedPolicy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"Roles": [{"Ref": "ExampleRole"}], "PolicyDocument": doc(stmt(action="iam:CreateUser"))},
        },
        "Boundary": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": doc(stmt(action=["s3:*", "ec2:*", "sqs:*"]))},
        },
        "OtherRole": role(),
        "OtherRolePolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyName": "o", "Roles": [{"Ref": "OtherRole"}], "PolicyDocument": doc(stmt())},
        },
    }
}


def test_statements_of_collects_every_policy_of_the_role_resolved() -> None:
    identity, boundary = statements_of(TEMPLATE, "ExampleRole", REFS)
    actions = sorted(s["Action"] for d in identity for s in d["Statement"])
    assert actions == ["ec2:StopInstances", "iam:CreateUser", "s3:GetObject", "s3:PutObject", "s3:PutObject"]
    assert [s["Action"] for d in boundary for s in d["Statement"]] == [["s3:*", "ec2:*", "sqs:*"]]
    assert identity[0]["Statement"][0]["Resource"] == BUCKET  # inline policy first, GetAtt resolved

    def decide(action: str, resource: str) -> str:
        return evaluate(action, resource, identity, boundary=boundary)

    assert decide("s3:GetObject", BUCKET) == "allow"
    assert decide("s3:PutObject", OBJECT) == "allow"
    assert decide("s3:PutObject", f"{BUCKET}/locked/key") == "explicit-deny"
    assert decide("ec2:StopInstances", INSTANCE) == "allow"
    assert decide("iam:CreateUser", "*") == "implicit-deny"  # granted, but outside the boundary
    assert decide("sqs:SendMessage", "*") == "implicit-deny"  # in the boundary, but not granted
    assert decide("logs:CreateLogGroup", "*") == "implicit-deny"  # the AWS-managed policy is not evaluated


def test_statements_of_role_without_boundary_or_policies() -> None:
    identity, boundary = statements_of(TEMPLATE, "OtherRole", REFS)
    assert boundary == []
    assert len(identity) == 1
    assert allows("iam:CreateUser", "*", identity, boundary=boundary)


def test_statements_of_rejects_what_it_cannot_evaluate() -> None:
    external = {"Resources": {"R": role(PermissionsBoundary=f"arn:aws:iam::{ACCOUNT}:policy/example-boundary")}}
    with pytest.raises(ValueError, match="boundary"):
        statements_of(external, "R", REFS)
    with pytest.raises(ValueError, match="not an AWS::IAM::Role"):
        statements_of(TEMPLATE, "ExampleBucket", REFS)
