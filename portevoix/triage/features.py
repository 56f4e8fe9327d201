"""Cheap text features: hashed words, word pairs and character n-grams (fastText style).

Deterministic (CRC32, not Python's salted ``hash``), no model file needed, and cached per word
so that a batch costs little more than splitting its texts into words.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: Number of hashed feature buckets of the fast classifier. The training texts give about
#: 130,000 distinct words, word pairs and character n-grams: 2**16 buckets held them in 57,000
#: weights (2**18: 103,000), so most shared a weight with unrelated ones, which a word never
#: seen in training (a brand's name) then read as noise. 2**18 buckets (about 8 MB of float16
#: weights for the three heads) read tone better on two held-out spent sets (issue 16,
#: fourteenth round, ``docs/benchmarks.md``); 2**20 gained little more for four times the
#: memory.
DIM = 1 << 18
#: Features each emoji gives. A word gives one feature and a dozen character n-grams, an emoji
#: one, so in a row of unit length "furieuse 😡" weighed the emoji about a twentieth: the
#: fast model read "Livraison en retard, je suis furieuse 😡" as neutral. An emoji gives this
#: many distinct features, each learnt (same held-out sets: 4 to 8 read best, 4 kept). Only
#: symbols ("So": emoji, ❤, ☕), not the variation selector that follows some of them.
EMOJI_FEATURES = 4
#: Smaller space used to compare texts with a workspace's corrected examples.
SKETCH_DIM = 1 << 12

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:ly|co|com|fr|io|me|gl)/\S*")
_MENTION_RE = re.compile(r"@\w+")
#: A hashtag: its words start at a capital after a small letter ("#BoycottNordia"), at the
#: last capital of a run followed by a small letter ("#RendezLArgent") and where letters and
#: digits meet ("#Covid19").
_HASHTAG_RE = re.compile(r"#(\w+)")
_REPEAT_RE = re.compile(r"(.)\1{2,}")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?€$£%]|[^\sa-z0-9.,;:()\"'«»\-_/*&]")
_CACHE_LIMIT = 200_000

_word_cache: dict[str, tuple[int, ...]] = {}

#: Words (normalized) after which a message often says what it really means: "I was sure it
#: was another overhyped cream, but two weeks in my skin is better". The words of the last
#: such clause get a feature of their own, so the model can weigh the turn above the doubt.
CONTRAST_WORDS = frozenset(
    [
        "but",
        "however",
        "though",
        "although",
        "yet",
        "turns",
        "actually",
        "until",
        "mais",
        "pourtant",
        "finalement",
        "cependant",
        "sauf",
        "jusqu'a",
        "bref",
        "reste",
    ]
)
#: Irony: praise words next to a problem ("Love how my next-day delivery is now on day 6.
#: Truly impressive 👏"). A text with one of each gets a feature of its own, which the
#: model weighs with the rest (praise that mentions no problem does not get it).
PRAISE_CUES = frozenset(
    [
        "love",
        "loving",
        "great",
        "amazing",
        "impressive",
        "brilliant",
        "fantastic",
        "wonderful",
        "thanks",
        "thank",
        "bravo",
        "well",
        "nice",
        "stellar",
        "super",
        "genial",
        "magnifique",
        "formidable",
        "chapeau",
        "merci",
        "adore",
        "j'adore",
        "top",
        "incroyable",
        "incredible",
        "glad",
        "ravi",
        "ravie",
        "👏",
        "👍",
        "🙃",
        "🙄",
        "😂",
        "bravo",
    ]
)
PROBLEM_CUES = frozenset(
    [
        "still",
        "again",
        "days",
        "day",
        "weeks",
        "week",
        "hours",
        "hold",
        "late",
        "crash",
        "crashes",
        "refund",
        "broken",
        "empty",
        "twice",
        "never",
        "nothing",
        "lost",
        "cancelled",
        "locked",
        "wrong",
        "toujours",
        "encore",
        "jours",
        "jour",
        "semaines",
        "semaine",
        "heures",
        "attente",
        "retard",
        "plante",
        "rembourse",
        "remboursement",
        "casse",
        "cassee",
        "vide",
        "jamais",
        "rien",
        "perdu",
        "annule",
        "annulee",
        "bloque",
        "mauvaise",
        "mauvais",
        "deux",
        "trois",
        "fois",
        "plus",
    ]
)

#: Shops and marketplaces that sell brands' products: "can I find your sets at Boots?" is
#: about buying, not the press. Each adds the feature of a shop.
RETAILERS = frozenset(
    [
        "boots",
        "sephora",
        "nocibe",
        "marionnaud",
        "douglas",
        "superdrug",
        "ulta",
        "fnac",
        "darty",
        "boulanger",
        "carrefour",
        "auchan",
        "leclerc",
        "intermarche",
        "monoprix",
        "franprix",
        "casino",
        "lidl",
        "aldi",
        "decathlon",
        "amazon",
        "cdiscount",
        "zalando",
        "asos",
        "target",
        "walmart",
        "tesco",
        "sainsbury's",
        "sainsburys",
        "asda",
        "waitrose",
        "costco",
        "argos",
        "currys",
        "selfridges",
        "harrods",
        "galeries",
        "printemps",
        "bhv",
        "kiabi",
        "primark",
        "ikea",
        "leroy",
        "castorama",
        "pharmacie",
        "pharmacy",
        "parapharmacie",
        "walgreens",
        "cvs",
        "ebay",
        "etsy",
        "vinted",
    ]
)


def _h(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & (DIM - 1)


def _split_hashtag(match: re.Match[str]) -> str:
    tag = match.group(1)
    out: list[str] = []
    for i, c in enumerate(tag):
        if i:
            before, after = tag[i - 1], tag[i + 1 : i + 2]
            if (
                (c.isupper() and (before.islower() or before.isdigit()))
                or (c.isupper() and before.isupper() and after.islower())
                or (c.isdigit() != before.isdigit() and c.isalnum() and before.isalnum())
            ):
                out.append(" ")
        out.append(c)
    words = "".join(out)
    return f"# {words} " if words != tag else match.group(0)


def normalize(text: str) -> str:
    """Lower-case, accent-free text with links and @mentions replaced by placeholders, and
    hashtags written in camel case cut into their words ("#BoycottNordia" reads as "boycott
    nordia": the campaign's word is a word the model knows)."""
    t = _HASHTAG_RE.sub(_split_hashtag, text) if "#" in text else text
    t = t.lower()
    t = _URL_RE.sub(" xurlx ", t)
    t = _MENTION_RE.sub(" xmentionx ", t)
    t = t.replace("’", "'").replace("`", "'")
    if not t.isascii():
        t = unicodedata.normalize("NFKD", t)
        t = "".join(c for c in t if not unicodedata.combining(c))
    return _REPEAT_RE.sub(r"\1\1", t)


def tokens(text: str) -> list[str]:
    """Tokens of a normalized text: words, a few symbols and each emoji."""
    return _TOKEN_RE.findall(text)


def _word_features(tok: str) -> tuple[int, ...]:
    cached = _word_cache.get(tok)
    if cached is not None:
        return cached
    feats = [_h("w:" + tok)]
    if len(tok) == 1 and unicodedata.category(tok) == "So":
        feats.extend(_h(f"e{j}:{tok}") for j in range(1, EMOJI_FEATURES))
    elif tok.isalnum() and len(tok) > 1:
        padded = f"<{tok}>"
        n_chars = len(padded)
        for n in (3, 4, 5):
            for i in range(n_chars - n + 1):
                feats.append(_h("c:" + padded[i : i + n]))
    result = tuple(feats)
    if len(_word_cache) < _CACHE_LIMIT:
        _word_cache[tok] = result
    return result


_BIAS = _h("__bias__")


@dataclass(frozen=True)
class SparseBatch:
    """A batch of L2-normalized sparse rows in CSR form."""

    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int64]
    values: npt.NDArray[np.float32]

    @property
    def n_rows(self) -> int:
        return int(self.indptr.shape[0] - 1)

    def row_ids(self) -> npt.NDArray[np.int64]:
        return np.repeat(np.arange(self.n_rows, dtype=np.int64), np.diff(self.indptr))

    def dense(self, dim: int) -> npt.NDArray[np.float32]:
        """Rows folded into ``dim`` columns (``dim`` a power of two), re-normalized."""
        out = np.zeros((self.n_rows, dim), dtype=np.float32)
        np.add.at(out, (self.row_ids(), self.indices & (dim - 1)), self.values)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        out /= norms
        return out


