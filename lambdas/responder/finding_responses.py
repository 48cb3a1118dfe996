"""GuardDuty finding -> the containment that fits it, kept as data (first matching row wins, after the gate).

Finding types read ``ThreatPurpose:ResourceType/ThreatFamily.DetectionMechanism!Artifact``. The rows follow the
contract's "GuardDuty finding families" table; ``README.md``'s finding table is generated from ``FINDING_RESPONSES``
(``readme_table``) and a test keeps the two equal. Where each family names its target: ``guardduty_findings``.
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
from .flows.families import cut_sessions, isolate_tasks, throttle_function
from .guardduty_findings import SessionTarget, Targets, role_of_session, sequence_targets, severity_band
from .model import Launch
from .probes import launch_of
from .report import Report

Response = Literal[
    "contain-sequence-credentials",
    "isolate-sequence-instances",
    "isolate-sequence-tasks",
    "notify-critical",
    "notify-root",
    "revoke-role-sessions",
    "contain-access-key",
    "isolate-instance",
    "isolate-task",
    "notify-container",
    "throttle-function",
    "notify-human",
    "notify-only",
]


@dataclass(frozen=True)
class FindingRule:
    family: str  # how the README and the notification name the row
    types: tuple[str, ...]  # glob patterns on the finding type
    resource_types: tuple[str, ...] | None  # resource.resourceType values; None: any
    user_type: str | None  # IAMUser | AssumedRole | Root | None (any)
    response: Response
    reason: str
    below: float | None = None  # the row applies only to findings below this severity
    credential: bool | None = None  # True: only with resource.accessKeyDetails

    def matches(self, finding: FindingDetail) -> bool:
        details = finding.resource.accessKeyDetails
        return (
            any(fnmatch.fnmatchcase(finding.type, t) for t in self.types)
            and (self.resource_types is None or finding.resource.resourceType in self.resource_types)
            and (self.user_type is None or (details is not None and details.userType == self.user_type))
            and (self.below is None or finding.severity < self.below)
            and (self.credential is None or (details is not None) == self.credential)
        )


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
EC2_THREATS = ("*:EC2/*", "*:Runtime/*")  # Execution:EC2/MaliciousFile included
HIGH = 7.0
NOTIFY_RESOURCES = ("EKSCluster", "KubernetesCluster", "RDSDBInstance", "RDSLimitlessDB", "S3Object", "EBSSnapshot",
                    "EC2Image", "RecoveryPoint")  # fmt: skip
HUMAN_REASON = "no safe automatic change: a notification at GuardDuty's severity naming the target and what to do"

FINDING_RESPONSES: tuple[FindingRule, ...] = (
    FindingRule(
        "Attack sequence: credentials or S3 data",
        ("AttackSequence:IAM/*", "AttackSequence:S3/*"),
        ("AttackSequence",),
        None,
        "contain-sequence-credentials",
        "each IAM user access key named: the access-key containment; each role session named: cut that session; "
        "the buckets named: listed under NEEDS A HUMAN",
    ),
    FindingRule(
        "Attack sequence: EC2 instance group",
        ("AttackSequence:EC2/*",),
        ("AttackSequence",),
        None,
        "isolate-sequence-instances",
        "isolate every instance named (and those of a named Auto Scaling group or instance profile), keeping the "
        "evidence; terminate one a credential under an open incident launched",
    ),
    FindingRule(
        "Attack sequence: ECS cluster",
        ("AttackSequence:ECS/*",),
        ("AttackSequence",),
        None,
        "isolate-sequence-tasks",
        "isolate every ECS task named (its interfaces to the quarantine group); it keeps running, for evidence",
    ),
    FindingRule(
        "Attack sequence: EKS cluster (and any other)",
        ("AttackSequence:*",),
        ("AttackSequence",),
        None,
        "notify-critical",
        "critical notification naming the cluster and its workloads: a human contains a Kubernetes workload",
    ),
    FindingRule(
        "Root credentials",
        ("*",),
        ("AccessKey", "S3Bucket"),
        "Root",
        "notify-root",
        "critical notification only: an automatic change could lock the team out",
    ),
    FindingRule(
        "Assumed-role credentials abused",
        (*IAM_USER_THREATS, *S3_THREATS),
        ("AccessKey", "S3Bucket"),
        "AssumedRole",
        "revoke-role-sessions",
        "revoke the role's sessions issued before now (inline deny, DateLessThan aws:TokenIssueTime); isolate the "
        "instance the finding names; list the buckets",
    ),
    FindingRule(
        "IAM user access key abused",
        (*IAM_USER_THREATS, *S3_THREATS),
        ("AccessKey", "S3Bucket"),
        "IAMUser",
        "contain-access-key",
        "the full access-key containment, window from service.eventFirstSeen; list the buckets",
    ),
    FindingRule(
        "Credential findings that are not proof of abuse (Recon, Policy, PenTest, ...)",
        ("*",),
        ("AccessKey",),
        None,
        "notify-only",
        "notification at GuardDuty's severity: worth a look, not proof of abuse",
    ),
    FindingRule(
        "S3 Protection without proof of credential abuse (Policy:S3, PenTest:S3, no credential)",
        ("*",),
        ("S3Bucket",),
        None,
        "notify-only",
        "notification naming the buckets: a bucket policy or ACL is the team's call",
    ),
    FindingRule(
        "EC2 Recon / Behavior below High",
        ("Recon:EC2/*", "Behavior:EC2/*"),
        ("Instance",),
        None,
        "notify-only",
        "notification at GuardDuty's severity: scanning and unusual traffic alone are not a compromise",
        below=HIGH,
    ),
    FindingRule(
        "EC2, Runtime Monitoring and Malware Protection on an instance",
        EC2_THREATS,
        ("Instance",),
        None,
        "isolate-instance",
        "isolate it keeping the evidence (snapshots, no termination, out of its Auto Scaling group and target groups); "
        "terminate it if a credential under an open incident launched it",
    ),
    FindingRule(
        "Runtime / Malware Protection on an ECS task",
        ("*",),
        ("ECSCluster",),
        None,
        "isolate-task",
        "isolate the task (its interfaces to the quarantine group); it keeps running, for evidence",
    ),
    FindingRule(
        "Runtime / Malware Protection on a standalone container",
        ("*",),
        ("Container",),
        None,
        "notify-container",
        "critical notification naming the container and its host: a human stops or isolates it",
    ),
    FindingRule(
        "Lambda Protection",
        ("*",),
        ("Lambda",),
        None,
        "throttle-function",
        "throttle the function (PutFunctionConcurrency 0) and revoke its role's sessions issued before now; "
        "its code is kept",
    ),
    FindingRule(
        "EKS audit logs and Runtime on EKS, RDS login, Malware Protection for S3 / EBS / AMI / Backup",
        ("*",),
        NOTIFY_RESOURCES,
        None,
        "notify-human",
        HUMAN_REASON,
    ),
    FindingRule("Anything else", ("*",), None, None, "notify-human", "no automatic response for this finding type"),
)
FALLBACK = FINDING_RESPONSES[-1]


def rule_for(finding: FindingDetail) -> FindingRule:
    return next(rule for rule in FINDING_RESPONSES if rule.matches(finding))


def readme_table() -> str:
    """The README's finding table, generated from the rows (a test keeps them equal)."""
    lines = ["| # | family | finding types | resource type | response |", "|---|---|---|---|---|"]
    for n, rule in enumerate(FINDING_RESPONSES, 1):
        types = ", ".join(f"`{t}`" for t in rule.types)
        where = ", ".join(f"`{r}`" for r in rule.resource_types) if rule.resource_types else "any"
        if rule.user_type:
            where += f" (`userType: {rule.user_type}`)"
        if rule.below is not None:
            types += f" (severity below {rule.below:g})"
        lines.append(f"| {n} | {rule.family} | {types} | {where} | `{rule.response}`: {rule.reason} |")
    return "\n".join(lines)


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


