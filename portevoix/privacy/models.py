"""How long a workspace keeps what people wrote to it (GDPR article 5(1)(e))."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Member, Workspace

#: The shortest and longest periods one may choose, in days.
MIN_DAYS = 30
MAX_DAYS = 3650


class RetentionPolicy(models.Model):
    """What the ``privacy-retention`` job deletes every day. Empty: kept until erased."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="retention")
    #: Closed conversations (resolved or spam) whose last message is older, with their messages
    #: and the customers left with nothing.
    conversations_days = models.PositiveIntegerField(
        _("closed conversations, in days"),
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_DAYS), MaxValueValidator(MAX_DAYS)],
    )
    #: Listening's mentions posted before.
    mentions_days = models.PositiveIntegerField(
        _("listening mentions, in days"),
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_DAYS), MaxValueValidator(MAX_DAYS)],
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    #: What the last run deleted: {"conversations": n, "messages": n, ...}.
    last_result = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")

    def __str__(self) -> str:
        # The audit log keeps this in no language, like the other settings: the workspace.
        return str(self.workspace)


class Tombstone(models.Model):
    """A message or a mention that was erased (or deleted by retention), so that a network
    delivering it again (a sync that re-reads a window, a search) does not bring it back.

    Only a keyed digest of the network's id is kept: nothing of the words or of the author.
    ``scope`` is where the id is unique: ``inbox:<channel id>`` or ``mention:<network>``.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=60)
    digest = models.CharField(max_length=32)
    buried_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "scope", "digest"], name="tombstone_once")
        ]
        verbose_name = _("erased item")
        verbose_name_plural = _("erased items")

    def __str__(self) -> str:
        return f"{self.scope}:{self.digest}"
