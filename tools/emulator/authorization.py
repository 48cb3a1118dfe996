"""IAM authorization, emulated: every call a handler makes is evaluated against the policy its role would have.

moto authorizes nothing. While ``Authorization.acting`` is on, each call is turned into the requests AWS's
authorizer sees (IAM action, resource ARN, condition keys: request tags, tag keys, the resource's tags, the
organization of a role), following the Service Authorization Reference, and evaluated with
``tools.iam_policy`` against the role's identity policies and permissions boundary. A call any of whose
requests is not allowed is answered as AWS answers it (``AccessDenied`` / EC2's ``UnauthorizedOperation``) and
recorded in ``denied``: tests fail on it, so a policy too narrow for what the code does cannot pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from compromise_responder.tools.iam_policy import evaluate

from .hooks import UNWATCHED, Call, error

Policies = tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]]  # (identity documents, boundary)
NEEDS_NO_PERMISSION = frozenset({"sts:GetCallerIdentity"})
_EC2_TYPES = {
    "i-": "instance",
    "sg-": "security-group",
    "snap-": "snapshot",
    "vol-": "volume",
    "ami-": "image",
    "eni-": "network-interface",
}


@dataclass(frozen=True)
class Request:
    """One authorization request: what AWS evaluates for one resource of a call."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


class Authorization:
    def __init__(self) -> None:
        self._policies: Callable[[str], Policies | None] | None = None
        self.denied: list[tuple[Call, Request, str]] = []
        self.implied: dict[str, set[str]] = {}  # account -> actions a call needed besides its own (iam:PassRole)
        self._lock = threading.Lock()

    @contextmanager
    def acting(self, policies: Callable[[str], Policies | None]) -> Iterator[None]:
        """Check calls with ``policies(account)`` (None: that account's calls are not checked). Nested (a test
        that runs a second invocation while a first one still runs in a thread) restores the outer one's."""
        outer, self._policies = self._policies, policies
        try:
            yield
        finally:
            self._policies = outer

    def __call__(self, call: Call) -> Any:
        if self._policies is None or call.action in NEEDS_NO_PERMISSION or getattr(UNWATCHED, "on", False):
            return None
        policies = self._policies(call.account)
        if policies is None:
            return None
        identity, boundary = policies
        for request in requests_of(call):
            decision = evaluate(request.action, request.resource, identity, boundary=boundary, context=request.context)
            if decision == "allow" and request.action != call.action:
                with self._lock:
                    self.implied.setdefault(call.account, set()).add(request.action)
            if decision != "allow":
                with self._lock:
                    self.denied.append((call, request, decision))
                code = "UnauthorizedOperation" if call.service == "ec2" else "AccessDenied"
                return error(
                    code, f"not authorized to perform {request.action} on {request.resource} ({decision})", 403
                )
        return None


def _guard_models() -> dict[str, Callable[[Call], list[Request]]]:
    from .guard_authorization import GUARD_MODELS  # "Guarding the responder" (imports Request from here)

    return GUARD_MODELS


def requests_of(call: Call) -> list[Request]:
    """The authorization requests of one call (an operation not modelled here raises: model it, never guess)."""
    model = _MODELS.get(call.action)
    if model is None:
        raise NotImplementedError(f"emulated authorization does not model {call.action}")
    return model(call)


# --- ARNs and the emulated world's state -------------------------------------------------------------------
def _ec2_arn(call: Call, resource_id: str) -> str:
    kind = next((t for prefix, t in _EC2_TYPES.items() if resource_id.startswith(prefix)), "resource")
    account = "" if kind in ("snapshot", "image") else call.account
    return f"arn:aws:ec2:{call.region}:{account}:{kind}/{resource_id}"


def _ec2_tags(call: Call, resource_id: str) -> dict[str, str]:
    from moto.ec2.models import ec2_backends

    return dict(ec2_backends[call.account][call.region].tags.get(resource_id, {}))


def _resource_tags(tags: Mapping[str, str]) -> dict[str, Any]:
    return {f"aws:ResourceTag/{k}": v for k, v in tags.items()}


