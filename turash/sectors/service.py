"""The sector knowledge service: profile look-up with fallback, and which sectors receive or supply a resource."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from turash.catalog import Catalog, Compatibility, Source, get_catalog

from .loader import DATA_DIR, load_profiles
from .model import Direction, ProfileFlow, ProfileMatch, SectorProfile, SectorScore
from .nace import Revision, UnknownNaceCode, lineage, to_rev2


class SectorProfiles:
    """Every sector profile, keyed by NACE Rev. 2 code. Use `get_profiles()` for the process-wide instance."""

    def __init__(self, profiles: Mapping[str, SectorProfile], sources: Mapping[str, Source], catalog: Catalog) -> None:
        self.profiles: Mapping[str, SectorProfile] = dict(profiles)
        self.catalog = catalog
        self.sources: Mapping[str, Source] = {**catalog.sources, **sources}
        self.own_sources: Mapping[str, Source] = dict(sources)
        self._compat: dict[tuple[str, str], Compatibility | None] = {}

    def __len__(self) -> int:
        return len(self.profiles)

    def __contains__(self, code: object) -> bool:
        return code in self.profiles

    def get(self, code: str) -> SectorProfile:
        """The profile declared for exactly this code (KeyError otherwise); see `profile_for` for the fallback."""
        return self.profiles[code]

    def profile_for(self, nace: str, revision: Revision = "2") -> ProfileMatch | None:
        """The most specific profile for a code: class → group → division → section. A Rev. 2.1 code
        (`revision="2.1"`, or `"auto"` for a code only Rev. 2.1 has) is converted to Rev. 2 first. None when
        the code is malformed or unknown."""
        try:
            rev2 = to_rev2(nace, revision)
        except UnknownNaceCode:
            return None
        for code in lineage(rev2.code):
            profile = self.profiles.get(code)
            if profile is not None:
                return ProfileMatch(requested=nace, rev2=rev2.code, profile=profile, revision=rev2.revision)
        return None

    def _compatibility(self, supply: str, demand: str) -> Compatibility | None:
        key = (supply, demand)
        if key not in self._compat:
            self._compat[key] = self.catalog.compatibility(supply, demand)
        return self._compat[key]

    def _best(self, class_id: str, flows: Iterable[ProfileFlow], direction: Direction) -> SectorScore | None:
        best: SectorScore | None = None
        for flow in flows:
            comp = (
                self._compatibility(class_id, flow.class_id)
                if direction == "demand"
                else self._compatibility(flow.class_id, class_id)
            )
            if comp is None:
                continue
            score = comp.score * flow.likelihood
            if best is None or score > best.score:
                best = SectorScore(
                    nace="",
                    name="",
                    score=round(score, 4),
                    compatibility=comp.score,
                    likelihood=flow.likelihood,
                    matched_class=flow.class_id,
                    via=comp.via,
                )
        return best

    def _sectors(
        self, class_id: str, direction: Direction, min_score: float, limit: int | None, inherited: bool
    ) -> list[SectorScore]:
        self.catalog.get(class_id)  # raises UnknownResourceClass
        out: list[SectorScore] = []
        for code, profile in self.profiles.items():
            flows = profile.flows(direction) if inherited else profile.own(direction)
            best = self._best(class_id, flows, direction)
            if best is not None and best.score >= min_score:
                out.append(
                    SectorScore(
                        nace=code,
                        name=profile.name,
                        score=best.score,
                        compatibility=best.compatibility,
                        likelihood=best.likelihood,
                        matched_class=best.matched_class,
                        via=best.via,
                    )
                )
        out.sort(key=lambda s: (-s.score, -len(s.nace), s.nace))
        return out[:limit] if limit is not None else out

    def receiver_sectors(
        self, class_id: str, *, min_score: float = 0.2, limit: int | None = None, inherited: bool = False
    ) -> list[SectorScore]:
        """Sectors whose profile demands `class_id` or something it can serve (catalogue compatibility), best
        first; score = compatibility × likelihood. By default only the profiles that declare the demand are listed
        (their sub-sectors inherit it); `inherited=True` lists every profile that has it."""
        return self._sectors(class_id, "demand", min_score, limit, inherited)

    def supplier_sectors(
        self, class_id: str, *, min_score: float = 0.2, limit: int | None = None, inherited: bool = False
    ) -> list[SectorScore]:
        """Sectors whose profile supplies `class_id` or something that can serve it, best first."""
        return self._sectors(class_id, "supply", min_score, limit, inherited)

    def rank_receivers(self, class_id: str, naces: Iterable[str], revision: Revision = "2") -> list[SectorScore]:
        """Cold start: sites known only by their NACE code, ranked as receivers of a declared supply of
        `class_id` (each site's most specific profile; sites with no compatible demand are left out)."""
        out: list[SectorScore] = []
        for nace in naces:
            match = self.profile_for(nace, revision)
            if match is None:
                continue
            best = self._best(class_id, match.profile.demands, "demand")
            if best is not None:
                out.append(
                    SectorScore(
                        nace=nace,
                        name=match.profile.name,
                        score=best.score,
                        compatibility=best.compatibility,
                        likelihood=best.likelihood,
                        matched_class=best.matched_class,
                        via=best.via,
                    )
                )
        out.sort(key=lambda s: -s.score)
        return out

    def coverage(self) -> dict[str, Any]:
        by_level: dict[str, int] = {}
        for profile in self.profiles.values():
            by_level[profile.level] = by_level.get(profile.level, 0) + 1
        return {
            "profiles": len(self.profiles),
            "by_level": dict(sorted(by_level.items())),
            "divisions": sorted({c[:2] for c in self.profiles if len(c) >= 2}),
            "flows": sum(len(p.own()) for p in self.profiles.values()),
            "sources": len(self.own_sources),
        }


def load_sector_profiles(data_dir: Path | str = DATA_DIR, catalog: Catalog | None = None) -> SectorProfiles:
    catalog = catalog or get_catalog()
    loaded = load_profiles(data_dir, catalog)
    return SectorProfiles(loaded.profiles, loaded.sources, catalog)


_lock = threading.Lock()
_instance: SectorProfiles | None = None


def get_profiles() -> SectorProfiles:
    """The process-wide sector profiles, loaded and validated on first use."""
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = load_sector_profiles()
    return _instance


def profile_for(nace: str, revision: Revision = "2") -> ProfileMatch | None:
    return get_profiles().profile_for(nace, revision)


def receiver_sectors(class_id: str, *, min_score: float = 0.2, limit: int | None = None) -> list[SectorScore]:
    return get_profiles().receiver_sectors(class_id, min_score=min_score, limit=limit)


def supplier_sectors(class_id: str, *, min_score: float = 0.2, limit: int | None = None) -> list[SectorScore]:
    return get_profiles().supplier_sectors(class_id, min_score=min_score, limit=limit)
