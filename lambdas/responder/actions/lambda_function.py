"""Lambda function throttling (GuardDuty Lambda Protection findings): reserved concurrency 0 stops every new
invocation at once; the code, configuration and versions are kept for evidence (undo: delete the function's
reserved concurrency)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import capabilities as cap
from ..model import Outcome, Step
from .base import Action, ActionName, Words, each, register

LAMBDA_FUNCTION = cap.arn("lambda", "function:*")


@register
class ThrottleFunction(Action):
    """Set a Lambda function's reserved concurrency to 0: no invocation runs; its code is kept."""

    name = ActionName.THROTTLE_FUNCTION
    service = "lambda"
    permissions = ("lambda:PutFunctionConcurrency",)
    resource = LAMBDA_FUNCTION
    phase = 38
    stops_capacity = True
    words = Words(
        "Lambda function",
        "Lambda functions",
        "throttled (reserved concurrency 0, code kept)",
        "to throttle (reserved concurrency 0)",
        short="throttled",
        one="{noun} {target} {short} (code kept)",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        def call(step: Step) -> str:
            client.put_function_concurrency(FunctionName=step.target, ReservedConcurrentExecutions=0)
            return "ReservedConcurrentExecutions=0 (undo: aws lambda delete-function-concurrency)"

        return each(steps, call)
