"""Lambda Protection (``resource.lambdaDetails``): the function throttled (reserved concurrency 0: no new
invocation) and its execution role's sessions issued before now revoked (the running invocations' credentials);
its code is kept."""

from __future__ import annotations

from typing import Any

from ..actions import ActionName
from ..actions.iam import RevokeRoleSessions
from ..core.model import GLOBAL, Outcome, Step
from ..core.timeutil import iso
from ..flows.base import RECORD, Flow
from ..kinds.lambda_function import ThrottleFunction
from ..parse.events import FindingDetail
from ..report import Report
from ..shell.context import ResponseContext
from .base import family
from .common import finish
from .models import LambdaDetails

FUNCTION_THROTTLE = Flow(
    "function-throttle",
    (ThrottleFunction.capability, RevokeRoleSessions.capability, *RECORD),
    "throttle a Lambda function (reserved concurrency 0) and revoke its role's sessions issued before now",
)


def throttle_function(
    ctx: ResponseContext, function: str, region: str, role_arn: str | None, tags: dict[str, str], reason: str
) -> list[Outcome]:
    """Concurrency 0 (no new invocation), then the execution role's sessions issued before now revoked (the running
    invocations' credentials); the code is kept. The protect tag or a protected role: that part is skipped."""
    steps = []
    if ctx.policy.has_protect_tag(tags):
        why = f"carries the protect tag {ctx.policy.protect_tag_key}=true: not touched"
        steps.append(Step(ActionName.THROTTLE_FUNCTION, function, region, why, status="skipped"))
    else:
        steps.append(Step(ActionName.THROTTLE_FUNCTION, function, region, reason))
    if role_arn:
        role = role_arn.rsplit("/", 1)[-1]
        if ctx.policy.is_protected_principal(role, role_arn):
            why = f"{role} is a protected principal: its sessions are not revoked"
            steps.append(Step(ActionName.REVOKE_ROLE_SESSIONS, role, GLOBAL, why, status="skipped"))
        else:
            why = f"the execution role of {function}: its credentials may be in the attacker's hands ({reason})"
            steps.append(
                Step(ActionName.REVOKE_ROLE_SESSIONS, role, GLOBAL, why, params={"issuedBefore": iso(ctx.now)})
            )
    return ctx.run(steps)


def _lambda(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report | None:
    fn = finding.resource.lambdaDetails
    name = fn.functionName if fn else None
    if not (fn and name):
        return None
    tags = {str(t.get("key")): str(t.get("value")) for t in fn.tags}
    report = ctx.new_report()
    report.add(throttle_function(ctx, name, region, fn.role, tags, f"GuardDuty {finding.type}"))
    report.todo.append(
        f"Review {name}'s code and configuration (kept: version {fn.functionVersion or '$LATEST'}) and what its role "
        f"could reach; restore its concurrency when clean (aws lambda delete-function-concurrency --function-name "
        f"{name})."
    )
    return finish(ctx, report, finding, facts)


family(
    "Lambda Protection",
    order=60,
    types=("*",),
    resources=("Lambda",),
    response="throttle-function",
    reason="throttle the function (PutFunctionConcurrency 0) and revoke its role's sessions issued before now; "
    "its code is kept",
    flows=(FUNCTION_THROTTLE,),
    respond=_lambda,
    details=(("resource.lambdaDetails", LambdaDetails),),
)
