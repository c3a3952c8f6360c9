"""Template clauses for a partner packet: a mutual NDA and the heads of terms of a supply agreement.

Written for Turash as a starting point for the parties' own lawyers: plain clauses an industrial-symbiosis exchange
usually needs (cf. the topics of the EU Waste Framework Directive 2008/98/EC, Art. 5-6, on by-products and
end-of-waste status). Every template is marked as such: none of it is legal advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOTICE = (
    "TEMPLATE - written by Turash as a starting point, not legal advice. Have it checked by a lawyer for your "
    "jurisdiction before anyone signs; fill in every [bracketed] blank."
)


@dataclass(frozen=True)
class Terms:
    """What the packet knows about the exchange at the current disclosure stage ([blanks] where it does not)."""

    supplier: str
    receiver: str
    resource: str
    use: str
    quantity: str
    quality: str
    delivery: str
    schedule: str
    price: str
    waste_status: str
    term_years: int
    country: str


def nda(t: Terms) -> list[tuple[str, str]]:
    return [
        ("Parties", f"{t.supplier} and {t.receiver} (each a Party)."),
        (
            "Purpose",
            f"To evaluate and, if both agree, prepare an exchange of {t.resource} from {t.supplier} to "
            f"{t.receiver} for use as {t.use} (the Purpose).",
        ),
        (
            "Confidential information",
            "Everything one Party discloses to the other for the Purpose, in any form: quantities, compositions, "
            "process and site data, prices and costs, and this packet's contents beyond what the platform showed "
            "both Parties anyway.",
        ),
        (
            "Obligations",
            "The receiving Party uses it only for the Purpose, protects it at least as carefully as its own "
            "confidential information, and shares it only with employees and advisers who need it for the Purpose "
            "and are bound to the same confidentiality.",
        ),
        (
            "Exclusions",
            "Information that is or becomes public without breach, that the receiving Party already knew or "
            "develops independently, that it lawfully receives from a third party, or that law or an authority "
            "requires it to disclose (after telling the other Party where allowed).",
        ),
        (
            "Term",
            "[3] years from signature; the obligations survive for [5] years after the end of the term.",
        ),
        ("Return", "On request, each Party returns or destroys the other's confidential information."),
        ("No obligation", "Neither Party is obliged to conclude an exchange; no licence is granted."),
        ("Law", f"[{t.country}] law; the courts of [place]."),
    ]


def supply_agreement(t: Terms) -> list[tuple[str, str]]:
    return [
        (
            "Subject",
            f"{t.supplier} (the Supplier) delivers and {t.receiver} (the Receiver) takes {t.resource} for use as "
            f"{t.use}.",
        ),
        (
            "Quantity",
            f"{t.quantity}. Each Party gives [3] months' notice of a lasting change of more than [20] %; the "
            "Receiver keeps an alternative supply for interruptions.",
        ),
        (
            "Quality",
            f"{t.quality} Sampling and test method: [standard]; a delivery outside the specification may be "
            "refused, and the Supplier takes it back at its cost.",
        ),
        ("Delivery", f"{t.delivery}; schedule: {t.schedule}. Title and risk pass at [the delivery point]."),
        ("Price", t.price),
        ("Waste status and permits", t.waste_status),
        (
            "Investment and ownership",
            "Who builds, owns, operates and maintains the link (pipe, exchanger, storage, transport): [Party]; its "
            "cost is recovered through [the price / a connection fee] over [years].",
        ),
        (
            "Liability and insurance",
            "Each Party is liable for damage it causes, excluding indirect loss; liability is capped at [amount]; "
            "each keeps the usual insurance.",
        ),
        (
            "Term and termination",
            f"[{t.term_years}] years from first delivery, then year by year; either Party may end it with "
            "[12] months' notice, and at once on the other's material breach not cured within [60] days.",
        ),
        (
            "Interruptions",
            "A stop of the Supplier's process or the Receiver's plant for maintenance or force majeure suspends "
            "the obligations without liability, after notice as early as possible.",
        ),
        ("Confidentiality", "The Parties' NDA continues to apply."),
        ("Law and disputes", f"[{t.country}] law; mediation first, then the courts of [place]."),
    ]


def waste_status(hazardous: Any, ewc_code: str | None) -> str:
    """The waste-law clause, by what the flows say about the material."""
    code = f" (EWC {ewc_code})" if ewc_code else ""
    if hazardous is True:
        return (
            f"The material{code} is hazardous waste: every shipment travels with the documents waste law requires "
            "and goes only to a Receiver permitted to treat it; the Receiver confirms its permit [number] before "
            "the first delivery."
        )
    return (
        f"The Parties record whether the material{code} is a by-product (Directive 2008/98/EC, Art. 5) or has "
        "reached end-of-waste status (Art. 6); until either is confirmed by [the authority], waste law applies "
        "to its transport and use, and the Receiver holds the permits it needs."
    )
