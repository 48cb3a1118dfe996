"""What a GuardDuty finding family is: one row of the contract's table, declared in the module of its response.

``family(...)`` registers a ``FindingFamily``. Finding types read ``ThreatPurpose:ResourceType/ThreatFamily.
DetectionMechanism!Artifact``; ``types`` are glob patterns on them, ``resources`` the ``resource.resourceType``
values it answers. ``details`` says where the finding names the target and with which model (``resource.
lambdaDetails`` -> ``LambdaDetails``): the parser types the built-in places (a malformed one is refused before
anything changes); a place it does not type is read with the family's model by ``read`` (and refused, naming the
field, before the response runs). ``respond`` is the response (``None``: notify only; it may return ``None`` too
when the finding lacks what it needs: then it notifies), ``flows`` what it may run: the catalog grants the
guardduty function exactly these. ``order`` places the family in the table: the first matching one wins.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..parse.events import explain
from . import register

if TYPE_CHECKING:
    from ..flows.base import Flow
    from ..parse.events import FindingDetail
    from ..report import Report
    from ..shell.context import ResponseContext

# (ctx, finding, region acted in, the report's facts) -> the report, or None: notify instead
Respond = Callable[["ResponseContext", "FindingDetail", str, dict[str, Any]], "Report | None"]
Details = tuple[tuple[str, type[BaseModel]], ...]  # (path under the finding's detail, model of what is there)


@dataclass(frozen=True)
class FindingFamily:
    name: str  # how the README and the notification name it
    order: int  # its place in the table: the first matching family wins
    types: tuple[str, ...]  # glob patterns on the finding type
    resource_types: tuple[str, ...] | None  # resource.resourceType values; None: any
    response: str  # the response's name (the report's facts, the README)
    reason: str  # what the response does, in words
    flows: tuple[Flow, ...]  # what ``respond`` may run (and the notification when it only notifies)
    respond: Respond | None = None
    details: Details = ()
    user_type: str | None = None  # IAMUser | AssumedRole | Root | None (any)
    below: float | None = None  # the family applies only to findings below this severity
    needs_human: bool = False  # when it only notifies: a critical "needs a human", else "notify only" (medium)

    def matches(self, finding: FindingDetail) -> bool:
        details = finding.resource.accessKeyDetails
        return (
            any(fnmatch.fnmatchcase(finding.type, t) for t in self.types)
            and (self.resource_types is None or finding.resource.resourceType in self.resource_types)
            and (self.user_type is None or (details is not None and details.userType == self.user_type))
            and (self.below is None or finding.severity < self.below)
        )

    def read(self, finding: FindingDetail, path: str) -> Any:
        """What the finding holds at ``path`` (one of ``details``) as the family's model; None when absent."""
        model = dict(self.details)[path]
        value: Any = finding
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
            if value is None:
                return None
        if isinstance(value, model) or (isinstance(value, list) and all(isinstance(v, model) for v in value)):
            return value  # typed by the parser
        adapter: TypeAdapter[Any] = TypeAdapter(list[model] if isinstance(value, list) else model)  # type: ignore[valid-type]
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            raise explain(exc, "guardduty finding", ("detail", *path.split("."))) from None

    def check(self, finding: FindingDetail) -> None:
        """Every place the family reads is well formed (``BadInput`` naming the field), before anything changes."""
        for path, _ in self.details:
            self.read(finding, path)


def family(
    name: str,
    *,
    order: int,
    types: tuple[str, ...],
    resources: tuple[str, ...] | None,
    response: str,
    reason: str,
    flows: tuple[Flow, ...],
    respond: Respond | None = None,
    details: Details = (),
    user_type: str | None = None,
    below: float | None = None,
    needs_human: bool = False,
) -> FindingFamily:
    """Declare and register one family (a row of the contract's table)."""
    found = FindingFamily(
        name, order, types, resources, response, reason, flows, respond, details, user_type, below, needs_human
    )
    return register(found)
