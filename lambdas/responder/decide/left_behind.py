"""What the attacker left behind (contract: "What the attacker left behind"): changes made by a credential of
the chain that keep access open without any credential of the attacker's. Read from the chain's CloudTrail
records (``chain.Chain.records``); ``left_behind_from`` and ``plan_undos`` are pure.

  lambda:AddPermission                  -> RemovePermission of that statement id
  ec2:ModifyImageAttribute (+launch)    -> the same accounts / groups removed
  ec2:ModifySnapshotAttribute (+create) -> the same accounts / groups removed
  ec2:AuthorizeSecurityGroupIngress     -> RevokeSecurityGroupIngress of exactly the rules it added
  rds:ModifyDB(Cluster)SnapshotAttribute (+restore) -> the same accounts removed
  ec2:EnableSerialConsoleAccess         -> DisableSerialConsoleAccess
  cloudtrail:StopLogging                -> StartLogging of that trail (beyond the contract's table: a switch put back)
  cloudtrail:PutEventSelectors          -> the trail's earlier selectors (event history), else management events
                                           logged again (actions/undo_trail_selectors.py; beyond the contract's table)
  cloudtrail:DeleteTrail                -> the trail created again as its CreateTrail made it (event history),
                                           logging (actions/undo_trail_deleted.py; beyond the contract's table)
  ec2:DeleteFlowLogs                    -> the flow log created again from its CreateFlowLogs record (event
                                           history), else listed (actions/undo_flow_logs.py; beyond the contract's table)
  rolesanywhere:CreateTrustAnchor       -> DisableTrustAnchor (kept, for evidence)
  iam:UpdateAssumeRolePolicy            -> the previous trust policy (event history, 90 days), else the outside
                                           principals removed; then the role's sessions issued since revoked
Never changed (they hold data or run workloads), listed under NEEDS A HUMAN with the call, target and time:
bucket policies and ACLs, function code and configuration, instance user data, commands and sessions, and
every secret or parameter read ("rotate"). Calls whose undo is not automated yet are listed the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..actions import ActionName, undo_flow_logs, undo_trail_deleted, undo_trail_selectors
from ..core.model import Step
from ..core.timeutil import iso, parse_time
from . import bucket_lifecycle

UNDO_EVENTS = frozenset(
    {"ModifyImageAttribute", "ModifySnapshotAttribute", "AuthorizeSecurityGroupIngress", "EnableSerialConsoleAccess"}
)
FOR_A_HUMAN = {  # event -> (what, the request parameter naming the target)
    "PutBucketPolicy": ("bucket policy changed: review who it grants", "bucketName"),
    "PutBucketAcl": ("bucket ACL changed: review who it grants", "bucketName"),
    "UpdateFunctionCode": ("function code replaced: review and redeploy the team's code", "functionName"),
    "UpdateFunctionConfiguration": ("function configuration changed: review it", "functionName"),
    "ModifyInstanceAttribute": ("instance user data changed: review it before the next start", "instanceId"),
    "SendCommand": ("command sent to instances: review what ran", "instanceIds"),
    "StartSession": ("shell session opened on an instance: review what ran", "target"),
    "GetPasswordData": ("Windows administrator password read: rotate it", "instanceId"),
    "SendSSHPublicKey": ("SSH key pushed to an instance (Instance Connect): review what ran", "instanceId"),
    "SendSerialConsoleSSHPublicKey": ("SSH key pushed through the serial console: review what ran", "instanceId"),
    "CreateNotebookInstanceLifecycleConfig": (
        "SageMaker lifecycle script created: review it",
        "notebookInstanceLifecycleConfigName",
    ),
    "UpdateNotebookInstanceLifecycleConfig": (
        "SageMaker lifecycle script replaced: review it",
        "notebookInstanceLifecycleConfigName",
    ),
    "UpdateTrail": ("trail settings changed: compare them with what the team set", "name"),
    "LeaveOrganization": ("this account left its organization: invite it back (its SCPs no longer apply)", "account"),
    "DisassociateResolverQueryLogConfig": (
        "VPC no longer logs its DNS queries: associate it again with its query logging configuration",
        "resourceId",
    ),
    "DeregisterImage": (
        "AMI deregistered: restore it from the Recycle Bin if a retention rule kept it, else register it again "
        "from its snapshot",
        "imageId",
    ),
    "GetSecretValue": ("secret read: rotate it", "secretId"),
    "BatchGetSecretValue": ("secrets read: rotate them", "secretIdList"),
    "GetParameter": ("parameter read with decryption: rotate it", "name"),
    "GetParameters": ("parameters read with decryption: rotate them", "names"),
    "ModifyDBSnapshotAttribute": ("RDS snapshot shared: remove the accounts added", "dBSnapshotIdentifier"),
    "ModifyDBClusterSnapshotAttribute": (
        "RDS cluster snapshot shared: remove the accounts added",
        "dBClusterSnapshotIdentifier",
    ),
}


@dataclass(frozen=True)
class LeftBehind:
    """One change the chain made: what it was, where, and what undoes it (or who must look at it)."""

    call: str  # service:EventName as CloudTrail wrote it
    target: str
    region: str
    at: datetime | None
    by: str  # the access key id of the chain that made it
    event_id: str
    undo: str | None  # the action that undoes it; None: for a human
    why: str
    params: Mapping[str, str] = field(default_factory=dict)
    before: Mapping[str, Any] = field(default_factory=dict)  # what the call added (what the undo removes)
    protected: str | None = None  # why the target is never changed (protect tag, protected principal): listed

    @property
    def for_a_human(self) -> bool:
        return self.undo is None or self.protected is not None

    def to_json(self, response: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "call": self.call,
            "target": self.target,
            "region": self.region,
            "at": iso(self.at),
            "by": self.by,
            "eventId": self.event_id,
            "undo": self.undo if self.undo and not self.protected else "needs a human",
            "why": self.why,
            "added": dict(self.before),
        }
        if self.protected:
            out["protected"] = self.protected
        if response:
            out["response"] = response
        return out


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Mapping[str, Any]]:
    container = _obj(value)
    found = container.get("items", container.get("item", []))
    found = found if isinstance(found, list) else [found]
    return [i for i in found if isinstance(i, Mapping)]


def _event(detail: Mapping[str, Any]) -> str:
    """``AddPermission20150331v2`` -> ``AddPermission`` (Lambda writes its API version into the event name)."""
    name = str(detail.get("eventName") or "")
    for base in ("AddPermission", "UpdateFunctionCode", "UpdateFunctionConfiguration"):
        if name.startswith(base):
            return base
    return name


def left_behind_from(records: Iterable[Mapping[str, Any]]) -> list[LeftBehind]:
    """Every change of the chain's records that keeps access open, oldest first. Pure."""
    out: list[LeftBehind] = []
    for detail in sorted(records, key=lambda d: str(d.get("eventTime") or "")):
        if detail.get("errorCode"):
            continue
        try:
            found = _one(detail)
        except (AttributeError, TypeError, KeyError, ValueError):
            found = None  # a shape no AWS record has: not guessed at
        if isinstance(found, list):
            out += found
        elif found is not None:
            out.append(found)
    return out


