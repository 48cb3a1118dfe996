"""Run planned steps: phase by phase (launchers cancelled before instances are terminated), the batches of
one phase in parallel, one failing batch never stopping the others."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..aws import AWS_ERRORS, Clients, describe_error
from ..core.model import GLOBAL, Outcome, Step
from ..record.attempts import StepKey
from .base import ACTIONS, Action


def execute(
    clients: Clients,
    steps: Iterable[Step],
    home_region: str,
    done_before: Mapping[StepKey, tuple[int, Mapping[str, Any]]] | None = None,
) -> list[Outcome]:
    """Outcomes in the order of ``steps``.

    Steps that are not ``planned`` (skipped) pass through unchanged; a step AWS accepted in an earlier
    attempt of the incident (``done_before``) is not sent again.
    """
    steps = list(steps)
    outcomes: dict[int, Outcome] = {}
    groups: dict[tuple[int, str, str], list[int]] = {}
    for index, step in enumerate(steps):
        if step.status != "planned":
            outcomes[index] = step.outcome(step.status)
            continue
        earlier = (done_before or {}).get((step.action, step.target, step.region))
        if earlier is not None:
            number, reported = earlier
            detail = f"attempt {number}" + (f": {reported['detail']}" if reported.get("detail") else "")
            outcomes[index] = step.outcome("done", detail)
            continue
        action = ACTIONS[step.action]
        groups.setdefault((action.phase, step.action, step.region), []).append(index)
    for phase in sorted({key[0] for key in groups}):
        batches: list[tuple[Action, str, list[int]]] = []
        for (p, name, region), indexes in groups.items():
            if p != phase:
                continue
            runner = ACTIONS[name]()
            size = max(1, runner.batch_size)
            for start in range(0, len(indexes), size):
                batches.append((runner, region, indexes[start : start + size]))
        if len(batches) == 1:
            results = [_run_batch(clients, home_region, steps, *batches[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(8, len(batches))) as pool:
                results = list(pool.map(lambda b: _run_batch(clients, home_region, steps, *b), batches))
        for indexes, batch_outcomes in results:
            outcomes.update(zip(indexes, batch_outcomes, strict=True))
    return [outcomes[i] for i in range(len(steps))]


def _run_batch(
    clients: Clients, home_region: str, steps: list[Step], action: Action, region: str, indexes: list[int]
) -> tuple[list[int], list[Outcome]]:
    batch = [steps[i] for i in indexes]
    client = clients.get(action.service, home_region if region == GLOBAL else region)
    try:
        return indexes, action.run(client, batch)
    except AWS_ERRORS as exc:
        return indexes, [s.outcome("failed", describe_error(exc)) for s in batch]
