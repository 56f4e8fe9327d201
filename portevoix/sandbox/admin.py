"""The sandbox network in the Django admin: look at what it received, turn its knobs.

Tokens are never shown. Actions replay a crisis, queue faults, expire a token or move the
world forward, so an operator can rehearse without a shell.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import service, world
from .models import (
    Fault,
    SandboxAccount,
    SandboxCall,
    SandboxFaults,
    SandboxFollowerCohort,
    SandboxInteraction,
    SandboxPost,
)


class CohortInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SandboxFollowerCohort
    extra = 0


class FaultsInline(admin.StackedInline):  # type: ignore[type-arg]
    model = SandboxFaults
    can_delete = False


def _queue(fault: Fault) -> Any:
    def action(
        modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[SandboxAccount]
    ) -> None:
        for account in queryset:
            service.inject_faults(account, fault)
        modeladmin.message_user(request, _("Fault queued: %s") % fault.label)

    action.__name__ = f"queue_{fault.value}"
    return admin.action(description=_("Sandbox: next write fails with %s") % fault.label)(action)


@admin.register(SandboxAccount)
class SandboxAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "handle",
        "display_name",
        "flavour",
        "workspace",
        "follower_count",
        "simulate",
        "simulated_until",
        "crisis_intensity",
        "token_expires_at",
    ]
    list_filter = ["flavour", "simulate", "workspace"]
    search_fields = ["handle", "display_name", "brand_name"]
    exclude = ["token"]
    inlines = [CohortInline, FaultsInline]
    actions = [
        "advance_to_now",
        "start_crisis",
        "end_crisis",
        "expire_token",
        *(_queue(f) for f in Fault),
    ]

    @admin.action(description=_("Sandbox: simulate up to now"))
    def advance_to_now(self, request: HttpRequest, queryset: QuerySet[SandboxAccount]) -> None:
        steps = sum(world.advance(a, timezone.now()) for a in queryset)
        self.message_user(request, _("%d steps of 15 minutes simulated.") % steps)

    @admin.action(description=_("Sandbox: start a crisis (intensity 1, 48 hours)"))
    def start_crisis(self, request: HttpRequest, queryset: QuerySet[SandboxAccount]) -> None:
        for account in queryset:
            world.advance(account, timezone.now())
            world.start_crisis(
                account,
                1.0,
                account.crisis_topic or "",
                topic_en=account.crisis_topic_en,
                at=world.floor_step(timezone.now()),
            )
        self.message_user(request, _("Crisis started."), messages.WARNING)

    @admin.action(description=_("Sandbox: end the crisis"))
    def end_crisis(self, request: HttpRequest, queryset: QuerySet[SandboxAccount]) -> None:
        for account in queryset:
            world.end_crisis(account, at=timezone.now())
        self.message_user(request, _("Crisis ended."))

    @admin.action(description=_("Sandbox: expire the token now"))
    def expire_token(self, request: HttpRequest, queryset: QuerySet[SandboxAccount]) -> None:
        for account in queryset:
            service.expire_token(account)
        self.message_user(request, _("Tokens expired: the channels must reconnect."))


@admin.register(SandboxPost)
class SandboxPostAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "network_id",
        "account",
        "kind",
        "received_at",
        "quality",
        "impressions",
        "likes",
        "shares",
        "comments",
        "deleted_at",
    ]
    list_filter = ["account", "kind"]
    search_fields = ["network_id", "idempotency_key", "text"]
    date_hierarchy = "received_at"


@admin.register(SandboxInteraction)
class SandboxInteractionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "message_id",
        "account",
        "kind",
        "addressed",
        "language",
        "intent",
        "sentiment",
        "is_crisis",
        "author_handle",
        "created_at",
    ]
    list_filter = ["account", "kind", "language", "intent", "sentiment", "is_crisis", "target"]
    search_fields = ["message_id", "text", "author_handle"]
    date_hierarchy = "created_at"


@admin.register(SandboxCall)
class SandboxCallAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["received_at", "account", "operation", "outcome", "idempotency_key"]
    list_filter = ["account", "operation", "outcome"]
    search_fields = ["idempotency_key"]
    date_hierarchy = "received_at"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
