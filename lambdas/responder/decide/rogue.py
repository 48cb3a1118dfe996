"""RoguePolicy: the pure decision of what is rogue (contract: "What is rogue").

No I/O. Given what the probes saw in a region, it says for one resource whether it is rogue and
why. Order of the rules, first match wins:

1. attributed to the compromised credential          -> rogue, even with the protect tag
2. protect tag ``<PROTECT_TAG_KEY>=true``             -> left alone
3. launched by a protected principal                  -> left alone
4. other outside evidence (a launch event)            -> rogue
5. attribution available in the region                -> left alone (not launched by C)
6. inside the window and (suspicious type or region outside ALLOWED_REGIONS) -> rogue
7. anything else                                      -> left alone
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.arns import principal_names
from ..core.config import Settings
from ..core.model import RegionEvidence, Resource, Suspect, Verdict, Window
from ..core.timeutil import iso

if TYPE_CHECKING:
    from ..kinds.base import Workload

PROTECT_OVERRIDE_NOTE = "protect tag overridden: an attacker holding the key can tag its own resources"


@dataclass(frozen=True)
class RoguePolicy:
    protect_tag_key: str
    protected_principals: frozenset[str]
    allowed_regions: frozenset[str]
    suspicious_types: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> RoguePolicy:
        return cls(
            protect_tag_key=settings.protect_tag_key,
            protected_principals=frozenset(settings.protected_principals),
            allowed_regions=frozenset(settings.allowed_regions),
            suspicious_types=tuple(settings.suspicious_instance_types),
        )

    # --- the facts -------------------------------------------------------------------------
    def has_protect_tag(self, tags: Mapping[str, str]) -> bool:
        return str(tags.get(self.protect_tag_key, "")).strip().lower() == "true"

    def is_protected_principal(self, *arns_or_names: str | None) -> bool:
        return any(value and principal_names(value) & self.protected_principals for value in arns_or_names)

    def is_suspicious(self, instance_types: Iterable[str]) -> bool:
        return any(fnmatch.fnmatchcase(t, pattern) for t in instance_types if t for pattern in self.suspicious_types)

    def region_outside_allowed(self, region: str) -> bool:
        return bool(self.allowed_regions) and region not in self.allowed_regions

    # --- the decision ----------------------------------------------------------------------
    def judge(self, resource: Resource | Workload, evidence: RegionEvidence, window: Window | None) -> Verdict:
        """Decide about one top-level resource (a standalone instance, or a launcher of instances)."""
        suspect: Suspect | None = evidence.suspects.get(resource.id)
        tagged = self.has_protect_tag(resource.tags)
        if suspect and suspect.compromised:
            reason = suspect.reason + (f" ({PROTECT_OVERRIDE_NOTE})" if tagged else "")
            return Verdict(True, reason, source=suspect.source, overrode_protect=tagged, examined=True)
        if tagged:
            return Verdict(False, f"carries the protect tag {self.protect_tag_key}=true", examined=True)
        launcher = evidence.launchers.get(resource.id)
        if launcher and self.is_protected_principal(launcher.principal_arn, launcher.principal_name):
            who = launcher.principal_arn or launcher.principal_name
            return Verdict(False, f"launched by protected principal {who}", examined=True)
        if suspect:
            return Verdict(True, suspect.reason, source=suspect.source, examined=True)

        in_window = window is not None and window.contains(resource.launched_at)
        suspicious = self.is_suspicious(resource.instance_types)
        outside = self.region_outside_allowed(resource.region)
        examined = in_window or suspicious
        types = ",".join(sorted(set(resource.instance_types))) or "unknown type"
        if evidence.attribution_available:
            return Verdict(
                False,
                f"not attributed to the compromised credential ({evidence.attribution_source} attribution "
                f"available in {resource.region})",
                examined=examined,
            )
        if window is None:
            return Verdict(False, "no incident window and no attribution", examined=examined)
        if in_window and (suspicious or outside):
            why = []
            if suspicious:
                why.append(f"type {types} matches SUSPICIOUS_INSTANCE_TYPES")
            if outside:
                why.append(f"region {resource.region} is outside ALLOWED_REGIONS")
            note = f"; {evidence.attribution_note}" if evidence.attribution_note else ""
            return Verdict(
                True,
                f"launched {iso(resource.launched_at)} inside the incident window and "
                + " and ".join(why)
                + f" (no attribution available{note})",
                source="window",
                examined=True,
            )
        if not in_window:
            when = iso(resource.launched_at) or "at an unknown time"
            return Verdict(False, f"launched {when}, before the incident window", examined=examined)
        return Verdict(
            False,
            f"launched inside the incident window but type {types} is not suspicious and the region is allowed",
            examined=examined,
        )