def _request_tags(tags: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    return {"aws:TagKeys": [t["Key"] for t in tags], **{f"aws:RequestTag/{t['Key']}": t.get("Value", "") for t in tags}}


def _iam(call: Call) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[call.account]["aws"]


def _user_arn(call: Call, name: str) -> str:
    try:
        return str(_iam(call).get_user(name).arn)
    except Exception:  # noqa: BLE001 - unknown to moto: the ARN IAM would still authorize against
        return f"arn:aws:iam::{call.account}:user/{name}"


def _role_arn(call: Call, name: str) -> str:
    try:
        return str(_iam(call).get_role(name).arn)
    except Exception:  # noqa: BLE001
        return f"arn:aws:iam::{call.account}:role/{name}"


def organization_of(account: str) -> tuple[str, str] | None:
    """(management account, organization id) of the organization ``account`` belongs to, if any."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account)
    management = owner[0] if owner else account
    org = organizations_backends[management]["aws"].org
    return (management, org.id) if org is not None else None


# --- one model per operation: the Service Authorization Reference's resource types and condition keys -------
def _any(call: Call) -> list[Request]:
    return [Request(call.action, "*")]


def _ec2_ids(param: str) -> Callable[[Call], list[Request]]:
    def model(call: Call) -> list[Request]:
        return [Request(call.action, _ec2_arn(call, i)) for i in call.params.get(param, [])]

    return model


def _modify_attribute(call: Call, target: str) -> list[Request]:
    out = [Request(call.action, _ec2_arn(call, str(call.params[target])))]
    out += [Request(call.action, _ec2_arn(call, g)) for g in call.params.get("Groups", [])]
    return out


def _tag_specifications(call: Call, created: str) -> list[Request]:
    """A create call with ``TagSpecifications``: the created resource with its request tags, and the implied
    ``ec2:CreateTags`` AWS authorizes on it (``ec2:CreateAction``)."""
    tags = [t for spec in call.params.get("TagSpecifications", []) for t in spec.get("Tags", [])]
    context = _request_tags(tags)
    out = [Request(call.action, created, context)]
    if tags:
        out.append(Request("ec2:CreateTags", created, {**context, "ec2:CreateAction": call.operation}))
    return out


def _create_security_group(call: Call) -> list[Request]:
    vpc = f"arn:aws:ec2:{call.region}:{call.account}:vpc/{call.params.get('VpcId', '')}"
    group = f"arn:aws:ec2:{call.region}:{call.account}:security-group/sg-new"
    return [Request(call.action, vpc), *_tag_specifications(call, group)]


def _create_snapshot(call: Call) -> list[Request]:
    volume = _ec2_arn(call, str(call.params["VolumeId"]))
    return [Request(call.action, volume), *_tag_specifications(call, f"arn:aws:ec2:{call.region}::snapshot/snap-new")]


def _group_rules(call: Call) -> list[Request]:
    group = str(call.params["GroupId"])
    return [Request(call.action, _ec2_arn(call, group), _resource_tags(_ec2_tags(call, group)))]


def _tags(call: Call) -> list[Request]:
    tags = call.params.get("Tags", [])
    context = _request_tags(tags) if call.operation == "CreateTags" else {"aws:TagKeys": [t["Key"] for t in tags]}
    return [
        Request(call.action, _ec2_arn(call, r), {**context, **_resource_tags(_ec2_tags(call, r))})
        for r in call.params.get("Resources", [])
    ]


def _asg(call: Call) -> list[Request]:
    name = call.params["AutoScalingGroupName"]
    uuid = "00000000-0000-0000-0000-000000000000"  # the group's id is part of its ARN; any id of this account
    return [Request(call.action, f"arn:aws:autoscaling:{call.region}:{call.account}:autoScalingGroup:{uuid}:"
                                 f"autoScalingGroupName/{name}")]  # fmt: skip


def _user(call: Call) -> list[Request]:
    name = call.params.get("UserName")
    if name is None:  # UpdateAccessKey without a user name acts on the caller: not the responder's way
        raise NotImplementedError(f"{call.action} without UserName")
    return [Request(call.action, _user_arn(call, str(name)))]


def _key_owner(call: Call) -> list[Request]:
    user = _iam(call).get_user_from_access_key_id(call.params["AccessKeyId"])
    name = user.name if user is not None else "unknown-key-owner"
    return [Request(call.action, _user_arn(call, name))]


def _policy_arn(call: Call) -> dict[str, Any]:
    return {"iam:PolicyARN": str(call.params["PolicyArn"])}


def _role(call: Call) -> list[Request]:
    return [Request(call.action, _role_arn(call, str(call.params["RoleName"])))]


def _table(call: Call) -> list[Request]:
    table = f"arn:aws:dynamodb:{call.region}:{call.account}:table/{call.params['TableName']}"
    index = call.params.get("IndexName")
    return [Request(call.action, f"{table}/index/{index}" if index else table)]


def _batch(call: Call) -> list[Request]:
    return [
        Request(call.action, f"arn:aws:dynamodb:{call.region}:{call.account}:table/{name}")
        for name in call.params.get("RequestItems", {})
    ]


def _assume_role(call: Call) -> list[Request]:
    role = str(call.params["RoleArn"])
    found = organization_of(role.split(":")[4])
    return [Request(call.action, role, {"aws:ResourceOrgID": found[1]} if found else {})]


def _ecs_tasks(call: Call) -> list[Request]:
    """Task ARNs as given, or ``task/CLUSTER/ID`` built from a cluster name or ARN and a task id."""
    cluster = str(call.params.get("cluster") or "default").rsplit("/", 1)[-1]
    return [
        Request(
            call.action, t if t.startswith("arn:") else f"arn:aws:ecs:{call.region}:{call.account}:task/{cluster}/{t}"
        )
        for t in call.params.get("tasks", [])
    ]


def _lambda_function(call: Call) -> list[Request]:
    name = str(call.params["FunctionName"])
    arn = name if name.startswith("arn:") else f"arn:aws:lambda:{call.region}:{call.account}:function:{name}"
    return [Request(call.action, arn)]


def _describe_account(call: Call) -> list[Request]:
    found = organization_of(call.account)
    management, org = found or (call.account, "o-none")
    return [Request(call.action, f"arn:aws:organizations::{management}:account/{org}/{call.params['AccountId']}")]


def _create_flow_logs(call: Call) -> list[Request]:
    """The resources logged, the new flow log, and - for CloudWatch Logs - the delivery role passed to the flow-logs
    service (``iam:PassRole`` with ``iam:PassedToService``, as the VPC User Guide documents)."""
    kind = {"VPC": "vpc", "Subnet": "subnet", "NetworkInterface": "network-interface"}[str(call.params["ResourceType"])]
    out = [Request(call.action, f"arn:aws:ec2:{call.region}:{call.account}:{kind}/{r}")
           for r in call.params.get("ResourceIds", [])]  # fmt: skip
    out.append(Request(call.action, f"arn:aws:ec2:{call.region}:{call.account}:vpc-flow-log/*"))
    role = call.params.get("DeliverLogsPermissionArn")
    if role:
        out.append(Request("iam:PassRole", str(role), {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}))
    return out


def _import_findings(call: Call) -> list[Request]:
    return [Request(call.action, str(f["ProductArn"])) for f in call.params.get("Findings", [])]


_MODELS: dict[str, Callable[[Call], list[Request]]] = {
    **dict.fromkeys(
        (
            "ec2:DescribeRegions",
            "ec2:DescribeInstances",
            "ec2:DescribeSpotInstanceRequests",
            "ec2:DescribeSpotFleetRequests",
            "ec2:DescribeFleets",
            "ec2:DescribeSecurityGroups",
            "autoscaling:DescribeAutoScalingGroups",
            "autoscaling:DescribeAutoScalingInstances",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
            "cloudtrail:LookupEvents",
            "ec2:DescribeFlowLogs",
            "organizations:ListAccounts",
            "ec2:DescribeNetworkInterfaces",
        ),
        _any,
    ),
    "ecs:DescribeTasks": _ecs_tasks,
    "lambda:PutFunctionConcurrency": _lambda_function,
    "ec2:CancelSpotFleetRequests": lambda c: [
        Request(c.action, f"arn:aws:ec2:{c.region}:{c.account}:spot-fleet-request/{i}")
        for i in c.params.get("SpotFleetRequestIds", [])
    ],
    "ec2:DescribeSpotFleetInstances": lambda c: [
        Request(c.action, f"arn:aws:ec2:{c.region}:{c.account}:spot-fleet-request/{c.params['SpotFleetRequestId']}")
    ],
    "ec2:DescribeFleetInstances": lambda c: [
        Request(c.action, f"arn:aws:ec2:{c.region}:{c.account}:fleet/{c.params['FleetId']}")
    ],
    "ec2:DeleteFleets": lambda c: [
        Request(c.action, f"arn:aws:ec2:{c.region}:{c.account}:fleet/{i}") for i in c.params.get("FleetIds", [])
    ],
    "ec2:CancelSpotInstanceRequests": lambda c: [
        Request(c.action, f"arn:aws:ec2:{c.region}:{c.account}:spot-instances-request/{i}")
        for i in c.params.get("SpotInstanceRequestIds", [])
    ],
    "ec2:TerminateInstances": _ec2_ids("InstanceIds"),
    "ec2:ModifyInstanceAttribute": lambda c: _modify_attribute(c, "InstanceId"),
    "ec2:ModifyNetworkInterfaceAttribute": lambda c: _modify_attribute(c, "NetworkInterfaceId"),
    "ec2:CreateSecurityGroup": _create_security_group,
    "ec2:CreateSnapshot": _create_snapshot,
    "ec2:AuthorizeSecurityGroupIngress": _group_rules,
    "ec2:AuthorizeSecurityGroupEgress": _group_rules,
    "ec2:RevokeSecurityGroupEgress": _group_rules,
    "ec2:CreateTags": _tags,
    "ec2:DeleteTags": _tags,
    "autoscaling:UpdateAutoScalingGroup": _asg,
    "autoscaling:DetachInstances": _asg,
    "elasticloadbalancing:DeregisterTargets": lambda c: [Request(c.action, str(c.params["TargetGroupArn"]))],
    "iam:GetAccessKeyLastUsed": _key_owner,
    **dict.fromkeys(
        (
            "iam:UpdateAccessKey",
            "iam:PutUserPolicy",
            "iam:GetUserPolicy",
            "iam:DeleteUserPolicy",
            "iam:DeleteLoginProfile",
        ),
        _user,
    ),
    **dict.fromkeys(
        ("iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy"), _role
    ),
    **dict.fromkeys(("iam:ListAttachedUserPolicies", "iam:ListAccessKeys", "iam:GetLoginProfile"), _user),
    "iam:ListAttachedRolePolicies": _role,
    **dict.fromkeys(
        ("iam:AttachUserPolicy", "iam:DetachUserPolicy"),
        lambda c: [Request(c.action, _user_arn(c, str(c.params["UserName"])), _policy_arn(c))],
    ),
    **dict.fromkeys(
        ("iam:AttachRolePolicy", "iam:DetachRolePolicy"),
        lambda c: [Request(c.action, _role_arn(c, str(c.params["RoleName"])), _policy_arn(c))],
    ),
    **dict.fromkeys(
        ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"),
        _table,
    ),
    **dict.fromkeys(("dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"), _batch),
    "sns:Publish": lambda c: [Request(c.action, str(c.params["TopicArn"]))],
    "sts:AssumeRole": _assume_role,
    "organizations:DescribeAccount": _describe_account,
    "securityhub:BatchImportFindings": _import_findings,
    "securityhub:BatchUpdateFindings": lambda c: [
        Request(c.action, f"arn:aws:securityhub:{c.region}:{c.account}:hub/default")
    ],
    "states:StartExecution": lambda c: [Request(c.action, str(c.params["stateMachineArn"]))],
    # what the attacker left behind, undone (actions/undo.py)
    "lambda:RemovePermission": lambda c: [
        Request(c.action, f"arn:aws:lambda:{c.region}:{c.account}:function:{c.params['FunctionName']}")
    ],
    "ec2:RevokeSecurityGroupIngress": _group_rules,
    "ec2:ModifySnapshotAttribute": lambda c: [Request(c.action, _ec2_arn(c, str(c.params["SnapshotId"])))],
    "ec2:ModifyImageAttribute": lambda c: [Request(c.action, _ec2_arn(c, str(c.params["ImageId"])))],
    "ec2:DisableSerialConsoleAccess": _any,
    "ec2:CreateFlowLogs": _create_flow_logs,
    "rolesanywhere:DisableTrustAnchor": lambda c: [
        Request(c.action, f"arn:aws:rolesanywhere:{c.region}:{c.account}:trust-anchor/{c.params['trustAnchorId']}")
    ],
    # a left-behind target's tags, read before its undo (left_behind_tags.py)
    "ec2:DescribeTags": _any,
    "rds:ListTagsForResource": lambda c: [Request(c.action, str(c.params["ResourceName"]))],
    "rolesanywhere:ListTagsForResource": _any,  # no resource type (parliament's Service Authorization Reference)
    "iam:ListRoleTags": _role,
    "cloudtrail:ListTags": lambda c: [Request(c.action, str(a)) for a in c.params.get("ResourceIdList", [])],
    "rds:ModifyDBSnapshotAttribute": lambda c: [
        Request(c.action, f"arn:aws:rds:{c.region}:{c.account}:snapshot:{c.params['DBSnapshotIdentifier']}")
    ],
    "rds:ModifyDBClusterSnapshotAttribute": lambda c: [
        Request(
            c.action, f"arn:aws:rds:{c.region}:{c.account}:cluster-snapshot:{c.params['DBClusterSnapshotIdentifier']}"
        )
    ],
}

from .authorization_kinds import MODELS as _KIND_MODELS  # noqa: E402 - the kinds beyond EC2 (they import Request)

_MODELS.update(_KIND_MODELS)
_MODELS.update(_guard_models())