def _one(detail: Mapping[str, Any]) -> LeftBehind | list[LeftBehind] | None:
    name = _event(detail)
    request, response = _obj(detail.get("requestParameters")), _obj(detail.get("responseElements"))
    service = str(detail.get("eventSource") or "").removesuffix(".amazonaws.com")
    common: dict[str, Any] = {
        "call": f"{service}:{detail.get('eventName')}",
        "region": str(detail.get("awsRegion") or ""),
        "at": parse_time(detail.get("eventTime")),
        "by": str(_obj(detail.get("userIdentity")).get("accessKeyId") or ""),
        "event_id": str(detail.get("eventID") or ""),
    }
    when = f"{common['call']} at {iso(common['at'])} by {common['by']}"
    if name == "AddPermission" and service == "lambda":
        function, sid = str(request["functionName"]), str(request["statementId"])
        statement = response.get("statement")
        return LeftBehind(
            target=function,
            undo=ActionName.REMOVE_LAMBDA_PERMISSION,
            why=f"statement {sid} added by {when}: removed",
            params={"statementIds": sid},
            before={"statement": statement if isinstance(statement, str) else json.dumps(request)},
            **common,
        )
    if name in ("ModifyImageAttribute", "ModifySnapshotAttribute"):
        image = name == "ModifyImageAttribute"
        attribute = "launchPermission" if image else "createVolumePermission"
        added = _items(_obj(request.get(attribute)).get("add"))
        users = sorted({str(i["userId"]) for i in added if i.get("userId")})
        groups = sorted({str(i["group"]) for i in added if i.get("group")})
        if not users and not groups:
            return None  # a removal, or another attribute: nothing was shared
        target = str(request["imageId" if image else "snapshotId"])
        who = ", ".join([*users, *(f"group {g}" for g in groups)])
        return LeftBehind(
            target=target,
            undo=ActionName.REMOVE_IMAGE_SHARE if image else ActionName.REMOVE_SNAPSHOT_SHARE,
            why=f"shared with {who} by {when}: share removed",
            params={"userIds": ",".join(users), "groups": ",".join(groups)},
            before={attribute: {"add": [*({"userId": u} for u in users), *({"group": g} for g in groups)]}},
            **common,
        )
    if name == "AuthorizeSecurityGroupIngress":
        rules = [
            r for i in _items(response.get("securityGroupRuleSet")) if not i.get("isEgress") if (r := _permission(i))
        ]
        group = str(
            request.get("groupId") or next((i.get("groupId") for i in _items(response.get("securityGroupRuleSet"))), "")
        )
        if not rules or not group:
            return None
        return LeftBehind(
            target=group,
            undo=ActionName.REVOKE_INGRESS,
            why=f"{len(rules)} ingress rule(s) ({_rules_text(rules)}) added by {when}: revoked",
            params={"ipPermissions": json.dumps(rules)},
            before={"ipPermissions": rules},
            **common,
        )
    if name in ("ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute"):
        cluster = name == "ModifyDBClusterSnapshotAttribute"
        added = request.get("valuesToAdd") or []
        if str(request.get("attributeName")) != "restore" or not isinstance(added, list) or not added:
            return None
        target = str(request["dBClusterSnapshotIdentifier" if cluster else "dBSnapshotIdentifier"])
        accounts = sorted({str(a) for a in added})
        return LeftBehind(
            target=target,
            undo=ActionName.REMOVE_DB_SNAPSHOT_SHARE,
            why=f"restore shared with {', '.join(accounts)} by {when}: share removed",
            params={"userIds": ",".join(accounts), "cluster": "true" if cluster else "false"},
            before={"restore": {"valuesToAdd": accounts}},
            **common,
        )
    if name == "UpdateAssumeRolePolicy":
        role, document = str(request["roleName"]), str(request["policyDocument"])
        return LeftBehind(
            target=role,
            undo=ActionName.RESTORE_TRUST_POLICY,
            why=f"trust policy replaced by {when}",
            params={"changedAt": iso(common["at"]) or ""},
            before={"trustPolicy": document},
            **{**common, "region": "global"},
        )
    if name == "CreateTrustAnchor":
        anchor = _obj(response.get("trustAnchor"))
        anchor_id = str(anchor["trustAnchorId"])
        return LeftBehind(
            target=anchor_id,
            undo=ActionName.DISABLE_TRUST_ANCHOR,
            why=f"Roles Anywhere trust anchor {anchor.get('name') or request.get('name')} created by {when}: "
            "disabled (kept, for evidence)",
            before={"trustAnchorArn": str(anchor.get("trustAnchorArn") or ""), "enabled": True},
            **common,
        )
    if name == "StopLogging" and service == "cloudtrail":
        trail = str(request["name"])
        return LeftBehind(
            target=trail,
            undo=ActionName.RESTART_TRAIL_LOGGING,
            why=f"trail logging stopped by {when}: logging started again",
            before={"isLogging": True},
            **common,
        )
    if name == undo_trail_selectors.EVENT and service == "cloudtrail":
        return LeftBehind(
            target=undo_trail_selectors.trail_name(request["trailName"]),
            undo=ActionName.RESTORE_EVENT_SELECTORS,
            why=f"trail event selectors replaced by {when}",
            params={"changedAt": iso(common["at"]) or ""},
            before=undo_trail_selectors.selectors_of(request),
            **common,
        )
    if name == bucket_lifecycle.EVENT and service == "s3":  # never changed: see bucket_lifecycle.py
        return LeftBehind(
            target=str(request["bucketName"]),
            undo=None,
            why=f"bucket lifecycle replaced by {when}: it may expire the logs or data at the next lifecycle run; "
            "put back what was there before",
            before={"LifecycleConfiguration": request.get("LifecycleConfiguration")},
            **common,
        )
    if name == undo_trail_deleted.EVENT and service == "cloudtrail":
        return LeftBehind(
            target=undo_trail_selectors.trail_name(request["name"]),
            undo=ActionName.RECREATE_TRAIL,
            why=f"trail deleted by {when}",
            params={"changedAt": iso(common["at"]) or ""},
            before={"deleted": True},
            **common,
        )
    if name == undo_flow_logs.EVENT and service == "ec2":
        return [
            LeftBehind(
                target=flow_log,
                undo=ActionName.RECREATE_FLOW_LOG,
                why=f"VPC flow log {flow_log} deleted by {when}",
                params={"changedAt": iso(common["at"]) or ""},
                before={"flowLogId": flow_log, "deleted": True},
                **common,
            )
            for flow_log in undo_flow_logs.deleted_ids(request)
        ] or None
    if name == "DeleteResolverQueryLogConfig":
        config = _obj(response.get("resolverQueryLogConfig"))
        target = str(request.get("resolverQueryLogConfigId") or config.get("id") or "?")
        what = (
            f"DNS query logging configuration {config.get('name') or target} (to {config.get('destinationArn') or '?'})"
            " deleted: create it again with the same name and destination, and associate its VPCs again "
            "(the responder may not create one: no resource of it can be named in a grant)"
        )
        return LeftBehind(target=target, undo=None, why=f"{what} ({when})", before=dict(config), **common)
    if name == "EnableSerialConsoleAccess":
        return LeftBehind(
            target="serial-console-access",
            undo=ActionName.DISABLE_SERIAL_CONSOLE,
            why=f"EC2 serial console access switched on by {when}: switched off",
            before={"serialConsoleAccessEnabled": False},
            **common,
        )
    if name in FOR_A_HUMAN:
        what, key = FOR_A_HUMAN[name]
        if name == "ModifyInstanceAttribute" and "userData" not in request:
            return None
        if name in ("GetParameter", "GetParameters") and str(request.get("withDecryption")).lower() != "true":
            return None
        value = request.get(key) or request.get("target") or request.get("roleArn")
        value = value or (detail.get("recipientAccountId") if name == "LeaveOrganization" else None) or "?"
        target = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        return LeftBehind(target=target[:300], undo=None, why=f"{what} ({when})", **common)
    return None


