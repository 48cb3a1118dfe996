"""The credential chain (what the key became) and what the attacker left behind, through the real handlers, with
CloudTrail records in the shapes AWS writes them (Stratus Red Team's published detonation records)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from responder.actions.role_session import REVOKE_SESSION_POLICY_NAME
from responder.actions.undo import REVOKE_SINCE_POLICY_NAME
from responder.shell.entrypoint import IncompleteResponse

from compromise_responder.tools.emulator import EmulatedAws
from compromise_responder.tools.emulator.chain import (
    SessionIdentity,
    add_lambda_permission,
    assume_role,
    create_trust_anchor,
    enable_serial_console,
    get_federation_token,
    get_secret_value,
    get_session_token,
    open_port,
    put_bucket_policy,
    send_serial_console_key,
    share_db_snapshot,
    share_image,
    share_snapshot,
    stop_logging,
    update_trust,
)
from compromise_responder.tools.emulator.cloudtrail import envelope
from compromise_responder.tools.emulator.logging_moves import (
    STRATUS_LIFECYCLE,
    create_flow_log,
    create_trail,
    delete_flow_logs,
    delete_query_log_config,
    delete_trail,
    disassociate_query_logging,
    put_bucket_lifecycle,
    put_event_selectors,
)
from compromise_responder.tools.emulator.scenarios import BACKDOOR_KEY, LEAKED_KEY, TEAM_KEY, health_event, load_event
from compromise_responder.tools.iam_policy import evaluate
from tests.report_truth import assert_truthful, incident_items

SESSION_KEY = "ASIAIOSFODNN7EXAMPLE"  # the attacker's role session
TEAM_SESSION_KEY = "ASIATEAMSESS0EXAMPLE"  # the team's pipeline, same role
FEDERATION_KEY = "ASIAY34FZKBOKEXAMPLE"
SESSION_TOKEN_KEY = "ASIAI44QH8DHBEXAMPLE"  # the leaked key's own session token (its user's quarantine cuts it)
ATTACKER_ACCOUNT = "210987654321"
PARTNER_ACCOUNT = "111122223333"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
TRUST = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                              "Action": "sts:AssumeRole"}]}
)  # fmt: skip


@pytest.fixture
def aws():
    with EmulatedAws(regions=REGIONS) as emulated:
        yield emulated


def role_session_scene(aws: EmulatedAws) -> dict[str, Any]:
    """ci-deployer's leaked key assumes deploy-role (the team's pipeline uses it too), the session launches GPUs;
    the key makes a key for support-sync, which launches too and gets a federation token."""
    now = datetime.now(UTC)
    iam = aws.client("iam")
    role_id = iam.create_role(RoleName="deploy-role", AssumeRolePolicyDocument=TRUST)["Role"]["RoleId"]
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY, last_used=("sts", "us-east-1"))
    team = aws.actor(SessionIdentity("AssumedRole", "deploy-role", TEAM_SESSION_KEY, aws.account, session="pipeline",
                                     role_id=role_id))  # fmt: skip
    session = assume_role(attacker, "deploy-role", "x", SESSION_KEY, region="us-west-2", at=now - timedelta(minutes=40))
    rogue = session.run_instances("eu-west-1", "p3.16xlarge", 2, at=now - timedelta(minutes=35))
    teams = team.run_instances("eu-west-1", "p3.2xlarge", 1, at=now - timedelta(minutes=30))
    iam.create_user(UserName="support-sync")
    backdoor_key, _ = attacker.create_access_key("support-sync", key_id=BACKDOOR_KEY, at=now - timedelta(minutes=38))
    backdoor = aws.actor(type(attacker.identity)("IAMUser", "support-sync", backdoor_key, aws.account))
    backdoor_launch = backdoor.run_instances("us-west-2", "g4dn.12xlarge", 1, at=now - timedelta(minutes=33))
    get_federation_token(backdoor, "sync", FEDERATION_KEY, at=now - timedelta(minutes=32))
    get_session_token(attacker, SESSION_TOKEN_KEY, at=now - timedelta(minutes=31))
    return {"rogue": rogue, "team": teams, "backdoor": backdoor_launch, "session": session, "team_session": team,
            "attacker": attacker, "event": health_event(now - timedelta(minutes=20))}  # fmt: skip


def session_denied(aws: EmulatedAws, role: str, session_id: str) -> str:
    """What IAM decides for a call by the session ``session_id`` of ``role`` under the role's inline policies."""
    policies = list(aws.role_policies(role).values())
    return evaluate("ec2:RunInstances", "*", policies, context={"aws:userid": session_id})


