"""Manual channels: posts that a person publishes by hand (docs/manual-channels.md).

A channel of the ``manual`` network (Snapchat, a LinkedIn group, a forum, a newsletter) is
planned, approved and scheduled like any other. At its time the worker does not send it
(``states.by_hand``): the publication moves to ``waiting_manual`` and :func:`remind` tells the
channel's owner, with the text and media to copy and a link to the page where they say what
happened:

* :func:`mark_published_by_hand`: it is out, here is its link (a ``PublishedRef`` like any
  network's answer, stored the same way: the post counts as published everywhere);
* :func:`mark_not_published`: it did not go out, and why (``not_published``, terminal);
* :func:`record_results` and :func:`import_results`: its reach, impressions, likes, comments,
  shares and clicks, entered in a form or imported from a CSV file, stored as
  ``PublicationMetrics`` (where every publication's results are kept).

Who may: the channel's owner (an active member of the workspace who can see posts), and the
roles with ``post.publish_by_hand`` (admins and Social Media Managers). Every change has its
audit entry in the same transaction; notifications go after the commit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from portevoix.channels.models import Channel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member
from portevoix.core.permissions import can, members_with
from portevoix.core.sentences import Sentence
from portevoix.networks.types import PublishedRef
from portevoix.notifications.actions import notify
from portevoix.publishing import notices
from portevoix.publishing.actions import _check_link
from portevoix.publishing.labels import state_label
from portevoix.publishing.models import (
    MetricSource,
    Publication,
    PublicationMetrics,
    PublicationStates,
)

S = PublicationStates
METRIC_FIELDS = PublicationMetrics.FIELDS
METRIC_LABELS = {
    "reach": gettext_lazy("Reach"),
    "impressions": gettext_lazy("Impressions"),
    "likes": gettext_lazy("Likes"),
    "comments": gettext_lazy("Comments"),
    "shares": gettext_lazy("Shares"),
    "clicks": gettext_lazy("Clicks"),
}
#: A manual post not marked this long after its time is late: the attention page lists it.
LATE_AFTER = dt.timedelta(hours=1)
#: Results larger than this are a typing mistake, not an audience.
MAX_VALUE = 10**12
MAX_IMPORT_LINES = 5000


# --- who may -----------------------------------------------------------------------------


def may_publish_by_hand(member: Member | None, channel: Channel) -> bool:
    """The channel's owner, or a role with ``post.publish_by_hand``, in its workspace."""
    if member is None or not member.is_active or member.workspace_id != channel.workspace_id:
        return False
    if not channel.is_manual:
        return False
    if can(member, "post.publish_by_hand"):
        return True
    return (
        channel.owner_id is not None
        and channel.owner_id == member.user_id
        and can(member, "post.view")
    )


def _require(member: Member | None, channel: Channel) -> None:
    if member is not None:
        _same_workspace(member, channel.workspace)
    if not may_publish_by_hand(member, channel):
        raise PermissionDenied(
            _(
                "Only the channel’s owner and the Social Media Managers may say whether a post "
                "of a manual channel was published."
            )
        )


def owners_to_remind(channel: Channel) -> list[Member]:
    """The owner (if still an active member), else whoever may publish by hand."""
    if channel.owner_id is not None:
        owner = (
            Member.objects.filter(
                workspace_id=channel.workspace_id, user_id=channel.owner_id, is_active=True
            )
            .select_related("user")
            .first()
        )
        if owner is not None and can(owner, "post.view"):
            return [owner]
    return list(
        Member.objects.filter(
            members_with("post.publish_by_hand"),
            workspace_id=channel.workspace_id,
            is_active=True,
        ).select_related("user")
    )


# --- what the pages list -----------------------------------------------------------------


def waiting(member: Member) -> QuerySet[Publication]:
    """Manual posts due and not yet marked, that this member can see."""
    return (
        Publication.objects.visible_to(member)
        .filter(state=S.waiting_manual.name)
        .select_related("post__author", "channel__owner")
        .order_by("scheduled_at", "pk")
    )


def late(member: Member, *, now: dt.datetime | None = None) -> QuerySet[Publication]:
    """Manual posts still not marked an hour after their time (the attention page)."""
    now = now or timezone.now()
    return waiting(member).filter(scheduled_at__lt=now - LATE_AFTER)


def is_late(publication: Publication, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        publication.state == S.waiting_manual.name and publication.scheduled_at < now - LATE_AFTER
    )


def page_url(publication: Publication) -> str:
    return reverse(
        "publication_by_hand",
        kwargs={"ws": publication.post.workspace.slug, "pk": publication.pk},
    )


# --- the reminder ------------------------------------------------------------------------


