"""Someone holding a credential (the attacker, or the team): each call goes to moto and into the
emulated CloudTrail, so the launch watcher and LookupEvents both see who did what."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .cloudtrail import EC2_XMLNS, Identity, cloudtrail_detail

if TYPE_CHECKING:
    from . import EmulatedAws


@dataclass
class Launched:
    """What one call created, and the EventBridge event CloudTrail delivered for it."""

    region: str
    ids: list[str]
    instance_ids: list[str] = field(default_factory=list)
    event: dict[str, Any] = field(default_factory=dict)


def _tags(tags: dict[str, str] | None, resource_type: str) -> list[dict[str, Any]]:
    if not tags:
        return []
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


class Actor:
    def __init__(self, aws: EmulatedAws, identity: Identity) -> None:
        self.aws = aws
        self.identity = identity

    @property
    def key(self) -> str:
        return self.identity.access_key_id

    def _record(
        self, name: str, source: str, region: str, request: Any, response: Any, at: datetime | None
    ) -> dict[str, Any]:
        detail = cloudtrail_detail(self.identity, name, source, region, request, response, when=at or datetime.now(UTC))
        return self.aws.trail.record(detail)

    # --- EC2 launches ------------------------------------------------------------------
    def run_instances(
        self,
        region: str,
        instance_type: str,
        count: int = 1,
        *,
        tags: dict[str, str] | None = None,
        termination_protection: bool = False,
        at: datetime | None = None,
    ) -> Launched:
        from . import clock

        ec2 = self.aws.client("ec2", region)
        with clock(at):
            resp = ec2.run_instances(
                ImageId=self.aws.ami(region),
                InstanceType=instance_type,
                MinCount=count,
                MaxCount=count,
                DisableApiTermination=termination_protection,
                TagSpecifications=_tags(tags, "instance"),
            )
        ids = [i["InstanceId"] for i in resp["Instances"]]
        if termination_protection:
            self.aws.protection.protected.update(ids)
        launch_ms = int((at or datetime.now(UTC)).timestamp() * 1000)
        request: dict[str, Any] = {
            "instancesSet": {"items": [{"imageId": self.aws.ami(region), "minCount": count, "maxCount": count}]},
            "instanceType": instance_type,
            "monitoring": {"enabled": False},
        }
        if termination_protection:
            request["disableApiTermination"] = True
        response = {
            "requestId": str(uuid.uuid4()),
            "reservationId": resp["ReservationId"],
            "ownerId": self.identity.account,
            "instancesSet": {
                "items": [
                    {
                        "instanceId": i,
                        "imageId": self.aws.ami(region),
                        "instanceType": instance_type,
                        "instanceState": {"code": 0, "name": "pending"},
                        "launchTime": launch_ms,
                        "placement": {"availabilityZone": f"{region}a", "tenancy": "default"},
                    }
                    for i in ids
                ]
            },
        }
        event = self._record("RunInstances", "ec2.amazonaws.com", region, request, response, at)
        return Launched(region, ids, ids, event)

    def request_spot_instances(
        self,
        region: str,
        instance_type: str,
        count: int = 1,
        *,
        price: str = "3.2",
        at: datetime | None = None,
        tags: dict[str, str] | None = None,
    ) -> Launched:
        from . import clock

        ec2 = self.aws.client("ec2", region)
        with clock(at):
            resp = ec2.request_spot_instances(
                SpotPrice=price,
                InstanceCount=count,
                Type="persistent",
                LaunchSpecification={"ImageId": self.aws.ami(region), "InstanceType": instance_type},
                TagSpecifications=_tags(tags, "spot-instances-request"),
            )
        ids = [r["SpotInstanceRequestId"] for r in resp["SpotInstanceRequests"]]
        described = ec2.describe_spot_instance_requests(SpotInstanceRequestIds=ids)["SpotInstanceRequests"]
        instances = [r["InstanceId"] for r in described if r.get("InstanceId")]
        request = {
            "spotPrice": price,
            "instanceCount": count,
            "type": "persistent",
            "launchSpecification": {"imageId": self.aws.ami(region), "instanceType": instance_type},
        }
        response = {
            "requestId": str(uuid.uuid4()),
            "spotInstanceRequestSet": {
                "items": [
                    {
                        "spotInstanceRequestId": sir,
                        "spotPrice": f"{float(price):.6f}",
                        "type": "persistent",
                        "state": "open",
                        "status": {"code": "pending-evaluation"},
                        "launchSpecification": {"imageId": self.aws.ami(region), "instanceType": instance_type},
                    }
                    for sir in ids
                ]
            },
        }
        event = self._record("RequestSpotInstances", "ec2.amazonaws.com", region, request, response, at)
        return Launched(region, ids, instances, event)

    def request_spot_fleet(
        self, region: str, instance_type: str, capacity: int, *, at: datetime | None = None
    ) -> Launched:
        from . import clock

        ec2 = self.aws.client("ec2", region)
        config = {
            "IamFleetRole": f"arn:aws:iam::{self.identity.account}:role/aws-ec2-spot-fleet-tagging-role",
            "TargetCapacity": capacity,
            "AllocationStrategy": "lowestPrice",
            "SpotPrice": "3.2",
            "LaunchSpecifications": [{"ImageId": self.aws.ami(region), "InstanceType": instance_type}],
        }
        with clock(at):
            fleet = ec2.request_spot_fleet(SpotFleetRequestConfig=config)["SpotFleetRequestId"]
        members = ec2.describe_spot_fleet_instances(SpotFleetRequestId=fleet)["ActiveInstances"]
        request = {
            "spotFleetRequestConfig": {
                "iamFleetRole": config["IamFleetRole"],
                "targetCapacity": capacity,
                "allocationStrategy": "lowestPrice",
                "spotPrice": "3.2",
                "launchSpecifications": {"item": [{"imageId": self.aws.ami(region), "instanceType": instance_type}]},
            }
        }
        response = {
            "RequestSpotFleetResponse": {
                "xmlns": EC2_XMLNS,
                "requestId": str(uuid.uuid4()),
                "spotFleetRequestId": fleet,
            }
        }
        event = self._record("RequestSpotFleet", "ec2.amazonaws.com", region, request, response, at)
        return Launched(region, [fleet], [m["InstanceId"] for m in members], event)

    def _launch_template(self, region: str, instance_type: str) -> str:
        ec2 = self.aws.client("ec2", region)
        name = f"lt-{self.identity.name}-{instance_type.replace('.', '-')}"
        found = ec2.describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": [name]}])[
            "LaunchTemplates"
        ]
        if found:
            return str(found[0]["LaunchTemplateId"])
        created = ec2.create_launch_template(
            LaunchTemplateName=name, LaunchTemplateData={"ImageId": self.aws.ami(region), "InstanceType": instance_type}
        )
        return str(created["LaunchTemplate"]["LaunchTemplateId"])

    def create_fleet(self, region: str, instance_type: str, capacity: int, *, at: datetime | None = None) -> Launched:
        from . import clock

        ec2 = self.aws.client("ec2", region)
        template = self._launch_template(region, instance_type)
        with clock(at):
            fleet = ec2.create_fleet(
                Type="maintain",
                TargetCapacitySpecification={"TotalTargetCapacity": capacity, "DefaultTargetCapacityType": "spot"},
                LaunchTemplateConfigs=[{"LaunchTemplateSpecification": {"LaunchTemplateId": template, "Version": "1"}}],
            )["FleetId"]
        members = [m["InstanceId"] for m in ec2.describe_fleet_instances(FleetId=fleet)["ActiveInstances"]]
        request = {
            "CreateFleetRequest": {
                "Type": "maintain",
                "TargetCapacitySpecification": {"TotalTargetCapacity": capacity, "DefaultTargetCapacityType": "spot"},
                "LaunchTemplateConfigs": {
                    "LaunchTemplateSpecification": {"LaunchTemplateId": template, "Version": "1"},
                    "Overrides": {"InstanceType": instance_type, "tag": 1},
                    "tag": 1,
                },
            }
        }
        response = {
            "CreateFleetResponse": {
                "xmlns": EC2_XMLNS,
                "requestId": str(uuid.uuid4()),
                "fleetId": fleet,
                "errorSet": "",
                "fleetInstanceSet": "",
            }
        }
        event = self._record("CreateFleet", "ec2.amazonaws.com", region, request, response, at)
        return Launched(region, [fleet], members, event)

    def create_auto_scaling_group(
        self,
        region: str,
        name: str,
        instance_type: str,
        size: int,
        *,
        at: datetime | None = None,
        tags: dict[str, str] | None = None,
    ) -> Launched:
        from . import clock

        template = self._launch_template(region, instance_type)
        asg = self.aws.client("autoscaling", region)
        with clock(at):
            asg.create_auto_scaling_group(
                AutoScalingGroupName=name,
                MinSize=size,
                MaxSize=size,
                DesiredCapacity=size,
                LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
                AvailabilityZones=[f"{region}a"],
                Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in (tags or {}).items()],
            )
        group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
        request = {
            "autoScalingGroupName": name,
            "launchTemplate": {"launchTemplateId": template, "version": "1"},
            "minSize": size,
            "maxSize": size,
            "desiredCapacity": size,
            "availabilityZones": [f"{region}a"],
        }
        event = self._record("CreateAutoScalingGroup", "autoscaling.amazonaws.com", region, request, None, at)
        return Launched(region, [name], [i["InstanceId"] for i in group["Instances"]], event)

    # --- IAM persistence ---------------------------------------------------------------
    def _iam(self, name: str, request: dict[str, Any], response: Any, at: datetime | None) -> dict[str, Any]:
        return self._record(name, "iam.amazonaws.com", "us-east-1", request, response, at)

    def create_user(self, user: str, *, at: datetime | None = None) -> dict[str, Any]:
        created = self.aws.client("iam").create_user(UserName=user)["User"]
        response = {
            "user": {
                "path": "/",
                "userName": user,
                "userId": created["UserId"],
                "arn": created["Arn"],
                "createDate": _iam_date(at),
            }
        }
        return self._iam("CreateUser", {"userName": user}, response, at)

    def create_access_key(
        self, user: str, *, key_id: str | None = None, at: datetime | None = None
    ) -> tuple[str, dict[str, Any]]:
        from . import adopt_key_id

        generated = self.aws.client("iam").create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
        key = adopt_key_id(self.aws.account, user, generated, key_id, None) if key_id else generated
        response = {
            "accessKey": {"userName": user, "accessKeyId": key, "status": "Active", "createDate": _iam_date(at)}
        }
        return key, self._iam("CreateAccessKey", {"userName": user}, response, at)

    def create_login_profile(self, user: str, *, at: datetime | None = None) -> dict[str, Any]:
        self.aws.client("iam").create_login_profile(
            UserName=user, Password="Emulated-Passw0rd!", PasswordResetRequired=False
        )
        response = {"loginProfile": {"userName": user, "createDate": _iam_date(at), "passwordResetRequired": False}}
        return self._iam("CreateLoginProfile", {"userName": user, "passwordResetRequired": False}, response, at)

    def attach_user_policy(self, user: str, policy_arn: str, *, at: datetime | None = None) -> dict[str, Any]:
        self.aws.client("iam").attach_user_policy(UserName=user, PolicyArn=policy_arn)
        return self._iam("AttachUserPolicy", {"userName": user, "policyArn": policy_arn}, None, at)

    def create_role(self, role: str, trust: str, *, at: datetime | None = None) -> dict[str, Any]:
        created = self.aws.client("iam").create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]
        response = {
            "role": {
                "path": "/",
                "roleName": role,
                "roleId": created["RoleId"],
                "arn": created["Arn"],
                "createDate": _iam_date(at),
                "assumeRolePolicyDocument": trust,
            }
        }
        return self._iam("CreateRole", {"roleName": role, "assumeRolePolicyDocument": trust}, response, at)

    def create_key_pair(self, region: str, name: str, *, at: datetime | None = None) -> dict[str, Any]:
        pair = self.aws.client("ec2", region).create_key_pair(KeyName=name)
        response = {
            "requestId": str(uuid.uuid4()),
            "keyName": name,
            "keyFingerprint": pair["KeyFingerprint"],
            "keyPairId": pair.get("KeyPairId", ""),
            "keyMaterial": "<sensitiveDataRemoved>",
        }
        return self._record("CreateKeyPair", "ec2.amazonaws.com", region, {"keyName": name}, response, at)


def _iam_date(at: datetime | None) -> str:
    when = at or datetime.now(UTC)
    return when.strftime("%b %d, %Y %-I:%M:%S %p")
