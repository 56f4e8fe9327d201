from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portevoix.worker.models import Housekeeping, StatefulModel, TransitionRefused

STATEFUL_FIELDS: tuple[str, ...] = (
    "state",
    "state_changed_at",
    "next_attempt_at",
    "locked_by",
    "locked_until",
    "attempts",
    "problem",
    "last_error",
)


class StatefulAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Admin for any stateful model: scheduling fields read-only, a "retry now" action."""

    list_filter = ["state"]
    readonly_fields = STATEFUL_FIELDS
    actions = ["retry_now"]

    @admin.action(description=_("Retry now (failed rows go back to their first state)"))
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        moved = 0
        for row in queryset:
            assert isinstance(row, StatefulModel)
            graph = row.STATE_GRAPH
            try:
                if row.state_obj.failure:
                    row.transition(graph.initial)
                elif row.state_obj.automatic:
                    row.transition(row.state)
                else:
                    continue
            except TransitionRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            moved += 1
        self.message_user(request, _("%(n)d row(s) due now.") % {"n": moved})


@admin.register(Housekeeping)
class HousekeepingAdmin(StatefulAdmin):
    list_display = ["name", "state", "next_attempt_at", "last_run_at", "attempts", "problem"]
    readonly_fields = ("name", "last_run_at", "last_result", *STATEFUL_FIELDS)
