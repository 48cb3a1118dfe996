"""The registry of changes the responder may make in AWS (Cloud Custodian style).

  base       what an action is: name, service, permissions, phase, words, what it stops
  iam        close the door: deactivate keys, quarantine principals, revoke sessions, remove passwords
  capacity   take rogue capacity away: fleets, spot requests, Auto Scaling groups, then instances
  isolation  keep a compromised instance's evidence: snapshot, isolate, release
  lifecycle  the incident's own record: close an incident
  restore    the responder's own trail, detector and rules switched back on; a tampering role session cut
  undo, undo_*  what the chain left behind undone (undo_trail_selectors, undo_trail_deleted, undo_flow_logs: one
             module each, the call it undoes, what it reads to put things back, what it may touch)
  executor   run planned steps phase by phase, batches in parallel, faults isolated

None of them deletes data: keys are deactivated, principals denied, instances terminated only when the
planner proved them rogue, isolated otherwise.
"""

from __future__ import annotations

from .. import kinds
from . import (  # noqa: F401 - importing them registers every action
    capacity,
    ecs_task,
    iam,
    isolation,
    lifecycle,
    restore,
    role_session,
    undo,
    undo_flow_logs,
    undo_trail_deleted,
    undo_trail_selectors,
)
from .base import ACTIONS, Action, ActionName, Words
from .executor import StepKey, execute

kinds.load()  # the kinds beyond EC2 (responder.kinds) register their stop actions here too

STOP_ACTION = {cls.stops: cls.name for cls in ACTIONS.values() if cls.stops}  # capacity kind -> action
STOPS_CAPACITY = frozenset(name for name, cls in ACTIONS.items() if cls.stops_capacity)
REPORT_ORDER = {name: (cls.phase, i) for i, (name, cls) in enumerate(ACTIONS.items())}


def report_order(action: str) -> tuple[int, int]:
    """Steps are listed in execution order: by phase, then as the actions are declared."""
    return REPORT_ORDER.get(action, (99, 0))


__all__ = [
    "ACTIONS",
    "STOPS_CAPACITY",
    "STOP_ACTION",
    "Action",
    "ActionName",
    "StepKey",
    "Words",
    "execute",
    "report_order",
]
