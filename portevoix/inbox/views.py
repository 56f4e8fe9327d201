"""The inbox, first part: every inbound item with its triage labels, filtered per role."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from portevoix.core.models import Department
from portevoix.core.permissions import can
from portevoix.core.query import query_choice, query_flag, query_int
from portevoix.core.views import _member
from portevoix.inbox.models import InboundMessage

KINDS = {
    "comment": _("Comment"),
    "mention": _("Mention"),
    "quote": _("Quote"),
    "dm": _("Private message"),
}
SENTIMENTS = {"negative": _("Negative"), "neutral": _("Neutral"), "positive": _("Positive")}
INTENTS = {
    "pricing": _("Prices and offers"),
    "purchase": _("Wants to buy"),
    "complaint": _("Complaint"),
    "support": _("Needs help"),
    "question": _("Question"),
    "praise": _("Praise"),
    "other": _("Other"),
    "legal": _("Legal risk"),
    "hr": _("Job and employment"),
    "press": _("Press"),
    "spam": _("Spam"),
}
ROUTES = {
    "sales": _("Sales"),
    "customer_service": _("Customer service"),
    "social_team": _("Social media team"),
    "legal": _("Legal"),
    "hr": _("HR"),
    "communication": _("Communication / PR"),
    "none": _("Nobody (spam)"),
}


@require_safe
def inbox(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    if not (can(me, "inbox.view_all") or can(me, "inbox.view_assigned")):
        raise PermissionDenied
    rows = InboundMessage.objects.visible_to(me).select_related("channel", "department")
    route = query_choice(request, "route", ROUTES)
    if route:
        rows = rows.filter(routed_to=route)
    sentiment = query_choice(request, "sentiment", SENTIMENTS)
    if sentiment:
        rows = rows.filter(sentiment=sentiment)
    review = query_flag(request, "review")
    if review:
        rows = rows.filter(needs_review=True)
    page = Paginator(rows, 50).get_page(query_int(request, "page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    department: Department | None = me.department if not can(me, "inbox.view_all") else None
    return render(
        request,
        "inbox/list.html",
        {
            "page": page,
            "query": query.urlencode(),
            "route": route,
            "sentiment": sentiment,
            "review": review,
            "routes": ROUTES,
            "sentiments": SENTIMENTS,
            "kinds": KINDS,
            "intents": INTENTS,
            "only_department": department,
            "active_section": "inbox",
        },
    )
