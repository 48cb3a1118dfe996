"""The managed quarantine policy: which ARN, in the account acted on; steps that attach or detach it carry it.

The stack creates the customer-managed deny-all policy ``compromise-responder-quarantine`` and passes its ARN
(``QUARANTINE_POLICY_ARN``); the function may attach and detach that policy only (``iam:PolicyARN``). In
organization mode each member account has its own, of the same name and path. Pure.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..actions import ActionName
from ..core.capabilities import QUARANTINE_POLICY_NAME
from ..core.config import Settings
from ..core.model import Step

CARRY_ARN = frozenset({ActionName.QUARANTINE_USER, ActionName.QUARANTINE_ROLE})
_ACCOUNT = re.compile(r"^(arn:[^:]+:iam::)(\d{12})(:.*)$")


def quarantine_policy_arn(settings: Settings, account: str | None) -> str | None:
    """The stack's policy ARN, moved to ``account`` (a member account's copy); without the variable, the policy of
    that name at the root path of ``account``; None when neither is known."""
    arn = settings.quarantine_policy_arn
    if arn:
        found = _ACCOUNT.match(arn)
        return f"{found.group(1)}{account}{found.group(3)}" if found and account else arn
    if account:
        return f"arn:{settings.partition}:iam::{account}:policy/{QUARANTINE_POLICY_NAME}"
    return None


def with_quarantine_arn(steps: list[Step], arn: str | None) -> list[Step]:
    """Quarantine steps name the policy they attach (release steps are planned with what is there to remove)."""
    if not arn:
        return steps
    return [
        replace(s, params={**s.params, "policyArn": arn})
        if s.action in CARRY_ARN and "policyArn" not in s.params
        else s
        for s in steps
    ]
