"""What a status says, the way servers that speak Mastodon's API render it.

A status comes back as HTML (``content``): Mastodon splits paragraphs into ``<p>`` and lines
with ``<br>``, wraps every link in spans (``https://`` and the end of a long address are
``invisible``, the middle is an ``ellipsis``), shows a remote mention ``@bob@x.social`` as
``@bob`` (a link to bob's profile; the ``mentions`` array says who that is) and escapes
``&``, ``<``... Pleroma and Akkoma also give a plain-text rendering
(``pleroma.content["text/plain"]``); some servers give the source itself (``text``).

Nothing here strips tags with a regular expression: the HTML is parsed (``html.parser``).
:func:`canonical` brings what we sent and what a server shows to one form, so that equal
means "this is that post":

- mentions become ``@user@domain`` in lower case, from the ``mentions`` array when the server
  shortened them, and ``@user`` for an account of the instance itself;
- paragraphs, lines and spaces are kept as structure (paragraphs apart, lines apart, runs of
  spaces as one), not as bytes;
- links, hashtags and entities read as their text.

:func:`loose` is a much weaker form (words only, mentions without domain): a status that is
only *loosely* equal to what we sent is a candidate for a person to look at, never a match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from html.parser import HTMLParser
from typing import Any

# A mention as Mastodon finds it in text: @user or @user@domain, not inside a word or a path.
MENTION = re.compile(
    r"(?<![\w/@.])@([a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?:@([\w-]+(?:\.[\w-]+)+))?",
    re.IGNORECASE,
)
_PARAGRAPHS = re.compile(r"\n\s*\n")
_WORD = re.compile(r"\w+")
_BLOCKS = frozenset({"p", "div", "blockquote", "li", "ul", "ol", "h1", "h2", "h3", "h4", "pre"})
_VOID = frozenset({"br", "img", "hr", "wbr", "input", "meta", "link", "source", "area", "col"})


def _classes(attrs: Sequence[tuple[str, str | None]]) -> set[str]:
    for name, value in attrs:
        if name == "class" and value:
            return set(value.split())
    return set()


def _attr(attrs: Sequence[tuple[str, str | None]], wanted: str) -> str:
    for name, value in attrs:
        if name == wanted and value:
            return value
    return ""


class _Renderer(HTMLParser):
    """Status HTML to text: blocks apart, ``<br>`` as a line, mentions resolved to an acct."""

    def __init__(self, mentions: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(convert_charrefs=True)
        self.mentions = mentions
        self.out: list[str] = []
        self._anchor: tuple[set[str], str] | None = None
        self._anchor_text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip:
            if tag not in _VOID:
                self._skip += 1
            return
        classes = _classes(attrs)
        if "quote-inline" in classes:  # "RE: <link>" added by servers to quote posts
            self._skip = 1
            return
        if tag == "br":
            self._text("\n")
        elif tag in _BLOCKS:
            self.out.append("\n\n")
        elif tag == "a" and self._anchor is None:
            self._anchor = (classes, _attr(attrs, "href"))
            self._anchor_text = []
        elif tag == "img":
            # Custom emoji some servers inline as images: their shortcode is in ``alt``.
            self._text(_attr(attrs, "alt"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag not in _VOID:
                self._skip -= 1
            return
        if tag in _BLOCKS:
            self.out.append("\n\n")
        elif tag == "a" and self._anchor is not None:
            classes, href = self._anchor
            text = "".join(self._anchor_text)
            self._anchor = None
            if "mention" in classes and "hashtag" not in classes and text.startswith("@"):
                text = "@" + resolve_mention(text[1:], href, self.mentions)
            self.out.append(text)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        # Outside <pre>, a line break in HTML source is just a space.
        self._text(re.sub(r"\s+", " ", data))

    def _text(self, text: str) -> None:
        if self._anchor is not None:
            self._anchor_text.append(text)
        else:
            self.out.append(text)


def resolve_mention(shown: str, href: str, mentions: Sequence[Mapping[str, Any]]) -> str:
    """The acct a mention shown as ``@shown`` (with a link to ``href``) stands for."""
    shown = shown.strip()
    for mention in mentions:
        if href and href in {mention.get("url"), mention.get("uri")}:
            return str(mention.get("acct") or shown)
    if "@" in shown:
        return shown
    same_name = [m for m in mentions if str(m.get("username") or "").lower() == shown.lower()]
    if len(same_name) == 1:
        return str(same_name[0].get("acct") or shown)
    return shown


def html_to_text(content: str, mentions: Sequence[Mapping[str, Any]] = ()) -> str:
    """A status's HTML as text: paragraphs apart, lines apart, mentions as their full acct."""
    renderer = _Renderer(mentions)
    renderer.feed(content or "")
    renderer.close()
    return layout("".join(renderer.out))


