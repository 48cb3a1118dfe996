"""Which account a response acts in, and whether it may (contract: "Organization mode", "Truth of the report").

Single-account mode: the function's own account only; an event naming another account notifies and
changes nothing. Organization mode (MEMBER_ROLE_NAME set): the account the event names, through the member
role assumed from the hub (session name = the incident id, so the member's CloudTrail shows who acted);
a protected account only notifies; a runbook's ``accountId`` must be an account of the organization.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ..aws import AWS_ERRORS, Clients, assumed, describe_error, error_code
from ..core import capabilities as cap
from ..parse.events import BadInput

if TYPE_CHECKING:
    from .context import ResponseContext

MEMBER_ROLE = cap.declare(
    "read",
    "member-role",
    grants=(cap.Grant(("sts:AssumeRole",), (cap.MEMBER_ROLE,), (cap.IN_ORGANIZATION,)),),
    doc="organization mode: act in a member account (a role of the organization only)",
)
ORGANIZATION_ACCOUNTS = cap.declare(
    "read",
    "organization-accounts",
    grants=(
        cap.Grant(("organizations:ListAccounts",)),
        cap.Grant(("organizations:DescribeAccount",), (cap.ORGANIZATION_ACCOUNT,)),
    ),
    doc="organization mode: the accounts to sweep, an account's name, membership of a runbook's accountId",
)


def refusal(ctx: ResponseContext) -> str | None:
    """Why the responder may not act in the account the event names, if it may not."""
    if not ctx.account or ctx.account == ctx.own_account:
        return None
    if not ctx.settings.organization:
        return (
            f"the event names account {ctx.account}, but this responder acts only in its own account "
            f"{ctx.own_account} (single-account mode)"
        )
    if ctx.account in ctx.settings.protected_accounts:
        return f"account {ctx.account} is in PROTECTED_ACCOUNTS: notify only, nothing is changed there"
    return None


def role_arn(ctx: ResponseContext, account: str) -> str:
    return f"arn:{ctx.settings.partition}:iam::{account}:role/{ctx.settings.member_role_name}"


def member_clients(ctx: ResponseContext, account: str) -> Clients:
    """Clients in ``account`` through the member role (the hub's own clients for the hub's own account)."""
    if account == ctx.own_account or not ctx.settings.organization:
        return ctx.home
    session = f"compromise-responder-{ctx.incident_id}"
    return assumed(ctx.home, role_arn(ctx, account), session, ctx.settings.home_region)


def act_in(ctx: ResponseContext) -> str | None:
    """Point ``ctx.clients`` at the account acted on; the error (code and message) when its role cannot be
    assumed - then nothing is planned or changed there, the team is told, and the platform retries."""
    try:
        ctx.clients = member_clients(ctx, str(ctx.account))
    except AWS_ERRORS as exc:
        return f"could not assume {role_arn(ctx, str(ctx.account))}: {describe_error(exc)}"
    return None


def verify_member(hub: Clients, region: str, account: str, field: str, what: str) -> None:
    """A caller-named account must be one of the organization's (refused as bad input before anything)."""
    try:
        hub.get("organizations", region).describe_account(AccountId=account)
    except ClientError as exc:
        if error_code(exc) in ("AccountNotFoundException", "InvalidInputException"):
            raise BadInput(f"{what}: field '{field}': {account} is not an account of the organization") from None
        raise


def account_name(hub: Clients, region: str, account: str) -> str | None:
    """The account's name from Organizations, for the notification (best effort: None when unknown)."""
    try:
        return str(hub.get("organizations", region).describe_account(AccountId=account)["Account"]["Name"])
    except AWS_ERRORS:
        return None


def active_accounts(hub: Clients, region: str) -> list[str]:
    """Every ACTIVE account of the organization."""
    pages = hub.get("organizations", region).get_paginator("list_accounts").paginate()
    return sorted(str(a["Id"]) for page in pages for a in page.get("Accounts", []) if a.get("Status") == "ACTIVE")
