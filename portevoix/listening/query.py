"""The listening query language: parsing, with errors that point at the mistake.

    "lumière cosmétiques" OR #lumiere OR (sérum AND éclat) -author:lumiere_officiel lang:fr

* words match whole words; ``lumi*`` matches words that start with ``lumi`` (3 letters at least);
* ``"a phrase"`` matches those words in that order, side by side;
* ``"a b"~5`` matches ``a`` and ``b`` at most 5 words apart, in any order; ``x NEAR/5 y`` the
  same for two words or phrases;
* ``AND`` (or nothing: two terms side by side), ``OR``, ``NOT`` (or ``-`` before a term or a
  filter), parentheses; ``NOT`` binds tighter than ``NEAR``, ``NEAR`` than ``AND``, ``AND``
  than ``OR``. The operators are written in capitals: ``and``, ``or`` and ``not`` are words;
* ``lang:fr`` keeps posts in that language (an ISO 639-1 code; ``lang:pt-BR`` is accepted and
  means Portuguese, as networks rarely say the region and a post tagged ``pt-BR`` is
  ``lang:pt`` too); ``author:handle`` posts by that author, and ``-author:handle`` leaves them
  out;
* a web address (``https://example.com/offre``) is text people post, not a filter: it matches
  its words side by side, with or without its ``http://`` or ``https://``;
* ``#hashtag`` matches that hashtag only; a plain word also matches its hashtag and its
  ``@handle`` (``skincare`` finds ``#skincare``).

Text and terms are compared *folded* (:func:`fold`): case folded, accents and other marks
removed, ligatures spelled out, every run of characters that are not letters or digits (spaces,
punctuation, apostrophes, hyphens, emojis) a word boundary. So ``café`` and ``cafe`` match each
other in both directions: posts lose their accents all the time ("lumiere", "serum eclat"),
and a brand cannot afford to miss them; the price is that ``pêche`` also finds ``péché``.

:func:`parse` returns the tree or raises :class:`QuerySyntaxError` with the position (in
characters, from 0) and length of the mistake, for the form to show in place.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Final

import regex
from atproto_client.models.languages import LANGUAGES
from django.utils.translation import gettext as _

#: Filters a query may use (``name:value``).
FILTERS: Final = ("lang", "author")
MAX_DISTANCE: Final = 50
MAX_LENGTH: Final = 2000
MIN_PREFIX: Final = 3
#: The ISO 639-1 codes ``lang:`` accepts, from the list the Bluesky SDK (a dependency already)
#: keeps of ISO 639. Two of its rows have their code mangled ("Gujarati", "paPanjabi;
#: Punjabi"): their codes are added here.
LANGUAGE_CODES: Final = frozenset(
    {lang.code1 for lang in LANGUAGES if len(lang.code1) == 2 and lang.code1.isalpha()}
    | {"gu", "pa"}
)
#: ``pt-BR``, ``es-419``: a language and its region (ISO 3166 letters or a UN M49 number).
_LANGUAGE_TAG = re.compile(r"([a-z]{2})(?:[-_](?:[a-z]{2}|[0-9]{3}))?", re.ASCII)
#: A web address in a query is a term, not a filter named ``https``.
_URL = re.compile(r"https?://", re.IGNORECASE)

_MARKS = regex.compile(r"\p{M}+")
_TOKENS = regex.compile(r"[#@]|[^\W_]+")
_ASCII_TOKENS = re.compile(r"[#@]|[a-z0-9]+")
#: Letters that NFKD does not take apart (``str.translate`` with a table is slow: replace).
_LIGATURES = (("œ", "oe"), ("æ", "ae"), ("ø", "o"), ("đ", "d"), ("ł", "l"))


def fold(text: str) -> str:
    """``text`` as the matcher sees it: `` word word # hashtag @ handle `` (a space before and
    after every word, so that a pattern with spaces around it matches whole words only)."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _MARKS.sub("", unicodedata.normalize("NFKD", folded))
        for letter, spelled in _LIGATURES:
            if letter in folded:
                folded = folded.replace(letter, spelled)
        if not folded.isascii():
            return " " + " ".join(_TOKENS.findall(folded)) + " "
    # Most posts are ASCII once folded: there the standard library's engine with an ASCII
    # class finds the same words (``[^\W_]`` is ``[a-z0-9]`` in casefolded ASCII), faster.
    return " " + " ".join(_ASCII_TOKENS.findall(folded)) + " "


