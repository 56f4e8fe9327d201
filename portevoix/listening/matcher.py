"""One Aho-Corasick automaton for every query of every workspace.

``Matcher(queries)`` takes ``(key, tree)`` pairs (the key is whatever the caller wants back:
``(workspace_id, query_id)`` for the listening pipeline) and compiles:

* every distinct term of every query into one automaton (``pyahocorasick``), whose patterns are
  folded words with a space on each side (``" serum eclat "``; a prefix ``lumi*`` has none
  after: ``" lumi"``), so that one pass over a folded post finds every whole-word hit of every
  query at once;
* for each term, the queries that contain it;
* each query's tree into a Python closure over the hits.

``match(text, language, author)`` folds the text once, runs the automaton once, and evaluates
the tree only of the queries one of whose terms was found: ten thousand queries cost about
what the few whose words appear cost (``bench/listening_match.py``). A query that could be true
without any of its words (``NOT x``) is refused by the parser, so nothing is missed that way.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick

from .query import And, Author, Lang, Near, Node, Not, Or, Term, fold, terms_of


@dataclass
class _Post:
    """What a query's closure reads: the hits of the automaton, and the post's filters."""

    folded: str
    hits: dict[int, int]  # pattern id -> the end offset (inclusive) of one of its hits
    pairs: list[tuple[int, int]]  # every hit: (end offset, pattern id)
    language: str
    author: str
    #: Guesses the language of a post that came without one (only when a query asks).
    guess: Callable[[], str] | None = None
    _names: frozenset[str] | None = None

    def language_is(self, code: str) -> bool:
        if not self.language and self.guess is not None:
            self.language = language_code(self.guess()) or "?"
            self.guess = None
        return self.language == code

    def ends(self, pid: int) -> list[int]:
        return [end for end, found in self.pairs if found == pid]

    def is_by(self, handle: str) -> bool:
        """Whether the post is by ``handle``: the same handle, or, for a bare name (no
        instance, no domain), the same name on any instance or domain (``clara`` is
        ``clara@mastodon.social`` and ``clara.bsky.social``)."""
        if handle == self.author:
            return True
        if "@" in handle or "." in handle:
            return False
        if self._names is None:
            local = self.author.split("@", 1)[0]
            self._names = frozenset({local, local.split(".", 1)[0]})
        return handle in self._names


def language_code(language: str) -> str:
    """A post's language as a query names it: the primary subtag of its tag, lower-cased
    (``pt-BR`` and ``pt_br`` are ``pt``; ``en-US`` is ``en``)."""
    return language.strip().casefold().replace("_", "-").split("-", 1)[0]


Check = Callable[[_Post], bool]


_MARKS = frozenset({"#", "@"})


def _word_span(post: _Post, end: int, length: int, words: int) -> tuple[int, int]:
    """The first and last word index of the hit of a pattern ending at ``end``, counting
    words only: the ``#`` of a hashtag and the ``@`` of a handle are tokens of the folded text
    (`` # skincare ``) but not words between two others."""
    start = end - length + 1
    folded = post.folded
    first = sum(1 for token in folded[: start + 1].split() if token not in _MARKS)
    inside = sum(1 for token in folded[start : end + 1].split() if token not in _MARKS)
    return first, first + max(inside, 1) - 1


def _anchors(node: Node, used: dict[str, int]) -> tuple[int, set[str]] | None:
    """A set of patterns one of which must be in a post for ``node`` to be true of it, the
    cheapest found (cost: how many queries use each pattern), or None if there is none
    (a NOT, a filter). An AND needs only one of its children's sets; an OR needs all."""
    if isinstance(node, Term):
        return used.get(node.pattern, 1), {node.pattern}
    if isinstance(node, Near):
        best = min(node.terms, key=lambda t: (used.get(t.pattern, 1), -len(t.pattern)))
        return used.get(best.pattern, 1), {best.pattern}
    if isinstance(node, And):
        options = [a for a in (_anchors(c, used) for c in node.children) if a is not None]
        return min(options, key=lambda a: (a[0], len(a[1]))) if options else None
    if isinstance(node, Or):
        cost, patterns = 0, set()
        for child in node.children:
            found = _anchors(child, used)
            if found is None:
                return None
            cost += found[0]
            patterns |= found[1]
        return cost, patterns
    return None  # Not, Lang, Author


def _required(node: Node, pid: Callable[[str], int]) -> frozenset[int]:
    """Patterns that must all be in a post for ``node`` to be true of it (a Term: its own; a
    NEAR: all of its terms'; an AND: the union of its children's; an OR: what all its
    children require; NOT and filters: nothing)."""
    if isinstance(node, Term):
        return frozenset({pid(node.pattern)})
    if isinstance(node, Near):
        return frozenset(pid(t.pattern) for t in node.terms)
    if isinstance(node, And):
        return frozenset().union(*(_required(c, pid) for c in node.children))
    if isinstance(node, Or):
        sets = [_required(c, pid) for c in node.children]
        return frozenset.intersection(*sets) if sets else frozenset()
    return frozenset()


class Matcher:
    def __init__(self, queries: Iterable[tuple[Hashable, Node]]) -> None:
        self._patterns: dict[str, int] = {}
        self._pattern_info: list[tuple[int, int]] = []  # (length, words) per pattern id
        self._keys: list[Hashable] = []
        self._checks: list[Check] = []
        #: Per query, the patterns it cannot be true without (None: nothing beyond its
        #: anchor): one set comparison in C discards most candidates before their tree runs.
        self._required: list[frozenset[int] | None] = []
        by_pattern: dict[int, list[int]] = {}
        automaton = ahocorasick.Automaton()
        trees = list(queries)
        # How many queries use each pattern: common words ("prix", "promo") are in many,
        # brand names in few. A query is indexed under its rarest required terms only.
        used: dict[str, int] = {}
        for _, tree in trees:
            for pattern in {t.pattern for t in terms_of(tree)}:
                used[pattern] = used.get(pattern, 0) + 1
        for key, tree in trees:
            index = len(self._keys)
            self._keys.append(key)
            for term in terms_of(tree):
                self._pattern_id(term, automaton)
            found = _anchors(tree, used)
            anchors = found[1] if found is not None else {t.pattern for t in terms_of(tree)}
            for pattern in sorted(anchors):
                by_pattern.setdefault(self._patterns[pattern], []).append(index)
            # Every term has its pattern id now: the closure refers to them.
            self._checks.append(self._compile(tree))
            required = _required(tree, self._patterns.__getitem__)
            anchor_ids = {self._patterns[p] for p in anchors}
            self._required.append(required if len(anchors) != 1 or required - anchor_ids else None)
        self._by_pattern: list[tuple[int, ...]] = [
            tuple(by_pattern.get(pid, ())) for pid in range(len(self._patterns))
        ]
        self._empty = not self._patterns
        if not self._empty:
            automaton.make_automaton()
        self._automaton = automaton

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def pattern_count(self) -> int:
        return len(self._patterns)

    @property
    def automaton(self) -> Any:
        """The compiled automaton (the benchmark runs it alone to show what matching adds)."""
        return self._automaton

    def _pattern_id(self, term: Term, automaton: Any) -> int:
        pattern = term.pattern
        pid = self._patterns.get(pattern)
        if pid is None:
            pid = len(self._patterns)
            self._patterns[pattern] = pid
            self._pattern_info.append((len(pattern), len(term.words)))
            automaton.add_word(pattern, pid)
        return pid

    def _compile(self, node: Node) -> Check:
        if isinstance(node, Term):
            pid = self._patterns[node.pattern]
            return lambda post: pid in post.hits
        if isinstance(node, Near):
            return self._compile_near(node)
        if isinstance(node, Lang):
            code = node.code
            return lambda post: post.language_is(code)
        if isinstance(node, Author):
            handle = node.handle
            return lambda post: post.is_by(handle)
        if isinstance(node, Not):
            inner = self._compile(node.child)
            return lambda post: not inner(post)
        checks = [self._compile(c) for c in node.children]
        # Two or three children (most queries) without a generator per call.
        if isinstance(node, And):
            if len(checks) == 2:
                a, b = checks
                return lambda post: a(post) and b(post)
            if len(checks) == 3:
                a, b, c = checks
                return lambda post: a(post) and b(post) and c(post)
            return lambda post: all(check(post) for check in checks)
        assert isinstance(node, Or)
        if len(checks) == 2:
            a, b = checks
            return lambda post: a(post) or b(post)
        if len(checks) == 3:
            a, b, c = checks
            return lambda post: a(post) or b(post) or c(post)
        return lambda post: any(check(post) for check in checks)

    def _compile_near(self, node: Near) -> Check:
        pids = [self._patterns[term.pattern] for term in node.terms]
        distance = node.distance
        info = self._pattern_info

        def check(post: _Post) -> bool:
            spans: list[list[tuple[int, int]]] = []
            hits = post.hits
            for pid in pids:
                if pid not in hits:
                    return False
            for pid in pids:
                length, words = info[pid]
                spans.append([_word_span(post, end, length, words) for end in post.ends(pid)])
            for combination in itertools.islice(itertools.product(*spans), 10_000):
                ordered = sorted(combination)
                # Each term its own words: one "livraison" is not "livraison NEAR livraison".
                if any(b[0] <= a[1] for a, b in itertools.pairwise(ordered)):
                    continue
                words = sum(s[1] - s[0] + 1 for s in ordered)
                between = ordered[-1][1] - ordered[0][0] + 1 - words
                if between <= distance:
                    return True
            return False

        return check

    def match(
        self,
        text: str,
        language: str = "",
        author: str = "",
        guess: Callable[[str], str] | None = None,
    ) -> list[Hashable]:
        """The keys of the queries ``text`` matches, in the order the queries were given.
        ``guess(text)`` names the language of a post that has none, when a ``lang:`` asks."""
        if self._empty:
            return []
        folded = fold(text)
        pairs = list(self._automaton.iter(folded))
        if not pairs:
            return []
        by_pattern = self._by_pattern
        if len(pairs) == 1:
            end, pid = pairs[0]
            hits = {pid: end}
            candidates: Iterable[int] = by_pattern[pid]
        else:
            hits = {pid: end for end, pid in pairs}
            if len(hits) == 1:
                candidates = by_pattern[next(iter(hits))]
            else:  # unordered here; what matched is put back in the queries' order below
                candidates = {q for pid in hits for q in by_pattern[pid]}
        checks, required = self._checks, self._required
        present = hits.keys()
        post: _Post | None = None
        found: list[int] = []
        for q in candidates:
            needs = required[q]
            if needs is not None and not present >= needs:
                continue  # a word it cannot do without is missing: no tree to run
            if post is None:
                post = _Post(
                    folded,
                    hits,
                    pairs,
                    language_code(language or ""),
                    (author or "").strip().lstrip("@").casefold(),
                    (lambda: guess(text)) if guess is not None else None,
                )
            if checks[q](post):
                found.append(q)
        if len(found) > 1:
            found.sort()
        keys = self._keys
        return [keys[q] for q in found]

    def match_many(self, items: Sequence[tuple[str, str, str]]) -> list[list[Hashable]]:
        return [self.match(text, language, author) for text, language, author in items]


def build(queries: Iterable[tuple[Hashable, Node]]) -> Matcher:
    return Matcher(queries)


__all__ = ["Matcher", "build"]
