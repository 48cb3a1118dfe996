"""Cutting the chain and undoing what the attacker left behind (contract: "The credential chain", "What the
attacker left behind"). Each action is non-destructive: a session is denied (the role and its other sessions
keep working), a permission, share or rule the attacker added is removed - exactly what the call added, nothing
the team had. The state before each undo is in the incident record (``left_behind``); the reason names the call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..aws import error_code
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from .base import Action, ActionName, Words, each, register

REVOKE_SINCE_POLICY_NAME = "compromise-responder-revoke-since-trust-change"
LAMBDA_FUNCTION = cap.arn("lambda", "function:*")
EC2_IMAGE = cap.arn("ec2", "image/*", account="")  # image ARNs carry no account
TRUST_ANCHOR = cap.arn("rolesanywhere", "trust-anchor/*")
RDS_SNAPSHOT = cap.arn("rds", "snapshot:*")
RDS_CLUSTER_SNAPSHOT = cap.arn("rds", "cluster-snapshot:*")
CLOUDTRAIL_TRAIL = cap.arn("cloudtrail", "trail/*")


@register
class RemoveLambdaPermission(Action):
    """Remove the statement a chain's lambda:AddPermission added to a function's resource policy."""

    name = ActionName.REMOVE_LAMBDA_PERMISSION
    service = "lambda"
    permissions = ("lambda:RemovePermission",)
    resource = LAMBDA_FUNCTION
    phase = 15
    words = Words("function permission", "function permissions", "removed", "to remove", short="removed")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            said = []
            for sid in _split(step.params.get("statementIds")):
                try:
                    client.remove_permission(FunctionName=step.target, StatementId=sid)
                    said.append(f"statement {sid} removed")
                except ClientError as exc:
                    if error_code(exc) != "ResourceNotFoundException":
                        raise
                    said.append(f"statement {sid} already gone")
            return "; ".join(said)

        return each(steps, call)


@register
class RevokeIngress(Action):
    """Revoke exactly the ingress rules a chain's ec2:AuthorizeSecurityGroupIngress added."""

    name = ActionName.REVOKE_INGRESS
    service = "ec2"
    permissions = ("ec2:RevokeSecurityGroupIngress",)
    resource = cap.EC2_SECURITY_GROUP
    phase = 15
    words = Words(
        "security group",
        "security groups",
        "had the attacker's ingress rules revoked",
        "to revoke rules of",
        short="rules revoked",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            rules = json.loads(str(step.params["ipPermissions"]))
            client.revoke_security_group_ingress(GroupId=step.target, IpPermissions=rules)
            return f"{len(rules)} rule(s) revoked"

        return each(steps, call)


@register
class RemoveSnapshotShare(Action):
    """Remove the create-volume permissions a chain's ec2:ModifySnapshotAttribute added."""

    name = ActionName.REMOVE_SNAPSHOT_SHARE
    service = "ec2"
    permissions = ("ec2:ModifySnapshotAttribute",)
    resource = cap.EC2_SNAPSHOT
    phase = 15
    words = Words("snapshot share", "snapshot shares", "removed", "to remove", short="unshared")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            users, groups = _split(step.params.get("userIds")), _split(step.params.get("groups"))
            kwargs: dict[str, Any] = {"UserIds": users} if users else {}
            if groups:
                kwargs["GroupNames"] = groups
            client.modify_snapshot_attribute(
                SnapshotId=step.target, Attribute="createVolumePermission", OperationType="remove", **kwargs
            )
            return f"create-volume permission removed for {', '.join(users + groups)}"

        return each(steps, call)


@register
class RemoveImageShare(Action):
    """Remove the launch permissions a chain's ec2:ModifyImageAttribute added."""

    name = ActionName.REMOVE_IMAGE_SHARE
    service = "ec2"
    permissions = ("ec2:ModifyImageAttribute",)
    resource = EC2_IMAGE
    phase = 15
    words = Words("AMI share", "AMI shares", "removed", "to remove", short="unshared")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            users, groups = _split(step.params.get("userIds")), _split(step.params.get("groups"))
            remove = [{"UserId": u} for u in users] + [{"Group": g} for g in groups]
            client.modify_image_attribute(ImageId=step.target, LaunchPermission={"Remove": remove})
            return f"launch permission removed for {', '.join(users + groups)}"

        return each(steps, call)


@register
class RemoveDbSnapshotShare(Action):
    """Remove the accounts a chain's rds:ModifyDB(Cluster)SnapshotAttribute added to a snapshot's ``restore``."""

    name = ActionName.REMOVE_DB_SNAPSHOT_SHARE
    service = "rds"
    grants = (
        cap.Grant(("rds:ModifyDBSnapshotAttribute",), (RDS_SNAPSHOT,)),
        cap.Grant(("rds:ModifyDBClusterSnapshotAttribute",), (RDS_CLUSTER_SNAPSHOT,)),
    )
    phase = 15
    words = Words("RDS snapshot share", "RDS snapshot shares", "removed", "to remove", short="unshared")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            accounts = _split(step.params.get("userIds"))
            if step.params.get("cluster") == "true":
                client.modify_db_cluster_snapshot_attribute(
                    DBClusterSnapshotIdentifier=step.target, AttributeName="restore", ValuesToRemove=accounts
                )
            else:
                client.modify_db_snapshot_attribute(
                    DBSnapshotIdentifier=step.target, AttributeName="restore", ValuesToRemove=accounts
                )
            return f"restore permission removed for {', '.join(accounts)}"

        return each(steps, call)


def revoke_since_document(since: str, until: str) -> dict[str, Any]:
    """Deny the role's sessions issued between the attacker's trust change and now (the team's older sessions and
    the new ones keep working)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CompromiseResponderRevokeSinceTrustChange",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "DateGreaterThanEquals": {"aws:TokenIssueTime": since},
                    "DateLessThan": {"aws:TokenIssueTime": until},
                },
            }
        ],
    }


@register
class RestoreTrustPolicy(Action):
    """Put back a role's trust policy the chain replaced, then deny the sessions issued since the change."""

    name = ActionName.RESTORE_TRUST_POLICY
    service = "iam"
    grants = (cap.Grant(("iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy"), (cap.IAM_ROLE,)),)
    phase = 15
    words = Words("role trust policy", "role trust policies", "restored", "to restore", short="restored")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            client.update_assume_role_policy(RoleName=step.target, PolicyDocument=str(step.params["document"]))
            since, until = str(step.params["changedAt"]), str(step.params["until"])
            client.put_role_policy(
                RoleName=step.target,
                PolicyName=REVOKE_SINCE_POLICY_NAME,
                PolicyDocument=json.dumps(revoke_since_document(since, until)),
            )
            return f"trust policy {step.params['restored']}; sessions issued {since} .. {until} denied"

        return each(steps, call)


@register
class DisableTrustAnchor(Action):
    """Disable an IAM Roles Anywhere trust anchor the chain created (kept, for evidence: not deleted)."""

    name = ActionName.DISABLE_TRUST_ANCHOR
    service = "rolesanywhere"
    permissions = ("rolesanywhere:DisableTrustAnchor",)
    resource = TRUST_ANCHOR
    phase = 15
    words = Words("trust anchor", "trust anchors", "disabled (kept)", "to disable", short="disabled")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(steps, lambda step: client.disable_trust_anchor(trustAnchorId=step.target))


@register
class DisableSerialConsole(Action):
    """Switch EC2 serial console access off again in a region (the chain switched it on)."""

    name = ActionName.DISABLE_SERIAL_CONSOLE
    service = "ec2"
    permissions = ("ec2:DisableSerialConsoleAccess",)  # no resource type (Service Authorization Reference)
    phase = 15
    words = Words("serial console access", "serial console accesses", "disabled", "to disable", short="disabled")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return each(steps, lambda step: client.disable_serial_console_access())


@register
class RestartTrailLogging(Action):
    """Start logging again on a trail the chain stopped (cloudtrail:StopLogging; Stratus ``cloudtrail-stop``):
    the trail, its bucket and its logs are untouched, only the switch is put back."""

    name = ActionName.RESTART_TRAIL_LOGGING
    service = "cloudtrail"
    permissions = ("cloudtrail:GetTrailStatus", "cloudtrail:StartLogging")
    resource = CLOUDTRAIL_TRAIL
    phase = 15
    words = Words("trail", "trails", "logging again", "to start logging", short="logging again")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        gone = []
        for step in steps:  # a trail deleted since: nothing to switch back on (its deletion is for a human)
            try:
                client.get_trail_status(Name=step.target)
            except ClientError as exc:
                if error_code(exc) != "TrailNotFoundException":
                    raise
                gone.append(step)
        outcomes = [
            Outcome(s, "skipped", "the trail no longer exists (deleted since): nothing to restart") for s in gone
        ]
        return outcomes + each([s for s in steps if s not in gone], lambda step: client.start_logging(Name=step.target))


def _split(value: Any) -> list[str]:
    return [v for v in str(value or "").split(",") if v]