def test_role_session_and_derived_keys_are_cut_and_what_they_launched_is_stopped(aws, invoke):
    scene = role_session_scene(aws)

    report = invoke("health", scene["event"])

    assert_truthful(aws, report, aws.notifications())
    session_id = scene["session"].identity.session_id
    team_id = scene["team_session"].identity.session_id
    revoke = aws.role_policies("deploy-role")[REVOKE_SESSION_POLICY_NAME]
    assert revoke["Statement"][0]["Condition"] == {"StringEquals": {"aws:userid": [session_id]}}
    assert session_denied(aws, "deploy-role", session_id) == "explicit-deny"
    assert session_denied(aws, "deploy-role", team_id) != "explicit-deny"  # the team's pipeline keeps working
    states = aws.instance_states("eu-west-1")
    assert {states[i] for i in scene["rogue"].ids} == {"terminated"}
    assert states[scene["team"].ids[0]] == "running"
    assert aws.instance_states("us-west-2")[scene["backdoor"].ids[0]] == "terminated"
    assert aws.key_status("support-sync") == {BACKDOOR_KEY: "Inactive"}
    assert "compromise-responder-quarantine" in aws.user_policies("support-sync")  # its federation token's user

    chain = {c["credential"]: c for c in report["chain"]}
    assert set(chain) == {SESSION_KEY, BACKDOOR_KEY, FEDERATION_KEY, SESSION_TOKEN_KEY}
    assert chain[SESSION_KEY] == {
        "credential": SESSION_KEY, "kind": "role-session", "session": session_id,
        "principal": "arn:aws:sts::123456789012:assumed-role/deploy-role/x", "parent": LEAKED_KEY,
        "via": "AssumeRole", "at": chain[SESSION_KEY]["at"], "status": "done",
    }  # fmt: skip
    assert (chain[BACKDOOR_KEY]["kind"], chain[BACKDOOR_KEY]["status"]) == ("access-key", "done")
    assert (chain[FEDERATION_KEY]["kind"], chain[FEDERATION_KEY]["parent"]) == ("federation", BACKDOOR_KEY)
    assert chain[FEDERATION_KEY]["status"] == "done"
    assert (chain[SESSION_TOKEN_KEY]["kind"], chain[SESSION_TOKEN_KEY]["status"]) == ("session-token", "done")
    terminated = [a for a in report["actions"] if a["action"] == "terminate-instance" and a["status"] == "done"]
    assert {a["target"] for a in terminated} == {*scene["rogue"].ids, *scene["backdoor"].ids}
    assert all("chain of " + LEAKED_KEY in a["reason"] for a in terminated)
    assert report["activity"]["byCredential"][SESSION_KEY] == 1  # its RunInstances
    assert report["activity"]["byCredential"][LEAKED_KEY] >= 2  # AssumeRole, CreateAccessKey
    assert report["activity"]["calls"] == sum(report["activity"]["byCredential"].values())