def _permission(rule: Mapping[str, Any]) -> dict[str, Any] | None:
    """A ``securityGroupRuleSet`` item as the ``IpPermissions`` entry that revokes exactly it."""
    out: dict[str, Any] = {"IpProtocol": str(rule.get("ipProtocol"))}
    if rule.get("fromPort") is not None:
        out["FromPort"] = int(rule["fromPort"])
    if rule.get("toPort") is not None:
        out["ToPort"] = int(rule["toPort"])
    if rule.get("cidrIpv4"):
        out["IpRanges"] = [{"CidrIp": str(rule["cidrIpv4"])}]
    elif rule.get("cidrIpv6"):
        out["Ipv6Ranges"] = [{"CidrIpv6": str(rule["cidrIpv6"])}]
    elif rule.get("prefixListId"):
        out["PrefixListIds"] = [{"PrefixListId": str(rule["prefixListId"])}]
    elif _obj(rule.get("referencedGroupInfo")).get("groupId"):
        out["UserIdGroupPairs"] = [{"GroupId": str(rule["referencedGroupInfo"]["groupId"])}]
    else:
        return None
    return out


def _rules_text(rules: Sequence[Mapping[str, Any]]) -> str:
    def source(r: Mapping[str, Any]) -> str:
        for key, inner in (
            ("IpRanges", "CidrIp"),
            ("Ipv6Ranges", "CidrIpv6"),
            ("PrefixListIds", "PrefixListId"),
            ("UserIdGroupPairs", "GroupId"),
        ):
            if r.get(key):
                return str(r[key][0][inner])
        return "?"

    return ", ".join(f"{r['IpProtocol']} {r.get('FromPort', '')}-{r.get('ToPort', '')} from {source(r)}" for r in rules)


