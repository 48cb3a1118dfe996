"""What the attacker left behind, on a protected target: listed, never changed (contract: "What the attacker left
behind": "A resource with the protect tag, or owned by a protected principal, is never changed: it is listed").

Before each undo is planned, the target's tags are read (one ``DescribeTags`` per region for the AMIs, EBS
snapshots and security groups; ``ListTags`` / ``ListTagsForResource`` / ``ListRoleTags`` for a function, an RDS
snapshot, a trust anchor, a role, a trail). ``guard_protected`` is pure; ``read_tags`` is the thin reader (a read that
never fails the response: tags it cannot read leave the undo as planned, the reason says so).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..actions import ActionName
from ..actions.undo import CLOUDTRAIL_TRAIL, LAMBDA_FUNCTION, RDS_CLUSTER_SNAPSHOT, RDS_SNAPSHOT
from ..aws import Clients, describe_error
from ..core import capabilities as cap
from ..decide.left_behind import LeftBehind
from ..decide.rogue import RoguePolicy

LEFT_BEHIND_TAGS = cap.declare(
    "read",
    "left-behind-tags",
    grants=(
        # no resource type (the Service Authorization Reference, parliament's copy): only "*" grants them
        cap.Grant(("ec2:DescribeTags", "rolesanywhere:ListTagsForResource")),
        cap.Grant(("lambda:ListTags",), (LAMBDA_FUNCTION,)),
        cap.Grant(("rds:ListTagsForResource",), (RDS_SNAPSHOT, RDS_CLUSTER_SNAPSHOT)),
        cap.Grant(("iam:ListRoleTags",), (cap.IAM_ROLE,)),
        cap.Grant(("cloudtrail:ListTags",), (CLOUDTRAIL_TRAIL,)),
    ),
    doc="a left-behind target's tags: a protected one is listed, never changed",
)
EC2_UNDOS = frozenset({ActionName.REVOKE_INGRESS, ActionName.REMOVE_SNAPSHOT_SHARE, ActionName.REMOVE_IMAGE_SHARE})
TAGGED_UNDOS = EC2_UNDOS | {
    ActionName.REMOVE_LAMBDA_PERMISSION,
    ActionName.REMOVE_DB_SNAPSHOT_SHARE,
    ActionName.DISABLE_TRUST_ANCHOR,
    ActionName.RESTORE_TRUST_POLICY,
    ActionName.RESTART_TRAIL_LOGGING,
    ActionName.RESTORE_EVENT_SELECTORS,
}
Key = tuple[str, str, str]  # (undo, target, region)
Tags = dict[Key, Mapping[str, str] | str]  # the target's tags, or why they could not be read


def key_of(item: LeftBehind) -> Key:
    return (str(item.undo), item.target, item.region)


def guard_protected(items: Sequence[LeftBehind], tags: Tags, policy: RoguePolicy) -> list[LeftBehind]:
    """Each item whose target carries the protect tag, or is a protected principal (a role), marked
    ``protected`` (its undo is listed as skipped, never run). Pure."""
    out = []
    for item in items:
        found = tags.get(key_of(item)) if item.undo in TAGGED_UNDOS else None
        why = None
        if item.undo == ActionName.RESTORE_TRUST_POLICY and policy.is_protected_principal(item.target):
            why = f"role {item.target} is a protected principal"
        elif isinstance(found, Mapping) and policy.has_protect_tag(found):
            why = f"{item.target} carries the protect tag {policy.protect_tag_key}=true"
        if why is not None:  # the reason no longer says what the undo would have done
            done = item.why.rsplit(": ", 1)[0] if ": " in item.why else item.why
            out.append(replace(item, protected=why, why=f"{done}; {why}: not changed, listed for a human"))
        elif isinstance(found, str):
            out.append(replace(item, why=f"{item.why} (its tags could not be read: {found})"))
        else:
            out.append(item)
    return out


def read_tags(
    clients: Clients, items: Sequence[LeftBehind], account: str | None, partition: str,
    log: Callable[..., Any] | None = None,
) -> Tags:  # fmt: skip
    """The tags of every target an undo would change (what cannot be read: why)."""
    out: Tags = {}
    ec2: dict[str, list[LeftBehind]] = defaultdict(list)
    for item in items:
        if item.undo in EC2_UNDOS:
            ec2[item.region].append(item)
        elif item.undo in TAGGED_UNDOS:
            try:
                out[key_of(item)] = _tags_of(clients, item, account, partition)
            except Exception as exc:  # noqa: BLE001 - a read: the undo stays, the reason names it
                out[key_of(item)] = describe_error(exc)
    for region, found in ec2.items():
        ids = sorted({i.target for i in found})
        try:
            pages = clients.get("ec2", region).get_paginator("describe_tags")
            by_id: dict[str, dict[str, str]] = defaultdict(dict)
            for page in pages.paginate(Filters=[{"Name": "resource-id", "Values": ids}]):
                for tag in page.get("Tags", []):
                    by_id[str(tag["ResourceId"])][str(tag["Key"])] = str(tag.get("Value", ""))
            for item in found:
                out[key_of(item)] = by_id.get(item.target, {})
        except Exception as exc:  # noqa: BLE001 - as above
            for item in found:
                out[key_of(item)] = describe_error(exc)
    if log:
        log("left-behind tags read", unread=sorted(f"{k[1]}: {v}" for k, v in out.items() if isinstance(v, str)))
    return out


def _tags_of(clients: Clients, item: LeftBehind, account: str | None, partition: str) -> Mapping[str, str]:
    region = item.region
    if item.undo == ActionName.REMOVE_LAMBDA_PERMISSION:
        arn = item.target if item.target.startswith("arn:") else (
            f"arn:{partition}:lambda:{region}:{account}:function:{item.target}")  # fmt: skip
        return {str(k): str(v) for k, v in clients.get("lambda", region).list_tags(Resource=arn)["Tags"].items()}
    if item.undo == ActionName.REMOVE_DB_SNAPSHOT_SHARE:
        kind = "cluster-snapshot" if item.params.get("cluster") == "true" else "snapshot"
        arn = f"arn:{partition}:rds:{region}:{account}:{kind}:{item.target}"
        found = clients.get("rds", region).list_tags_for_resource(ResourceName=arn).get("TagList", [])
        return {str(t["Key"]): str(t.get("Value", "")) for t in found}
    if item.undo == ActionName.DISABLE_TRUST_ANCHOR:
        arn = str(item.before.get("trustAnchorArn") or "") or (
            f"arn:{partition}:rolesanywhere:{region}:{account}:trust-anchor/{item.target}")  # fmt: skip
        found = clients.get("rolesanywhere", region).list_tags_for_resource(resourceArn=arn).get("tags", [])
        return {str(t["key"]): str(t.get("value", "")) for t in found}
    if item.undo in (ActionName.RESTART_TRAIL_LOGGING, ActionName.RESTORE_EVENT_SELECTORS):
        arn = item.target if item.target.startswith("arn:") else (
            f"arn:{partition}:cloudtrail:{region}:{account}:trail/{item.target}")  # fmt: skip
        found = clients.get("cloudtrail", region).list_tags(ResourceIdList=[arn]).get("ResourceTagList", [])
        return {str(t["Key"]): str(t.get("Value", "")) for r in found for t in r.get("TagsList", [])}
    # a role's trust policy (IAM is global)
    pages = clients.get("iam", "us-east-1").get_paginator("list_role_tags").paginate(RoleName=item.target)
    return {str(t["Key"]): str(t.get("Value", "")) for page in pages for t in page.get("Tags", [])}
