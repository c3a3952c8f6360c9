"""Sector knowledge for the cold start: what a site of a NACE sector typically supplies and demands, with typical
quantities per unit of size and their sources, and the flows inferred from that for sites that declared nothing.

    from turash.sectors import get_profiles, profile_for, infer_flows, receiver_sectors
    profile_for("23.51").profile.class_ids("demand")   # ('supplementary_cementitious_material', ...)
    infer_flows("11.05", employees=80)                 # spent grain, yeast, CO2, wastewater... with ranges
    receiver_sectors("fgd_gypsum")[0].nace             # '23.62'
    rev21_to_rev2("38.21")                             # '38.32'
"""

from .inference import HOTMAPS_BANDS, figures_from_hotmaps, infer_flows, superseded
from .loader import SectorDataError, load_profiles
from .model import (
    DRIVERS,
    InferredFlow,
    ProfileFlow,
    ProfileMatch,
    QuantitySpec,
    RegisterFigures,
    SectorProfile,
    SectorScore,
    TypicalSite,
)
from .nace import Rev2Code, UnknownNaceCode, lineage, rev2_name, rev21_to_rev2, section_of, to_rev2
from .service import (
    SectorProfiles,
    get_profiles,
    load_sector_profiles,
    profile_for,
    receiver_sectors,
    supplier_sectors,
)

__all__ = [
    "DRIVERS",
    "HOTMAPS_BANDS",
    "InferredFlow",
    "ProfileFlow",
    "ProfileMatch",
    "QuantitySpec",
    "RegisterFigures",
    "Rev2Code",
    "SectorDataError",
    "SectorProfile",
    "SectorProfiles",
    "SectorScore",
    "TypicalSite",
    "UnknownNaceCode",
    "figures_from_hotmaps",
    "get_profiles",
    "infer_flows",
    "lineage",
    "load_profiles",
    "load_sector_profiles",
    "profile_for",
    "receiver_sectors",
    "rev2_name",
    "rev21_to_rev2",
    "section_of",
    "superseded",
    "supplier_sectors",
    "to_rev2",
]
