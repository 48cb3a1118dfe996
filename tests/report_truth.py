"""The report-truth check: every claim of a report and of its notification, compared with emulated AWS.

Contract, "Truth of the report": an action is ``done`` only when AWS accepted it; the subject and the
summary never say contained, deactivated, Inactive, revoked or isolated about a step that is not done;
every failed step is named. ``assert_truthful`` fails on the first claim AWS does not confirm.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from responder.actions.iam import QUARANTINE_POLICY_NAME, REVOKE_SESSIONS_POLICY_NAME
from responder.actions.isolation import ISOLATED_TAG
from responder.actions.role_session import REVOKE_SESSION_POLICY_NAME
from responder.actions.undo import REVOKE_SINCE_POLICY_NAME

from compromise_responder.tools.emulator import EmulatedAws, Notification
from tests.report_truth_capacity import CAPACITY_CONFIRM, CAPACITY_STOPS

QUARANTINE_GROUP = "compromise-responder-quarantine"
# word in the human text -> the actions that must be done (and confirmed) for it to be said
CLAIM_WORDS: dict[str, tuple[str, ...]] = {
    "deactivated": ("deactivate-access-key",),
    "Inactive": ("deactivate-access-key",),
    "revoked": (
        "revoke-role-sessions",
        "revoke-session",
        "revoke-ingress",
        "restore-trust-policy",
    ),
    "isolated": ("isolate-instance", "isolate-task"),
    "throttled": ("throttle-function",),
    "quarantined": ("quarantine-user", "quarantine-role"),
    "released": ("release-user", "release-role", "release-instance"),
    "removed": (
        "release-user",
        "release-role",
        "delete-login-profile",
        "remove-lambda-permission",
        "remove-snapshot-share",
        "remove-image-share",
        "remove-db-snapshot-share",
        "restore-trust-policy",
    ),
}
ID_IN_TEXT = re.compile(r"\b((?:AKIA|ASIA)[A-Z0-9]{16}|i-[0-9a-f]{8,17}|sir-[0-9a-z]+|sfr-[0-9a-f-]+)\b")


def assert_truthful(aws: EmulatedAws, report: dict[str, Any], notes: Iterable[Notification] = ()) -> None:
    """Every ``done`` action confirmed by AWS state; every claim word backed by a done step; failures named."""
    for action in report.get("actions", []):
        if action["status"] == "done":
            assert confirmed(aws, action), f"report says done, AWS disagrees: {action}"
        if report.get("mode") == "dry-run":
            assert action["status"] != "done", f"a dry-run reports a change: {action}"
    regions = report.get("regions") or {}
    for region, status in regions.items():
        if status == "contained" and report.get("mode") != "dry-run":
            assert any(
                a["region"] == region and a["status"] == "done" and a["action"] in STOPS
                for a in report.get("actions", [])
            ), f"region {region} reported contained with nothing stopped"
    for note in notes:
        if note.report.get("incidentId") != report.get("incidentId"):
            continue
        assert_text_truthful(aws, note.subject, note.summary, note.report)


STOPS = {
    "terminate-instance",
    "cancel-spot-request",
    "cancel-spot-fleet",
    "delete-ec2-fleet",
    "scale-asg-to-zero",
    "isolate-instance",
    "throttle-function",
    *CAPACITY_STOPS,
}


def assert_text_truthful(aws: EmulatedAws, subject: str, summary: str, report: dict[str, Any]) -> None:
    actions = report.get("actions", [])
    done = {(a["target"], a["action"]) for a in actions if a["status"] == "done"}  # a target has several steps
    text = f"{subject}\n{summary}"
    for line in text.splitlines():
        for word, kinds in CLAIM_WORDS.items():
            if not re.search(rf"\b{word}\b", line):
                continue
            assert any(a["action"] in kinds and a["status"] == "done" for a in actions), (
                f"the text says {word!r} but no {kinds} step is done: {line.strip()!r}"
            )
            for target in ID_IN_TEXT.findall(line):
                if any(a["target"] == target and a["action"] in kinds for a in actions):
                    assert any((target, kind) in done for kind in kinds), (
                        f"the text says {word!r} about {target}, whose step is not done: {line.strip()!r}"
                    )
    if "contained" in subject and report.get("mode") != "dry-run":
        assert not report.get("failures"), f"subject says contained with failures: {subject!r}"
    for action in actions:
        if action["status"] == "failed":
            assert action["target"] in summary, f"failed step not named in the summary: {action}"
    for region, status in (report.get("regions") or {}).items():
        if status == "failed":
            assert region in summary, f"failed region {region} not named in the summary"
    assert len(subject) < 100 and all(32 <= ord(c) < 127 for c in subject), f"subject not SNS-safe: {subject!r}"


def confirmed(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    check = CONFIRM.get(action["action"])
    return True if check is None else check(aws, action)


def _key_inactive(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    iam = aws.client("iam")
    for user in iam.list_users()["Users"]:
        for key in iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]:
            if key["AccessKeyId"] == action["target"]:
                return key["Status"] == "Inactive"
    return False


def _user_policy(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    return QUARANTINE_POLICY_NAME in aws.user_policies(action["target"])


def _role_policy(name: str) -> Callable[[EmulatedAws, dict[str, Any]], bool]:
    return lambda aws, action: name in aws.role_policies(action["target"])


def _no_login_profile(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    try:
        aws.client("iam").get_login_profile(UserName=action["target"])
    except aws.client("iam").exceptions.NoSuchEntityException:
        return True
    return False


def _instance(aws: EmulatedAws, action: dict[str, Any]) -> dict[str, Any] | None:
    ec2 = aws.client("ec2", action["region"])
    for reservation in ec2.describe_instances(InstanceIds=[action["target"]])["Reservations"]:
        for instance in reservation["Instances"]:
            return dict(instance)
    return None


def _terminated(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    instance = _instance(aws, action)
    return instance is not None and instance["State"]["Name"] in ("shutting-down", "terminated")


def _unprotected(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    return action["target"] not in aws.protection.protected  # moto reads the attribute back false: the gap filler


def _spot_request_gone(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    # moto forgets a cancelled request; AWS lists it as cancelled
    return aws.spot_request_states(action["region"]).get(action["target"], "cancelled") not in ("open", "active")


def _spot_fleet_cancelled(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    ec2 = aws.client("ec2", action["region"])
    configs = ec2.describe_spot_fleet_requests(SpotFleetRequestIds=[action["target"]])["SpotFleetRequestConfigs"]
    return all(c["SpotFleetRequestState"].startswith("cancelled") for c in configs)


def _fleet_deleted(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    fleets = aws.client("ec2", action["region"]).describe_fleets(FleetIds=[action["target"]])["Fleets"]
    return all(f["FleetState"].startswith("deleted") for f in fleets)


def _asg_at_zero(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    groups = aws.client("autoscaling", action["region"]).describe_auto_scaling_groups(
        AutoScalingGroupNames=[action["target"]]
    )["AutoScalingGroups"]
    return bool(groups) and all(g["DesiredCapacity"] == g["MinSize"] == g["MaxSize"] == 0 for g in groups)


def _group_names(aws: EmulatedAws, action: dict[str, Any]) -> tuple[set[str], set[str]] | None:
    """(names of the instance's security groups over every interface, its tag keys); None when it is gone."""
    instance = _instance(aws, action)
    if instance is None:
        return None
    groups = {g["GroupId"] for eni in instance["NetworkInterfaces"] for g in eni["Groups"]}
    described = aws.client("ec2", action["region"]).describe_security_groups(GroupIds=sorted(groups))
    return {g["GroupName"] for g in described["SecurityGroups"]}, {t["Key"] for t in instance.get("Tags", [])}


def _isolated(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = _group_names(aws, action)
    return found is not None and found[0] == {QUARANTINE_GROUP} and ISOLATED_TAG in found[1]


def _snapshot_exists(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    snaps = aws.client("ec2", action["region"]).describe_snapshots(OwnerIds=["self"])["Snapshots"]
    return any(s["VolumeId"] == action["target"] for s in snaps)


def _volumes_kept(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    instance = _instance(aws, action)
    disks = (instance or {}).get("BlockDeviceMappings", [])
    return bool(disks) and not any(d["Ebs"]["DeleteOnTermination"] for d in disks)


def _protected(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    ec2 = aws.client("ec2", action["region"])
    stop = ec2.describe_instance_attribute(InstanceId=action["target"], Attribute="instanceInitiatedShutdownBehavior")
    return action["target"] in aws.protection.protected and stop["InstanceInitiatedShutdownBehavior"]["Value"] == "stop"


def _detached(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = aws.client("autoscaling", action["region"]).describe_auto_scaling_instances(InstanceIds=[action["target"]])
    return not found["AutoScalingInstances"]


def _deregistered(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    """Not routed to any more: absent, or draining (AWS, for the deregistration delay; moto forgets at once)."""
    health = aws.client("elbv2", action["region"]).describe_target_health(TargetGroupArn=action["target"])
    return not [
        t
        for t in health["TargetHealthDescriptions"]
        if t["Target"]["Id"] == action["instanceId"] and t["TargetHealth"]["State"] != "draining"
    ]


def _tagged(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    keys = {t["Key"] for t in (_instance(aws, action) or {}).get("Tags", [])}
    return set(action["keys"].split(",")) <= keys


def _released(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = _group_names(aws, action)
    return found is not None and QUARANTINE_GROUP not in found[0]


def _incident_closed(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    """The incident item says closed (with who and why), and none of its pointers is still open."""
    table = aws.client("dynamodb")
    items = table.query(
        TableName=aws.tables["incidents"],
        KeyConditionExpression="pk = :p AND sk = :s",
        ExpressionAttributeValues={":p": {"S": f"incident#{action['target']}"}, ":s": {"S": "incident"}},
    )["Items"]
    pointers = table.scan(
        TableName=aws.tables["incidents"],
        FilterExpression="sk = :s AND incidentId = :i",
        ExpressionAttributeValues={":s": {"S": f"incident#{action['target']}"}, ":i": {"S": action["target"]}},
    )["Items"]
    return (
        len(items) == 1
        and items[0]["status"]["S"] == "closed"
        and bool(items[0]["closedBy"]["S"] and items[0]["closeReason"]["S"])
        and all(p["status"]["S"] == "closed" for p in pointers)
    )


def _no_policy(kind: str) -> Callable[[EmulatedAws, dict[str, Any]], bool]:
    def check(aws: EmulatedAws, action: dict[str, Any]) -> bool:
        policies = aws.user_policies(action["target"]) if kind == "user" else aws.role_policies(action["target"])
        return QUARANTINE_POLICY_NAME not in policies

    return check


def _task_isolated(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    """Every network interface of the task in the quarantine group, the way back recorded on it."""
    cluster = action["target"].split("/")[1]
    tasks = aws.client("ecs", action["region"]).describe_tasks(cluster=cluster, tasks=[action["target"]])["tasks"]
    enis = [d["value"] for t in tasks for a in t.get("attachments", []) for d in a["details"]
            if d["name"] == "networkInterfaceId"]  # fmt: skip
    if not enis:
        return False
    ec2 = aws.client("ec2", action["region"])
    for eni in ec2.describe_network_interfaces(NetworkInterfaceIds=enis)["NetworkInterfaces"]:
        names = {g["GroupName"] for g in ec2.describe_security_groups(GroupIds=[g["GroupId"] for g in eni["Groups"]])[
            "SecurityGroups"]}  # fmt: skip
        if names != {QUARANTINE_GROUP} or ISOLATED_TAG not in {t["Key"] for t in eni.get("TagSet", [])}:
            return False
    return True


def _throttled(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = aws.client("lambda", action["region"]).get_function_concurrency(FunctionName=action["target"])
    return found.get("ReservedConcurrentExecutions") == 0


def _session_cut(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    """The role's revoke-session policy denies every session the step names."""
    document = aws.role_policies(action["target"]).get(REVOKE_SESSION_POLICY_NAME) or {}
    denied: set[str] = set()
    for statement in document.get("Statement", []):
        ids = statement["Condition"]["StringEquals"]["aws:userid"]
        denied |= {ids} if isinstance(ids, str) else set(ids)
    return bool(denied) and _ids(action, "sessionIds") <= denied


# --- the credential chain and what it left behind (actions/undo.py) ---------------------------------------
def _ids(action: dict[str, Any], key: str) -> set[str]:
    return {v for v in str(action.get(key) or "").split(",") if v}


def _no_statement(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    try:
        raw = aws.client("lambda", action["region"]).get_policy(FunctionName=action["target"])["Policy"]
    except Exception:  # noqa: BLE001 - no policy left at all: nothing of the attacker's either
        return True
    return not _ids(action, "statementIds") & {s["Sid"] for s in json.loads(raw)["Statement"]}


def _rules_revoked(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    group = aws.client("ec2", action["region"]).describe_security_groups(GroupIds=[action["target"]])
    present = {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r["CidrIp"])
               for p in group["SecurityGroups"][0]["IpPermissions"] for r in p.get("IpRanges", [])}  # fmt: skip
    wanted = {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r["CidrIp"])
              for p in json.loads(action["ipPermissions"]) for r in p.get("IpRanges", [])}  # fmt: skip
    return not present & wanted


def _snapshot_unshared(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = aws.client("ec2", action["region"]).describe_snapshot_attribute(
        SnapshotId=action["target"], Attribute="createVolumePermission"
    )["CreateVolumePermissions"]
    return not _ids(action, "userIds") & {p.get("UserId") for p in found}


def _image_unshared(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = aws.client("ec2", action["region"]).describe_image_attribute(
        ImageId=action["target"], Attribute="launchPermission"
    )["LaunchPermissions"]
    return not _ids(action, "userIds") & {p.get("UserId") for p in found}


def _db_snapshot_unshared(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    rds = aws.client("rds", action["region"])
    if action.get("cluster") == "true":
        result = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=action["target"])
        attributes = result["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
    else:
        result = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier=action["target"])
        attributes = result["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
    shared = {v for a in attributes if a["AttributeName"] == "restore" for v in a.get("AttributeValues", [])}
    return not _ids(action, "userIds") & shared


def _serial_console_off(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    return not aws.client("ec2", action["region"]).get_serial_console_access_status()["SerialConsoleAccessEnabled"]


def _anchor_disabled(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    return aws.roles_anywhere.anchors[action["target"]]["enabled"] is False


def _selectors_put_back(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    """The trail's selectors are exactly what the step put (actions/undo_trail_selectors.py)."""
    wanted = json.loads(action["selectors"])
    found = aws.client("cloudtrail", action["region"]).get_event_selectors(TrailName=action["target"])
    return all(found.get(kind) == selectors for kind, selectors in wanted.items())


def _trail_again(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    """The trail exists again, writing to the bucket it was made with, logging when the plan said so."""
    plan = json.loads(action["recreate"])
    trails = aws.client("cloudtrail", action["region"])
    found = trails.get_trail(Name=action["target"])["Trail"]
    logging = trails.get_trail_status(Name=action["target"])["IsLogging"]
    return found["S3BucketName"] == plan["create"]["S3BucketName"] and logging == plan["start"]


def _flow_log_again(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    """A flow log of the same resource logs the same traffic to the same place again (actions/undo_flow_logs.py)."""
    args = json.loads(action["create"])
    found = aws.client("ec2", action["region"]).describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": args["ResourceIds"]}]
    )["FlowLogs"]
    return any(
        f["TrafficType"] == args["TrafficType"]
        and f.get("LogDestination") == args.get("LogDestination")
        and f.get("DeliverLogsPermissionArn") == args.get("DeliverLogsPermissionArn")
        for f in found
    )


# --- "Guarding the responder": what a tamper call switched off, switched back on (actions/restore.py) ------
def _logging(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    return bool(aws.client("cloudtrail", action["region"]).get_trail_status(Name=action["target"])["IsLogging"])


def _detector_enabled(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = aws.client("guardduty", action["region"]).get_detector(DetectorId=action["target"])
    return found.get("Status") == "ENABLED"


def _rule_enabled(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    return aws.client("events", action["region"]).describe_rule(Name=action["target"]).get("State") == "ENABLED"


def _rule_targets(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    return bool(aws.client("events", action["region"]).list_targets_by_rule(Rule=action["target"]).get("Targets"))


CONFIRM: dict[str, Callable[[EmulatedAws, dict[str, Any]], bool]] = {
    "restore-trust-policy": _role_policy(REVOKE_SINCE_POLICY_NAME),
    "remove-lambda-permission": _no_statement,
    "revoke-ingress": _rules_revoked,
    "remove-snapshot-share": _snapshot_unshared,
    "remove-image-share": _image_unshared,
    "remove-db-snapshot-share": _db_snapshot_unshared,
    "disable-serial-console": _serial_console_off,
    "disable-trust-anchor": _anchor_disabled,
    "restore-event-selectors": _selectors_put_back,
    "recreate-flow-log": _flow_log_again,
    "recreate-trail": _trail_again,
    "start-logging": _logging,
    "restart-trail-logging": _logging,
    "enable-detector": _detector_enabled,
    "enable-rule": _rule_enabled,
    "put-rule-targets": _rule_targets,
    **CAPACITY_CONFIRM,
    "deactivate-access-key": _key_inactive,
    "quarantine-user": _user_policy,
    "quarantine-role": _role_policy(QUARANTINE_POLICY_NAME),
    "revoke-role-sessions": _role_policy(REVOKE_SESSIONS_POLICY_NAME),
    "delete-login-profile": _no_login_profile,
    "terminate-instance": _terminated,
    "disable-termination-protection": _unprotected,
    "cancel-spot-request": _spot_request_gone,
    "cancel-spot-fleet": _spot_fleet_cancelled,
    "delete-ec2-fleet": _fleet_deleted,
    "scale-asg-to-zero": _asg_at_zero,
    "isolate-instance": _isolated,
    "snapshot-volume": _snapshot_exists,
    "keep-volumes-on-termination": _volumes_kept,
    "enable-termination-protection": _protected,
    "detach-from-asg": _detached,
    "deregister-from-target-group": _deregistered,
    "tag-isolated-instance": _tagged,
    "release-instance": _released,
    "release-user": _no_policy("user"),
    "release-role": _no_policy("role"),
    "close-incident": _incident_closed,
    "isolate-task": _task_isolated,
    "throttle-function": _throttled,
    "revoke-session": _session_cut,
}


def incident_items(aws: EmulatedAws, incident_id: str) -> dict[str, dict[str, Any]]:
    """The incident record as stored: every item of the incident (the incident, its attempts ...) by sort key."""
    items = aws.client("dynamodb").query(
        TableName=aws.tables["incidents"],
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"incident#{incident_id}"}},
    )["Items"]
    return {i["sk"]["S"]: i for i in items}
