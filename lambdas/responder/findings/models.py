"""Where the GuardDuty finding families name their targets: typed models, GuardDuty's severity bands, and the pure
extraction of an attack sequence's targets (contract "GuardDuty finding families").

Pure (the parser types ``FindingResource`` and ``FindingService.detection`` with these, so a malformed one is refused
before anything changes); each family module declares which of them it reads (``FindingFamily.details``).
Shapes follow GuardDuty's API model (``GetFindings``; EventBridge delivers the same JSON in ``detail``):
``Finding.service.detection.sequence`` (``Sequence``: ``actors[]``, ``resources[]`` (``ResourceV2``),
``signals[]``), ``Finding.resource.ecsClusterDetails.taskDetails``, ``.lambdaDetails``, ``.containerDetails``,
``.s3BucketDetails[]``, ``.eksClusterDetails``, ``.rdsDbInstanceDetails``. Every model allows extra fields
(GuardDuty adds fields over time) and every field is optional unless the response cannot do without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
INSTANCE_ID = re.compile(r"\b(i-(?:[0-9a-f]{8}|[0-9a-f]{17}))\b")
ROLE_SESSION_ID = re.compile(r"^(AROA[A-Z0-9]{12,}):([\w+=,.@-]{2,64})$")  # aws:userid of a role session
ASSUMED_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:sts::(\d{12}):assumed-role/([\w+=,.@-]{1,64})/([\w+=,.@-]{2,64})$")
ECS_TASK_ARN = re.compile(r"^arn:aws[\w-]*:ecs:([a-z0-9-]+):(\d{12}):task/([\w-]+)/([0-9a-f]{32}|[\w-]{36})$")
IAM_NAME = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


# --- Extended Threat Detection: service.detection.sequence -------------------------------------------------
class SequenceAccount(_Model):
    uid: str | None = Field(None, description="The account the activity took place in", examples=["123456789012"])
    name: str | None = None


class SequenceUser(_Model):
    """``Actor.user``: the credential the attacker used."""

    name: str | None = Field(None, description="IAM user name, or the role name of a session", examples=["ci-deployer"])
    uid: str | None = Field(
        None,
        description="Principal id: AIDA... of a user, AROA...:session of a role session (the session's aws:userid)",
        examples=["AIDACKCEVSQ6C2EXAMPLE", "AROACKCEVSQ6C2EXAMPLE:attacker-session"],
    )
    type: str | None = Field(None, description="IAMUser | AssumedRole | Root | ...", examples=["IAMUser"])
    credentialUid: str | None = Field(
        None, description="The access key the actor used (AKIA... long-term, ASIA... temporary)"
    )
    account: SequenceAccount | None = None


class SequenceSession(_Model):
    uid: str | None = None
    mfaStatus: str | None = None
    createdTime: datetime | None = None
    issuer: str | None = Field(None, description="The role ARN a session was issued from")


class SequenceActor(_Model):
    id: str = Field(description="Referenced by signals[].actorIds")
    user: SequenceUser | None = None
    session: SequenceSession | None = None


class InstanceUids(_Model):
    """``ResourceData`` members that only list instances (Auto Scaling group, instance profile, clusters)."""

    ec2InstanceUids: list[str] = Field(default_factory=list, examples=[["i-0123456789abcdef0"]])


class SequenceAccessKey(_Model):
    principalId: str | None = None
    userName: str | None = None
    userType: str | None = None


class SequenceResourceData(_Model):
    accessKey: SequenceAccessKey | None = None
    autoscalingAutoScalingGroup: InstanceUids | None = None
    iamInstanceProfile: InstanceUids | None = None
    ecsCluster: InstanceUids | None = None
    eksCluster: InstanceUids | None = None


class SequenceResource(_Model):
    """``ResourceV2``: one resource the sequence involves."""

    uid: str = Field(description="Key id, instance id, bucket name, task or cluster ARN ...")
    name: str | None = None
    accountId: str | None = Field(None, description="The account that owns the resource")
    resourceType: str = Field(examples=["ACCESS_KEY", "S3_BUCKET", "EC2_INSTANCE", "ECS_TASK", "EKS_CLUSTER"])
    region: str | None = None
    service: str | None = None
    data: SequenceResourceData | None = None


class SequenceSignal(_Model):
    uid: str | None = None
    type: str | None = Field(None, examples=["FINDING", "CLOUD_TRAIL", "S3_DATA_EVENTS", "RUNTIME_MONITORING"])
    name: str | None = Field(None, description="An API name or a finding type")
    description: str | None = None
    severity: float | None = None
    count: int | None = None
    resourceUids: list[str] = Field(default_factory=list)
    actorIds: list[str] = Field(default_factory=list)


class Sequence(_Model):
    uid: str | None = None
    description: str | None = None
    actors: list[SequenceActor] = Field(default_factory=list)
    resources: list[SequenceResource] = Field(default_factory=list)
    signals: list[SequenceSignal] = Field(default_factory=list)


class Detection(_Model):
    sequence: Sequence | None = None


# --- resource details of the other families -----------------------------------------------------------------
class EcsTaskDetails(_Model):
    arn: str | None = Field(
        None,
        description="The task ARN",
        examples=["arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef"],
    )
    definitionArn: str | None = None
    launchType: str | None = Field(None, examples=["FARGATE", "EC2"])
    containers: list[dict[str, Any]] = Field(default_factory=list)


class EcsClusterDetails(_Model):
    name: str | None = None
    arn: str | None = Field(None, description="The cluster ARN: DescribeTasks needs it")
    status: str | None = None
    taskDetails: EcsTaskDetails | None = None


class ContainerDetails(_Model):
    """``resource.containerDetails``: a container GuardDuty saw outside ECS and EKS (a standalone container)."""

    id: str | None = None
    name: str | None = None
    image: str | None = None
    containerRuntime: str | None = None


class LambdaDetails(_Model):
    functionArn: str | None = None
    functionName: str | None = Field(None, examples=["image-resizer"])
    functionVersion: str | None = None
    role: str | None = Field(None, description="The execution role ARN: its sessions are revoked")
    revisionId: str | None = None
    tags: list[dict[str, Any]] = Field(default_factory=list, description="[{key, value}]: the protect tag")


class S3BucketDetail(_Model):
    arn: str | None = None
    name: str | None = Field(None, examples=["example-bucket"])
    type: str | None = None
    s3ObjectDetails: list[dict[str, Any]] = Field(
        default_factory=list, description="Malware Protection for S3: the objects scanned (key, versionId, hash)"
    )


class EksClusterDetails(_Model):
    name: str | None = None
    arn: str | None = None
    vpcId: str | None = None


class RdsDbInstanceDetails(_Model):
    dbInstanceIdentifier: str | None = None
    dbClusterIdentifier: str | None = None
    dbInstanceArn: str | None = None
    engine: str | None = None


# --- severity: GuardDuty's bands ----------------------------------------------------------------------------
def severity_band(severity: float) -> str:
    """GuardDuty's band: Critical 9.0-10.0, High 7.0-8.9, Medium 4.0-6.9, Low below (the report's words)."""
    if severity >= 9.0:
        return "critical"
    if severity >= 7.0:
        return "high"
    if severity >= 4.0:
        return "medium"
    return "low"


# --- the targets a finding names (pure) ---------------------------------------------------------------------
@dataclass(frozen=True)
class KeyTarget:
    access_key_id: str
    user_name: str | None


@dataclass(frozen=True)
class SessionTarget:
    role_name: str
    user_id: str | None  # AROA...:session, the aws:userid of exactly that session; None: unknown
    credential: str | None  # ASIA...


@dataclass
class Targets:
    """What a finding names, by kind; ``elsewhere`` are named targets the responder may not act on (another
    account), each with the reason."""

    keys: list[KeyTarget] = field(default_factory=list)
    sessions: list[SessionTarget] = field(default_factory=list)
    root: list[str] = field(default_factory=list)
    instances: list[tuple[str, str | None]] = field(default_factory=list)  # (instance id, region)
    tasks: list[tuple[str, str | None]] = field(default_factory=list)  # (task ARN, cluster ARN)
    buckets: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # named for a human (EKS clusters, containers ...)
    elsewhere: list[str] = field(default_factory=list)

    def key_ids(self) -> set[str]:
        return {k.access_key_id for k in self.keys}

    def add(self, items: list[Any], item: Any) -> None:
        if item not in items:
            items.append(item)


def role_of_session(name: str | None, uid: str | None, issuer: str | None) -> str | None:
    """The role name of a session: the user's name, or the role in an assumed-role ARN, or the issuer ARN."""
    for text in (name, issuer):
        if not text:
            continue
        found = ASSUMED_ROLE_ARN.match(text)
        if found:
            return found.group(2)
        if text.startswith("arn:") and ":role/" in text:
            return text.rsplit("/", 1)[-1]
        if IAM_NAME.match(text):
            return text
    return None