def remind(publication_id: int) -> list[object]:
    """Tell the owner that a manual post is due: its text, its media, the page to say what
    happened. Once per publication and arrival in ``waiting_manual``."""
    with transaction.atomic():
        publication = (
            Publication.objects.select_related("post__workspace", "channel")
            .prefetch_related("post__media")
            .filter(pk=publication_id)
            .first()
        )
        if publication is None or publication.state != S.waiting_manual.name:
            return []
        post, channel = publication.post, publication.channel
        media = [m.file.name.rsplit("/", 1)[-1] for m in publication.media_rows()]
        return list(
            notify(
                post.workspace,
                notices.MANUAL_DUE,
                owners_to_remind(channel),
                obj=publication,
                params={
                    "state": S.waiting_manual.name,
                    "channel": channel.name,
                    "network": channel.network_label,
                    "excerpt": Truncator(publication.effective_text).chars(140),
                    "text": publication.outgoing().text,
                    "media": ", ".join(media),
                    "scheduled_at": publication.scheduled_at,
                },
                url=page_url(publication),
                key=f"publication:{publication.pk}:waiting_manual:"
                f"{publication.state_changed_at.isoformat()}",
            )
        )


# --- what the owner says -----------------------------------------------------------------


def _locked(publication: Publication, by: Member | None, allowed: frozenset[str]) -> Publication:
    row: Publication = (
        Publication.objects.select_for_update(of=("self",))
        .select_related("post__workspace", "channel")
        .get(pk=publication.pk)
    )
    if by is not None:
        _require(by, row.channel)
    if not row.channel.is_manual:
        raise ActionRefused(_("This post is not on a manual channel."), code="not_manual")
    if row.state not in allowed:
        raise ActionRefused(
            _("This publication is no longer waiting for this (it is now: %(state)s).")
            % {"state": state_label(row.state)},
            code="state",
        )
    return row


@transaction.atomic
def mark_published_by_hand(
    publication: Publication,
    *,
    by: Member | None,
    url: str,
    published_at: dt.datetime | None = None,
) -> Publication:
    """The owner published it by hand: its link makes it published, like a network's answer."""
    publication = _locked(publication, by, frozenset({S.waiting_manual.name}))
    link = _check_link(url)
    if not link:
        raise ActionRefused(
            _("Give the address of the post, so that everyone can find it."), field="url"
        )
    now = timezone.now()
    when = published_at or now
    if when > now + dt.timedelta(minutes=5):
        raise ActionRefused(_("A post cannot have been published in the future."), field="url")
    ref = PublishedRef(network="manual", post_id=link, url=link, published_at=when)
    before = {"state": publication.state}
    publication.transition(
        S.published,
        fields={
            "network_post_id": ref.post_id,
            "network_post_ids": list(ref.all_post_ids),
            "url": ref.url,
            "published_at": ref.published_at,
            "problem": "",
        },
    )
    audit.record(
        "publication.published_by_hand",
        workspace=publication.post.workspace,
        actor=by.user if by else None,
        obj=publication,
        before=before,
        after={"state": publication.state, "url": link, "published_at": when},
    )
    return publication


@transaction.atomic
def mark_not_published(publication: Publication, *, by: Member | None, reason: str) -> Publication:
    """It did not go out, and why; the post stays in the plan as "not published"."""
    publication = _locked(publication, by, frozenset({S.waiting_manual.name}))
    reason = " ".join(reason.split())
    if not reason:
        raise ActionRefused(_("Say why it was not published."), field="reason")
    if len(reason) > 500:
        raise ActionRefused(_("Keep the reason under 500 characters."), field="reason")
    before = {"state": publication.state}
    problem = Sentence(gettext_noop("Not published by hand: %(reason)s"), {"reason": reason})
    publication.transition(S.not_published, fields={"problem": problem.dumps()})
    audit.record(
        "publication.not_published",
        workspace=publication.post.workspace,
        actor=by.user if by else None,
        obj=publication,
        before=before,
        after={"state": publication.state, "reason": reason},
    )
    return publication


# --- results -----------------------------------------------------------------------------


def clean_values(raw: Mapping[str, object]) -> dict[str, int | None]:
    """Whole numbers, zero or more, for the known fields; blank is "not measured".

    Raises ``ActionRefused`` naming the first bad field."""
    values: dict[str, int | None] = {}
    for name in METRIC_FIELDS:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            values[name] = None
            continue
        text = str(value).strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
        try:
            number = int(text)
        except ValueError:
            raise ActionRefused(
                _("%(field)s: a whole number, please (“%(value)s”).")
                % {"field": METRIC_LABELS[name], "value": str(value)[:30]},
                field=name,
            ) from None
        if number < 0 or number > MAX_VALUE:
            raise ActionRefused(
                _("%(field)s: between 0 and %(max)s.")
                % {"field": METRIC_LABELS[name], "max": MAX_VALUE},
                field=name,
            )
        values[name] = number
    if all(v is None for v in values.values()):
        raise ActionRefused(_("Enter at least one result."), field=METRIC_FIELDS[0])
    return values


def _check_measured(publication: Publication, taken_at: dt.datetime) -> None:
    if taken_at > timezone.now() + dt.timedelta(minutes=5):
        raise ActionRefused(_("Results cannot be measured in the future."), field="taken_at")
    if publication.published_at and taken_at < publication.published_at - dt.timedelta(days=1):
        raise ActionRefused(
            _("These results are dated before the post was published."), field="taken_at"
        )


