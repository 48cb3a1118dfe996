"""Code and least privilege never drift apart: runs last, after every handler test of the session.

``invoke`` (conftest) already fails any handler call that its function's IAM policy lacks; this
checks the other direction: every permission the stack grants is exercised by some test.
"""

from __future__ import annotations

import pytest
from responder import capabilities, catalog

from tests.conftest import DECLARED, USED

# Granted although no test path calls it, each with the reason.
REQUIRED_BY_LIBRARIES = {
    "dynamodb:GetItem": "Powertools idempotency reads the record when a failed conditional put does not return it "
    "(its documented IAM requirement: GetItem, PutItem, UpdateItem, DeleteItem)",
}
HANDLER_TESTS = {"test_health.py", "test_guardduty.py", "test_cloudtrail.py", "test_runbook.py", "test_persistence.py"}


def test_every_granted_permission_is_used_by_some_handler(request):
    ran = {item.path.name for item in request.session.items}
    if not ran >= HANDLER_TESTS:
        pytest.skip("needs the whole suite: it checks what the handler tests exercised")
    granted = set().union(*DECLARED.values())
    used = set().union(*USED.values())
    assert granted - used - set(REQUIRED_BY_LIBRARIES) == set(), (
        "granted but never exercised: remove them or test the path that needs them"
    )


def test_declarations_name_real_aws_operations():
    import boto3

    session = boto3.session.Session()
    services = {"ec2": "ec2", "iam": "iam", "autoscaling": "autoscaling", "cloudtrail": "cloudtrail",
                "dynamodb": "dynamodb", "sns": "sns"}  # fmt: skip
    for capability in capabilities.REGISTRY.values():
        for permission in capability.permissions:
            prefix, operation = permission.split(":")
            model = session._session.get_service_model(services[prefix])
            assert operation in model.operation_names, permission
    assert set(catalog.HANDLER_FLOWS) == {"health", "guardduty", "cloudtrail", "runbook"}
