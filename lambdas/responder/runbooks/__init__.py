"""Runbooks (contract "Runbook events"): the same engine, invoked by an on-call engineer. One module per runbook,
each owning everything about it - its model (one arm of the union keyed by ``"runbook"``: strict fields, each
refusal naming its field), its runner, the flows the runner may run and what an enforcing run may do - declared
with ``base.runbook``.

The runbook handler and the CLI parse with ``parse_runbook`` and run with ``run_runbook``; the catalog grants the
runbook function the runbooks' flows (``flows``). Adding a runbook is adding a module here (found by ``load``), a
sample in ``events/`` (a test requires one per runbook) and its tests. This ``__init__`` imports only the parser:
each runbook module is loaded on first use.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

from ..parse.events import BadInput, shown, validate

if TYPE_CHECKING:
    from ..flows.base import Flow
    from ..report import Report
    from ..shell.context import ResponseContext
    from .base import Runbook, RunbookBase

DEFAULT_EFFECT = "this may deactivate keys and terminate instances"
_RUNBOOKS: dict[str, Runbook[Any]] = {}
_loaded = False


def register(runbook: Runbook[Any]) -> Runbook[Any]:
    if runbook.name in _RUNBOOKS:
        raise ValueError(f"runbook {runbook.name!r} registered twice")
    _RUNBOOKS[runbook.name] = runbook
    return runbook


def unregister(name: str) -> None:
    del _RUNBOOKS[name]


def load() -> dict[str, Runbook[Any]]:
    """Every module of this package, imported once (each runbook module registers its runbook), by name."""
    global _loaded
    if not _loaded:
        for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
            importlib.import_module(f"{__name__}.{module}")
        _loaded = True
    return _RUNBOOKS


def names() -> list[str]:
    return sorted(load())


def parse_runbook(event: Any, partition: str = "aws") -> RunbookBase:
    """The runbook's model, or ``BadInput`` (a ``ValueError``) naming the field, before anything is touched."""
    if not isinstance(event, dict):
        raise BadInput("runbook event: field 'event': expected a JSON object")
    known = load()
    name = event.get("runbook")
    if name is None:
        raise BadInput(f"runbook event: field 'runbook': required field is missing (one of {sorted(known)})")
    if not isinstance(name, str) or name not in known:
        raise BadInput(f"runbook event: field 'runbook': unknown runbook {shown(name)} (one of {sorted(known)})")
    model: RunbookBase = validate(known[name].model, event, f"runbook {name}", partition)
    model.check()
    return model


def run_runbook(ctx: ResponseContext, command: RunbookBase) -> Report:
    """Window for sweeps: [now - sinceHours, now], sinceHours defaulting to INCIDENT_LOOKBACK_HOURS."""
    found = next((r for r in load().values() if type(command) is r.model), None)
    if found is None:  # pragma: no cover - parse_runbook only returns registered models
        raise ValueError(f"runbook event: field 'runbook': no runner for {type(command).__name__}")
    report = found.run(ctx, command)
    report.facts.update(command.facts())
    return report


def flows() -> tuple[Flow, ...]:
    """Every flow some runbook may run, once each (the catalog's runbook handler)."""
    found: dict[str, Flow] = {}
    for runbook in load().values():
        for flow in runbook.flows:
            found.setdefault(flow.name, flow)
    return tuple(found.values())


def effect_of(name: str) -> str:
    """What an enforcing run of the runbook may do, said before it runs (the CLI asks first)."""
    runbook = load().get(name)
    return runbook.effect if runbook is not None else DEFAULT_EFFECT
