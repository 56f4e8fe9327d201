"""The plan in and out: CSV import (a dry run, a line-by-line report, nothing saved when a
line is wrong), CSV export, and the iCal feed behind a secret, revocable link.

Import columns (a header line, UTF-8, comma or semicolon):

``when``
    ``2027-03-28 09:30`` (read in the workspace's time zone) or with an offset (``+01:00``);
``channels``
    channel names separated by ``|``;
``text``, and optionally ``title``, ``campaign`` (a campaign's name), ``link``,
``first_comment``.

Every line goes through the composer's own actions (``save_post``, then ``submit_post`` when
asked): the same checks as on the page. A dry run runs them all and rolls everything back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portevoix.channels.models import Channel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require
from portevoix.publishing import actions, scheduling
from portevoix.publishing.models import CalendarFeed, Campaign, Publication

COLUMNS = ("when", "channels", "title", "text", "campaign", "link", "first_comment")
REQUIRED = ("when", "channels", "text")
MAX_LINES = 2000


@dataclass
class ImportReport:
    lines: int = 0
    created: int = 0
    dry_run: bool = True
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _rows(text: str) -> tuple[list[str], Iterator[list[str]]]:
    sample = text[:2000]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    return header, reader


def import_plan(
    workspace: Workspace, *, by: Member, data: bytes, dry_run: bool = True, submit: bool = False
) -> ImportReport:
    """Check every line; save them all (as drafts, or submitted) only if none is wrong."""
    require(by, "post.create")
    _same_workspace(by, workspace)
    report = ImportReport(dry_run=dry_run)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append((1, _("The file is not UTF-8 text.")))
        return report
    header, reader = _rows(text)
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c and c not in COLUMNS]
    if missing or unknown:
        report.errors.append(
            (
                1,
                _("The first line must name the columns %(columns)s.")
                % {"columns": ", ".join(COLUMNS)},
            )
        )
        return report
    channels = {c.name.lower(): c for c in Channel.objects.filter(workspace=workspace)}
    campaigns = {c.name.lower(): c for c in Campaign.objects.filter(workspace=workspace)}
    zone = ZoneInfo(workspace.time_zone)
    with transaction.atomic():
        for line, raw in enumerate(reader, start=2):
            if not any(cell.strip() for cell in raw):
                continue
            report.lines += 1
            if report.lines > MAX_LINES:
                report.errors.append(
                    (line, _("At most %(max)s lines per import.") % {"max": MAX_LINES})
                )
                break
            row = dict(zip(header, (cell.strip() for cell in raw), strict=False))
            try:
                composition = _composition(row, channels, campaigns, zone)
                with transaction.atomic():
                    post = actions.save_post(workspace, by=by, composition=composition)
                    if submit:
                        actions.submit_post(post, by=by)
                    else:
                        # Drafts too: a plan that could not go out as written is refused.
                        rows = list(post.publications.select_related("channel", "post"))
                        problems = actions.ready_problems(rows, now=timezone.now())
                        if problems:
                            raise ActionRefused(" ".join(problems))
            except ActionRefused as exc:
                report.errors.append((line, exc.message))
                continue
            report.created += 1
        if report.errors or dry_run:
            transaction.set_rollback(True)
        else:
            audit.record(
                "plan.import",
                workspace=workspace,
                actor=by.user,
                after={"posts": report.created, "submitted": submit},
            )
    return report


def _composition(
    row: dict[str, str],
    channels: dict[str, Channel],
    campaigns: dict[str, Campaign],
    zone: ZoneInfo,
) -> actions.Composition:
    names = [n.strip() for n in row.get("channels", "").split("|") if n.strip()]
    if not names:
        raise ActionRefused(_("Name at least one channel."), field="channels")
    chosen = []
    for name in names:
        channel = channels.get(name.lower())
        if channel is None:
            raise ActionRefused(
                _("No channel is called “%(name)s”.") % {"name": name}, field="channels"
            )
        chosen.append(channel)
    campaign = None
    if row.get("campaign"):
        campaign = campaigns.get(row["campaign"].lower())
        if campaign is None:
            raise ActionRefused(
                _("No campaign is called “%(name)s”.") % {"name": row["campaign"]},
                field="campaign",
            )
    try:
        at = scheduling.parse_when(row.get("when", "").replace(" ", "T", 1), zone)
    except scheduling.ScheduleTimeError as exc:
        raise ActionRefused(exc.message, field="at") from None
    link = row.get("link", "")
    if link and not link.startswith(("http://", "https://")):
        raise ActionRefused(_("Enter a full web address (https://...)."), field="link")
    return actions.Composition(
        text=row.get("text", ""),
        title=row.get("title", ""),
        campaign=campaign,
        variants=tuple(
            actions.Variant(channel=c, link=link, first_comment=row.get("first_comment", ""))
            for c in chosen
        ),
        when=actions.When.AT,
        at=at,
        time_zone=zone.key,
    )


def _safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_rows(publications: Iterable[Publication], zone: ZoneInfo) -> Iterator[list[str]]:
    yield ["when", "channel", "state", "title", "text", "campaign", "link", "url"]
    for p in publications:
        yield [
            _safe(p.scheduled_at.astimezone(zone).isoformat(timespec="minutes")),
            _safe(p.channel.name),
            p.state,
            _safe(p.post.title),
            _safe(p.effective_text),
            _safe(p.post.campaign.name if p.post.campaign else ""),
            _safe(p.link),
            _safe(p.url),
        ]


# --- the iCal feed ------------------------------------------------------------------------


@transaction.atomic
def issue_feed(workspace: Workspace, *, by: Member, label: str = "") -> tuple[CalendarFeed, str]:
    """A new secret link; the token is returned once and only its hash is kept."""
    require(by, "plan.manage")
    _same_workspace(by, workspace)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        workspace=workspace,
        token_hash=CalendarFeed.hash(token),
        label=label[:80],
        created_by=by.user,
    )
    audit.record("feed.issue", workspace=workspace, actor=by.user, obj=feed)
    return feed, token


@transaction.atomic
def revoke_feed(feed: CalendarFeed, *, by: Member) -> CalendarFeed:
    require(by, "plan.manage")
    _same_workspace(by, feed.workspace)
    feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    if feed.revoked_at is None:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
        audit.record("feed.revoke", workspace=feed.workspace, actor=by.user, obj=feed)
    return feed


def open_feed(token: str) -> CalendarFeed | None:
    """The live feed for ``token`` (its use counted), or None."""
    if not token or len(token) > 100:
        return None
    feed: CalendarFeed | None = (
        CalendarFeed.objects.select_related("workspace")
        .filter(token_hash=CalendarFeed.hash(token), revoked_at__isnull=True)
        .first()
    )
    if feed is None:
        return None
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=timezone.now(), uses=feed.uses + 1)
    return feed


def _ical_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines of at most 75 octets, as RFC 5545 asks."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def ical(feed: CalendarFeed, *, days_back: int = 30, days_ahead: int = 365) -> str:
    """The plan from a month ago to a year ahead: one event per publication (title or first
    words, channel, state, campaign, its link once published). No author, no personal data."""
    now = timezone.now()
    rows = (
        Publication.objects.filter(
            post__workspace=feed.workspace,
            post__kind="post",
            scheduled_at__gte=now - dt.timedelta(days=days_back),
            scheduled_at__lte=now + dt.timedelta(days=days_ahead),
        )
        .exclude(state="cancelled")
        .select_related("post", "post__campaign", "channel")
        .order_by("scheduled_at")
    )
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Porte-voix//content plan//FR",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_ical_text(feed.workspace.name)}",
    ]
    for p in rows:
        start = p.scheduled_at.astimezone(dt.UTC)
        title = p.post.title or p.effective_text[:60]
        description = [p.state]
        if p.post.campaign:
            description.append(p.post.campaign.name)
        lines += [
            "BEGIN:VEVENT",
            f"UID:publication-{p.pk}@porte-voix",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}",
            f"DTEND:{(start + dt.timedelta(minutes=15)).strftime('%Y%m%dT%H%M%SZ')}",
            f"SUMMARY:{_ical_text(f'{p.channel.name}: {title}')}",
            f"DESCRIPTION:{_ical_text(' · '.join(description))}",
        ]
        if p.url:
            lines.append(f"URL:{p.url}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
