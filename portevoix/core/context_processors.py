from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Member
from portevoix.core.permissions import can

NAVIGATION = (
    ("attention", _("Needs attention"), "post.view"),
    ("calendar", _("Calendar"), "post.view"),
    ("approvals", _("Approvals"), None),
    ("inbox", _("Inbox"), None),
    ("channels", _("Channels"), "channel.view"),
    ("listening", _("Listening"), "listening.view"),
    ("crisis", _("Crisis"), "crisis.view"),
    ("analytics", _("Analytics"), "analytics.view"),
    ("strategy", _("Strategy"), "strategy.view"),
    ("team", _("Team"), "member.view"),
    ("settings", _("Settings"), None),
)


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    member = getattr(request, "member", None)
    memberships = (
        Member.objects.filter(user=user, is_active=True, workspace__archived_at__isnull=True)
        .select_related("workspace")
        .order_by("workspace__name")
    )
    if member is None:
        # Pages outside a workspace (profile, security) still show the last workspace's
        # navigation; every link is checked again when followed.
        last = request.session.get("workspace")
        member = next((m for m in memberships if m.workspace.slug == last), None) or next(
            iter(memberships), None
        )
    nav = []
    if member is not None:
        for key, label, action in NAVIGATION:
            if key == "inbox":
                allowed = can(member, "inbox.view_all") or can(member, "inbox.view_assigned")
            elif key == "strategy":
                # Ambassadors (seed 001) find their "to share" list under Strategy.
                allowed = can(member, "strategy.view") or can(member, "ambassador.share")
            elif key == "approvals":
                # Department agents approve the compliance step routed to them.
                allowed = can(member, "post.view") or can(member, "post.approve_compliance")
            else:
                allowed = action is None or can(member, action)
            if allowed:
                item: dict[str, Any] = {"key": key, "label": label}
                if key == "strategy" and not can(member, "strategy.view"):
                    item["share"] = True
                nav.append(item)
    context: dict[str, Any] = {"memberships": memberships, "nav": nav, "member": member}
    match = getattr(request, "resolver_match", None)
    if match is not None and (match.url_name or "").startswith("channel_"):
        # Channel pages live under Settings in the URL, but have their own navigation entry
        # (a view's own ``active_section`` wins over this default).
        context["active_section"] = "channels"
    return context


def demo(request: HttpRequest) -> dict[str, Any]:
    """On the login page of an embedded install with the demo loaded: the demo accounts.

    Only in embedded mode, and only the accounts whose password is still the demo's public
    one: once someone changes it, the account is no longer advertised.
    """
    from django.conf import settings
    from django.urls import reverse

    if request.path != reverse("account_login"):
        return {}
    from portevoix.core import demo as demo_data
    from portevoix.core.models import User, Workspace

    if not User.objects.exists():
        return {"first_run": True}
    if settings.CONFIG.mode != "embedded":
        return {}
    if not Workspace.objects.filter(slug=demo_data.SLUG).exists():
        return {}
    rows = demo_data.open_logins()
    if not rows:
        return {}
    return {"demo_logins": rows, "demo_password": demo_data.PASSWORD}
