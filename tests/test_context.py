"""The CDK app's configuration (infra/config.py): cdk.json context as shipped, the example beside it,
and the strings ``cdk -c key=value`` passes - validated once, errors naming the key."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from compromise_responder.infra.config import (
    DEFAULT_REGIONS,
    SETTINGS,
    ContextError,
    check_local_context,
    load,
    shadowed_settings,
)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
EXAMPLE: dict[str, Any] = json.loads((ROOT / "cdk.context.example.json").read_text())
ACCOUNT = "123456789012"


def test_cdk_json_ships_the_documented_defaults():
    config = load(SHIPPED)
    assert config.notify_emails == () and config.allowed_regions == () and config.protected_principals == ()
    assert config.sweep_regions == () and config.account is None
    assert config.response_mode == "enforce" and config.create_trail and not config.create_test_event_registry
    assert config.forwarder_regions == DEFAULT_REGIONS  # 1 home stack + 16 forwarders
    assert load({}) == config  # cdk.json says what the code does without it


def test_every_setting_is_documented_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    documented: set[str] = set()
    for section in ("Configuration", "Organization mode"):  # the organization's settings live with its section
        table = re.search(rf"^## {section}\n(.*?)^## ", readme, re.M | re.S)
        assert table, section
        documented |= set(re.findall(r"^\| `(\w+)` \|", table.group(1), re.M))
    assert documented == set(SETTINGS)


def test_the_example_is_a_valid_configuration_of_known_settings():
    assert set(EXAMPLE) <= set(SETTINGS)
    config = load({**SHIPPED, **EXAMPLE})
    assert config.account == ACCOUNT
    assert config.notify_emails == ("security-oncall@example.com",)
    assert config.allowed_regions == ("us-east-1", "eu-west-1")
    assert "break-glass-admin" in config.protected_principals
    assert config.environment()["PROTECTED_PRINCIPALS"] == ",".join(EXAMPLE["protectedPrincipals"])


@pytest.mark.parametrize(
    ("key", "json_list", "comma_list", "values"),
    [
        (
            "notifyEmails",
            '["security-oncall@example.com","cloud-team@example.com"]',
            "security-oncall@example.com, cloud-team@example.com",
            ("security-oncall@example.com", "cloud-team@example.com"),
        ),
        ("allowedRegions", '["us-east-1", "eu-west-1"]', "us-east-1,eu-west-1", ("us-east-1", "eu-west-1")),
        (
            "protectedPrincipals",
            '["break-glass-admin","arn:aws:iam::123456789012:role/deploy-role"]',
            "break-glass-admin,arn:aws:iam::123456789012:role/deploy-role",
            ("break-glass-admin", "arn:aws:iam::123456789012:role/deploy-role"),
        ),
        ("sweepRegions", '["eu-north-1"]', "eu-north-1", ("eu-north-1",)),
        ("suspiciousInstanceTypes", '["p5.*","g6.*"]', "p5.*,g6.*", ("p5.*", "g6.*")),
    ],
)
def test_a_list_from_the_command_line_is_a_json_list_or_a_comma_list(key, json_list, comma_list, values):
    """`-c key=value` reaches the app as a string; both spellings mean the same list."""
    attribute = re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()
    for value in (json_list, comma_list, list(values)):
        assert getattr(load({**SHIPPED, key: value}), attribute) == values


def test_the_readme_command_of_the_issue_now_means_what_it_says():
    """`-c notifyEmails='["..."]' -c allowedRegions='["us-east-1","eu-west-1"]'` used to fail synth, or
    subscribe the endpoint '["security-oncall@example.com"]'."""
    config = load(
        {**SHIPPED, "notifyEmails": '["security-oncall@example.com"]', "allowedRegions": '["us-east-1","eu-west-1"]'}
    )
    assert config.notify_emails == ("security-oncall@example.com",)
    assert config.environment()["ALLOWED_REGIONS"] == "us-east-1,eu-west-1"


def test_numbers_and_booleans_from_the_command_line():
    config = load(
        {
            **SHIPPED,
            "incidentLookbackHours": "24",
            "guarddutyMinSeverity": "5.5",
            "createTrail": "false",
            "powertoolsLayerVersion": "28",
        }
    )
    assert (config.incident_lookback_hours, config.guardduty_min_severity) == (24, 5.5)
    assert config.create_trail is False and config.powertools_layer_version == 28
    assert config.environment()["INCIDENT_LOOKBACK_HOURS"] == "24"


def test_duplicates_and_blanks_are_dropped():
    assert load({**SHIPPED, "allowedRegions": "us-east-1,,us-east-1, eu-west-1 ,"}).allowed_regions == (
        "us-east-1",
        "eu-west-1",
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("notifyEmails", ["not-an-email"]),
        ("notifyEmails", '["security-oncall@example.com"'),  # JSON list cut short by the shell
        ("notifyEmails", '"security-oncall@example.com"'),  # a quoted string is not an address
        ("notifyEmails", "security oncall@example.com"),
        ("notifyEmails", {"email": "security-oncall@example.com"}),
        ("allowedRegions", ["mars-1"]),
        ("allowedRegions", '["us-east-1"'),
        ("forwarderRegions", "us-east-1,eu-west"),
        ("sweepRegions", "[1, 2]"),
        ("protectedPrincipals", ["has spaces"]),
        ("protectedPrincipals", ["arn:aws:iam::12345:user/break-glass-admin"]),  # 5-digit account
        ("protectedPrincipals", ["arn:aws:s3:::a-bucket"]),  # not an IAM principal
        ("homeRegion", "us-east"),
        ("account", "1234"),
        ("responseMode", "yolo"),
        ("incidentLookbackHours", "soon"),
        ("guarddutyMinSeverity", 11),
        ("activityBudgetSeconds", 900),  # past what a 900 s function can spend after containing
        ("activityBudgetSeconds", "a minute"),
        ("createTrail", "maybe"),
        ("powertoolsLayerVersion", "latest"),
        ("powertoolsLayerVersion", 0),
        ("notifyEmail", ["security-oncall@example.com"]),  # a typo of notifyEmails
    ],
)
def test_a_malformed_value_fails_synth_naming_the_key(key, value):
    with pytest.raises(ContextError, match=f"'{key}'"):
        load({**SHIPPED, key: value})


def test_a_typo_names_the_setting_meant():
    with pytest.raises(ContextError, match="did you mean 'allowedRegions'"):
        load({**SHIPPED, "allowedRegion": "us-east-1"})


def test_cdk_keys_beside_the_settings_are_left_alone():
    cdk = {
        "@aws-cdk/core:newStyleStackSynthesis": True,
        "aws:cdk:enable-path-metadata": True,
        "availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"],
        "acknowledged-issue-numbers": [32775],
    }
    assert load({**SHIPPED, **cdk}) == load(SHIPPED)


def test_the_account_is_the_same_with_and_without_a_repeated_dash_c():
    """Deploy once with `-c account=`, diff later without it: the CLI passes the credentials' account
    (CDK_DEFAULT_ACCOUNT) to both, so both synthesize the same template - no false IAM/KMS diff."""
    with_c = load({**SHIPPED, "account": ACCOUNT}, default_account=ACCOUNT)
    without = load(SHIPPED, default_account=ACCOUNT)
    assert with_c == without and without.account == ACCOUNT
    assert load(SHIPPED).account is None  # synth without credentials: account-agnostic
    assert load({**SHIPPED, "account": "210987654321"}, default_account=ACCOUNT).account == "210987654321"


def test_a_setting_in_cdk_context_json_that_cdk_json_shadows_fails(tmp_path):
    """The CDK CLI reads cdk.json before cdk.context.json: a copied example there would be ignored."""
    assert shadowed_settings(SHIPPED, EXAMPLE) == [
        "allowedRegions",
        "chatChannels",
        "notifyEmails",
        "protectedPrincipals",
        "securityHubFindings",
    ]
    assert shadowed_settings(SHIPPED, {"account": ACCOUNT, "notifyEmails": []}) == []
    (tmp_path / "cdk.json").write_text(json.dumps({"context": SHIPPED}))
    check_local_context(tmp_path)  # no cdk.context.json: nothing to say
    (tmp_path / "cdk.context.json").write_text(json.dumps(EXAMPLE))
    with pytest.raises(ContextError, match="'allowedRegions', 'chatChannels', 'notifyEmails', 'protectedPrincipals'"):
        check_local_context(tmp_path)


SLACK = {"type": "slack", "name": "security-oncall", "workspaceId": "T07EA123LEP", "channelId": "C07EZ1ABC23"}
TEAMS = {
    "type": "teams",
    "name": "security-oncall-teams",
    "teamId": "74361522-da01-538d-aa2e-ac7918c6bb92",
    "tenantId": "5f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "channelId": "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2",
}


def test_chat_channels_arrive_as_json_from_cdk_json_or_as_a_string_from_the_cli():
    from_json = load({**SHIPPED, "chatChannels": [SLACK, TEAMS]}).chat_channels
    from_cli = load({**SHIPPED, "chatChannels": json.dumps([SLACK, TEAMS])}).chat_channels
    assert from_json == from_cli
    assert [(c.type, c.name) for c in from_json] == [("slack", "security-oncall"), ("teams", "security-oncall-teams")]
    assert from_json[1].id("channelId") == TEAMS["channelId"]
    assert load(SHIPPED).chat_channels == () and load({**SHIPPED, "chatChannels": ""}).chat_channels == ()


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("not json", "chatChannels"),
        ({"type": "slack"}, "chatChannels"),
        (["slack"], "chatChannels[0]"),
        ([{**SLACK, "type": "discord"}], "chatChannels[0].type"),
        ([{**SLACK, "name": "has spaces"}], "chatChannels[0].name"),
        ([{**SLACK, "channelId": "#oncall"}], "chatChannels[0].channelId"),
        ([{**SLACK, "workspaceId": "t07ea"}], "chatChannels[0].workspaceId"),
        ([{**SLACK, "teamId": TEAMS["teamId"]}], "chatChannels[0].teamId"),
        ([SLACK, {**TEAMS, "tenantId": "contoso"}], "chatChannels[1].tenantId"),
        ([SLACK, {**TEAMS, "channelId": "19:abc@thread.tacv2"}], "chatChannels[1].channelId"),
        ([SLACK, {**TEAMS, "name": SLACK["name"]}], "chatChannels[1].name"),
    ],
)
def test_a_malformed_chat_channel_fails_synth_naming_it(value, named):
    with pytest.raises(ContextError, match=re.escape(f"context '{named}")):
        load({**SHIPPED, "chatChannels": value})


def test_security_hub_findings_is_a_boolean_setting_passed_to_every_function():
    assert load(SHIPPED).environment()["SECURITY_HUB_FINDINGS"] == "false"
    assert load({**SHIPPED, "securityHubFindings": "true"}).environment()["SECURITY_HUB_FINDINGS"] == "true"
    with pytest.raises(ContextError, match="'securityHubFindings'"):
        load({**SHIPPED, "securityHubFindings": "sometimes"})


def test_reserved_concurrency_from_cdk_json_or_the_command_line():
    assert load(SHIPPED).reserved("health") == 5 and load(SHIPPED).reserved("cloudtrail") == 20
    from_cli = load({"reservedConcurrency": '{"health": 2, "cloudtrail": 50}'})
    assert from_cli.reserved("health") == 2 and from_cli.reserved("cloudtrail") == 50
    assert from_cli.reserved("guardduty") is None  # left out: nothing reserved for it
    assert all(load({"reservedConcurrency": "{}"}).reserved(h) is None for h in ("health", "runbook"))


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ('{"helth": 5}', "reservedConcurrency.helth"),
        ('{"health": 0}', "reservedConcurrency.health"),  # 0 would throttle the function entirely
        ('{"health": "5"}', "reservedConcurrency.health"),
        ("[5]", "reservedConcurrency"),
        ("{health: 5}", "reservedConcurrency"),
    ],
)
def test_a_malformed_reserved_concurrency_fails_synth_naming_it(value, named):
    with pytest.raises(ContextError, match=re.escape(f"'{named}")):
        load({"reservedConcurrency": value})
