"""Environment configuration: defaults from the contract, errors that name the variable."""

from __future__ import annotations

import pytest
from responder.core.config import ConfigError, Settings

TOPIC = "arn:aws:sns:us-east-1:123456789012:team"


def test_contract_defaults():
    s = Settings.from_env({"NOTIFY_TOPIC_ARN": TOPIC})
    assert s.mode == "enforce" and not s.dry_run
    assert s.protect_tag_key == "compromise-responder:protect"
    assert s.protected_principals == () and s.allowed_regions == ()
    assert s.suspicious_instance_types == ("g*", "p*", "inf*", "trn*", "dl*", "f1.*", "vt1.*", "x1*", "x2*", "*.metal")
    assert s.lookback_hours == 72 and s.guardduty_min_severity == 7
    assert s.activity_budget_seconds == 60


def test_lists_are_trimmed():
    s = Settings.from_env(
        {"NOTIFY_TOPIC_ARN": TOPIC, "ALLOWED_REGIONS": " us-east-1, eu-west-1 ,", "PROTECTED_PRINCIPALS": "a,b"}
    )
    assert s.allowed_regions == ("us-east-1", "eu-west-1") and s.protected_principals == ("a", "b")


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, "NOTIFY_TOPIC_ARN"),
        ({"NOTIFY_TOPIC_ARN": "topic"}, "NOTIFY_TOPIC_ARN"),
        ({"NOTIFY_TOPIC_ARN": TOPIC, "RESPONSE_MODE": "yolo"}, "RESPONSE_MODE"),
        ({"NOTIFY_TOPIC_ARN": TOPIC, "ALLOWED_REGIONS": "mars-1"}, "ALLOWED_REGIONS"),
        ({"NOTIFY_TOPIC_ARN": TOPIC, "INCIDENT_LOOKBACK_HOURS": "three days"}, "INCIDENT_LOOKBACK_HOURS"),
        ({"NOTIFY_TOPIC_ARN": TOPIC, "GUARDDUTY_MIN_SEVERITY": "-1"}, "GUARDDUTY_MIN_SEVERITY"),
        ({"NOTIFY_TOPIC_ARN": TOPIC, "ACTIVITY_BUDGET_SECONDS": "0"}, "ACTIVITY_BUDGET_SECONDS"),
    ],
)
def test_bad_configuration_names_the_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(env)
