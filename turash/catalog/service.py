"""The catalogue service: class look-up, text → class resolution, and supply/demand compatibility."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from turash.kit.errors import NotFound

from .loader import DATA_DIR, load_catalog_data
from .model import VIA_CODES, ClassCandidate, Compatibility, Resolution, ResourceClass, Source, Use, Via
from .resolver import Resolver
from .text import lower, normalise_ewc_code, normalise_nace_code

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

RESOLVE_CACHE_SIZE = 65536
# Score of `d ancestor of s` by depth: fgd_gypsum → gypsum is 0.95, two levels up 0.9 ...
ANCESTOR_SCORE = (0.95, 0.9, 0.85, 0.8)
# A use reaches a more general demand class than the one it names with this factor per level.
USE_GENERALISATION = 0.95


class UnknownResourceClass(NotFound, KeyError):
    """`cat.get("no_such_class")`: a NotFound for the API and a KeyError for Python callers."""

    def __init__(self, class_id: str) -> None:
        NotFound.__init__(
            self,
            f"resource class '{class_id}' is not in the catalogue",
            details={"kind": "resource class", "id": class_id},
        )

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class CompatibilityMatrix:
    """All compatible (supply class, demand class) pairs, for the array engine.

    `matrix` is n × n float32 CSR (rows: supply class index, cols: demand class index, value: score). The condition
    arrays are aligned with `matrix.data` (CSR order: row by row, columns ascending); NaN means no condition.
    """

    class_ids: tuple[str, ...]
    matrix: csr_matrix
    min_temperature_c: np.ndarray
    max_temperature_c: np.ndarray
    min_purity_pct: np.ndarray
    min_pressure_bar: np.ndarray
    needs_treatment: np.ndarray
    via: np.ndarray  # int8: 0 same, 1 ancestor, 2 use

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)


class Catalog:
    """The curated catalogue of resource classes. Use `get_catalog()` for the process-wide instance."""

    def __init__(self, classes: Sequence[ResourceClass], sources: Mapping[str, Source]) -> None:
        self.classes: tuple[ResourceClass, ...] = tuple(classes)
        self.sources: Mapping[str, Source] = dict(sources)
        self._by_id = {rc.id: rc for rc in self.classes}
        self._index = {rc.id: i for i, rc in enumerate(self.classes)}
        children: dict[str, list[str]] = {rc.id: [] for rc in self.classes}
        for rc in self.classes:
            if rc.parent is not None:
                children[rc.parent].append(rc.id)
        self._children = {k: tuple(v) for k, v in children.items()}
        self._ancestors: dict[str, tuple[str, ...]] = {}
        for rc in self.classes:
            chain: list[str] = []
            node = rc.parent
            while node is not None:
                chain.append(node)
                node = self._by_id[node].parent
            self._ancestors[rc.id] = tuple(chain)
        self._descendants: dict[str, tuple[str, ...]] = {}
        for rc in self.classes:
            out: list[str] = []
            stack = list(self._children[rc.id])
            while stack:
                node = stack.pop(0)
                out.append(node)
                stack.extend(self._children[node])
            self._descendants[rc.id] = tuple(out)
        self._resolver = Resolver(self.classes, self.ancestors, self.descendants)
        self._resolve_cached = lru_cache(maxsize=RESOLVE_CACHE_SIZE)(self._resolver.resolve)
        self._matrix: CompatibilityMatrix | None = None
        self._matrix_lock = threading.Lock()

    # -- look-up -------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.classes)

    def __contains__(self, class_id: object) -> bool:
        return class_id in self._by_id

    @property
    def class_ids(self) -> tuple[str, ...]:
        return tuple(self._index)

    def get(self, class_id: str) -> ResourceClass:
        try:
            return self._by_id[class_id]
        except KeyError:
            raise UnknownResourceClass(class_id) from None

    def index_of(self, class_id: str) -> int:
        """Stable integer index (the position in `classes`) for array code."""
        try:
            return self._index[class_id]
        except KeyError:
            raise UnknownResourceClass(class_id) from None

    def ancestors(self, class_id: str) -> tuple[str, ...]:
        """Parent, grandparent, ... of a class (nearest first)."""
        return self._ancestors[self.get(class_id).id]

    def descendants(self, class_id: str) -> tuple[str, ...]:
        """Every class below this one (breadth first)."""
        return self._descendants[self.get(class_id).id]

    def children(self, class_id: str) -> tuple[str, ...]:
        return self._children[self.get(class_id).id]

    def by_category(self, category: str) -> tuple[ResourceClass, ...]:
        return tuple(rc for rc in self.classes if rc.category == category)

    def classes_for_ewc(self, ewc_code: str) -> tuple[str, ...]:
        """Classes that list an EWC code (`10 01 02`, `100102`)."""
        return self._resolver.classes_for_ewc(ewc_code)

    def ewc_is_hazardous(self, ewc_code: str) -> bool | None:
        """True if the catalogue lists the code as a hazardous (starred) entry, False if as non-hazardous,
        None if the catalogue does not know the code."""
        norm = normalise_ewc_code(ewc_code)
        if norm is None:
            return None
        starred = {code.endswith("*") for rc in self.classes for code in rc.ewc if code.rstrip("*") == norm}
        if not starred:
            return None
        return True in starred

    def classes_for_nace(self, nace: str, direction: str = "supply") -> tuple[str, ...]:
        """Classes a sector typically supplies (`direction="supply"`) or receives (`"demand"`): a prior for sites
        that declared no flows. Longest-prefix codes first."""
        code = normalise_nace_code(nace)
        if code is None:
            return ()
        hits: list[tuple[int, str]] = []
        for rc in self.classes:
            listed = rc.nace_suppliers if direction == "supply" else rc.nace_receivers
            best = max((len(c) for c in listed if code.startswith(c) or c.startswith(code)), default=0)
            if best:
                hits.append((best, rc.id))
        return tuple(cid for _, cid in sorted(hits, key=lambda h: (-h[0], self._index[h[1]])))

    # -- resolution ----------------------------------------------------------------------------------------------

    def resolve(
        self,
        text: str,
        ewc_code: str | None = None,
        nace: str | None = None,
        category: str | None = None,
        direction: str | None = None,
    ) -> Resolution:
        """Map a free-text description to weighted classes. Cached on the normalised inputs."""
        norm_text = " ".join(lower(text or "").split())
        ewc = normalise_ewc_code(ewc_code)
        nace_code = normalise_nace_code(nace)
        cat = category.strip().lower() if category and category.strip() else None
        way = direction.strip().lower() if direction and direction.strip() else None
        if way not in (None, "supply", "demand"):
            raise ValueError(f"direction must be 'supply' or 'demand', not {direction!r}")
        return self._resolve_cached(norm_text, ewc, nace_code, cat, way)

    def resolve_cache_info(self) -> Any:
        return self._resolve_cached.cache_info()

    def clear_resolve_cache(self) -> None:
        self._resolve_cached.cache_clear()

    def infer_category(self, text: str, ewc_code: str | None = None, nace: str | None = None) -> str | None:
        """The category whose classes carry most of the resolved weight; `material` for an unrecognised text that
        has an EWC code (List of Waste entries are materials in all but a few cases); else None."""
        res = self.resolve(text, ewc_code=ewc_code, nace=nace)
        if not res.candidates:
            return "material" if normalise_ewc_code(ewc_code) else None
        totals: dict[str, float] = {}
        for cand in res.candidates:
            category = self._by_id[cand.class_id].category
            totals[category] = totals.get(category, 0.0) + cand.weight
        return max(totals.items(), key=lambda item: item[1])[0]

    # -- compatibility -------------------------------------------------------------------------------------------

    def _use_towards(self, supply: ResourceClass, demand_id: str) -> tuple[Use, str, float] | None:
        """Nearest `uses` entry (of the supply, else its parent, ...) that reaches the demand, with its factor."""
        for node_id in (supply.id, *self._ancestors[supply.id]):
            node = self._by_id[node_id]
            best: tuple[Use, str, float] | None = None
            for use in node.uses:
                if use.to == demand_id:
                    factor = 1.0
                else:
                    chain = self._ancestors[use.to]
                    if demand_id not in chain:
                        continue
                    factor = USE_GENERALISATION ** (chain.index(demand_id) + 1)
                if best is None or use.fit * factor > best[0].fit * best[2]:
                    best = (use, node_id, factor)
            if best is not None:
                return best
        return None

    def compatibility(self, supply_class: str, demand_class: str) -> Compatibility | None:
        """Can a flow of `supply_class` serve a need of `demand_class`? None if not."""
        supply = self.get(supply_class)
        demand = self.get(demand_class)
        if supply.id == demand.id:
            return Compatibility(supply.id, demand.id, 1.0, "same")
        chain = self._ancestors[supply.id]
        if demand.id in chain:
            depth = chain.index(demand.id)
            score = ANCESTOR_SCORE[min(depth, len(ANCESTOR_SCORE) - 1)]
            return Compatibility(supply.id, demand.id, score, "ancestor")
        if _bands_exclude(supply, demand):
            return None
        found = self._use_towards(supply, demand.id)
        if found is None:
            return None
        use, node_id, factor = found
        return Compatibility(
            supply.id,
            demand.id,
            round(use.fit * factor, 4),
            "use",
            conditions=use.conditions.as_dict(),
            sources=use.sources,
            use_of=node_id,
        )

    def compatible_demands(self, supply_class: str) -> list[Compatibility]:
        """Every demand class a supply class can serve, best first."""
        out = [c for d in self.classes if (c := self.compatibility(supply_class, d.id)) is not None]
        return sorted(out, key=lambda c: (-c.score, self._index[c.demand]))

    def compatible_supplies(self, demand_class: str) -> list[Compatibility]:
        """Every supply class that can serve a demand class, best first."""
        out = [c for s in self.classes if (c := self.compatibility(s.id, demand_class)) is not None]
        return sorted(out, key=lambda c: (-c.score, self._index[c.supply]))

    def candidate_compatibility(
        self, supply: Sequence[ClassCandidate], demand: Sequence[ClassCandidate]
    ) -> Compatibility | None:
        """Best weighted compatibility between two resolutions (weight_s × weight_d × score)."""
        best: tuple[float, Compatibility] | None = None
        for s in supply:
            for d in demand:
                comp = self.compatibility(s.class_id, d.class_id)
                if comp is None:
                    continue
                value = s.weight * d.weight * comp.score
                if best is None or value > best[0]:
                    best = (value, comp)
        return best[1] if best else None

    def compatibility_matrix(self) -> CompatibilityMatrix:
        """Sparse matrix of every compatible pair with condition arrays aligned to its data. Computed once."""
        with self._matrix_lock:
            if self._matrix is None:
                self._matrix = self._build_matrix()
            return self._matrix

    def _build_matrix(self) -> CompatibilityMatrix:
        from scipy.sparse import csr_matrix

        n = len(self.classes)
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        conditions: dict[str, list[float]] = {
            k: [] for k in ("min_temperature_c", "max_temperature_c", "min_purity_pct", "min_pressure_bar")
        }
        treatment: list[bool] = []
        via: list[int] = []
        for s in self.classes:
            for j, d in enumerate(self.classes):
                comp = self.compatibility(s.id, d.id)
                if comp is None:
                    continue
                indices.append(j)
                data.append(comp.score)
                for key, values in conditions.items():
                    value = comp.conditions.get(key)
                    values.append(float(value) if isinstance(value, int | float) else np.nan)
                treatment.append(bool(comp.conditions.get("needs_treatment", False)))
                via.append(VIA_CODES[_via(comp.via)])
            indptr.append(len(indices))
        matrix = csr_matrix(
            (
                np.asarray(data, dtype=np.float32),
                np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int32),
            ),
            shape=(n, n),
        )
        # Built row by row with ascending columns: CSR canonical order, which the aligned arrays rely on.
        assert matrix.has_sorted_indices
        return CompatibilityMatrix(
            class_ids=self.class_ids,
            matrix=matrix,
            min_temperature_c=np.asarray(conditions["min_temperature_c"], dtype=np.float32),
            max_temperature_c=np.asarray(conditions["max_temperature_c"], dtype=np.float32),
            min_purity_pct=np.asarray(conditions["min_purity_pct"], dtype=np.float32),
            min_pressure_bar=np.asarray(conditions["min_pressure_bar"], dtype=np.float32),
            needs_treatment=np.asarray(treatment, dtype=bool),
            via=np.asarray(via, dtype=np.int8),
        )

    # -- statistics ----------------------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        by_category: dict[str, int] = {}
        languages: dict[str, int] = {}
        for rc in self.classes:
            by_category[rc.category] = by_category.get(rc.category, 0) + 1
            for lang, names in rc.synonyms.items():
                languages[lang] = languages.get(lang, 0) + len(names)
        return {
            "classes": len(self.classes),
            "by_category": dict(sorted(by_category.items())),
            "synonyms_by_language": dict(sorted(languages.items(), key=lambda kv: -kv[1])),
            "uses": sum(len(rc.uses) for rc in self.classes),
            "sources": len(self.sources),
            "vocabulary": self._resolver.vocabulary_size,
        }


def _via(value: Via) -> Via:
    return value


def _bands_exclude(supply: ResourceClass, demand: ResourceClass) -> bool:
    """True when the supply's band lies wholly below the demand's band (LP steam cannot serve an HP need), whatever
    a generic ancestor's use says."""
    if supply.band is None or demand.band is None:
        return False
    for attribute in ("temperature_c", "pressure_bar"):
        s_bounds = getattr(supply.band, attribute)
        d_bounds = getattr(demand.band, attribute)
        if s_bounds is None or d_bounds is None:
            continue
        if s_bounds[1] is not None and d_bounds[0] is not None and s_bounds[1] <= d_bounds[0]:
            return True
    return False


def load_catalog(data_dir: Path | str = DATA_DIR) -> Catalog:
    """Load and validate a catalogue from a data directory (the package's own by default)."""
    loaded = load_catalog_data(data_dir)
    return Catalog(loaded.classes, loaded.sources)


_lock = threading.Lock()
_instance: Catalog | None = None


def get_catalog() -> Catalog:
    """The process-wide catalogue, loaded and validated on first use and shared afterwards."""
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = load_catalog()
    return _instance
