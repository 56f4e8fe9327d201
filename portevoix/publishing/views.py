"""The calendar, first part: an agenda of every publication, day by day, per channel."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from portevoix.channels.models import Channel
from portevoix.core.permissions import can, require
from portevoix.core.query import query_date, query_id
from portevoix.core.views import _member
from portevoix.publishing.models import Publication

WEEKS_SHOWN = 4


@require_safe
def calendar(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    zone = ZoneInfo(me.workspace.time_zone)
    today = timezone.now().astimezone(zone).date()
    start = query_date(request, "from") or today - dt.timedelta(days=7)
    end = start + dt.timedelta(weeks=WEEKS_SHOWN)
    rows = (
        Publication.objects.visible_to(me)
        .filter(
            scheduled_at__gte=dt.datetime.combine(start, dt.time(), zone),
            scheduled_at__lt=dt.datetime.combine(end, dt.time(), zone),
        )
        .select_related("post", "channel")
        .order_by("scheduled_at")
    )
    channels = Channel.objects.visible_to(me).order_by("name")
    channel_id = query_id(request, "channel")
    if channel_id is not None:
        rows = rows.filter(channel_id=channel_id)
    days = [
        (day, list(items))
        for day, items in itertools.groupby(
            rows, key=lambda p: p.scheduled_at.astimezone(zone).date()
        )
    ]
    return render(
        request,
        "publishing/calendar.html",
        {
            "days": days,
            "start": start,
            "end": end - dt.timedelta(days=1),
            "previous": start - dt.timedelta(weeks=WEEKS_SHOWN),
            "next": end,
            "today": today,
            "zone": zone,
            "channels": channels,
            "channel_id": str(channel_id or ""),
            "can_post": can(me, "post.create"),
            "active_section": "calendar",
        },
    )
