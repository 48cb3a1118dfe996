"""IAM actions (global): close the door without deleting anything, and open it again when it is safe.

Keys are deactivated (they can be re-activated and stay as evidence); principals get the customer-managed
deny-all policy the stack creates, attached (detachable once it is safe; attach and detach are granted for that
policy only); role sessions issued before now are denied; a console password the
attacker created is removed (a login profile holds no data). Releasing a principal removes the responder's
own quarantine policy and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from ..aws import AWS_ERRORS, describe_error, error_code
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from .base import Action, ActionName, Words, each, register

QUARANTINE_POLICY_NAME = cap.QUARANTINE_POLICY_NAME
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
    """Attach the customer-managed deny-all quarantine policy (made by the stack) to a principal."""

    service = "iam"
    phase = 11
    attach_policy: ClassVar[str]  # the IAM call: attach_user_policy or attach_role_policy
    name_parameter: ClassVar[str]  # UserName or RoleName

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        attach = getattr(client, self.attach_policy)

        def call(step: Step) -> str:
            arn = step.params.get("policyArn")
            if not arn:
                raise ValueError(f"no quarantine policy ARN for {step.target} (QUARANTINE_POLICY_ARN)")
            attach(**{self.name_parameter: step.target}, PolicyArn=arn)
            return f"{QUARANTINE_POLICY_NAME} attached"

        return each(steps, call)


def _attach_only_quarantine(action: str, resource: str) -> tuple[cap.Grant, ...]:
    """Attach/detach granted only for the responder's own quarantine policy (``iam:PolicyARN``)."""
    return (cap.Grant((action,), (resource,), (cap.ONLY_QUARANTINE_POLICY,)),)


@register
class QuarantineUser(_Quarantine):
    """Attach the deny-all quarantine policy to an IAM user: no other credential of it works."""

    name = ActionName.QUARANTINE_USER
    grants = _attach_only_quarantine("iam:AttachUserPolicy", cap.IAM_USER)
    words = Words("user", "users", "given the deny-all quarantine policy", "to quarantine", short="quarantined")
    attach_policy = "attach_user_policy"
    name_parameter = "UserName"


@register
class QuarantineRole(_Quarantine):
    """Attach the deny-all quarantine policy to an IAM role created by the attacker."""

    name = ActionName.QUARANTINE_ROLE
    grants = _attach_only_quarantine("iam:AttachRolePolicy", cap.IAM_ROLE)
    words = Words("role", "roles", "given the deny-all quarantine policy", "to quarantine", short="quarantined")
    attach_policy = "attach_role_policy"
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
    """Remove the responder's own quarantine from a principal, and nothing else: the managed policy detached
    (``policyArn``), and the inline policy of the same name deleted (``inline``: incidents before the managed one)."""

    service = "iam"
    phase = 14
    detach_policy: ClassVar[str]  # the IAM call: detach_user_policy or detach_role_policy
    delete_policy: ClassVar[str]  # the IAM call: delete_user_policy or delete_role_policy
    name_parameter: ClassVar[str]  # UserName or RoleName

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        out = []
        for step in steps:
            who = {self.name_parameter: step.target}
            removed: list[str] = []
            try:
                if step.params.get("policyArn"):
                    _gone_ok(getattr(client, self.detach_policy), **who, PolicyArn=step.params["policyArn"])
                    removed.append(f"managed policy {QUARANTINE_POLICY_NAME} detached")
                if step.params.get("inline"):
                    _gone_ok(getattr(client, self.delete_policy), **who, PolicyName=QUARANTINE_POLICY_NAME)
                    removed.append(f"inline policy {QUARANTINE_POLICY_NAME} removed")
            except AWS_ERRORS as exc:
                done = f" (already: {', '.join(removed)})" if removed else ""
                out.append(step.outcome("failed", describe_error(exc) + done))
                continue
            if removed:
                out.append(step.outcome("done", "; ".join(removed)))
            else:
                out.append(step.outcome("skipped", f"no {QUARANTINE_POLICY_NAME} on {step.target}"))
        return out


def _gone_ok(call: Any, **params: Any) -> None:
    """A policy already gone (NoSuchEntity) is what a release wants."""
    try:
        call(**params)
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise


@register
class ReleaseUser(_Release):
    """Remove the responder's quarantine policy from an IAM user (its other policies are not touched)."""

    name = ActionName.RELEASE_USER
    grants = (
        *_attach_only_quarantine("iam:DetachUserPolicy", cap.IAM_USER),
        cap.Grant(("iam:DeleteUserPolicy",), (cap.IAM_USER,)),
    )
    words = Words(
        "user",
        "users",
        f"released ({QUARANTINE_POLICY_NAME} removed)",
        "to release",
        short="released",
        one="{noun} {target} {short} (quarantine policy removed)",
    )
    detach_policy = "detach_user_policy"
    delete_policy = "delete_user_policy"
    name_parameter = "UserName"


@register
class ReleaseRole(_Release):
    """Remove the responder's quarantine policy from an IAM role (its other policies are not touched)."""

    name = ActionName.RELEASE_ROLE
    grants = (
        *_attach_only_quarantine("iam:DetachRolePolicy", cap.IAM_ROLE),
        cap.Grant(("iam:DeleteRolePolicy",), (cap.IAM_ROLE,)),
    )
    words = Words(
        "role",
        "roles",
        f"released ({QUARANTINE_POLICY_NAME} removed)",
        "to release",
        short="released",
        one="{noun} {target} {short} (quarantine policy removed)",
    )
    detach_policy = "detach_role_policy"
    delete_policy = "delete_role_policy"
    name_parameter = "RoleName"
