"""IAM policy statements as plain JSON, built from the Lambda code's capability declarations.

One builder for every place a responder policy lives: each function's role in the hub (``Place`` with the
stack's tokens), the member role in each member account (``${AWS::...}`` of the member's own stack), and the
tests, which evaluate the very same statements against every call the handlers make (with a literal account).
``guard_statements`` are the explicit denies generated from configuration: what no grant may ever reach.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from responder.core import capabilities as cap
from responder.core.table_keys import TABLES
from responder.shell import catalog

from .config import ResponderConfig

SWEEP_STATE_MACHINE_NAME = "compromise-responder-organization-sweep"  # fixed: policies name it before it exists
OWN_ROLE_PATH = "/compromise-responder/"  # every role of the responder's stacks (functions, state machine)
# Roles that deploy the responder (CDK bootstrap, service-managed StackSets): a stolen function role must not be
# able to write on them, and through them on the responder itself.
DEPLOY_ROLES = ("cdk-*", "stacksets-exec-*", "AWSCloudFormationStackSetExecutionRole")


@dataclass(frozen=True)
class Place:
    """Where a policy applies: the partition and account its ARN templates are filled with, the organization,
    and the ARNs of the responder's own resources (tables, topic ...) by symbol (hub only)."""

    partition: str
    account: str
    organization: str = ""
    own: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def resources(self, symbol: str) -> list[str]:
        if symbol == cap.ANY:
            return ["*"]
        if symbol.startswith("arn:"):
            return [symbol.format(partition=self.partition, account=self.account, organization=self.organization)]
        if symbol not in self.own:
            raise ValueError(f"no ARN for the responder's own resource {symbol!r} here")
        return list(self.own[symbol])


def own_resources(
    *,
    partition: str,
    region: str,
    account: str,
    table_arns: Mapping[str, str],
    topic_arn: str,
    state_machine_arn: str,
    member_role_name: str,
) -> dict[str, list[str]]:
    """The ARNs of the responder's own resources by symbol (tables with their indexes, topic, organization sweep,
    member roles, Security Hub) in the hub: for ``Place.own``."""
    own: dict[str, list[str]] = {
        cap.NOTIFY_TOPIC: [topic_arn],
        cap.SWEEP_STATE_MACHINE: [state_machine_arn],
        cap.MEMBER_ROLE: [f"arn:{partition}:iam::*:role/{member_role_name}"],
        cap.SECURITY_HUB_PRODUCT: [f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"],
        cap.SECURITY_HUB_HUB: [f"arn:{partition}:securityhub:{region}:{account}:hub/default"],
    }
    for logical, arn in table_arns.items():
        own[f"table:{logical}"] = [arn] + [f"{arn}/index/{index}" for index in TABLES[logical]["indexes"]]
    return own


def statements(grants: Iterable[cap.Grant], place: Place) -> list[dict[str, Any]]:
    """One Allow statement per grant, its resources and conditions filled in for ``place``."""
    out: list[dict[str, Any]] = []
    for grant in grants:
        statement: dict[str, Any] = {
            "Sid": _sid(grant, {s["Sid"] for s in out}),
            "Effect": "Allow",
            "Action": list(grant.actions),
            "Resource": [r for symbol in grant.resources for r in place.resources(symbol)],
        }
        if grant.conditions:
            statement["Condition"] = grant.condition_block(
                {"organization": place.organization, "partition": place.partition, "account": place.account}
            )
        out.append(statement)
    return out


def guard_statements(
    place: Place,
    *,
    iam_writes: Sequence[str],
    protected_principals: Sequence[str],
    protect_tag_key: str,
    member_role_name: str = "",
) -> list[dict[str, Any]]:
    """Explicit denies no grant can outweigh: no IAM write on the responder's own roles, its deploy roles, the
    member role or a protected principal; no tag write of the protect tag."""
    iam = f"arn:{place.partition}:iam::{place.account}"
    guarded = [f"{iam}:role{OWN_ROLE_PATH}*", *(f"{iam}:role/{name}" for name in DEPLOY_ROLES)]
    if member_role_name:
        guarded.append(f"{iam}:role/{member_role_name}")
    for principal in protected_principals:
        guarded += principal_arns(principal, iam)
    denies: list[dict[str, Any]] = [
        {
            "Sid": "NoIamWriteOnGuardedPrincipals",
            "Effect": "Deny",
            "Action": sorted(iam_writes),
            "Resource": sorted(set(guarded)),
        },
        {
            "Sid": "NoProtectTagWrite",
            "Effect": "Deny",
            "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
            "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": [protect_tag_key]}},
        },
    ]
    return denies if iam_writes else denies[1:]