def featurize(texts: Sequence[str], *, normalized: bool = False) -> SparseBatch:
    """Hashed features of each text, log-scaled counts, each row of unit length.

    ``normalized=True`` when the texts already went through :func:`normalize` (the engine
    normalizes once for the rules and the features).
    """
    rows: list[int] = []
    feats: list[int] = []
    for row, text in enumerate(texts):
        toks = tokens(text if normalized else normalize(text))
        start = len(feats)
        feats.append(_BIAS)
        for tok in toks:
            feats.extend(_word_features(tok))
        for a, b in itertools.pairwise(toks):
            feats.append(_h(f"b:{a} {b}"))
        turn = max((i for i, tok in enumerate(toks) if tok in CONTRAST_WORDS), default=-1)
        if 0 < turn < len(toks) - 1:
            feats.append(_h("turn"))
            feats.extend(_h("a:" + tok) for tok in toks[turn + 1 :])
        present = set(toks)
        if present & PRAISE_CUES and present & PROBLEM_CUES:
            feats.append(_h("irony"))
        if present & RETAILERS:
            feats.append(_h("w:xshopx"))
        if len(toks) <= 2:
            feats.append(_h("len:short"))
        rows.extend([row] * (len(feats) - start))
    # One sort for the whole batch: (row, feature) keys, counted, in row then feature order.
    keys = np.asarray(rows, dtype=np.int64) * DIM + np.asarray(feats, dtype=np.int64)
    keys, counts = np.unique(keys, return_counts=True)
    row_of = keys // DIM
    val = np.log1p(counts.astype(np.float32))
    indptr = np.searchsorted(row_of, np.arange(len(texts) + 1)).astype(np.int64)
    if val.shape[0]:
        norms = np.sqrt(np.add.reduceat(val * val, indptr[:-1]))
        val /= norms[row_of].astype(np.float32)
    return SparseBatch(
        indptr=indptr,
        indices=(keys % DIM).astype(np.int64),
        values=val.astype(np.float32),
    )


def sparse_logits(
    batch: SparseBatch, weights: npt.NDArray[np.float32], bias: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """``X @ W + b`` for a sparse batch."""
    n = batch.n_rows
    if n == 0:
        return np.zeros((0, weights.shape[1]), dtype=np.float32)
    contrib = weights[batch.indices].astype(np.float32) * batch.values[:, None]
    out = np.add.reduceat(contrib, batch.indptr[:-1], axis=0)
    return (out + bias).astype(np.float32)


def softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
