"""What an action is (Cloud Custodian style): every fact about it lives on its class.

An action is a small class with its ``name`` (what the report says), the boto3 ``service`` it talks
to, the IAM ``permissions`` it needs (on which ``resource``; or its ``grants`` when it needs several resources
or conditions), a ``batch_size`` (targets
per call), a ``phase`` (containment order: cancel launchers before terminating), its ``words`` (what
the report may say once AWS accepted it, or in a plan), and whether it ``stops`` a kind of capacity.
``register`` records the class and declares its capability; nothing else repeats these facts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from ..aws import AWS_ERRORS, describe_error
from ..core import capabilities as cap
from ..core.model import Outcome, Step


class ActionName(StrEnum):
    """Every step a report can list (the contract's ``actions[].action``)."""

    DEACTIVATE_ACCESS_KEY = "deactivate-access-key"
    QUARANTINE_USER = "quarantine-user"
    QUARANTINE_ROLE = "quarantine-role"
    REVOKE_ROLE_SESSIONS = "revoke-role-sessions"
    DELETE_LOGIN_PROFILE = "delete-login-profile"
    CANCEL_SPOT_FLEET = "cancel-spot-fleet"
    DELETE_EC2_FLEET = "delete-ec2-fleet"
    CANCEL_SPOT_REQUEST = "cancel-spot-request"
    SCALE_ASG_TO_ZERO = "scale-asg-to-zero"
    DISABLE_TERMINATION_PROTECTION = "disable-termination-protection"
    TERMINATE_INSTANCE = "terminate-instance"
    SNAPSHOT_VOLUME = "snapshot-volume"
    KEEP_VOLUMES = "keep-volumes-on-termination"
    ENABLE_TERMINATION_PROTECTION = "enable-termination-protection"
    DETACH_FROM_ASG = "detach-from-asg"
    DEREGISTER_FROM_TARGET_GROUP = "deregister-from-target-group"
    ISOLATE_INSTANCE = "isolate-instance"
    TAG_ISOLATED_INSTANCE = "tag-isolated-instance"
    RELEASE_INSTANCE = "release-instance"
    REVIEW_PERSISTENCE = "review-persistence"  # a finding for a human: never executed, always skipped
    RELEASE_USER = "release-user"
    RELEASE_ROLE = "release-role"
    CLOSE_INCIDENT = "close-incident"
    # GuardDuty finding families (i24)
    ISOLATE_TASK = "isolate-task"
    THROTTLE_FUNCTION = "throttle-function"
    # the credential chain and what the attacker left behind (actions/undo.py)
    REVOKE_SESSION = "revoke-session"
    REMOVE_LAMBDA_PERMISSION = "remove-lambda-permission"
    REVOKE_INGRESS = "revoke-ingress"
    REMOVE_SNAPSHOT_SHARE = "remove-snapshot-share"
    REMOVE_IMAGE_SHARE = "remove-image-share"
    REMOVE_DB_SNAPSHOT_SHARE = "remove-db-snapshot-share"
    RESTORE_TRUST_POLICY = "restore-trust-policy"
    DISABLE_TRUST_ANCHOR = "disable-trust-anchor"
    DISABLE_SERIAL_CONSOLE = "disable-serial-console"
    RESTART_TRAIL_LOGGING = "restart-trail-logging"  # a trail the chain stopped (any trail, not only ours)
    RESTORE_EVENT_SELECTORS = "restore-event-selectors"  # a trail's selectors the chain replaced (undo_trail_selectors)
    RECREATE_TRAIL = "recreate-trail"  # a trail the chain deleted, created again (undo_trail_deleted)
    RECREATE_FLOW_LOG = "recreate-flow-log"  # a VPC flow log the chain deleted (undo_flow_logs)
    REVIEW_LEFT_BEHIND = "review-left-behind"  # for a human (holds data or runs workloads): never executed
    # "Guarding the responder": what a tamper call switched off, switched back on; the tampering session cut
    START_LOGGING = "start-logging"
    ENABLE_DETECTOR = "enable-detector"
    ENABLE_RULE = "enable-rule"
    PUT_RULE_TARGETS = "put-rule-targets"


@dataclass(frozen=True)
class Words:
    """What the report may say about an action's steps: ``done`` only for steps AWS accepted."""

    noun: str
    plural: str
    done: str
    planned: str
    short: str = ""  # the headline names the step with this word (empty: counted in the summary only)
    one: str = "{noun} {target} {short}"  # how the headline names one accepted step


class Action(ABC):
    """Base of every action. Subclasses set the class attributes and implement ``run``."""

    name: ClassVar[ActionName]
    service: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]] = ()
    resource: ClassVar[str] = cap.ANY
    grants: ClassVar[tuple[cap.Grant, ...]] = ()  # instead of permissions + resource: several resources, conditions
    batch_size: ClassVar[int] = 1
    phase: ClassVar[int]
    words: ClassVar[Words]
    stops: ClassVar[str | None] = None  # the capacity kind this action stops (spot-request, asg ...), if any
    stops_capacity: ClassVar[bool] = False  # it takes rogue capacity away (a region with one done is contained)
    names_incident: ClassVar[bool] = False  # its steps carry the incident id (params "incidentId"): AWS records it
    capability: ClassVar[cap.Capability]

    @abstractmethod
    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        """Carry out the steps (all of this action, one region, at most ``batch_size``)."""


ACTIONS: dict[str, type[Action]] = {}


def register(cls: type[Action]) -> type[Action]:
    ACTIONS[cls.name] = cls
    doc = (cls.__doc__ or "").strip().splitlines()[0]
    cls.capability = cap.declare("change", cls.name, cls.permissions, cls.resource, doc, grants=cls.grants)
    return cls


def each(steps: Sequence[Step], call: Callable[[Step], object]) -> list[Outcome]:
    """Run a per-target call; a failure of one target does not stop the others.

    A ``str`` the call returns becomes the outcome's detail; anything else (a boto3 response) is dropped.
    """
    out = []
    for step in steps:
        try:
            detail = call(step)
            out.append(step.outcome("done", detail if isinstance(detail, str) else None))
        except AWS_ERRORS as exc:
            out.append(step.outcome("failed", describe_error(exc)))
    return out


def batch_result(steps: Sequence[Step], ok: dict[str, str], bad: dict[str, str], verb: str) -> list[Outcome]:
    """Outcomes of a batch call: the targets AWS accepted, refused, or did not mention."""
    out = []
    for step in steps:
        if step.target in bad:
            out.append(step.outcome("failed", bad[step.target]))
        elif step.target in ok:
            out.append(step.outcome("done", f"{verb} ({ok[step.target]})" if ok[step.target] else verb))
        else:
            out.append(step.outcome("failed", "not in the response"))
    return out


def describe_unsuccessful(item: dict[str, Any]) -> str:
    err = item.get("Error", {})
    return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
