"""GuardDuty finding families (contract "GuardDuty finding families"): one module per family, each owning
everything about it - the finding types and resource types it answers, where the finding names its target and
the model of that place, its response and the flows that response may run - declared with ``base.family``.

  base            what a family is (``FindingFamily``) and ``family(...)``, which registers one
  models          where the families name their targets (typed, pure: the parser types the finding with them)
  documented      the finding types AWS documents (a test checks each lands on a family)
  dispatch        the dispatcher: the gate, then the first matching family's response, GuardDuty's band kept
  common          what the responses share (the finish, what is listed for a human)
  sequences       attack sequences: credentials, EC2 instance group, ECS cluster, EKS and any other
  credentials     root, assumed-role and IAM user credentials; credential findings that prove no abuse
  s3              S3 Protection: the buckets a credential finding names are listed; no credential: notify
  instances       EC2, Runtime Monitoring and Malware Protection on an instance; Recon / Behavior below High
  containers      Runtime / Malware Protection on an ECS task, on a standalone container
  lambda_functions  Lambda Protection
  notify_only     EKS audit logs, RDS login, Malware Protection for S3 / EBS / AMI / Backup; anything else

The dispatcher asks ``family_for``: the families in their declared ``order``, the first one that matches wins.
The README's finding table is generated from them (``readme_table``); the catalog grants the guardduty function
their flows (``flows``). Adding a family is adding a module here (found by ``load``), a fixture under
``tests/fixtures/guardduty/`` and its tests. This ``__init__`` imports nothing of the engine, so the parser reaches
``findings.models`` without an import circle.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..flows.base import Flow
    from ..parse.events import FindingDetail
    from .base import FindingFamily

_FAMILIES: dict[str, FindingFamily] = {}
_loaded = False


def register(family: FindingFamily) -> FindingFamily:
    if family.name in _FAMILIES:
        raise ValueError(f"finding family {family.name!r} registered twice")
    clash = next((f.name for f in _FAMILIES.values() if f.order == family.order), None)
    if clash is not None:
        raise ValueError(f"finding families {clash!r} and {family.name!r} both declare order {family.order}")
    _FAMILIES[family.name] = family
    return family


def unregister(name: str) -> None:
    del _FAMILIES[name]


def load() -> dict[str, FindingFamily]:
    """Every module of this package, imported once (each family module registers its families)."""
    global _loaded
    if not _loaded:
        for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
            importlib.import_module(f"{__name__}.{module}")
        _loaded = True
    return _FAMILIES


def families() -> tuple[FindingFamily, ...]:
    """The families in their declared order: the contract's table, row by row."""
    return tuple(sorted(load().values(), key=lambda f: f.order))


def family_for(finding: FindingDetail) -> FindingFamily:
    """The first family that matches (the last one, "Anything else", matches every finding)."""
    return next(family for family in families() if family.matches(finding))


def flows() -> tuple[Flow, ...]:
    """Every flow some family's response may run, once each (the catalog's guardduty handler)."""
    found: dict[str, Flow] = {}
    for family in families():
        for flow in family.flows:
            found.setdefault(flow.name, flow)
    return tuple(found.values())


def readme_table() -> str:
    """The README's finding table, generated from the families (a test keeps them equal)."""
    lines = ["| # | family | finding types | resource type | response |", "|---|---|---|---|---|"]
    for n, family in enumerate(families(), 1):
        types = ", ".join(f"`{t}`" for t in family.types)
        where = ", ".join(f"`{r}`" for r in family.resource_types) if family.resource_types else "any"
        if family.user_type:
            where += f" (`userType: {family.user_type}`)"
        if family.below is not None:
            types += f" (severity below {family.below:g})"
        lines.append(f"| {n} | {family.name} | {types} | {where} | `{family.response}`: {family.reason} |")
    return "\n".join(lines)
