"""IAM actions (global): close the door without deleting anything, and open it again when it is safe.

Keys are deactivated (they can be re-activated and stay as evidence); principals get an inline deny-all
policy (removable once it is safe); role sessions issued before now are denied; a console password the
attacker created is removed (a login profile holds no data). Releasing a principal removes the responder's
own quarantine policy and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from .. import capabilities as cap
from ..aws import AWS_ERRORS, describe_error, error_code
from ..model import Outcome, Step
from .base import Action, ActionName, Words, each, register

QUARANTINE_POLICY_NAME = "compromise-responder-quarantine"
REVOKE_SESSIONS_POLICY_NAME = "compromise-responder-revoke-older-sessions"
DENY_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "CompromiseResponderQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}],
}


def revoke_sessions_document(issued_before: str) -> dict[str, Any]:
    """The same policy as the IAM console's "Revoke active sessions" (AWSRevokeOlderSessions)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CompromiseResponderRevokeOlderSessions",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before}},
            }
        ],
    }


@register
class DeactivateAccessKey(Action):
    """Set an access key Inactive (never deleted: it can be re-activated and stays as evidence)."""

    name = ActionName.DEACTIVATE_ACCESS_KEY
    service = "iam"
    permissions = ("iam:UpdateAccessKey",)
    resource = cap.IAM_USER
    phase = 10
    words = Words("access key", "access keys", "deactivated (not deleted)", "to deactivate", short="deactivated")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> None:
            client.update_access_key(UserName=step.params["userName"], AccessKeyId=step.target, Status="Inactive")

        return each(steps, call)


class _Quarantine(Action):
    """Attach the inline deny-all quarantine policy to a principal (removable once it is safe)."""

    service = "iam"
    phase = 11
    put_policy: ClassVar[str]  # the IAM call: put_user_policy or put_role_policy
    name_parameter: ClassVar[str]  # UserName or RoleName

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        doc = json.dumps(DENY_ALL)
        put = getattr(client, self.put_policy)
        return each(
            steps,
            lambda s: put(**{self.name_parameter: s.target}, PolicyName=QUARANTINE_POLICY_NAME, PolicyDocument=doc),
        )


@register
class QuarantineUser(_Quarantine):
    """Attach the inline deny-all quarantine policy to an IAM user: no other credential of it works."""

    name = ActionName.QUARANTINE_USER
    permissions = ("iam:PutUserPolicy",)
    resource = cap.IAM_USER
    words = Words("user", "users", "given the deny-all quarantine policy", "to quarantine", short="quarantined")
    put_policy = "put_user_policy"
    name_parameter = "UserName"


@register
class QuarantineRole(_Quarantine):
    """Attach the inline deny-all quarantine policy to an IAM role created by the attacker."""

    name = ActionName.QUARANTINE_ROLE
    permissions = ("iam:PutRolePolicy",)
    resource = cap.IAM_ROLE
    words = Words("role", "roles", "given the deny-all quarantine policy", "to quarantine", short="quarantined")
    put_policy = "put_role_policy"
    name_parameter = "RoleName"


@register
class RevokeRoleSessions(Action):
    """Deny every session of a role issued before now (``aws:TokenIssueTime``); new ones still work."""

    name = ActionName.REVOKE_ROLE_SESSIONS
    service = "iam"
    permissions = ("iam:PutRolePolicy",)
    resource = cap.IAM_ROLE
    phase = 12
    words = Words(
        "role",
        "roles",
        "had their older sessions revoked",
        "to revoke sessions of",
        short="sessions revoked",
        one="sessions of role {target} revoked",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            doc = revoke_sessions_document(step.params["issuedBefore"])
            client.put_role_policy(
                RoleName=step.target, PolicyName=REVOKE_SESSIONS_POLICY_NAME, PolicyDocument=json.dumps(doc)
            )
            return f"sessions issued before {step.params['issuedBefore']} denied"

        return each(steps, call)


@register
class DeleteLoginProfile(Action):
    """Remove a console password the attacker created (a login profile holds no data)."""

    name = ActionName.DELETE_LOGIN_PROFILE
    service = "iam"
    permissions = ("iam:DeleteLoginProfile",)
    resource = cap.IAM_USER
    phase = 13
    words = Words("console password", "console passwords", "removed (login profiles)", "to remove (login profiles)")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str | None:
            try:
                client.delete_login_profile(UserName=step.target)
            except ClientError as exc:
                if error_code(exc) == "NoSuchEntity":
                    return "no login profile left (already removed)"
                raise
            return None

        return each(steps, call)


class _Release(Action):
    """Remove the responder's own inline quarantine policy from a principal, and nothing else."""

    service = "iam"
    phase = 14
    delete_policy: ClassVar[str]  # the IAM call: delete_user_policy or delete_role_policy
    name_parameter: ClassVar[str]  # UserName or RoleName

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        delete = getattr(client, self.delete_policy)
        out = []
        for step in steps:
            try:
                delete(**{self.name_parameter: step.target}, PolicyName=QUARANTINE_POLICY_NAME)
                out.append(step.outcome("done", f"inline policy {QUARANTINE_POLICY_NAME} removed"))
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    out.append(step.outcome("failed", describe_error(exc)))
                    continue
                out.append(step.outcome("skipped", f"nothing to remove: {describe_error(exc)}"))
            except AWS_ERRORS as exc:
                out.append(step.outcome("failed", describe_error(exc)))
        return out


@register
class ReleaseUser(_Release):
    """Remove the responder's quarantine policy from an IAM user (its other policies are not touched)."""

    name = ActionName.RELEASE_USER
    permissions = ("iam:DeleteUserPolicy",)
    resource = cap.IAM_USER
    words = Words(
        "user",
        "users",
        f"released ({QUARANTINE_POLICY_NAME} removed)",
        "to release",
        short="released",
        one="{noun} {target} {short} (quarantine policy removed)",
    )
    delete_policy = "delete_user_policy"
    name_parameter = "UserName"


@register
class ReleaseRole(_Release):
    """Remove the responder's quarantine policy from an IAM role (its other policies are not touched)."""

    name = ActionName.RELEASE_ROLE
    permissions = ("iam:DeleteRolePolicy",)
    resource = cap.IAM_ROLE
    words = Words(
        "role",
        "roles",
        f"released ({QUARANTINE_POLICY_NAME} removed)",
        "to release",
        short="released",
        one="{noun} {target} {short} (quarantine policy removed)",
    )
    delete_policy = "delete_role_policy"
    name_parameter = "RoleName"
