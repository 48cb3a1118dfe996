"""Evidence -> ordered Steps. Pure: no AWS calls, no clock; trivially testable.

Containment order inside a region (AWS incident-response playbooks, and incident 1: killing
instances alone does not help while their spot requests relaunch them):
  1. cancel spot fleets, delete EC2 fleets (TerminateInstances=False), cancel spot requests,
     scale attacker Auto Scaling groups to zero
  2. turn off termination protection where it is known to be on
  3. terminate the rogue instances, in batches
"""

from __future__ import annotations

from dataclasses import replace

from ..actions import STOP_ACTION, ActionName, report_order
from ..actions.iam import QUARANTINE_POLICY_NAME
from ..core.model import GLOBAL, Capacity, Instance, Principal, RegionEvidence, Resource, Step, Verdict, Window
from .pricing import hourly_price
from .rogue import PROTECT_OVERRIDE_NOTE, RoguePolicy

ALREADY_STOPPED = frozenset({"scaled-to-zero", "cancelled_running", "deleted_running"})
KIND_LABEL = {
    "spot-fleet": "spot fleet",
    "ec2-fleet": "EC2 fleet",
    "spot-request": "spot request",
    "asg": "Auto Scaling group",
}


def ownership(evidence: RegionEvidence) -> dict[str, str]:
    """resource id -> id of the launcher that owns it (fleet/ASG over spot request over instance)."""
    owner: dict[str, str] = {}
    for c in evidence.capacity:
        if c.kind != "spot-request":
            for rid in c.request_ids + c.instance_ids:
                owner.setdefault(rid, c.id)
    for c in evidence.capacity:
        if c.kind == "spot-request":
            for iid in c.instance_ids:
                owner.setdefault(iid, c.id)
    return owner


def _root(rid: str, owner: dict[str, str]) -> str:
    seen = {rid}
    while rid in owner and owner[rid] not in seen:
        rid = owner[rid]
        seen.add(rid)
    return rid


def _as_judged(c: Capacity, instances: dict[str, Instance]) -> Capacity:
    """A launcher is judged with its members' facts: their types, and their launch times where the
    launcher has no creation time of its own (a spot request counts as launched when it last launched)."""
    members = [instances[i] for i in c.instance_ids if i in instances]
    types = tuple(dict.fromkeys(c.instance_types + tuple(m.type for m in members if m.type)))
    launches = [m.launch_time for m in members if m.launch_time]
    launched = c.launched_at
    if c.kind == "spot-request" and launches:
        launched = max([launched, *launches]) if launched else max(launches)
    elif launched is None and launches:
        launched = min(launches)
    return replace(c, instance_types=types, launched_at=launched)


def plan_region(evidence: RegionEvidence, policy: RoguePolicy, window: Window | None) -> list[Step]:
    """Decide every resource of one region and return the steps, in containment order."""
    instances = {i.id: i for i in evidence.instances}
    capacity = {c.id: c for c in evidence.capacity}
    owner = ownership(evidence)
    resources: dict[str, Resource] = {**instances, **capacity}
    roots = {rid: _root(rid, owner) for rid in resources}

    if evidence.scope is not None:
        wanted_roots = {roots.get(rid, rid) for rid in evidence.scope}
        resources = {rid: r for rid, r in resources.items() if roots[rid] in wanted_roots or rid in evidence.scope}

    verdicts: dict[str, Verdict] = {}
    for rid, res in resources.items():
        if roots[rid] == rid:
            judged = _as_judged(res, instances) if isinstance(res, Capacity) else res
            verdicts[rid] = policy.judge(judged, evidence, window)

    # A spot request that launched an instance attributed to the compromised credential would
    # relaunch it: it is rogue too, whatever it carries.
    for iid in instances:
        suspect = evidence.suspects.get(iid)
        root_id = roots.get(iid, iid)
        root = resources.get(root_id)
        if (
            suspect
            and suspect.compromised
            and isinstance(root, Capacity)
            and root.kind == "spot-request"
            and root_id in verdicts
            and not verdicts[root_id].rogue
        ):
            tagged = policy.has_protect_tag(root.tags)
            verdicts[root_id] = Verdict(
                True,
                f"launched {iid}, which was {suspect.reason}" + (f" ({PROTECT_OVERRIDE_NOTE})" if tagged else ""),
                source=suspect.source,
                overrode_protect=tagged,
                examined=True,
            )

    steps: list[Step] = []
    for rid, res in resources.items():
        verdict = _verdict_of(rid, res, roots, verdicts, resources, evidence, policy)
        steps.extend(_steps_for(res, verdict, evidence))
    return sorted(steps, key=lambda s: (report_order(s.action), s.status != "planned", s.target))


