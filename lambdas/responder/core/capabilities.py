"""Every AWS call the responder makes is declared here with the IAM permissions it needs.

Three kinds, each named by its kind (``change:terminate-instance``, ``read:describe-instances``,
``record:notify``): actions (changes) register one each, probes (reads) and stores (the responder's own
records) declare theirs. Flows list the Capability objects they use (a typo fails at import); the CDK
stack builds each function's IAM policy from the flows its handler can run (``responder.shell.catalog``). Code
and least privilege cannot drift apart: the tests record every AWS call the handlers make against moto
and evaluate each one, with its resource ARN and condition keys, against the policy the stack builds; and
check that every declared permission is used.

A capability is a list of ``Grant`` s: actions, the resources they act on, the conditions that narrow them.
Resources are ARN templates (``{partition}``, ``{account}``: the account acted in, the hub's or a member's)
or the symbols of the responder's own resources below (the stack resolves them). ``*`` only for actions
AWS authorizes on no resource type (its Service Authorization Reference; the tests check it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["change", "read", "record"]

ANY = "*"
OWN_TAG_PREFIX = "compromise-responder:"  # every tag the responder writes starts so (the protect tag too: denied)
OWN_TAG = OWN_TAG_PREFIX + "incidentId"  # on what the responder creates (security groups, snapshots)


def arn(service: str, resource: str, region: str = "*", account: str = "{account}") -> str:
    return f"arn:{{partition}}:{service}:{region}:{account}:{resource}"


IAM_USER = arn("iam", "user/*", region="")
IAM_ROLE = arn("iam", "role/*", region="")
EC2_INSTANCE = arn("ec2", "instance/*")
EC2_VOLUME = arn("ec2", "volume/*")
EC2_SNAPSHOT = arn("ec2", "snapshot/*", account="")  # snapshot ARNs carry no account
EC2_SECURITY_GROUP = arn("ec2", "security-group/*")
EC2_NETWORK_INTERFACE = arn("ec2", "network-interface/*")
EC2_VPC = arn("ec2", "vpc/*")
SPOT_REQUEST = arn("ec2", "spot-instances-request/*")
SPOT_FLEET = arn("ec2", "spot-fleet-request/*")
EC2_FLEET = arn("ec2", "fleet/*")
AUTOSCALING_GROUP = arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*")
TARGET_GROUP = arn("elasticloadbalancing", "targetgroup/*/*")
# The responder's customer-managed deny-all quarantine (created by the stack, in the account acted on)
QUARANTINE_POLICY_NAME = "compromise-responder-quarantine"
QUARANTINE_POLICY = arn("iam", f"policy/{QUARANTINE_POLICY_NAME}", region="")
ORGANIZATION_ACCOUNT = arn("organizations", "account/{organization}/*", region="", account="*")

# Symbols of the responder's own resources, resolved by the stack (infra/policy_documents.py).
INCIDENTS_TABLE = "table:incidents"
LEDGER_TABLE = "table:ledger"
IDEMPOTENCY_TABLE = "table:idempotency"
NOTIFY_TOPIC = "topic:notify"
MEMBER_ROLE = "iam:member-role"  # organization mode: MEMBER_ROLE_NAME in every account of the organization
SWEEP_STATE_MACHINE = "states:organization-sweep"  # organization mode: the Distributed Map state machine
SECURITY_HUB_PRODUCT = "securityhub:product/default"  # the account's own default product (its findings)
SECURITY_HUB_HUB = "securityhub:hub/default"  # the account's hub (customer-side updates of findings)
# The responder's own resources: in organization mode they stay in the hub, never in a member role.
HUB_RESOURCES = frozenset(
    {INCIDENTS_TABLE, LEDGER_TABLE, IDEMPOTENCY_TABLE, NOTIFY_TOPIC, SECURITY_HUB_PRODUCT, SECURITY_HUB_HUB,
     SWEEP_STATE_MACHINE, MEMBER_ROLE, ORGANIZATION_ACCOUNT}
)  # fmt: skip

Condition = tuple[str, str, tuple[str, ...]]  # (operator, key, values)
ONLY_OWN_TAG_KEYS: Condition = ("ForAllValues:StringLike", "aws:TagKeys", (OWN_TAG_PREFIX + "*",))
CREATED_WITH_OWN_TAG: Condition = ("StringLike", f"aws:RequestTag/{OWN_TAG}", ("*",))
IN_ORGANIZATION: Condition = ("StringEquals", "aws:ResourceOrgID", ("{organization}",))
ONLY_QUARANTINE_POLICY: Condition = ("ArnEquals", "iam:PolicyARN", (QUARANTINE_POLICY,))  # attach/detach only it
CREATED_BY_RESPONDER: Condition = ("StringLike", f"aws:ResourceTag/{OWN_TAG}", ("*",))


@dataclass(frozen=True)
class Grant:
    """One IAM statement's worth: ``actions`` on ``resources`` under every one of ``conditions``."""

    actions: tuple[str, ...]
    resources: tuple[str, ...] = (ANY,)
    conditions: tuple[Condition, ...] = ()

    def condition_block(self, values: Mapping[str, str] | None = None) -> dict[str, dict[str, str | list[str]]]:
        """The IAM ``Condition`` element, ``{placeholders}`` in the values filled from ``values``."""
        block: dict[str, dict[str, str | list[str]]] = {}
        for operator, key, wanted in self.conditions:
            filled = [v.format_map(values or {}) for v in wanted]
            block.setdefault(operator, {})[key] = filled[0] if len(filled) == 1 else filled
        return block


@dataclass(frozen=True)
class Capability:
    kind: Kind
    name: str
    grants: tuple[Grant, ...]
    doc: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def permissions(self) -> tuple[str, ...]:
        return tuple(sorted({a for g in self.grants for a in g.actions}))

    @property
    def resources(self) -> frozenset[str]:
        return frozenset(r for g in self.grants for r in g.resources)


REGISTRY: dict[str, Capability] = {}


def declare(
    kind: Kind,
    name: str,
    permissions: Sequence[str] = (),
    resource: str = ANY,
    doc: str = "",
    *,
    grants: Sequence[Grant] = (),
) -> Capability:
    """Register (once) what one action, probe or store needs: ``permissions`` on one ``resource``, or ``grants``."""
    if bool(permissions) == bool(grants):
        raise ValueError(f"capability {kind}:{name}: give either permissions or grants")
    all_grants = tuple(grants) or (Grant(tuple(permissions), (resource,)),)
    cap = Capability(kind=kind, name=name, grants=all_grants, doc=doc)
    existing = REGISTRY.get(cap.key)
    if existing is not None and existing != cap:
        raise ValueError(f"capability {cap.key!r} declared twice with different permissions")
    REGISTRY[cap.key] = cap
    return cap
