"""Free text → weighted resource classes.

Pipeline (each step is visible in the candidate's `reason`):
1. numbers out: temperature, pressure, purity and EWC codes are read and removed (`steam 12 bar`, `85 °C`,
   `below 40 °C`, `EWC 10 01 02`);
2. fold (two transliterations of ä/ø/ß...), tokenise, stem plurals, map US to UK spelling, drop function words and
   treatment words (`heat-treated`); unknown words are corrected against the synonym vocabulary
   (`rapidfuzz.process.extractOne`, same first letter) or split as compounds (`Prozessabwärme` → `prozess` +
   `abwarme`);
3. synonyms found as contiguous phrases, then synonyms whose words all occur anywhere, then synonyms most of whose
   words occur (at least two, two thirds, one rare word); a match inside a longer match is dropped (`gypsum` inside
   `FGD gypsum`); a class found together with a descendant that explains more words gives way to it (`surplus
   heat` + `flue gas condensation`);
4. nothing found → whole-text fuzzy match (`rapidfuzz.process.extract`, token_sort_ratio, cutoff 85);
5. banded classes: a temperature or pressure moves the weight to the band (`waste heat 85 °C`, `steam 12 bar`);
6. hints: an EWC code listed by a class strongly supports it (and refines a generic class to the coded one),
   NACE codes are a weak prior, the direction prefers need classes for demands and resources for supplies, a lone
   generic word gives way to a direction-specific class, and a declared category demotes other categories;
7. candidates far below the best are dropped; weights are normalised to sum to 1.

Unknown text gives no candidates: the resolver never guesses from the sector alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from .model import ClassCandidate, Resolution, ResourceClass
from .text import LOW_INFORMATION, MODIFIER_PHRASES, extract_quantities, fold_a, fold_b, normalise_ewc_code, tokens

MAX_PHRASE = 8
MAX_CANDIDATES = 6
KEEP_RATIO = 0.35  # drop candidates scoring below this fraction of the best
AMBIGUOUS_RATIO = 0.6  # second best at least this fraction of the best → ambiguous
FUZZY_CUTOFF = 85.0
PARTIAL_SHARE = 2 / 3  # a synonym found in part needs at least two words and this share of its words
PARTIAL_RARE_WORD = 4  # ... and one word that occurs in the synonyms of at most this many classes
SIDE_PENALTY = 0.4
CATEGORY_PENALTY = 0.2
RELATED_CATEGORY_PENALTY = 0.6
_RELATED_CATEGORIES = {frozenset({"heat", "steam"}), frozenset({"heat", "water"}), frozenset({"gas", "energy"})}
EWC_SUPPORT = 2.5
EWC_CONTRADICTION = 0.6
NACE_SUPPORT = 1.2
GENERIC_WORD_PENALTY = 0.5


@dataclass(frozen=True, slots=True)
class _Synonym:
    class_id: str
    text: str
    lang: str
    tokens: tuple[str, ...]


@dataclass(slots=True)
class _Match:
    class_id: str
    positions: frozenset[int]
    kind: str  # exact | phrase | tokens | partial | fuzzy
    synonym: str
    score: float = 0.0


@dataclass(slots=True)
class _Query:
    tokens: list[str]
    weights: list[float]
    corrected: dict[int, str] = field(default_factory=dict)  # position → original word
    compound: set[int] = field(default_factory=set)


class Resolver:
    """Synonym index over a fixed set of classes. Built once per catalogue; `resolve` is pure."""

    def __init__(
        self,
        classes: Sequence[ResourceClass],
        ancestors: Callable[[str], tuple[str, ...]],
        descendants: Callable[[str], tuple[str, ...]],
    ) -> None:
        self._classes = {rc.id: rc for rc in classes}
        self._ancestors = ancestors
        self._descendants = descendants
        self._phrases: dict[tuple[str, ...], list[_Synonym]] = defaultdict(list)
        self._multi_by_token: dict[str, list[_Synonym]] = defaultdict(list)
        self._ewc: dict[str, list[str]] = defaultdict(list)
        for rc in classes:
            for code in rc.ewc_codes:
                if rc.id not in self._ewc[code]:
                    self._ewc[code].append(rc.id)
            names: dict[str, str] = {rc.name: "en", rc.id.replace("_", " "): "id"}
            for lang in sorted(rc.synonyms):
                for text in rc.synonyms[lang]:
                    names.setdefault(text, lang)
            for text, lang in names.items():
                variants = {tuple(tokens(fold_a(text))), tuple(tokens(fold_b(text)))}
                for toks in variants:
                    if not toks:
                        continue
                    self._add(_Synonym(rc.id, text, lang, toks))
                    if len(toks) > 1:
                        # `flyash`, `wasteheat`: the words typed together.
                        self._add(_Synonym(rc.id, text, lang, ("".join(toks),)))
        # In how many classes' synonyms a word occurs: a synonym found only in part must share a rare word.
        owners: dict[str, set[str]] = defaultdict(set)
        for key, syns in self._phrases.items():
            for token in key:
                owners[token].update(s.class_id for s in syns)
        self._class_frequency = {token: len(ids) for token, ids in owners.items()}
        self._vocabulary = sorted({t for key in self._phrases for t in key})
        self._vocabulary_set = frozenset(self._vocabulary)
        by_initial: dict[str, list[str]] = defaultdict(list)
        for word in self._vocabulary:
            by_initial[word[0]].append(word)
        self._by_initial = {k: tuple(v) for k, v in by_initial.items()}
        self._long_words = sorted((t for t in self._vocabulary if len(t) >= 4), key=len, reverse=True)
        self._fuzzy_keys = [" ".join(key) for key in self._phrases]
        self._fuzzy_owner = list(self._phrases)

    def _add(self, syn: _Synonym) -> None:
        bucket = self._phrases[syn.tokens]
        if any(s.class_id == syn.class_id for s in bucket):
            return
        bucket.append(syn)
        if len(syn.tokens) > 1:
            for token in set(syn.tokens):
                self._multi_by_token[token].append(syn)

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocabulary)

    @property
    def synonym_count(self) -> int:
        return sum(len(v) for v in self._phrases.values())

    def classes_for_ewc(self, code: str) -> tuple[str, ...]:
        norm = normalise_ewc_code(code)
        return tuple(self._ewc.get(norm, ())) if norm else ()

    # -- query preparation -------------------------------------------------------------------------------------

    def _correct(self, word: str) -> str | None:
        if len(word) < 4 or not word.isalpha() or word in LOW_INFORMATION:
            return None
        cutoff = 75.0 if len(word) == 4 else 80.0
        # Typos rarely hit the first letter; requiring it keeps real words (separation ≠ reparation) uncorrected.
        hit = process.extractOne(word, self._by_initial.get(word[0], ()), scorer=fuzz.ratio, score_cutoff=cutoff)
        return str(hit[0]) if hit else None

    def _split_compound(self, word: str) -> list[str] | None:
        if len(word) < 7 or not word.isalpha():
            return None
        for tail in self._long_words:
            if len(tail) <= len(word) - 3 and word.endswith(tail):
                head = word[: -len(tail)]
                parts = [tail]
                for candidate in (head, head[:-1] if head.endswith(("s", "e", "n")) else None):
                    if candidate and candidate in self._vocabulary_set:
                        parts.insert(0, candidate)
                        break
                return parts
        return None

    def _prepare(self, text: str) -> _Query:
        query = _Query(tokens=[], weights=[])
        words = tokens(fold_a(text))
        for index in range(len(words) - 1, 0, -1):
            if (words[index - 1], words[index]) in MODIFIER_PHRASES:
                del words[index - 1 : index + 1]
        for word in words:
            if word in self._vocabulary_set:
                query.tokens.append(word)
            else:
                parts = self._split_compound(word)
                if parts:
                    for part in parts:
                        query.compound.add(len(query.tokens))
                        query.tokens.append(part)
                    continue
                fixed = self._correct(word)
                if fixed is not None:
                    query.corrected[len(query.tokens)] = word
                    query.tokens.append(fixed)
                else:
                    query.tokens.append(word)
        query.weights = [0.3 if t in LOW_INFORMATION else 1.0 for t in query.tokens]
        return query

    # -- matching ----------------------------------------------------------------------------------------------

    def _matches(self, query: _Query) -> list[_Match]:
        toks = query.tokens
        found: list[_Match] = []
        seen: set[tuple[str, frozenset[int]]] = set()
        n_tokens = len(toks)
        for size in range(min(MAX_PHRASE, n_tokens), 0, -1):
            for start in range(0, n_tokens - size + 1):
                key = tuple(toks[start : start + size])
                for syn in self._phrases.get(key, ()):
                    positions = frozenset(range(start, start + size))
                    if (syn.class_id, positions) in seen:
                        continue
                    seen.add((syn.class_id, positions))
                    kind = "exact" if size == n_tokens else "phrase"
                    found.append(_Match(syn.class_id, positions, kind, syn.text))
        first_at: dict[str, int] = {}
        for index, token in enumerate(toks):
            first_at.setdefault(token, index)
        candidates: dict[tuple[str, ...], list[_Synonym]] = {}
        for token in first_at:
            for syn in self._multi_by_token.get(token, ()):
                candidates.setdefault(syn.tokens, []).append(syn)
        scored = []
        for syn_tokens, syns in candidates.items():
            present = [t for t in set(syn_tokens) if t in first_at]
            scored.append((len(present) / len(set(syn_tokens)), syn_tokens, present, syns))
        # Complete synonyms first, so that a partial reading never hides a complete one.
        scored.sort(key=lambda item: -item[0])
        for share, _syn_tokens, present, syns in scored:
            if share < 1.0 and (
                sum(t not in LOW_INFORMATION for t in present) < 2
                or share < PARTIAL_SHARE
                or min(self._class_frequency.get(t, 0) for t in present) > PARTIAL_RARE_WORD
            ):
                continue
            positions = frozenset(first_at[t] for t in present)
            kind = "tokens" if share == 1.0 else "partial"
            for syn in {s.class_id: s for s in syns}.values():
                if any(m.class_id == syn.class_id and positions <= m.positions and m.kind != "partial" for m in found):
                    continue
                if (syn.class_id, positions) in seen:
                    continue
                seen.add((syn.class_id, positions))
                found.append(_Match(syn.class_id, positions, kind, syn.text, score=share))
        return found

    def _fuzzy(self, query: _Query) -> list[_Match]:
        informative = [t for t, w in zip(query.tokens, query.weights, strict=True) if w >= 1.0]
        if not informative:
            return []
        text = " ".join(query.tokens)
        # Whole-string similarity (word order free), not partial: a short word inside a long synonym is no match.
        hits = process.extract(text, self._fuzzy_keys, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_CUTOFF, limit=8)
        out: list[_Match] = []
        everything = frozenset(range(len(query.tokens)))
        for _key, score, index in hits:
            for syn in self._phrases[self._fuzzy_owner[index]]:
                out.append(_Match(syn.class_id, everything, "fuzzy", syn.text, score=float(score) / 100.0 * 0.7))
        return out

    def _score(self, query: _Query, matches: list[_Match]) -> tuple[dict[str, tuple[float, str]], set[str]]:
        """Best score per class, and the classes found through one word only."""
        total = sum(query.weights) or 1.0
        # Drop matches whose words are a strict subset of another match's words; a partial match (most words of a
        # synonym) never outranks a complete one and gives way to any complete match over the same words.
        complete = [m for m in matches if m.kind != "partial"]
        kept = [
            m
            for m in matches
            if not any(m.positions < other.positions for other in complete)
            and not (m.kind == "partial" and any(m.positions <= other.positions for other in complete))
        ]
        best: dict[str, tuple[float, str]] = {}
        evidence: dict[str, frozenset[int]] = {}
        for match in kept:
            if match.kind == "fuzzy":
                score = match.score
                reason = f"fuzzy match '{match.synonym}'"
            else:
                coverage = sum(query.weights[p] for p in match.positions) / total
                if match.kind == "exact":
                    score, reason = 1.0, f"synonym '{match.synonym}'"
                elif match.kind == "phrase":
                    score, reason = 0.6 + 0.4 * coverage, f"phrase '{match.synonym}'"
                elif match.kind == "tokens":
                    score, reason = 0.55 + 0.35 * coverage, f"words of '{match.synonym}'"
                else:
                    score = (0.45 + 0.3 * coverage) * match.score
                    reason = f"most words of '{match.synonym}'"
                fixed = [query.corrected[p] for p in sorted(match.positions) if p in query.corrected]
                if fixed:
                    score *= 0.85
                    reason += f" (corrected {', '.join(fixed)})"
                if match.positions & query.compound:
                    score *= 0.9
                    reason += " (compound word)"
            if match.kind != "partial":
                evidence[match.class_id] = evidence.get(match.class_id, frozenset()) | match.positions
            if score > best.get(match.class_id, (0.0, ""))[0]:
                best[match.class_id] = (score, reason)
        # A generic class found together with one of its descendants gives way to the descendant when the descendant
        # explains more of the text (`surplus heat` + `flue gas condensation`); on the same words the generic stays.
        for cid in list(best):
            if cid not in best:
                continue
            specific = [d for d in self._descendants(cid) if d in best]
            if not specific:
                continue
            richer = [d for d in specific if not evidence.get(d, frozenset()) <= evidence.get(cid, frozenset())]
            if richer:
                score, _ = best.pop(cid)
                for d in richer:
                    d_score, d_reason = best[d]
                    best[d] = (min(1.0, d_score + 0.3 * score), d_reason)
            elif any(best[d][0] > best[cid][0] for d in specific):
                # Same words, but the specific class matched them better (an exact phrase against a word set).
                best.pop(cid)
                for d in specific:
                    if best[d][0] <= best.get(cid, (0.0, ""))[0]:
                        best.pop(d)
            else:
                for d in specific:
                    best.pop(d, None)
        one_word = {cid for cid in best if len(evidence.get(cid, frozenset())) == 1}
        return best, one_word

    # -- refinement ----------------------------------------------------------------------------------------------

    def _banded(self, cid: str, attribute: str) -> list[ResourceClass]:
        out = []
        for d in self._descendants(cid):
            band = self._classes[d].band
            if band is not None and getattr(band, attribute) is not None:
                out.append(self._classes[d])
        return out

    def _apply_bands(
        self, scores: dict[str, tuple[float, str]], temperature: float | None, pressure: float | None
    ) -> dict[str, tuple[float, str]]:
        if temperature is None and pressure is None:
            return scores
        out: dict[str, tuple[float, str]] = {}

        def put(cid: str, score: float, reason: str) -> None:
            if score > out.get(cid, (0.0, ""))[0]:
                out[cid] = (score, reason)

        for cid, (score, reason) in scores.items():
            rc = self._classes[cid]
            moved = False
            for value, attribute, unit in ((temperature, "temperature_c", "°C"), (pressure, "pressure_bar", "bar")):
                if value is None:
                    continue
                band = rc.band
                bounds = getattr(band, attribute) if band is not None else None
                if band is not None and bounds is not None:
                    if not self._contains(rc, attribute, value):
                        # The class's own band contradicts the number: keep it, weaker, and offer the right band.
                        put(cid, score * 0.5, reason + f"; {value:g} {unit} outside its band")
                        root = next((a for a in self._ancestors(cid) if self._banded(a, attribute)), None)
                        if root is not None:
                            for b in self._banded(root, attribute):
                                if self._contains(b, attribute, value):
                                    put(b.id, score * 0.7, reason + f"; band for {value:g} {unit}")
                        moved = True
                    continue
                children = self._banded(cid, attribute)
                if not children and not rc.uses:
                    # A source class without uses of its own (hot water, flue gas heat) says no more than the
                    # band of its banded ancestor family does once the temperature is known.
                    root = next((a for a in self._ancestors(cid) if self._banded(a, attribute)), None)
                    children = self._banded(root, attribute) if root is not None else []
                if children:
                    for b in children:
                        if self._contains(b, attribute, value):
                            put(b.id, score, reason + f"; band for {value:g} {unit}")
                            moved = True
            if not moved:
                put(cid, score, reason)
        return out

    @staticmethod
    def _contains(rc: ResourceClass, attribute: str, value: float) -> bool:
        if rc.band is None:
            return False
        return rc.band.contains_temperature(value) if attribute == "temperature_c" else rc.band.contains_pressure(value)

    def _apply_ewc(self, scores: dict[str, tuple[float, str]], ewc: str | None) -> dict[str, tuple[float, str]]:
        if ewc is None:
            return scores
        coded = self._ewc.get(ewc, [])
        if not coded:
            return scores
        if not scores:
            return {cid: (0.6, f"EWC {ewc} listed by this class") for cid in coded}
        out: dict[str, tuple[float, str]] = {}
        for cid, (score, reason) in scores.items():
            refined = [c for c in coded if cid in self._ancestors(c)]
            if cid in coded and not refined:
                out[cid] = (score * EWC_SUPPORT, reason + f"; EWC {ewc}")
                continue
            if refined:
                for c in refined:
                    if score * EWC_SUPPORT > out.get(c, (0.0, ""))[0]:
                        out[c] = (score * EWC_SUPPORT, reason + f"; refined by EWC {ewc}")
                continue
            if any(a in coded for a in self._ancestors(cid)):
                out[cid] = (score * EWC_SUPPORT * 0.9, reason + f"; EWC {ewc} of a parent")
                continue
            out[cid] = (score * EWC_CONTRADICTION, reason + f"; EWC {ewc} not typical")
        return out

    def _apply_hints(
        self,
        scores: dict[str, tuple[float, str]],
        nace: str | None,
        category: str | None,
        direction: str | None,
    ) -> dict[str, tuple[float, str]]:
        out: dict[str, tuple[float, str]] = {}
        for cid, (score, reason) in scores.items():
            rc = self._classes[cid]
            if nace is not None:
                listed: Iterable[str]
                if direction == "supply":
                    listed = rc.nace_suppliers
                elif direction == "demand":
                    listed = rc.nace_receivers
                else:
                    listed = (*rc.nace_suppliers, *rc.nace_receivers)
                if any(nace.startswith(code) or code.startswith(nace) for code in listed):
                    score *= NACE_SUPPORT
                    reason += f"; NACE {nace}"
            if direction in ("supply", "demand") and rc.side not in (direction, "both"):
                score *= SIDE_PENALTY
                reason += f"; usually a {rc.side} class"
            if category is not None and rc.category != category:
                related = frozenset({rc.category, category}) in _RELATED_CATEGORIES
                score *= RELATED_CATEGORY_PENALTY if related else CATEGORY_PENALTY
                reason += f"; category {rc.category} ≠ {category}"
            out[cid] = (score, reason)
        return out

    def _demote_generic_words(
        self, scores: dict[str, tuple[float, str]], one_word: set[str], direction: str | None
    ) -> dict[str, tuple[float, str]]:
        """'heat for our greenhouses': the lone word 'heat' belongs to the need it describes. A two-sided class found
        through one word gives way to a class of the same category that is specific to the direction."""
        if direction not in ("supply", "demand"):
            return scores
        specific = {self._classes[c].category for c in scores if self._classes[c].side == direction}
        out = dict(scores)
        for cid in one_word & set(scores):
            rc = self._classes[cid]
            if rc.side == "both" and rc.category in specific:
                score, reason = out[cid]
                out[cid] = (score * GENERIC_WORD_PENALTY, reason + f"; one generic word beside a {direction} class")
        return out

    # -- entry point ---------------------------------------------------------------------------------------------

    def resolve(
        self,
        text: str,
        ewc_code: str | None = None,
        nace: str | None = None,
        category: str | None = None,
        direction: str | None = None,
    ) -> Resolution:
        quantities = extract_quantities(text)
        ewc = ewc_code or quantities.ewc_code
        query = self._prepare(quantities.text)
        matches = self._matches(query) if query.tokens else []
        if not matches and query.tokens:
            matches = self._fuzzy(query)
        scores, one_word = self._score(query, matches)
        scores = self._apply_bands(scores, quantities.temperature_c, quantities.pressure_bar)
        scores = self._apply_ewc(scores, ewc)
        scores = self._apply_hints(scores, nace, category, direction)
        scores = self._demote_generic_words(scores, one_word, direction)
        candidates = _finalise(scores)
        ambiguous = len(candidates) >= 2 and candidates[1].weight >= AMBIGUOUS_RATIO * candidates[0].weight
        return Resolution(
            text=text,
            candidates=candidates,
            ambiguous=ambiguous,
            temperature_c=quantities.temperature_c,
            pressure_bar=quantities.pressure_bar,
            purity_pct=quantities.purity_pct,
            ewc_code=ewc,
        )


def _finalise(scores: Mapping[str, tuple[float, str]]) -> tuple[ClassCandidate, ...]:
    if not scores:
        return ()
    ranked = sorted(scores.items(), key=lambda item: (-item[1][0], item[0]))
    top = ranked[0][1][0]
    if top <= 0:
        return ()
    kept = [(cid, s, r) for cid, (s, r) in ranked if s >= KEEP_RATIO * top][:MAX_CANDIDATES]
    total = sum(s for _, s, _ in kept)
    weights = [s / total for _, s, _ in kept]
    # Repair rounding so that the weights sum to 1 exactly in floating point as far as possible.
    weights[0] += 1.0 - sum(weights)
    return tuple(ClassCandidate(cid, w, r) for (cid, _, r), w in zip(kept, weights, strict=True))
