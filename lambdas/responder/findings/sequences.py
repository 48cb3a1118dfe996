"""Attack sequences (GuardDuty Extended Threat Detection, ``resource.resourceType: AttackSequence``): one finding
for a whole attack; ``service.detection.sequence`` names its actors (the credentials used) and its resources.
Every credential, instance and task of this account it names is contained as its own family would contain it;
role sessions are cut one by one; an EKS (or any other) sequence notifies critically.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..actions import ActionName
from ..actions.iam import RevokeRoleSessions
from ..actions.role_session import RevokeSession
from ..core.model import GLOBAL, Outcome, Step
from ..core.timeutil import iso
from ..flows import ISOLATION, KEY_CONTAINMENT, NOTICE, contain_access_key
from ..flows.base import RECORD, Flow
from ..flows.tasks import TASK_ISOLATION, isolate_tasks
from ..parse.events import FindingDetail
from ..report import Report
from ..shell.context import ResponseContext
from .base import family
from .common import finish, listed
from .instances import instance_report
from .models import Detection, SessionTarget, Targets, sequence_targets

SEQUENCE = (("service.detection", Detection),)  # service.detection.sequence: actors[], resources[], signals[]
SESSION_CUT = Flow(
    "session-cut",
    (RevokeSession.capability, RevokeRoleSessions.capability, *RECORD),
    "cut the role sessions an attack sequence names (that session only; unknown session: the older ones)",
)


def cut_sessions(ctx: ResponseContext, sessions: Sequence[SessionTarget], reason: str) -> list[Outcome]:
    """One step per role: the named sessions only (``aws:userid``); a session whose id is unknown: the role's
    sessions issued before now. A protected role: skipped, listed."""
    by_role: dict[str, list[SessionTarget]] = {}
    for session in sessions:
        by_role.setdefault(session.role_name, []).append(session)
    steps = []
    for role, named in by_role.items():
        arn = ctx.iam_arn("role", role)
        if ctx.policy.is_protected_principal(role, arn):
            why = f"{role} is a protected principal: its sessions are not touched (a human decides)"
            steps.append(Step(ActionName.REVOKE_SESSION, role, GLOBAL, why, status="skipped"))
            continue
        ids = sorted({s.user_id for s in named if s.user_id})
        if ids:
            params: dict[str, Any] = {"sessionIds": ",".join(ids)}
            steps.append(Step(ActionName.REVOKE_SESSION, role, GLOBAL, reason, params=params))
        if any(s.user_id is None for s in named):
            why = f"{reason}; the session id is unknown: every session issued before now"
            steps.append(
                Step(ActionName.REVOKE_ROLE_SESSIONS, role, GLOBAL, why, params={"issuedBefore": iso(ctx.now)})
            )
    return ctx.run(steps)


def _targets(finding: FindingDetail, ctx: ResponseContext, region: str) -> Targets:
    detection = finding.service.detection
    sequence = detection.sequence if detection else None
    if sequence is None:
        return Targets()
    return sequence_targets(sequence, ctx.account or finding.accountId, region)


def _credentials(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    targets = _targets(finding, ctx, region)
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
    listed(report, targets)
    if not (targets.keys or targets.sessions):
        report.todo.append("The attack sequence names no credential of this account: review it in the console.")
    return finish(ctx, report, finding, facts)


def _instances(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    targets = _targets(finding, ctx, region)
    report = ctx.new_report()
    for instance_id, where in targets.instances:
        report.absorb(instance_report(ctx, finding, instance_id, where or region))
    listed(report, targets)
    if not targets.instances:
        report.todo.append("The attack sequence names no instance of this account: review it in the console.")
    return finish(ctx, report, finding, facts)


def _tasks(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    targets = _targets(finding, ctx, region)
    report = ctx.new_report()
    report.add(isolate_tasks(ctx, targets.tasks, region, f"named by attack sequence {finding.type} ({finding.id})"))
    listed(report, targets)
    report.todo.append(
        "Investigate the isolated tasks (they keep running, for memory and disk evidence), then stop them and "
        "redeploy from a clean image; rotate the secrets the task role could read."
    )
    return finish(ctx, report, finding, facts)


family(
    "Attack sequence: credentials or S3 data",
    order=10,
    types=("AttackSequence:IAM/*", "AttackSequence:S3/*"),
    resources=("AttackSequence",),
    response="contain-sequence-credentials",
    reason="each IAM user access key named: the access-key containment; each role session named: cut that session; "
    "the buckets named: listed under NEEDS A HUMAN",
    flows=(KEY_CONTAINMENT, SESSION_CUT),
    respond=_credentials,
    details=SEQUENCE,
)
family(
    "Attack sequence: EC2 instance group",
    order=11,
    types=("AttackSequence:EC2/*",),
    resources=("AttackSequence",),
    response="isolate-sequence-instances",
    reason="isolate every instance named (and those of a named Auto Scaling group or instance profile), keeping the "
    "evidence; terminate one a credential under an open incident launched",
    flows=(ISOLATION,),
    respond=_instances,
    details=SEQUENCE,
)
family(
    "Attack sequence: ECS cluster",
    order=12,
    types=("AttackSequence:ECS/*",),
    resources=("AttackSequence",),
    response="isolate-sequence-tasks",
    reason="isolate every ECS task named (its interfaces to the quarantine group); it keeps running, for evidence",
    flows=(TASK_ISOLATION,),
    respond=_tasks,
    details=SEQUENCE,
)
family(
    "Attack sequence: EKS cluster (and any other)",
    order=13,
    types=("AttackSequence:*",),
    resources=("AttackSequence",),
    response="notify-critical",
    reason="critical notification naming the cluster and its workloads: a human contains a Kubernetes workload",
    flows=(NOTICE,),
    details=SEQUENCE,
    needs_human=True,
)
