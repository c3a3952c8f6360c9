"""Catalogue benchmark: load time, cold and warm resolves per second, compatibility look-ups and matrix build.

    python bench/bench_catalog.py [--n 20000]

"Cold" resolves are distinct texts with the cache cleared (what a first import of a file costs); "warm" resolves
repeat texts already seen (what re-imports and repeated rows cost). Texts are made from the catalogue's own
synonyms with the decorations plant managers add: quantities, temperatures, pressures, qualifiers, typos.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from turash.catalog import load_catalog  # noqa: E402

PREFIXES = ["", "", "surplus ", "excess ", "our ", "approx. 500 t/yr ", "clean ", "dry ", "wet ", "spare "]
SUFFIXES = [
    "",
    "",
    " from production",
    " 85 °C",
    " 12 bar",
    " (about 2,000 t/yr)",
    " available 24/7",
    " EWC 10 01 02",
    " in big bags",
    " weekly",
]


def make_texts(n: int, seed: int = 7) -> list[str]:
    cat = load_catalog()
    rng = random.Random(seed)
    names = [name for rc in cat.classes for name in rc.all_names()]
    texts: set[str] = set()
    while len(texts) < n:
        name = rng.choice(names)
        if rng.random() < 0.15 and len(name) > 5:  # a typo
            i = rng.randrange(1, len(name) - 1)
            name = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        texts.add(
            f"{rng.choice(PREFIXES)}{name}{rng.choice(SUFFIXES)} #{rng.randrange(10**6)}"
            if rng.random() < 0.5
            else f"{rng.choice(PREFIXES)}{name}{rng.choice(SUFFIXES)}"
        )
    return sorted(texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000, help="distinct texts to resolve")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    cat = load_catalog()
    load_s = time.perf_counter() - start
    stats = cat.stats()
    print(
        f"catalogue: {stats['classes']} classes, {stats['uses']} uses, {stats['sources']} sources, "
        f"{stats['vocabulary']} words; load + validate + index: {load_s * 1000:.0f} ms"
    )
    print(f"  by category: {stats['by_category']}")
    print(f"  synonyms by language: {stats['synonyms_by_language']}")

    texts = make_texts(args.n)
    cat.clear_resolve_cache()
    start = time.perf_counter()
    found = 0
    for text in texts:
        found += bool(cat.resolve(text, direction="supply").candidates)
    cold = time.perf_counter() - start
    print(
        f"cold resolve: {len(texts)} distinct texts in {cold:.2f} s = {len(texts) / cold:,.0f} /s "
        f"({found / len(texts):.1%} resolved)"
    )

    rng = random.Random(1)
    warm_texts = [rng.choice(texts) for _ in range(len(texts) * 5)]
    start = time.perf_counter()
    for text in warm_texts:
        cat.resolve(text, direction="supply")
    warm = time.perf_counter() - start
    print(f"warm resolve (cached): {len(warm_texts)} texts in {warm:.2f} s = {len(warm_texts) / warm:,.0f} /s")

    start = time.perf_counter()
    matrix = cat.compatibility_matrix()
    build = time.perf_counter() - start
    print(
        f"compatibility matrix: {matrix.matrix.shape[0]}×{matrix.matrix.shape[1]}, {matrix.nnz} compatible pairs, "
        f"built in {build * 1000:.0f} ms"
    )

    ids = [rc.id for rc in cat.classes]
    pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(50000)]
    start = time.perf_counter()
    hits = sum(cat.compatibility(s, d) is not None for s, d in pairs)
    lookup = time.perf_counter() - start
    print(
        f"compatibility(): {len(pairs)} random pairs in {lookup:.2f} s = {len(pairs) / lookup:,.0f} /s "
        f"({hits / len(pairs):.1%} compatible)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
