"""The bell, the list of one's notifications, and one's preferences. Views parse and render."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.views import _member, _refusal_to_form
from portevoix.notifications import actions, kinds
from portevoix.notifications.forms import PreferencesForm
from portevoix.notifications.models import Notification, NotificationPreference

PAGE_SIZE = 30


def _safe(request: HttpRequest, target: str) -> bool:
    return bool(target) and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    )


@require_GET
def notification_list(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    rows = Notification.objects.visible_to(me)
    unread_only = request.GET.get("show") == "unread"
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    items = [(n, n.render()) for n in page.object_list]
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "items": items,
            "unread_only": unread_only,
            "unread": actions.unread_count(me),
        },
    )


#: htmx stops polling on this status: the session ended or the membership is gone.
STOP_POLLING = 286


@require_GET
def bell(request: HttpRequest, workspace: str) -> HttpResponse:
    """The bell alone: every page polls it (htmx) to keep the unread count fresh.

    It lives outside ``/w/<ws>/`` so that a poll after the session ended is not redirected
    to the login page (which htmx would paste into the top bar): it stops the polling instead.
    """
    user = request.user
    member = (
        Member.objects.select_related("workspace")
        .filter(workspace__slug=workspace, user_id=user.pk, is_active=True)
        .first()
        if user.is_authenticated
        else None
    )
    if member is None:
        return HttpResponse(status=STOP_POLLING)
    response = render(request, "notifications/_bell.html", {"member": member})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def open_notification(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """Mark it read and go where it leads."""
    me = _member(request)
    notification: Notification = Notification.objects.get_for(me, pk=pk)
    actions.mark_read(notification, by=me)
    if _safe(request, notification.url):
        return HttpResponseRedirect(notification.url)
    return redirect("notifications", ws=ws)


@require_POST
def read(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    notification: Notification = Notification.objects.get_for(me, pk=pk)
    actions.mark_read(notification, by=me)
    target = request.POST.get("next", "")
    if _safe(request, target):
        return HttpResponseRedirect(target)
    return redirect("notifications", ws=ws)


@require_POST
def read_all(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    count = actions.mark_all_read(by=me)
    if count:
        messages.success(request, _("All your notifications are marked as read."))
    target = request.POST.get("next", "")
    if _safe(request, target):
        return HttpResponseRedirect(target)
    return redirect("notifications", ws=ws)


def _offered(member: Member) -> list[kinds.Kind]:
    return [k for k in kinds.all_kinds() if k.offered_to(member)]


def preferences(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    offered = _offered(me)
    current = {code: d.value for code, d in _current(me, offered).items()}
    form = PreferencesForm(request.POST or None, offered=offered, current=current)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                actions.set_preferences(me, by=me, choices=form.cleaned_data)
            except ActionRefused as exc:
                _refusal_to_form(form, exc)
            else:
                messages.success(request, _("Your notification preferences are saved."))
                return redirect("notification_preferences", ws=ws)
    return render(request, "notifications/preferences.html", {"form": form}, status=status)


def _current(member: Member, offered: list[kinds.Kind]) -> dict[str, kinds.Delivery]:
    chosen = dict(
        NotificationPreference.objects.filter(member=member).values_list("kind", "delivery")
    )
    return {k.code: kinds.Delivery(chosen.get(k.code, k.default)) for k in offered}
