"""What an attacker does with a key beyond launching: mint other credentials (the chain) and leave ways back in.
Each call goes to moto (or the gap filler below) and into the emulated CloudTrail in the shape AWS writes it
(Stratus Red Team's published detonation records: ``AssumeRole``, ``GetFederationToken``,
``AddPermission20150331v2``, ``ModifySnapshotAttribute``, ``ModifyImageAttribute``,
``AuthorizeSecurityGroupIngress``...).

Gap filled: moto 5.2 has no EC2 serial console access API (``EnableSerialConsoleAccess``,
``DisableSerialConsoleAccess``, ``GetSerialConsoleAccessStatus``): ``SerialConsoleAccess`` answers them per
account and region, as EC2 does.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .actor import Actor
from .cloudtrail import Identity, cloudtrail_detail
from .hooks import Call, error, reply


@dataclass(frozen=True)
class SessionIdentity(Identity):
    """A role session as CloudTrail shows it: ``principalId`` is ``AROA...:session``, the ARN names the session."""

    session: str = "session"
    role_id: str = "AROACKCEVSQ6C2EXAMPLE"

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.name}/{self.session}"

    @property
    def session_id(self) -> str:
        return f"{self.role_id}:{self.session}"

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["principalId"] = self.session_id
        out["sessionContext"]["sessionIssuer"]["principalId"] = self.role_id
        out["sessionContext"]["attributes"] = {"creationDate": _now(), "mfaAuthenticated": "false"}
        return out


def _now(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expiration(at: datetime | None) -> str:
    """STS writes ``expiration`` as ``Nov 30, 2024, 8:43:17 PM`` in CloudTrail."""
    when = (at or datetime.now(UTC)) + timedelta(hours=1)
    return when.strftime("%b %d, %Y, %I:%M:%S %p").replace(" 0", " ")


def record(actor: Actor, name: str, source: str, region: str, request: Any, response: Any,
           at: datetime | None = None, *, read_only: bool = False) -> dict[str, Any]:  # fmt: skip
    detail = cloudtrail_detail(actor.identity, name, source, region, request, response, when=at, read_only=read_only)
    return actor.aws.trail.record(detail)


def assume_role(actor: Actor, role: str, session: str, key: str, *, region: str = "us-east-1",
                at: datetime | None = None) -> Actor:  # fmt: skip
    """``sts:AssumeRole`` with the actor's key: the record AWS writes, and an actor holding the session."""
    aws = actor.aws
    role_arn = f"arn:aws:iam::{aws.account}:role/{role}"
    role_id = aws.client("iam").get_role(RoleName=role)["Role"]["RoleId"]
    identity = SessionIdentity("AssumedRole", role, key, aws.account, session=session, role_id=role_id)
    detail = cloudtrail_detail(
        actor.identity, "AssumeRole", "sts.amazonaws.com", region,
        {"roleArn": role_arn, "roleSessionName": session},
        {"credentials": {"accessKeyId": key, "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE", "expiration": _expiration(at)},
         "assumedRoleUser": {"assumedRoleId": identity.session_id, "arn": identity.arn}},
        when=at, read_only=True,
    )  # fmt: skip
    detail["resources"] = [{"accountId": aws.account, "type": "AWS::IAM::Role", "ARN": role_arn}]
    detail["sharedEventID"] = str(uuid.uuid4())
    aws.trail.record(detail)
    return Actor(aws, identity)


def get_federation_token(actor: Actor, name: str, key: str, *, region: str = "us-east-1",
                         at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    account = actor.identity.account
    return record(
        actor, "GetFederationToken", "sts.amazonaws.com", region,
        {"name": name, "policy": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]})},
        {"credentials": {"accessKeyId": key, "expiration": _expiration(at), "sessionToken": "IQoJEXAMPLE"},
         "federatedUser": {"arn": f"arn:aws:sts::{account}:federated-user/{name}",
                           "federatedUserId": f"{account}:{name}"}, "packedPolicySize": 4},
        at,
    )  # fmt: skip