LISTS = frozenset({"userIds", "groups", "statementIds"})  # comma lists: what several calls added is merged


def plan_undos(found: Sequence[LeftBehind]) -> list[Step]:
    """One step per undo target (what several calls added to one target is removed at once); one skipped step per
    change for a human. Pure."""
    steps: list[Step] = []
    merged: dict[tuple[str, str, str], list[LeftBehind]] = {}
    for item in found:
        if item.undo is None:
            steps.append(
                Step(
                    ActionName.REVIEW_LEFT_BEHIND,
                    item.target,
                    item.region,
                    item.why,
                    status="skipped",
                    source="chain",
                    params={"call": item.call, "at": iso(item.at) or ""},
                )
            )
        elif item.protected is not None:
            steps.append(
                Step(
                    item.undo,
                    item.target,
                    item.region,
                    item.why,
                    status="skipped",
                    source="chain",
                    params={"call": item.call, "at": iso(item.at) or ""},
                )
            )
        else:
            merged.setdefault((item.undo, item.target, item.region), []).append(item)
    for (undo, target, region), items in merged.items():
        params: dict[str, str] = {}
        for key in sorted({k for i in items for k in i.params}):
            if key == "ipPermissions":
                params[key] = json.dumps([r for i in items for r in json.loads(i.params[key])])
            elif key == "changedAt":  # sessions issued since the first change are revoked
                params[key] = min(i.params[key] for i in items if key in i.params)
            elif key not in LISTS:
                params[key] = next(i.params[key] for i in reversed(items) if key in i.params)  # the latest call's
            else:
                values = sorted({v for i in items for v in i.params.get(key, "").split(",") if v})
                params[key] = ",".join(values)
        steps.append(Step(undo, target, region, "; ".join(i.why for i in items), params=params, source="chain"))
    return steps


