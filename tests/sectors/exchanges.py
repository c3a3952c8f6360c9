"""Documented industrial-symbiosis exchanges (supplier sector, resource, receiver sector, source in the catalogue or
sector bibliography), for the cold-start check: knowing only the supplier's resource and every site's NACE code,
the real receiver's sector must rank in the top 3 of a panel of equidistant sites."""

from __future__ import annotations

# (supply class, supplier NACE, receiver NACE, source id, what happened)
EXCHANGES: list[tuple[str, str, str, str, str]] = [
    ("coal_fly_ash", "35.11", "23.51", "jacobsen_2006", "Asnæs power station fly ash to Aalborg Portland cement"),
    ("fgd_gypsum", "35.11", "23.62", "c2e2_kalundborg", "Asnæs FGD gypsum to the Gyproc plasterboard plant"),
    ("steam", "35.11", "21.10", "kalundborg_symbiosis", "Asnæs steam to Novo Nordisk"),
    ("steam", "35.11", "19.20", "kalundborg_symbiosis", "Asnæs steam to the Statoil refinery"),
    ("chp_heat", "35.11", "35.30", "kalundborg_symbiosis", "Asnæs heat to Kalundborg district heating"),
    ("cooling_water_heat", "35.11", "03.22", "ehrenfeld_gertler_1997", "Asnæs warm cooling water to a fish farm"),
    ("refinery_fuel_gas", "19.20", "23.62", "kalundborg_symbiosis", "Statoil refinery gas to Gyproc"),
    ("sulphur", "19.20", "20.13", "ehrenfeld_gertler_1997", "refinery sulphur to a sulphuric acid plant"),
    ("fermentation_biomass", "21.10", "35.21", "bigadan_kalundborg", "Novo yeast cream to Kalundborg Bioenergy"),
    ("titanogypsum", "20.12", "23.62", "letsrecycle_nisp_2005", "TiO2 by-product gypsum to a plasterboard maker"),
    ("process_co2", "19.20", "01.13", "ocap_urban_delta", "Pernis refinery CO2 to Dutch glasshouses (OCAP)"),
    ("heat_40_70c", "10.81", "01.13", "wissington_fpj", "Wissington sugar factory hot water to a glasshouse"),
    ("flue_gas_co2", "10.81", "01.13", "wissington_grocer", "Wissington sugar factory CO2 to the glasshouse"),
    ("metallurgical_heat", "24.10", "35.30", "dunkerque_france3", "ArcelorMittal Dunkerque sinter heat to the town"),
    ("refinery_heat", "19.20", "35.30", "preem_goteborg_2017", "Preem Gothenburg refinery heat to the city network"),
    ("data_centre_heat", "63.11", "35.30", "meta_odense_2018", "Odense data centre heat to Fjernvarme Fyn"),
    ("kiln_exhaust_heat", "23.51", "35.30", "aalborg_portland_dh", "Aalborg Portland kiln heat to Aalborg"),
    ("metallurgical_heat", "24.10", "35.30", "sweden_is_hoganas", "Höganäs surplus heat to the town's network"),
    ("steam", "35.30", "20.14", "handelo_symbiosis", "Händelö CHP steam to the Agroetanol plant"),
    ("fermentation_co2", "20.14", "20.11", "sweden_is_norrkoping", "Agroetanol fermentation CO2 captured by AGA"),
    ("distillers_grains", "20.14", "10.91", "martin_eklund_2011", "ethanol plant stillage to animal feed"),
    ("brewers_spent_grain", "11.05", "01.41", "mussatto_2014", "brewers' spent grain to dairy cattle"),
    ("fluorosilicic_acid", "20.15", "36.00", "awa_kwinana_2018", "fluorosilicic acid to water fluoridation"),
    ("chalk_limestone", "23.51", "35.11", "aalborg_portland_esg_2022", "chalk slurry to a power station FGD"),
    ("treated_wastewater", "37.00", "19.20", "kwinana_water_corp", "Kwinana recycled water to the refinery"),
    ("digestate", "35.21", "01.1", "novozymes_kalundborg_biogas", "biogas digestate as fertiliser on fields"),
    ("incineration_heat", "38.21", "35.30", "bref_wi_2019", "waste-to-energy heat to district heating"),
    ("granulated_blast_furnace_slag", "24.10", "23.51", "en_15167_1", "GGBS as a cement constituent"),
    ("whey", "10.51", "01.46", "reg_68_2013", "whey to liquid-fed pigs"),
    ("sugar_beet_pulp", "10.81", "01.41", "cefs_2002_beet", "pressed beet pulp to cattle"),
    ("former_foodstuffs", "10.71", "10.91", "reg_68_2013", "bakery returns to a feed mill"),
    ("manure", "01.46", "35.21", "bref_irpp_2017", "pig slurry to a biogas plant"),
    ("food_waste", "56.10", "35.21", "reg_142_2011", "catering food waste to anaerobic digestion"),
    ("rdf_srf", "38.32", "23.51", "en_15359", "solid recovered fuel to a cement kiln"),
    ("glass_cullet", "38.32", "23.13", "reg_1179_2012", "recycled cullet to a container glass furnace"),
    ("paper_cardboard", "47.11", "17.12", "en_643", "retail cardboard to a paper mill"),
    ("ferrous_scrap", "29.10", "24.10", "reg_333_2011", "press-shop scrap to an electric arc furnace"),
    ("sawdust", "16.10", "16.21", "bref_wbp_2016", "sawmill residues to a particleboard plant"),
    ("used_cooking_oil", "56.10", "20.59", "dir_2018_2001", "used cooking oil to a biodiesel plant"),
    ("slaughterhouse_by_products", "10.11", "10.92", "reg_1069_2009", "category 3 by-products to pet food"),
]

# Receivers a site panel may hold: one site per sector, a mix of the usual partners and their competitors.
_PANEL = """
    01.1 01.13 01.41 01.46 03.22 10.11 10.51 10.71 10.81 10.91 10.92 11.05 11.07 16.10 16.21 17.12 19.20 20.11 20.12
    20.13 20.14 20.15 20.59 21.10 23.13 23.51 23.62 23.63 24.10 24.42 29.10 35.11 35.21 35.30 36.00 37.00 38.21
    38.32 42.11 47.11 56.10 63.11
"""
PANEL: list[str] = _PANEL.split()
