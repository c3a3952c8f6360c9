"""Text normalisation for the resolver: folding, tokens, stems, and the numbers plant managers put in names.

Two folds are indexed for every synonym so that both `Abwärme`/`Abwarme` and the transliteration `Abwaerme`, or
`røggas`/`roggas` and `roeggas`, find the same class: fold A drops diacritics (ä→a, ø→o, ß→ss, æ→ae), fold B
transliterates them the German/Danish way (ä→ae, ø→oe, å→aa).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_FOLD_A = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "å": "a", "œ": "oe", "ð": "d", "þ": "th", "ł": "l", "đ": "d"})
_FOLD_B = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ø": "oe", "æ": "ae", "å": "aa", "ß": "ss", "œ": "oe", "ð": "d", "þ": "th"}
)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def lower(text: str) -> str:
    """NFKC (CO₂ → CO2, ﬁ → fi) and lower case, keeping ß/æ/ø as they are."""
    return unicodedata.normalize("NFKC", text).lower()


def fold_a(text: str) -> str:
    return _strip_marks(lower(text).translate(_FOLD_A))


def fold_b(text: str) -> str:
    return _strip_marks(lower(text).translate(_FOLD_B))


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words in the languages the catalogue covers (already folded). They carry no resource meaning.
STOPWORDS = _words(
    """
    a an the of from for and or with without in on at to by as is are be our we us its it this that these those
    per via into onto than which who what when where also other others etc e g eg ie approx approximately about
    around ca circa some any all each every up out not only more less most
    der die das den dem des ein eine einer eines einem einen und oder mit ohne aus von vom fur fuer im in am an
    zum zur bei als pro etwa unser unsere unseren ist sind wird werden zu auf uber ueber je
    le la les l de du des d un une et ou avec sans pour en au aux par sur dans est sont nos notre
    en et den det de og eller med uden fra til af for i pa paa som vores vi er ved om hos
    el la los las lo del un una unos unas y o con sin para por en al es son nuestro nuestra nuestros
    och av fran till med utan vid ar var vara
    het een van en voor met uit op bij is zijn onze ons naar
    """
)

# Words that describe the situation rather than the resource; they count little when measuring how much of a
# description a synonym explains ("surplus", "plant", "annual"...).
LOW_INFORMATION = _words(
    """
    surplus excess residual spare unused available leftover byproduct product products industrial plant plants
    site sites factory facility facilities production manufacturing operation operations onsite local continuous
    quantity quantities large small amount amounts tonne tonnes ton tons annual annually year years yearly month
    monthly week weekly day daily hour hourly kg t mt kt l m3 mw kw gw mwh gwh kwh gj tj yr h d min max average
    approx typical typically our generated produced arising arises recovered recovery potential current currently
    uberschuss ueberschuss rest anlage werk produktion betrieb
    overskud overskuds anlaeg anlag fabrik produktion virksomhed
    excedent usine production exces
    excedente planta fabrica produccion
    overskott anlaggning fabrik
    overschot fabriek
    stream streams flow flows line lines unit units system systems tank tanks pipe pipes pipeline pipelines
    left after before during removed collected delivered supplied received replace replacing replaced lower raise
    mainly mostly partly including various used
    """
)

# Word pairs that describe a treatment, not a resource: "heat-treated biomass" is biomass, not heat.
MODIFIER_PHRASES = frozenset(
    {("heat", "treated"), ("heat", "dried"), ("heat", "sterilised"), ("heat", "sterilized"), ("heat", "resistant")}
)

_UNIT_TOKENS = _words(
    "t tonnes tonne tons ton kt mt kg g l m3 m³ nm3 mw kw gw mwh gwh kwh gj tj mj yr a h d pa bar barg bara mpa kpa "
    "psi psig c f k"
)


# British spelling is the catalogue's; American spellings are mapped onto it (tire → tyre, sulfur → sulphur).
_SPELLING = {
    "tire": "tyre",
    "aluminum": "aluminium",
    "fiber": "fibre",
    "center": "centre",
    "liter": "litre",
    "meter": "metre",
    "gray": "grey",
    "mold": "mould",
    "molding": "moulding",
}


def canonical(token: str) -> str:
    token = _SPELLING.get(token, token)
    if "sulf" in token:
        token = token.replace("sulf", "sulph")
    for american, british in (("ization", "isation"), ("izer", "iser"), ("ized", "ised"), ("izing", "ising")):
        if token.endswith(american):
            return token[: -len(american)] + british
    return token


def stem(token: str) -> str:
    """A light plural stem that is applied to synonyms and queries alike (tyres → tyre, ashes → ash)."""
    if len(token) <= 3 or token.isdigit():
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("shes", "ches", "xes", "sses")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is", "os")):
        return token[:-1]
    return token


_LETTER_PREFIX = re.compile(r"\b([a-z])[-&]([a-z0-9]+)")


def tokens(folded: str) -> list[str]:
    """Split a folded string into stemmed tokens, dropping stopwords and bare numbers/units.

    A single letter joined by a hyphen or ampersand stays attached (`e-waste` → `ewaste`, `C&D` → `cd`), so that
    it is not lost as a stopword or unit.
    """
    out: list[str] = []
    for raw in _NON_WORD.split(_LETTER_PREFIX.sub(r"\1\2", folded)):
        if not raw or raw in STOPWORDS:
            continue
        if raw.isdigit() or raw in _UNIT_TOKENS or (len(raw) == 1 and raw.isalpha()):
            continue
        out.append(canonical(stem(raw)))
    return out


@dataclass(frozen=True, slots=True)
class Quantities:
    """Numbers recognised in a description and removed from the text before matching."""

    text: str  # the text with the recognised numbers cut out
    temperature_c: float | None = None
    temperature_range: tuple[float, float] | None = None
    pressure_bar: float | None = None
    purity_pct: float | None = None
    ewc_code: str | None = None


_NUM = r"(?<![\w.,])(-?\d+(?:[.,]\d+)?)"
_RANGE_SEP = r"\s*(?:-|–|—|to|bis|til|à|a|à|hasta)\s*"
_TEMPERATURE = re.compile(
    _NUM + r"(?:" + _RANGE_SEP + _NUM + r")?\s*"
    r"(°\s*f\b|℉|°\s*c\b|℃|ºc\b|oc\b|°|deg(?:rees?)?\s*c(?:elsius)?\b|degc\b|degr[eé]s?\b(?:\s*c\w*)?"
    r"|grad(?:er|os|en|e)?\b(?:\s*c\b)?|c\b)"
)
_PRESSURE = re.compile(
    _NUM + r"(?:" + _RANGE_SEP + _NUM + r")?\s*"
    r"(bar\s*\(\s*[ga]\s*\)|barg\b|bara\b|bar\s*[ga]\b|bar\b|mpa\b|kpa\b|psig\b|psi\b)"
)
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)" + r"\s*(?:%|vol\s*%|pct\b|percent\b|prozent\b|procent\b)")
_PURITY_WORDS = re.compile(r"pur|rein|renhed|renhet|zuiver|grade|quality")
_EWC_SPACED = re.compile(r"(?<!\d)(\d{2})[ .](\d{2})[ .](\d{2})(?!\d)\s*(\*)?")
_EWC_KEYWORD = re.compile(
    r"(?:ewc|eak|avv|low|lox|ler|cer|eaf code|waste code|abfallschl\w*)\s*[:#]?\s*(\d{6})(\s*\*)?"
)


_BELOW = re.compile(r"(?:below|under|less than|<|unter|sous|moins de|op til|bajo|menos de|max\.?|up to)\s*$")
_ABOVE = re.compile(r"(?:above|over|more than|>|über|uber|plus de|au-dessus de|mindst|más de|min\.?|at least)\s*$")


def _to_float(text: str) -> float:
    return float(text.replace(",", "."))


def extract_quantities(text: str) -> Quantities:
    """Read temperature (°C, °F, range → midpoint), pressure (bar, bar(g), MPa, kPa, psi), purity (with a purity
    word) and an EWC code (`10 01 02`, `EWC 100102`) out of a lower-cased description."""
    work = text
    temperature = None
    t_range = None
    match = _TEMPERATURE.search(work)
    if match:
        low = _to_float(match.group(1))
        high = _to_float(match.group(2)) if match.group(2) else low
        unit = match.group(3)
        if "f" in unit or "℉" in unit:
            low, high = (low - 32) * 5 / 9, (high - 32) * 5 / 9
        if -60 <= low <= 2000 and -60 <= high <= 2000:
            t_range = (min(low, high), max(low, high))
            temperature = (low + high) / 2
            # "below 40 °C" lies under the number, "above 70 °C" over it.
            before = work[max(0, match.start() - 14) : match.start()]
            if not match.group(2) and _BELOW.search(before):
                temperature -= 0.5
            elif not match.group(2) and _ABOVE.search(before):
                temperature += 0.5
            work = work[: match.start()] + " " + work[match.end() :]
    pressure = None
    match = _PRESSURE.search(work)
    if match:
        low = _to_float(match.group(1))
        high = _to_float(match.group(2)) if match.group(2) else low
        unit = match.group(3).replace(" ", "")
        factor = 10.0 if unit == "mpa" else 0.01 if unit == "kpa" else 0.0689476 if unit.startswith("psi") else 1.0
        pressure = (low + high) / 2 * factor
        work = work[: match.start()] + " " + work[match.end() :]
    ewc = None
    match = _EWC_SPACED.search(work) or _EWC_KEYWORD.search(work)
    if match:
        if len(match.groups()) >= 3 and match.re is _EWC_SPACED:
            ewc = f"{match.group(1)} {match.group(2)} {match.group(3)}"
        else:
            code = match.group(1)
            ewc = f"{code[0:2]} {code[2:4]} {code[4:6]}"
        work = work[: match.start()] + " " + work[match.end() :]
    purity = None
    match = _PERCENT.search(work)
    if match:
        value = _to_float(match.group(1))
        if 0 < value <= 100 and _PURITY_WORDS.search(work):
            purity = value
        work = work[: match.start()] + " " + work[match.end() :]
    return Quantities(
        text=work,
        temperature_c=temperature,
        temperature_range=t_range,
        pressure_bar=pressure,
        purity_pct=purity,
        ewc_code=ewc,
    )


def normalise_ewc_code(code: str | None) -> str | None:
    """`100102`, `10 01 02*`, `10.01.02` → `10 01 02`; anything else → None."""
    if not code:
        return None
    digits = re.sub(r"[\s.*\-]", "", code)
    if not re.fullmatch(r"\d{6}", digits):
        return None
    return f"{digits[0:2]} {digits[2:4]} {digits[4:6]}"


def normalise_nace_code(code: str | None) -> str | None:
    """`19.20`, `C19.2.0`, `C 19.20`, `1920`, `19` → `19.20`, ..., `19`; anything else → None."""
    if not code:
        return None
    match = re.match(r"^\s*[A-Ua-u]?\s*(\d{2})(?:[.\s]?(\d))?(?:[.\s]?(\d))?", code)
    if not match:
        return None
    division, group, klass = match.groups()
    if group is None:
        return division
    if klass is None:
        return f"{division}.{group}"
    return f"{division}.{group}{klass}"
