"""Instances: isolate a compromised one (its evidence kept), release it, or stop one proven rogue."""

from __future__ import annotations

from .. import probes, store
from ..actions import ActionName
from ..actions.isolation import (
    FINDING_TAG,
    ISOLATED_TAG,
    ORIGINAL_GROUPS_TAG,
    IsolateInstance,
    ReleaseInstance,
    SnapshotVolume,
    original_groups_from,
)
from ..context import ResponseContext
from ..model import Instance, Step, Suspect
from ..probes import describe_instances
from ..report import Report
from ..sweep import SweepRequest
from .base import DESCRIBE, RECORD, STOP, Flow

ISOLATION = Flow(
    "instance-isolation",
    (
        probes.DESCRIBE_INSTANCES,
        IsolateInstance.capability,
        SnapshotVolume.capability,
        store.LEDGER_READ,
        probes.LOOKUP_EVENTS,
        store.INCIDENTS_READ,
        *DESCRIBE,
        *STOP,
        *RECORD,
    ),
    "isolate a compromised instance, or stop it when a credential under an open incident launched it",
)
RELEASE = Flow("instance-release", (probes.DESCRIBE_INSTANCES, ReleaseInstance.capability, *RECORD))


def plan_isolation(inst: Instance | None, instance_id: str, region: str, reason: str, tags: dict[str, str],
                   ctx: ResponseContext) -> list[Step]:  # fmt: skip
    """Snapshot every volume (evidence first), then swap the groups for the quarantine group."""

    def skipped(why: str) -> list[Step]:
        return [Step(ActionName.ISOLATE_INSTANCE, instance_id, region, why, status="skipped")]

    if inst is None:
        return skipped("instance not found (or terminated): nothing to isolate")
    if ctx.policy.has_protect_tag(inst.tags):
        return skipped(f"carries the protect tag {ctx.policy.protect_tag_key}=true: not touched")
    if ISOLATED_TAG in inst.tags:
        return skipped(
            f"already carries the responder's isolation tag (incident {inst.tags[ISOLATED_TAG]}): nothing to redo"
        )
    if not inst.vpc_id:
        return skipped("not in a VPC: cannot isolate with a security group")
    snapshot_tags = {"instanceId": instance_id, "incidentId": ctx.incident_id, **tags}
    why = f"forensic copy before isolation: {reason}"
    steps = [Step(ActionName.SNAPSHOT_VOLUME, volume, region, why, params=snapshot_tags) for volume in inst.volumes]
    params = {
        "vpcId": inst.vpc_id,
        "interfaces": inst.network_interfaces,
        "incidentId": ctx.incident_id,
        "findingId": tags.get("findingId", ""),
    }
    steps.append(Step(ActionName.ISOLATE_INSTANCE, instance_id, region, reason, params=params))
    return steps


def isolate_instance(ctx: ResponseContext, instance_id: str, region: str, reason: str, tags: dict[str, str]) -> Report:
    report = ctx.new_report()
    found = describe_instances(ctx.clients, region, [instance_id])
    report.add(ctx.run(plan_isolation(found[0] if found else None, instance_id, region, reason, tags, ctx)))
    report.subject = f"Isolation of {instance_id} ({region})"
    report.todo = [
        f"Investigate {instance_id} from its snapshots; release it with the release-instance runbook or replace it."
    ]
    return report


def release_instance(ctx: ResponseContext, instance_id: str, region: str) -> Report:
    """Undo an isolation: restore the security groups recorded when it was isolated."""
    report = ctx.new_report(severity="info")
    found = describe_instances(ctx.clients, region, [instance_id])
    inst = found[0] if found else None
    restore = original_groups_from(inst.tags) if inst else []
    if inst is None or ISOLATED_TAG not in inst.tags or not restore:
        why = "instance not found" if inst is None else "no isolation by the responder recorded on it (no saved groups)"
        step = Step(ActionName.RELEASE_INSTANCE, instance_id, region, why, status="skipped")
    else:
        keys = [k for k in inst.tags if k.startswith((ORIGINAL_GROUPS_TAG, ISOLATED_TAG, FINDING_TAG))]
        why = "restore the security groups recorded at isolation"
        step = Step(ActionName.RELEASE_INSTANCE, instance_id, region, why, params={"restore": restore, "tagKeys": keys})
    report.add(ctx.run([step]))
    report.subject = f"Release of {instance_id} ({region})"
    report.status = "notified"
    return report


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
