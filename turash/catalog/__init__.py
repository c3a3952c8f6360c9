"""Resource catalogue: curated classes of wastes, by-products, surplus energy, water, gases, services and needs,
the free-text resolver that maps plant managers' words to them, and supply → demand compatibility.

    from turash.catalog import get_catalog
    cat = get_catalog()
    cat.resolve("surplus heat from flue gas condensation", direction="supply").best
    cat.compatibility("coal_fly_ash", "supplementary_cementitious_material")
"""

from .loader import CatalogDataError
from .model import (
    CATEGORIES,
    Band,
    Category,
    ClassCandidate,
    Compatibility,
    Resolution,
    ResourceClass,
    Source,
    Use,
    UseConditions,
)
from .service import Catalog, CompatibilityMatrix, UnknownResourceClass, get_catalog, load_catalog

__all__ = [
    "CATEGORIES",
    "Band",
    "Catalog",
    "CatalogDataError",
    "Category",
    "ClassCandidate",
    "Compatibility",
    "CompatibilityMatrix",
    "Resolution",
    "ResourceClass",
    "Source",
    "UnknownResourceClass",
    "Use",
    "UseConditions",
    "get_catalog",
    "load_catalog",
]
