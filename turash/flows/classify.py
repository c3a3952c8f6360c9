"""What a flow is: its resource class and category, from the catalogue (turash.catalog), cached per input."""

from __future__ import annotations

from functools import lru_cache

from turash.catalog import get_catalog

Classification = tuple[str | None, str | None, tuple[tuple[str, float], ...]]


@lru_cache(maxsize=65536)
def classify(
    resource: str, ewc_code: str | None, nace: str | None, category: str | None, direction: str | None
) -> Classification:
    """(category, best resource class id, all candidate classes with weights). A declared category is kept; an
    empty one is inferred from the best class. Text the catalogue cannot place yields no class rather than a
    guess; ambiguous text keeps several weighted candidates, which matching uses."""
    catalog = get_catalog()
    resolution = catalog.resolve(resource, ewc_code=ewc_code, nace=nace, category=category, direction=direction)
    best = resolution.best
    if category is None and best is not None:
        category = catalog.get(best).category
    if category is None:
        category = catalog.infer_category(resource, ewc_code=ewc_code, nace=nace)
    candidates = tuple((c.class_id, round(float(c.weight), 4)) for c in resolution.candidates)
    return category, best, candidates
