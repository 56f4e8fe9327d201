"""The listening pages: what is said (mentions, charts) and what the team listens for (queries).

Views parse and render; :mod:`portevoix.listening.actions` decides. Reading needs
``listening.view``; queries need ``listening.manage`` to change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.query import query_choice, query_id, query_int
from portevoix.core.views import _member, _refusal_to_form
from portevoix.inbox.views import INTENTS

from . import actions, stats
from .forms import QueryForm
from .models import ListeningQuery, Mention
from .query import QuerySyntaxError, parse

PERIODS = {"1": 1, "7": 7, "30": 30, "90": 90}
#: The query language at a glance, beside the query form (written queries are not translated).
EXAMPLES = [
    (["sérum éclat"], gettext_lazy("both words, anywhere in the post (same as sérum AND éclat)")),
    (['"lumière cosmétiques"'], gettext_lazy("these words side by side, in this order")),
    (['rosée OR "belle peau"'], gettext_lazy("one or the other")),
    (
        ["lumière NOT bougie", "lumière -bougie"],
        gettext_lazy("leaves out the posts with the second word"),
    ),
    (
        ['"livraison retard"~5', "livraison NEAR/5 retard"],
        gettext_lazy("both words at most 5 words apart, in any order"),
    ),
    (["lumi*"], gettext_lazy("words that start with these letters (3 at least)")),
    (["#skincare"], gettext_lazy("this hashtag; a plain word also finds its hashtag")),
    (
        ["lang:fr", "-author:lumiere_officiel"],
        gettext_lazy("posts in French; leaves out an author"),
    ),
]
PAGE_SIZE = 25


def _reader(request: HttpRequest) -> Member:
    me = _member(request)
    require(me, "listening.view")
    return me


@require_safe
def overview(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    queries = ListeningQuery.objects.visible_to(me)
    query_list = list(queries)
    period = query_choice(request, "period", PERIODS, default="30")
    query_pk = query_id(request, "query")
    sentiment = query_choice(request, "sentiment", stats.SENTIMENTS)
    all_mentions = Mention.objects.visible_to(me)
    networks = sorted(set(all_mentions.values_list("network", flat=True).distinct()))
    languages = sorted(
        {lang for lang in all_mentions.values_list("language", flat=True).distinct() if lang}
    )
    network = query_choice(request, "network", networks)
    language = query_choice(request, "language", languages)
    page_number = query_int(request, "page", 1)

    now = timezone.now()
    zone = timezone.get_current_timezone()
    end = now
    if PERIODS[period] == 1:  # the last 24 hours, hour by hour (the current one so far)
        start = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=23)
    else:  # whole local days, today so far the last: no partial first day to mislead
        midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        start = midnight - dt.timedelta(days=PERIODS[period] - 1)
    scoped = all_mentions.filter(posted_at__gte=start, posted_at__lt=end)
    if network:
        scoped = scoped.filter(network=network)
    if language:
        scoped = scoped.filter(language=language)
    if sentiment:
        scoped = scoped.filter(sentiment=sentiment)
    # Share of voice counts what the page's filters keep (a share of the negative voice is a
    # question worth asking), except the query: it compares every query of the brand with
    # each competitor's, so one query chosen would leave nothing to compare with.
    voice_scope = scoped
    chosen = next((q for q in query_list if q.pk == query_pk), None)
    if query_pk is not None and chosen is None:
        query_pk = None
    if chosen is not None:
        scoped = scoped.filter(queries=chosen)

    days = (
        stats.volume_by_hour(scoped, start, end, zone)
        if PERIODS[period] == 1
        else stats.volume_by_day(scoped, start, end, zone)
    )
    page = Paginator(
        scoped.prefetch_related(
            Prefetch("queries", queryset=ListeningQuery.objects.only("pk", "name", "kind"))
        ).select_related("conversation", "idea"),
        PAGE_SIZE,
    ).get_page(page_number)
    filters = {
        "period": period,
        "query": str(query_pk or ""),
        "sentiment": sentiment,
        "network": network,
        "language": language,
    }
    keep = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    context: dict[str, Any] = {
        "active_section": "listening",
        "tab": "overview",
        "queries": query_list,
        "filters": filters,
        "keep": keep,
        "periods": list(PERIODS),
        "networks": networks,
        "languages": languages,
        "sentiments": stats.SENTIMENTS,
        "total": scoped.count(),
        "days": days,
        "chart": stats.chart(days),
        "voice": stats.share_of_voice(voice_scope, queries),
        "voice_ignores_query": chosen is not None,
        "authors": stats.top_authors(scoped),
        "rising": stats.rising(all_mentions, now),
        "page": page,
        "fresh_since": now - actions.FRESH_FOR,
        "can_manage": can(me, "listening.manage"),
        "can_inbox": can(me, "inbox.reply"),
        # Sending to the inbox goes through an active channel of the mention's network: the
        # button shows only where there is one (it always failed elsewhere).
        "inbox_networks": set(
            Channel.objects.filter(workspace=me.workspace, state="active").values_list(
                "network", flat=True
            )
        ),
        "can_idea": can(me, "idea.propose"),
        "can_draft": can(me, "post.create"),
        "workspace_name": me.workspace.name,
        "intents": INTENTS,
    }
    return render(request, "listening/overview.html", context)


def _query_form_context(
    me: Member, form: QueryForm, syntax: QuerySyntaxError | None
) -> dict[str, Any]:
    excerpt = None
    if syntax is not None:
        excerpt = syntax.excerpt(form.data.get("text", "") if form.is_bound else "")
    return {"form": form, "syntax": syntax, "excerpt": excerpt}


def _save(
    request: HttpRequest, me: Member, form: QueryForm, query: ListeningQuery | None
) -> tuple[ListeningQuery | None, QuerySyntaxError | None]:
    if not form.is_valid():
        return None, _syntax_of(form.data.get("text", ""))
    data = form.cleaned_data
    try:
        if query is None:
            saved = actions.create_query(me.workspace, by=me, **data)
        else:
            saved = actions.update_query(query, by=me, **data)
    except ActionRefused as exc:
        _refusal_to_form(form, exc)
        return None, getattr(exc, "syntax", None)
    return saved, None


def _syntax_of(text: str) -> QuerySyntaxError | None:
    if not text.strip():
        return None
    try:
        parse(text)
    except QuerySyntaxError as exc:
        return exc
    return None


def queries(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    syntax = None
    if request.method == "POST":
        require(me, "listening.manage")
        form = QueryForm(request.POST)
        saved, syntax = _save(request, me, form, None)
        if saved is not None:
            messages.success(
                request, _("Query saved: mentions that match it are stored from now on.")
            )
            return redirect("listening_queries", ws=ws)
    else:
        form = QueryForm()
    listed = ListeningQuery.objects.visible_to(me)
    counts = dict(
        Mention.queries.through.objects.filter(listeningquery__in=listed)
        .values_list("listeningquery_id")
        .annotate(n=Count("mention_id"))
    )
    rows = [(q, counts.get(q.pk, 0)) for q in listed]
    context = {
        "active_section": "listening",
        "tab": "queries",
        "examples": EXAMPLES,
        "rows": rows,
        "can_manage": can(me, "listening.manage"),
        **_query_form_context(me, form, syntax),
    }
    return render(request, "listening/queries.html", context, status=400 if form.errors else 200)


def query_edit(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)  # a role without listening.view gets 404 from get_for
    query: ListeningQuery = ListeningQuery.objects.get_for(me, pk=pk)
    syntax = None
    if request.method == "POST":
        require(me, "listening.manage")
        form = QueryForm(request.POST)
        saved, syntax = _save(request, me, form, query)
        if saved is not None:
            messages.success(request, _("Query saved."))
            return redirect("listening_queries", ws=ws)
    else:
        form = QueryForm(
            initial={
                "name": query.name,
                "kind": query.kind,
                "text": query.text,
                "is_active": query.is_active,
            }
        )
        syntax = _syntax_of(query.text)
        if syntax is not None:
            form = QueryForm(
                {
                    "name": query.name,
                    "kind": query.kind,
                    "text": query.text,
                    "is_active": query.is_active and "on",
                }
            )
            form.is_valid()
            form.add_error("text", syntax.message)
    context = {
        "active_section": "listening",
        "tab": "queries",
        "examples": EXAMPLES,
        "query": query,
        "can_manage": can(me, "listening.manage"),
        **_query_form_context(me, form, syntax),
    }
    return render(
        request,
        "listening/query_edit.html",
        context,
        status=400 if request.method == "POST" and form.errors else 200,
    )


def query_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """GET: what deleting would take with it, and the button; POST with ``confirm``: done."""
    me = _member(request)
    if not can(me, "listening.view"):
        raise Http404("not found")  # like get_for: the query does not exist for this role
    require(me, "listening.manage")
    query: ListeningQuery = ListeningQuery.objects.get_for(me, pk=pk)
    if request.method == "POST" and request.POST.get("confirm") == "1":
        gone = actions.delete_query(query, by=me)
        messages.success(
            request,
            ngettext(
                "Query deleted, with the %(n)d mention only it had found.",
                "Query deleted, with the %(n)d mentions only it had found.",
                gone,
            )
            % {"n": gone},
        )
        return redirect("listening_queries", ws=ws)
    only = actions.found_only_by(query).count()
    context = {
        "active_section": "listening",
        "tab": "queries",
        "query": query,
        "only": only,
        "shared": query.mentions.count() - only,
    }
    return render(request, "listening/query_delete.html", context)


@require_POST
def query_check(request: HttpRequest, ws: str) -> HttpResponse:
    """Live validation of the query being typed (htmx): the mistake shown in place."""
    me = _reader(request)
    require(me, "listening.manage")
    text = request.POST.get("text", "")
    syntax = None
    terms: list[str] = []
    excluded: list[str] = []
    if text.strip():
        try:
            tree = parse(text)
        except QuerySyntaxError as exc:
            syntax = exc
        else:
            from .query import sought_and_excluded

            def shown(found: list[Any]) -> list[str]:
                return sorted({" ".join(t.words) + ("*" if t.prefix else "") for t in found})

            sought, left_out = sought_and_excluded(tree)
            terms, excluded = shown(sought), shown(left_out)
    return render(
        request,
        "listening/_check.html",
        {
            "syntax": syntax,
            "excerpt": syntax.excerpt(text) if syntax else None,
            "terms": terms,
            "excluded": excluded,
            "text": text,
        },
    )


def _mention(request: HttpRequest, pk: int) -> tuple[Member, Mention]:
    me = _member(request)  # a role without listening.view gets 404 from get_for
    mention: Mention = Mention.objects.get_for(me, pk=pk)
    return me, mention


def _back_to_listening(request: HttpRequest, ws: str) -> HttpResponse:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    if (
        target
        and url_has_allowed_host_and_scheme(target, {request.get_host()})
        and target.startswith("/")
    ):
        return redirect(target)
    return redirect("listening", ws=ws)


@require_POST
def mention_to_inbox(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me, mention = _mention(request, pk)
    require(me, "inbox.reply")
    try:
        actions.send_to_inbox(mention, by=me)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return _back_to_listening(request, ws)
    messages.success(request, _("The mention is in the inbox."))
    return _back_to_listening(request, ws)


@require_POST
def mention_to_idea(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me, mention = _mention(request, pk)
    require(me, "idea.propose")
    try:
        actions.send_to_ideas(mention, by=me)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return _back_to_listening(request, ws)
    messages.success(request, _("The mention is in the ideas backlog."))
    return _back_to_listening(request, ws)


@require_POST
def trend_to_idea(request: HttpRequest, ws: str) -> HttpResponse:
    """A rising term becomes an idea in the backlog (seed 004)."""
    from . import trends

    me = _member(request)
    if not can(me, "listening.view"):
        raise Http404("not found")  # as for a mention: who does not listen learns nothing
    require(me, "idea.propose")
    try:
        trends.trend_to_idea(me.workspace, by=me, term=request.POST.get("term", ""))
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return _back_to_listening(request, ws)
    messages.success(request, _("The rising term is in the ideas backlog."))
    return _back_to_listening(request, ws)