def sequence_targets(sequence: Sequence, account: str | None, region: str | None) -> Targets:
    """The credentials, instances, tasks and buckets an attack sequence names (actors first, then resources)."""
    out = Targets()

    def mine(owner: str | None, what: str) -> bool:
        if owner and account and owner != account:
            out.add(out.elsewhere, f"{what} (account {owner}: not the account acted on)")
            return False
        return True

    for actor in sequence.actors:
        user = actor.user
        if user is None:
            continue
        owner = user.account.uid if user.account else None
        if user.type == "Root":
            if mine(owner, f"root credentials {user.credentialUid or ''}".strip()):
                out.add(out.root, user.credentialUid or "root")
        elif user.type == "IAMUser" and user.credentialUid and ACCESS_KEY_ID.match(user.credentialUid):
            if user.credentialUid.startswith("AKIA") and mine(owner, f"access key {user.credentialUid}"):
                out.add(out.keys, KeyTarget(user.credentialUid, user.name))
        elif user.type == "AssumedRole":
            role = role_of_session(user.name, user.uid, actor.session.issuer if actor.session else None)
            user_id = user.uid if user.uid and ROLE_SESSION_ID.match(user.uid) else None
            if role and mine(owner, f"session {user_id or user.credentialUid} of role {role}"):
                out.add(out.sessions, SessionTarget(role, user_id, user.credentialUid))
    for resource in sequence.resources:
        kind, uid = resource.resourceType, resource.uid
        here = mine(resource.accountId, f"{kind} {uid}")
        data = resource.data or SequenceResourceData()
        if kind == "ACCESS_KEY":
            key = data.accessKey or SequenceAccessKey()
            if key.userType == "Root":
                if here:
                    out.add(out.root, uid)
            elif key.userType == "AssumedRole":
                role = role_of_session(key.userName, key.principalId, None)
                user_id = key.principalId if key.principalId and ROLE_SESSION_ID.match(key.principalId) else None
                known = {s.credential for s in out.sessions} | {s.user_id for s in out.sessions}
                if here and role and uid not in known and user_id not in known:
                    out.add(out.sessions, SessionTarget(role, user_id, uid))
            elif ACCESS_KEY_ID.match(uid) and uid.startswith("AKIA") and here and uid not in out.key_ids():
                out.add(out.keys, KeyTarget(uid, key.userName))
        elif kind == "S3_BUCKET":
            out.add(out.buckets, resource.name or uid)
        elif kind == "EC2_INSTANCE":
            found = INSTANCE_ID.search(uid)
            if found and here:
                out.add(out.instances, (found.group(1), resource.region or region))
        elif kind in ("AUTOSCALING_AUTO_SCALING_GROUP", "IAM_INSTANCE_PROFILE"):
            holder = data.autoscalingAutoScalingGroup if kind.startswith("AUTO") else data.iamInstanceProfile
            for instance in holder.ec2InstanceUids if holder and here else []:
                out.add(out.instances, (instance, resource.region or region))
        elif kind == "ECS_TASK":
            task = ECS_TASK_ARN.match(uid)
            if task and here:
                cluster = f"arn:aws:ecs:{task.group(1)}:{task.group(2)}:cluster/{task.group(3)}"
                out.add(out.tasks, (uid, cluster))
        elif kind in ("EKS_CLUSTER", "KUBERNETES_WORKLOAD", "CONTAINER", "ECS_CLUSTER"):
            out.add(out.others, f"{kind} {resource.name or uid}")
    return out