def test_dry_run_plans_the_cuts_and_changes_nothing(aws, invoke):
    scene = role_session_scene(aws)

    report = invoke("runbook", {"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "dryRun": True})

    assert_truthful(aws, report, aws.notifications())
    assert aws.role_policies("deploy-role") == {}
    assert aws.key_status("support-sync") == {BACKDOOR_KEY: "Active"}
    assert set(aws.instance_states("eu-west-1").values()) == {"running"}
    assert {c["credential"]: c["status"] for c in report["chain"]} == {
        SESSION_KEY: "planned", BACKDOOR_KEY: "planned", FEDERATION_KEY: "planned", SESSION_TOKEN_KEY: "planned"
    }  # fmt: skip
    planned = {(a["action"], a["target"]) for a in report["actions"] if a["status"] == "planned"}
    assert {("revoke-session", "deploy-role"), ("deactivate-access-key", BACKDOOR_KEY)} <= planned
    assert {("terminate-instance", i) for i in scene["rogue"].ids} <= planned


def test_a_protected_roles_session_is_listed_critical_and_not_touched(aws, invoke):
    aws.set_env(PROTECTED_PRINCIPALS="deploy-role")
    scene = role_session_scene(aws)

    report = invoke("health", scene["event"])

    assert aws.role_policies("deploy-role") == {}
    assert report["severity"] == "critical"
    assert {c["credential"]: c["status"] for c in report["chain"]}[SESSION_KEY] == "skipped"
    assert any("PROTECTED role deploy-role" in t for t in report["needsHuman"])
    # what the chain launched is still attributed to the key (rule 1 beats protection)
    assert {aws.instance_states("eu-west-1")[i] for i in scene["rogue"].ids} == {"terminated"}


def test_a_later_launch_by_the_sessions_key_is_contained_at_once_and_joins_the_incident(aws, invoke):
    """Contract "Containment that holds": the chain's credentials point to the open incident, so a RunInstances
    by the role session's ASIA key after the key's containment is contained by the CloudTrail handler at once
    (joined, no page by itself); the team's session of the same role is not."""
    scene = role_session_scene(aws)
    opened = invoke("health", scene["event"])
    assert len(aws.notifications()) == 1
    pointer = aws.client("dynamodb").get_item(
        TableName=aws.tables["incidents"],
        Key={"pk": {"S": f"credential#{scene['session'].identity.session_id}"},
             "sk": {"S": f"incident#{opened['incidentId']}"}},
    )  # fmt: skip
    assert pointer["Item"]["status"]["S"] == "open"

    late = scene["session"].run_instances("us-west-2", "g4dn.12xlarge")
    report = invoke("cloudtrail", late.event)
    teams = scene["team_session"].run_instances("us-west-2", "t3.micro")
    team_report = invoke("cloudtrail", teams.event)

    assert report["incidentId"] == opened["incidentId"] and report["page"] == "none"
    assert aws.instance_states("us-west-2")[late.instance_ids[0]] == "terminated"
    [stopped] = [a for a in report["actions"] if a["action"] == "terminate-instance"]
    assert stopped["status"] == "done" and SESSION_KEY in stopped["reason"]
    assert team_report.get("incidentId") != opened["incidentId"]
    assert aws.instance_states("us-west-2")[teams.instance_ids[0]] == "running"
    assert len(aws.notifications()) == 1  # the opener's page only


def test_a_notice_about_a_credential_of_the_chain_joins_the_incident_that_found_it(aws, invoke):
    """Contract "One incident per compromise": a Health notice about the key the chain created, a GuardDuty finding
    about the role session it assumed and one about its session token join the open incident (its id, recorded as
    its triggers, no page by themselves), and only what is new is done: the key's owner quarantined (the key was
    already Inactive), the one session GuardDuty names cut - never every session of the role the team's pipeline
    uses - and nothing for the session token (its user's quarantine cut it)."""
    scene = role_session_scene(aws)
    opened = invoke("health", scene["event"])
    session_id = scene["session"].identity.session_id
    assert aws.notifications()[0].report["incidentId"] == opened["incidentId"]

    later = health_event(datetime.now(UTC) - timedelta(minutes=5), key=BACKDOOR_KEY,
                         event_id="a1b2c3d4-0000-4000-8000-0123456789ab")  # fmt: skip
    health = invoke("health", later)
    finding = load_event("guardduty-assumedrole-credential-exfiltration.json")  # ASIAIOSFODNN7EXAMPLE: the session
    resource = finding["detail"]["resource"]
    resource["accessKeyDetails"].update(userName="deploy-role", principalId=session_id)
    resource.pop("instanceDetails")
    guardduty = invoke("guardduty", finding)
    token = load_event("guardduty-iamuser-malicious-ip-caller.json")  # the leaked key's own session token, abused
    token["id"] = "d9b5f2c3-6e7a-4b8c-9d0e-1f2a3b4c5d6e"  # another finding's delivery (not a duplicate)
    token["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = SESSION_TOKEN_KEY
    joined = invoke("guardduty", token)

    assert health["incidentId"] == guardduty["incidentId"] == joined["incidentId"] == opened["incidentId"]
    assert {r["facts"]["joinedIncident"] for r in (health, guardduty, joined)} == {opened["incidentId"]}
    assert {r["page"] for r in (health, guardduty, joined)} == {"none"} and len(aws.notifications()) == 1
    assert "session-token" in joined["facts"]["chainOf"] and joined["actions"] == []  # cut already: nothing new
    assert_truthful(aws, health)
    assert_truthful(aws, guardduty)
    assert aws.key_status("support-sync") == {BACKDOOR_KEY: "Inactive"}
    assert "compromise-responder-quarantine" in aws.user_policies("support-sync")  # new: its owner
    [cut] = [a for a in guardduty["actions"] if a["status"] == "done"]
    assert (cut["action"], cut["sessionIds"]) == ("revoke-session", session_id)
    assert opened["incidentId"] in cut["reason"]
    assert session_denied(aws, "deploy-role", session_id) == "explicit-deny"
    assert session_denied(aws, "deploy-role", scene["team_session"].identity.session_id) != "explicit-deny"
    assert set(aws.role_policies("deploy-role")) == {REVOKE_SESSION_POLICY_NAME}  # no "every older session" deny
    triggers = [k for k in incident_items(aws, opened["incidentId"]) if k.startswith("trigger#")]
    assert len(triggers) == 3
    stored = aws.client("dynamodb").scan(TableName=aws.tables["incidents"])["Items"]
    assert [i["incidentId"]["S"] for i in stored if i["sk"]["S"] == "incident"] == [opened["incidentId"]]  # one


# --- what the attacker left behind ---------------------------------------------------------------------------
def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def left_behind_scene(aws: EmulatedAws) -> dict[str, Any]:
    now = datetime.now(UTC)
    region = "eu-west-1"
    ec2, iam = aws.client("ec2", region), aws.client("iam")
    role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    fn = aws.client("lambda", region)
    fn.create_function(FunctionName="orders", Runtime="python3.12", Role=role, Handler="index.handler",
                       Code={"ZipFile": _zip()})  # fmt: skip
    fn.add_permission(FunctionName="orders", StatementId="team-api", Action="lambda:InvokeFunction",
                      Principal="apigateway.amazonaws.com")  # fmt: skip
    group = ec2.create_security_group(GroupName="web", Description="web tier")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0")
    volume = ec2.create_volume(AvailabilityZone=f"{region}a", Size=8)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add",
                                  UserIds=[PARTNER_ACCOUNT])  # fmt: skip
    builder = ec2.run_instances(ImageId=aws.ami(region), MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=builder, Name="golden")["ImageId"]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": PARTNER_ACCOUNT}]})

    rds = aws.client("rds", region)
    rds.create_db_instance(DBInstanceIdentifier="orders-db", DBInstanceClass="db.t3.micro", Engine="postgres",
                           MasterUsername="team", MasterUserPassword="Team-Passw0rd!", AllocatedStorage=20)  # fmt: skip
    rds.create_db_snapshot(DBInstanceIdentifier="orders-db", DBSnapshotIdentifier="orders-nightly")
    rds.create_db_cluster(DBClusterIdentifier="ledger", Engine="aurora-postgresql", MasterUsername="team",
                          MasterUserPassword="Team-Passw0rd!")  # fmt: skip
    rds.create_db_cluster_snapshot(DBClusterIdentifier="ledger", DBClusterSnapshotIdentifier="ledger-nightly")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="orders-nightly", AttributeName="restore",
                                     ValuesToAdd=[PARTNER_ACCOUNT])  # fmt: skip

    aws.client("s3", region).create_bucket(Bucket="team-audit-logs",
                                           CreateBucketConfiguration={"LocationConstraint": region})  # fmt: skip
    trails = aws.client("cloudtrail", region)
    trails.create_trail(Name="audit", S3BucketName="team-audit-logs")
    trails.start_logging(Name="audit")

    aws.client("s3", region).create_bucket(Bucket="team-data", CreateBucketConfiguration={"LocationConstraint": region})
    logging = team_logging(aws, region)

    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY, last_used=("ec2", region))
    at = now - timedelta(minutes=40)
    stop_logging(attacker, region, "audit", at=at)
    put_event_selectors(attacker, region, "audit", at=at)  # Stratus cloudtrail-event-selectors
    put_bucket_lifecycle(attacker, region, "team-audit-logs", at=at)  # Stratus cloudtrail-lifecycle-rule
    put_bucket_lifecycle(attacker, region, "team-data", at=at)
    delete_trail(attacker, region, "team-trail", at=at)  # Stratus cloudtrail-delete
    delete_flow_logs(attacker, region, [logging["flow_log"]], at=at)  # Stratus vpc-remove-flow-logs
    disassociate_query_logging(attacker, region, logging["dns"], logging["vpc"], at=at)  # Stratus dns-delete-logs
    delete_query_log_config(attacker, region, logging["dns"], at=at)
    share_db_snapshot(attacker, region, "orders-nightly", ATTACKER_ACCOUNT, at=at)
    share_db_snapshot(attacker, region, "ledger-nightly", ATTACKER_ACCOUNT, cluster=True, at=at)
    add_lambda_permission(attacker, region, "orders", "backdoor", at=at)
    open_port(attacker, region, group, 22, at=at)
    share_snapshot(attacker, region, snapshot, ATTACKER_ACCOUNT, at=at)
    share_image(attacker, region, image, ATTACKER_ACCOUNT, at=at)
    enable_serial_console(attacker, region, at=at)  # Stratus ec2-serial-console-send-ssh-public-key: switched on,
    send_serial_console_key(attacker, region, builder, at=at)  # then a key valid 60 s pushed
    put_bucket_policy(attacker, "us-east-1", "team-data", at=at)
    get_secret_value(attacker, region, "prod/db-password", at=at)
    team_anchor = aws.client("rolesanywhere", region).create_trust_anchor(
        name="team-ca",
        enabled=True,
        source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": "team"}},
    )["trustAnchor"]["trustAnchorId"]
    anchor = create_trust_anchor(attacker, region, "malicious-ca", at=at)["detail"]["responseElements"]["trustAnchor"]
    return {"anchor": anchor["trustAnchorId"], "team_anchor": team_anchor, "group": group, "snapshot": snapshot,
            "image": image, "region": region, "builder": builder, **logging,
            "event": health_event(now - timedelta(minutes=20))}  # fmt: skip