def _verdict_of(
    rid: str,
    res: Resource,
    roots: dict[str, str],
    verdicts: dict[str, Verdict],
    resources: dict[str, Resource],
    evidence: RegionEvidence,
    policy: RoguePolicy,
) -> Verdict:
    root_id = roots[rid]
    if root_id == rid:
        return verdicts[rid]
    own = evidence.suspects.get(rid)
    if own and own.compromised:
        tagged = policy.has_protect_tag(res.tags)
        note = f" ({PROTECT_OVERRIDE_NOTE})" if tagged else ""
        return Verdict(True, own.reason + note, source=own.source, overrode_protect=tagged, examined=True)
    parent = verdicts.get(root_id)
    root = resources.get(root_id)
    if parent is None or root is None:  # owner outside the scope: judge on its own
        return policy.judge(res, evidence, None)
    label = f"{KIND_LABEL.get(root.kind, root.kind) if isinstance(root, Capacity) else 'instance'} {root_id}"
    if parent.rogue:
        return Verdict(
            True,
            f"launched by rogue {label}: {parent.reason}",
            source=parent.source,
            overrode_protect=parent.overrode_protect,
            examined=True,
        )
    return Verdict(False, f"belongs to {label}, left alone: {parent.reason}", examined=parent.examined)


def _steps_for(res: Resource, verdict: Verdict, evidence: RegionEvidence) -> list[Step]:
    region = evidence.region
    if isinstance(res, Capacity):
        action = STOP_ACTION[res.kind]
        if verdict.rogue:
            if res.state in ALREADY_STOPPED:  # nothing left to cancel; its members are judged below
                return []
            return [
                Step(action, res.id, region, verdict.reason, source=verdict.source, params={"resourceKind": res.kind})
            ]
        if verdict.examined:
            return [Step(action, res.id, region, verdict.reason, status="skipped", params={"resourceKind": res.kind})]
        return []
    params = {"instanceType": res.type, "resourceKind": "instance"}
    if verdict.rogue:
        steps = []
        if res.id in evidence.termination_protected:
            steps.append(
                Step(
                    ActionName.DISABLE_TERMINATION_PROTECTION,
                    res.id,
                    region,
                    "termination protection is on: " + verdict.reason,
                    source=verdict.source,
                    params=params,
                )
            )
        steps.append(
            Step(
                ActionName.TERMINATE_INSTANCE,
                res.id,
                region,
                verdict.reason,
                source=verdict.source,
                params=params,
                hourly_cost=hourly_price(res.type),
            )
        )
        return steps
    if verdict.examined:
        return [Step(ActionName.TERMINATE_INSTANCE, res.id, region, verdict.reason, status="skipped", params=params)]
    return []


def plan_key_containment(access_key_id: str, owner: Principal, policy: RoguePolicy) -> list[Step]:
    """Close the door first: deactivate the key, then deny everything to its user."""
    if owner.type == "Root":
        return [
            Step(
                ActionName.DEACTIVATE_ACCESS_KEY,
                access_key_id,
                GLOBAL,
                "root user's key: a role cannot deactivate it - the account owner must delete it now (CRITICAL)",
                status="skipped",
            ),
        ]
    if policy.is_protected_principal(owner.name, owner.arn):
        why = f"owner {owner.name} is a protected principal (PROTECTED_PRINCIPALS): not touched, a human decides"
        return [
            Step(
                ActionName.DEACTIVATE_ACCESS_KEY,
                access_key_id,
                GLOBAL,
                why,
                status="skipped",
                params={"userName": owner.name},
            ),
            Step(ActionName.QUARANTINE_USER, owner.name, GLOBAL, why, status="skipped"),
        ]
    return [
        Step(
            ActionName.DEACTIVATE_ACCESS_KEY,
            access_key_id,
            GLOBAL,
            f"exposed/abused access key of {owner.name}: deactivate (never delete)",
            params={"userName": owner.name},
        ),
        Step(
            ActionName.QUARANTINE_USER,
            owner.name,
            GLOBAL,
            "deny-all inline policy stops any other credential of the user",
            params={"policyName": QUARANTINE_POLICY_NAME},
        ),
    ]
