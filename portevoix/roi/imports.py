"""CSV files in and out of the money app: leads and deals, paid promotion (and templates).

Every import checks every line and reports each wrong one with its line number; **nothing is
saved when a line is wrong** (the file is fixed and imported again: a half-imported CRM export
would count some leads and not others). Each line goes through the same action as a form
(``record_lead``), so a file and a page refuse the same things. An import applied twice
changes nothing the second time: leads are keyed by their id in the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import slugify
from django.utils.translation import gettext as _

from portevoix.channels.models import Channel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require

from . import actions
from .models import LeadSource, LeadStatus, SpendSource

MAX_LINES = 5000

LEAD_COLUMNS = (
    "external_id",
    "date",
    "name",
    "status",
    "value",
    "currency",
    "channel",
    "campaign",
    "post",
    "closed_on",
    "note",
)
LEAD_REQUIRED = ("external_id", "date")


@dataclass
class ImportReport:
    """What an import did, line by line."""

    lines: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def saved(self) -> bool:
        return self.ok and not self.dry_run and self.lines > 0


def read_csv(
    data: bytes, columns: tuple[str, ...], required: tuple[str, ...], report: ImportReport
) -> Iterator[tuple[int, dict[str, str]]]:
    """The file's lines as ``(line number, {column: cell})``; errors go to ``report``.

    A header line names the columns (any order; comma or semicolon); blank lines are skipped.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append((1, _("The file is not UTF-8 text.")))
        return
    sample = text[:2000]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        report.errors.append((1, _("Unreadable CSV: %(error)s") % {"error": exc}))
        return
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c and c not in columns]
    if missing or unknown:
        report.errors.append(
            (
                1,
                _(
                    "The first line names the columns: %(required)s are needed, and the others "
                    "may be %(optional)s."
                )
                % {
                    "required": ", ".join(required),
                    "optional": ", ".join(c for c in columns if c not in required),
                },
            )
        )
        return
    try:
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            report.lines += 1
            if report.lines > MAX_LINES:
                report.errors.append(
                    (number, _("At most %(max)s lines per import.") % {"max": MAX_LINES})
                )
                return
            if len(row) > len(header):
                report.errors.append((number, _("More cells than columns.")))
                continue
            yield number, dict(zip(header, (c.strip() for c in row), strict=False))
    except csv.Error as exc:
        report.errors.append(
            (reader.line_num or 1, _("Unreadable CSV: %(error)s") % {"error": exc})
        )


