"""$/hour of the kinds beyond EC2: small tables, each with its source (us-east-1 list prices, rounded).

Like ``responder.pricing`` for instances, they give the order of magnitude of the money a containment
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
