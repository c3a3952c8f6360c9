"""What a flow is: its resource class and category, from the catalogue (turash.catalog), cached per input."""

from __future__ import annotations

from functools import lru_cache

from turash.catalog import get_catalog


@lru_cache(maxsize=65536)
def classify(
    resource: str, ewc_code: str | None, nace: str | None, category: str | None, direction: str | None
) -> tuple[str | None, str | None]:
    """(category, resource class id). A declared category is kept; an empty one is inferred from the best class.
    Text the catalogue cannot place yields no class rather than a guess."""
    catalog = get_catalog()
    resolution = catalog.resolve(resource, ewc_code=ewc_code, nace=nace, category=category, direction=direction)
    best = resolution.best
    if category is None and best is not None:
        category = catalog.get(best).category
    if category is None:
        category = catalog.infer_category(resource, ewc_code=ewc_code, nace=nace)
    return category, best
