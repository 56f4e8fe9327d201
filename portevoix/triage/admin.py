from django.contrib import admin

from portevoix.triage.models import TriageCorrection, TriageDailyCount


@admin.register(TriageCorrection)
class TriageCorrectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["created_at", "workspace", "field", "predicted_label", "corrected_label"]
    list_filter = ["field", "workspace"]
    search_fields = ["text"]
    readonly_fields = ["created_at", "created_by"]
    exclude = ["embedding"]


@admin.register(TriageDailyCount)
class TriageDailyCountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["day", "workspace", "items"]
    list_filter = ["workspace"]