def team_logging(aws: EmulatedAws, region: str) -> dict[str, str]:
    """The team's logging: a multi-region trail and a VPC with two flow logs to CloudWatch Logs (made by the platform
    team's key, so their CreateTrail and CreateFlowLogs are in the event history), DNS query logging of the VPC."""
    iam, ec2 = aws.client("iam"), aws.client("ec2", region)
    delivery = iam.create_role(RoleName="flow-logs-delivery", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]  # fmt: skip
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    aws.client("logs", region).create_log_group(logGroupName="/team/vpc-flow-logs")
    group = f"arn:aws:logs:{region}:{aws.account}:log-group:/team/vpc-flow-logs"
    platform = aws.create_user("platform-admin", key_id=TEAM_KEY)
    at = datetime.now(UTC) - timedelta(days=30)
    create_trail(platform, region, "team-trail", "team-audit-logs", at=at)
    rejected = create_flow_log(platform, region, vpc, group, delivery, "REJECT", at=at)
    create_flow_log(platform, region, vpc, f"{group}-accepted", delivery, "ACCEPT", at=at)
    dns = aws.client("route53resolver", region)
    config = dns.create_resolver_query_log_config(Name="team-dns", DestinationArn="arn:aws:s3:::team-audit-logs",
                                                  CreatorRequestId="team-dns")["ResolverQueryLogConfig"]["Id"]  # fmt: skip
    dns.associate_resolver_query_log_config(ResolverQueryLogConfigId=config, ResourceId=vpc)
    return {"vpc": vpc, "flow_log": rejected, "dns": config}


def shares(aws: EmulatedAws, scene: dict[str, Any]) -> dict[str, Any]:
    ec2, rds = aws.client("ec2", scene["region"]), aws.client("rds", scene["region"])
    trails = aws.client("cloudtrail", scene["region"])
    policy = json.loads(aws.client("lambda", scene["region"]).get_policy(FunctionName="orders")["Policy"])
    rules = ec2.describe_security_groups(GroupIds=[scene["group"]])["SecurityGroups"][0]["IpPermissions"]
    return {
        "statements": sorted(s["Sid"] for s in policy["Statement"]),
        "ports": sorted(r["FromPort"] for r in rules),
        "snapshot": sorted(p["UserId"] for p in ec2.describe_snapshot_attribute(
            SnapshotId=scene["snapshot"], Attribute="createVolumePermission")["CreateVolumePermissions"]),
        "image": sorted(p["UserId"] for p in ec2.describe_image_attribute(
            ImageId=scene["image"], Attribute="launchPermission")["LaunchPermissions"]),
        "serial": ec2.get_serial_console_access_status()["SerialConsoleAccessEnabled"],
        "logging": aws.client("cloudtrail", scene["region"]).get_trail_status(Name="audit")["IsLogging"],
        "anchors": [aws.client("rolesanywhere", scene["region"]).get_trust_anchor(trustAnchorId=scene[k])[
            "trustAnchor"]["enabled"] for k in ("anchor", "team_anchor")],
        "rds": sorted(v for a in rds.describe_db_snapshot_attributes(DBSnapshotIdentifier="orders-nightly")[
            "DBSnapshotAttributesResult"]["DBSnapshotAttributes"] if a["AttributeName"] == "restore"
            for v in a["AttributeValues"]),
        "cluster": sorted(v for a in rds.describe_db_cluster_snapshot_attributes(
            DBClusterSnapshotIdentifier="ledger-nightly")["DBClusterSnapshotAttributesResult"][
            "DBClusterSnapshotAttributes"] if a["AttributeName"] == "restore" for v in a["AttributeValues"]),
        "selectors": [(e["ReadWriteType"], e["IncludeManagementEvents"], len(e.get("DataResources", []))) for e in aws.client(
            "cloudtrail", scene["region"]).get_event_selectors(TrailName="audit")["EventSelectors"]],
        "lifecycle": {b: lifecycle_ids(aws, scene["region"], b) for b in ("team-audit-logs", "team-data")},
        "flow_logs": sorted((f["ResourceId"] == scene["vpc"], f["TrafficType"], f["LogDestination"].rsplit(":", 1)[-1])
                            for f in ec2.describe_flow_logs()["FlowLogs"]),
        "dns": len(aws.client("route53resolver", scene["region"]).list_resolver_query_log_configs()["ResolverQueryLogConfigs"]),
        "trails": sorted((t["Name"], trails.get_trail_status(Name=t["Name"])["IsLogging"]) for t in trails.describe_trails()["trailList"]),
    }  # fmt: skip


