"""botocore handlers that every client made while they are installed receives, as moto's own do.

They fill the gaps between moto and AWS (see ../shared/reference/emulation-notes.md) explicitly,
and let tests and the benchmark inject latency, throttling and failures.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from io import BytesIO
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
    account: str = "123456789012"  # the account whose credentials made the call (moto keeps one state per account)

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"


Plugin = Callable[[Call], Any]


class Dispatcher:
    """One ``before-call`` handler, ahead of moto's, that runs plugins in a fixed order:
    the first plugin that returns a response answers the call instead of moto."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.plugins: list[Plugin] = []
        self.observers: list[Callable[[Call, dict[str, Any]], None]] = []  # told of every accepted call
        # before-send handlers answer at the HTTP layer, inside botocore's retry loop: faults first
        self.senders: list[Callable[..., Any]] = [faults.on_send] if faults is not None else []
        self._entries: list[tuple[str, Callable[..., Any]]] = [
            ("before-parameter-build", self._stash),
            ("before-call", self),
            ("after-call", self._after),
            ("before-send", self._send),
        ]

    @staticmethod
    def _stash(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """``before-call`` sees the serialised request; keep the API parameters for the plugins."""
        context["emulator_api_params"] = dict(params)

    def __call__(self, model: Any, context: dict[str, Any], request_signer: Any = None, **_: Any) -> Any:
        service = str(model.service_model.signing_name or model.service_model.endpoint_prefix)
        params = context.get("emulator_api_params") or {}
        context["emulator_account"] = account = _account_of(request_signer)
        call = Call(service, str(model.name), str(context.get("client_region") or ""), params, account)
        for plugin in list(self.plugins):
            answer = plugin(call)
            if answer is not None:
                return answer
        return None

    def _send(self, request: Any, event_name: str, **kwargs: Any) -> Any:
        """Each HTTP attempt (a retry too): the first sender that answers replaces AWS (moto)."""
        for sender in list(self.senders):
            answer = sender(request=request, event_name=event_name, **kwargs)
            if answer is not None:
                return answer
        return None

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        """After a call: only what was accepted (no error, also none injected) changes the emulated state."""
        if not self.observers or "Error" in (parsed or {}):
            return
        status = getattr(http_response, "status_code", 200)
        if status >= 300:
            return
        service = str(model.service_model.signing_name or model.service_model.endpoint_prefix)
        call = Call(
            service,
            str(model.name),
            str(context.get("client_region") or ""),
            context.get("emulator_api_params") or {},
            str(context.get("emulator_account") or Call.account),
        )
        for observer in list(self.observers):
            observer(call, parsed)

    def install(self) -> None:
        for entry in self._entries:
            if entry not in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.insert(0, entry)

    def uninstall(self) -> None:
        for entry in self._entries:
            if entry in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.remove(entry)


def account_of_request(request: Any) -> str:
    """The account a signed request acts in: its SigV4 access key, as moto maps it (assumed roles included)."""
    header = str((getattr(request, "headers", None) or {}).get("Authorization", ""))
    found = re.search(r"Credential=([A-Z0-9]+)/", header)
    if not found:
        return Call.account
    from moto.iam.models import get_account_id_from

    return str(get_account_id_from(found.group(1)))


def _account_of(request_signer: Any) -> str:
    """The account moto will act in for these credentials (assumed-role keys map to the role's account)."""
    credentials = getattr(request_signer, "_credentials", None)
    access_key = getattr(credentials, "access_key", None)
    if not access_key:
        return Call.account
    from moto.iam.models import get_account_id_from

    return str(get_account_id_from(access_key))


READ_PREFIXES = ("Describe", "Get", "List", "Lookup", "Query", "Scan", "BatchGet")


@dataclass(frozen=True)
class Recorded:
    """One call in the order the calls were made, with the thread that made it."""

    call: Call
    thread: str


UNWATCHED = threading.local()  # ``on`` in a thread: its calls are the attacker's, neither recorded nor authorized


class CallRecorder:
    """Counts every AWS call (IAM action, region) - for least-privilege tests and the benchmark - keeps
    the changing calls with their parameters (to prove a retry sends nothing twice), and every call in
    order with its thread (to prove what happened before what)."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.by_account: dict[str, set[str]] = {}  # account whose credentials made the call -> IAM actions
        self.changes: list[Call] = []
        self.sequence: list[Recorded] = []
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> None:
        if getattr(UNWATCHED, "on", False):
            return
        with self._lock:
            self.calls[(call.action, call.region)] += 1
            self.by_account.setdefault(call.account, set()).add(call.action)
            self.sequence.append(Recorded(call, threading.current_thread().name))
            if not call.operation.startswith(READ_PREFIXES):
                self.changes.append(call)

    def order(self, action: str) -> list[int]:
        """Positions of ``action`` (``iam:UpdateAccessKey``) in the order calls were made."""
        return [i for i, r in enumerate(self.sequence) if r.call.action == action]

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
            self.by_account.clear()
            self.changes.clear()
            self.sequence.clear()


class Latency:
    """Sleep before every call, so timings reflect a network-bound world, not moto's speed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, call: Call) -> None:
        if self.seconds > 0:
            time.sleep(self.seconds)


SERVICE_PREFIX = {
    "auto-scaling": "autoscaling",
    "cloudtrail": "cloudtrail",
    "dynamodb": "dynamodb",
    "elastic-load-balancing-v2": "elasticloadbalancing",
}
_REGION_IN_HOST = re.compile(r"\.((?:[a-z]{2})(?:-gov)?-[a-z]+-\d)\.")


class Faults:
    """Answer chosen calls with an AWS error at the HTTP layer: inside botocore's retry loop, so a
    retryable error (RequestLimitExceeded) is retried exactly as it would be against AWS."""

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
        """Fail matching calls (every ``every``-th one of them) with ``code``."""
        ops = set(operations or ())
        svcs = set(services or ())

        def match(service: str, operation: str, where: str) -> bool:
            return (
                (region is None or where == region) and (not ops or operation in ops) and (not svcs or service in svcs)
            )

        self.rules.append((match if every == 1 else self._sampled(match, every), code, message, status))

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

    def on_send(self, request: Any, event_name: str, **_: Any) -> Any:
        if not self.rules:
            return None
        _, service_id, operation = event_name.split(".", 2)
        service = SERVICE_PREFIX.get(service_id, service_id)
        found = _REGION_IN_HOST.search(str(request.url))
        region = found.group(1) if found else "us-east-1"
        for match, code, message, status in self.rules:
            if match(service, operation, region):
                self.injected[f"{service}:{operation}:{code}"] += 1
                # botocore calls every before-send handler; point this attempt away from AWS so
                # moto's handler leaves it alone (it only answers amazonaws.com addresses)
                request.url = "https://fault-injected.invalid/"
                return _error_response(request.url, service, code, message, status)
        return None


_REGION_IN_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")


def region_of(request: Any) -> str:
    """The region a request is signed for (SigV4 credential scope), else the one in its host name."""
    found = _REGION_IN_SCOPE.search(str(request.headers.get("Authorization", "")))
    if found:
        return found.group(1)
    found = _REGION_IN_HOST.search(str(request.url))
    return found.group(1) if found else "us-east-1"


def json_response(status: int, body: dict[str, Any]) -> AWSResponse:
    """An HTTP answer of a JSON-protocol service (CloudTrail, DynamoDB), parsed by botocore as from AWS."""
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "emulated"}
    return AWSResponse("https://emulated.invalid/", status, headers, _Raw(json.dumps(body).encode()))


