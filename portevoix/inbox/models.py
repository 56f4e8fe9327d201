"""Everything the networks bring in: comments, mentions, quotes, private messages.

Each item is stored once per channel (idempotent on the network's message id) and labelled by
triage as it arrives: language, sentiment, intent, and the department it is routed to.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.channels.models import Channel
from portevoix.core.models import Department
from portevoix.core.permissions import MemberLike, RestrictedQuerySet, can


class InboundMessage(models.Model):
    WORKSPACE_PATH = "channel__workspace"
    objects = RestrictedQuerySet.as_manager()

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="inbound")
    message_id = models.CharField(max_length=500)
    kind = models.CharField(_("kind"), max_length=16)
    author_handle = models.CharField(max_length=300)
    author_name = models.CharField(max_length=300, blank=True)
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("written"))
    received_at = models.DateTimeField(default=timezone.now)
    in_reply_to = models.CharField(max_length=500, blank=True)
    thread_id = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=500, blank=True)
    # Triage
    language = models.CharField(_("language"), max_length=12, blank=True)
    sentiment = models.CharField(_("sentiment"), max_length=12, blank=True)
    sentiment_score = models.FloatField(default=0)
    intent = models.CharField(_("intent"), max_length=20, blank=True)
    routed_to = models.CharField(_("routed to"), max_length=32, blank=True)
    confidence = models.FloatField(default=0)
    needs_review = models.BooleanField(_("to check"), default=False)
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "message_id"], name="inbound_unique"),
        ]
        indexes = [models.Index(fields=["department", "-created_at"])]
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")

    def __str__(self) -> str:
        return f"{self.author_handle}: {self.text[:60]}"

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        """The social team sees everything; a department agent only what is routed to it."""
        if can(member, "inbox.view_all"):
            return queryset
        department_id = getattr(member, "department_id", None)
        if can(member, "inbox.view_assigned") and department_id:
            return queryset.filter(department_id=department_id)
        return queryset.none()
