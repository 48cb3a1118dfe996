"""$/hour of the kinds beyond EC2: small tables, each with its source (us-east-1 list prices, rounded).

Like ``responder.decide.pricing`` for instances, they give the order of magnitude of the money a containment
stopped, not an invoice.
"""

from __future__ import annotations

# AWS Fargate pricing, https://aws.amazon.com/fargate/pricing/ (Linux/x86, us-east-1)
FARGATE_VCPU_HOUR = 0.04048
FARGATE_GB_HOUR = 0.004445
FARGATE_SOURCE = "aws.amazon.com/fargate/pricing (Linux/x86, us-east-1): $0.04048/vCPU-hour, $0.004445/GB-hour"

# AWS Lambda pricing, https://aws.amazon.com/lambda/pricing/ (x86, us-east-1): $0.0000166667 per GB-second.
# A function is priced at full concurrency: the account's default concurrency limit (1000) running all hour.
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_FULL_CONCURRENCY = 1000
LAMBDA_SOURCE = (
    "aws.amazon.com/lambda/pricing (x86, us-east-1): $0.0000166667/GB-second, at the default 1000 concurrent executions"
)


def fargate_task_hour(vcpu: float, memory_gb: float) -> float:
    return round(vcpu * FARGATE_VCPU_HOUR + memory_gb * FARGATE_GB_HOUR, 4)


def lambda_full_concurrency_hour(memory_mb: int, concurrency: int = LAMBDA_FULL_CONCURRENCY) -> float:
    return round(memory_mb / 1024 * 3600 * LAMBDA_GB_SECOND * concurrency, 2)


# Amazon SageMaker AI pricing, https://aws.amazon.com/sagemaker/pricing/ (on-demand, us-east-1): real-time
# inference and notebook instances; other types estimated as the EC2 type's price plus SageMaker's ~25 %.
SAGEMAKER_PRICES: dict[str, float] = {
    "ml.t3.medium": 0.05,
    "ml.m5.xlarge": 0.23,
    "ml.c5.xlarge": 0.204,
    "ml.g4dn.xlarge": 0.7364,
    "ml.g5.xlarge": 1.408,
    "ml.p3.2xlarge": 3.825,
    "ml.p3.16xlarge": 28.152,
    "ml.p4d.24xlarge": 37.688,
}
SAGEMAKER_SOURCE = "aws.amazon.com/sagemaker/pricing (on-demand, us-east-1); others: EC2 price + 25 %"


def sagemaker_hour(instance_type: str, count: int = 1) -> float:
    from ..decide.pricing import hourly_price

    each = SAGEMAKER_PRICES.get(instance_type) or round(hourly_price(instance_type.removeprefix("ml.")) * 1.25, 4)
    return round(each * max(1, count), 4)


# Amazon Lightsail pricing, https://aws.amazon.com/lightsail/pricing/ (Linux bundles, $/month / 730 hours)
LIGHTSAIL_MONTHLY = {"nano": 5.0, "micro": 7.0, "small": 12.0, "medium": 24.0, "large": 44.0, "xlarge": 84.0,
                     "2xlarge": 164.0, "4xlarge": 384.0}  # fmt: skip
LIGHTSAIL_SOURCE = "aws.amazon.com/lightsail/pricing (Linux bundles, monthly price / 730 hours)"


def lightsail_hour(bundle_id: str) -> float:
    """``large_3_0`` -> the large bundle's monthly price / 730 (unknown bundles: the large one's)."""
    return round(LIGHTSAIL_MONTHLY.get(bundle_id.split("_", 1)[0], LIGHTSAIL_MONTHLY["large"]) / 730, 4)


# AWS CodeBuild pricing, https://aws.amazon.com/codebuild/pricing/ (on-demand EC2 compute, Linux, us-east-1, $/minute x 60)
CODEBUILD_HOUR = {"BUILD_GENERAL1_SMALL": 0.30, "BUILD_GENERAL1_MEDIUM": 0.60, "BUILD_GENERAL1_LARGE": 1.20,
                  "BUILD_GENERAL1_XLARGE": 2.40, "BUILD_GENERAL1_2XLARGE": 4.80, "BUILD_GENERAL1_GPU_SMALL": 10.80,
                  "BUILD_GENERAL1_GPU_LARGE": 10.80}  # fmt: skip
CODEBUILD_SOURCE = "aws.amazon.com/codebuild/pricing (on-demand Linux, us-east-1, per-minute price x 60)"

# AWS Glue pricing, https://aws.amazon.com/glue/pricing/ (Spark/Python jobs, us-east-1): $0.44 per DPU-hour
GLUE_DPU_HOUR = 0.44
GLUE_SOURCE = "aws.amazon.com/glue/pricing (us-east-1): $0.44 per DPU-hour"
GLUE_WORKER_DPU = {"Standard": 1.0, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "G.025X": 0.25, "Z.2X": 2.0}
