"""What a runbook is: its model (one arm of the union keyed by ``"runbook"``), its runner, the flows the runner
may run, what an enforcing run may do.

A model subclasses ``RunbookBase`` with ``runbook: Literal["its-name"]`` and strict fields (the shapes in
``responder.parse.events``: a refusal names the field); its docstring says what it does. ``one_of`` names fields of
which exactly one must be given; ``check`` is where a model refuses what its fields alone cannot say. The runner
is registered with ``@runbook(Model, flows=...)``: the catalog grants the runbook function exactly those flows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, Strict

from ..parse.events import AccountIdField, BadInput
from . import DEFAULT_EFFECT, register

if TYPE_CHECKING:
    from ..flows.base import Flow
    from ..report import Report
    from ..shell.context import ResponseContext


class RunbookBase(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    one_of: ClassVar[tuple[str, ...]] = ()  # fields of which exactly one must be given

    dryRun: Annotated[bool, Strict()] = Field(
        False, description="JSON true/false: return the plan and change nothing, whatever RESPONSE_MODE says"
    )
    reason: str | None = Field(None, max_length=500, description="Why the on-call engineer runs it")
    accountId: AccountIdField | None = Field(
        None, description="The account to act in (organization mode); default: the responder's own"
    )

    @classmethod
    def runbook_name(cls) -> str:
        """The ``runbook`` value that selects this model (its ``Literal``)."""
        (name,) = get_args(cls.model_fields["runbook"].annotation)
        return str(name)

    def check(self) -> None:
        """What the fields alone cannot say (after they validated): exactly one of ``one_of`` given."""
        choices, name = self.one_of, self.runbook_name()
        if choices:
            given = [field for field in choices if getattr(self, field)]
            options = ", ".join(choices[:-1]) + f" or {choices[-1]}"
            if not given:
                raise BadInput(f"runbook {name}: field '{choices[0]}': give {options}")
            if len(given) > 1:  # which one is meant is not for the responder to guess
                raise BadInput(
                    f"runbook {name}: field '{given[1]}': give only one of {options} (got {', '.join(given)})"
                )

    def facts(self) -> dict[str, Any]:
        """What every runbook's report says of the run."""
        return {"runbook": type(self).__name__, "reason": self.reason}


M = TypeVar("M", bound=RunbookBase)


@dataclass(frozen=True)
class Runbook(Generic[M]):
    model: type[M]
    run: Callable[[ResponseContext, M], Report]
    flows: tuple[Flow, ...]
    effect: str = DEFAULT_EFFECT  # what an enforcing run may do, said before it runs (the CLI asks)

    @property
    def name(self) -> str:
        return self.model.runbook_name()

    @property
    def doc(self) -> str:
        return " ".join((self.model.__doc__ or "").split())


def runbook(
    model: type[M], *, flows: tuple[Flow, ...], effect: str = DEFAULT_EFFECT
) -> Callable[[Callable[[ResponseContext, M], Report]], Callable[[ResponseContext, M], Report]]:
    """Register the decorated function as the runner of ``model``'s runbook."""

    def registered(run: Callable[[ResponseContext, M], Report]) -> Callable[[ResponseContext, M], Report]:
        register(Runbook(model, run, flows, effect))
        return run

    return registered