def _store(
    publication: Publication,
    values: Mapping[str, int | None],
    *,
    by: Member | None,
    taken_at: dt.datetime,
    source: str,
) -> PublicationMetrics:
    row = PublicationMetrics.objects.create(
        publication=publication,
        taken_at=taken_at,
        source=source,
        entered_by=by.user if by else None,
        **values,
    )
    audit.record(
        "publication.results",
        workspace=publication.post.workspace,
        actor=by.user if by else None,
        obj=publication,
        after={"source": source, "taken_at": taken_at, **values},
    )
    return row


@transaction.atomic
def record_results(
    publication: Publication,
    *,
    by: Member | None,
    values: Mapping[str, object],
    taken_at: dt.datetime | None = None,
) -> PublicationMetrics:
    """Results of a manual post, entered in a form (a new snapshot; earlier ones stay)."""
    publication = _locked(publication, by, frozenset({S.published.name}))
    cleaned = clean_values(values)
    when = taken_at or timezone.now()
    _check_measured(publication, when)
    return _store(publication, cleaned, by=by, taken_at=when, source=MetricSource.FORM)


def latest_results(publications: list[Publication]) -> dict[int, PublicationMetrics]:
    """The newest snapshot of each publication (one query)."""
    latest: dict[int, PublicationMetrics] = {}
    rows = PublicationMetrics.objects.filter(publication__in=publications).order_by(
        "publication_id", "-taken_at", "-id"
    )
    for row in rows:
        latest.setdefault(row.publication_id, row)
    return latest


@dataclass
class ResultsImport:
    """What an import did, line by line: nothing is saved when a line is wrong."""

    lines: int = 0
    saved: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


IMPORT_COLUMNS = ("link", "measured_on", *METRIC_FIELDS)


def _when(text: str, channel: Channel) -> dt.datetime | None:
    text = text.strip()
    if not text:
        return None
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(text)
        moment = dt.datetime.combine(day, dt.time(12, 0))
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=channel.audience_zone)
    return moment


def import_results(channel: Channel, *, by: Member | None, data: bytes) -> ResultsImport:
    """Results of a manual channel's posts from a CSV file (a header line; comma or semicolon):
    ``link`` (the post's address, as marked published), optionally ``measured_on``
    (``2027-03-28`` or ``2027-03-28 18:00``, in the channel's audience zone; blank: now), and
    any of ``reach``, ``impressions``, ``likes``, ``comments``, ``shares``, ``clicks``.

    Every line is checked; if one is wrong, nothing is saved and each error names its line."""
    if by is not None:
        _require(by, channel)
    report = ResultsImport()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append((1, _("The file is not UTF-8 text.")))
        return report
    sample = text[:2000]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    if "link" not in header:
        report.errors.append((1, _("The first line must name the columns, with “link”.")))
        return report
    unknown = [h for h in header if h and h not in IMPORT_COLUMNS]
    if unknown:
        report.errors.append(
            (
                1,
                _("Unknown columns: %(columns)s. Known: %(known)s.")
                % {"columns": ", ".join(unknown), "known": ", ".join(IMPORT_COLUMNS)},
            )
        )
        return report
    if not any(name in header for name in METRIC_FIELDS):
        report.errors.append((1, _("No result column (reach, impressions, likes...).")))
        return report
    published = {
        p.url: p
        for p in Publication.objects.filter(channel=channel, state=S.published.name)
        .exclude(url="")
        .select_related("post__workspace", "channel")
    }
    ready: list[tuple[Publication, dict[str, int | None], dt.datetime]] = []
    try:
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            report.lines += 1
            if report.lines > MAX_IMPORT_LINES:
                report.errors.append(
                    (number, _("Too many lines (%(max)s at most).") % {"max": MAX_IMPORT_LINES})
                )
                break
            if len(row) > len(header):
                report.errors.append((number, _("More cells than columns.")))
                continue
            cells = dict(zip(header, (c.strip() for c in row), strict=False))
            link = cells.get("link", "")
            publication = published.get(link)
            if publication is None:
                report.errors.append(
                    (
                        number,
                        _("No post of %(channel)s was marked published with the link “%(link)s”.")
                        % {"channel": channel.name, "link": link[:200]},
                    )
                )
                continue
            try:
                values = clean_values(cells)
                when = _when(cells.get("measured_on", ""), channel) or timezone.now()
                _check_measured(publication, when)
            except ValueError:
                report.errors.append(
                    (
                        number,
                        _("measured_on: a date like 2027-03-28 or 2027-03-28 18:00 (“%(value)s”).")
                        % {"value": cells.get("measured_on", "")[:30]},
                    )
                )
                continue
            except ActionRefused as exc:
                report.errors.append((number, exc.message))
                continue
            ready.append((publication, values, when))
    except csv.Error as exc:
        report.errors.append(
            (reader.line_num or 1, _("Unreadable CSV: %(error)s") % {"error": exc})
        )
    if report.errors:
        return report
    if not ready:
        report.errors.append((1, _("The file has no line of results.")))
        return report
    with transaction.atomic():
        for publication, values, when in ready:
            _store(publication, values, by=by, taken_at=when, source=MetricSource.CSV)
            report.saved += 1
    return report
