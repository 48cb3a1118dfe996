"""Security Hub (SECURITY_HUB_FINDINGS=true): every incident is an ASFF finding, updated by each attempt (same Id)
and resolved by close-incident; a Security Hub failure never stops containment, and the report says it failed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from responder.core.config import ConfigError, Settings
from responder.record.securityhub import finding_id

from compromise_responder.tools.emulator.scenarios import ALLOWED, LEAKED_KEY, health_event, load_event, spot_swarm
from tests.report_truth import assert_truthful
from tests.test_lifecycle import CALLER, oncall

PRODUCT = "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
REQUIRED = {  # ASFF's required top-level attributes (Security Hub user guide)
    "AwsAccountId", "CreatedAt", "Description", "GeneratorId", "Id", "ProductArn", "Resources", "SchemaVersion",
    "Severity", "Title", "Types", "UpdatedAt",
}  # fmt: skip


@pytest.fixture
def hub(aws):
    aws.set_env(SECURITY_HUB_FINDINGS="true", ALLOWED_REGIONS=ALLOWED, SWEEP_REGIONS="us-east-1,sa-east-1")
    aws.client("securityhub").enable_security_hub()
    return aws


def test_a_contained_incident_is_a_finding_with_severity_resources_remediation_and_counts(hub, invoke):
    scene = spot_swarm(hub, regions=("sa-east-1",), requests_per_region=2)

    report = invoke("health", scene.health_event())

    finding = hub.findings()[finding_id(report["incidentId"])]
    assert set(finding) >= REQUIRED
    assert finding["ProductArn"] == PRODUCT and finding["AwsAccountId"] == "123456789012"
    assert finding["Severity"]["Label"] == "HIGH" and finding["Title"] == report["headline"][:256]
    assert finding["Types"] == ["TTPs/Initial Access", "Effects/Resource Consumption"]
    ids = {r["Id"] for r in finding["Resources"]}
    assert {f"AWS::IAM::AccessKey:{LEAKED_KEY}", "arn:aws:iam::123456789012:user/ci-deployer"} <= ids
    terminated = {
        a["target"] for a in report["actions"] if a["action"] == "terminate-instance" and a["status"] == "done"
    }
    assert {f"arn:aws:ec2:sa-east-1:123456789012:instance/{i}" for i in terminated} <= ids
    assert finding["Remediation"]["Recommendation"]["Text"].startswith("1. Rotate: create a new key for ci-deployer")
    fields = finding["ProductFields"]
    done = sum(1 for a in report["actions"] if a["status"] == "done")
    assert fields["compromise-responder/StepsDone"] == str(done) and fields["compromise-responder/StepsFailed"] == "0"
    assert fields["compromise-responder/RegionsContained"] == "1" and fields["compromise-responder/Attempt"] == "1"
    assert fields["compromise-responder/Done/terminate-instance"] == str(len(terminated))
    assert finding["Workflow"] == {"Status": "NEW"} and finding["RecordState"] == "ACTIVE"
    assert report["securityHub"] == {"findingId": finding["Id"], "productArn": PRODUCT, "status": "imported"}
    [note] = hub.notifications()
    assert f"Security Hub finding {finding['Id']}: imported/updated" in note.summary
    assert_truthful(hub, report, [note])


def test_a_retry_updates_the_same_finding_and_close_resolves_it(hub, invoke):
    scene = spot_swarm(hub, regions=("sa-east-1",), requests_per_region=2)
    hub.faults.fail(region="sa-east-1", operations=["TerminateInstances"], code="UnauthorizedOperation")
    event = scene.health_event()

    with pytest.raises(RuntimeError):
        invoke("health", event)
    first = dict(hub.findings()[finding_id(scene_incident(hub))])
    hub.faults.clear()
    retry = invoke("health", event)

    [finding] = hub.findings().values()  # one finding per incident: the retry updated it
    assert finding["Id"] == first["Id"] == finding_id(retry["incidentId"])
    assert first["ProductFields"]["compromise-responder/StepsFailed"] != "0"
    assert finding["ProductFields"]["compromise-responder/StepsFailed"] == "0"
    assert finding["ProductFields"]["compromise-responder/Attempt"] == "2"
    assert finding["CreatedAt"] == first["CreatedAt"] and finding["UpdatedAt"] >= first["UpdatedAt"]

    closed = invoke(
        "runbook", {"runbook": "close-incident", "accessKeyId": LEAKED_KEY, "reason": "key rotated"}, oncall()
    )

    resolved = hub.findings()[finding["Id"]]
    assert resolved["Workflow"] == {"Status": "RESOLVED"}
    assert resolved["Note"]["Text"] == "Closed: key rotated" and CALLER in resolved["Note"]["UpdatedBy"]
    assert closed["securityHub"]["status"] == "resolved" and closed["securityHub"]["findingIds"] == [finding["Id"]]
    assert resolved["ProductFields"] == finding["ProductFields"]  # the close changes the workflow only


def scene_incident(hub) -> str:
    """The incident id of the only finding so far."""
    [finding] = hub.findings().values()
    return str(finding["ProductFields"]["compromise-responder/IncidentId"])


def test_a_later_import_keeps_the_resolution_as_security_hub_does(hub, invoke):
    hub.create_user("ci-deployer", key_id=LEAKED_KEY)
    event = health_event(datetime.now(UTC))
    report = invoke("health", event)
    invoke("runbook", {"runbook": "close-incident", "incidentId": report["incidentId"], "reason": "done"})
    stored = hub.findings()[finding_id(report["incidentId"])]
    provider_side = {k: v for k, v in stored.items() if k not in ("Note", "Workflow")}
    hub.client("securityhub").batch_import_findings(Findings=[{**provider_side, "Workflow": {"Status": "NEW"}}])

    assert hub.findings()[finding_id(report["incidentId"])]["Workflow"] == {"Status": "RESOLVED"}


def test_security_hub_failing_never_stops_containment_and_the_report_says_so(hub, invoke):
    hub.client("securityhub").disable_security_hub()
    hub.create_user("ci-deployer", key_id=LEAKED_KEY)

    report = invoke("health", health_event(datetime.now(UTC)))  # returns: Security Hub is not a containment step

    assert hub.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert report["securityHub"]["status"] == "failed" and "InvalidAccess" in report["securityHub"]["detail"]
    assert any("Security Hub was NOT updated" in t for t in report["needsHuman"]) and not report["failures"]
    [note] = hub.notifications()
    assert "NOT updated (InvalidAccess" in note.summary and "contained" in note.subject
    [chat] = hub.chat_notifications()
    assert "*Security Hub*: failed" in chat["content"]["description"]


def test_security_hub_denied_is_reported_and_containment_completes(hub, invoke):
    hub.create_user("ci-deployer", key_id=LEAKED_KEY)
    hub.faults.fail(services=["securityhub"], code="AccessDeniedException", message="no securityhub (injected)")

    report = invoke("health", health_event(datetime.now(UTC)))

    assert hub.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    assert report["securityHub"]["status"] == "failed" and "AccessDenied" in report["securityHub"]["detail"]


def test_without_the_setting_nothing_goes_to_security_hub(aws, invoke):
    aws.set_env(SWEEP_REGIONS="us-east-1")
    aws.create_user("ci-deployer", key_id=LEAKED_KEY)

    report = invoke("health", health_event(datetime.now(UTC)))

    assert "securityHub" not in report
    assert not [a for a in aws.recorder.actions() if a.startswith("securityhub:")]


def test_a_dry_run_is_not_a_finding(hub, invoke):
    hub.create_user("ci-deployer", key_id=LEAKED_KEY)
    invoke("runbook", {"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "dryRun": True})
    assert hub.findings() == {}


def test_the_setting_is_true_or_false():
    topic = {"NOTIFY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:team"}
    assert Settings.from_env(topic).security_hub_findings is False
    assert Settings.from_env({**topic, "SECURITY_HUB_FINDINGS": "TRUE"}).security_hub_findings is True
    with pytest.raises(ConfigError, match="SECURITY_HUB_FINDINGS"):
        Settings.from_env({**topic, "SECURITY_HUB_FINDINGS": "yes"})


def test_a_notice_that_only_informs_is_not_a_finding(hub, invoke):
    sample = load_event("guardduty-sample-low-severity.json")

    report = invoke("guardduty", sample)

    assert report["severity"] == "low" and "securityHub" not in report  # GuardDuty's band (contract)
    assert hub.findings() == {}
