"""GuardDuty finding -> the response of its family (contract "GuardDuty finding families"): the gate first
(sample, archived, below GUARDDUTY_MIN_SEVERITY, protected -> notify only), then the first matching family
(``findings.family_for``) responds; GuardDuty's severity band is kept end to end.
"""

from __future__ import annotations

from typing import Any

from ..flows import notify_only
from ..parse.events import FindingDetail
from ..report import Report
from ..shell.context import ResponseContext
from . import family_for
from .base import FindingFamily
from .models import severity_band


def respond_to_finding(ctx: ResponseContext, finding: FindingDetail, event_region: str) -> Report:
    return with_band(_respond(ctx, finding, event_region), finding)


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


def with_band(report: Report, finding: FindingDetail) -> Report:
    """GuardDuty's band, end to end: a response that ended critical (a failure, root) stays critical."""
    if report.severity != "critical":
        report.severity = severity_band(finding.severity)
    report.facts.setdefault("severity", f"{finding.severity:g} ({severity_band(finding.severity).upper()})")
    return report


def _respond(ctx: ResponseContext, finding: FindingDetail, event_region: str) -> Report:
    region = finding.region or event_region
    family = family_for(finding)
    family.check(finding)
    facts = _facts(finding, region, family)
    why_not = gate(ctx, finding)
    if why_not:
        facts["response"] = f"notify only: {why_not}"
        return notify_only(ctx, f"GuardDuty {finding.type}: notify only ({why_not})", "info", facts, [])
    report = family.respond(ctx, finding, region, facts) if family.respond else None
    if report is not None:
        return report
    if family.needs_human:
        return notify_only(ctx, f"GuardDuty {finding.type}: needs a human", "critical", facts, human_todo(finding))
    return notify_only(ctx, f"GuardDuty {finding.type}: notify only", "medium", facts, human_todo(finding))


def _facts(finding: FindingDetail, region: str, family: FindingFamily) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "finding": f"{finding.type} (severity {finding.severity:g}, {severity_band(finding.severity).upper()})",
        "title": finding.title,
        "console": console_link(finding, region),
        "findingId": finding.id,
        "firstSeen": finding.service.eventFirstSeen.isoformat() if finding.service.eventFirstSeen else None,
        "family": family.name,
        "response": f"{family.response}: {family.reason}",
    }
    resource = finding.resource
    details, instance = resource.accessKeyDetails, resource.instanceDetails
    if details:
        facts["credential"] = f"{details.userType} {details.userName} key {details.accessKeyId}"
    if instance and instance.instanceId:
        facts["instance"] = f"{instance.instanceId} ({region})"
    if resource.s3BucketDetails:
        facts["buckets"] = ", ".join(b.name or b.arn or "?" for b in resource.s3BucketDetails)
    cluster = resource.ecsClusterDetails
    if cluster:
        task = cluster.taskDetails.arn if cluster.taskDetails else None
        facts["ecs"] = f"cluster {cluster.name or cluster.arn}" + (f", task {task}" if task else "")
    if resource.containerDetails:
        c = resource.containerDetails
        facts["container"] = f"{c.name or c.id} (image {c.image}, runtime {c.containerRuntime})"
    if resource.lambdaDetails:
        fn = resource.lambdaDetails
        facts["function"] = f"{fn.functionName} (role {fn.role})"
    if resource.eksClusterDetails:
        facts["eksCluster"] = resource.eksClusterDetails.name or resource.eksClusterDetails.arn
    if resource.rdsDbInstanceDetails:
        db = resource.rdsDbInstanceDetails
        facts["database"] = f"{db.dbInstanceIdentifier or db.dbClusterIdentifier} ({db.engine})"
    sequence = finding.service.detection.sequence if finding.service.detection else None
    if sequence:
        facts["sequence"] = sequence.description
        facts["signals"] = "; ".join(s.name or s.type or "?" for s in sequence.signals[:20])
    return facts


def human_todo(finding: FindingDetail) -> list[str]:
    """What a human should do when a family only notifies, read from whatever the finding names."""
    resource = finding.resource
    if resource.containerDetails:
        c = resource.containerDetails
        host = resource.instanceDetails.instanceId if resource.instanceDetails else "its host"
        return [f"Stop or isolate container {c.name or c.id} (image {c.image}) on {host}; investigate the host."]
    sequence = finding.service.detection.sequence if finding.service.detection else None
    if sequence is not None:
        named = [
            f"{r.resourceType} {r.name or r.uid}" + (f" ({r.region})" if r.region else "") for r in sequence.resources
        ]
        return [
            f"Attack sequence {finding.type} names: {'; '.join(named) or 'no resource'}. Contain them by hand: for an "
            "EKS cluster isolate the workloads named (a deny-all NetworkPolicy), cordon their nodes, revoke the "
            "Kubernetes and IAM credentials used, review RBAC changes."
        ]
    if resource.eksClusterDetails:
        name = resource.eksClusterDetails.name or resource.eksClusterDetails.arn
        return [
            f"EKS cluster {name}: isolate the pods named (a deny-all NetworkPolicy), cordon their nodes, revoke the "
            "Kubernetes credentials used, review RBAC changes; see GuardDuty's EKS remediation guide."
        ]
    if resource.rdsDbInstanceDetails:
        db = resource.rdsDbInstanceDetails
        return [
            f"Database {db.dbInstanceIdentifier or db.dbClusterIdentifier}: rotate the password of the database user "
            "named, restrict its security group, review what it read."
        ]
    if resource.resourceType == "S3Object":
        objects = [
            f"s3://{b.name}/{o.get('key')}" + (f" (version {o['versionId']})" if o.get("versionId") else "")
            for b in resource.s3BucketDetails or []
            for o in b.s3ObjectDetails
        ]
        return [
            f"Malicious object {', '.join(objects) or 'named in the finding'}: keep a copy for analysis, then delete "
            "or quarantine it; find who uploaded it (CloudTrail S3 data events) and what read it."
        ]
    if resource.s3BucketDetails:
        names = ", ".join(b.name or "?" for b in resource.s3BucketDetails)
        return [f"Review the bucket(s) {names}: public access, bucket policy and ACLs, logging."]
    return ["Review the finding in the console and contain its target by hand."]
