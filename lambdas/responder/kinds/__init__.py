"""Kinds of capacity beyond EC2 (contract "Capacity beyond EC2"): one module per kind, each owning everything
about it - the CloudTrail calls that create it and the ids they name, the probe that lists it in a region, the
stop actions with their declared permissions, its $/hour and its label.

The sweep, the planner's kind step, the CloudTrail reader, the launch watcher and the EventBridge rule
patterns iterate this registry; adding a kind is adding a module here (found by ``load``), its tests and a
price row in ``kinds.prices``. This package's ``__init__`` imports nothing of the engine, so the pure
CloudTrail reader can ask it about event names at call time without an import circle.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import CapacityKind

NOT_KINDS = frozenset({"base", "prices"})
_KINDS: dict[str, CapacityKind] = {}
_loaded = False


def register(kind: CapacityKind) -> CapacityKind:
    if kind.name in _KINDS:
        raise ValueError(f"capacity kind {kind.name!r} registered twice")
    _KINDS[kind.name] = kind
    return kind


def load() -> dict[str, CapacityKind]:
    """Every kind module of this package, imported once (each registers its kinds)."""
    global _loaded
    if not _loaded:
        for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
            if module not in NOT_KINDS:
                importlib.import_module(f"{__name__}.{module}")
        _loaded = True
    return _KINDS


def kinds() -> tuple[CapacityKind, ...]:
    return tuple(load().values())


def kind_of_event(event_source: str, event_name: str) -> CapacityKind | None:
    """The kind whose create call this is (``ecs.amazonaws.com``, ``CreateService``), if any."""
    for kind in kinds():
        if event_name in kind.create_events and (not event_source or event_source == kind.event_source):
            return kind
    return None


def launch_events() -> frozenset[str]:
    """Every create call of every kind (CloudTrail event names)."""
    return frozenset(e for k in kinds() for e in k.create_events)


def event_sources() -> frozenset[str]:
    """``ecs.amazonaws.com`` ... of every kind."""
    return frozenset(k.event_source for k in kinds())


def event_sources_as(prefix: str) -> frozenset[str]:
    """The EventBridge ``source`` of each kind's CloudTrail events (``aws.ecs``, ``aws.lambda``)."""
    return frozenset(prefix + s.split(".", 1)[0] for s in event_sources())
