"""S3 Protection (``resource.s3BucketDetails[]``). A bucket finding that names a credential (``accessKeyDetails``)
is answered by the credential families (their types include ``…:S3/*``, their resources ``S3Bucket``): the
credential contained, the buckets listed under NEEDS A HUMAN (``bucket_targets``); one that names none only
notifies: a bucket policy or ACL is the team's call."""

from __future__ import annotations

from ..flows import NOTICE
from ..parse.events import FindingDetail
from .base import family
from .models import S3BucketDetail, Targets

BUCKETS = (("resource.s3BucketDetails", S3BucketDetail),)


def bucket_targets(finding: FindingDetail) -> Targets:
    """The buckets the finding names, to be listed for a human (the responder changes no bucket)."""
    return Targets(buckets=[b.name or b.arn or "?" for b in finding.resource.s3BucketDetails or []])


family(
    "S3 Protection without proof of credential abuse (Policy:S3, PenTest:S3, no credential)",
    order=30,
    types=("*",),
    resources=("S3Bucket",),
    response="notify-only",
    reason="notification naming the buckets: a bucket policy or ACL is the team's call",
    flows=(NOTICE,),
    details=BUCKETS,
)