def parse_moment(text: str, zone: ZoneInfo, *, field: str) -> dt.datetime | None:
    """``2026-11-03`` (noon) or ``2026-11-03 14:30`` in ``zone``, or with an offset."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = parse_datetime(text.replace(" ", "T", 1))
        if moment is None:
            day = parse_date(text)
            if day is None:
                raise ValueError(text)
            moment = dt.datetime.combine(day, dt.time(12, 0))
    except ValueError:
        raise ActionRefused(
            _("%(column)s: a date like 2026-11-03 or 2026-11-03 14:30 (“%(value)s”).")
            % {"column": field, "value": text[:30]},
            field=field,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


class Finder:
    """Channels and campaigns of a workspace by name, or by the tag UTM gives them."""

    def __init__(self, workspace: Workspace) -> None:
        from portevoix.publishing.models import Campaign, Post

        self.workspace = workspace
        self.channels: dict[str, Channel] = {}
        for channel in Channel.objects.filter(workspace=workspace):
            self.channels.setdefault(channel.name.lower(), channel)
            self.channels.setdefault(slugify(channel.name), channel)
            self.channels.setdefault(str(channel.pk), channel)
        self.campaigns: dict[str, Any] = {}
        for campaign in Campaign.objects.filter(workspace=workspace):
            self.campaigns.setdefault(campaign.name.lower(), campaign)
            self.campaigns.setdefault(slugify(campaign.name), campaign)
        self._posts = Post.objects.filter(workspace=workspace)

    def channel(self, name: str) -> Channel | None:
        if not name:
            return None
        found = self.channels.get(name.lower())
        if found is None:
            raise ActionRefused(
                _("No channel is called “%(name)s”.") % {"name": name[:80]}, field="channel"
            )
        return found

    def campaign(self, name: str) -> Any:
        if not name:
            return None
        found = self.campaigns.get(name.lower())
        if found is None:
            raise ActionRefused(
                _("No campaign is called “%(name)s”.") % {"name": name[:80]}, field="campaign"
            )
        return found

    def post(self, ref: str) -> Any:
        if not ref:
            return None
        post = self._posts.filter(pk=int(ref)).first() if ref.isdigit() else None
        if post is None:
            raise ActionRefused(
                _("No post has the number “%(ref)s”.") % {"ref": ref[:20]}, field="post"
            )
        return post


def _import(
    workspace: Workspace,
    *,
    by: Member,
    data: bytes,
    dry_run: bool,
    columns: tuple[str, ...],
    required: tuple[str, ...],
    apply: Callable[[int, dict[str, str], Finder, ZoneInfo], str],
    audit_code: str,
) -> ImportReport:
    """Read, apply each line in its own savepoint, keep everything only if no line failed."""
    report = ImportReport(dry_run=dry_run)
    finder = Finder(workspace)
    zone = ZoneInfo(workspace.time_zone)
    with transaction.atomic():
        for number, cells in read_csv(data, columns, required, report):
            try:
                with transaction.atomic():
                    outcome = apply(number, cells, finder, zone)
            except ActionRefused as exc:
                report.errors.append((number, exc.message))
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
        if report.ok and not report.lines:
            report.errors.append((1, _("The file has no line to import.")))
        if not report.ok or dry_run:
            # A dry run tells what the file would do; a wrong line keeps the file out.
            transaction.set_rollback(True)
            return report
        audit.record(
            audit_code,
            workspace=workspace,
            actor=by.user,
            after={"lines": report.lines, "created": report.created, "updated": report.updated},
        )
    return report


def import_leads(
    workspace: Workspace, *, by: Member, data: bytes, dry_run: bool = False
) -> ImportReport:
    """Leads and deals from a CSV file (see ``LEAD_COLUMNS`` and the template)."""
    require(by, "lead.record")
    _same_workspace(by, workspace)
    seen: dict[str, int] = {}

    def apply(number: int, cells: dict[str, str], finder: Finder, zone: ZoneInfo) -> str:
        external_id = cells.get("external_id", "")
        if not external_id:
            raise ActionRefused(_("external_id: every line needs the lead’s id in the CRM."))
        if external_id in seen:
            raise ActionRefused(
                _("external_id “%(id)s” is already on line %(line)s.")
                % {"id": external_id[:80], "line": seen[external_id]}
            )
        seen[external_id] = number
        occurred = parse_moment(cells.get("date", ""), zone, field="date")
        if occurred is None:
            raise ActionRefused(_("date: when the lead came in (2026-11-03)."))
        status = cells.get("status", "").lower() or None
        if status is not None and status not in LeadStatus.values:
            raise ActionRefused(
                _("status: one of %(choices)s (“%(value)s”).")
                % {"choices": ", ".join(LeadStatus.values), "value": status[:30]}
            )
        try:
            result = actions.record_lead(
                workspace,
                by=by,
                source=LeadSource.CSV,
                external_id=external_id,
                name=cells.get("name") or None,
                status=status,
                value=cells.get("value") or None,
                currency=cells.get("currency") or None,
                channel=finder.channel(cells.get("channel", "")),
                campaign=finder.campaign(cells.get("campaign", "")),
                post=finder.post(cells.get("post", "")),
                occurred_at=occurred,
                closed_at=parse_moment(cells.get("closed_on", ""), zone, field="closed_on"),
                note=cells.get("note") or None,
            )
        except ActionRefused as exc:
            if exc.field and not exc.message.startswith(exc.field):
                raise ActionRefused(f"{exc.field}: {exc.message}", field=exc.field) from None
            raise
        if result.created:
            return "created"
        return "updated" if result.changed else "unchanged"

    return _import(
        workspace,
        by=by,
        data=data,
        dry_run=dry_run,
        columns=LEAD_COLUMNS,
        required=LEAD_REQUIRED,
        apply=apply,
        audit_code="lead.import",
    )


def _safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([_safe(str(c)) if isinstance(c, str) else c for c in row])
    return out.getvalue()


def lead_template(workspace: Workspace) -> str:
    """The leads CSV with its columns and two example lines using this workspace's names."""
    from portevoix.publishing.models import Campaign

    channel = Channel.objects.filter(workspace=workspace).order_by("name").first()
    campaign = Campaign.objects.filter(workspace=workspace).order_by("name").first()
    currency = actions.money_settings(workspace).currency
    return write_csv(
        [
            list(LEAD_COLUMNS),
            [
                "CRM-1001",
                "2026-11-03",
                "Boulangerie Martin",
                "new",
                "",
                "",
                channel.name if channel else "",
                campaign.name if campaign else "",
                "",
                "",
                "",
            ],
            [
                "CRM-1002",
                "2026-11-04 14:30",
                "Hôtel du Port",
                "won",
                "1250.00",
                currency,
                channel.name if channel else "",
                "",
                "",
                "2026-11-20",
                "",
            ],
        ]
    )