def fold_words(text: str) -> tuple[str, ...]:
    return tuple(fold(text).split())


# --- the tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One word, a word prefix (``prefix``) or a phrase (several words side by side)."""

    words: tuple[str, ...]
    prefix: bool = False
    #: Where the term starts in the query (not part of its identity).
    position: int = field(default=0, compare=False)

    @property
    def pattern(self) -> str:
        """What the automaton looks for in folded text."""
        inner = " ".join(self.words)
        return f" {inner}" if self.prefix else f" {inner} "


@dataclass(frozen=True)
class Near:
    """Every term within ``distance`` words of the others (in any order)."""

    terms: tuple[Term, ...]
    distance: int


@dataclass(frozen=True)
class Lang:
    code: str


@dataclass(frozen=True)
class Author:
    handle: str


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Near | Lang | Author | Not | And | Or


def terms_of(node: Node) -> list[Term]:
    """Every term of the tree, negated ones included."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Near):
        return list(node.terms)
    if isinstance(node, Not):
        return terms_of(node.child)
    if isinstance(node, And | Or):
        return [t for child in node.children for t in terms_of(child)]
    return []


def sought_and_excluded(node: Node, negated: bool = False) -> tuple[list[Term], list[Term]]:
    """The terms a post is looked for by, and those that leave it out (under a NOT)."""
    if isinstance(node, Term):
        return ([], [node]) if negated else ([node], [])
    if isinstance(node, Near):
        return ([], list(node.terms)) if negated else (list(node.terms), [])
    if isinstance(node, Not):
        return sought_and_excluded(node.child, not negated)
    sought: list[Term] = []
    excluded: list[Term] = []
    if isinstance(node, And | Or):
        for child in node.children:
            a, b = sought_and_excluded(child, negated)
            sought += a
            excluded += b
    return sought, excluded


def to_text(node: Node) -> str:
    """The tree written back in the language (folded), for tests and the docs."""
    if isinstance(node, Term):
        inner = " ".join(node.words)
        if node.prefix:
            return inner + "*"
        return f'"{inner}"' if len(node.words) > 1 or not _plain(inner) else inner
    if isinstance(node, Near):
        return f" NEAR/{node.distance} ".join(to_text(t) for t in node.terms).join("()")
    if isinstance(node, Lang):
        return f"lang:{node.code}"
    if isinstance(node, Author):
        return f"author:{node.handle}"
    if isinstance(node, Not):
        return f"NOT {to_text(node.child)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(to_text(c) for c in node.children) + ")"


def _plain(word: str) -> bool:
    return word.upper() not in _OPERATORS and ":" not in word and not word.startswith("-")


# --- errors ----------------------------------------------------------------------------------


class QuerySyntaxError(ValueError):
    """A mistake in a query, at ``position`` (0-based, in characters) for ``length`` chars."""

    def __init__(self, message: str, position: int, length: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.position = max(0, position)
        self.length = max(1, length)

    def excerpt(self, text: str) -> tuple[str, str, str]:
        """``text`` cut in three around the mistake (before, at, after), to show it in place."""
        end = min(len(text), self.position + self.length)
        at = text[self.position : end] or " "
        return text[: self.position], at, text[end:]


# --- the tokenizer ---------------------------------------------------------------------------

_OPERATORS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class _Token:
    kind: str  # word, phrase, (, ), AND, OR, NOT, NEAR, -, filter, end
    text: str
    position: int
    length: int
    number: int = 0  # NEAR/n, "..."~n
    name: str = ""  # a filter's name


_STOP = set(' \t\r\n()"“”«»„‟')
#: The quotes a phrase may open with, and what closes each: straight quotes, and the ones word
#: processors and phones put in their place (“English”, « français », „Deutsch“).
_QUOTES = {'"': '"', "“": "”", "«": "»", "„": "“”", "‟": "”"}


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in "()":
            out.append(_Token(char, char, i, 1))
            i += 1
            continue
        if char in _QUOTES:
            closers = _QUOTES[char]
            close = next((j for j in range(i + 1, n) if text[j] in closers), -1)
            if close < 0:
                raise QuerySyntaxError(
                    _("This quote is never closed: end the phrase with %(quote)s.")
                    % {"quote": closers[0]},
                    i,
                )
            inner = text[i + 1 : close]
            end = close + 1
            number = 0
            if end < n and text[end] == "~":
                digits = _digits(text, end + 1)
                if not digits:
                    raise QuerySyntaxError(
                        _('Give a distance in words after ~, like "serum eclat"~5.'), end
                    )
                number = _distance(digits, end + 1)
                end += 1 + len(digits)
                if number == 0:
                    raise QuerySyntaxError(_("The distance must be at least 1."), end - 1)
            out.append(_Token("phrase", inner, i, end - i, number=number or -1))
            i = end
            continue
        if char == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] not in ")-":
            out.append(_Token("-", "-", i, 1))
            i += 1
            continue
        start = i
        while i < n and text[i] not in _STOP:
            i += 1
        word = text[start:i]
        upper = word.upper()
        if not word.strip("#@"):
            raise QuerySyntaxError(
                _("Write a word right after # or @, like #skincare or @lumiere."),
                start,
                len(word),
            )
        if word.startswith("~"):
            raise QuerySyntaxError(
                _('A distance (~) comes right after a closing quote, like "serum eclat"~5.'),
                start,
                len(word),
            )
        if word in _OPERATORS:
            out.append(_Token(word, word, start, len(word)))
        elif upper.startswith("NEAR/") and word[:4] == "NEAR":
            digits = word[5:]
            if not digits.isdigit():
                raise QuerySyntaxError(
                    _("Give a distance in words after NEAR/, like NEAR/5."), start, len(word)
                )
            number = _distance(digits, start + 5)
            if number == 0:
                raise QuerySyntaxError(_("The distance must be at least 1."), start + 5)
            out.append(_Token("NEAR", word, start, len(word), number=number))
        elif word == "NEAR":
            raise QuerySyntaxError(
                _("Give a distance in words after NEAR/, like NEAR/5."), start, len(word)
            )
        elif (url := _URL.match(word)) is not None:
            out.append(_Token("word", word[url.end() :], start, len(word)))
        elif ":" in word and word.split(":", 1)[0].isalpha():
            name, value = word.split(":", 1)
            if name.casefold() not in FILTERS:
                raise QuerySyntaxError(
                    _("Unknown filter “%(name)s:”: use lang: or author:.") % {"name": name},
                    start,
                    len(name) + 1,
                )
            out.append(_Token("filter", value, start, len(word), name=name.casefold()))
        else:
            out.append(_Token("word", word, start, len(word)))
    out.append(_Token("end", "", n, 1))
    return out


def _digits(text: str, start: int) -> str:
    end = start
    while end < len(text) and text[end].isdigit() and text[end].isascii():
        end += 1
    return text[start:end]


def _distance(digits: str, position: int) -> int:
    number = int(digits) if len(digits) < 6 else MAX_DISTANCE + 1
    if number > MAX_DISTANCE:
        raise QuerySyntaxError(
            _("The distance is at most %(max)d words.") % {"max": MAX_DISTANCE},
            position,
            len(digits),
        )
    return number


# --- the parser ------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def parse(self) -> Node:
        node = self.or_()
        token = self.token
        if token.kind == ")":
            raise QuerySyntaxError(_("This parenthesis closes nothing."), token.position)
        if token.kind != "end":  # pragma: no cover - or_() consumes everything else
            raise QuerySyntaxError(_("Unexpected here."), token.position, token.length)
        return node

    def or_(self) -> Node:
        children = [self.and_()]
        while self.token.kind == "OR":
            operator = self.take()
            children.append(self.operand_after(operator, self.and_))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_(self) -> Node:
        children = [self.near()]
        while True:
            token = self.token
            if token.kind == "AND":
                self.take()
                children.append(self.operand_after(token, self.near))
            elif token.kind in ("word", "phrase", "(", "NOT", "-", "filter"):
                children.append(self.near())  # side by side: AND
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(children))

    def near(self) -> Node:
        first = self.unary()
        if self.token.kind != "NEAR":
            return first
        terms = [self.near_operand(first, self.tokens[self.at - 1])]
        distance = self.token.number
        while self.token.kind == "NEAR":
            operator = self.take()
            if operator.number != distance:
                raise QuerySyntaxError(
                    _("Use one distance in a chain of NEAR, or parentheses."),
                    operator.position,
                    operator.length,
                )
            before = self.token
            terms.append(self.near_operand(self.operand_after(operator, self.unary), before))
        return Near(tuple(terms), distance)

    def near_operand(self, node: Node, token: _Token) -> Term:
        if not isinstance(node, Term):
            raise QuerySyntaxError(
                _("NEAR joins words or phrases, not groups, filters or NOT."),
                token.position,
                token.length,
            )
        return node

    def operand_after(self, operator: _Token, parse: object) -> Node:
        if self.token.kind in ("end", ")", "AND", "OR", "NEAR"):
            raise QuerySyntaxError(
                _("%(op)s needs a word, a phrase or a group on each side.")
                % {"op": operator.text.split("/")[0]},
                operator.position,
                operator.length,
            )
        return parse()  # type: ignore[operator,no-any-return]

    def unary(self) -> Node:
        token = self.token
        if token.kind in ("NOT", "-"):
            self.take()
            if self.token.kind in ("end", ")", "AND", "OR", "NEAR", "NOT", "-"):
                raise QuerySyntaxError(
                    _("NOT needs a word, a phrase, a filter or a group after it."),
                    token.position,
                    token.length,
                )
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "(":
            if self.token.kind == ")":
                raise QuerySyntaxError(_("These parentheses are empty."), token.position, 2)
            inner = self.or_()
            close = self.token
            if close.kind != ")":
                raise QuerySyntaxError(
                    _("This parenthesis is never closed."), token.position, token.length
                )
            self.take()
            return inner
        if token.kind == "word":
            return self.word(token)
        if token.kind == "phrase":
            return self.phrase(token)
        if token.kind == "filter":
            return self.filter(token)
        if token.kind == ")":
            raise QuerySyntaxError(_("This parenthesis closes nothing."), token.position)
        if token.kind in ("AND", "OR") or token.kind == "NEAR":
            raise QuerySyntaxError(
                _("%(op)s needs a word, a phrase or a group on each side.")
                % {"op": token.text.split("/")[0]},
                token.position,
                token.length,
            )
        raise QuerySyntaxError(  # end of the query
            _("The query stops here: a word, a phrase or a group is missing."),
            max(0, len(self.text) - 1) if self.text.strip() else 0,
        )

    def word(self, token: _Token) -> Node:
        raw = token.text
        prefix = raw.endswith("*")
        stem = raw.rstrip("*")
        if "*" in stem:
            raise QuerySyntaxError(
                _("* only ends a word (lumi* finds lumière)."),
                token.position + stem.index("*"),
            )
        words = fold_words(stem)
        if not words:
            raise QuerySyntaxError(
                _("This has no letter or digit to look for."), token.position, token.length
            )
        if prefix and (len(words[-1]) < MIN_PREFIX or words[-1] in "#@"):
            raise QuerySyntaxError(
                _("Put at least %(n)d letters before *.") % {"n": MIN_PREFIX},
                token.position,
                token.length,
            )
        return Term(words, prefix=prefix, position=token.position)

    def phrase(self, token: _Token) -> Node:
        words = fold_words(token.text)
        if not words:
            raise QuerySyntaxError(
                _("This phrase has no word to look for."), token.position, token.length
            )
        if token.number > 0:
            if len(words) < 2:
                raise QuerySyntaxError(
                    _("A distance (~) needs at least two words in the phrase."),
                    token.position,
                    token.length,
                )
            return Near(tuple(Term((w,), position=token.position) for w in words), token.number)
        return Term(words, position=token.position)

    def filter(self, token: _Token) -> Node:
        value = token.text.strip()
        if token.name == "lang":
            if not value:
                raise QuerySyntaxError(
                    _("Give a language code after lang:, like lang:fr or lang:en."),
                    token.position,
                    token.length,
                )
            tag = _LANGUAGE_TAG.fullmatch(value.casefold())
            if tag is None or tag.group(1) not in LANGUAGE_CODES:
                raise QuerySyntaxError(
                    _(
                        "“%(code)s” after lang: is not a language code: write a two-letter "
                        "code (ISO 639-1), like lang:fr, lang:en or lang:pt-BR."
                    )
                    % {"code": value},
                    token.position,
                    token.length,
                )
            return Lang(tag.group(1))
        handle = value.lstrip("@").casefold()
        if not handle:
            raise QuerySyntaxError(
                _("Give a handle after author:, like author:lumiere."),
                token.position,
                token.length,
            )
        return Author(handle)


def parse(text: str) -> Node:
    """The tree of ``text``, or :class:`QuerySyntaxError`."""
    if len(text) > MAX_LENGTH:
        raise QuerySyntaxError(
            _("A query is at most %(n)d characters long.") % {"n": MAX_LENGTH}, MAX_LENGTH
        )
    if not text.strip():
        raise QuerySyntaxError(_("Write what to look for."), 0)
    node = _Parser(text).parse()
    if _matches_without_terms(node):
        raise QuerySyntaxError(
            _(
                "This query would find posts without any of its words: say what to look for, "
                "and use NOT or - only to leave things out."
            ),
            0,
            len(text),
        )
    return node


def _matches_without_terms(node: Node) -> bool:
    """Could ``node`` be true of a post that contains none of its terms? The matcher only
    looks at queries one of whose terms it found, so such a query would silently miss."""
    filters = sorted({repr(f) for f in _filters(node)})
    if len(filters) > 10:
        assignments = [dict.fromkeys(filters, True), dict.fromkeys(filters, False)]
    else:
        assignments = [
            {f: bool(mask >> i & 1) for i, f in enumerate(filters)}
            for mask in range(1 << len(filters))
        ]
    return any(_truth(node, values) for values in assignments)


def _filters(node: Node) -> list[Node]:
    if isinstance(node, Lang | Author):
        return [node]
    if isinstance(node, Not):
        return _filters(node.child)
    if isinstance(node, And | Or):
        return [f for child in node.children for f in _filters(child)]
    return []


def _truth(node: Node, filters: dict[str, bool]) -> bool:
    if isinstance(node, Term | Near):
        return False
    if isinstance(node, Lang | Author):
        return filters[repr(node)]
    if isinstance(node, Not):
        return not _truth(node.child, filters)
    if isinstance(node, And):
        return all(_truth(c, filters) for c in node.children)
    return any(_truth(c, filters) for c in node.children)  # Or


__all__ = [
    "And",
    "Author",
    "Lang",
    "Near",
    "Node",
    "Not",
    "Or",
    "QuerySyntaxError",
    "Term",
    "fold",
    "fold_words",
    "parse",
    "terms_of",
    "to_text",
]
