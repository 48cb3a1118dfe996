"""Instances: isolate a compromised one (its evidence kept), release it, or stop one proven rogue."""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..actions import ActionName
from ..actions.isolation import (
    DEREGISTERED_FROM_TAG,
    DETACHED_FROM_TAG,
    ISOLATED_TAG,
    ISOLATION_TAGS,
    DeregisterFromTargetGroup,
    DetachFromAutoScalingGroup,
    EnableTerminationProtection,
    IsolateInstance,
    KeepVolumes,
    ReleaseInstance,
    SnapshotVolume,
    TagIsolatedInstance,
    isolation_record_tags,
    original_groups_from,
    unchunked,
)
from ..aws import describe_error
from ..core.model import Instance, Outcome, Step, Suspect, TargetGroupMembership
from ..evidence import probes
from ..evidence.probes import auto_scaling_group_of, describe_instances, target_groups_of
from ..record import store
from ..report import Report
from ..shell.context import ResponseContext
from ..sweep import SweepRequest
from .base import DESCRIBE, RECORD, STOP, Flow

KEEP_EVIDENCE = (
    SnapshotVolume,
    KeepVolumes,
    EnableTerminationProtection,
    DetachFromAutoScalingGroup,
    DeregisterFromTargetGroup,
    IsolateInstance,
    TagIsolatedInstance,
)
ISOLATION = Flow(
    "instance-isolation",
    (
        probes.DESCRIBE_INSTANCES,
        probes.DESCRIBE_ASG_MEMBERSHIP,
        probes.DESCRIBE_TARGET_GROUPS,
        *(action.capability for action in KEEP_EVIDENCE),
        store.LEDGER_READ,
        probes.LOOKUP_EVENTS,
        store.INCIDENTS_READ,
        *DESCRIBE,
        *STOP,
        *RECORD,
    ),
    "isolate a compromised instance keeping its evidence, or stop it when a credential under an open incident "
    "launched it",
)
RELEASE = Flow("instance-release", (probes.DESCRIBE_INSTANCES, ReleaseInstance.capability, *RECORD))
SNAPSHOT_ID = re.compile(r"\bsnap-[0-9a-f]+\b")


@dataclass(frozen=True)
class IsolationEvidence:
    """What isolating one instance must know: the instance, the group and target groups that would replace it
    or route to it; ``errors`` when that could not be read (the response then fails, and is retried)."""

    instance: Instance | None
    auto_scaling_group: str | None = None
    target_groups: tuple[TargetGroupMembership, ...] = ()
    notes: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def not_isolated_because(inst: Instance | None, ctx: ResponseContext) -> str | None:
    """Why the instance is left as it is, if it is (never touched: the protect tag)."""
    if inst is None:
        return "instance not found (or terminated): nothing to isolate"
    if ctx.policy.has_protect_tag(inst.tags):
        return f"carries the protect tag {ctx.policy.protect_tag_key}=true: not touched"
    if ISOLATED_TAG in inst.tags and inst.tags[ISOLATED_TAG] != ctx.incident_id:  # the same incident: a retry
        return f"already carries the responder's isolation tag (incident {inst.tags[ISOLATED_TAG]}): nothing to redo"
    if not inst.vpc_id:
        return "not in a VPC: cannot isolate with a security group"
    return None


def isolation_evidence(ctx: ResponseContext, instance_id: str, region: str) -> IsolationEvidence:
    found = describe_instances(ctx.clients, region, [instance_id])
    inst = found[0] if found else None
    if not_isolated_because(inst, ctx) or inst is None:
        return IsolationEvidence(inst)
    notes: list[str] = []
    errors: list[str] = []
    group: str | None = None
    held: list[TargetGroupMembership] = []
    with (
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="isolation") as outer,
        ThreadPoolExecutor(max_workers=8, thread_name_prefix="isolation-tg") as inner,
    ):
        group_future = outer.submit(auto_scaling_group_of, ctx.clients, region, inst)
        held_future = outer.submit(target_groups_of, ctx.clients, region, inst, inner)
        try:
            group, note = group_future.result()
            notes += [note] if note else []
        except Exception as exc:  # noqa: BLE001 - unknown membership: said, and retried
            errors.append(f"could not tell whether {instance_id} is in an Auto Scaling group: {describe_error(exc)}")
        try:
            held = held_future.result()
        except Exception as exc:  # noqa: BLE001 - unknown target groups: said, and retried
            errors.append(f"could not list the target groups routing to {instance_id}: {describe_error(exc)}")
    return IsolationEvidence(inst, group, tuple(held), tuple(notes), tuple(errors))