def respond_to_finding(ctx: ResponseContext, finding: FindingDetail, event_region: str) -> Report:
    return with_band(_respond(ctx, finding, event_region), finding)


def _facts(finding: FindingDetail, region: str, rule: FindingRule) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "finding": f"{finding.type} (severity {finding.severity:g}, {severity_band(finding.severity).upper()})",
        "title": finding.title,
        "console": console_link(finding, region),
        "findingId": finding.id,
        "firstSeen": finding.service.eventFirstSeen.isoformat() if finding.service.eventFirstSeen else None,
        "family": rule.family,
        "response": f"{rule.response}: {rule.reason}",
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


def _respond(ctx: ResponseContext, finding: FindingDetail, event_region: str) -> Report:
    region = finding.region or event_region
    rule = rule_for(finding)
    facts = _facts(finding, region, rule)
    why_not = gate(ctx, finding)
    if why_not:
        facts["response"] = f"notify only: {why_not}"
        return notify_only(ctx, f"GuardDuty {finding.type}: notify only ({why_not})", "info", facts, [])

    handlers = {
        "contain-sequence-credentials": _sequence_credentials,
        "isolate-sequence-instances": _sequence_instances,
        "isolate-sequence-tasks": _sequence_tasks,
        "revoke-role-sessions": _assumed_role,
        "contain-access-key": _iam_user,
        "isolate-instance": _instance,
        "isolate-task": _ecs_task,
        "throttle-function": _lambda,
    }
    respond = handlers.get(rule.response)
    report = respond(ctx, finding, region, facts) if respond else None
    if report is not None:
        return report
    if rule.response == "notify-root":
        return notify_only(
            ctx,
            f"GuardDuty {finding.type}: ROOT credentials",
            "critical",
            facts,
            ["Sign in as root, rotate its credentials, delete root access keys, check MFA."],
        )
    if rule.response in ("notify-critical", "notify-container"):
        return notify_only(ctx, f"GuardDuty {finding.type}: needs a human", "critical", facts, _human_todo(finding))
    return notify_only(ctx, f"GuardDuty {finding.type}: notify only", "medium", facts, _human_todo(finding))


