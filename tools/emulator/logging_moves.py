"""What an attacker does to the account's logs, and what the team did to them before: each call goes to moto (or the
gap filler below) and into the emulated CloudTrail in the shape AWS writes it - Stratus Red Team's published
detonation records (``PutEventSelectors``, ``DeleteTrail``, ``DeleteFlowLogs``, ``DeleteResolverQueryLogConfig``; its
``cloudtrail-lifecycle-rule`` record of ``PutBucketLifecycle`` as detection rules quote it), EC2's XML-as-JSON for
``CreateFlowLogs`` (AWS's CloudTrail data dictionary example).

Gap filled: moto 5.2 has no ``DeleteResolverQueryLogConfig`` nor ``DisassociateResolverQueryLogConfig``:
``ResolverQueryLogs`` answers them on moto's own Route 53 Resolver state, refusing - as AWS does - to delete a
configuration that still has VPCs associated.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from .actor import Actor
from .chain import record
from .cloudtrail import EC2_XMLNS
from .hooks import Call, error, reply

S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
# Stratus Red Team cloudtrail-event-selectors: no management event, data events of nothing
STRATUS_SELECTORS = [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False, "ExcludeManagementEventSources": [],
                      "DataResources": [{"Type": "AWS::S3::Object", "Values": []},
                                        {"Type": "AWS::Lambda::Function", "Values": []}]}]  # fmt: skip
# Stratus Red Team cloudtrail-lifecycle-rule: every log expires after a day
STRATUS_LIFECYCLE = [{"ID": "nuke-cloudtrail-logs-after-1-day", "Status": "Enabled", "Expiration": {"Days": 1},
                      "Filter": {"Prefix": "*"}}]  # fmt: skip


def camel(value: Any) -> Any:
    """The API's members as CloudTrail writes a JSON-protocol request: ``ReadWriteType`` -> ``readWriteType``."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def put_event_selectors(actor: Actor, region: str, trail: str, selectors: list[dict[str, Any]] | None = None,
                        *, at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """``cloudtrail:PutEventSelectors`` (default: Stratus ``cloudtrail-event-selectors``'s selectors)."""
    selectors = STRATUS_SELECTORS if selectors is None else selectors
    made = actor.aws.client("cloudtrail", region).put_event_selectors(TrailName=trail, EventSelectors=selectors)
    return record(actor, "PutEventSelectors", "cloudtrail.amazonaws.com", region,
                  {"eventSelectors": camel(selectors), "trailName": trail},
                  {"eventSelectors": camel(selectors), "trailARN": made["TrailARN"]}, at)  # fmt: skip


def create_trail(actor: Actor, region: str, name: str, bucket: str, *, at: datetime | None = None) -> dict[str, Any]:
    """``cloudtrail:CreateTrail`` (multi-region), then ``StartLogging`` - as the team sets a trail up."""
    trails = actor.aws.client("cloudtrail", region)
    made = trails.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=True)
    trails.start_logging(Name=name)
    response = {"name": name, "s3BucketName": bucket, "isMultiRegionTrail": True, "trailARN": made["TrailARN"],
                "includeGlobalServiceEvents": True, "logFileValidationEnabled": False,
                "isOrganizationTrail": False}  # fmt: skip
    return record(actor, "CreateTrail", "cloudtrail.amazonaws.com", region,
                  {"name": name, "s3BucketName": bucket, "isMultiRegionTrail": True}, response, at)  # fmt: skip


def delete_trail(actor: Actor, region: str, name: str, *, at: datetime | None = None) -> dict[str, Any]:
    """``cloudtrail:DeleteTrail`` (Stratus ``cloudtrail-delete``), recorded as its detonation record shows it."""
    actor.aws.client("cloudtrail", region).delete_trail(Name=name)
    return record(actor, "DeleteTrail", "cloudtrail.amazonaws.com", region, {"name": name}, None, at)


def _lifecycle_xml(rules: list[dict[str, Any]]) -> dict[str, Any]:
    """PutBucketLifecycleConfiguration's rules as CloudTrail writes the XML: one ``Rule`` object (a list when several),
    ``Transition`` for each of ``Transitions``."""
    out = []
    for rule in rules:
        item = {k: v for k, v in rule.items() if k not in ("Transitions", "NoncurrentVersionTransitions")}
        if rule.get("Transitions"):
            item["Transition"] = rule["Transitions"] if len(rule["Transitions"]) > 1 else rule["Transitions"][0]
        out.append(item)
    return {"Rule": out[0] if len(out) == 1 else out, "xmlns": S3_XMLNS}


def put_bucket_lifecycle(actor: Actor, region: str, bucket: str, rules: list[dict[str, Any]] | None = None,
                         *, at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """``s3:PutBucketLifecycle`` (default: Stratus ``cloudtrail-lifecycle-rule``'s one-day expiration)."""
    rules = STRATUS_LIFECYCLE if rules is None else rules
    actor.aws.client("s3", region).put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": rules}
    )
    request = {"Host": f"{bucket}.s3.{region}.amazonaws.com", "LifecycleConfiguration": _lifecycle_xml(rules),
               "bucketName": bucket, "lifecycle": ""}  # fmt: skip
    event = record(actor, "PutBucketLifecycle", "s3.amazonaws.com", region, request, None, at)
    event["detail"]["resources"] = [{"ARN": f"arn:aws:s3:::{bucket}", "accountId": actor.identity.account,
                                     "type": "AWS::S3::Bucket"}]  # fmt: skip
    return event


