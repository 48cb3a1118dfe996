"""An attacker's CloudTrail trail, seeded as records for ``LookupEvents``: what a stolen key typically does.

Recon first and most (who am I, what is here, in every region), then changes: policies attached, an instance
launched, a bucket policy opened, a KMS key scheduled for deletion, logging stopped, GuardDuty switched off.
The calls are only recorded, not made against moto: the trail is evidence to read, not state to contain.
Deterministic (``random.Random(seed)``), so a test can count what it seeded.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .cloudtrail import Identity, cloudtrail_detail

if TYPE_CHECKING:
    from . import EmulatedAws

# service -> (event name, read-only, weight): recon calls are the bulk of a real trail
CALLS: dict[str, tuple[tuple[str, bool, int], ...]] = {
    "sts": (("GetCallerIdentity", True, 1),),
    "ec2": (
        ("DescribeInstances", True, 8),
        ("DescribeRegions", True, 4),
        ("DescribeSecurityGroups", True, 3),
        ("DescribeVpcs", True, 2),
        ("RunInstances", False, 1),
        ("AuthorizeSecurityGroupIngress", False, 1),
    ),
    "iam": (
        ("ListUsers", True, 4),
        ("ListRoles", True, 3),
        ("GetAccountAuthorizationDetails", True, 2),
        ("ListAttachedUserPolicies", True, 2),
        ("AttachUserPolicy", False, 1),
        ("PutUserPolicy", False, 1),
    ),
    "s3": (
        ("ListBuckets", True, 5),
        ("GetBucketAcl", True, 3),
        ("GetBucketPolicy", True, 2),
        ("PutBucketPolicy", False, 1),
        ("PutBucketAcl", False, 1),
    ),
    "kms": (
        ("ListKeys", True, 4),
        ("ListAliases", True, 3),
        ("DescribeKey", True, 2),
        ("ScheduleKeyDeletion", False, 1),
    ),
    "cloudtrail": (("DescribeTrails", True, 4), ("GetTrailStatus", True, 3), ("StopLogging", False, 1)),
    "guardduty": (("ListDetectors", True, 4), ("GetDetector", True, 2), ("DeleteDetector", False, 1)),
    "secretsmanager": (("ListSecrets", True, 3), ("GetSecretValue", True, 2)),
}
GLOBAL_SERVICES = {"iam": "us-east-1"}  # IAM records every call in us-east-1
SOURCE_IPS = ("203.0.113.77", "203.0.113.78", "198.51.100.201")  # documentation ranges (RFC 5737)
USER_AGENTS = (
    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.kali prompt/off command/ec2.describe-instances",
    "Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.6",
    "S3 Browser/11.5.5 https://s3browser.com",
)
DENIED = {"ec2": "Client.UnauthorizedOperation", "s3": "AccessDenied"}  # how refusals read in each service


@dataclass(frozen=True)
class SeededTrail:
    """The records seeded, oldest first: a test counts its expectations from them."""

    records: list[dict[str, Any]]


def attacker_trail(
    aws: EmulatedAws,
    identity: Identity,
    *,
    calls: int,
    services: Sequence[str],
    regions: Sequence[str],
    start: datetime,
    end: datetime,
    seed: int = 15,
) -> SeededTrail:
    """``calls`` records spread over ``services`` and ``regions`` (IAM in us-east-1), in time order between
    ``start`` and ``end``; every service and every region gets calls, about one in ten changes is refused."""
    rng = random.Random(seed)
    span = (end - start) / max(1, calls)
    records = []
    for i in range(calls):
        service = services[i % len(services)]
        region = GLOBAL_SERVICES.get(service) or regions[(i // len(services)) % len(regions)]
        names, read_only, weights = zip(*CALLS[service], strict=True)
        pick = rng.choices(range(len(names)), weights=weights)[0]
        name = names[pick]
        request, response = _shapes(service, name, rng, identity, region)
        refused = not read_only[pick] and rng.random() < 0.1
        detail = cloudtrail_detail(
            identity,
            name,
            f"{service}.amazonaws.com",
            region,
            request,
            None if refused else response,
            when=start + span * i,
            error_code=DENIED.get(service, "AccessDenied") if refused else None,
            error_message="You are not authorized to perform this operation." if refused else None,
            source_ip=SOURCE_IPS[0] if rng.random() < 0.8 else rng.choice(SOURCE_IPS[1:]),
            user_agent=rng.choices(USER_AGENTS, weights=(6, 3, 1))[0],
            read_only=read_only[pick],
        )
        aws.trail.record(detail)
        records.append(detail)
    return SeededTrail(records)


def _shapes(
    service: str, name: str, rng: random.Random, identity: Identity, region: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Request parameters and response elements as CloudTrail records them (None for most reads)."""
    bucket = "example-corp-backups"
    if name == "RunInstances":
        instance = f"i-0{rng.getrandbits(64):016x}"[:19]
        request = {"instanceType": "p3.16xlarge", "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890"}]}}
        return request, {
            "requestId": str(uuid.uuid4()),
            "instancesSet": {"items": [{"instanceId": instance, "instanceType": "p3.16xlarge"}]},
        }
    if name == "AuthorizeSecurityGroupIngress":
        return {"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": [{"ipProtocol": "-1"}]}}, {
            "_return": True
        }
    if name in ("AttachUserPolicy", "PutUserPolicy"):
        policy = {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
        if name == "PutUserPolicy":
            policy = {"policyName": "backup", "policyDocument": '{"Statement":[{"Effect":"Allow","Action":"*"}]}'}
        return {"userName": identity.name, **policy}, None
    if name in ("PutBucketPolicy", "PutBucketAcl", "GetBucketAcl", "GetBucketPolicy"):
        return {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com"}, None
    if name == "ScheduleKeyDeletion":
        key = f"arn:aws:kms:{region}:{identity.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        return {"keyId": key, "pendingWindowInDays": 7}, {"keyId": key, "keyState": "PendingDeletion"}
    if name == "StopLogging":
        return {"name": f"arn:aws:cloudtrail:us-east-1:{identity.account}:trail/management-events"}, None
    if name == "DeleteDetector":
        return {"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}, None
    return None, None
