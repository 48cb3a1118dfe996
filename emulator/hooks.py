"""botocore handlers that every client made while they are installed receives, as moto's own do.

They fill the gaps between moto and AWS (see ../shared/reference/emulation-notes.md) explicitly,
and let tests and the benchmark inject latency, throttling and failures.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSResponse


def reply(status: int, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    """A short-circuit answer for a ``before-call`` handler (botocore uses it instead of HTTP)."""
    parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": status, "RequestId": "emulated", "HTTPHeaders": {}})
    return AWSResponse("https://emulated.invalid/", status, {}, None), parsed


def error(code: str, message: str, status: int = 400) -> tuple[AWSResponse, dict[str, Any]]:
    return reply(status, {"Error": {"Code": code, "Message": message}})


@dataclass(frozen=True)
class Call:
    service: str  # IAM prefix: ec2, iam, sns, dynamodb, autoscaling, cloudtrail, sts ...
    operation: str
    region: str
    params: dict[str, Any]

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"


Plugin = Callable[[Call], Any]


class Dispatcher:
    """One ``before-call`` handler, ahead of moto's, that runs plugins in a fixed order:
    the first plugin that returns a response answers the call instead of moto."""

    def __init__(self) -> None:
        self.plugins: list[Plugin] = []
        self._entries = [("before-parameter-build", self._stash), ("before-call", self)]

    @staticmethod
    def _stash(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """``before-call`` sees the serialised request; keep the API parameters for the plugins."""
        context["emulator_api_params"] = dict(params)

    def __call__(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        service = str(model.service_model.signing_name or model.service_model.endpoint_prefix)
        params = context.get("emulator_api_params") or {}
        call = Call(service, str(model.name), str(context.get("client_region") or ""), params)
        for plugin in list(self.plugins):
            answer = plugin(call)
            if answer is not None:
                return answer
        return None

    def install(self) -> None:
        for entry in self._entries:
            if entry not in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.insert(0, entry)

    def uninstall(self) -> None:
        for entry in self._entries:
            if entry in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.remove(entry)


class CallRecorder:
    """Counts every AWS call (IAM action, region) - for least-privilege tests and the benchmark."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> None:
        with self._lock:
            self.calls[(call.action, call.region)] += 1

    def actions(self) -> set[str]:
        return {action for action, _region in self.calls}

    def by_region(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (_action, region), n in self.calls.items():
            out[region] += n
        return out

    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


class Latency:
    """Sleep before every call, so timings reflect a network-bound world, not moto's speed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, call: Call) -> None:
        if self.seconds > 0:
            time.sleep(self.seconds)


class Faults:
    """Answer chosen calls with an AWS error: by region, operation, and a share of calls."""

    def __init__(self) -> None:
        self.rules: list[tuple[Callable[[str, str, str], bool], str, str, int]] = []
        self._count = 0
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def fail(
        self,
        *,
        region: str | None = None,
        operations: Iterable[str] | None = None,
        services: Iterable[str] | None = None,
        code: str = "UnauthorizedOperation",
        message: str = "You are not authorized to perform this operation. (injected)",
        status: int = 403,
        every: int = 1,
    ) -> None:
        ops = set(operations or ())
        svcs = set(services or ())

        def match(service: str, operation: str, where: str) -> bool:
            return (region is None or where == region) and (not ops or operation in ops) and (not svcs or service in svcs)

        self.rules.append((match, code, message, status) if every == 1 else (self._sampled(match, every), code, message, status))

    def _sampled(self, match: Callable[[str, str, str], bool], every: int) -> Callable[[str, str, str], bool]:
        def sampled(service: str, operation: str, where: str) -> bool:
            if not match(service, operation, where):
                return False
            with self._lock:
                self._count += 1
                return self._count % every == 0

        return sampled

    def clear(self) -> None:
        self.rules.clear()

    def __call__(self, call: Call) -> Any:
        for match, code, message, status in self.rules:
            if match(call.service, call.operation, call.region):
                self.injected[f"{call.action}:{code}"] += 1
                return error(code, message, status)
        return None


class TerminationProtection:
    """moto ignores DisableApiTermination; AWS refuses TerminateInstances until it is turned off.

    Tracks protection set at launch or by ModifyInstanceAttribute, and answers TerminateInstances
    with AWS's ``OperationNotPermitted`` while any requested instance is still protected.
    """

    def __init__(self) -> None:
        self.protected: set[str] = set()

    def __call__(self, call: Call) -> Any:
        if call.action == "ec2:ModifyInstanceAttribute":
            value = call.params.get("DisableApiTermination")
            if isinstance(value, dict) and "Value" in value:
                (self.protected.add if value["Value"] else self.protected.discard)(call.params["InstanceId"])
        elif call.action == "ec2:TerminateInstances":
            blocked = [i for i in call.params.get("InstanceIds", []) if i in self.protected]
            if blocked:
                return error(
                    "OperationNotPermitted",
                    f"The instance '{blocked[0]}' may not be terminated. Modify its 'disableApiTermination' "
                    "instance attribute and try again.",
                )
        return None