def principal_arns(principal: str, iam: str) -> list[str]:
    """ARN patterns of a ``PROTECTED_PRINCIPALS`` entry: a name is a user or a role of that name on any path (one
    pattern, ``...:*/name``: four per name - user and role, with and without a path - overflowed the boundary's
    6,144 characters at about 19 names; this one also covers a group or policy of that name, which only ever
    protects more); an ARN is itself (an assumed-role session ARN: its role)."""
    session = re.fullmatch(r"arn:[\w-]+:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/.*", principal)
    if session:
        return [f"{iam.rsplit(':', 1)[0]}:{session.group(1)}:role/{session.group(2)}"]
    if principal.startswith("arn:"):
        return [principal]
    return [f"{iam}:*/{principal}"]


# What CDK grants each function besides its flows: its log group, X-Ray, and its dead-letter queue (KMS-encrypted).
INFRA_ACTIONS = (
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "sqs:SendMessage",
    "kms:GenerateDataKey",
    "kms:Decrypt",
)


def function_statements(handler: str, config: ResponderConfig, place: Place) -> list[dict[str, Any]]:
    """A function's policy: exactly what its handler's flows declare (organization mode adds the member role;
    Security Hub's only when ``securityHubFindings`` is on), then the configuration's denies."""
    grants = catalog.grants_for(handler, config.organization, security_hub=config.security_hub_findings)
    return statements(grants, place) + guards(config, place, grants)


def boundary_statements(config: ResponderConfig, place: Place) -> list[dict[str, Any]]:
    """The permissions boundary of every function role: the ceiling is the actions some function declares (and
    what CDK adds); the configuration's denies hold whatever policy is attached to the role later."""
    grants = [
        g
        for handler in catalog.handlers(config.organization)
        for g in catalog.grants_for(handler, config.organization, security_hub=config.security_hub_findings)
    ]
    actions = ceiling_actions({a for g in grants for a in g.actions} | set(INFRA_ACTIONS))
    ceiling = {"Sid": "AtMostWhatTheResponderDeclares", "Effect": "Allow", "Action": actions, "Resource": "*"}
    return [ceiling, *guards(config, place, grants)]


READ_VERBS = ("Describe", "Get", "List")


def ceiling_actions(actions: Iterable[str]) -> list[str]:
    """The boundary's ceiling: every change the responder may make, by name; its reads per service and verb
    (``ec2:Describe*``). A managed policy holds 6,144 characters and the boundary must leave room for the
    protected principals; a read widened here is still granted only where a function's own policy grants it."""
    out: set[str] = set()
    for action in actions:
        service, _, name = action.partition(":")
        verb = next((v for v in READ_VERBS if name.startswith(v)), None)
        out.add(f"{service}:{verb}*" if verb else action)
    return sorted(out)


def boundary_read_wildcards(config: ResponderConfig) -> list[str]:
    """The ``service:Verb*`` reads of the boundary's ceiling (each acknowledged for cdk-nag with its reason)."""
    grants = [
        g
        for handler in catalog.handlers(config.organization)
        for g in catalog.grants_for(handler, config.organization, security_hub=config.security_hub_findings)
    ]
    return [a for a in ceiling_actions({a for g in grants for a in g.actions} | set(INFRA_ACTIONS)) if a.endswith("*")]


def member_statements(config: ResponderConfig, place: Place) -> list[dict[str, Any]]:
    """The member role's policy: what responses do in a member account, with the same denies (the member role
    itself among the guarded)."""
    grants = catalog.merged(catalog.member_capabilities())
    return statements(grants, place) + guards(config, place, grants)


def guards(config: ResponderConfig, place: Place, grants: Sequence[cap.Grant]) -> list[dict[str, Any]]:
    """The configuration's explicit denies, for a role holding ``grants`` in ``place``."""
    return guard_statements(
        place,
        iam_writes=iam_writes(grants),
        protected_principals=config.protected_principals,
        protect_tag_key=config.protect_tag_key,
        member_role_name=config.member_role_name if config.organization else "",
    )


def iam_writes(grants: Iterable[cap.Grant]) -> list[str]:
    """The IAM actions among ``grants`` that change something (all but Get/List)."""
    return sorted(
        {a for g in grants for a in g.actions if a.startswith("iam:") and not a.startswith(("iam:Get", "iam:List"))}
    )


def _sid(grant: cap.Grant, taken: set[str]) -> str:
    """Readable and unique: the service and resource types, and the condition keys (``Ec2SnapshotIfRequestTag``)."""
    words: list[str] = []
    for symbol in grant.resources:
        if symbol == cap.ANY:
            words.append("AnyResource")
        elif symbol.startswith("arn:"):
            service, resource = symbol.split(":")[2], symbol.split(":", 5)[5]
            words += [w for w in (service, re.split(r"[/:]", resource)[0]) if w not in words]
        else:
            words.append(symbol)
    if grant.conditions:
        words.append("if")
        words += [key.split(":", 1)[1].split("/")[0] for _, key, _ in grant.conditions]
    base = "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", " ".join(words)) if w)[:100]
    sid, n = base, 2
    while sid in taken:
        sid, n = f"{base}{n}", n + 1
    return sid