def lifecycle_ids(aws: EmulatedAws, region: str, bucket: str) -> list[str]:
    s3 = aws.client("s3", region)
    try:
        return sorted(r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"])
    except s3.exceptions.ClientError:
        return []


NUKE = STRATUS_LIFECYCLE[0]["ID"]
BEFORE = {"statements": ["backdoor", "team-api"], "ports": [22, 443],
          "snapshot": sorted([ATTACKER_ACCOUNT, PARTNER_ACCOUNT]), "image": sorted([ATTACKER_ACCOUNT, PARTNER_ACCOUNT]),
          "serial": True, "logging": False, "anchors": [True, True], "rds": sorted([ATTACKER_ACCOUNT, PARTNER_ACCOUNT]),
          "cluster": [ATTACKER_ACCOUNT], "selectors": [("ReadOnly", False, 2)],
          "lifecycle": {"team-audit-logs": [NUKE], "team-data": [NUKE]},
          "flow_logs": [(True, "ACCEPT", "/team/vpc-flow-logs-accepted")], "dns": 0, "trails": [("audit", False)]}  # fmt: skip
# undone: the attacker's additions removed, the switches and the logging put back; the team's own untouched
AFTER = {**BEFORE, "statements": ["team-api"], "ports": [443], "snapshot": [PARTNER_ACCOUNT], "image": [PARTNER_ACCOUNT],
         "serial": False, "logging": True, "anchors": [False, True], "rds": [PARTNER_ACCOUNT], "cluster": [],
         "selectors": [("All", True, 0), ("ReadOnly", False, 2)], "trails": [("audit", True), ("team-trail", True)],
         "flow_logs": [(True, "ACCEPT", "/team/vpc-flow-logs-accepted"), (True, "REJECT", "/team/vpc-flow-logs")]}  # fmt: skip
UNDONE = {"remove-lambda-permission", "revoke-ingress", "remove-snapshot-share", "remove-image-share",
          "disable-serial-console", "remove-db-snapshot-share", "disable-trust-anchor", "restart-trail-logging",
          "restore-event-selectors", "recreate-trail", "recreate-flow-log"}  # fmt: skip


def test_what_the_attacker_left_behind_is_undone_and_the_teams_own_untouched(aws, invoke):
    scene = left_behind_scene(aws)
    assert shares(aws, scene) == BEFORE

    report = invoke("health", scene["event"])

    assert_truthful(aws, report, aws.notifications())
    assert shares(aws, scene) == AFTER
    undone = {a["action"]: a for a in report["actions"] if a.get("source") == "chain" and a["status"] == "done"}
    assert set(undone) == UNDONE
    assert "AddPermission20150331v2" in undone["remove-lambda-permission"]["reason"]
    assert "AuthorizeSecurityGroupIngress" in undone["revoke-ingress"]["reason"]
    assert "cloudtrail:PutEventSelectors" in undone["restore-event-selectors"]["reason"]
    assert "management events logged again" in undone["restore-event-selectors"]["reason"]
    assert "cloudtrail:DeleteTrail" in undone["recreate-trail"]["reason"]
    assert "created again as CreateTrail at" in undone["recreate-trail"]["reason"]
    assert "ec2:DeleteFlowLogs" in undone["recreate-flow-log"]["reason"]
    assert "created again as CreateFlowLogs at" in undone["recreate-flow-log"]["reason"]
    human = {a["target"]: a for a in report["actions"] if a["action"] == "review-left-behind"}
    assert set(human) == {
        "team-data",
        "team-audit-logs",
        "prod/db-password",
        scene["dns"],
        scene["vpc"],
        scene["builder"],
    }
    assert "s3:PutBucketLifecycle" in human["team-audit-logs"]["reason"]  # never changed: it could expire any data
    assert {a["status"] for a in human.values()} == {"skipped"}
    assert "rotate" in human["prod/db-password"]["reason"]
    assert "team-dns (to arn:aws:s3:::team-audit-logs) deleted" in human[scene["dns"]]["reason"]
    stored = aws.client("dynamodb").get_item(
        TableName=aws.tables["incidents"],
        Key={"pk": {"S": f"incident#{report['incidentId']}"}, "sk": {"S": "left-behind"}},
    )
    before = json.loads(stored["Item"]["leftBehind"]["S"])
    assert {b["call"] for b in before} >= {"lambda:AddPermission20150331v2", "ec2:ModifySnapshotAttribute"}
    selectors = next(b for b in before if b["call"] == "cloudtrail:PutEventSelectors")["added"]
    assert selectors["EventSelectors"][0]["IncludeManagementEvents"] is False  # the attacker's, to put back by hand
    statement = next(b for b in before if b["call"].startswith("lambda"))["added"]["statement"]
    assert json.loads(statement)["Sid"] == "backdoor"  # enough to put it back by hand
    [note] = aws.notifications()
    assert "WHAT THE ATTACKER LEFT BEHIND" in note.summary
    assert "prod/db-password" in note.summary and "team-data" in note.summary


def test_a_protected_target_is_listed_and_never_changed_the_rest_undone(aws, invoke):
    """The protect tag on a security group, an AMI and a function: what the attacker added there is listed for a
    human (the tag named), never changed; everything else is undone as usual."""
    scene = left_behind_scene(aws)
    protect = [{"Key": "compromise-responder:protect", "Value": "true"}]
    ec2 = aws.client("ec2", scene["region"])
    ec2.create_tags(Resources=[scene["group"], scene["image"]], Tags=protect)
    fn = aws.client("lambda", scene["region"])
    fn.tag_resource(Resource=fn.get_function(FunctionName="orders")["Configuration"]["FunctionArn"],
                    Tags={"compromise-responder:protect": "true"})  # fmt: skip

    report = invoke("health", scene["event"])

    assert_truthful(aws, report, aws.notifications())
    assert shares(aws, scene) == {**AFTER, **{k: BEFORE[k] for k in ("statements", "ports", "image")}}
    chain = {
        a["action"]: a for a in report["actions"] if a.get("source") == "chain" and a["action"] != "review-left-behind"
    }
    listed = {"remove-lambda-permission", "revoke-ingress", "remove-image-share"}
    assert {a: chain[a]["status"] for a in listed} == dict.fromkeys(listed, "skipped")
    assert all("compromise-responder:protect=true" in chain[a]["reason"] for a in listed)
    assert {a["status"] for n, a in chain.items() if n not in listed} == {"done"}
    protected = [t for t in report["needsHuman"] if "PROTECTED target" in t]
    assert len(protected) == 3 and all("compromise-responder:protect" in t for t in protected)
    assert any(scene["group"] in t for t in protected) and any(scene["image"] in t for t in protected)
    left = {b["target"]: b for b in report["leftBehind"]}
    assert left["orders"]["undo"] == "needs a human" and "protect tag" in left["orders"]["protected"]


def test_left_behind_dry_run_changes_nothing(aws, invoke):
    scene = left_behind_scene(aws)

    report = invoke("runbook", {"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "dryRun": True})

    assert shares(aws, scene) == BEFORE
    assert_truthful(aws, report, aws.notifications())
    planned = {a["action"]: a for a in report["actions"] if a.get("source") == "chain" and a["status"] == "planned"}
    assert set(planned) == UNDONE
    assert "created again as CreateFlowLogs at" in planned["recreate-flow-log"]["reason"]
    stored = aws.client("dynamodb").scan(TableName=aws.tables["incidents"])["Items"]
    assert {i["status"]["S"] for i in stored if i["sk"]["S"] == "incident"} == {"planned"}
    assert "left-behind" not in {i["sk"]["S"] for i in stored}  # nothing undone, nothing to put back by hand


def trust(*principals: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": list(principals) if len(principals) > 1 else principals[0]},
         "Action": "sts:AssumeRole"}]})  # fmt: skip


