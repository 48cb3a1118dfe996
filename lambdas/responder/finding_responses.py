"""GuardDuty finding -> the containment that fits it, kept as data (first matching row wins).

Finding types read ``ThreatPurpose:ResourceType/ThreatFamily.DetectionMechanism!Artifact``.
Credential findings are dispatched on ``resource.accessKeyDetails.userType`` (contract).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Literal

from .aws import describe_error
from .context import ResponseContext
from .events import ACCESS_KEY_ID, FindingDetail
from .flows import (
    contain_access_key,
    isolate_instance,
    notify_only,
    revoke_role_sessions,
    terminate_attributed_instance,
)
from .model import Launch
from .probes import launch_of
from .report import Report

Response = Literal["contain-access-key", "revoke-role-sessions", "isolate-instance", "notify-root", "notify-only"]


@dataclass(frozen=True)
class FindingRule:
    types: tuple[str, ...]  # glob patterns on the finding type
    resource_type: str | None  # AccessKey | Instance | None (any)
    user_type: str | None  # IAMUser | AssumedRole | Root | None (any)
    response: Response
    reason: str

    def matches(self, finding: FindingDetail) -> bool:
        details = finding.resource.accessKeyDetails
        return (
            any(fnmatch.fnmatchcase(finding.type, t) for t in self.types)
            and (self.resource_type is None or finding.resource.resourceType == self.resource_type)
            and (self.user_type is None or (details is not None and details.userType == self.user_type))
        )


IAM_USER_THREATS = tuple(
    f"{purpose}:IAMUser/*"
    for purpose in (
        "UnauthorizedAccess",
        "CredentialAccess",
        "Impact",
        "Persistence",
        "PrivilegeEscalation",
        "Stealth",
        "Exfiltration",
        "InitialAccess",
        "Discovery",
        "DefenseEvasion",
        "Execution",
    )
)
EC2_THREATS = (
    "CryptoCurrency:EC2/*",
    "Backdoor:EC2/*",
    "Trojan:EC2/*",
    "UnauthorizedAccess:EC2/*",
    "Impact:EC2/*",
    "CryptoCurrency:Runtime/*",
    "Backdoor:Runtime/*",
    "Execution:Runtime/*",
    "Impact:Runtime/*",
)

FINDING_RESPONSES: tuple[FindingRule, ...] = (
    FindingRule(
        ("*",),
        "AccessKey",
        "Root",
        "notify-root",
        "root credentials: critical notification only - an automatic change could lock the team out",
    ),
    FindingRule(
        ("*",),
        "AccessKey",
        "AssumedRole",
        "revoke-role-sessions",
        "assumed-role credentials abused: deny the role's sessions issued before now (and isolate its instance)",
    ),
    FindingRule(
        ("Recon:IAMUser/*", "Policy:IAMUser/*"),
        "AccessKey",
        "IAMUser",
        "notify-only",
        "reconnaissance or policy finding: worth a look, not proof of abuse",
    ),
    FindingRule(
        IAM_USER_THREATS,
        "AccessKey",
        "IAMUser",
        "contain-access-key",
        "IAM user's access key abused: full access-key containment, as for an exposed key",
    ),
    FindingRule(
        EC2_THREATS,
        "Instance",
        None,
        "isolate-instance",
        "compromised instance: isolate it keeping its evidence (snapshots, no termination, out of its Auto Scaling "
        "group and target groups); terminate only if it is rogue",
    ),
    FindingRule(("*",), None, None, "notify-only", "no automatic response for this finding type"),
)


def rule_for(finding: FindingDetail) -> FindingRule:
    return next(rule for rule in FINDING_RESPONSES if rule.matches(finding))


def console_link(finding: FindingDetail, region: str) -> str:
    return f"https://console.aws.amazon.com/guardduty/home?region={region}#/findings?macros=current&fId={finding.id}"


def gate(ctx: ResponseContext, finding: FindingDetail) -> str | None:
    """Why this finding only notifies, if it does (contract: severity, sample, archived, protected)."""
    if finding.sample:
        return "sample finding (service.additionalInfo.sample: true)"
    if finding.service.archived:
        return "archived finding"
    if finding.severity < ctx.settings.guardduty_min_severity:
        return f"severity {finding.severity:g} is below GUARDDUTY_MIN_SEVERITY {ctx.settings.guardduty_min_severity:g}"
    details = finding.resource.accessKeyDetails
    if details and details.userName:
        kind = {"AssumedRole": "role", "IAMUser": "user"}.get(details.userType or "")
        arn = ctx.iam_arn(kind, details.userName) if kind else None
        if ctx.policy.is_protected_principal(details.userName, arn):
            return f"{details.userName} is a protected principal"
    return None


def respond_to_finding(ctx: ResponseContext, finding: FindingDetail, event_region: str) -> Report:
    region = finding.region or event_region
    rule = rule_for(finding)
    facts: dict[str, Any] = {
        "finding": f"{finding.type} (severity {finding.severity:g})",
        "title": finding.title,
        "console": console_link(finding, region),
        "findingId": finding.id,
        "firstSeen": finding.service.eventFirstSeen.isoformat() if finding.service.eventFirstSeen else None,
        "response": f"{rule.response}: {rule.reason}",
    }
    details = finding.resource.accessKeyDetails
    instance = finding.resource.instanceDetails
    if details:
        facts["credential"] = f"{details.userType} {details.userName} key {details.accessKeyId}"
    if instance and instance.instanceId:
        facts["instance"] = f"{instance.instanceId} ({region})"
    why_not = gate(ctx, finding)
    if why_not:
        facts["response"] = f"notify only: {why_not}"
        return notify_only(ctx, f"GuardDuty {finding.type}: notify only ({why_not})", "info", facts, [])

    window = ctx.window(finding.service.eventFirstSeen or finding.createdAt)
    if (
        rule.response == "contain-access-key"
        and details
        and details.accessKeyId
        and ACCESS_KEY_ID.match(details.accessKeyId)
    ):
        return contain_access_key(
            ctx, details.accessKeyId, window=window, what=f"GuardDuty {finding.type}:", facts=facts
        )
    if rule.response == "revoke-role-sessions" and details and details.userName:
        report = revoke_role_sessions(
            ctx, details.userName, f"GuardDuty {finding.type}: {finding.title}", details.accessKeyId
        )
        if instance and instance.instanceId:
            why = f"its role's credentials were abused ({finding.type})"
            report.absorb(isolate_instance(ctx, instance.instanceId, region, why, {"findingId": finding.id}))
        report.facts.update(facts)
        report.subject = f"GuardDuty {finding.type}"
        report.status = "planned" if ctx.dry_run else "contained"
        return report
    if rule.response == "isolate-instance" and instance and instance.instanceId:
        return _instance_finding(ctx, finding, instance.instanceId, region, facts)
    if rule.response == "notify-root":
        return notify_only(
            ctx,
            f"GuardDuty {finding.type}: ROOT credentials",
            "critical",
            facts,
            ["Sign in as root, rotate its credentials, delete root access keys, check MFA."],
        )
    return notify_only(
        ctx, f"GuardDuty {finding.type}: notify only", "medium", facts, ["Review the finding in the console."]
    )


def _instance_finding(
    ctx: ResponseContext, finding: FindingDetail, instance_id: str, region: str, facts: dict[str, Any]
) -> Report:
    """Rogue (launched by a credential under an open incident) -> terminate; otherwise isolate."""
    launcher, incident = launcher_under_incident(ctx, instance_id, region)
    if incident and launcher:
        why = f"launched by {launcher.access_key_id}, a credential under open incident {incident} ({finding.type})"
        report = terminate_attributed_instance(ctx, instance_id, region, why)
        report.subject = f"GuardDuty {finding.type}: rogue instance {instance_id}"
    else:
        why = f"GuardDuty {finding.type}: {finding.title}"
        report = isolate_instance(ctx, instance_id, region, why, {"findingId": finding.id})
        report.subject = f"GuardDuty {finding.type}"
    report.facts.update(facts)
    report.status = "planned" if ctx.dry_run else "contained"
    return report


def launcher_under_incident(ctx: ResponseContext, instance_id: str, region: str) -> tuple[Launch | None, str | None]:
    """Who launched the instance - the ledger, else CloudTrail LookupEvents by resource name (contract: attribution
    is ledger or LookupEvents everywhere) - and that credential's open incident, if it has one."""
    launcher = ctx.ledger.launchers_of([instance_id]).get(instance_id) if ctx.ledger else None
    if launcher is None:
        try:
            launcher = launch_of(ctx.clients, region, instance_id)
        except Exception as exc:  # noqa: BLE001 - no attribution: isolate, as for any compromised instance
            ctx.log("launcher lookup failed", instance=instance_id, error=describe_error(exc))
    if launcher is None or ctx.incidents is None:
        return launcher, None
    return launcher, ctx.incidents.open_incident(launcher.access_key_id, launcher.principal_arn)
