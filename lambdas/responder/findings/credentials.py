"""Credential findings (``resource.accessKeyDetails``; ``AccessKey``, and ``S3Bucket`` when an S3 Protection finding
names the credential), dispatched on ``userType`` (contract "Other responses"): ``IAMUser`` -> the access-key
containment, ``AssumedRole`` -> the role's older sessions revoked, ``Root`` -> a critical notification only. Only
the credential-abuse types act; Recon, Policy, PenTest ... notify."""

from __future__ import annotations

from typing import Any

from ..flows import (
    ISOLATION,
    KEY_CONTAINMENT,
    NOTICE,
    SESSION_REVOCATION,
    contain_access_key,
    isolate_instance,
    notify_only,
    revoke_role_sessions,
)
from ..parse.events import ACCESS_KEY_ID, AccessKeyDetails, FindingDetail
from ..report import Report
from ..shell.context import ResponseContext
from .base import family
from .common import finish, listed
from .models import role_of_session
from .s3 import BUCKETS, bucket_targets

CREDENTIAL = (("resource.accessKeyDetails", AccessKeyDetails), *BUCKETS)
CREDENTIAL_ABUSE = (
    "UnauthorizedAccess",
    "CredentialAccess",
    "Exfiltration",
    "Impact",
    "Persistence",
    "PrivilegeEscalation",
    "Stealth",
    "DefenseEvasion",
    "Discovery",
    "Execution",
    "InitialAccess",
)
IAM_USER_THREATS = tuple(f"{purpose}:IAMUser/*" for purpose in CREDENTIAL_ABUSE)
S3_THREATS = tuple(f"{purpose}:S3/*" for purpose in CREDENTIAL_ABUSE)


def _root(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    return notify_only(
        ctx,
        f"GuardDuty {finding.type}: ROOT credentials",
        "critical",
        facts,
        ["Sign in as root, rotate its credentials, delete root access keys, check MFA."],
    )


def _assumed_role(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    details = finding.resource.accessKeyDetails
    role = role_of_session(details.userName, None, None) if details else None
    if not (details and role):
        return None
    report = revoke_role_sessions(ctx, role, f"GuardDuty {finding.type}: {finding.title}", details.accessKeyId)
    instance = finding.resource.instanceDetails
    if instance and instance.instanceId:
        why = f"its role's credentials were abused ({finding.type})"
        report.absorb(isolate_instance(ctx, instance.instanceId, region, why, {"findingId": finding.id}))
    listed(report, bucket_targets(finding))
    return finish(ctx, report, finding, facts)


def _iam_user(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    details = finding.resource.accessKeyDetails
    if not (details and details.accessKeyId and ACCESS_KEY_ID.match(details.accessKeyId)):
        return None
    window = ctx.window(finding.service.eventFirstSeen or finding.createdAt)
    report = contain_access_key(ctx, details.accessKeyId, window=window, what=f"GuardDuty {finding.type}:", facts=facts)
    listed(report, bucket_targets(finding))
    return report


family(
    "Root credentials",
    order=20,
    types=("*",),
    resources=("AccessKey", "S3Bucket"),
    user_type="Root",
    response="notify-root",
    reason="critical notification only: an automatic change could lock the team out",
    flows=(NOTICE,),
    respond=_root,
    details=CREDENTIAL,
)
family(
    "Assumed-role credentials abused",
    order=21,
    types=(*IAM_USER_THREATS, *S3_THREATS),
    resources=("AccessKey", "S3Bucket"),
    user_type="AssumedRole",
    response="revoke-role-sessions",
    reason="revoke the role's sessions issued before now (inline deny, DateLessThan aws:TokenIssueTime); isolate the "
    "instance the finding names; list the buckets",
    flows=(SESSION_REVOCATION, ISOLATION),
    respond=_assumed_role,
    details=CREDENTIAL,
)
family(
    "IAM user access key abused",
    order=22,
    types=(*IAM_USER_THREATS, *S3_THREATS),
    resources=("AccessKey", "S3Bucket"),
    user_type="IAMUser",
    response="contain-access-key",
    reason="the full access-key containment, window from service.eventFirstSeen; list the buckets",
    flows=(KEY_CONTAINMENT,),
    respond=_iam_user,
    details=CREDENTIAL,
)
family(
    "Credential findings that are not proof of abuse (Recon, Policy, PenTest, ...)",
    order=23,
    types=("*",),
    resources=("AccessKey",),
    response="notify-only",
    reason="notification at GuardDuty's severity: worth a look, not proof of abuse",
    flows=(NOTICE,),
    details=CREDENTIAL[:1],
)
