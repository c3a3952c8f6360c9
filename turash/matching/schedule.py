"""Reading a flow's `schedule` text into what the engine compares: the months it runs and its share of the week.

Plant managers write `24/7`, `weekdays 6-22`, `winter`, `Oct-Apr`, `Mon-Fri`, `heating season`, `2 shifts`,
`summer only`, `continuous`, `batch`... Text we cannot read means "unknown": all year, full week, and the caller
lowers trust rather than guessing. Seasons are meteorological (Northern Hemisphere): winter = Dec-Feb,
spring = Mar-May, summer = Jun-Aug, autumn = Sep-Nov; the heating season is Oct-Apr (EN 15316 practice and
Danish/German district-heating usage).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

ALL_YEAR = 0xFFF
_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january", "januar", "janvier", "enero"),
            ("feb", "february", "februar", "fevrier", "février", "febrero"),
            ("mar", "march", "marts", "märz", "maerz", "mars", "marzo"),
            ("apr", "april", "avril", "abril"),
            ("may", "maj", "mai", "mayo"),
            ("jun", "june", "juni", "juin", "junio"),
            ("jul", "july", "juli", "juillet", "julio"),
            ("aug", "august", "aout", "août", "agosto"),
            ("sep", "sept", "september", "septembre", "septiembre"),
            ("oct", "october", "oktober", "octobre", "octubre", "okt"),
            ("nov", "november", "novembre", "noviembre"),
            ("dec", "december", "dezember", "decembre", "décembre", "diciembre", "dez"),
        ]
    )
    for name in names
}
_SEASONS = {
    "winter": (11, 0, 1),
    "vinter": (11, 0, 1),
    "hiver": (11, 0, 1),
    "invierno": (11, 0, 1),
    "spring": (2, 3, 4),
    "forår": (2, 3, 4),
    "frühling": (2, 3, 4),
    "printemps": (2, 3, 4),
    "summer": (5, 6, 7),
    "sommer": (5, 6, 7),
    "été": (5, 6, 7),
    "ete": (5, 6, 7),
    "verano": (5, 6, 7),
    "autumn": (8, 9, 10),
    "fall": (8, 9, 10),
    "efterår": (8, 9, 10),
    "herbst": (8, 9, 10),
    "automne": (8, 9, 10),
    "heating season": (9, 10, 11, 0, 1, 2, 3),
    "fyringssæson": (9, 10, 11, 0, 1, 2, 3),
    "heizperiode": (9, 10, 11, 0, 1, 2, 3),
}
_AMBIGUOUS_WORDS = frozenset({"may", "mar", "mai", "sept"})  # "may vary", "mar" (Spanish: sea)...
_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_MONTH_RANGE = re.compile(r"\b([a-zéû]{3,9})\.?\s*(?:-|–|to|til|bis|à|a)\s*([a-zéû]{3,9})\b")
_HOURS = re.compile(r"\b(\d{1,2})(?::00)?\s*(?:-|–|to)\s*(\d{1,2})(?::00)?\s*(?:h\b)?")
_DAY_RANGE = re.compile(r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\s*(?:-|–|to)\s*(mon|tue|wed|thu|fri|sat|sun)[a-z]*")
_SHIFTS = re.compile(r"\b([123])\s*[- ]?shifts?\b")


@dataclass(frozen=True, slots=True)
class Schedule:
    month_mask: int  # bit m set = runs in month m (0 = January)
    weekly_hours: float  # share of the 168 hours of a week, 0..1
    understood: bool  # False when the text said nothing we could read (then: all year, full week)


def _month_span(start: int, end: int) -> int:
    mask, m = 0, start
    while True:
        mask |= 1 << m
        if m == end:
            return mask
        m = (m + 1) % 12


@lru_cache(maxsize=8192)
def parse_schedule(text: str | None) -> Schedule:
    if not text or not text.strip():
        return Schedule(ALL_YEAR, 1.0, False)
    s = text.strip().lower()
    understood = False
    months = 0
    for a, b in _MONTH_RANGE.findall(s):
        if a in _MONTHS and b in _MONTHS:
            months |= _month_span(_MONTHS[a], _MONTHS[b])
            understood = True
    for name, season in _SEASONS.items():
        if name in s:
            for m in season:
                months |= 1 << m
            understood = True
    if not months:
        for word in re.findall(r"[a-zéû]+", s):
            if word in _MONTHS and word not in _AMBIGUOUS_WORDS:
                months |= 1 << _MONTHS[word]
                understood = True
    if "all year" in s or "year-round" in s or "year round" in s or "helår" in s or "ganzjährig" in s:
        months, understood = ALL_YEAR, True
    share = 1.0
    if re.search(r"\b24\s*/\s*7\b|\b24/365\b|continuous|round the clock|døgndrift|durchgehend|kontinuerlig", s):
        understood = True
    else:
        days = 7.0
        day_range = _DAY_RANGE.search(s)
        if day_range:
            start, end = _DAYS[day_range.group(1)], _DAYS[day_range.group(2)]
            days = float((end - start) % 7 + 1)
            understood = True
        elif re.search(r"weekdays?|working days|hverdage|werktag|semaine|lun-ven|mon-fri", s):
            days, understood = 5.0, True
        elif "weekend" in s:
            days, understood = 2.0, True
        hours = 24.0
        span = _HOURS.search(s)
        if span:
            start_h, end_h = int(span.group(1)), int(span.group(2))
            if 0 <= start_h <= 24 and 0 <= end_h <= 24 and start_h != end_h:
                hours = float((end_h - start_h) % 24 or 24)
                understood = True
        shifts = _SHIFTS.search(s)
        if shifts:
            hours, understood = 8.0 * int(shifts.group(1)), True
        share = days * hours / 168.0
    return Schedule(months or ALL_YEAR, min(1.0, share), understood)
