"""Security Hub (``SECURITY_HUB_FINDINGS=true``): every incident is also an ASFF finding where the team already
looks, updated by every attempt (same finding ``Id``) and resolved by ``close-incident``.

``finding`` is pure (the report -> one ASFF finding); ``import_finding`` and ``resolve_findings`` are the two calls.
Neither raises: a Security Hub failure must never stop containment or the notification, so each returns what
Security Hub accepted, and the report says it (``securityHub``).

Security Hub's own rules, followed here: findings of the account's default product
(``product/ACCOUNT/default``) are imported by that account (``AwsAccountId`` = the caller); after a finding is
created ``BatchImportFindings`` cannot change its ``Workflow`` or ``Note`` (the customer's side, changed with
``BatchUpdateFindings``), and severity and types go in ``FindingProviderFields`` too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..aws import AWS_ERRORS, Clients, clean_text, describe_error
from ..core import capabilities as cap
from ..core.timeutil import iso, utcnow
from ..report.wording import count_lines

IMPORT_FINDING = cap.declare(
    "record",
    "security-hub-import",
    ("securityhub:BatchImportFindings",),
    cap.SECURITY_HUB_PRODUCT,
    "every incident as a Security Hub finding of the account's default product",
)
RESOLVE_FINDING = cap.declare(
    "record",
    "security-hub-resolve",
    ("securityhub:BatchUpdateFindings",),
    cap.SECURITY_HUB_HUB,
    "close-incident sets the incident's finding RESOLVED",
)

SCHEMA_VERSION = "2018-10-08"
GENERATOR_ID = "compromise-responder"
SEVERITY_LABEL = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "info": "INFORMATIONAL"}
TITLE_MAX, DESCRIPTION_MAX, TEXT_MAX = 256, 1024, 512  # ASFF: Title, Description; Remediation text and Note
RESOURCES_MAX, PRODUCT_FIELDS_MAX = 32, 50  # ASFF: Resources per finding, ProductFields entries
STOPPED = {"terminate-instance", "cancel-spot-request", "cancel-spot-fleet", "delete-ec2-fleet", "scale-asg-to-zero"}
RESOURCE_TYPES = {  # action -> the ASFF resource type of its target
    "deactivate-access-key": "AwsIamAccessKey",
    "quarantine-user": "AwsIamUser",
    "release-user": "AwsIamUser",
    "quarantine-role": "AwsIamRole",
    "revoke-role-sessions": "AwsIamRole",
    "release-role": "AwsIamRole",
    "terminate-instance": "AwsEc2Instance",
    "isolate-instance": "AwsEc2Instance",
    "snapshot-volume": "AwsEc2Volume",
    "scale-asg-to-zero": "AwsAutoScalingAutoScalingGroup",
    # GuardDuty finding families
    "revoke-session": "AwsIamRole",
    "isolate-task": "AwsEcsTask",
    "throttle-function": "AwsLambdaFunction",
}


def is_incident(report: Mapping[str, Any]) -> bool:
    """Worth a finding: a response that changed something or tried to, or anything high or critical. A notice
    that only informs (a low-severity or sample GuardDuty finding, already in Security Hub as GuardDuty's own)
    and a dry-run are not incidents."""
    if report.get("mode") == "dry-run":
        return False
    acted = any(a.get("status") in ("done", "failed") for a in report.get("actions") or [])
    return acted or bool(report.get("failures")) or str(report.get("severity")) in ("high", "critical")


def product_arn(partition: str, region: str, account: str) -> str:
    return f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"


def finding_id(incident_id: str) -> str:
    """One finding per incident: every attempt updates it, close resolves it."""
    return f"compromise-responder/{incident_id}"


def _cut(text: Any, limit: int) -> str:
    return clean_text(str(text or ""), limit) or "-"


def _resource(action: Mapping[str, Any], partition: str, account: str, home: str) -> dict[str, str]:
    kind = RESOURCE_TYPES.get(str(action.get("action")), "Other")
    target, region = str(action.get("target")), str(action.get("region"))
    region = home if region == "global" else region
    ids = {
        "AwsIamAccessKey": f"AWS::IAM::AccessKey:{target}",
        "AwsIamUser": f"arn:{partition}:iam::{account}:user/{target}",
        "AwsIamRole": f"arn:{partition}:iam::{account}:role/{target}",
        "AwsEc2Instance": f"arn:{partition}:ec2:{region}:{account}:instance/{target}",
        "AwsEc2Volume": f"arn:{partition}:ec2:{region}:{account}:volume/{target}",
        "AwsLambdaFunction": f"arn:{partition}:lambda:{region}:{account}:function:{target}",
    }
    return {"Type": kind, "Id": ids.get(kind, target), "Partition": partition, "Region": region}


def resources(report: Mapping[str, Any], partition: str, account: str, home: str) -> list[dict[str, str]]:
    """The principal first, then every target a step acted on (done or failed), at most 32."""
    out: dict[str, dict[str, str]] = {}
    principal = report.get("principal") or {}
    if principal.get("accessKeyId"):
        key = {"action": "deactivate-access-key", "target": principal["accessKeyId"], "region": "global"}
        out[key["target"]] = _resource(key, partition, account, home)
    if principal.get("type") in ("IAMUser", "Role") and principal.get("name"):
        action = "quarantine-user" if principal["type"] == "IAMUser" else "quarantine-role"
        entry = _resource({"action": action, "target": principal["name"], "region": "global"}, partition, account, home)
        out[entry["Id"]] = entry
    for action in report.get("actions") or []:
        if action.get("status") in ("done", "failed") and len(out) < RESOURCES_MAX:
            entry = _resource(action, partition, account, home)
            out.setdefault(entry["Id"], entry)
    if not out:  # ASFF needs at least one resource: the account the response was about
        out["account"] = {
            "Type": "AwsAccount",
            "Id": f"AWS::::Account:{account}",
            "Partition": partition,
            "Region": home,
        }
    return list(out.values())[:RESOURCES_MAX]


def product_fields(report: Mapping[str, Any]) -> dict[str, str]:
    """The report's counts, as Security Hub's string map (at most 50 entries)."""
    actions = report.get("actions") or []
    statuses = Counter(str(a.get("status")) for a in actions)
    regions = Counter(str(s) for s in (report.get("regions") or {}).values())
    fields = {
        "compromise-responder/IncidentId": str(report.get("incidentId")),
        "compromise-responder/Trigger": str(report.get("trigger")),
        "compromise-responder/Mode": str(report.get("mode")),
        "compromise-responder/Attempt": str(report.get("attempt", 1)),
        "compromise-responder/StepsDone": str(statuses["done"]),
        "compromise-responder/StepsFailed": str(statuses["failed"]),
        "compromise-responder/StepsSkipped": str(statuses["skipped"]),
        "compromise-responder/RegionsContained": str(regions["contained"]),
        "compromise-responder/RegionsClean": str(regions["clean"]),
        "compromise-responder/RegionsFailed": str(regions["failed"]),
        "compromise-responder/EstimatedHourlyCostStopped": f"{float(report.get('estimatedHourlyCostStopped') or 0):.2f}",
    }
    done = Counter(str(a.get("action")) for a in actions if a.get("status") == "done")
    for action, n in sorted(done.items()):
        if len(fields) < PRODUCT_FIELDS_MAX:
            fields[f"compromise-responder/Done/{action}"] = str(n)
    joined = report.get("joined") or []  # triggers that joined the open incident (responder.record.joining)
    if joined:
        fields["compromise-responder/TriggersJoined"] = str(len(joined))
    for n, entry in enumerate(joined[-(PRODUCT_FIELDS_MAX - len(fields)) :] if joined else [], 1):
        if len(fields) < PRODUCT_FIELDS_MAX:
            fields[f"compromise-responder/Joined/{n}"] = _cut(
                f"{entry.get('trigger')} at {entry.get('at')}: {entry.get('headline')}", 500
            )
    return fields


def description(report: Mapping[str, Any]) -> str:
    """What was done (only what AWS confirmed, worded as in the notification) and what failed."""
    actions = report.get("actions") or []
    dry = report.get("mode") == "dry-run"
    done = count_lines(((str(a.get("action")), str(a.get("status"))) for a in actions), dry)
    regions = Counter(str(s) for s in (report.get("regions") or {}).values())
    parts = [
        f"Incident {report.get('incidentId')} ({report.get('trigger')}, attempt {report.get('attempt', 1)}).",
        ("Done, confirmed by AWS: " + "; ".join(done) + ".") if done else "Nothing was changed.",
    ]
    if regions:
        parts.append(
            f"Regions: {regions['contained']} contained, {regions['clean']} clean, {regions['failed']} failed."
        )
    failures = report.get("failures") or []
    if failures:
        parts.append(f"FAILED ({len(failures)}): " + "; ".join(str(f) for f in failures[:3]))
    return _cut(" ".join(parts), DESCRIPTION_MAX)


def _kind_stops() -> frozenset[str]:
    """The stop actions of the kinds beyond EC2 (responder.kinds): their capacity was consumed too."""
    from ..kinds import kinds

    return frozenset(str(a.name) for k in kinds() for a in k.actions)


def finding(report: Mapping[str, Any], *, account: str, region: str, partition: str, now: str) -> dict[str, Any]:
    """The incident as one ASFF finding (the required attributes, severity, resources, remediation, counts)."""
    label = SEVERITY_LABEL.get(str(report.get("severity")), "HIGH")
    stopped = any(
        a.get("action") in STOPPED | _kind_stops() and a.get("status") == "done" for a in report.get("actions") or []
    )
    types = ["TTPs/Initial Access"] + (["Effects/Resource Consumption"] if stopped else [])
    earlier = report.get("earlierAttempts") or []
    created = (earlier[0].get("startedAt") if earlier else None) or report.get("startedAt") or now
    todo = report.get("needsHuman") or ["Review the incident: responder show " + str(report.get("incidentId"))]
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(str(report.get("incidentId"))),
        "ProductArn": product_arn(partition, region, account),
        "GeneratorId": GENERATOR_ID,
        "AwsAccountId": account,
        "Types": types,
        "CreatedAt": created,
        "UpdatedAt": now,
        "Severity": {"Label": label, "Original": str(report.get("severity"))},
        "Title": _cut(report.get("headline"), TITLE_MAX),
        "Description": description(report),
        "Remediation": {
            "Recommendation": {"Text": _cut(" ".join(f"{i}. {t}" for i, t in enumerate(todo, 1)), TEXT_MAX)}
        },
        "ProductFields": product_fields(report),
        "Resources": resources(report, partition, account, region),
        "RecordState": "ACTIVE",
        "FindingProviderFields": {
            "Severity": {"Label": label, "Original": str(report.get("severity"))},
            "Types": types,
        },
    }


def import_finding(
    clients: Clients, report: Mapping[str, Any], *, account: str, region: str, partition: str
) -> dict[str, Any]:
    """BatchImportFindings of the incident's finding (created first, updated after): what Security Hub said."""
    data = finding(report, account=account, region=region, partition=partition, now=str(iso(utcnow())))
    outcome: dict[str, Any] = {"findingId": data["Id"], "productArn": data["ProductArn"]}
    try:
        resp = clients.get("securityhub", region).batch_import_findings(Findings=[data])
    except AWS_ERRORS as exc:
        return {**outcome, "status": "failed", "detail": describe_error(exc)}
    failed = resp.get("FailedFindings") or []
    if failed or resp.get("FailedCount"):
        first = failed[0] if failed else {}
        detail = clean_text(f"{first.get('ErrorCode', 'Failed')}: {first.get('ErrorMessage', '')}").rstrip(": ")
        return {**outcome, "status": "failed", "detail": detail}
    return {**outcome, "status": "imported"}


def resolve_findings(
    clients: Clients,
    incident_ids: Sequence[str],
    *,
    account: str,
    region: str,
    partition: str,
    note: str,
    by: str,
) -> dict[str, Any]:
    """BatchUpdateFindings: the closed incidents' findings set RESOLVED, with who closed them and why."""
    arn = product_arn(partition, region, account)
    ids = [finding_id(i) for i in incident_ids]
    outcome: dict[str, Any] = {"findingIds": ids, "productArn": arn}
    try:
        resp = clients.get("securityhub", region).batch_update_findings(
            FindingIdentifiers=[{"Id": i, "ProductArn": arn} for i in ids],
            Workflow={"Status": "RESOLVED"},
            Note={"Text": _cut(note, TEXT_MAX), "UpdatedBy": _cut(by, TEXT_MAX)},
        )
    except AWS_ERRORS as exc:
        return {**outcome, "status": "failed", "detail": describe_error(exc)}
    unprocessed = resp.get("UnprocessedFindings") or []
    if unprocessed:
        first = unprocessed[0]
        detail = clean_text(f"{first.get('ErrorCode', 'Failed')}: {first.get('ErrorMessage', '')}").rstrip(": ")
        return {**outcome, "status": "failed", "detail": f"{len(unprocessed)} of {len(ids)} not resolved: {detail}"}
    return {**outcome, "status": "resolved"}
