"""The listening pages for sources (what is read, and how it is doing) and for the accounts
followed beside the brand's (competitors side by side).

Views parse and render; :mod:`portevoix.listening.actions` decides. Reading needs
``listening.view``; adding, pausing and removing need ``listening.manage``.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.sentences import render as render_sentence
from portevoix.core.views import _member, _refusal_to_form
from portevoix.networks import registry
from portevoix.reports.charts import Series, bar_chart, figure

from . import actions, competitors, pushdown
from .forms import FollowForm, SourceForm
from .models import AccountSnapshot, FollowedAccount, ListeningSource, Mention, SourceKind

#: A stream whose newest post is older than this is shown as late.
LATE_AFTER_SECONDS = 15 * 60


def _reader(request: HttpRequest) -> Member:
    me = _member(request)
    require(me, "listening.view")
    return me


#: The networks whose connected channels lend their token to a source.
TOKEN_NETWORKS = ("mastodon", "youtube", "instagram", "x")


def _channels(me: Member) -> list[tuple[int, str]]:
    from portevoix.channels.models import Channel

    rows = Channel.objects.filter(workspace=me.workspace, network__in=TOKEN_NETWORKS)
    return [
        (c.pk, f"{c.network_label} · {c.name} ({c.handle})" if c.handle else c.name)
        for c in rows.order_by("network", "name")
    ]


def _queries(me: Member) -> list[tuple[int, str]]:
    from .models import ListeningQuery

    return list(ListeningQuery.objects.filter(workspace=me.workspace).values_list("pk", "name"))


def pushed_query(source: ListeningSource) -> pushdown.Pushed | None:
    """What a YouTube or X source asks its network, and what is filtered here."""
    if source.kind == "youtube-search":
        return pushdown.for_source(source, "youtube")
    if source.kind == "x-search":
        return pushdown.for_source(source, "x")
    return None


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][:200] if lines else ""


# (AddressRefused never says why, by design: a refused address reads as an unreachable one.)
_UNREACHABLE = (
    "AddressRefused",
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "WriteTimeout",
    "PoolTimeout",
    "TimeoutException",
    "RemoteProtocolError",
    "ConnectionClosed",
    "ConnectionRefusedError",
    "gaierror",
    "InvalidURI",
    "InvalidHandshake",
)


def error_words(text: str) -> str:
    """The last error in the reader's language: what went wrong, not the exception's name
    (which stays beside it, for whoever runs the installation)."""
    last = _last_line(text)
    if any(name in last for name in _UNREACHABLE):
        return _("the server could not be reached")
    status = re.search(r"\b(?:status|HTTP)\D{0,12}([1-5]\d\d)\b|\b([45]\d\d)\b", last)
    if status:
        return _("the server answered %(status)s") % {"status": status.group(1) or status.group(2)}
    return _("an unexpected error")


def health(source: ListeningSource) -> tuple[str, str, str]:
    """(level, words, technical detail) of a source's health for the page: ok, late,
    failing, failed, paused; the detail is the last error's own line, "" when none."""
    detail = _last_line(source.last_error) if source.state != "paused" else ""
    if source.state == "paused":
        return "paused", _("paused"), ""
    if source.state == "failed":
        problem = render_sentence(source.problem) or error_words(source.last_error)
        return "failed", _("stopped: %(problem)s") % {"problem": problem}, detail
    if source.waiting_until is not None and source.waiting_until > timezone.now():
        return "waiting", render_sentence(source.problem) or _("waiting"), ""
    if source.attempts:
        words = ngettext(
            "%(n)d error in a row, retrying: %(error)s",
            "%(n)d errors in a row, retrying: %(error)s",
            source.attempts,
        ) % {"n": source.attempts, "error": error_words(source.last_error)}
        return "failing", words, detail
    if source.read_at is None:
        return "waiting", _("not read yet"), ""
    if (
        source.kind in ("jetstream", "mastodon-stream")
        and (timezone.now() - source.read_at).total_seconds() > LATE_AFTER_SECONDS
    ):
        return "late", _("no reading for over 15 minutes: are the workers running?"), ""
    return "ok", _("reading"), ""


