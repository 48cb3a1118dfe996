"""Code and least privilege never drift apart.

``invoke`` (conftest) fails any handler call that its function's IAM policy lacks; the other direction
(every permission the stack grants is exercised by some test) is checked when the session ends
(``pytest_sessionfinish`` in conftest), so it holds whatever the order and under ``pytest -n``.
"""

from __future__ import annotations

from responder import capabilities, catalog


def test_declarations_name_real_aws_operations():
    import boto3

    session = boto3.session.Session()
    services = {"ec2": "ec2", "iam": "iam", "autoscaling": "autoscaling", "cloudtrail": "cloudtrail",
                "dynamodb": "dynamodb", "sns": "sns", "sts": "sts", "organizations": "organizations",
                "states": "stepfunctions", "securityhub": "securityhub"}  # fmt: skip
    for capability in capabilities.REGISTRY.values():
        for permission in capability.permissions:
            prefix, operation = permission.split(":")
            model = session._session.get_service_model(services[prefix])
            assert operation in model.operation_names, permission
    assert set(catalog.handlers(organization=False)) == {"health", "guardduty", "cloudtrail", "runbook"}
    assert set(catalog.handlers(organization=True)) == {"health", "guardduty", "cloudtrail", "runbook", "organization"}
