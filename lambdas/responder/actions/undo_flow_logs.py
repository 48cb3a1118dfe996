"""Undo ``ec2:DeleteFlowLogs`` by the chain (Stratus Red Team ``defense-evasion.vpc-remove-flow-logs``: the VPC's
traffic no longer recorded).

Beyond the contract's table, kept conservative: a deleted flow log is created again only as it was, from its own
``CreateFlowLogs`` record in CloudTrail's event history (90 days before the deletion; the record's response names
the flow log id): the same resource, traffic type, log group or destination, delivery role, format and
aggregation interval. Nothing of the team's is modified (a flow log is a new resource beside the VPC). Listed for a
human instead, with why:
  * its creation is not in the event history (older than 90 days, or unreadable);
  * it was created together with other resources in one call (which id was whose is not in the record);
  * it published to Amazon S3 or Firehose: creating such a flow log needs ``logs:CreateLogDelivery`` on every
    resource, a write the responder is never granted on ``*``;
  * the chain created it itself (nothing of the team's to put back).
``deleted_ids`` and ``creation_of`` are pure; the action checks first that no equal flow log exists already (a
retry, or the team was faster) and sends a client token, so AWS never creates it twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..aws import AWS_ERRORS, describe_error
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from ..core.timeutil import parse_time
from .base import Action, ActionName, Words, register

EVENT = "DeleteFlowLogs"
HISTORY = ("CreateFlowLogs",)  # read in the region of the deletion
FLOW_LOG_SERVICE = "vpc-flow-logs.amazonaws.com"
EC2_SUBNET = cap.arn("ec2", "subnet/*")
VPC_FLOW_LOG = cap.arn("ec2", "vpc-flow-log/*")
_RESOURCE_TYPES = {"VPC", "Subnet", "NetworkInterface"}
_COPIED = ("LogDestination", "LogGroupName", "DeliverLogsPermissionArn", "LogFormat")


def contents(value: Any) -> list[str]:
    """EC2 records a request's lists as XML made JSON: ``{"content": "fl-...", "tag": 1}``, a list of them, or a
    plain ``{"item": ...}`` set; the values, in order."""
    if isinstance(value, list):
        return [v for item in value for v in contents(item)]
    if isinstance(value, Mapping):
        if "content" in value:
            return [str(value["content"])]
        if "item" in value:
            return contents(value["item"])
        return []
    return [str(value)] if value not in (None, "") else []


def deleted_ids(request: Mapping[str, Any]) -> list[str]:
    """The flow log ids a DeleteFlowLogs record deleted. Pure."""
    inner = request.get("DeleteFlowLogsRequest")
    inner = inner if isinstance(inner, Mapping) else request
    return contents(inner.get("FlowLogId", inner.get("flowLogIds")))


def _created(detail: Mapping[str, Any]) -> list[str]:
    response = detail.get("responseElements") or {}
    inner = response.get("CreateFlowLogsResponse", response) if isinstance(response, Mapping) else {}
    return contents(inner.get("flowLogIdSet")) if isinstance(inner, Mapping) else []


def creation_of(
    records: Iterable[Mapping[str, Any]], flow_log_id: str, before: datetime | None, chain_keys: Iterable[str]
) -> tuple[dict[str, Any] | None, str]:
    """How to create ``flow_log_id`` again (CreateFlowLogs arguments) from its creation in ``records``, and what was
    found; arguments None when it is for a human (the text says why). Pure."""
    for detail in records:
        when = parse_time(detail.get("eventTime"))
        if (
            detail.get("errorCode")
            or detail.get("eventName") != "CreateFlowLogs"
            or flow_log_id not in _created(detail)
        ):
            continue
        if before is not None and when is not None and when > before:
            continue
        source = f"CreateFlowLogs at {detail.get('eventTime')}"
        if (detail.get("userIdentity") or {}).get("accessKeyId") in set(chain_keys):
            return None, f"created by the chain itself ({source}): nothing of the team's to put back"
        request = (detail.get("requestParameters") or {}).get("CreateFlowLogsRequest") or {}
        resources = contents(request.get("ResourceId"))
        kind = str(request.get("ResourceType") or "")
        destination = str(request.get("LogDestinationType") or "cloud-watch-logs")
        if len(resources) != 1 or kind not in _RESOURCE_TYPES:
            return None, f"created with {len(resources)} {kind or 'unknown'} resources in one call ({source}): " \
                         "which flow log was whose is not in the record; create it again by hand"  # fmt: skip
        if destination != "cloud-watch-logs" or not request.get("DeliverLogsPermissionArn"):
            return None, f"it published to {destination} ({source}): create it again by hand (the responder may not " \
                         "grant itself log delivery on every resource)"  # fmt: skip
        args: dict[str, Any] = {"ResourceIds": resources, "ResourceType": kind,
                                "TrafficType": str(request.get("TrafficType") or "ALL"),
                                "LogDestinationType": destination}  # fmt: skip
        args.update({k: str(request[k]) for k in _COPIED if request.get(k)})
        if request.get("MaxAggregationInterval"):
            args["MaxAggregationInterval"] = int(request["MaxAggregationInterval"])
        target = args.get("LogDestination") or args.get("LogGroupName")
        return (
            args,
            f"created again as {source} made it: {kind} {resources[0]}, {args['TrafficType']} traffic to {target}",
        )
    return None, "its CreateFlowLogs is not in the event history (90 days): create it again by hand"


def _same(flow_log: Mapping[str, Any], args: Mapping[str, Any]) -> bool:
    if flow_log.get("TrafficType") != args.get("TrafficType"):
        return False
    if args.get("LogDestination"):
        return bool(flow_log.get("LogDestination") == args["LogDestination"])
    return bool(flow_log.get("LogGroupName") == args.get("LogGroupName"))


@register
class RecreateFlowLog(Action):
    """Create again a VPC flow log the chain deleted (ec2:DeleteFlowLogs), as its own CreateFlowLogs made it."""

    name = ActionName.RECREATE_FLOW_LOG
    service = "ec2"
    grants = (
        cap.Grant(("ec2:DescribeFlowLogs",)),  # no resource type (Service Authorization Reference)
        cap.Grant(("ec2:CreateFlowLogs",), (cap.EC2_VPC, EC2_SUBNET, cap.EC2_NETWORK_INTERFACE, VPC_FLOW_LOG)),
        cap.Grant(("iam:PassRole",), (cap.IAM_ROLE,), (("StringEquals", "iam:PassedToService", (FLOW_LOG_SERVICE,)),)),
    )
    phase = 15
    words = Words("VPC flow log", "VPC flow logs", "created again", "to create again", short="created again")

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return [self._one(client, step) for step in steps]

    @staticmethod
    def _one(client: Any, step: Step) -> Outcome:
        args = json.loads(str(step.params["create"]))
        try:
            found = client.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": args["ResourceIds"]}])
            same = [f["FlowLogId"] for f in found.get("FlowLogs", []) if _same(f, args)]
            if same:  # a retry, or the team was faster: never a second one
                return step.outcome("skipped", f"flow log {', '.join(same)} already logs the same: none created")
            made = client.create_flow_logs(**args, ClientToken=str(step.params["token"]))
        except AWS_ERRORS as exc:
            return step.outcome("failed", describe_error(exc))
        refused = made.get("Unsuccessful") or []
        if refused or not made.get("FlowLogIds"):
            error = (refused[0].get("Error") if refused else None) or {}
            return step.outcome("failed", f"{error.get('Code')}: {error.get('Message')}"[:300])
        return step.outcome("done", f"flow log {', '.join(made['FlowLogIds'])} created for {args['ResourceIds'][0]}")