# --- the responses ------------------------------------------------------------------------------------------
def _finish(ctx: ResponseContext, report: Report, finding: FindingDetail, facts: dict[str, Any]) -> Report:
    report.facts.update(facts)
    report.subject = f"GuardDuty {finding.type}"
    report.status = "planned" if ctx.dry_run else "contained"
    return report


def _listed(report: Report, targets: Targets) -> None:
    """What the finding names but the responder does not change: said under NEEDS A HUMAN."""
    for bucket in targets.buckets:
        report.todo.append(
            f"Bucket {bucket} is named by the finding: review its bucket policy and ACLs, what was read or deleted "
            "(CloudTrail S3 data events, server access logs), and restore from versions or backups."
        )
    for root in targets.root:
        report.todo.append(f"ROOT credentials {root} are named: sign in as root, rotate them, delete root keys.")
        report.severity = "critical"
    for other in targets.others:
        report.todo.append(f"{other} is named: review and contain it by hand.")
    for elsewhere in targets.elsewhere:
        report.todo.append(f"NOT ACTED ON: {elsewhere}: contain it in that account.")


def _sequence(finding: FindingDetail, ctx: ResponseContext, region: str) -> Targets:
    detection = finding.service.detection
    sequence = detection.sequence if detection else None
    if sequence is None:
        return Targets()
    return sequence_targets(sequence, ctx.account or finding.accountId, region)


def _sequence_credentials(
    ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]
) -> Report | None:
    targets = _sequence(finding, ctx, region)
    window = ctx.window(finding.service.eventFirstSeen or finding.createdAt)
    reports = [
        contain_access_key(ctx, key.access_key_id, window=window, what=f"GuardDuty {finding.type}:", facts=facts)
        for key in targets.keys
    ]
    reports.sort(key=lambda r: r.status == "notified")  # a key that was acted on leads (protected, unknown: after)
    report = reports[0] if reports else ctx.new_report()
    for other in reports[1:]:
        report.absorb(other)
        report.findings.extend(other.findings)
        report.severity = "critical" if "critical" in (report.severity, other.severity) else report.severity
    if targets.sessions:
        report.add(cut_sessions(ctx, targets.sessions, f"named by attack sequence {finding.type} ({finding.id})"))
        for session in targets.sessions:
            report.todo.append(
                f"Find how role {session.role_name}'s session {session.user_id or session.credential} was obtained "
                "(who could assume the role) and rotate what it could reach."
            )
    _listed(report, targets)
    if not (targets.keys or targets.sessions):
        report.todo.append("The attack sequence names no credential of this account: review it in the console.")
    return _finish(ctx, report, finding, facts)