def create_flow_log(actor: Actor, region: str, vpc: str, log_group_arn: str, role_arn: str, traffic: str = "REJECT",
                    *, at: datetime | None = None) -> str:  # fmt: skip
    """``ec2:CreateFlowLogs`` of one VPC to CloudWatch Logs (as Stratus ``vpc-remove-flow-logs``'s warm-up does)."""
    made = actor.aws.client("ec2", region).create_flow_logs(
        ResourceIds=[vpc], ResourceType="VPC", TrafficType=traffic, LogDestinationType="cloud-watch-logs",
        LogDestination=log_group_arn, DeliverLogsPermissionArn=role_arn, MaxAggregationInterval=600,
    )  # fmt: skip
    [flow_log] = made["FlowLogIds"]
    token = str(uuid.uuid4())
    request = {"CreateFlowLogsRequest": {"ResourceId": {"tag": 1, "content": vpc}, "MaxAggregationInterval": 600,
                                         "ResourceType": "VPC", "LogDestination": log_group_arn,
                                         "LogDestinationType": "cloud-watch-logs", "TrafficType": traffic,
                                         "DeliverLogsPermissionArn": role_arn, "ClientToken": token}}  # fmt: skip
    response = {"CreateFlowLogsResponse": {"xmlns": EC2_XMLNS, "requestId": str(uuid.uuid4()), "clientToken": token,
                                           "unsuccessful": "", "flowLogIdSet": {"item": flow_log}}}  # fmt: skip
    record(actor, "CreateFlowLogs", "ec2.amazonaws.com", region, request, response, at)
    return str(flow_log)


def delete_flow_logs(actor: Actor, region: str, flow_logs: list[str], *, at: datetime | None = None) -> dict[str, Any]:
    """``ec2:DeleteFlowLogs`` (Stratus ``vpc-remove-flow-logs``), recorded as its detonation record shows it."""
    actor.aws.client("ec2", region).delete_flow_logs(FlowLogIds=flow_logs)
    ids = [{"content": f, "tag": n} for n, f in enumerate(flow_logs, 1)]
    request = {"DeleteFlowLogsRequest": {"FlowLogId": ids[0] if len(ids) == 1 else ids}}
    response = {"DeleteFlowLogsResponse": {"requestId": str(uuid.uuid4()), "unsuccessful": "", "xmlns": EC2_XMLNS}}
    return record(actor, "DeleteFlowLogs", "ec2.amazonaws.com", region, request, response, at)


def disassociate_query_logging(actor: Actor, region: str, config: str, vpc: str,
                               *, at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """``route53resolver:DisassociateResolverQueryLogConfig`` (what AWS requires before the deletion)."""
    found = actor.aws.client("route53resolver", region).disassociate_resolver_query_log_config(
        ResolverQueryLogConfigId=config, ResourceId=vpc
    )["ResolverQueryLogConfigAssociation"]
    return record(actor, "DisassociateResolverQueryLogConfig", "route53resolver.amazonaws.com", region,
                  {"resolverQueryLogConfigId": config, "resourceId": vpc},
                  {"resolverQueryLogConfigAssociation": camel(found)}, at)  # fmt: skip


def delete_query_log_config(actor: Actor, region: str, config: str, *, at: datetime | None = None) -> dict[str, Any]:
    """``route53resolver:DeleteResolverQueryLogConfig`` (Stratus ``dns-delete-logs``)."""
    found = actor.aws.client("route53resolver", region).delete_resolver_query_log_config(
        ResolverQueryLogConfigId=config
    )["ResolverQueryLogConfig"]
    return record(actor, "DeleteResolverQueryLogConfig", "route53resolver.amazonaws.com", region,
                  {"originSequenceNumber": 0, "resolverQueryLogConfigId": config},
                  {"resolverQueryLogConfig": camel(found)}, at)  # fmt: skip


class ResolverQueryLogs:
    """Route 53 Resolver query logging's disassociation and deletion (moto lacks both), on moto's own state."""

    def __call__(self, call: Call) -> Any:
        if call.action not in (
            "route53resolver:DisassociateResolverQueryLogConfig",
            "route53resolver:DeleteResolverQueryLogConfig",
        ):
            return None
        from moto.route53resolver.models import route53resolver_backends

        backend = route53resolver_backends[call.account][call.region]
        config_id = str(call.params.get("ResolverQueryLogConfigId"))
        config = backend.resolver_query_log_configs.get(config_id)
        if config is None:
            return error("ResourceNotFoundException", f"Resolver query log config '{config_id}' does not exist", 400)
        associations = {
            k: a
            for k, a in backend.resolver_query_log_config_associations.items()
            if a.resolver_query_log_config_id == config_id
        }
        if call.operation == "DisassociateResolverQueryLogConfig":
            vpc = str(call.params.get("ResourceId"))
            found = next((k for k, a in associations.items() if a.resource_id == vpc), None)
            if found is None:
                return error("ResourceNotFoundException", f"'{vpc}' is not associated with '{config_id}'", 400)
            association = backend.resolver_query_log_config_associations.pop(found)
            config.association_count -= 1
            association.status = "DELETING"
            return reply(200, {"ResolverQueryLogConfigAssociation": association.description()})
        if associations:  # AWS: disassociate every VPC first
            return error("InvalidRequestException", "The query logging configuration still has associated VPCs", 400)
        del backend.resolver_query_log_configs[config_id]
        config.status = "DELETING"
        return reply(200, {"ResolverQueryLogConfig": config.description()})
