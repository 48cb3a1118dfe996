"""A multi-region management-events trail: "AWS API Call via CloudTrail" events reach EventBridge
only while a trail is logging. Skip it (context createTrail=false) when the account or the
organization already has one.

In organization mode it is an *organization trail*: it logs in every account of the organization - the
management account too - and so puts each member's own "AWS API Call via CloudTrail" events on that member's
EventBridge, where the member stack's rules forward them (an account trail in the hub logs the hub only).
Creating one needs the hub to be the management account or CloudTrail's delegated administrator, with trusted
access for CloudTrail enabled (README, Organization mode). AWS allows five trails per region per account; an
organization trail counts in each member too."""

from __future__ import annotations

from aws_cdk import Aws, CfnResource, Duration, RemovalPolicy
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct
from responder.core import own_names

from .guard import harden_trail_bucket
from .keys import evidence_key
from .nag import acknowledge

TRAIL_NAME = own_names.TRAIL


class ManagementTrail(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, organization_id: str = "") -> None:
        super().__init__(scope, construct_id)
        # S3 server access logs can only be delivered to a bucket encrypted with SSE-S3 (S3's documentation).
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        acknowledge(
            access_logs, "AwsSolutions-S1", "This bucket receives the trail bucket's server access logs itself."
        )
        trail_arn = f"arn:{Aws.PARTITION}:cloudtrail:{Aws.REGION}:{Aws.ACCOUNT_ID}:trail/{TRAIL_NAME}"
        self.key = evidence_key(self, "Key", "Encrypts the compromise responder's management-events trail")
        # AWS's CloudTrail key policy: encrypting is bound to this account's trails by the encryption context,
        # DescribeKey in a statement of its own - its request carries no encryption context, so under that
        # condition it would never be allowed (and the trail could not be created with this key).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TheTrailEncryptsItsLogs",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "StringEquals": {"aws:SourceArn": trail_arn},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{Aws.PARTITION}:cloudtrail:*:{Aws.ACCOUNT_ID}:trail/*"
                        )
                    },
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TheTrailDescribesItsKey",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
            )
        )
        self.bucket = s3.Bucket(
            self,
            "Logs",
            bucket_name=own_names.trail_bucket(Aws.ACCOUNT_ID, Aws.REGION),  # fixed: tamper calls name it
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="trail-bucket/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            trail_name=TRAIL_NAME,
            bucket=self.bucket,
            encryption_key=self.key,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            management_events=cloudtrail.ReadWriteType.WRITE_ONLY,
            is_organization_trail=bool(organization_id),
            org_id=organization_id or None,
        )
        harden_trail_bucket(self.bucket)  # "Guarding the responder"
        # Confused deputy: CDK's grants to CloudTrail on the bucket do not say which trail; bind each to this one.
        policy = self.bucket.policy
        assert policy is not None
        cfn = policy.node.default_child
        assert isinstance(cfn, CfnResource)
        for n, statement in enumerate(policy.document.to_json()["Statement"]):
            if "cloudtrail.amazonaws.com" in str(statement.get("Principal", {}).get("Service")):  # a token
                condition = statement.get("Condition", {})
                equals = {**condition.get("StringEquals", {}), "aws:SourceArn": trail_arn}
                cfn.add_property_override(
                    f"PolicyDocument.Statement.{n}.Condition", {**condition, "StringEquals": equals}
                )
