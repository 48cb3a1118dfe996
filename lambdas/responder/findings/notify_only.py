"""The families with no safe automatic change: EKS audit logs and Runtime Monitoring on EKS, RDS login activity,
Malware Protection for S3 objects, EBS snapshots, AMIs and backups - a notification at GuardDuty's severity naming
the target and what a human should do; and the last family, which every finding matches."""

from __future__ import annotations

from ..flows import NOTICE
from .base import family
from .models import EksClusterDetails, RdsDbInstanceDetails, S3BucketDetail

NOTIFY_RESOURCES = ("EKSCluster", "KubernetesCluster", "RDSDBInstance", "RDSLimitlessDB", "S3Object", "EBSSnapshot",
                    "EC2Image", "RecoveryPoint")  # fmt: skip
HUMAN_REASON = "no safe automatic change: a notification at GuardDuty's severity naming the target and what to do"

family(
    "EKS audit logs and Runtime on EKS, RDS login, Malware Protection for S3 / EBS / AMI / Backup",
    order=70,
    types=("*",),
    resources=NOTIFY_RESOURCES,
    response="notify-human",
    reason=HUMAN_REASON,
    flows=(NOTICE,),
    details=(
        ("resource.eksClusterDetails", EksClusterDetails),
        ("resource.rdsDbInstanceDetails", RdsDbInstanceDetails),
        ("resource.s3BucketDetails", S3BucketDetail),
    ),
)
FALLBACK = family(
    "Anything else",
    order=1000,
    types=("*",),
    resources=None,
    response="notify-human",
    reason="no automatic response for this finding type",
    flows=(NOTICE,),
)
