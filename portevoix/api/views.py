"""The API tokens page (workspace settings): make a token (its secret shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portevoix.api import actions
from portevoix.api.forms import SubscriptionForm, TokenForm
from portevoix.api.models import ApiToken, WebhookDelivery, WebhookSubscription
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require


def _member(request: HttpRequest) -> Member:
    member: Member = getattr(request, "member")  # noqa: B009
    return member


def tokens(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    form = TokenForm(request.POST or None)
    status = 200
    secret = None
    made = None
    if request.method == "POST":
        if form.is_valid():
            try:
                made, secret = actions.create_token(
                    me,
                    by=me,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    days=form.cleaned_data["days"],
                )
            except ActionRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        if secret is None:
            status = 400
        else:
            form = TokenForm()
    rows = (
        ApiToken.objects.visible_to(me)
        .select_related("member__user")
        .order_by("revoked_at", "-created_at")
    )
    response = render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "tokens": rows,
            "secret": secret,
            "made": made,
            "sees_all": can(me, "workspace.settings"),
        },
        status=status,
    )
    if secret is not None:
        # The one page that shows the secret: never kept by a cache or the browser's history.
        response["Cache-Control"] = "no-store"
    return response


@require_POST
def token_revoke(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    token: ApiToken = ApiToken.objects.get_for(me, pk=pk)
    try:
        actions.revoke_token(token, by=me)
        messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("api_tokens", ws=ws)


# --- webhooks ------------------------------------------------------------------------------


def webhooks_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "integration.manage")
    form = SubscriptionForm(request.POST or None)
    status = 200
    secret = None
    made = None
    if request.method == "POST":
        if form.is_valid():
            try:
                made, secret = actions.create_subscription(
                    me.workspace,
                    by=me,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                )
            except ActionRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        if secret is None:
            status = 400
        else:
            form = SubscriptionForm()
    rows = WebhookSubscription.objects.visible_to(me).annotate(
        failed=Count("deliveries", filter=Q(deliveries__state="failed")),
        waiting=Count("deliveries", filter=Q(deliveries__state="pending")),
    )
    response = render(
        request,
        "api/webhooks.html",
        {"form": form, "subscriptions": rows, "secret": secret, "made": made},
        status=status,
    )
    if secret is not None:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
def webhook_change(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    require(me, "integration.manage")
    subscription: WebhookSubscription = WebhookSubscription.objects.get_for(me, pk=pk)
    if "delete" in request.POST:
        actions.delete_subscription(subscription, by=me)
        messages.success(request, _("Subscription deleted."))
    else:
        actions.set_subscription_active(subscription, by=me, active="resume" in request.POST)
    return redirect("api_webhooks", ws=ws)


def webhook_deliveries(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    require(me, "integration.manage")
    subscription: WebhookSubscription = WebhookSubscription.objects.get_for(me, pk=pk)
    if request.method == "POST":
        chosen = request.POST.get("delivery", "")
        if not chosen.isdigit():
            messages.error(request, _("Choose the delivery to replay."))
            return redirect("api_webhook_deliveries", ws=ws, pk=pk)
        delivery: WebhookDelivery = WebhookDelivery.objects.get_for(
            me, pk=int(chosen), subscription=subscription
        )
        try:
            actions.replay_delivery(delivery, by=me)
            messages.success(request, _("The delivery will be sent again in a moment."))
        except ActionRefused as exc:
            messages.error(request, exc.message)
        return redirect("api_webhook_deliveries", ws=ws, pk=pk)
    rows = subscription.deliveries.order_by("-created_at")[:200]
    return render(
        request,
        "api/webhook_deliveries.html",
        {"subscription": subscription, "deliveries": rows},
    )
