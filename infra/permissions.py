"""IAM policy statements built from the Lambda code's own capability declarations.

``responder.catalog.permissions_for(handler)`` says which actions a handler's flows call, grouped
by symbolic resource; this module resolves the symbols to the stack's ARNs.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from responder import capabilities as cap
from responder import catalog
from responder.table_keys import TABLES


def resources_for(
    symbol: str, table_arns: dict[str, str], topic_arn: str, member_role_name: str | None = None
) -> list[str]:
    if symbol == cap.MEMBER_ROLE and member_role_name:
        return [f"arn:{Aws.PARTITION}:iam::*:role/{member_role_name}"]
    if symbol == cap.SWEEP_STATE_MACHINE:
        from .organization import sweep_state_machine_arn

        return [sweep_state_machine_arn()]
    if symbol == cap.ANY:
        return ["*"]
    if symbol == cap.IAM_USER:
        return [f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:user/*"]
    if symbol == cap.IAM_ROLE:
        return [f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/*"]
    if symbol == cap.NOTIFY_TOPIC:
        return [topic_arn]
    if symbol == cap.SECURITY_HUB_PRODUCT:
        return [f"arn:{Aws.PARTITION}:securityhub:{Aws.REGION}:{Aws.ACCOUNT_ID}:product/{Aws.ACCOUNT_ID}/default"]
    if symbol == cap.SECURITY_HUB_HUB:
        return [f"arn:{Aws.PARTITION}:securityhub:{Aws.REGION}:{Aws.ACCOUNT_ID}:hub/default"]
    if symbol.startswith("table:"):
        logical = symbol.split(":", 1)[1]
        arn = table_arns[logical]
        return [arn] + [f"{arn}/index/{index}" for index in TABLES[logical]["indexes"]]
    raise ValueError(f"unknown symbolic resource {symbol!r}")


def statements_for(
    handler: str,
    table_arns: dict[str, str],
    topic_arn: str,
    member_role_name: str | None = None,
    organization_id: str = "",
    *,
    security_hub: bool = False,
) -> list[iam.PolicyStatement]:
    """One statement per resource group: exactly the actions the handler's flows declare (in organization mode
    also the member role, assumable only inside the organization; Security Hub's only when ``securityHubFindings``
    is on)."""
    organization = bool(member_role_name)
    return [
        iam.PolicyStatement(
            sid=_sid(symbol),
            actions=actions,
            resources=resources_for(symbol, table_arns, topic_arn, member_role_name),
            conditions={"StringEquals": {"aws:ResourceOrgID": organization_id}} if symbol == cap.MEMBER_ROLE else None,
        )
        for symbol, actions in catalog.permissions_for(handler, organization, security_hub=security_hub).items()
    ]


def _sid(symbol: str) -> str:
    return (
        "".join(
            part.capitalize()
            for part in symbol.replace("*", "all").replace(":", " ").replace("/", " ").replace("-", " ").split()
        )
        or "All"
    )
