"""Code and least privilege never drift apart.

``invoke`` (conftest) fails any handler call that its function's IAM policy lacks; the other direction
(every permission the stack grants is exercised by some test) is checked when the session ends
(``pytest_sessionfinish`` in conftest), so it holds whatever the order and under ``pytest -n``.
"""

from __future__ import annotations

import re

from responder.core import capabilities
from responder.shell import catalog

from compromise_responder.tools.policy_review import resource_types

# IAM actions that name no API operation of their own (Service Authorization Reference): the operations they authorize
NOT_OPERATIONS = {
    "iam:PassRole": ("ec2:CreateFlowLogs",),  # the flow log's delivery role, passed to vpc-flow-logs
}


def test_declarations_name_real_aws_operations():
    import boto3

    session = boto3.session.Session()
    services = {"ec2": "ec2", "iam": "iam", "autoscaling": "autoscaling", "cloudtrail": "cloudtrail",
                "dynamodb": "dynamodb", "sns": "sns", "sts": "sts", "organizations": "organizations",
                "states": "stepfunctions", "securityhub": "securityhub", "elasticloadbalancing": "elbv2",
                "ecs": "ecs", "lambda": "lambda", "guardduty": "guardduty", "events": "events",
                "cloudformation": "cloudformation"}  # fmt: skip
    for capability in capabilities.REGISTRY.values():
        for permission in capability.permissions:
            for named in NOT_OPERATIONS.get(permission, (permission,)):
                prefix, operation = named.split(":")
                model = session._session.get_service_model(
                    services.get(prefix, prefix)
                )  # most IAM prefixes are the client name
                assert operation in model.operation_names, permission
    assert set(catalog.handlers(organization=False)) == {"health", "guardduty", "cloudtrail", "runbook", "heartbeat"}
    assert set(catalog.handlers(organization=True)) == {"health", "guardduty", "cloudtrail", "runbook", "heartbeat",
                                                        "organization"}  # fmt: skip


def test_only_what_aws_cannot_scope_is_granted_on_any_resource():
    """Every grant on ``*`` is of actions AWS authorizes on no resource type (Service Authorization Reference); every
    change names the resource types it acts on, each a type the action really takes."""
    for capability in capabilities.REGISTRY.values():
        for grant in capability.grants:
            for action in grant.actions:
                types = resource_types(action)
                if capabilities.ANY in grant.resources:
                    assert not types, f"{capability.key}: {action} on '*' though AWS scopes it to {types}"
                else:
                    assert types, f"{capability.key}: {action} takes no resource ARN"
                    for resource in (r for r in grant.resources if r.startswith("arn:")):
                        kind = re.split(r"[/:]", resource.split(":", 5)[5])[0]
                        # EventBridge names its rule type by bus: rule-on-default-event-bus (ARN rule/NAME)
                        assert any(_same_type(t, kind) or kind.lower() == t.split("-on-")[0].lower() for t in types), (
                            action, resource, types)  # fmt: skip


def _same_type(listed: str, kind: str) -> bool:
    """``eventSourceMapping*`` (the reference's name) is the ``event-source-mapping`` of Lambda's ARNs."""
    return listed.rstrip("*").replace("-", "").lower() == kind.replace("-", "").lower()