def plan_isolation(
    evidence: IsolationEvidence, instance_id: str, region: str, reason: str, tags: dict[str, str], ctx: ResponseContext
) -> list[Step]:
    """Evidence first (snapshots, disks kept, no termination), then out of the group and the target groups, then
    the connections cut. A step that does not apply (no group, no target group) is not planned."""
    inst = evidence.instance
    why_not = not_isolated_because(inst, ctx)
    if why_not or inst is None:
        return [Step(ActionName.ISOLATE_INSTANCE, instance_id, region, why_not or "", status="skipped")]
    snapshot_tags = {"instanceId": instance_id, "incidentId": ctx.incident_id or "n/a", **tags}
    steps = [
        Step(
            ActionName.SNAPSHOT_VOLUME,
            volume,
            region,
            f"forensic copy before isolation: {reason}",
            params=snapshot_tags,
        )
        for volume in inst.volumes
    ]
    deleted_with_it = [d for d in inst.block_devices if d.delete_on_termination]
    if deleted_with_it:
        volumes = ", ".join(d.volume for d in deleted_with_it)
        steps.append(
            Step(
                ActionName.KEEP_VOLUMES,
                instance_id,
                region,
                f"its volumes {volumes} would be deleted with it: keep them whatever terminates it ({reason})",
                params={"devices": [d.device for d in deleted_with_it], "volumes": volumes},
            )
        )
    steps.append(
        Step(
            ActionName.ENABLE_TERMINATION_PROTECTION,
            instance_id,
            region,
            f"nobody terminates the evidence by mistake; a shutdown from inside stops it ({reason})",
        )
    )
    if evidence.auto_scaling_group:
        group = evidence.auto_scaling_group
        steps.append(
            Step(
                ActionName.DETACH_FROM_ASG,
                instance_id,
                region,
                f"Auto Scaling group {group} would terminate and replace it once the quarantine fails its health "
                f"checks ({reason})",
                params={"autoScalingGroup": group},
            )
        )
    steps += [
        Step(
            ActionName.DEREGISTER_FROM_TARGET_GROUP,
            held.arn,
            region,
            f"target group {held.name} routes traffic to {instance_id} ({reason})",
            params={"instanceId": instance_id, "targetGroup": held.name, "targets": [list(t) for t in held.targets]},
        )
        for held in evidence.target_groups
    ]
    params = {
        "vpcId": inst.vpc_id,
        "interfaces": inst.network_interfaces,
        "incidentId": ctx.incident_id,
    }
    steps.append(Step(ActionName.ISOLATE_INSTANCE, instance_id, region, reason, params=params))
    return steps


def plan_isolation_record(
    outcomes: Sequence[Outcome], instance_id: str, region: str, finding: str, dry_run: bool
) -> list[Step]:
    """The last step: tag the instance with what AWS accepted (in a plan: what is planned). Nothing happened:
    nothing to record."""
    counted = "planned" if dry_run else "done"
    happened = [o for o in outcomes if o.status == counted and o.step.action != ActionName.TAG_ISOLATED_INSTANCE]
    if not happened:
        return []
    group = next(
        (str(o.step.params.get("autoScalingGroup")) for o in happened if o.step.action == ActionName.DETACH_FROM_ASG),
        None,
    )
    target_groups = [
        o.step.target + "=" + "+".join(str(port or "") for _, port in o.step.params.get("targets", []))
        for o in happened
        if o.step.action == ActionName.DEREGISTER_FROM_TARGET_GROUP
    ]
    snapshots = [
        found
        for o in happened
        if o.step.action == ActionName.SNAPSHOT_VOLUME
        for found in SNAPSHOT_ID.findall(o.detail or "")
    ]
    tags = isolation_record_tags(finding, group, target_groups, snapshots)
    if not tags:
        return []
    keys = ",".join(dict.fromkeys(t["Key"] for t in tags))
    why = "record on the instance what was done to it (finding, group, target groups, snapshots)"
    return [Step(ActionName.TAG_ISOLATED_INSTANCE, instance_id, region, why, params={"tags": tags, "keys": keys})]


