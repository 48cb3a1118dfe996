"""EC2 findings, Runtime Monitoring and Malware Protection on an instance (``resource.instanceDetails``): the
instance isolated keeping its evidence, or terminated when a credential under an open incident launched it;
scanning and unusual traffic below High only notify."""

from __future__ import annotations

from typing import Any

from ..core.model import Launch
from ..evidence.attribution import launcher_of
from ..flows import ISOLATION, NOTICE, isolate_instance, terminate_attributed_instance
from ..parse.events import FindingDetail, InstanceDetails
from ..record.joining import incident_of_call
from ..report import Report
from ..shell.context import ResponseContext
from .base import family
from .common import finish

INSTANCE = (("resource.instanceDetails", InstanceDetails),)
EC2_THREATS = ("*:EC2/*", "*:Runtime/*")  # Execution:EC2/MaliciousFile included
HIGH = 7.0


def _instance(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    instance = finding.resource.instanceDetails
    if not (instance and instance.instanceId):
        return None
    report = instance_report(ctx, finding, instance.instanceId, region)
    if "rogue instance" not in report.subject:
        report = finish(ctx, report, finding, facts)
    else:
        report.facts.update(facts)
        report.status = "planned" if ctx.dry_run else "contained"
    return report


def instance_report(ctx: ResponseContext, finding: FindingDetail, instance_id: str, region: str) -> Report:
    """Rogue (launched by a credential under an open incident) -> terminate; otherwise isolate."""
    launcher, incident = launcher_under_incident(ctx, instance_id, region)
    if incident and launcher:
        why = f"launched by {launcher.access_key_id}, a credential under open incident {incident} ({finding.type})"
        report = terminate_attributed_instance(ctx, instance_id, region, why)
        report.subject = f"GuardDuty {finding.type}: rogue instance {instance_id}"
        return report
    why = f"GuardDuty {finding.type}: {finding.title}"
    return isolate_instance(ctx, instance_id, region, why, {"findingId": finding.id})


def launcher_under_incident(ctx: ResponseContext, instance_id: str, region: str) -> tuple[Launch | None, str | None]:
    """Who launched the instance - the ledger, else CloudTrail LookupEvents by resource name (contract: attribution
    is ledger or LookupEvents everywhere) - and that credential's open incident, if it has one."""
    launcher = launcher_of(ctx.ledger, ctx.clients, region, instance_id, ctx.log)
    if launcher is None or ctx.incidents is None:
        return launcher, None
    return launcher, incident_of_call(ctx, launcher)  # its key, or the credential that minted it, under an incident


family(
    "EC2 Recon / Behavior below High",
    order=40,
    types=("Recon:EC2/*", "Behavior:EC2/*"),
    resources=("Instance",),
    response="notify-only",
    reason="notification at GuardDuty's severity: scanning and unusual traffic alone are not a compromise",
    flows=(NOTICE,),
    details=INSTANCE,
    below=HIGH,
)
family(
    "EC2, Runtime Monitoring and Malware Protection on an instance",
    order=41,
    types=EC2_THREATS,
    resources=("Instance",),
    response="isolate-instance",
    reason="isolate it keeping the evidence (snapshots, no termination, out of its Auto Scaling group and target "
    "groups); terminate it if a credential under an open incident launched it",
    flows=(ISOLATION,),
    respond=_instance,
    details=INSTANCE,
)
