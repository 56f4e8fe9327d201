"""Routing rules: a small language for conditions, its evaluator, and what matching rules do.

A rule is a condition over one inbound message and a set of actions. Conditions are written
in a short language, in English or in French, with ``and``/``or``/``not`` and parentheses for
nesting (see ``docs/webcare-rules.md``)::

    intent is pricing and language is fr
    (intent in complaint, support) and (text contains "commande", "colis" or text matches "\\d{8}")
    followers >= 10000 or author is vip
    time between 18:00 and 23:00 on sat, sun
    intention est pricing et langue est fr          # the same in French
    team is closed and kind is dm

The text is parsed into a tree of plain JSON (stored with the rule) and shown back from the
tree, in the reader's language, so a renamed channel shows its new name. Rules run in their
explicit order: every matching rule applies its actions; a later rule overrides what an
earlier one set for the department, the assignee and the priority; labels add up; a rule
marked "stop" ends the list. Conditions see triage's labels (language, sentiment, intent) and
the department *so far*: triage's, or the one an earlier matching rule set.

Hiding is for spam and abuse only (seed 003: a negative message gets a positive answer, not
silence): :func:`check_rule` refuses a hiding rule whose condition looks at the sentiment, or
that does not require spam (the intent) or given words (keywords or a pattern).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import regex
from django.utils.translation import gettext as _

from portevoix.core.text import fold
from portevoix.triage.labels import Department, Intent, Language, Sentiment

Node = dict[str, Any]

KINDS = ("comment", "mention", "quote", "dm")
#: Priority codes in rules, and the conversation's priority each one sets.
PRIORITIES = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
DAYS_EN = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYS_FR = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
#: The social media team itself (no department): triage's ``social_team``.
SOCIAL_TEAM = Department.SOCIAL_TEAM.value

MAX_SOURCE = 2000
MAX_NODES = 100
MAX_DEPTH = 8
MAX_WORDS = 100
MAX_PATTERN = 300
#: A pattern that takes longer than this on one message counts as not matching.
PATTERN_TIMEOUT = 0.05

#: Fields whose value is one of a list (``is``, ``is not``, ``in``, ``not in``).
CHOICE_FIELDS = ("channel", "network", "kind", "language", "sentiment", "intent", "department")

# Keywords in each language, folded (lower case, no accents). The first spelling is the one
# shown back.
_KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "and": ("and",),
        "or": ("or",),
        "not": ("not",),
        "is": ("is",),
        "in": ("in",),
        "contains": ("contains",),
        "all": ("all",),
        "matches": ("matches",),
        "between": ("between",),
        "on": ("on",),
        "vip": ("vip",),
        "open": ("open",),
        "closed": ("closed",),
        "channel": ("channel",),
        "network": ("network",),
        "kind": ("kind",),
        "language": ("language",),
        "sentiment": ("sentiment", "tone"),
        "intent": ("intent",),
        "department": ("department",),
        "text": ("text",),
        "followers": ("followers",),
        "author": ("author",),
        "time": ("time",),
        "team": ("team",),
    },
    "fr": {
        "and": ("et",),
        "or": ("ou",),
        "not": ("non",),
        "is": ("est",),
        "in": ("parmi", "dans"),
        "contains": ("contient",),
        "all": ("tout", "tous"),
        "matches": ("correspond",),
        "between": ("entre",),
        "on": ("les", "le"),
        "vip": ("vip",),
        "open": ("ouverte", "ouvert"),
        "closed": ("fermee", "ferme"),
        "channel": ("canal",),
        "network": ("reseau",),
        "kind": ("type",),
        "language": ("langue",),
        "sentiment": ("ton", "sentiment"),
        "intent": ("intention",),
        "department": ("departement", "service"),
        "text": ("texte",),
        "followers": ("abonnes",),
        "author": ("auteur",),
        "time": ("heure",),
        "team": ("equipe",),
    },
}
_WORD_TO_KEYWORD: dict[str, str] = {}
for _table in _KEYWORDS.values():
    for _keyword, _spellings in _table.items():
        for _spelling in _spellings:
            _WORD_TO_KEYWORD.setdefault(_spelling, _keyword)
# "n'est pas" (is not) and "hors de" (not in) in French; "correspond à" (matches).
_PHRASES = {"n'est pas": "is not", "hors de": "not in", "correspond a": "matches"}


class RuleError(ValueError):
    """A condition or an action that cannot be used. The message is meant for a person."""

    def __init__(self, message: str, *, position: int | None = None, field: str = "conditions"):
        super().__init__(message)
        self.message = message
        self.position = position
        self.field = field


# --- the vocabulary of values ---------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """What values mean in one workspace: its channels and departments."""

    channels: Mapping[int, str] = field(default_factory=dict)  # id -> name
    departments: Mapping[str, str] = field(default_factory=dict)  # code -> name
    networks: tuple[str, ...] = ("sandbox", "mastodon", "bluesky")

    def choices(self, name: str) -> tuple[str, ...]:
        if name == "kind":
            return KINDS
        if name == "language":
            return tuple(v.value for v in Language)
        if name == "sentiment":
            return tuple(v.value for v in Sentiment)
        if name == "intent":
            return tuple(v.value for v in Intent)
        if name == "network":
            return self.networks
        if name == "department":
            return (SOCIAL_TEAM, *self.departments)
        return ()

    def resolve(self, name: str, word: str) -> Any:
        """The stored value for what a person wrote (a channel's name -> its id)."""
        folded = fold(word).strip()
        if name == "channel":
            for pk, channel_name in self.channels.items():
                if fold(channel_name) == folded or folded == f"#{pk}":
                    return pk
            raise RuleError(_("There is no channel called “%(name)s”.") % {"name": word})
        if name == "department":
            if folded in (SOCIAL_TEAM, fold(_("social media team")), "social team"):
                return SOCIAL_TEAM
            for code, department_name in self.departments.items():
                if folded in (fold(code), fold(department_name)):
                    return code
            raise RuleError(_("There is no department called “%(name)s”.") % {"name": word})
        for value in self.choices(name):
            if folded == value:
                return value
        raise RuleError(
            _("“%(value)s” is not a known %(field)s; use one of: %(choices)s.")
            % {"value": word, "field": name, "choices": ", ".join(self.choices(name))}
        )

    def show(self, name: str, value: Any) -> str:
        if name == "channel":
            return _quote(self.channels.get(int(value), f"#{value}"))
        if name == "department" and value != SOCIAL_TEAM:
            return _quote(self.departments.get(str(value), str(value)))
        return str(value)


def _quote(text: str) -> str:
    if re.fullmatch(r"[^\W\d][\w-]*", text) and fold(text) not in _WORD_TO_KEYWORD:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- the parser ----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|«[^»]*»)
      | (?P<clock>\d{1,2}(?::|h)\d{2}|\d{1,2}h)
      | (?P<number>\d[\d\s_.,]*\d|\d)(?![\w:])
      | (?P<cmp>>=|<=|!=|=|>|<|≥|≤)
      | (?P<punct>[(),])
      | (?P<word>[^\W\d][\w'’-]*|\#\d+|[\w-]+)
    )""",
    re.VERBOSE,
)


@dataclass
class Token:
    kind: str
    text: str
    position: int

    @property
    def folded(self) -> str:
        return fold(self.text)

    @property
    def keyword(self) -> str | None:
        return _WORD_TO_KEYWORD.get(self.folded) if self.kind == "word" else None


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    source = source.rstrip()
    while position < len(source):
        found = _TOKEN.match(source, position)
        if not found or found.end() == position:
            raise RuleError(
                _("Unexpected “%(text)s” at character %(n)s.")
                % {"text": source[position:].strip()[:20], "n": position + 1},
                position=position,
            )
        kind = found.lastgroup or "word"
        text = found.group(kind)
        start = found.start(kind)
        if kind == "string":
            text = (
                text[1:-1].strip()
                if text.startswith("«")
                else re.sub(r'\\(["\\])', r"\1", text[1:-1])
            )
        tokens.append(Token(kind, text, start))
        position = found.end()
    return _join_phrases(tokens)


def _join_phrases(tokens: list[Token]) -> list[Token]:
    """Turn "n'est pas", "hors de", "correspond à" into the keywords they mean."""
    joined: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "word" and i + 1 < len(tokens) and tokens[i + 1].kind == "word":
            phrase = f"{token.folded} {tokens[i + 1].folded}"
            if phrase in _PHRASES:
                words = _PHRASES[phrase].split()
                for word in words:
                    joined.append(Token("word", word, token.position))
                i += 2
                continue
        joined.append(token)
        i += 1
    return joined


class Parser:
    def __init__(self, source: str, vocabulary: Vocabulary) -> None:
        if len(source) > MAX_SOURCE:
            raise RuleError(_("A condition is at most %(n)s characters long.") % {"n": MAX_SOURCE})
        self.source = source
        self.tokens = tokenize(source)
        self.at = 0
        self.vocabulary = vocabulary
        self.nodes = 0

    # helpers
    def peek(self, offset: int = 0) -> Token | None:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise RuleError(_("The condition stops too early."), position=len(self.source))
        self.at += 1
        return token

    def is_keyword(self, keyword: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.keyword == keyword

    def expect_keyword(self, keyword: str, shown: str) -> Token:
        token = self.peek()
        if token is None or token.keyword != keyword:
            self.fail(_("expected “%(word)s”") % {"word": shown}, token)
        return self.take()

    def fail(self, what: str, token: Token | None) -> None:
        if token is None:
            raise RuleError(
                _("The condition stops too early: %(what)s.") % {"what": what},
                position=len(self.source),
            )
        raise RuleError(
            _("At “%(text)s” (character %(n)s): %(what)s.")
            % {"text": token.text, "n": token.position + 1, "what": what},
            position=token.position,
        )

    def count(self, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise RuleError(_("This condition is too large; split it into several rules."))

    # grammar
    def parse(self) -> Node:
        if not self.tokens:
            return {"all": []}
        node = self.parse_or(0)
        if self.peek() is not None:
            self.fail(_("expected “and”, “or” or the end"), self.peek())
        return node

    def parse_or(self, depth: int) -> Node:
        self.count(depth)
        items = [self.parse_and(depth + 1)]
        while self.is_keyword("or"):
            self.take()
            items.append(self.parse_and(depth + 1))
        return items[0] if len(items) == 1 else {"any": items}

    def parse_and(self, depth: int) -> Node:
        items = [self.parse_not(depth)]
        while self.is_keyword("and"):
            self.take()
            items.append(self.parse_not(depth))
        return items[0] if len(items) == 1 else {"all": items}

    def parse_not(self, depth: int) -> Node:
        self.count(depth)
        if self.is_keyword("not"):
            self.take()
            return {"not": self.parse_not(depth + 1)}
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == "(":
            self.take()
            node = self.parse_or(depth + 1)
            closing = self.peek()
            if closing is None or closing.text != ")":
                self.fail(_("expected “)”"), closing)
            self.take()
            return node
        return self.parse_condition()

    def parse_condition(self) -> Node:
        token = self.take()
        name = token.keyword
        if name in CHOICE_FIELDS:
            return self.parse_choice(name, token)
        if name == "text":
            return self.parse_text()
        if name == "followers":
            return self.parse_followers()
        if name == "author":
            negate = self.parse_is()
            self.expect_keyword("vip", "vip")
            return {"field": "author", "op": "vip", "value": not negate}
        if name == "time":
            return self.parse_time()
        if name == "team":
            negate = self.parse_is()
            state = self.take()
            if state.keyword not in ("open", "closed"):
                self.fail(_("expected “open” or “closed”"), state)
            value = (
                state.keyword if not negate else ("closed" if state.keyword == "open" else "open")
            )
            return {"field": "team", "op": "is", "value": value}
        self.fail(_("expected a field (intent, language, text, channel...)"), token)
        raise AssertionError  # pragma: no cover

    def parse_is(self) -> bool:
        """``is`` or ``is not``; returns whether it was negated."""
        self.expect_keyword("is", "is")
        if self.is_keyword("not"):
            self.take()
            return True
        return False

    def parse_choice(self, name: str, token: Token) -> Node:
        negate = False
        if self.is_keyword("is"):
            negate = self.parse_is()
            if self.is_keyword("in"):
                self.take()
        elif self.is_keyword("not") and self.is_keyword("in", 1):
            self.take()
            self.take()
            negate = True
        elif self.is_keyword("in"):
            self.take()
        else:
            self.fail(_("expected “is”, “is not”, “in” or “not in”"), self.peek())
        values = []
        for word in self.parse_list():
            try:
                value = self.vocabulary.resolve(name, word.text)
            except RuleError as exc:
                raise RuleError(exc.message, position=word.position) from None
            if value not in values:
                values.append(value)
        return {"field": name, "op": "not_in" if negate else "in", "value": values}

    def parse_list(self) -> list[Token]:
        items = [self.parse_value()]
        while (token := self.peek()) is not None and token.text == ",":
            self.take()
            items.append(self.parse_value())
        if len(items) > MAX_WORDS:
            raise RuleError(_("At most %(n)s values in one condition.") % {"n": MAX_WORDS})
        return items

    def parse_value(self) -> Token:
        token = self.peek()
        if (
            token is None
            or token.kind not in ("word", "string", "number")
            or (token.kind == "word" and token.keyword in ("and", "or"))
        ):
            self.fail(_("expected a value"), token)
        return self.take()

    def parse_text(self) -> Node:
        if self.is_keyword("matches"):
            self.take()
            token = self.take()
            if token.kind != "string":
                self.fail(_("write the pattern between quotes"), token)
            return {"field": "text", "op": "matches", "value": check_pattern(token.text)}
        self.expect_keyword("contains", "contains")
        op = "contains_any"
        if self.is_keyword("all"):
            self.take()
            op = "contains_all"
        words = []
        for token in self.parse_list():
            word = fold(token.text).strip()
            if not word:
                self.fail(_("a word cannot be empty"), token)
            if word not in words:
                words.append(word)
        return {"field": "text", "op": op, "value": words}

    def parse_followers(self) -> Node:
        token = self.take()
        ops = {">=": ">=", "≥": ">=", "<=": "<=", "≤": "<=", ">": ">", "<": "<", "=": "="}
        if token.kind != "cmp" or token.text not in ops:
            self.fail(_("expected >=, <=, >, < or ="), token)
        number = self.take()
        digits = re.sub(r"[\s_.,]", "", number.text)
        if number.kind != "number" or not digits.isdigit():
            self.fail(_("expected a number"), number)
        return {"field": "followers", "op": ops[token.text], "value": int(digits)}

    def parse_time(self) -> Node:
        self.expect_keyword("between", "between")
        start = self.parse_clock()
        self.expect_keyword("and", "and")
        last = self.peek()
        end = self.parse_clock(end=True)
        if start == end:
            self.fail(_("the two times are the same"), last)
        days: list[int] = []
        if self.is_keyword("on"):
            self.take()
            for token in self.parse_list():
                day = _day(token.folded)
                if day is None:
                    self.fail(_("expected a day (mon, tue... or lun, mar...)"), token)
                elif day not in days:
                    days.append(day)
        return {
            "field": "time",
            "op": "between",
            "value": {"from": start, "to": end, "days": sorted(days)},
        }

    def parse_clock(self, *, end: bool = False) -> int:
        token = self.take()
        text = token.text.lower().replace("h", ":")
        if text.endswith(":"):
            text += "00"
        found = re.fullmatch(r"(\d{1,2}):(\d{2})", text) if token.kind == "clock" else None
        if found is None and token.kind == "number" and token.text.isdigit():
            found = re.fullmatch(r"(\d{1,2})()", token.text)
        if found is None:
            self.fail(_("expected a time of day such as 18:00"), token)
        assert found is not None
        minutes = int(found.group(1)) * 60 + int(found.group(2) or 0)
        if int(found.group(2) or 0) >= 60 or minutes > 1440 or (minutes == 1440 and not end):
            self.fail(_("expected a time of day such as 18:00"), token)
        return minutes


def _day(word: str) -> int | None:
    word = word.strip(".")
    for table in (DAYS_EN, DAYS_FR):
        for index, name in enumerate(table):
            if word.startswith(name):
                return index
    return None


def check_pattern(pattern: str) -> str:
    if not pattern:
        raise RuleError(_("The pattern is empty."))
    if len(pattern) > MAX_PATTERN:
        raise RuleError(_("A pattern is at most %(n)s characters long.") % {"n": MAX_PATTERN})
    try:
        regex.compile(pattern, regex.IGNORECASE)
    except regex.error as exc:
        raise RuleError(
            _("The pattern “%(pattern)s” is not valid: %(error)s.")
            % {"pattern": pattern, "error": exc}
        ) from None
    return pattern


def parse(source: str, vocabulary: Vocabulary) -> Node:
    """The tree of a condition written by a person; :class:`RuleError` says what is wrong."""
    return Parser(source, vocabulary).parse()


# --- showing a tree back ---------------------------------------------------------------------


def render(node: Node, vocabulary: Vocabulary, language: str = "en") -> str:
    """The condition in the language's keywords; parsing it again gives the same tree."""
    words = {k: v[0] for k, v in _KEYWORDS.get(language, _KEYWORDS["en"]).items()}
    fr = language == "fr"
    field_word = {name: words[name] for name in (*CHOICE_FIELDS, "text", "followers", "author")}
    field_word.update(time=words["time"], team=words["team"])
    field_word = {k: _accented(v) if fr else v for k, v in field_word.items()}

    def show(item: Node, parent: str) -> str:
        if "all" in item or "any" in item:
            kind = "all" if "all" in item else "any"
            children = item[kind]
            if not children:
                return "" if parent == "top" else "()"
            joiner = f" {words['and' if kind == 'all' else 'or']} "
            text = joiner.join(show(child, kind) for child in children)
            if len(children) > 1 and parent in ("all", "not") and kind == "any":
                return f"({text})"
            if len(children) > 1 and parent == "not":
                return f"({text})"
            return text
        if "not" in item:
            return f"{words['not']} {show(item['not'], 'not')}"
        return leaf(item)

    def leaf(item: Node) -> str:
        name, op, value = item["field"], item["op"], item["value"]
        label = field_word[name]
        is_not = "n'est pas" if fr else "is not"
        if name in CHOICE_FIELDS:
            values = ", ".join(vocabulary.show(name, v) for v in value)
            negative = op == "not_in"
            if len(value) == 1:
                verb = is_not if negative else words["is"]
            else:
                verb = ("hors de" if fr else "not in") if negative else words["in"]
            return f"{label} {verb} {values}"
        if name == "text":
            if op == "matches":
                return (
                    f"{label} {'correspond à' if fr else words['matches']} {_quote_always(value)}"
                )
            quoted = ", ".join(_quote_always(v) for v in value)
            all_word = f" {words['all']}" if op == "contains_all" else ""
            return f"{label} {words['contains']}{all_word} {quoted}"
        if name == "followers":
            return f"{label} {op} {value}"
        if name == "author":
            return f"{label} {words['is'] if value else is_not} vip"
        if name == "time":
            text = (
                f"{label} {words['between']} {_clock(value['from'])} {words['and']} "
                f"{_clock(value['to'])}"
            )
            if value.get("days"):
                names = DAYS_FR if fr else DAYS_EN
                text += f" {words['on']} " + ", ".join(names[d] for d in value["days"])
            return text
        if name == "team":
            state = {"open": "ouverte", "closed": "fermée"} if fr else {}
            return f"{label} {words['is']} {state.get(value, value)}"
        return str(item)

    return show(node, "top")


def _accented(word: str) -> str:
    return {"reseau": "réseau", "departement": "département", "abonnes": "abonnés",
            "equipe": "équipe"}.get(word, word)  # fmt: skip


def _quote_always(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- checking a tree (stored, or from the API) ------------------------------------------------


def walk(node: Node) -> Iterable[Node]:
    """Every leaf of a tree."""
    if "all" in node or "any" in node:
        children: list[Node] = node["all"] if "all" in node else node["any"]
        for child in children:
            yield from walk(child)
    elif "not" in node:
        yield from walk(node["not"])
    else:
        yield node


def check_tree(node: Any, vocabulary: Vocabulary, depth: int = 0) -> Node:
    """Validate a tree given as JSON (it may come from the API or an old row)."""
    if depth > MAX_DEPTH or not isinstance(node, dict) or len(node) == 0:
        raise RuleError(_("This condition is not valid."))
    if "all" in node or "any" in node:
        kind = "all" if "all" in node else "any"
        children = node[kind]
        if len(node) != 1 or not isinstance(children, list) or len(children) > MAX_NODES:
            raise RuleError(_("This condition is not valid."))
        return {kind: [check_tree(child, vocabulary, depth + 1) for child in children]}
    if "not" in node:
        if len(node) != 1:
            raise RuleError(_("This condition is not valid."))
        return {"not": check_tree(node["not"], vocabulary, depth + 1)}
    name, op, value = node.get("field"), node.get("op"), node.get("value")
    if name in CHOICE_FIELDS and op in ("in", "not_in") and isinstance(value, list) and value:
        allowed = list(vocabulary.channels) if name == "channel" else vocabulary.choices(str(name))
        if all(v in allowed for v in value):
            return {"field": name, "op": op, "value": value}
    elif name == "text" and op in ("contains_any", "contains_all") and isinstance(value, list):
        if value and all(isinstance(v, str) and fold(v).strip() for v in value):
            return {"field": name, "op": op, "value": [fold(v).strip() for v in value]}
    elif name == "text" and op == "matches" and isinstance(value, str):
        return {"field": name, "op": op, "value": check_pattern(value)}
    elif name == "followers" and op in (">=", "<=", ">", "<", "="):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return {"field": name, "op": op, "value": value}
    elif name == "author" and op == "vip" and isinstance(value, bool):
        return {"field": name, "op": op, "value": value}
    elif name == "time" and op == "between" and isinstance(value, dict):
        start, end, days = value.get("from"), value.get("to"), value.get("days", [])
        if (
            isinstance(start, int)
            and isinstance(end, int)
            and 0 <= start < 1440
            and 0 < end <= 1440
            and start != end
            and isinstance(days, list)
            and all(isinstance(d, int) and 0 <= d < 7 for d in days)
        ):
            return {"field": name, "op": op, "value": {"from": start, "to": end, "days": days}}
    elif name == "team" and op == "is" and value in ("open", "closed"):
        return {"field": name, "op": op, "value": value}
    raise RuleError(_("This condition is not valid."))


# --- actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actions:
    """What a matching rule does. Empty fields do nothing."""

    department: str = ""  # a department code, or "social_team"
    assignee: int | None = None  # a member id
    priority: str = ""
    labels: tuple[str, ...] = ()
    auto_reply: Mapping[str, str] = field(default_factory=dict)  # language -> text
    hide: bool = False
    escalate: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Actions:
        data = data or {}
        reply = data.get("auto_reply") or {}
        return cls(
            department=str(data.get("department") or ""),
            assignee=int(data["assignee"]) if data.get("assignee") else None,
            priority=str(data.get("priority") or ""),
            labels=tuple(str(label) for label in data.get("labels") or ()),
            auto_reply={str(k): str(v) for k, v in reply.items() if str(v).strip()},
            hide=bool(data.get("hide")),
            escalate=bool(data.get("escalate")),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.department:
            data["department"] = self.department
        if self.assignee:
            data["assignee"] = self.assignee
        if self.priority:
            data["priority"] = self.priority
        if self.labels:
            data["labels"] = list(self.labels)
        if self.auto_reply:
            data["auto_reply"] = dict(self.auto_reply)
        if self.hide:
            data["hide"] = True
        if self.escalate:
            data["escalate"] = True
        return data

    @property
    def empty(self) -> bool:
        return not self.to_json()


def normalise_labels(text: str | Iterable[str]) -> tuple[str, ...]:
    items = re.split(r"[,;\n]", text) if isinstance(text, str) else list(text)
    labels: list[str] = []
    for item in items:
        label = re.sub(r"\s+", " ", item).strip().lstrip("#")[:40]
        if label and label.lower() not in (x.lower() for x in labels):
            labels.append(label)
    return tuple(labels[:10])


def _spam_or_words(node: Node) -> bool:
    """Does every way this condition can be true go through spam or given words?"""
    if "all" in node:
        return any(_spam_or_words(child) for child in node["all"])
    if "any" in node:
        return bool(node["any"]) and all(_spam_or_words(child) for child in node["any"])
    if "not" in node:
        return False
    if node["field"] == "intent" and node["op"] == "in":
        return set(node["value"]) == {Intent.SPAM.value}
    return bool(node["field"] == "text")


def check_rule(conditions: Node, actions: Actions) -> None:
    """Rules that may not be saved, with the reason for the person writing them."""
    if actions.empty:
        raise RuleError(_("A rule needs at least one action."), field="actions")
    if actions.hide:
        if any(leaf["field"] == "sentiment" for leaf in walk(conditions)):
            raise RuleError(
                _(
                    "Hiding is for spam and abuse only: a rule that hides by tone is refused. "
                    "An unhappy customer gets a positive answer, not silence."
                ),
                field="hide",
            )
        if not _spam_or_words(conditions):
            raise RuleError(
                _(
                    "Hiding is for spam and abuse only: the condition must require spam "
                    "(intent is spam) or given words (text contains …, text matches …)."
                ),
                field="hide",
            )
        if actions.auto_reply:
            raise RuleError(_("A hidden message gets no automatic reply."), field="hide")
    if actions.priority and actions.priority not in PRIORITIES:
        raise RuleError(_("Unknown priority."), field="priority")


# --- evaluation ------------------------------------------------------------------------------


@dataclass
class Facts:
    """What rules look at for one message (triage's labels are inputs)."""

    channel_id: int
    network: str
    kind: str
    language: str
    sentiment: str
    intent: str
    department: str  # so far: triage's, or what an earlier rule set
    text: str
    at: dt.datetime  # when it was written, aware
    zone: Any  # the team's time zone (a ZoneInfo)
    followers: int | None = None
    vip: bool = False
    team_open: Callable[[], bool] | bool = True

    @cached_property
    def folded(self) -> str:
        return " " + re.sub(r"[^\w]+", " ", fold(self.text)) + " "

    def is_team_open(self) -> bool:
        if callable(self.team_open):
            self.team_open = bool(self.team_open())
        return bool(self.team_open)


_PATTERNS: dict[str, Any] = {}


def _pattern(text: str) -> Any:
    compiled = _PATTERNS.get(text)
    if compiled is None:
        if len(_PATTERNS) > 2000:
            _PATTERNS.clear()
        compiled = _PATTERNS[text] = regex.compile(text, regex.IGNORECASE)
    return compiled


def _has_words(facts: Facts, word: str) -> bool:
    phrase = " " + re.sub(r"[^\w]+", " ", word).strip() + " "
    return phrase.strip() != "" and phrase in facts.folded


def matches(node: Node, facts: Facts) -> bool:
    if "all" in node:
        return all(matches(child, facts) for child in node["all"])
    if "any" in node:
        return any(matches(child, facts) for child in node["any"])
    if "not" in node:
        return not matches(node["not"], facts)
    name, op, value = node["field"], node["op"], node["value"]
    if name in CHOICE_FIELDS:
        current = facts.channel_id if name == "channel" else getattr(facts, name)
        return bool((current in value) == (op == "in"))
    if name == "text":
        if op == "contains_any":
            return any(_has_words(facts, word) for word in value)
        if op == "contains_all":
            return all(_has_words(facts, word) for word in value)
        try:
            return _pattern(value).search(facts.text, timeout=PATTERN_TIMEOUT) is not None
        except TimeoutError:
            return False
    if name == "followers":
        if facts.followers is None:
            return False
        limit = int(value)
        return {
            ">=": facts.followers >= limit,
            "<=": facts.followers <= limit,
            ">": facts.followers > limit,
            "<": facts.followers < limit,
            "=": facts.followers == limit,
        }[op]
    if name == "author":
        return facts.vip is bool(value)
    if name == "time":
        local = facts.at.astimezone(facts.zone)
        minute = local.hour * 60 + local.minute
        start, end, days = value["from"], value["to"], value.get("days") or []
        if start < end:
            inside, day = start <= minute < end, local.weekday()
        else:  # across midnight: 22:00-06:00 belongs to the day it starts on
            inside = minute >= start or minute < end
            day = local.weekday() if minute >= start else (local.weekday() - 1) % 7
        return bool(inside and (not days or day in days))
    if name == "team":
        return facts.is_team_open() is (value == "open")
    return False


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    conditions: Node
    actions: Actions
    stop: bool = False


@dataclass
class Decision:
    """What the rules decided for one message, and why (shown in the inbox)."""

    department: str
    triage_department: str
    assignee: int | None = None
    priority: str = ""
    labels: list[str] = field(default_factory=list)
    auto_reply: dict[str, str] = field(default_factory=dict)
    hide: bool = False
    escalate: bool = False
    #: (rule id, rule name, what it set) for every rule that matched, in order.
    matched: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def overridden(self) -> bool:
        return self.department != self.triage_department

    def trace(self) -> list[dict[str, Any]]:
        return [{"rule": pk, "name": name, "set": changes} for pk, name, changes in self.matched]


def decide(rules: Sequence[CompiledRule], facts: Facts) -> Decision:
    """Apply ``rules`` in order to one message."""
    decision = Decision(department=facts.department, triage_department=facts.department)
    for rule in rules:
        if not matches(rule.conditions, facts):
            continue
        actions = rule.actions
        if actions.department:
            decision.department = facts.department = actions.department
        if actions.assignee:
            decision.assignee = actions.assignee
        if actions.priority:
            decision.priority = actions.priority
        for label in actions.labels:
            if label not in decision.labels:
                decision.labels.append(label)
        if actions.auto_reply:
            decision.auto_reply = dict(actions.auto_reply)
        decision.hide = decision.hide or actions.hide
        decision.escalate = decision.escalate or actions.escalate
        decision.matched.append((rule.id, rule.name, actions.to_json()))
        if rule.stop:
            break
    return decision