@pytest.mark.parametrize("dry_run", [False, True], ids=["enforce", "dry-run"])
def test_a_backdoored_trust_policy_is_put_back_and_sessions_since_the_change_revoked(aws, invoke, dry_run):
    """Stratus iam-backdoor-role: the role now trusts the attacker's account. With the team's CreateRole in the
    event history, that policy is put back; without history, the outside principal is removed. A dry-run plans the
    same and changes nothing."""
    now = datetime.now(UTC)
    team_doc = trust("arn:aws:iam::123456789012:role/ci")
    platform = aws.create_user("platform-admin", key_id=TEAM_KEY)
    platform.create_role("vendor-access", team_doc, at=now - timedelta(days=30))
    aws.client("iam").create_role(RoleName="legacy", AssumeRolePolicyDocument=trust("123456789012"))
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY, last_used=("iam", "us-east-1"))
    changed = now - timedelta(minutes=40)
    update_trust(
        attacker,
        "vendor-access",
        trust("arn:aws:iam::123456789012:role/ci", f"arn:aws:iam::{ATTACKER_ACCOUNT}:root"),
        changed,
    )
    update_trust(attacker, "legacy", trust("123456789012", ATTACKER_ACCOUNT), changed)

    if dry_run:
        report = invoke("runbook", {"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "dryRun": True})
    else:
        report = invoke("health", health_event(now - timedelta(minutes=20)))

    assert_truthful(aws, report, aws.notifications())
    done = {a["target"]: a for a in report["actions"] if a["action"] == "restore-trust-policy"}
    assert {a["status"] for a in done.values()} == {"planned" if dry_run else "done"}
    assert "put back as set by CreateRole" in done["vendor-access"]["reason"]
    assert ATTACKER_ACCOUNT in done["legacy"]["reason"] and "removed" in done["legacy"]["reason"]
    assert "UpdateAssumeRolePolicy" in done["legacy"]["reason"]
    iam = aws.client("iam")
    if dry_run:
        assert ATTACKER_ACCOUNT in json.dumps(
            iam.get_role(RoleName="vendor-access")["Role"]["AssumeRolePolicyDocument"]
        )
        assert aws.role_policies("vendor-access") == aws.role_policies("legacy") == {}
        return
    restored = iam.get_role(RoleName="vendor-access")["Role"]["AssumeRolePolicyDocument"]
    assert restored == json.loads(team_doc)
    cleaned = iam.get_role(RoleName="legacy")["Role"]["AssumeRolePolicyDocument"]
    assert cleaned["Statement"][0]["Principal"] == {"AWS": "123456789012"}
    revoke = aws.role_policies("vendor-access")[REVOKE_SINCE_POLICY_NAME]
    policies = [revoke]
    issued = {
        "before": changed - timedelta(days=1),
        "after": changed + timedelta(minutes=5),
        "new": now + timedelta(minutes=5),
    }
    decisions = {k: evaluate("s3:GetObject", "*", policies, context={"aws:TokenIssueTime": v.strftime("%Y-%m-%dT%H:%M:%SZ")})
                 for k, v in issued.items()}  # fmt: skip
    assert decisions == {"before": "implicit-deny", "after": "explicit-deny", "new": "implicit-deny"}


def test_sts_calls_recorded_by_the_watcher_extend_the_chain_without_lookup_events(aws, invoke):
    """The launch watcher records the STS calls (AssumeRole arrives in the region of the STS endpoint used);
    with CloudTrail LookupEvents denied everywhere, the ledger alone still finds and cuts the chain."""
    scene = role_session_scene(aws)
    for detail in list(aws.trail.records):
        assert invoke("cloudtrail", envelope(detail))["failures"] == []
    aws.trail.denied_regions = set(aws.regions)

    report = invoke("health", scene["event"])

    revoke = aws.role_policies("deploy-role")[REVOKE_SESSION_POLICY_NAME]
    assert revoke["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:userid": [scene["session"].identity.session_id]}
    }
    assert {c["credential"]: c["status"] for c in report["chain"]} == {
        SESSION_KEY: "done", BACKDOOR_KEY: "done", FEDERATION_KEY: "done", SESSION_TOKEN_KEY: "done"
    }  # fmt: skip
    assert {aws.instance_states("eu-west-1")[i] for i in scene["rogue"].ids} == {"terminated"}
    assert aws.instance_states("eu-west-1")[scene["team"].ids[0]] == "running"


def _key_lookups(aws: EmulatedAws, key: str, threads: tuple[str, ...]) -> list[str]:
    """Regions of the LookupEvents calls by ``key`` made from threads whose name starts with one of ``threads``."""
    return sorted(
        r.call.region
        for r in aws.recorder.sequence
        if r.call.action == "cloudtrail:LookupEvents"
        and r.thread.startswith(threads)
        and r.call.params.get("LookupAttributes", [{}])[0].get("AttributeValue") == key
    )


SWEEP_THREADS = ("region", "probe")  # responder.sweep's pools


def test_the_sweep_takes_the_keys_calls_from_the_chains_reading_and_asks_only_where_it_failed(aws, invoke):
    """The chain reads C in every region; the region sweep attributes from that reading instead of asking
    CloudTrail again (LookupEvents allows 2 calls a second per region), and asks itself where the chain could not
    read (here it is denied again: attribution unavailable, rule 2 decides there)."""
    scene = role_session_scene(aws)
    aws.trail.denied_regions = {"us-east-1"}

    report = invoke("health", scene["event"])

    assert _key_lookups(aws, LEAKED_KEY, ("chain",)) == sorted(REGIONS)
    assert _key_lookups(aws, LEAKED_KEY, SWEEP_THREADS) == ["us-east-1"]  # only where the chain's read failed
    assert f"{LEAKED_KEY} us-east-1" in report["facts"]["chainUnread"]
    states = aws.instance_states("eu-west-1")
    assert {states[i] for i in scene["rogue"].ids} == {"terminated"}  # the session's, read by the chain
    assert states[scene["team"].ids[0]] == "running"
    assert_truthful(aws, report, aws.notifications())


def test_a_chain_that_cannot_be_read_at_all_still_sweeps_the_keys_own_launches_and_is_retried(aws, invoke, monkeypatch):
    """A reading that fails as a whole never holds the region sweep (it waits for it): the regions are swept with
    C's own attribution, the failure is named and the handler raises for a retry."""
    from responder.flows import chain as chain_flow

    scene = role_session_scene(aws)
    now = datetime.now(UTC)
    own = scene["attacker"].run_instances("eu-west-1", "g4dn.xlarge", 1, at=now - timedelta(minutes=25))

    def unreadable(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("chain reader broke")

    monkeypatch.setattr(chain_flow, "read_chain", unreadable)
    with pytest.raises(IncompleteResponse, match="chain reader broke"):
        invoke("health", scene["event"])

    states = aws.instance_states("eu-west-1")
    assert states[own.ids[0]] == "terminated"  # C's own launch: the sweep's own LookupEvents
    assert states[scene["team"].ids[0]] == "running"
    assert aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}
    (note,) = aws.notifications()
    assert "credential chain not read: RuntimeError: chain reader broke" in note.body
    assert_truthful(aws, note.report, [note])


HOP_KEY = "ASIAHOPSESSI1EXAMPLE"  # the attacker's session assuming the role again, seen after the chain was read
AGAIN_KEY = "ASIAAGAINSESSEXAMPLE"  # a new key of the attacker's session name, its minting never seen


def test_a_session_the_chain_minted_after_its_reading_is_cut_at_once_and_its_launches_contained(aws, invoke):
    """CloudTrail's event history lags EventBridge: the attacker's session assumed the role again (another session
    name, a new key) before its cut held, and the watcher receives that record after the containment read the
    chain. The watcher cuts the new session at once (joining the incident) and contains its launch: the ledger
    says the incident's chain minted its key. A launch by a new key of the attacker's own session name, whose
    minting it never saw, is matched by the session id (``AROA...:session``). The team's pipeline keeps working."""
    scene = role_session_scene(aws)
    opened = invoke("health", scene["event"])
    hop = assume_role(scene["session"], "deploy-role", "y", HOP_KEY, region="us-west-2",
                      at=datetime.now(UTC) - timedelta(minutes=1))  # fmt: skip

    minted = invoke("cloudtrail", envelope(aws.trail.records[-1]))

    assert minted["incidentId"] == opened["incidentId"] and minted["page"] == "none"
    assert [(c["credential"], c["session"], c["status"]) for c in minted["chain"]] == [
        (HOP_KEY, hop.identity.session_id, "done")
    ]
    revoke = aws.role_policies("deploy-role")[REVOKE_SESSION_POLICY_NAME]["Statement"][0]["Condition"]
    assert set(revoke["StringEquals"]["aws:userid"]) == {scene["session"].identity.session_id, hop.identity.session_id}
    assert session_denied(aws, "deploy-role", hop.identity.session_id) == "explicit-deny"
    assert session_denied(aws, "deploy-role", scene["team_session"].identity.session_id) != "explicit-deny"

    launched = hop.run_instances("eu-west-1", "p3.2xlarge")
    contained = invoke("cloudtrail", launched.event)
    same_name = aws.actor(SessionIdentity("AssumedRole", "deploy-role", AGAIN_KEY, aws.account, session="x",
                                          role_id=scene["session"].identity.role_id))  # fmt: skip
    again = same_name.run_instances("us-west-2", "g4dn.xlarge")
    matched = invoke("cloudtrail", again.event)
    teams = scene["team_session"].run_instances("us-west-2", "t3.large")
    team_report = invoke("cloudtrail", teams.event)

    assert contained["incidentId"] == matched["incidentId"] == opened["incidentId"]
    assert aws.instance_states("eu-west-1")[launched.instance_ids[0]] == "terminated"
    assert aws.instance_states("us-west-2")[again.instance_ids[0]] == "terminated"
    assert aws.instance_states("us-west-2")[teams.instance_ids[0]] == "running"
    assert team_report.get("incidentId") != opened["incidentId"]
    assert len(aws.notifications()) == 1  # the opener's page only: the joined triggers wait for the digest
    for report in (minted, contained, matched):
        assert_truthful(aws, report)


def test_a_minted_session_in_dry_run_is_planned_and_nothing_changes(aws, invoke):
    scene = role_session_scene(aws)
    opened = invoke("health", scene["event"])
    before = aws.role_policies("deploy-role")[REVOKE_SESSION_POLICY_NAME]
    hop = assume_role(scene["session"], "deploy-role", "y", HOP_KEY, region="us-west-2",
                      at=datetime.now(UTC) - timedelta(minutes=1))  # fmt: skip
    aws.set_env(RESPONSE_MODE="dry-run")

    report = invoke("cloudtrail", envelope(aws.trail.records[-1]))

    assert report["mode"] == "dry-run" and report["facts"]["underIncident"] == opened["incidentId"]
    assert report["incidentId"] != opened["incidentId"]  # a dry-run never writes into the incident
    assert [(c["credential"], c["status"]) for c in report["chain"]] == [(HOP_KEY, "planned")]
    [cut] = [a for a in report["actions"] if a["action"] == "revoke-session"]
    assert cut["status"] == "planned" and hop.identity.session_id in cut["reason"]
    assert aws.role_policies("deploy-role")[REVOKE_SESSION_POLICY_NAME] == before  # nothing changed
    assert session_denied(aws, "deploy-role", hop.identity.session_id) != "explicit-deny"
    assert_truthful(aws, report)


def test_the_sweep_does_not_wait_for_a_slow_reading_and_a_second_pass_stops_what_it_found_later(
    aws, invoke, monkeypatch
):
    """A busy key's chain can take the whole activity budget to read (LookupEvents: 2 pages a second per region).
    The regions are swept once SWEEP_WAIT_SECONDS have passed, with what was read by then; what the rest of the
    reading attributes to the chain - here the role session's and the backdoor key's launches, read in its second
    round - is judged in a second pass over their regions. The team's instance on the same role is never touched."""
    from responder.flows import chain as chain_flow

    monkeypatch.setattr(chain_flow, "SWEEP_WAIT_SECONDS", 0.1)
    aws.emulate_lookup_quota()  # the second round waits 0.5 s behind the first in every region
    scene = role_session_scene(aws)

    report = invoke("health", scene["event"])

    assert "outlasted 0.1 s" in report["facts"]["chainLate"] and "second pass" in report["facts"]["chainLate"]
    states = aws.instance_states("eu-west-1")
    assert {states[i] for i in scene["rogue"].ids} == {"terminated"}
    assert states[scene["team"].ids[0]] == "running"
    assert aws.instance_states("us-west-2")[scene["backdoor"].ids[0]] == "terminated"
    assert report["regions"]["eu-west-1"] == report["regions"]["us-west-2"] == "contained"
    terminated = [a for a in report["actions"] if a["action"] == "terminate-instance" and a["status"] == "done"]
    assert {a["target"] for a in terminated} == {*scene["rogue"].ids, *scene["backdoor"].ids}
    assert all("chain of " + LEAKED_KEY in a["reason"] for a in terminated)
    assert_truthful(aws, report, aws.notifications())


def test_a_guardduty_finding_on_an_instance_of_a_session_minted_later_terminates_it(aws, invoke):
    """GuardDuty names an instance before the watcher saw its launch: who launched it comes from CloudTrail (by the
    instance id), a session key minted after the chain was read, and the ledger says a credential of the open
    incident's chain minted it - the instance is rogue (terminated), not a victim to isolate."""
    from tests.test_guardduty import on_instance

    scene = role_session_scene(aws)
    opened = invoke("health", scene["event"])
    hop = assume_role(scene["session"], "deploy-role", "y", HOP_KEY, region="us-west-2",
                      at=datetime.now(UTC) - timedelta(minutes=1))  # fmt: skip
    invoke("cloudtrail", envelope(aws.trail.records[-1]))  # recorded: which credential minted HOP_KEY
    miner = hop.run_instances("us-east-1", "c5.large")  # its launch never reached the watcher

    report = invoke("guardduty", on_instance("guardduty-ec2-bitcoin-dns.json", miner.instance_ids[0]))

    assert aws.instance_states("us-east-1")[miner.instance_ids[0]] == "terminated"
    [stopped] = [a for a in report["actions"] if a["action"] == "terminate-instance"]
    assert stopped["status"] == "done" and opened["incidentId"] in stopped["reason"] and HOP_KEY in stopped["reason"]
    assert_truthful(aws, report)
