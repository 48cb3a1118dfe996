"""Reading synthesized CloudFormation templates in tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Every resource of one type, by logical id."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def attached_role_policies(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every policy attached to a role of the stack: the role's ``AWS::IAM::Policy`` and, once that passes IAM's
    10,240 characters of inline policy per role, the ``AWS::IAM::ManagedPolicy`` overflow CDK attaches to it."""
    return {
        k: v
        for k, v in template["Resources"].items()
        if v["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and v["Properties"].get("Roles")
    }


ACCOUNT = "123456789012"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": "us-east-1",
    "AWS::URLSuffix": "amazonaws.com",
}


# A resource's ``Ref`` and ``Arn`` as AWS would give them, by type (others: a distinct placeholder ARN).
_ARNS = {
    "AWS::DynamoDB::Table": ("{n}", "arn:aws:dynamodb:us-east-1:{a}:table/{n}"),
    "AWS::SNS::Topic": ("arn:aws:sns:us-east-1:{a}:{n}", "arn:aws:sns:us-east-1:{a}:{n}"),
    "AWS::SQS::Queue": ("https://sqs.us-east-1.amazonaws.com/{a}/{n}", "arn:aws:sqs:us-east-1:{a}:{n}"),
    "AWS::KMS::Key": ("{n}", "arn:aws:kms:us-east-1:{a}:key/{n}"),
    "AWS::Logs::LogGroup": ("{n}", "arn:aws:logs:us-east-1:{a}:log-group:{n}:*"),
    "AWS::IAM::Role": ("{n}", "arn:aws:iam::{a}:role/compromise-responder/{n}"),
    "AWS::IAM::ManagedPolicy": ("arn:aws:iam::{a}:policy/compromise-responder/{n}",) * 2,
    "AWS::Lambda::Function": ("{n}", "arn:aws:lambda:us-east-1:{a}:function:{n}"),
    "AWS::S3::Bucket": ("{n}", "arn:aws:s3:::{n}"),
    "AWS::StepFunctions::StateMachine": ("arn:aws:states:us-east-1:{a}:stateMachine:{n}",) * 2,
}


def refs(template: dict[str, Any]) -> dict[str, str]:
    """Values for every ``Ref``/``Fn::GetAtt ... Arn`` of a synthesized template, to evaluate and review its
    policies as the documents IAM would hold: account 123456789012 in us-east-1, each resource named by its
    logical id."""
    out = dict(PSEUDO)
    for logical, resource in template["Resources"].items():
        ref, arn = _ARNS.get(resource["Type"], ("{n}", "arn:aws:cloudformation:us-east-1:{a}:resource/{n}"))
        out[logical] = ref.format(a=ACCOUNT, n=logical.lower())
        out[f"{logical}.Arn"] = arn.format(a=ACCOUNT, n=logical.lower())
    return out


def role_of(template: dict[str, Any], handler_string: str) -> str:
    """The logical id of the role of the function whose handler is ``handler_string``."""
    for fn in resources(template, "AWS::Lambda::Function").values():
        if fn["Properties"]["Handler"] == handler_string:
            return str(fn["Properties"]["Role"]["Fn::GetAtt"][0])
    raise AssertionError(f"no function {handler_string}")


def cfn_lint(*templates: Path) -> str:
    """cfn-lint (the project's .cfnlintrc.yaml) on synthesized templates: its complaints, empty when clean."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--config-file", str(ROOT / ".cfnlintrc.yaml"),
         *map(str, templates)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    return "" if done.returncode == 0 else done.stdout + done.stderr
