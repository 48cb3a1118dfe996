"""Cut one role session (an attack sequence, a finding or the credential chain names it): an inline deny of everything on the
role for exactly that session (``StringEquals aws:userid`` = ``AROA...:session``); the role's other sessions and
new ones keep working. Sessions cut earlier on the same role stay cut (the policy's list is merged)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..aws import error_code
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from .base import Action, ActionName, Words, each, register

REVOKE_SESSION_POLICY_NAME = "compromise-responder-revoke-session"
SESSION_SID = "CompromiseResponderRevokeSession"


def revoke_session_document(user_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": SESSION_SID,
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:userid": sorted(set(user_ids))}},
            }
        ],
    }


def sessions_in(document: Any) -> list[str]:
    """The session ids an earlier revoke-session policy already denies."""
    doc = json.loads(document) if isinstance(document, str) else document or {}
    out: list[str] = []
    for statement in doc.get("Statement") or []:
        ids = ((statement.get("Condition") or {}).get("StringEquals") or {}).get("aws:userid") or []
        out += [ids] if isinstance(ids, str) else list(ids)
    return out


@register
class RevokeSession(Action):
    """Deny everything to one session of a role (``aws:userid`` = ``AROA...:session``); its other sessions work."""

    name = ActionName.REVOKE_SESSION
    service = "iam"
    permissions = ("iam:GetRolePolicy", "iam:PutRolePolicy")
    resource = cap.IAM_ROLE
    phase = 12
    words = Words(
        "role session",
        "role sessions",
        "cut (deny-all for that session only)",
        "to cut (deny-all for that session only)",
        short="cut",
        one="sessions of role {target} cut",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            named = [i for i in str(step.params["sessionIds"]).split(",") if i]
            wanted = list(named)
            try:
                earlier = client.get_role_policy(RoleName=step.target, PolicyName=REVOKE_SESSION_POLICY_NAME)
                wanted += sessions_in(earlier.get("PolicyDocument"))
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise
            doc = revoke_session_document(wanted)
            client.put_role_policy(
                RoleName=step.target, PolicyName=REVOKE_SESSION_POLICY_NAME, PolicyDocument=json.dumps(doc)
            )
            return f"{REVOKE_SESSION_POLICY_NAME}: denied to aws:userid " + ", ".join(named)

        return each(steps, call)
