"""What people taught triage: corrections, and how many items it labelled per day."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.triage.labels import Field


class TriageCorrection(models.Model):
    """A person looked at a label triage gave and set it (same label: a confirmation)."""

    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, related_name="triage_corrections"
    )
    text = models.TextField(_("text"))
    field = models.CharField(_("label"), max_length=16, choices=[(f.value, f.value) for f in Field])
    predicted_label = models.CharField(_("label given"), max_length=32)
    corrected_label = models.CharField(_("label chosen"), max_length=32)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="triage_corrections",
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    #: multilingual-e5-small embedding of ``text`` (384 float32), so that applying the
    #: correction to new items needs no second pass over the text.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    #: Where the text came from (a message id in the inbox), when known.
    source_ref = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["workspace", "created_at"], name="triage_corr_ws_time")]
        verbose_name = _("triage correction")
        verbose_name_plural = _("triage corrections")

    def __str__(self) -> str:
        return f"{self.field}: {self.predicted_label} → {self.corrected_label}"

    @property
    def changed(self) -> bool:
        return self.predicted_label != self.corrected_label


class TriageDailyCount(models.Model):
    """How many items triage labelled for a workspace on a day (the base of its accuracy)."""

    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, related_name="triage_daily_counts"
    )
    day = models.DateField(_("day"))
    items = models.PositiveIntegerField(_("items labelled"), default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "day"], name="triage_daily_count_unique")
        ]
        verbose_name = _("triage daily count")
        verbose_name_plural = _("triage daily counts")

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.day}: {self.items}"
