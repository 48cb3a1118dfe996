"""The IAM policies the stack gives each function and the member role, built in-process by the stack's own
builder (``infra.policy_documents``) for the emulated account and the configuration the handlers read: what
the emulated authorization (``tools.emulator.authorization``) evaluates every handler call against."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from responder.core.config import DEFAULT_PROTECT_TAG_KEY
from responder.core.table_keys import TABLES

from compromise_responder.infra.config import ResponderConfig, load
from compromise_responder.infra.policy_documents import (
    SWEEP_STATE_MACHINE_NAME,
    Place,
    boundary_statements,
    function_statements,
    member_statements,
    own_resources,
)
from compromise_responder.tools.emulator import HOME
from compromise_responder.tools.emulator.authorization import Policies, organization_of

MEMBER = "member-role"


def configuration() -> ResponderConfig:
    """The stack's configuration matching what the handlers read from the environment (not validated again:
    hostile-input tests set values the stack would refuse)."""
    member_role = os.environ.get("MEMBER_ROLE_NAME", "").strip()
    principals = tuple(p.strip() for p in os.environ.get("PROTECTED_PRINCIPALS", "").split(",") if p.strip())
    return dataclasses.replace(
        load({}),
        protected_principals=principals,
        protect_tag_key=os.environ.get("PROTECT_TAG_KEY", "").strip() or DEFAULT_PROTECT_TAG_KEY,
        security_hub_findings=True,  # the tests exercise the Security Hub paths: its grants are checked too
        organization=bool(member_role),
        member_role_name=member_role or "CompromiseResponderMember",
    )


def policies(handler: str, hub: str) -> Callable[[str], Policies]:
    """account -> (identity policies, boundary): the handler's function role in the hub, the member role elsewhere."""
    config = configuration()
    found = organization_of(hub)
    config = dataclasses.replace(config, organization_id=found[1] if found else "")
    tables = {
        logical: f"arn:aws:dynamodb:{HOME}:{hub}:table/{os.environ[spec['env']]}" for logical, spec in TABLES.items()
    }
    own = own_resources(
        partition="aws",
        region=HOME,
        account=hub,
        table_arns=tables,
        topic_arn=os.environ["NOTIFY_TOPIC_ARN"],
        state_machine_arn=os.environ.get("ORGANIZATION_SWEEP_STATE_MACHINE")
        or f"arn:aws:states:{HOME}:{hub}:stateMachine:{SWEEP_STATE_MACHINE_NAME}",
        member_role_name=config.member_role_name,
    )
    place = Place("aws", hub, config.organization_id, own)
    function: Policies = ([document(function_statements(handler, config, place))],
                          [document(boundary_statements(config, place))])  # fmt: skip
    members: dict[str, Policies] = {}

    def for_account(account: str) -> Policies:
        if account == hub:
            return function
        if account not in members:
            in_member = Place("aws", account, config.organization_id)
            members[account] = ([document(member_statements(config, in_member))], [])
        return members[account]

    return for_account


def document(statements: list[dict[str, object]]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": statements}
