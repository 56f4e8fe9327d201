"""The plan in and out: CSV import (a dry run, a line-by-line report, nothing saved when a
line is wrong), CSV export, and the iCal feed behind a secret, revocable link (an access token
of ``portevoix.core.access``).

Import columns (a header line, UTF-8, comma or semicolon):

``when``
    ``2027-03-28 09:30`` (read in the workspace's time zone) or with an offset (``+01:00``);
``channels``
    channel names separated by ``|``;
``text``, and optionally ``title``, ``campaign`` (a campaign's name), ``link``,
``first_comment``, ``media`` (names of media library items separated by ``|``);
``tiktok_privacy_level``, ``tiktok_allow``, ``tiktok_disclose``, ``tiktok_consent``
    TikTok's required choices for the line's TikTok channels (``publishing.choices``): a
    privacy level as TikTok names it, the interactions allowed (``comment|duet|stitch``), the
    commercial disclosure (``your_brand|branded_content``) and ``yes`` to TikTok's Music
    Usage Confirmation. A line for a TikTok channel without them is refused with the reason.

Every line goes through the composer's own actions (``save_post``, then ``submit_post`` when
asked): the same checks as on the page. A dry run runs them all and rolls everything back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portevoix.channels.models import Channel
from portevoix.core import access, audit
from portevoix.core import actions as core_actions
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import AccessToken, Member, Workspace
from portevoix.core.permissions import can, require
from portevoix.media.models import Asset
from portevoix.publishing import actions, choices, scheduling
from portevoix.publishing.models import Campaign, Publication

#: TikTok's required choices (``publishing.choices.from_words``).
TIKTOK_COLUMNS = ("tiktok_privacy_level", "tiktok_allow", "tiktok_disclose", "tiktok_consent")
COLUMNS = (
    "when",
    "channels",
    "title",
    "text",
    "campaign",
    "link",
    "first_comment",
    "media",
    *TIKTOK_COLUMNS,
)
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
    library: dict[str, Asset] = {}
    for asset in Asset.objects.filter(workspace=workspace, archived_at__isnull=True).order_by(
        "-created_at", "-pk"
    ):
        library.setdefault(asset.name.lower(), asset)
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
                composition = _composition(row, channels, campaigns, zone, library)
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
    library: dict[str, Asset] | None = None,
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
    media = []
    for name in (n.strip() for n in row.get("media", "").split("|")):
        if not name:
            continue
        asset = (library or {}).get(name.lower())
        if asset is None:
            raise ActionRefused(
                _("No media library item is called “%(name)s”.") % {"name": name}, field="media"
            )
        media.append(actions.MediaChoice(asset))
    options = _tiktok_choices(row, chosen)
    return actions.Composition(
        text=row.get("text", ""),
        title=row.get("title", ""),
        campaign=campaign,
        media=tuple(media),
        variants=tuple(
            actions.Variant(
                channel=c,
                link=link,
                first_comment=row.get("first_comment", ""),
                options=options if choices.takes_choices(c) else {},
            )
            for c in chosen
        ),
        when=actions.When.AT,
        at=at,
        time_zone=zone.key,
    )


def _tiktok_choices(row: dict[str, str], chosen: list[Channel]) -> dict[str, str]:
    """TikTok's required choices from the line's ``tiktok_*`` columns; a line for a TikTok
    channel without them is refused with TikTok's reasons, and the columns where to give
    them."""
    given = any(row.get(c, "").strip() for c in TIKTOK_COLUMNS)
    takers = [c for c in chosen if choices.takes_choices(c)]
    if given and not takers:
        raise ActionRefused(
            _("The tiktok_ columns are filled but the line names no TikTok channel."),
            field="channels",
        )
    if not takers:
        return {}
    if not given:
        reasons = " ".join(choices.problems(takers[0], {}))
        raise ActionRefused(
            _(
                "%(channel)s is a TikTok channel: give TikTok's choices in the columns "
                "tiktok_privacy_level, tiktok_allow, tiktok_disclose and tiktok_consent. "
                "%(reasons)s"
            )
            % {"channel": takers[0].name, "reasons": reasons},
            field="tiktok_privacy_level",
        )
    return choices.from_words(
        privacy_level=row.get("tiktok_privacy_level", ""),
        allow=row.get("tiktok_allow", ""),
        disclose=row.get("tiktok_disclose", ""),
        consent=row.get("tiktok_consent", ""),
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


#: The access-token purpose of the feed (``docs/ways-in.md``): one member's plan, read-only.
FEED_PURPOSE = "calendar_feed"
FEED_LIFETIME = dt.timedelta(days=365)


def feed_refusal(member: Member) -> str | None:
    """Why ``member``'s feed no longer opens (checked at issue time and at every fetch)."""
    if not member.is_active or not member.user.is_active:
        return "member deactivated"
    if not can(member, "post.view"):
        return "no longer sees the plan"
    return None


def register_feed_purpose() -> None:
    """Called from the app's ``ready()``: the feed is a way in built on core's access tokens."""
    access.register(
        access.Purpose(
            code=FEED_PURPOSE,
            target="core.member",
            issue_action="post.view",
            max_lifetime=FEED_LIFETIME,
            default_lifetime=FEED_LIFETIME,
            max_uses=None,
            check=feed_refusal,
        )
    )


@transaction.atomic
def issue_feed(*, by: Member) -> tuple[AccessToken, str]:
    """A new secret link to ``by``'s own plan for a year; the token is returned once and only
    the hash of its secret is kept (core's access tokens: signed, expiring, revocable,
    every fetch audited)."""
    return core_actions.issue_access_token(FEED_PURPOSE, by, by=by)


@transaction.atomic
def revoke_feed(token: AccessToken, *, by: Member) -> AccessToken:
    if token.purpose != FEED_PURPOSE:
        raise ActionRefused(_("This link is not a calendar feed."))
    return core_actions.revoke_access_token(token, by=by)


def feeds_of(member: Member) -> list[AccessToken]:
    """The feed links ``member`` made in this workspace, newest first."""
    return list(
        AccessToken.objects.filter(
            workspace_id=member.workspace_id,
            purpose=FEED_PURPOSE,
            object_type="core.member",
            object_id=str(member.pk),
        ).order_by("-created_at")
    )


def open_feed(token: str) -> Member | None:
    """The member whose plan ``token`` opens (the use counted and audited), or None."""
    if not token or len(token) > 200:
        return None
    try:
        _row, member = core_actions.use_access_token(token, purpose=FEED_PURPOSE)
    except ActionRefused:
        return None
    assert isinstance(member, Member)
    return member


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


def ical(member: Member, *, days_back: int = 30, days_ahead: int = 365) -> str:
    """The plan ``member`` may see, from a month ago to a year ahead: one event per
    publication (title or first words, channel, state, campaign, its link once published).
    No author, no personal data."""
    now = timezone.now()
    rows = (
        Publication.objects.visible_to(member)
        .filter(
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
        f"X-WR-CALNAME:{_ical_text(member.workspace.name)}",
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
