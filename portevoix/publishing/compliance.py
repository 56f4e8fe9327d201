"""Compliance rules (issue 9 §6): what a text may not say, or must say, per workspace.

A rule is banned words and phrases, a required disclaimer (always, or when the text mentions
some words: finance, health), sites links may go to (an allow list) or never go to (a deny
list), or a regular expression; each one *blocks* or *warns*. The brand guide's avoided words
are pointed out as warnings too. Every finding says why, and where in the text it is (the
unit — text, link, first comment, a thread part, an image description — and the characters),
so the page can mark it there.

The same check runs live in the composer (``compliance_check`` view), again when a post is
submitted and approved (a blocking finding refuses both), and again at send time
(``approvals.actions.send_time_check``: a blocking finding rejects the publication).

Matching ignores case and accents ("credit" finds "Crédit") and respects word boundaries
("taux" does not find "tauxième"). Regular expressions run with the ``regex`` package under a
time limit, so a pattern that backtracks catastrophically cannot stall a worker; a pattern is
compiled and tried on long texts when it is saved, and refused with the reason if it is
invalid or too slow.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import regex
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require
from portevoix.core.sentences import Sentence
from portevoix.publishing.approvals.models import (
    BrandGuide,
    ComplianceRule,
    RuleKind,
    Severity,
    lines,
)

if TYPE_CHECKING:
    from portevoix.channels.models import Channel
    from portevoix.publishing.models import Post, Publication

#: Seconds a regular expression may run on one text before it counts as too slow.
REGEX_TIMEOUT = 0.05
#: At most this many findings per rule and text unit (a banned word repeated 40 times).
MAX_PER_RULE = 5
#: Texts a new pattern is tried on when it is saved: long runs that make backtracking explode.
PROBES = (
    "a" * 4000 + "!",
    " " * 4000 + "!",
    "ab" * 2000 + "c",
    "1" * 4000 + "x",
    ("https://example.com/" + "a/" * 1000) + " ",
)
_LINK = regex.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'«»]+")
_TRAILING = ".,;:!?)]}’”"


# --- where the text is ---------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One piece of text that goes out: ``key`` says which (``text``, ``link``,
    ``first_comment``, ``thread:1``, ``alt:0``)."""

    key: str
    text: str

    @property
    def label(self) -> str:
        return self.label_sentence().render()

    def label_sentence(self) -> Sentence:
        if self.key == "text":
            return said(gettext_noop("text"))
        if self.key == "link":
            return said(gettext_noop("link"))
        if self.key == "first_comment":
            return said(gettext_noop("first comment"))
        kind, _sep, number = self.key.partition(":")
        if kind == "thread":
            return said(gettext_noop("thread part %(n)s"), n=int(number) + 2)
        if kind == "alt":
            return said(gettext_noop("image description %(n)s"), n=int(number) + 1)
        return said("%(key)s", key=self.key)


def said(message: str, **params: object) -> Sentence:
    """A sentence to show now or to store (``core.sentences``): an English message id marked
    with ``gettext_noop`` and its parameters, which may be sentences themselves."""
    return Sentence(
        message, {k: v.dumps() if isinstance(v, Sentence) else str(v) for k, v in params.items()}
    )


def joined(parts: Sequence[Sentence]) -> Sentence:
    """Several sentences as one, each in the reader's language."""
    if not parts:
        return said("%(text)s", text="")
    result = parts[0]
    for part in parts[1:]:
        result = said(gettext_noop("%(first)s %(then)s"), first=result, then=part)
    return result


@dataclass(frozen=True)
class Finding:
    """One broken rule, with its reason and where the text breaks it."""

    severity: str
    kind: str
    #: The reason, in the reader's language when shown (stored as a sentence at send time).
    reason: Sentence
    rule_id: int | None = None
    rule_name: str = ""
    unit: str = "text"
    channel: str = ""
    start: int = -1
    end: int = -1
    excerpt: str = ""

    @property
    def message(self) -> str:
        return self.reason.render()

    @property
    def unit_label(self) -> str:
        return Unit(self.unit, "").label

    @property
    def blocks(self) -> bool:
        return self.severity == Severity.BLOCK

    @property
    def located(self) -> bool:
        return self.start >= 0

    def sentence(self) -> Sentence:
        """The finding in one sentence, with where it is: for a refusal or a problem."""
        where = Unit(self.unit, "").label_sentence()
        if self.channel:
            where = said(gettext_noop("%(channel)s, %(unit)s"), channel=self.channel, unit=where)
        return said(gettext_noop("%(reason)s (%(where)s)"), reason=self.reason, where=where)


