"""The calendar (an agenda of every publication, day by day, per channel) and the "Needs
attention" page with the decisions a person takes there."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.permissions import can, require
from portevoix.core.query import query_date, query_id
from portevoix.core.views import _member, _refusal_to_form
from portevoix.publishing import actions
from portevoix.publishing import attention as attention_rows
from portevoix.publishing.actions import RETRYABLE
from portevoix.publishing.forms import MarkPublishedForm
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


# --- needs attention ---------------------------------------------------------------------------


def attention(
    request: HttpRequest,
    ws: str,
    *,
    bound: dict[int, MarkPublishedForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Publications waiting for a person, channels in trouble, and what can be done."""
    me = _member(request)
    require(me, "post.view")
    context = attention_rows.page(me)
    bound = bound or {}
    for item in context["items"]:
        pk = item.publication.pk
        item.form = bound.get(pk) or MarkPublishedForm(prefix=f"pub{pk}")
        item.open = pk in bound
    context.update(
        can_resolve=can(me, "post.resolve"),
        can_manage_channels=can(me, "channel.manage"),
        retryable=RETRYABLE,
        active_section="attention",
    )
    return render(request, "publishing/attention.html", context, status=status)


def _decide(
    request: HttpRequest,
    ws: str,
    pk: int,
    action: Callable[..., Publication],
    done: str,
) -> HttpResponse:
    me = _member(request)
    publication: Publication = Publication.objects.select_related("post").get_for(me, pk=pk)
    require(me, "post.resolve")
    try:
        action(publication, by=me)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return redirect(reverse("attention", kwargs={"ws": ws}) + f"#publication-{pk}")
    messages.success(request, done)
    return redirect("attention", ws=ws)


@require_POST
def publication_retry(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decide(request, ws, pk, actions.retry_publication, _("The post goes out in a moment."))


@require_POST
def publication_send_late(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decide(request, ws, pk, actions.send_late, _("The post goes out in a moment, late."))


@require_POST
def publication_cancel(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decide(
        request, ws, pk, actions.cancel_publication, _("The post is cancelled: it will not go out.")
    )


@require_POST
def publication_mark_published(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    publication: Publication = Publication.objects.select_related("post").get_for(me, pk=pk)
    require(me, "post.resolve")
    form = MarkPublishedForm(request.POST, prefix=f"pub{pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.mark_published(
                publication,
                by=me,
                url=data["url"],
                post_id=data["post_id"],
                candidate=data["candidate"],
            )
        except ActionRefused as exc:
            if exc.code in {"busy", "state"}:
                # The publication left this list meanwhile: its form would show nowhere.
                messages.error(request, exc.message)
                return redirect("attention", ws=ws)
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Marked as published."))
            return redirect("attention", ws=ws)
    return attention(request, ws, bound={pk: form}, status=400)