def sources(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    can_manage = can(me, "listening.manage")
    form = SourceForm(request.POST or None, channels=_channels(me), queries=_queries(me))
    if request.method == "POST":
        require(me, "listening.manage")
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.add_source(
                    me.workspace,
                    by=me,
                    kind=data["kind"],
                    url=data["url"],
                    target=data["target"],
                    channel_id=data["channel"],
                    token=data["token"],
                    query_id=data["query"],
                )
            except ActionRefused as exc:
                _refusal_to_form(form, exc)
            else:
                messages.success(
                    request, _("Source added: the workers read it for every workspace.")
                )
                return redirect("listening_sources", ws=ws)
    # The installation's sources and this workspace's own. Another workspace's are read for
    # this one too, but what they search for, their errors and their volume are that
    # workspace's business (another client's, in an agency): only their number is shown.
    # (A paused source of nobody's but the sandbox was removed: kept for its mentions only.)
    removed = Q(workspace__isnull=True, state="paused") & ~Q(kind=SourceKind.SANDBOX)
    mine = (Q(workspace__isnull=True) & ~removed) | Q(workspace=me.workspace)
    found_here = dict(
        Mention.objects.filter(workspace=me.workspace)
        .values_list("source")
        .annotate(n=Count("pk"))
        .values_list("source", "n")
    )
    rows = [
        # What a source asks its network is the workspace's own queries: its own sources only.
        (
            s,
            *health(s),
            s.workspace_id == me.workspace.pk,
            pushed_query(s) if s.workspace_id == me.workspace.pk else None,
            found_here.get(s.pk, 0),
        )
        for s in ListeningSource.objects.filter(mine)
        .select_related("channel", "query")
        .order_by("kind", "name")
    ]
    others = ListeningSource.objects.filter(workspace__isnull=False).exclude(mine).count()
    context = {
        "active_section": "listening",
        "tab": "sources",
        "rows": rows,
        "others": others,
        "form": form,
        "can_manage": can_manage,
    }
    return render(request, "listening/sources.html", context, status=400 if form.errors else 200)


def _own_source(request: HttpRequest, pk: int) -> tuple[Member, ListeningSource]:
    me = _reader(request)
    require(me, "listening.manage")
    # Only this workspace's own sources change here: another's, or the installation's, is 404.
    return me, get_object_or_404(ListeningSource, pk=pk, workspace=me.workspace)


def _source_action(request: HttpRequest, ws: str, pk: int, what: str) -> HttpResponse:
    me, source = _own_source(request, pk)
    if what == "delete" and request.POST.get("confirm") != "1":  # the button says it
        return redirect("listening_sources", ws=ws)
    try:
        if what == "pause":
            actions.pause_source(source, by=me)
            messages.success(request, _("Source paused."))
        elif what == "resume":
            actions.resume_source(source, by=me)
            messages.success(request, _("Source started again, from its cursor."))
        else:
            actions.delete_source(source, by=me)
            messages.success(request, _("Source removed. The mentions it found stay."))
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("listening_sources", ws=ws)


@require_POST
def source_pause(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _source_action(request, ws, pk, "pause")


@require_POST
def source_resume(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _source_action(request, ws, pk, "resume")


@require_POST
def source_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _source_action(request, ws, pk, "delete")


# --- competitors side by side ----------------------------------------------------------------


def _canvas_suggestions(me: Member, followed: set[tuple[str, str]]) -> list[tuple[str, str]]:
    from portevoix.strategy.models import CanvasVersion

    canvas = CanvasVersion.objects.filter(workspace=me.workspace).order_by("-number").first()
    if canvas is None:
        return []
    return [p for p in competitors.from_canvas(canvas.competitors) if p not in followed]


def competitor_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    can_manage = can(me, "listening.manage")
    initial = {
        "network": request.GET.get("network", ""),
        "handle": request.GET.get("handle", ""),
    }
    form = FollowForm(request.POST or None, initial=initial)
    if request.method == "POST":
        require(me, "listening.manage")
        if form.is_valid():
            try:
                actions.follow_account(me.workspace, by=me, **form.cleaned_data)
            except ActionRefused as exc:
                _refusal_to_form(form, exc)
            else:
                messages.success(
                    request, _("Account followed: its figures are collected in a moment.")
                )
                return redirect("listening_competitors", ws=ws)
    accounts = list(
        FollowedAccount.objects.visible_to(me).prefetch_related(
            Prefetch("snapshots", queryset=AccountSnapshot.objects.order_by("-taken_at"))
        )
    )
    rows: list[dict[str, Any]] = []
    for account in accounts:
        snaps = list(account.snapshots.all())
        latest = snaps[0] if snaps else None
        week_ago = next((s for s in snaps if (timezone.now() - s.taken_at).days >= 7), None)
        rows.append(
            {
                "account": account,
                "latest": latest,
                "growth": (latest.followers - week_ago.followers)
                if latest is not None and week_ago is not None
                else None,
                "best": latest.best_posts[0] if latest is not None and latest.best_posts else None,
            }
        )
    measured = [r for r in rows if r["latest"] is not None]
    labels = _chart_labels([r["account"] for r in measured])
    charts: dict[str, Any] = {}
    if measured:
        charts["rhythm"] = bar_chart(
            labels,
            [r["latest"].posts_per_week for r in measured],
            title=_("Posts per week"),
            width=CHART_WIDTH,
        )
        charts["engagement"] = bar_chart(
            labels,
            [r["latest"].engagement_per_post for r in measured],
            title=_("Engagement per post"),
            width=CHART_WIDTH,
        )
        charts["followers"] = _followers_figure(measured, labels)
    followed = {(a.network, a.handle) for a in accounts}
    context = {
        "active_section": "listening",
        "tab": "competitors",
        "rows": rows,
        "charts": charts,
        "form": form,
        "can_manage": can_manage,
        "suggestions": _canvas_suggestions(me, followed) if can_manage else [],
    }
    return render(
        request, "listening/competitors.html", context, status=400 if form.errors else 200
    )


#: The bar charts share a card in two columns: drawn about as wide as they are shown, so that
#: their labels are not scaled down to a few pixels.
CHART_WIDTH = 440


def _chart_labels(accounts: list[FollowedAccount]) -> list[str]:
    """Each account's name in the charts, short enough to be read whole there: its label,
    with its network ("Rosée Paris · Bluesky") only when the accounts are on several
    networks, or when two of them share a label."""
    labels = [a.label for a in accounts]
    if len({a.network for a in accounts}) > 1 or len(set(labels)) < len(labels):
        labels = [f"{a.label} · {registry.label(a.network)}" for a in accounts]
    return labels


def _followers_figure(rows: list[dict[str, Any]], labels: list[str]) -> dict[str, object] | None:
    """Followers per day of collection, one line per account (the last snapshot of each day)."""
    days: set[str] = set()
    per_account: list[tuple[str, dict[str, int]]] = []
    for row, label in zip(rows, labels, strict=True):
        by_day: dict[str, int] = {}
        for snap in sorted(row["account"].snapshots.all(), key=lambda s: s.taken_at):
            day = timezone.localtime(snap.taken_at).date().isoformat()
            by_day[day] = snap.followers
        days |= set(by_day)
        per_account.append((label, by_day))
    if len(days) < 2:
        return None
    ordered = sorted(days)[-30:]
    return figure(
        _("Day"),
        ordered,
        [Series(label, [by_day.get(d) for d in ordered]) for label, by_day in per_account],
        title=_("Followers"),
        caption=_("Followers at each day's last collection."),
    )


def _account(request: HttpRequest, pk: int) -> tuple[Member, FollowedAccount]:
    me = _member(request)  # a role without listening.view gets 404 from get_for
    account: FollowedAccount = FollowedAccount.objects.get_for(me, pk=pk)
    require(me, "listening.manage")
    return me, account


@require_POST
def account_unfollow(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me, account = _account(request, pk)
    if request.POST.get("confirm") != "1":  # the button says it; nothing else unfollows
        return redirect("listening_competitors", ws=ws)
    actions.unfollow_account(account, by=me)
    messages.success(request, _("Account no longer followed; its figures are deleted."))
    return redirect("listening_competitors", ws=ws)


@require_POST
def account_collect(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me, account = _account(request, pk)
    actions.collect_account_now(account, by=me)
    messages.success(request, _("The figures are collected again in a moment."))
    return redirect("listening_competitors", ws=ws)