def publication_units(publication: Publication) -> list[Unit]:
    """Every text of one channel's variant that goes out."""
    units = [Unit("text", publication.effective_text)]
    if publication.link:
        units.append(Unit("link", publication.link))
    if publication.first_comment:
        units.append(Unit("first_comment", publication.first_comment))
    for index, part in enumerate(publication.thread or []):
        if isinstance(part, dict) and part.get("text"):
            units.append(Unit(f"thread:{index}", str(part["text"])))
    for index, media in enumerate(publication.post.media.all()):
        if media.alt_text:
            units.append(Unit(f"alt:{index}", media.alt_text))
    return units


# --- matching ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def fold(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` without case or accents, and for each folded character its index in
    ``text`` (so a match in the folded text points at the original characters)."""
    out: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        ).casefold()
        for c in plain or char:
            out.append(c)
            where.append(index)
    return "".join(out), tuple(where)


def _folded(text: str) -> str:
    return fold(text)[0]


@functools.lru_cache(maxsize=2048)
def _phrase_pattern(phrase: str) -> Any:
    words = _folded(phrase).split()
    body = r"\s+".join(regex.escape(w) for w in words)
    return regex.compile(rf"(?<!\w){body}(?!\w)")


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    excerpt: str


def find_phrase(phrase: str, text: str, *, limit: int = MAX_PER_RULE) -> list[Match]:
    """Where ``phrase`` occurs in ``text`` as whole words, ignoring case and accents."""
    if not phrase.strip() or not text:
        return []
    folded, where = fold(text)
    found = []
    for hit in _phrase_pattern(phrase).finditer(folded):
        start, end = where[hit.start()], where[hit.end() - 1] + 1
        found.append(Match(start, end, text[start:end]))
        if len(found) >= limit:
            break
    return found


def contains_text(needle: str, text: str) -> bool:
    """``needle`` is in ``text``, ignoring case, accents and how the spaces fall."""
    want = " ".join(_folded(needle).split())
    return bool(want) and want in " ".join(_folded(text).split())


def host_of(value: str) -> str:
    """The site a link or a site name points at (``https://Shop.example/x``: ``shop.example``)."""
    value = value.strip()
    if not value:
        return ""
    if "://" not in value:
        value = "http://" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def site_matches(host: str, site: str) -> bool:
    """``host`` is ``site`` or one of its subdomains (``www.`` of the site included)."""
    site = site.removeprefix("www.")
    return host == site or host.endswith("." + site)


def find_links(text: str) -> list[Match]:
    found = []
    for hit in _LINK.finditer(text):
        raw = hit.group(0).rstrip(_TRAILING)
        found.append(Match(hit.start(), hit.start() + len(raw), raw))
    return found


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a rule (invalid, or too slow on long texts), else None."""
    if not pattern.strip():
        return _("Write the expression.")
    try:
        compiled = regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
    except (regex.error, OverflowError, ValueError) as exc:
        return _("This regular expression is not valid: %(error)s") % {"error": exc}
    for probe in PROBES:
        try:
            compiled.search(probe, timeout=REGEX_TIMEOUT * 4)
        except TimeoutError:
            return _(
                "This regular expression takes too long on long texts (it backtracks): "
                "simplify it, for example without nested repetitions like (a+)+."
            )
    return None


# --- the rules -----------------------------------------------------------------------------


@dataclass
class RuleSet:
    """A workspace's active rules and brand guide, loaded once for a check."""

    rules: list[tuple[ComplianceRule, frozenset[int]]] = field(default_factory=list)
    avoid_words: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, workspace: Workspace | int, *, blocking_only: bool = False) -> RuleSet:
        """The active rules (only those that block, for a check that only refuses: the
        brand guide's words and warnings are for people writing and approving)."""
        workspace_id = workspace if isinstance(workspace, int) else workspace.pk
        found = ComplianceRule.objects.filter(workspace_id=workspace_id, is_active=True)
        if blocking_only:
            found = found.filter(severity=Severity.BLOCK)
        rules = [
            (rule, frozenset(c.pk for c in rule.channels.all()))
            for rule in found.prefetch_related("channels")
        ]
        if blocking_only:
            return cls(rules=rules)
        guide = BrandGuide.objects.filter(workspace_id=workspace_id).first()
        return cls(rules=rules, avoid_words=lines(guide.avoid_words) if guide else [])

    @property
    def empty(self) -> bool:
        return not self.rules and not self.avoid_words

    def check(self, units: Sequence[Unit], *, channel: Channel | None = None) -> list[Finding]:
        """Every finding for the texts of one channel's variant (or of a draft: no channel)."""
        findings: list[Finding] = []
        channel_name = channel.name if channel is not None else ""
        for rule, channel_ids in self.rules:
            if channel_ids and (channel is None or channel.pk not in channel_ids):
                continue
            findings.extend(replace_channel(f, channel_name) for f in _check_rule(rule, units))
        for word in self.avoid_words:
            for unit in units:
                for hit in find_phrase(word, unit.text):
                    findings.append(
                        Finding(
                            severity=Severity.WARN,
                            kind="brand",
                            reason=said(
                                gettext_noop("The brand guide avoids « %(word)s »."), word=word
                            ),
                            unit=unit.key,
                            channel=channel_name,
                            start=hit.start,
                            end=hit.end,
                            excerpt=hit.excerpt,
                        )
                    )
        findings.sort(key=lambda f: (f.severity != Severity.BLOCK, f.unit, f.start))
        return findings


