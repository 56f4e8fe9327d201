"""What a network's own search can be asked, from the listening query language.

YouTube's ``search.list`` and X's recent search read a query of their own: to spend a call
(YouTube: 100 quota units; X: billed per post read) on posts that may matter, the workspace's
listening queries are translated into the network's operators, as far as they go. What a
network cannot be asked is left out of its query — which makes it **broader**, never
narrower — and the one :class:`~portevoix.listening.matcher.Matcher` filters every post that
comes back, locally, as it does for every source. :func:`compile_queries` says what was left
to the local filter, for the sources page.

* X (https://docs.x.com/x-api/posts/search/integrate/build-a-query): keywords, ``"exact
  phrases"``, ``#hashtag``, ``@mention``, ``from:``, ``lang:``, ``-`` for NOT, ``OR`` and
  parentheses; a query needs at least one *standalone* operator (``lang:`` and negations
  cannot stand alone); 512 characters on self-serve plans. No proximity and no prefix
  (``lumi*``): a NEAR is asked as all its words, a prefix is left out.
* YouTube (https://developers.google.com/youtube/v3/docs/search/list, ``q``): words, phrases,
  ``|`` for OR and ``-`` for NOT. No language, no author: left to the local filter.

Accents: both networks fold them (X documents it; YouTube's search does in practice), and the
listening language's terms are folded too, so the folded words are asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .query import And, Author, Lang, Near, Node, Not, QuerySyntaxError, Term, parse

#: Longest query each network takes (X self-serve: 512; YouTube documents none, kept short).
MAX_LENGTH = {"x": 512, "youtube": 500}


@dataclass
class Pushed:
    """A network's query and what it leaves to the local filter."""

    text: str
    #: Sentences (in the active language) naming what the network is not asked.
    local: list[str] = field(default_factory=list)
    #: Names of the listening queries that could not be asked at all.
    left_out: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Part:
    text: str
    #: Whether it holds a positive operator that may stand alone (X refuses a query without).
    standalone: bool


def _term(term: Term, network: str, local: list[str]) -> _Part | None:
    words = list(term.words)
    if term.prefix:
        local.append(
            _("“%(term)s*”: the network has no prefix search; filtered here.")
            % {"term": " ".join(words)}
        )
        return None
    if words[0] in ("#", "@") and len(words) >= 2:
        mark, rest = words[0], words[1:]
        if len(rest) == 1:
            if mark == "@" and network == "youtube":
                return _Part(rest[0], True)
            return _Part(mark + rest[0], True)
        words = rest
    words = [w for w in words if w not in ("#", "@")]
    if not words:
        return None
    if len(words) == 1:
        return _Part(words[0], True)
    return _Part('"' + " ".join(words) + '"', True)


def _node(node: Node, network: str, local: list[str], nested: bool = False) -> _Part | None:
    """The network's version of ``node``, or None when it cannot be asked (asked as
    "anything", the local filter decides). ``nested``: inside an OR, where YouTube, which has
    no parentheses, can be asked one word of an AND only (the longest: a broader question)."""
    if isinstance(node, Term):
        return _term(node, network, local)
    if isinstance(node, Near):
        local.append(
            _(
                "Words within %(n)d of each other: the network is asked for all of them; the "
                "distance is checked here."
            )
            % {"n": node.distance}
        )
        return _node(And(tuple(node.terms)), network, local, nested)
    if isinstance(node, Lang):
        if network == "x":
            return _Part(f"lang:{node.code}", False)
        local.append(_("lang:%(code)s: filtered here.") % {"code": node.code})
        return None
    if isinstance(node, Author):
        if network == "x":
            return _Part(f"from:{node.handle}", True)
        local.append(_("author:%(handle)s: filtered here.") % {"handle": node.handle})
        return None
    if isinstance(node, Not):
        child = node.child
        if nested and network == "youtube":
            local.append(_("A NOT inside an OR: YouTube cannot group it; filtered here."))
            return None
        if isinstance(child, Term) and not child.prefix:
            part = _term(child, network, [])
        elif isinstance(child, Lang | Author) and network == "x":
            part = _node(child, network, [])
        else:
            part = None
        if part is None or part.text.startswith("("):
            local.append(_("A NOT the network cannot be asked: filtered here."))
            return None
        return _Part("-" + part.text, False)
    if isinstance(node, And):
        parts = [
            p for p in (_node(c, network, local, nested) for c in node.children) if p is not None
        ]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        if nested and network == "youtube":
            local.append(
                _(
                    "YouTube has no parentheses: one word of each AND inside an OR is asked; the "
                    "rest is checked here."
                )
            )
            return max((p for p in parts if p.standalone), key=lambda p: len(p.text), default=None)
        return _Part("(" + " ".join(p.text for p in parts) + ")", any(p.standalone for p in parts))
    # Or: every branch must be asked, else the whole OR is asked as "anything".
    parts_or = [_node(c, network, local, True) for c in node.children]
    if any(p is None for p in parts_or):
        return None
    joiner = " OR " if network == "x" else "|"
    return _Part(
        "(" + joiner.join(p.text for p in parts_or if p) + ")",
        all(p.standalone for p in parts_or if p),
    )


def compile_one(text: str, network: str, *, nested: bool = False) -> tuple[str | None, list[str]]:
    """One listening query in the network's operators, or None when nothing useful can be
    asked of the network (a query made only of prefixes, filters or negations)."""
    try:
        node = parse(text)
    except QuerySyntaxError:
        return None, []
    local: list[str] = []
    part = _node(node, network, local, nested)
    if part is None or (network == "x" and not part.standalone):
        return None, local
    query = part.text
    if query.startswith("(") and query.endswith(")") and _balanced(query[1:-1]):
        query = query[1:-1]
    return query, local


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def compile_queries(queries: Iterable[tuple[str, str]], network: str) -> Pushed:
    """``(name, text)`` of listening queries as one query for ``network``: their versions
    joined by OR, as many as fit its length; the rest named in ``left_out``."""
    limit = MAX_LENGTH[network]
    joiner = " OR " if network == "x" else "|"
    parts: list[str] = []
    result = Pushed("")
    queries = list(queries)
    for name, text in queries:
        query, local = compile_one(text, network, nested=len(queries) > 1)
        if query is None:
            result.left_out.append(name)
            continue
        grouped = network == "x" and len(queries) > 1 and " " in query
        piece = f"({query})" if grouped else query
        candidate = joiner.join([*parts, piece])
        if len(candidate) > limit:
            result.left_out.append(name)
            continue
        parts.append(piece)
        result.local.extend(local)
    if len(parts) == 1:
        only = parts[0]
        wrapped = only.startswith("(") and only.endswith(")") and _balanced(only[1:-1])
        result.text = only[1:-1] if wrapped else only
    else:
        result.text = joiner.join(parts)
    result.local = list(dict.fromkeys(result.local))
    return result


def for_source(source: object, network: str) -> Pushed:
    """The query a YouTube or X source asks: its listening query, or (target ``all``) every
    active query of the workspace that added it."""
    from .models import ListeningQuery, ListeningSource

    assert isinstance(source, ListeningSource)
    if source.target != "all":
        query = source.query
        if query is None or not query.is_active:
            return Pushed("")
        return compile_queries([(query.name, query.text)], network)
    if source.workspace_id is None:
        return Pushed("")
    rows = ListeningQuery.objects.filter(workspace_id=source.workspace_id, is_active=True)
    return compile_queries(rows.order_by("kind", "name").values_list("name", "text"), network)
