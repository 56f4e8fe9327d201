from django.contrib import admin
from django.http import HttpRequest

from portevoix.notifications.models import EmailDelivery, Notification
from portevoix.worker.admin import STATEFUL_FIELDS, StatefulAdmin


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["created_at", "workspace", "recipient", "kind", "in_app", "read_at"]
    list_filter = ["kind", "in_app"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(StatefulAdmin):
    list_display = ["id", "to", "subject", "state", "attempts", "sent_at", "problem"]
    readonly_fields = ("notification", "to", "subject", "sending_at", "sent_at", *STATEFUL_FIELDS)