def previous_trust(records: Iterable[Mapping[str, Any]], role: str, before: datetime | None,
                   chain_keys: Iterable[str]) -> tuple[str, Mapping[str, Any]] | None:  # fmt: skip
    """The last trust policy of ``role`` set before ``before`` by a principal outside the chain (CreateRole or
    UpdateAssumeRolePolicy), with its record. Pure."""
    chain = set(chain_keys)
    found: list[tuple[datetime, str, Mapping[str, Any]]] = []
    for detail in records:
        name, request = detail.get("eventName"), _obj(detail.get("requestParameters"))
        if detail.get("errorCode") or name not in ("CreateRole", "UpdateAssumeRolePolicy"):
            continue
        if request.get("roleName") != role or _obj(detail.get("userIdentity")).get("accessKeyId") in chain:
            continue
        document = request.get("assumeRolePolicyDocument" if name == "CreateRole" else "policyDocument")
        when = parse_time(detail.get("eventTime"))
        if isinstance(document, str) and when is not None and (before is None or when < before):
            found.append((when, document, detail))
    if not found:
        return None
    _, document, detail = max(found, key=lambda f: f[0])
    return document, detail


def without_outside_principals(document: str, account: str | None) -> tuple[str, list[str]]:
    """The trust policy with every AWS principal outside ``account`` removed (statements left with no principal
    dropped), and what was removed. Pure."""
    doc = json.loads(document)
    removed: list[str] = []
    kept_statements = []
    for statement in doc.get("Statement", []) if isinstance(doc.get("Statement"), list) else [doc.get("Statement")]:
        principal = _obj(statement.get("Principal")) if isinstance(statement, Mapping) else {}
        if statement.get("Principal") == "*" or principal.get("AWS") == "*":
            removed.append("*")
            continue
        aws = principal.get("AWS")
        if aws is None:
            kept_statements.append(statement)
            continue
        values = [aws] if isinstance(aws, str) else list(aws)
        inside = [v for v in values if account and (v == account or f":{account}:" in v)]
        removed += [v for v in values if v not in inside]
        others = {k: v for k, v in principal.items() if k != "AWS"}
        if inside:
            others["AWS"] = inside[0] if len(inside) == 1 else inside
        if others:
            kept_statements.append({**statement, "Principal": others})
    doc["Statement"] = kept_statements
    return json.dumps(doc), removed