def replace_channel(finding: Finding, channel: str) -> Finding:
    if not channel:
        return finding
    return Finding(**{**finding.__dict__, "channel": channel})


def _found(rule: ComplianceRule, unit: Unit, reason: Sentence, hit: Match | None) -> Finding:
    if rule.message:
        reason = said(gettext_noop("%(finding)s %(reason)s"), finding=reason, reason=rule.message)
    return Finding(
        severity=rule.severity,
        kind=rule.kind,
        reason=reason,
        rule_id=rule.pk,
        rule_name=rule.name,
        unit=unit.key,
        start=hit.start if hit else -1,
        end=hit.end if hit else -1,
        excerpt=hit.excerpt if hit else "",
    )


def _check_rule(rule: ComplianceRule, units: Sequence[Unit]) -> Iterable[Finding]:
    kind = rule.kind
    if kind == RuleKind.BANNED:
        for phrase in lines(rule.values):
            for unit in units:
                for hit in find_phrase(phrase, unit.text):
                    yield _found(
                        rule,
                        unit,
                        said(gettext_noop("« %(word)s » may not be said here."), word=phrase),
                        hit,
                    )
    elif kind == RuleKind.DISCLAIMER:
        disclaimer = rule.values.strip()
        if any(contains_text(disclaimer, unit.text) for unit in units):
            return
        topic = lines(rule.topic)
        if not topic:
            yield _found(
                rule,
                units[0],
                said(gettext_noop("The disclaimer « %(text)s » is missing."), text=disclaimer),
                None,
            )
            return
        for unit in units:
            for word in topic:
                hits = find_phrase(word, unit.text, limit=1)
                if hits:
                    yield _found(
                        rule,
                        unit,
                        said(
                            gettext_noop(
                                "This mentions « %(word)s »: add the disclaimer « %(text)s »."
                            ),
                            word=hits[0].excerpt,
                            text=disclaimer,
                        ),
                        hits[0],
                    )
                    return
    elif kind in (RuleKind.LINK_ALLOW, RuleKind.LINK_DENY):
        sites = [h for h in (host_of(v) for v in lines(rule.values)) if h]
        for unit in units:
            hits = (
                [Match(0, len(unit.text), unit.text)]
                if unit.key == "link"
                else find_links(unit.text)
            )
            for hit in hits[:MAX_PER_RULE]:
                host = host_of(hit.excerpt)
                if not host:
                    continue
                listed = any(site_matches(host, site) for site in sites)
                if kind == RuleKind.LINK_ALLOW and not listed:
                    yield _found(
                        rule,
                        unit,
                        said(
                            gettext_noop("Links may only go to %(sites)s, not to %(host)s."),
                            sites=", ".join(sites),
                            host=host,
                        ),
                        hit,
                    )
                elif kind == RuleKind.LINK_DENY and listed:
                    yield _found(
                        rule,
                        unit,
                        said(gettext_noop("Links to %(host)s are not allowed."), host=host),
                        hit,
                    )
    elif kind == RuleKind.REGEX:
        try:
            compiled = _compiled(rule.values.strip())
        except regex.error:
            yield _found(
                rule,
                units[0],
                said(gettext_noop("The rule « %(name)s » is not valid."), name=rule.name),
                None,
            )
            return
        for unit in units:
            try:
                hits = []
                for hit in compiled.finditer(unit.text, timeout=REGEX_TIMEOUT):
                    if hit.end() > hit.start():
                        hits.append(Match(hit.start(), hit.end(), hit.group(0)))
                    if len(hits) >= MAX_PER_RULE:
                        break
            except TimeoutError:
                yield _found(
                    rule,
                    unit,
                    said(
                        gettext_noop("The rule « %(name)s » took too long to check this text."),
                        name=rule.name,
                    ),
                    None,
                )
                continue
            for match in hits:
                yield _found(
                    rule,
                    unit,
                    said(gettext_noop("Matches the rule « %(name)s »."), name=rule.name),
                    match,
                )