def isolate_instance(ctx: ResponseContext, instance_id: str, region: str, reason: str, tags: dict[str, str]) -> Report:
    """Contract "Isolation keeps the evidence"."""
    report = ctx.new_report()
    evidence = isolation_evidence(ctx, instance_id, region)
    report.errors += evidence.errors
    if evidence.notes:
        report.facts["isolationEvidence"] = "; ".join(evidence.notes)
    outcomes = ctx.run(plan_isolation(evidence, instance_id, region, reason, tags, ctx))
    outcomes += ctx.run(plan_isolation_record(outcomes, instance_id, region, tags.get("findingId", ""), ctx.dry_run))
    report.add(outcomes)
    report.subject = f"Isolation of {instance_id} ({region})"
    report.todo = [
        f"Investigate {instance_id} from its snapshots; release it with the release-instance runbook or replace it.",
        *(
            f"{error}: check by hand, and detach it from any Auto Scaling group / target group (the retry tries again)."
            for error in evidence.errors
        ),
    ]
    return report


def release_instance(ctx: ResponseContext, instance_id: str, region: str) -> Report:
    """Undo an isolation: restore the security groups recorded when it was isolated; say what else to put back."""
    report = ctx.new_report(severity="info")
    found = describe_instances(ctx.clients, region, [instance_id])
    inst = found[0] if found else None
    restore = original_groups_from(inst.tags) if inst else []
    if inst is None or ISOLATED_TAG not in inst.tags or not restore:
        why = "instance not found" if inst is None else "no isolation by the responder recorded on it (no saved groups)"
        step = Step(ActionName.RELEASE_INSTANCE, instance_id, region, why, status="skipped")
    else:
        keys = [k for k in inst.tags if k.startswith(ISOLATION_TAGS)]
        why = "restore the security groups recorded at isolation"
        step = Step(ActionName.RELEASE_INSTANCE, instance_id, region, why, params={"restore": restore, "tagKeys": keys})
    outcomes = ctx.run([step])
    report.add(outcomes)
    report.subject = f"Release of {instance_id} ({region})"
    report.status = "notified"
    if inst is not None and outcomes[0].status in ("done", "planned"):
        report.todo = reattach_todo(inst)
    return report


def reattach_todo(inst: Instance) -> list[str]:
    """What the isolation took the instance out of: putting it back is the team's call (contract)."""
    todo = []
    group = inst.tags.get(DETACHED_FROM_TAG)
    if group:
        todo.append(
            f"It was detached from Auto Scaling group {group}, which launched a replacement: re-attach it only if you "
            f"want it back (aws autoscaling attach-instances --instance-ids {inst.id} --auto-scaling-group-name "
            f"{group}: that raises the group's desired capacity by one)."
        )
    for item in filter(None, unchunked(inst.tags, DEREGISTERED_FROM_TAG).split(";")):
        arn, _, ports = item.partition("=")
        targets = " ".join(f"Id={inst.id}" + (f",Port={p}" if p else "") for p in ports.split("+"))
        todo.append(
            f"It was deregistered from target group {arn}: register it again when it should serve traffic "
            f"(aws elbv2 register-targets --target-group-arn {arn} --targets {targets})."
        )
    todo.append(
        f"Termination protection stays on and {inst.id}'s volumes are kept if it is terminated (DeleteOnTermination="
        "false): turn them back by hand if it returns to normal service."
    )
    return todo


def stop_these(
    ctx: ResponseContext, report: Report, region: str, ids: frozenset[str], suspect: Suspect, protected: bool = False
) -> None:
    """Stop exactly these resources and what launched them, in one region (cancel first, then terminate)."""
    request = SweepRequest(
        window=None,
        scope={region: ids},
        suspects={region: dict.fromkeys(ids, suspect)},
        termination_protected=ids if protected else frozenset(),
        use_lookup=False,
    )
    report.add_regions(ctx.region_sweep().run([region], request))


def terminate_attributed_instance(ctx: ResponseContext, instance_id: str, region: str, why: str) -> Report:
    """An instance launched by a credential under an open incident is rogue: stop it and what launched it."""
    report = ctx.new_report()
    stop_these(ctx, report, region, frozenset({instance_id}), Suspect(why, "ledger", compromised=True))
    report.subject = f"Rogue instance {instance_id} ({region})"
    return report