SPEND_COLUMNS = (
    "external_id",
    "start",
    "end",
    "spent",
    "currency",
    "budget",
    "post",
    "channel",
    "campaign",
    "audience",
    "impressions",
    "clicks",
    "leads",
)
SPEND_REQUIRED = ("external_id", "start", "spent")


def _day(text: str, field: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    day = parse_date(text[:10]) if len(text) >= 10 else None
    if day is None:
        raise ActionRefused(
            _("%(column)s: a date like 2026-11-03 (“%(value)s”).")
            % {"column": field, "value": text[:30]},
            field=field,
        )
    return day


def import_spend(
    workspace: Workspace, *, by: Member, data: bytes, dry_run: bool = False
) -> ImportReport:
    """Paid promotion from a CSV file (an ads manager's export, reshaped to
    ``SPEND_COLUMNS``); keyed by ``external_id`` (the ad's or the boost's id), so the same
    export imported again updates its lines."""
    require(by, "money.spend")
    _same_workspace(by, workspace)
    seen: dict[str, int] = {}

    def apply(number: int, cells: dict[str, str], finder: Finder, zone: ZoneInfo) -> str:
        external_id = cells.get("external_id", "")
        if not external_id:
            raise ActionRefused(_("external_id: every line needs the ad’s or boost’s id."))
        if external_id in seen:
            raise ActionRefused(
                _("external_id “%(id)s” is already on line %(line)s.")
                % {"id": external_id[:80], "line": seen[external_id]}
            )
        seen[external_id] = number
        start = _day(cells.get("start", ""), "start")
        if start is None:
            raise ActionRefused(_("start: the first day of the promotion (2026-11-03)."))
        try:
            result = actions.record_boost(
                workspace,
                by=by,
                source=SpendSource.CSV,
                external_id=external_id,
                post=finder.post(cells.get("post", "")),
                channel=finder.channel(cells.get("channel", "")),
                campaign=finder.campaign(cells.get("campaign", "")),
                audience=cells.get("audience", ""),
                budget=cells.get("budget") or None,
                spent=cells.get("spent", ""),
                currency=cells.get("currency", ""),
                impressions=cells.get("impressions") or None,
                clicks=cells.get("clicks") or None,
                leads=cells.get("leads") or None,
                start_on=start,
                end_on=_day(cells.get("end", ""), "end"),
            )
        except ActionRefused as exc:
            if exc.field and not exc.message.startswith(exc.field):
                raise ActionRefused(f"{exc.field}: {exc.message}", field=exc.field) from None
            raise
        if result.created:
            return "created"
        return "updated" if result.changed else "unchanged"

    return _import(
        workspace,
        by=by,
        data=data,
        dry_run=dry_run,
        columns=SPEND_COLUMNS,
        required=SPEND_REQUIRED,
        apply=apply,
        audit_code="boost.import",
    )


def spend_template(workspace: Workspace) -> str:
    """The paid promotion CSV with its columns and an example line in this workspace's names."""
    from portevoix.publishing.models import Campaign

    channel = Channel.objects.filter(workspace=workspace).order_by("name").first()
    campaign = Campaign.objects.filter(workspace=workspace).order_by("name").first()
    currency = actions.money_settings(workspace).currency
    return write_csv(
        [
            list(SPEND_COLUMNS),
            [
                "AD-2001",
                "2026-11-03",
                "2026-11-09",
                "120.00",
                currency,
                "150.00",
                "",
                channel.name if channel else "",
                campaign.name if campaign else "",
                "25-45, Lyon",
                "18000",
                "240",
                "6",
            ],
        ]
    )