# --- checking posts --------------------------------------------------------------------------


def check_publication(publication: Publication, rules: RuleSet | None = None) -> list[Finding]:
    rules = rules if rules is not None else RuleSet.load(publication.post.workspace_id)
    if rules.empty:
        return []
    return rules.check(publication_units(publication), channel=publication.channel)


def check_post(post: Post, *, states: Iterable[str] | None = None) -> list[Finding]:
    """Every finding for every channel's variant of ``post`` (only publications in
    ``states`` when given)."""
    rules = RuleSet.load(post.workspace_id)
    if rules.empty:
        return []
    findings: list[Finding] = []
    publications = post.publications.select_related("channel", "post").order_by("channel__name")
    if states is not None:
        publications = publications.filter(state__in=list(states))
    for publication in publications:
        findings.extend(rules.check(publication_units(publication), channel=publication.channel))
    return findings


def check_draft(
    workspace: Workspace, text: str, channels: Sequence[Channel] = (), **extra: str
) -> list[Finding]:
    """The composer's live check: one text (and a link, a first comment), for each chosen
    channel (rules limited to some channels apply only there), or for none."""
    rules = RuleSet.load(workspace)
    if rules.empty:
        return []
    units = [Unit("text", text)] + [Unit(key, value) for key, value in extra.items() if value]
    if not channels:
        return rules.check(units)
    seen: set[tuple[Any, ...]] = set()
    findings = []
    for channel in channels:
        for finding in rules.check(units, channel=channel):
            # The same finding on every channel is said once, without a channel name.
            key = (finding.rule_id, finding.kind, finding.unit, finding.start, finding.message)
            if key in seen:
                continue
            seen.add(key)
            findings.append(finding)
    return findings


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.blocks]


def refusal(findings: Sequence[Finding]) -> ActionRefused:
    """A refusal that lists what blocks, for the form's text field."""
    reasons = joined([f.sentence() for f in findings]).render()
    return ActionRefused(
        _("This post breaks the workspace's compliance rules: %(reasons)s") % {"reasons": reasons},
        field="text",
        code="compliance",
    )


@dataclass(frozen=True)
class Segment:
    text: str
    findings: tuple[Finding, ...] = ()

    @property
    def blocks(self) -> bool:
        return any(f.blocks for f in self.findings)


def segments(text: str, findings: Iterable[Finding], unit: str = "text") -> list[Segment]:
    """``text`` cut where findings start and end, each piece with the findings that cover it:
    what the page marks, with the reason beside."""
    located = [f for f in findings if f.unit == unit and f.located and f.end <= len(text)]
    if not located:
        return [Segment(text)] if text else []
    cuts = sorted({0, len(text), *(f.start for f in located), *(f.end for f in located)})
    pieces = []
    for start, end in itertools.pairwise(cuts):
        if start == end:
            continue
        covering = tuple(f for f in located if f.start <= start and end <= f.end)
        pieces.append(Segment(text[start:end], covering))
    return pieces


# --- actions ---------------------------------------------------------------------------------

RULE_FIELDS = ["name", "kind", "severity", "values", "topic", "message", "is_active"]


def _validate_rule(workspace: Workspace, data: dict[str, Any], rule: ComplianceRule | None) -> None:
    name = str(data.get("name", "")).strip()
    if not name:
        raise ActionRefused(_("Give the rule a name."), field="name")
    duplicate = ComplianceRule.objects.filter(workspace=workspace, name__iexact=name)
    if rule is not None:
        duplicate = duplicate.exclude(pk=rule.pk)
    if duplicate.exists():
        raise ActionRefused(_("Another rule already has this name."), field="name")
    kind = data.get("kind")
    if kind not in RuleKind.values:
        raise ActionRefused(_("Choose what kind of rule this is."), field="kind")
    if data.get("severity") not in Severity.values:
        raise ActionRefused(_("Choose whether the rule blocks or warns."), field="severity")
    values = str(data.get("values", ""))
    if kind == RuleKind.REGEX:
        problem = regex_problem(values.strip())
        if problem:
            raise ActionRefused(problem, field="values")
        if "\n" in values.strip():
            raise ActionRefused(_("Write the expression on one line."), field="values")
    elif kind == RuleKind.DISCLAIMER:
        if not values.strip():
            raise ActionRefused(_("Write the disclaimer the posts must carry."), field="values")
    elif kind in (RuleKind.LINK_ALLOW, RuleKind.LINK_DENY):
        sites = lines(values)
        if not sites:
            raise ActionRefused(_("List at least one site, one a line."), field="values")
        for site in sites:
            host = host_of(site)
            if not host or "." not in host or " " in site.strip():
                raise ActionRefused(
                    _("« %(site)s » is not a site name (for example shop.example.com).")
                    % {"site": site},
                    field="values",
                )
    elif not lines(values):
        raise ActionRefused(_("List at least one word or phrase, one a line."), field="values")