def error_response(service: str, code: str, message: str, status: int) -> AWSResponse:
    """An HTTP error answer in the service's protocol: botocore retries it exactly when it would retry AWS's."""
    return _error_response("https://emulated.invalid/", service, code, message, status)


def _error_response(url: str, service: str, code: str, message: str, status: int) -> AWSResponse:
    """The error body each protocol uses, so botocore parses (and retries) it as from AWS."""
    if service == "ec2":
        body = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>emulated</RequestID></Response>"
        headers = {"Content-Type": "text/xml"}
    elif service in ("dynamodb", "cloudtrail", "securityhub"):
        body = json.dumps({"__type": f"com.amazonaws.emulated#{code}", "message": message})
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "emulated"}
    else:
        body = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>emulated</RequestId></ErrorResponse>"
        headers = {"Content-Type": "text/xml"}
    return AWSResponse(url, status, headers, _Raw(body.encode()))


class _Raw(BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


class TerminationProtection:
    """moto ignores DisableApiTermination; AWS refuses TerminateInstances until it is turned off.

    Tracks protection set at launch or by ModifyInstanceAttribute, and answers TerminateInstances
    with AWS's ``OperationNotPermitted`` while any requested instance is still protected.
    """

    def __init__(self) -> None:
        self.protected: set[str] = set()

    def accepted(self, call: Call, parsed: dict[str, Any]) -> None:
        """ModifyInstanceAttribute changes protection only when AWS accepted it (not when denied or throttled)."""
        if call.action == "ec2:ModifyInstanceAttribute":
            value = call.params.get("DisableApiTermination")
            if isinstance(value, dict) and "Value" in value:
                (self.protected.add if value["Value"] else self.protected.discard)(call.params["InstanceId"])

    def __call__(self, call: Call) -> Any:
        if call.action == "ec2:TerminateInstances":
            blocked = [i for i in call.params.get("InstanceIds", []) if i in self.protected]
            if blocked:
                return error(
                    "OperationNotPermitted",
                    f"The instance '{blocked[0]}' may not be terminated. Modify its 'disableApiTermination' "
                    "instance attribute and try again.",
                )
        return None


class SpotInstanceIds:
    """moto leaves ``SpotInstanceRequestId`` out of DescribeInstances; AWS lists it on every spot instance,
    also after the request was cancelled. Learn request -> instance from the spot describes, add it back."""

    def __init__(self) -> None:
        self.request_of: dict[str, str] = {}

    def accepted(self, call: Call, parsed: dict[str, Any]) -> None:
        if call.action in ("ec2:DescribeSpotInstanceRequests", "ec2:DescribeSpotFleetInstances",
                           "ec2:DescribeFleetInstances"):  # fmt: skip
            for item in parsed.get("SpotInstanceRequests", []) + parsed.get("ActiveInstances", []):
                if item.get("InstanceId") and item.get("SpotInstanceRequestId"):
                    self.request_of[item["InstanceId"]] = item["SpotInstanceRequestId"]
        elif call.action == "ec2:DescribeInstances":
            for reservation in parsed.get("Reservations", []):
                for instance in reservation.get("Instances", []):
                    request = self.request_of.get(instance.get("InstanceId", ""))
                    if request and not instance.get("SpotInstanceRequestId"):
                        instance["SpotInstanceRequestId"] = request


class AssumeRoleDenials:
    """A member account whose role cannot be assumed (not deployed there, or its trust refuses the hub): moto
    lets any role be assumed, AWS answers AccessDenied."""

    def __init__(self) -> None:
        self.accounts: set[str] = set()

    def __call__(self, call: Call) -> Any:
        if call.action == "sts:AssumeRole":
            arn = str(call.params.get("RoleArn", ""))
            parts = arn.split(":")
            if len(parts) > 4 and parts[4] in self.accounts:
                return error(
                    "AccessDenied",
                    f"User: arn:aws:sts::{call.account}:assumed-role/responder/fn is not authorized to perform: "
                    f"sts:AssumeRole on resource: {arn}",
                    403,
                )
        return None


class RootKeys:
    """moto cannot create the root user's access keys: answer GetAccessKeyLastUsed for these key
    ids as IAM does for a root key (``UserName: root``)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def __call__(self, call: Call) -> Any:
        if call.action == "iam:GetAccessKeyLastUsed" and call.params.get("AccessKeyId") in self.keys:
            return reply(200, {"UserName": "root", "AccessKeyLastUsed": {"ServiceName": "ec2", "Region": "sa-east-1"}})
        return None


class SecurityHubFindings:
    """Security Hub as AWS runs it, where moto (5.2) departs from it:

    * ``BatchUpdateFindings`` is not implemented (404): answered here against moto's stored findings (``Workflow``,
      ``Note``, ``VerificationState``, ``UserDefinedFields``), a finding it does not hold is ``UnprocessedFindings``;
    * ``BatchImportFindings`` succeeds with Security Hub disabled: AWS answers ``InvalidAccess`` per finding;
    * an import overwrites every field of an existing finding: AWS keeps ``Workflow``, ``Note``,
      ``VerificationState`` and ``UserDefinedFields`` (the customer's), and sets ``Workflow`` NEW on a new finding.
    """

    CUSTOMER_FIELDS = ("Workflow", "Note", "VerificationState", "UserDefinedFields")

    def __init__(self, account: str) -> None:
        self.account = account
        self._kept: dict[str, dict[str, Any]] = {}

    def _backend(self, region: str) -> Any:
        from moto.securityhub.models import securityhub_backends

        return securityhub_backends[self.account][region]

    def __call__(self, call: Call) -> Any:
        if call.action == "securityhub:BatchImportFindings":
            backend = self._backend(call.region)
            findings = call.params.get("Findings", [])
            if not backend.enabled:
                failed = [{"Id": f.get("Id", ""), "ErrorCode": "InvalidAccess",
                           "ErrorMessage": "Account is not subscribed to AWS Security Hub"} for f in findings]  # fmt: skip
                return reply(200, {"FailedCount": len(failed), "SuccessCount": 0, "FailedFindings": failed})
            stored = {f.id: f.data for f in backend.findings}
            for finding in findings:
                if finding.get("Id") in stored:
                    old = stored[finding["Id"]]
                    self._kept[finding["Id"]] = {k: old[k] for k in self.CUSTOMER_FIELDS if k in old}
            return None
        if call.action == "securityhub:BatchUpdateFindings":
            stored = {f.id: f.data for f in self._backend(call.region).findings}
            processed, unprocessed = [], []
            for ident in call.params.get("FindingIdentifiers", []):
                data = stored.get(ident.get("Id"))
                if data is None or data.get("ProductArn") != ident.get("ProductArn"):
                    unprocessed.append({"FindingIdentifier": ident, "ErrorCode": "FindingNotFound",
                                        "ErrorMessage": "Finding Not Found"})  # fmt: skip
                    continue
                for key in self.CUSTOMER_FIELDS:
                    if key in call.params:
                        data[key] = dict(call.params[key]) if isinstance(call.params[key], dict) else call.params[key]
                processed.append(ident)
            return reply(200, {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})
        return None

    def accepted(self, call: Call, parsed: dict[str, Any]) -> None:
        if call.action != "securityhub:BatchImportFindings":
            return
        stored = {f.id: f.data for f in self._backend(call.region).findings}
        for finding in call.params.get("Findings", []):
            data = stored.get(finding.get("Id"))
            if data is None:
                continue
            for key in self.CUSTOMER_FIELDS:
                data.pop(key, None)
            data.update(self._kept.pop(finding["Id"], {"Workflow": {"Status": "NEW"}}))


@dataclass(frozen=True)
class Published:
    """One accepted SNS Publish, as sent: what each protocol's subscribers get is decided from it."""

    subject: str
    message: str
    structure: str | None

    def for_protocol(self, protocol: str) -> str:
        """SNS: with ``MessageStructure=json`` the protocol's own key, else ``default``; without it, the message."""
        if self.structure != "json":
            return self.message
        messages = json.loads(self.message)
        return str(messages.get(protocol, messages["default"]))


class PublishedMessages:
    """Every message the team topic accepted. moto delivers to SQS (the emulator's inbox) but cannot reach an
    ``https`` subscriber such as AWS Chatbot, so what SNS would send there is read from the accepted call."""

    def __init__(self) -> None:
        self.messages: list[Published] = []

    def accepted(self, call: Call, parsed: dict[str, Any]) -> None:
        if call.action == "sns:Publish":
            self.messages.append(
                Published(
                    str(call.params.get("Subject", "")),
                    str(call.params["Message"]),
                    call.params.get("MessageStructure"),
                )
            )


class TargetGroups:
    """Two gaps between moto's load balancing and AWS's, filled in moto's own backends:

    * Auto Scaling ``DetachInstances``: AWS deregisters the instance from the group's target groups; moto leaves
      it registered (and healthy). ``accepted`` deregisters it, as AWS does.
    * ``DeregisterTargets`` of a target that is not registered: AWS "returns successfully"; moto raises
      ``InvalidTarget``. ``__call__`` answers it as AWS does.

    A third gap stays visible, not filled: AWS lists a deregistered target as ``draining`` for the group's
    deregistration delay (300 s by default); moto forgets it at once.
    """

    def __init__(self, account: str) -> None:
        self.account = account

    def _backends(self, region: str) -> tuple[Any, Any]:
        from moto.autoscaling.models import autoscaling_backends
        from moto.elbv2.models import elbv2_backends

        return autoscaling_backends[self.account][region], elbv2_backends[self.account][region]

    def accepted(self, call: Call, parsed: dict[str, Any]) -> None:
        if call.action != "autoscaling:DetachInstances":
            return
        autoscaling, elbv2 = self._backends(call.region)
        group = autoscaling.autoscaling_groups.get(call.params.get("AutoScalingGroupName"))
        for arn in getattr(group, "target_group_arns", None) or []:
            target_group = elbv2.target_groups.get(arn)
            for instance_id in call.params.get("InstanceIds", []):
                if target_group is not None and instance_id in target_group.targets:
                    target_group.deregister([{"Id": instance_id}])

    def __call__(self, call: Call) -> Any:
        if call.action != "elasticloadbalancing:DeregisterTargets":
            return None
        _, elbv2 = self._backends(call.region)
        target_group = elbv2.target_groups.get(call.params.get("TargetGroupArn"))
        if target_group is None:
            return None  # moto answers TargetGroupNotFound, as AWS does
        registered = [t for t in call.params.get("Targets", []) if t.get("Id") in target_group.targets]
        if registered:
            target_group.deregister(registered)
        return reply(200, {})
