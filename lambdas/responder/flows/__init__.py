"""The responses, each a fixed sequence of engine pieces (parse -> evidence -> plan -> execute), each
returning a Report and declaring the capabilities it may use (``Flow``).

  base          what a flow is, and the capability groups flows share
  keys          access-key containment, region sweep, backdoor sweep
  activity      what a key did (CloudTrail), after a containment or by hand
  roles         revoke a role's older sessions
  instances     isolate, release, stop an instance proven rogue
  tasks         isolate ECS tasks (the GuardDuty families of responder.findings)
  launch_watch  the CloudTrail launch watcher
  notices       notify-only responses
  lifecycle     after containment: close an incident, release a principal
"""

from __future__ import annotations

from .activity import ACTIVITY_SUMMARY, key_activity
from .base import Flow
from .instances import ISOLATION, RELEASE, isolate_instance, release_instance, terminate_attributed_instance
from .keys import BACKDOOR_SWEEP, KEY_CONTAINMENT, REGION_SWEEP, contain_access_key, sweep_backdoors, sweep_regions
from .launch_watch import LAUNCH_CONTAINMENT, watch_call
from .lifecycle import INCIDENT_CLOSE, PRINCIPAL_RELEASE, close_incident, release_principal
from .notices import NOTICE, not_acted, notify_only
from .roles import SESSION_REVOCATION, revoke_role_sessions

__all__ = [
    "ACTIVITY_SUMMARY",
    "BACKDOOR_SWEEP",
    "INCIDENT_CLOSE",
    "ISOLATION",
    "KEY_CONTAINMENT",
    "LAUNCH_CONTAINMENT",
    "NOTICE",
    "PRINCIPAL_RELEASE",
    "REGION_SWEEP",
    "RELEASE",
    "SESSION_REVOCATION",
    "Flow",
    "close_incident",
    "contain_access_key",
    "isolate_instance",
    "key_activity",
    "not_acted",
    "notify_only",
    "release_instance",
    "release_principal",
    "revoke_role_sessions",
    "sweep_backdoors",
    "sweep_regions",
    "terminate_attributed_instance",
    "watch_call",
]