def _check_channels(workspace: Workspace, channels: Sequence[Channel]) -> None:
    if any(c.workspace_id != workspace.pk for c in channels):
        raise ActionRefused(_("That channel does not exist here."), field="channels")


@transaction.atomic
def create_rule(
    workspace: Workspace,
    *,
    by: Member | None,
    channels: Sequence[Channel] = (),
    **data: Any,
) -> ComplianceRule:
    if by is not None:
        require(by, "approval.manage")
        _same_workspace(by, workspace)
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValueError(f"unknown rule fields {sorted(unknown)}")
    data.setdefault("severity", Severity.BLOCK)
    _validate_rule(workspace, data, None)
    _check_channels(workspace, channels)
    data["name"] = str(data["name"]).strip()
    rule = ComplianceRule.objects.create(
        workspace=workspace, created_by=by.user if by else None, **data
    )
    rule.channels.set(channels)
    audit.record(
        "compliance.rule_create",
        workspace=workspace,
        actor=by.user if by else None,
        obj=rule,
        after={**audit.snapshot(rule, RULE_FIELDS), "channels": [c.name for c in channels]},
    )
    return rule


@transaction.atomic
def update_rule(
    rule: ComplianceRule,
    *,
    by: Member | None,
    channels: Sequence[Channel] | None = None,
    **data: Any,
) -> ComplianceRule:
    workspace = rule.workspace
    if by is not None:
        require(by, "approval.manage")
        _same_workspace(by, workspace)
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValueError(f"unknown rule fields {sorted(unknown)}")
    rule = ComplianceRule.objects.select_for_update().get(pk=rule.pk)
    merged = {**audit.snapshot(rule, RULE_FIELDS), **data}
    _validate_rule(workspace, merged, rule)
    before = {
        **audit.snapshot(rule, RULE_FIELDS),
        "channels": [c.name for c in rule.channels.all()],
    }
    for key, value in data.items():
        setattr(rule, key, value.strip() if key == "name" else value)
    rule.updated_at = timezone.now()
    rule.save()
    if channels is not None:
        _check_channels(workspace, channels)
        rule.channels.set(channels)
    audit.record(
        "compliance.rule_update",
        workspace=workspace,
        actor=by.user if by else None,
        obj=rule,
        before=before,
        after={
            **audit.snapshot(rule, RULE_FIELDS),
            "channels": [c.name for c in rule.channels.all()],
        },
    )
    return rule


@transaction.atomic
def delete_rule(rule: ComplianceRule, *, by: Member | None) -> None:
    workspace = rule.workspace
    if by is not None:
        require(by, "approval.manage")
        _same_workspace(by, workspace)
    audit.record(
        "compliance.rule_delete",
        workspace=workspace,
        actor=by.user if by else None,
        obj=rule,
        before=audit.snapshot(rule, RULE_FIELDS),
    )
    rule.delete()


GUIDE_FIELDS = ["tone", "use_words", "avoid_words"]


@transaction.atomic
def update_brand_guide(workspace: Workspace, *, by: Member | None, **data: str) -> BrandGuide:
    if by is not None:
        require(by, "approval.manage")
        _same_workspace(by, workspace)
    unknown = set(data) - set(GUIDE_FIELDS)
    if unknown:
        raise ValueError(f"unknown brand guide fields {sorted(unknown)}")
    guide: BrandGuide
    guide, _created = BrandGuide.objects.select_for_update().get_or_create(workspace=workspace)
    before = audit.snapshot(guide, GUIDE_FIELDS)
    for key, value in data.items():
        setattr(guide, key, value.strip())
    guide.updated_by = by.user if by else None
    guide.updated_at = timezone.now()
    guide.save()
    audit.record(
        "brand_guide.update",
        workspace=workspace,
        actor=by.user if by else None,
        obj=guide,
        before=before,
        after=audit.snapshot(guide, GUIDE_FIELDS),
    )
    return guide


def brand_guide(workspace: Workspace) -> BrandGuide | None:
    guide = BrandGuide.objects.filter(workspace=workspace).first()
    return None if guide is None or guide.is_empty else guide