def get_session_token(
    actor: Actor, key: str, *, region: str = "us-east-1", at: datetime | None = None
) -> dict[str, Any]:
    return record(
        actor, "GetSessionToken", "sts.amazonaws.com", region, {"durationSeconds": 3600},
        {"credentials": {"accessKeyId": key, "expiration": _expiration(at), "sessionToken": "IQoJEXAMPLE"}}, at,
    )  # fmt: skip


# --- what the attacker leaves behind --------------------------------------------------------------------------
def add_lambda_permission(actor: Actor, region: str, function: str, statement_id: str, principal: str = "*",
                          at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    resp = actor.aws.client("lambda", region).add_permission(
        FunctionName=function, StatementId=statement_id, Action="lambda:InvokeFunction", Principal=principal
    )
    request = {"action": "lambda:InvokeFunction", "functionName": function, "principal": principal,
               "statementId": statement_id}  # fmt: skip
    return record(actor, "AddPermission20150331v2", "lambda.amazonaws.com", region, request,
                  {"statement": resp["Statement"]}, at)  # fmt: skip


def open_port(actor: Actor, region: str, group_id: str, port: int, cidr: str = "0.0.0.0/0",
              at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    ec2 = actor.aws.client("ec2", region)
    resp = ec2.authorize_security_group_ingress(GroupId=group_id, IpProtocol="tcp", FromPort=port, ToPort=port,
                                                CidrIp=cidr)  # fmt: skip
    rules = [
        {"groupOwnerId": actor.identity.account, "groupId": group_id, "securityGroupRuleId": r["SecurityGroupRuleId"],
         "isEgress": False, "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": cidr}
        for r in resp.get("SecurityGroupRules", [])
    ] or [{"groupOwnerId": actor.identity.account, "groupId": group_id, "securityGroupRuleId": "sgr-0123456789abcdef0",
           "isEgress": False, "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": cidr}]  # fmt: skip
    request = {"groupId": group_id, "ipPermissions": {}, "ipProtocol": "tcp", "fromPort": port, "toPort": port,
               "cidrIp": cidr}  # fmt: skip
    response = {"requestId": str(uuid.uuid4()), "_return": True, "securityGroupRuleSet": {"items": rules}}
    return record(actor, "AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", region, request, response, at)


def share_snapshot(actor: Actor, region: str, snapshot_id: str, account: str,
                   at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    actor.aws.client("ec2", region).modify_snapshot_attribute(
        SnapshotId=snapshot_id, Attribute="createVolumePermission", OperationType="add", UserIds=[account]
    )
    request = {"snapshotId": snapshot_id, "attributeType": "CREATE_VOLUME_PERMISSION",
               "createVolumePermission": {"add": {"items": [{"userId": account}]}}}  # fmt: skip
    return record(actor, "ModifySnapshotAttribute", "ec2.amazonaws.com", region, request,
                  {"requestId": str(uuid.uuid4()), "_return": True}, at)  # fmt: skip


def share_image(actor: Actor, region: str, image_id: str, account: str,
                at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    actor.aws.client("ec2", region).modify_image_attribute(
        ImageId=image_id, LaunchPermission={"Add": [{"UserId": account}]}
    )
    request = {"imageId": image_id, "attributeType": "launchPermission",
               "launchPermission": {"add": {"items": [{"userId": account}]}}}  # fmt: skip
    return record(actor, "ModifyImageAttribute", "ec2.amazonaws.com", region, request,
                  {"requestId": str(uuid.uuid4()), "_return": True}, at)  # fmt: skip


def enable_serial_console(actor: Actor, region: str, at: datetime | None = None) -> dict[str, Any]:
    """``ec2:EnableSerialConsoleAccess`` (the first step of Stratus ``ec2-serial-console-send-ssh-public-key``),
    recorded as its detonation record shows it."""
    actor.aws.client("ec2", region).enable_serial_console_access()
    return record(actor, "EnableSerialConsoleAccess", "ec2.amazonaws.com", region,
                  {"EnableSerialConsoleAccessRequest": ""},
                  {"EnableSerialConsoleAccessResponse": {"requestId": str(uuid.uuid4()),
                                                         "serialConsoleAccessEnabled": True,
                                                         "xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/"}},
                  at)  # fmt: skip


def send_serial_console_key(actor: Actor, region: str, instance_id: str, at: datetime | None = None) -> dict[str, Any]:
    """``ec2-instance-connect:SendSerialConsoleSSHPublicKey`` (Stratus ``ec2-serial-console-send-ssh-public-key``):
    the key is valid 60 seconds, nothing of it stays in AWS - only recorded."""
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtAlK45MAEWZ7MUY2QEmi3M6W+peGL3VCrc0qH54xRu"
    return record(actor, "SendSerialConsoleSSHPublicKey", "ec2-instance-connect.amazonaws.com", region,
                  {"instanceId": instance_id, "monitorMode": False, "sSHPublicKey": key, "serialPort": 0},
                  {"requestId": str(uuid.uuid4()), "success": True}, at)  # fmt: skip


def put_bucket_policy(actor: Actor, region: str, bucket: str, at: datetime | None = None) -> dict[str, Any]:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
              "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}  # fmt: skip
    return record(actor, "PutBucketPolicy", "s3.amazonaws.com", region,
                  {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", "bucketPolicy": policy,
                   "policy": ""}, None, at)  # fmt: skip


def get_secret_value(actor: Actor, region: str, secret_id: str, at: datetime | None = None) -> dict[str, Any]:
    return record(actor, "GetSecretValue", "secretsmanager.amazonaws.com", region, {"secretId": secret_id}, None,
                  at, read_only=True)  # fmt: skip


class SerialConsoleAccess:
    """EC2 serial console access per account and region (moto lacks the API): off until enabled."""

    def __init__(self) -> None:
        self.enabled: set[tuple[str, str]] = set()

    def __call__(self, call: Call) -> Any:
        where = (call.account, call.region)
        if call.action == "ec2:EnableSerialConsoleAccess":
            self.enabled.add(where)
        elif call.action == "ec2:DisableSerialConsoleAccess":
            self.enabled.discard(where)
        elif call.action != "ec2:GetSerialConsoleAccessStatus":
            return None
        return reply(200, {"SerialConsoleAccessEnabled": where in self.enabled})


def share_db_snapshot(actor: Actor, region: str, snapshot: str, account: str, *, cluster: bool = False,
                      at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """``rds:ModifyDBSnapshotAttribute`` (or the cluster one) adding ``account`` to ``restore``."""
    rds = actor.aws.client("rds", region)
    if cluster:
        resp = rds.modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier=snapshot, AttributeName="restore", ValuesToAdd=[account]
        )["DBClusterSnapshotAttributesResult"]
        key, name = "dBClusterSnapshotIdentifier", "ModifyDBClusterSnapshotAttribute"
        attributes = resp["DBClusterSnapshotAttributes"]
    else:
        resp = rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier=snapshot, AttributeName="restore", ValuesToAdd=[account]
        )["DBSnapshotAttributesResult"]
        key, name = "dBSnapshotIdentifier", "ModifyDBSnapshotAttribute"
        attributes = resp["DBSnapshotAttributes"]
    response = {key: snapshot, ("dBClusterSnapshotAttributes" if cluster else "dBSnapshotAttributes"): [
        {"attributeName": a["AttributeName"], "attributeValues": a.get("AttributeValues", [])} for a in attributes]}  # fmt: skip
    return record(actor, name, "rds.amazonaws.com", region,
                  {key: snapshot, "attributeName": "restore", "valuesToAdd": [account]}, response, at)  # fmt: skip


def stop_logging(actor: Actor, region: str, trail: str, at: datetime | None = None) -> dict[str, Any]:
    """``cloudtrail:StopLogging`` on a trail (Stratus ``defense-evasion.cloudtrail-stop``)."""
    actor.aws.client("cloudtrail", region).stop_logging(Name=trail)
    return record(actor, "StopLogging", "cloudtrail.amazonaws.com", region, {"name": trail}, None, at)


def update_trust(actor: Actor, role: str, document: str, at: datetime | None = None) -> dict[str, Any]:
    """``iam:UpdateAssumeRolePolicy`` (Stratus ``iam-backdoor-role``: the role now trusts the attacker's account)."""
    actor.aws.client("iam").update_assume_role_policy(RoleName=role, PolicyDocument=document)
    return record(actor, "UpdateAssumeRolePolicy", "iam.amazonaws.com", "us-east-1",
                  {"roleName": role, "policyDocument": document}, None, at)  # fmt: skip


class RolesAnywhere:
    """IAM Roles Anywhere trust anchors (moto has no Roles Anywhere at all): create, get, enable, disable, per
    account and region, answered in the shapes the service returns."""

    def __init__(self) -> None:
        self.anchors: dict[str, dict[str, Any]] = {}

    def __call__(self, call: Call) -> Any:
        if call.service != "rolesanywhere":
            return None
        if call.operation == "CreateTrustAnchor":
            anchor_id = str(uuid.uuid4())
            anchor = {
                "trustAnchorId": anchor_id,
                "trustAnchorArn": f"arn:aws:rolesanywhere:{call.region}:{call.account}:trust-anchor/{anchor_id}",
                "name": call.params["name"],
                "enabled": bool(call.params.get("enabled", False)),
                "source": call.params["source"],
                "tags": list(call.params.get("tags") or []),
                "createdAt": datetime.now(UTC),
                "updatedAt": datetime.now(UTC),
            }
            self.anchors[anchor_id] = anchor
            return reply(201, {"trustAnchor": {k: v for k, v in anchor.items() if k != "tags"}})
        if call.operation == "ListTagsForResource":
            arn = str(call.params.get("resourceArn", ""))
            tagged = next((a for a in self.anchors.values() if a["trustAnchorArn"] == arn), None)
            if tagged is None:
                return error("ResourceNotFoundException", "Resource not found", 404)
            return reply(200, {"tags": list(tagged["tags"])})
        anchor_id = str(call.params.get("trustAnchorId", ""))
        found = self.anchors.get(anchor_id)
        if found is None or not found["trustAnchorArn"].startswith(f"arn:aws:rolesanywhere:{call.region}:"):
            return error("ResourceNotFoundException", "Resource not found", 404)
        if call.operation in ("EnableTrustAnchor", "DisableTrustAnchor"):
            found["enabled"] = call.operation == "EnableTrustAnchor"
            found["updatedAt"] = datetime.now(UTC)
        elif call.operation != "GetTrustAnchor":
            return error("InvalidRequest", f"{call.operation} is not emulated", 400)
        return reply(200, {"trustAnchor": {k: v for k, v in found.items() if k != "tags"}})


CA_BUNDLE = "-----BEGIN CERTIFICATE-----\nMIIBEXAMPLE\n-----END CERTIFICATE-----\n"


def create_trust_anchor(actor: Actor, region: str, name: str, at: datetime | None = None) -> dict[str, Any]:
    """``rolesanywhere:CreateTrustAnchor`` on the attacker's CA (Stratus ``rolesanywhere-create-trust-anchor``)."""
    source = {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": CA_BUNDLE}}
    anchor = actor.aws.client("rolesanywhere", region).create_trust_anchor(name=name, source=source, enabled=True)[
        "trustAnchor"
    ]
    response = {"trustAnchor": {"trustAnchorId": anchor["trustAnchorId"], "trustAnchorArn": anchor["trustAnchorArn"],
                                "name": name, "enabled": True, "source": source}}  # fmt: skip
    return record(actor, "CreateTrustAnchor", "rolesanywhere.amazonaws.com", region,
                  {"enabled": True, "name": name, "source": source}, response, at)  # fmt: skip
