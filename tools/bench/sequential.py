"""The sequential baseline: the responder's own plan, run the way a simple script would.

Same engine pieces (probes, planner, action classes), no concurrency and no batching: the key is
closed, then each region in turn is described kind after kind, attributed, planned, and every
planned step is executed as its own call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from responder.actions import ACTIONS
from responder.aws import AWS_ERRORS, Clients
from responder.core.config import Settings
from responder.core.model import GLOBAL, Capacity, RegionEvidence, Step, Window
from responder.core.timeutil import utcnow
from responder.decide.planner import plan_key_containment, plan_region
from responder.decide.rogue import RoguePolicy
from responder.evidence.attribution import suspects_of
from responder.evidence.probes import REGION_DESCRIBES, describe_instances, key_owner, lookup_calls
from responder.parse.cloudtrail_records import LAUNCH_EVENTS
from responder.shell.quarantine import quarantine_policy_arn, with_quarantine_arn

from compromise_responder.tools.emulator import ACCOUNT


def contain(access_key_id: str, notice_start: datetime, regions: Sequence[str]) -> int:
    """Close the key, then sweep ``regions`` one by one, one call at a time. Returns failed steps."""
    settings = Settings.from_env()
    clients = Clients()
    policy = RoguePolicy.from_settings(settings)
    home = settings.home_region
    window = Window(notice_start - timedelta(hours=settings.lookback_hours), utcnow())
    owner = key_owner(clients, home, access_key_id, ACCOUNT)
    if owner.principal is None:
        raise RuntimeError(f"{access_key_id} has no owner in the emulated account")
    # the quarantine step names the stack's managed policy, as the engine's context adds it (responder.shell.quarantine)
    quarantine = with_quarantine_arn(
        list(plan_key_containment(access_key_id, owner.principal, policy)), quarantine_policy_arn(settings, ACCOUNT)
    )
    failed = _run_steps(clients, home, quarantine)
    for region in regions:
        evidence = _evidence(clients, region, access_key_id, window)
        failed += _run_steps(clients, home, plan_region(evidence, policy, window))
    return failed


def _evidence(clients: Clients, region: str, access_key_id: str, window: Window) -> RegionEvidence:
    instances = describe_instances(clients, region)
    capacity: list[Capacity] = [c for describe in REGION_DESCRIBES[1:] for c in describe(clients, region)]
    looked_up = lookup_calls(clients, region, window, access_key_id=access_key_id, event_names=LAUNCH_EVENTS)
    launches = [c.to_launch("cloudtrail") for c in looked_up if c.kind == "launch"]
    protected = frozenset(rid for launch in launches if launch.termination_protected for rid in launch.resource_ids)
    return RegionEvidence(
        region=region,
        instances=tuple(instances),
        capacity=tuple(capacity),
        attribution_available=True,
        attribution_source="cloudtrail",
        suspects=suspects_of(access_key_id, launches),
        termination_protected=protected,
    )


def _run_steps(clients: Clients, home: str, steps: Sequence[Step]) -> int:
    failed = 0
    for step in steps:
        if step.status != "planned":
            continue
        action = ACTIONS[step.action]()
        client = clients.get(action.service, home if step.region == GLOBAL else step.region)
        try:
            outcomes = action.run(client, [step])
        except AWS_ERRORS:
            failed += 1
            continue
        failed += sum(1 for o in outcomes if o.status == "failed")
    return failed
