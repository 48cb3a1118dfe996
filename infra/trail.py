"""A multi-region management-events trail: "AWS API Call via CloudTrail" events reach EventBridge
only while a trail is logging. Skip it (context createTrail=false) when the account or the
organization already has one."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .nag import acknowledge


class ManagementTrail(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
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
        self.bucket = s3.Bucket(
            self,
            "Logs",
            encryption=s3.BucketEncryption.S3_MANAGED,
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
            bucket=self.bucket,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            management_events=cloudtrail.ReadWriteType.WRITE_ONLY,
        )
