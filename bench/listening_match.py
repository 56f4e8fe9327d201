"""Listening's matcher: 10,000 queries against a replayed stream, on one core.

    .venv/bin/python bench/listening_match.py [--queries 10000] [--items 50000] [--seed 1]

Builds ``--queries`` listening queries as workspaces write them (a brand name as a phrase OR
its hashtag, products AND a brand, competitors NOT a promo word, industry terms with a
proximity, ``lang:`` and ``-author:`` filters), for fictitious brands of three kinds of names,
and compiles them into one :class:`~portevoix.listening.matcher.Matcher`. Then it replays a
stream of ``--items`` public posts: the sandbox world's mention templates
(``portevoix/sandbox/data/messages.json``) filled with brands of the query set (about one post
in three names one), mixed with the triage training texts (``portevoix/triage/data``), which
name none. Measured, on the same texts:

* **matcher**: ``Matcher.match(text, language, author)`` per post: folding, one automaton
  pass, the boolean trees of the queries whose terms hit;
* **raw automaton**: ``automaton.iter(folded_text)`` over the texts already folded, consuming
  the hits and nothing else: the floor of any design built on this automaton.

Prints items per second for each (best of three runs), matches per item, and the build time.
Goal (issue 12): 20,000 items per second for the matcher.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")

import django  # noqa: E402

django.setup()

from portevoix.listening.matcher import Matcher  # noqa: E402
from portevoix.listening.query import fold, parse  # noqa: E402

SYLLABLES = [
    "lu",
    "mi",
    "ère",
    "ro",
    "sée",
    "bel",
    "le",
    "peau",
    "ma",
    "zur",
    "ve",
    "lours",
    "é",
    "clat",
    "nova",
    "ka",
    "li",
    "ta",
    "pra",
    "do",
    "zen",
    "vi",
    "ra",
]
INDUSTRY = [
    "cosmétique", "beauté", "skincare", "recharge", "bio", "vegan", "parfum", "sérum", "crème",
    "livraison", "retard", "commande", "prix", "promo", "boutique", "service client",
]  # fmt: skip


def brand_names(rng: random.Random, n: int) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        first = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        second = rng.choice(["", "", " Paris", " Cosmétiques", " Lab", " & Co", " Beauté"])
        names.add(first + second)
    return sorted(names)


def make_queries(rng: random.Random, n: int, brands: list[str]) -> list[str]:
    out = []
    for i in range(n):
        brand = brands[i % len(brands)]
        tag = "#" + fold(brand).replace(" ", "")
        other = rng.choice(brands)
        shape = i % 6
        if shape == 0:
            out.append(f'"{brand}" OR {tag}')
        elif shape == 1:
            out.append(f'"{brand}" AND ({rng.choice(INDUSTRY)} OR {rng.choice(INDUSTRY)}) lang:fr')
        elif shape == 2:
            out.append(f'"{other}" -promo -author:{fold(brand).split()[0]}')
        elif shape == 3:
            out.append(f'"{rng.choice(INDUSTRY)} {rng.choice(INDUSTRY)}"~5 AND "{brand}"')
        elif shape == 4:
            stem = fold(brand).split()[0][:4]
            word = f"{stem}*" if len(stem) >= 3 else f'"{brand}"'
            out.append(f"{word} NEAR/3 {rng.choice(INDUSTRY)}")
        else:
            out.append(f'("{brand}" OR "{other}") NOT (concours OR giveaway)')
    return out


def make_stream(rng: random.Random, n: int, brands: list[str]) -> list[tuple[str, str, str]]:
    messages = json.loads((ROOT / "portevoix/sandbox/data/messages.json").read_text())
    templates: list[tuple[str, str]] = []
    for language, groups in messages["mentions"].items():
        for group in groups.values():
            templates += [(language, t.lstrip("=+- ")) for t in group]
    triage: list[tuple[str, str]] = []
    for name in ("train.jsonl", "train_generated.jsonl"):
        for line in (ROOT / "portevoix/triage/data" / name).read_text().splitlines():
            row = json.loads(line)
            triage.append((row.get("language", "fr"), row["text"]))
    products = ["sérum Éclat", "crème Velours", "baume Cerise", "huile Sublime"]
    stream = []
    for _ in range(n):
        if rng.random() < 0.35:
            language, template = rng.choice(templates)
            text = template.format(
                brand=rng.choice(brands),
                competitor=rng.choice(brands),
                product=rng.choice(products),
                city="Lyon",
                media="Elle",
            )
            if rng.random() < 0.3:
                text = text.lower()
        else:
            language, text = rng.choice(triage)
        stream.append((text, language, f"user{rng.randint(1, 5000)}"))
    return stream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    brands = brand_names(rng, max(1, args.queries // 2))
    texts = make_queries(rng, args.queries, brands)
    started = time.perf_counter()
    matcher = Matcher((i, parse(t)) for i, t in enumerate(texts))
    build = time.perf_counter() - started
    stream = make_stream(rng, args.items, brands)
    folded = [fold(text) for text, _, _ in stream]
    automaton = matcher.automaton

    def run_matcher() -> tuple[float, int]:
        start = time.perf_counter()
        hits = 0
        match = matcher.match
        for text, language, author in stream:
            hits += len(match(text, language, author))
        return time.perf_counter() - start, hits

    def run_raw() -> tuple[float, int]:
        start = time.perf_counter()
        hits = 0
        for text in folded:
            for _ in automaton.iter(text):
                hits += 1
        return time.perf_counter() - start, hits

    matcher_runs = [run_matcher() for _ in range(3)]
    raw_runs = [run_raw() for _ in range(3)]
    best_matcher = min(t for t, _ in matcher_runs)
    best_raw = min(t for t, _ in raw_runs)
    matches = matcher_runs[0][1]
    load = os.getloadavg()[0]
    print(
        f"queries: {len(matcher)}  distinct patterns: {matcher.pattern_count}  build: {build:.2f} s"
    )
    chars = sum(len(t) for t, _, _ in stream) / len(stream)
    print(f"stream: {len(stream)} posts, {chars:.0f} chars on average")
    per_post = matches / len(stream)
    print(f"matched queries: {matches} ({per_post:.2f} per post); hits: {raw_runs[0][1]}")
    print(
        f"matcher:        {len(stream) / best_matcher:>10,.0f} items/s  (fold + automaton + trees)"
    )
    print(
        f"raw automaton:  {len(stream) / best_raw:>10,.0f} items/s  (automaton.iter, folded text)"
    )
    met = len(stream) / best_matcher >= 20_000
    print(f"goal: 20,000 items/s -> {'met' if met else 'NOT met'}")
    print(f"load average (1 min): {load:.1f}")


if __name__ == "__main__":
    main()