def layout(text: str) -> str:
    """Paragraphs separated by one blank line, lines by one break, spaces collapsed."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    paragraphs: list[str] = []
    for paragraph in _PARAGRAPHS.split(text.strip()):
        lines = [" ".join(line.split()) for line in paragraph.split("\n")]
        kept = [line for line in lines if line]
        if kept:
            paragraphs.append("\n".join(kept))
    return "\n\n".join(paragraphs)


def _normal_acct(user: str, domain: str | None, local_domain: str) -> str:
    user = user.lower()
    if domain and domain.lower() != local_domain.lower():
        return f"{user}@{domain.lower()}"
    return user


def canonical(
    text: str,
    *,
    local_domain: str,
    mentions: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """``text`` in the form used to compare a status with what was sent.

    ``mentions`` (a status's array) resolves mentions that a server shortened to ``@user``;
    without it, ``@user`` is an account of the instance itself (what a server would make of
    it when posting).
    """

    def replace(match: re.Match[str]) -> str:
        user, domain = match.group(1), match.group(2)
        if domain is None and mentions:
            acct = resolve_mention(user, "", mentions)
            if "@" in acct:
                user, domain = acct.split("@", 1)
        return "@" + _normal_acct(user, domain, local_domain)

    return MENTION.sub(replace, layout(text))


def loose(text: str) -> tuple[str, ...]:
    """Only the words, in lower case, mentions without their domain: a weak likeness."""
    text = MENTION.sub(lambda m: "@" + m.group(1), unicodedata.normalize("NFKC", text))
    return tuple(word.casefold() for word in _WORD.findall(text))


def status_renderings(status: Mapping[str, Any]) -> list[str]:
    """Every text a server gave for ``status``: its source, its HTML, its plain text."""
    mentions: list[Mapping[str, Any]] = [
        m for m in (status.get("mentions") or []) if isinstance(m, Mapping)
    ]
    found: list[str] = []
    source = status.get("text")
    if isinstance(source, str) and source.strip():
        found.append(source)
    content = status.get("content")
    if isinstance(content, str):
        found.append(html_to_text(content, mentions))
    pleroma = status.get("pleroma")
    if isinstance(pleroma, Mapping):
        plain = (
            (pleroma.get("content") or {}) if isinstance(pleroma.get("content"), Mapping) else {}
        )
        text = plain.get("text/plain")
        if isinstance(text, str):
            found.append(text)
    return found


def status_mentions(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [m for m in (status.get("mentions") or []) if isinstance(m, Mapping)]


def same_text(sent: str, status: Mapping[str, Any], *, local_domain: str) -> bool:
    """Whether one of the status's renderings is exactly what was sent (see module doc)."""
    wanted = canonical(sent, local_domain=local_domain)
    mentions = status_mentions(status)
    return any(
        canonical(shown, local_domain=local_domain, mentions=mentions) == wanted
        for shown in status_renderings(status)
    )


def alike(sent: str, status: Mapping[str, Any]) -> bool:
    """Whether one of the status's renderings has the same words as what was sent."""
    wanted = loose(sent)
    return any(loose(shown) == wanted for shown in status_renderings(status))


def plain_text(content: str, mentions: Iterable[Mapping[str, Any]] = ()) -> str:
    """A status's HTML as one line of text (for inbound items and candidates)."""
    return " ".join(html_to_text(content, list(mentions)).split())


__all__ = [
    "alike",
    "canonical",
    "html_to_text",
    "layout",
    "loose",
    "plain_text",
    "resolve_mention",
    "same_text",
    "status_renderings",
]
