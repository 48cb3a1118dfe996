"""Each function's IAM policy: the statements of ``policy_documents`` for the hub stack, as CDK statements.

``responder.shell.catalog.grants_for(handler, ...)`` says what a handler's flows call, on which resources, under which
conditions; here the responder's own resources get the stack's ARNs, and the configuration's denies are added.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from .config import ContextError, ResponderConfig
from .policy_documents import Place, boundary_statements, function_statements, own_resources


def hub_place(config: ResponderConfig, table_arns: dict[str, str], topic_arn: str) -> Place:
    """The hub account, with the stack's ARNs of the responder's own resources."""
    from .organization import sweep_state_machine_arn

    own = own_resources(
        partition=Aws.PARTITION,
        region=Aws.REGION,
        account=Aws.ACCOUNT_ID,
        table_arns=table_arns,
        topic_arn=topic_arn,
        state_machine_arn=sweep_state_machine_arn(),
        member_role_name=config.member_role_name,
    )
    return Place(Aws.PARTITION, Aws.ACCOUNT_ID, config.organization_id, own)


def statements_for(
    handler: str, config: ResponderConfig, table_arns: dict[str, str], topic_arn: str
) -> list[iam.PolicyStatement]:
    documents = function_statements(handler, config, hub_place(config, table_arns, topic_arn))
    return [iam.PolicyStatement.from_json(document) for document in documents]


# A role holds 10,240 characters of inline policy; CDK then moves statements to "overflow" managed policies by its
# own estimate of each token's length, which differs when the account is known - a diff with and without the
# account would show statements moving between policies. The split is made here, by sizes measured on literal
# ARNs, so it is the same in every synthesis: the first part inline (CDK adds its log, X-Ray, SQS and KMS grants to
# it), the rest in managed policies of at most 6,144 characters each.
INLINE_BUDGET = 7000
MANAGED_BUDGET = 5500


def statement_parts(
    handler: str, config: ResponderConfig, table_arns: dict[str, str], topic_arn: str
) -> list[list[iam.PolicyStatement]]:
    """The function's statements in parts: the first for the role's inline policy, each other a managed policy."""
    statements = statements_for(handler, config, table_arns, topic_arn)
    literal = own_resources(
        partition="aws",
        region="us-east-1",
        account=SOME_ACCOUNT,
        table_arns={
            k: f"arn:aws:dynamodb:us-east-1:{SOME_ACCOUNT}:table/CompromiseResponder-{k}-0123456789AB"
            for k in table_arns
        },
        topic_arn=f"arn:aws:sns:us-east-1:{SOME_ACCOUNT}:CompromiseResponder-Team0123456789AB",
        state_machine_arn=f"arn:aws:states:us-east-1:{SOME_ACCOUNT}:stateMachine:compromise-responder-sweep",
        member_role_name=config.member_role_name,
    )
    measured = function_statements(handler, config, Place("aws", SOME_ACCOUNT, config.organization_id, literal))
    assert len(measured) == len(statements)
    parts: list[list[iam.PolicyStatement]] = [[]]
    used = 0
    for statement, document in zip(statements, measured, strict=True):
        size = iam_chars(document) + 1
        budget = INLINE_BUDGET if len(parts) == 1 else MANAGED_BUDGET
        if parts[-1] and used + size > budget:
            parts.append([])
            used = 0
        parts[-1].append(statement)
        used += size
    return parts


def boundary_document(config: ResponderConfig) -> iam.PolicyDocument:
    place = Place(Aws.PARTITION, Aws.ACCOUNT_ID, config.organization_id)
    return iam.PolicyDocument.from_json({"Version": "2012-10-17", "Statement": boundary_statements(config, place)})


# IAM's quota for a managed policy (a permissions boundary is one), counted without whitespace.
MANAGED_POLICY_CHARS = 6144
SOME_ACCOUNT = "123456789012"  # stands for ${AWS::AccountId} when the account is unknown at synth: same length


def iam_chars(document: Any) -> int:
    """A policy's size as IAM counts it: the JSON without any whitespace."""
    return len(re.sub(r"\s", "", json.dumps(document, separators=(",", ":"))))


def check_boundary_size(config: ResponderConfig) -> int:
    """The boundary's size as IAM will count it. Over the quota, synth stops naming the setting that grows it
    (each ``protectedPrincipals`` entry adds one ARN pattern) - before CloudFormation fails half-way."""
    place = Place("aws", config.account or SOME_ACCOUNT, config.organization_id)
    size = iam_chars({"Version": "2012-10-17", "Statement": boundary_statements(config, place)})
    if size > MANAGED_POLICY_CHARS:
        raise ContextError(
            f"context 'protectedPrincipals': its {len(config.protected_principals)} entries make the functions' "
            f"permissions boundary {size} characters, more than IAM's {MANAGED_POLICY_CHARS} for a managed policy. "
            "List fewer principals, by name where you can (a name protects the user and the role of that name "
            "on any path, in fewer characters than an ARN)."
        )
    return size