def _sequence_instances(
    ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]
) -> Report | None:
    targets = _sequence(finding, ctx, region)
    report = ctx.new_report()
    for instance_id, where in targets.instances:
        report.absorb(_instance_report(ctx, finding, instance_id, where or region))
    _listed(report, targets)
    if not targets.instances:
        report.todo.append("The attack sequence names no instance of this account: review it in the console.")
    return _finish(ctx, report, finding, facts)


def _sequence_tasks(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    targets = _sequence(finding, ctx, region)
    report = ctx.new_report()
    report.add(isolate_tasks(ctx, targets.tasks, region, f"named by attack sequence {finding.type} ({finding.id})"))
    _listed(report, targets)
    report.todo.append(
        "Investigate the isolated tasks (they keep running, for memory and disk evidence), then stop them and "
        "redeploy from a clean image; rotate the secrets the task role could read."
    )
    return _finish(ctx, report, finding, facts)


def _bucket_targets(finding: FindingDetail) -> Targets:
    return Targets(buckets=[b.name or b.arn or "?" for b in finding.resource.s3BucketDetails or []])


def _iam_user(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    details = finding.resource.accessKeyDetails
    if not (details and details.accessKeyId and ACCESS_KEY_ID.match(details.accessKeyId)):
        return None
    window = ctx.window(finding.service.eventFirstSeen or finding.createdAt)
    report = contain_access_key(ctx, details.accessKeyId, window=window, what=f"GuardDuty {finding.type}:", facts=facts)
    _listed(report, _bucket_targets(finding))
    return report


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
    _listed(report, _bucket_targets(finding))
    return _finish(ctx, report, finding, facts)


def _instance(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    instance = finding.resource.instanceDetails
    if not (instance and instance.instanceId):
        return None
    report = _instance_report(ctx, finding, instance.instanceId, region)
    if "rogue instance" not in report.subject:
        report = _finish(ctx, report, finding, facts)
    else:
        report.facts.update(facts)
        report.status = "planned" if ctx.dry_run else "contained"
    return report


def _instance_report(ctx: ResponseContext, finding: FindingDetail, instance_id: str, region: str) -> Report:
    """Rogue (launched by a credential under an open incident) -> terminate; otherwise isolate."""
    launcher, incident = launcher_under_incident(ctx, instance_id, region)
    if incident and launcher:
        why = f"launched by {launcher.access_key_id}, a credential under open incident {incident} ({finding.type})"
        report = terminate_attributed_instance(ctx, instance_id, region, why)
        report.subject = f"GuardDuty {finding.type}: rogue instance {instance_id}"
        return report
    why = f"GuardDuty {finding.type}: {finding.title}"
    return isolate_instance(ctx, instance_id, region, why, {"findingId": finding.id})


def _ecs_task(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    cluster = finding.resource.ecsClusterDetails
    task = cluster.taskDetails if cluster else None
    if not (cluster and task and task.arn):
        return None
    report = ctx.new_report()
    report.add(isolate_tasks(ctx, [(task.arn, cluster.arn or cluster.name)], region, f"GuardDuty {finding.type}"))
    report.todo.append(
        f"Investigate task {task.arn} (kept running: memory and disk are evidence), then stop it and redeploy from a "
        "clean image; rotate the secrets its task role could read."
    )
    return _finish(ctx, report, finding, facts)


def _lambda(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    fn = finding.resource.lambdaDetails
    name = fn.functionName if fn else None
    if not (fn and name):
        return None
    tags = {str(t.get("key")): str(t.get("value")) for t in fn.tags}
    report = ctx.new_report()
    report.add(throttle_function(ctx, name, region, fn.role, tags, f"GuardDuty {finding.type}"))
    report.todo.append(
        f"Review {name}'s code and configuration (kept: version {fn.functionVersion or '$LATEST'}) and what its role "
        f"could reach; restore its concurrency when clean (aws lambda delete-function-concurrency --function-name "
        f"{name})."
    )
    return _finish(ctx, report, finding, facts)


def _human_todo(finding: FindingDetail) -> list[str]:
    """What a human should do for the families the responder only notifies about."""
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


__all__ = [
    "FALLBACK",
    "FINDING_RESPONSES",
    "FindingRule",
    "SessionTarget",
    "readme_table",
    "respond_to_finding",
    "rule_for",
]
