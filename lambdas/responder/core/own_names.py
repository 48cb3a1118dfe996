"""The fixed names of the responder's own resources: one list, read by the stack (which gives them) and by the
functions (which recognise a tamper call by the name in its ``requestParameters``, and check these resources
in the heartbeat). Contract: "Guarding the responder".

A name is fixed so that an event pattern can name it before the resource exists, and so that the code never
needs the stack's tokens to know what is its own.
"""

from __future__ import annotations

import fnmatch

PREFIX = "compromise-responder"
STACK = "CompromiseResponder"  # the home stack (app.py)
TRAIL = f"{PREFIX}-management-events"
TOPIC = f"{PREFIX}-team"
TRAIL_BUCKET_PREFIX = f"{PREFIX}-trail-"  # + account + "-" + region (bucket names are global)
HEARTBEAT_METRIC_NAMESPACE = "CompromiseResponder"
HEARTBEAT_METRIC = "HeartbeatChecks"
METRIC_SERVICE = "compromise-responder"  # the "service" dimension of the responder's metrics


def function(handler: str) -> str:
    """A responder function's name: ``compromise-responder-<handler>``."""
    return f"{PREFIX}-{handler}"


def dead_letter_queue(handler: str) -> str:
    return f"{PREFIX}-{handler}-failed"


def trail_bucket(account: str, region: str) -> str:
    return f"{TRAIL_BUCKET_PREFIX}{account}-{region}"


def rule(route: str) -> str:
    return f"{PREFIX}-{route}"


# The home region's rules and the function each one targets (CDK names the only target ``Target0``).
RULES: dict[str, str] = {
    rule("health"): "health",
    rule("guardduty"): "guardduty",
    rule("launch-calls"): "cloudtrail",
    rule("iam-calls"): "cloudtrail",
    rule("guard-calls"): "cloudtrail",
    rule("heartbeat"): "heartbeat",
}
FORWARDER_RULES = (rule("forward-launch-calls"), rule("forward-guardduty"), rule("forward-guard-calls"))
RULE_TARGET_ID = "Target0"
RULE_RETRY_ATTEMPTS = 8
RULE_MAX_EVENT_AGE_SECONDS = 6 * 3600

# Who deploys the responder (CDK bootstrap roles, StackSets): their changes to it are expected.
DEPLOY_ROLE_PATTERNS = (
    "cdk-*-deploy-role-*",
    "cdk-*-cfn-exec-role-*",
    "stacksets-exec-*",
    "AWSCloudFormationStackSetExecutionRole",
)
DEPLOY_SERVICES = frozenset({"cloudformation.amazonaws.com"})


def is_deploy_role(role_name: str | None) -> bool:
    return bool(role_name) and any(fnmatch.fnmatchcase(str(role_name), p) for p in DEPLOY_ROLE_PATTERNS)


def is_own(name: str | None) -> bool:
    """A name (or the last part of an ARN) of one of the responder's own resources."""
    if not name:
        return False
    tail = name.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return tail.startswith(f"{PREFIX}-")
