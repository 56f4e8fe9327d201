"""Listening: what the brand listens for (queries), where it listens (sources), what it heard
(mentions). See ``docs/listening.md``."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Workspace
from portevoix.core.permissions import RestrictedQuerySet


class QueryKind(models.TextChoices):
    BRAND = "brand", _("Brand")
    PRODUCT = "product", _("Product")
    EXECUTIVE = "executive", _("Executive")
    COMPETITOR = "competitor", _("Competitor")
    INDUSTRY = "industry", _("Industry term")
    HASHTAG = "hashtag", _("Hashtag")


#: Kinds that speak of the brand itself, for the share of voice against competitors.
OWN_KINDS = frozenset({QueryKind.BRAND, QueryKind.PRODUCT, QueryKind.EXECUTIVE})


class ListeningQuery(models.Model):
    """One thing the workspace listens for, written in the query language (query.py)."""

    VIEW_ACTION = "listening.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="listening_queries"
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=QueryKind.choices)
    text = models.TextField(_("query"))
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["kind", "name", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="listening_query_name_unique"
            ),
        ]
        verbose_name = _("listening query")
        verbose_name_plural = _("listening queries")

    def __str__(self) -> str:
        return self.name


class ListeningSource(models.Model):
    """A public stream read for every workspace at once, with where reading stopped."""

    name = models.SlugField(_("name"), max_length=60, unique=True)
    network = models.CharField(_("network"), max_length=20)
    #: Opaque to everyone but the source's reader (the sandbox: the last interaction id).
    cursor = models.CharField(_("cursor"), max_length=200, blank=True)
    read_at = models.DateTimeField(_("last read"), null=True, blank=True)
    items_read = models.PositiveBigIntegerField(_("items read"), default=0)
    mentions_stored = models.PositiveBigIntegerField(_("mentions stored"), default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("listening source")
        verbose_name_plural = _("listening sources")

    def __str__(self) -> str:
        return self.name


class Mention(models.Model):
    """A public post that matched at least one of a workspace's queries: one row per post
    and workspace, however often the source delivered it."""

    VIEW_ACTION = "listening.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="mentions")
    source = models.ForeignKey(ListeningSource, on_delete=models.PROTECT, related_name="+")
    network = models.CharField(_("network"), max_length=20)
    external_id = models.CharField(max_length=300)
    author_handle = models.CharField(_("author"), max_length=300)
    author_name = models.CharField(max_length=300, blank=True)
    #: The author's followers when the post was read.
    author_reach = models.PositiveIntegerField(_("reach"), default=0)
    text = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=12, blank=True)
    url = models.CharField(max_length=500, blank=True)
    posted_at = models.DateTimeField(_("posted"))
    received_at = models.DateTimeField(default=timezone.now)
    queries = models.ManyToManyField(ListeningQuery, related_name="mentions", blank=True)
    sentiment = models.CharField(_("sentiment"), max_length=12, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    intent = models.CharField(_("intent"), max_length=20, blank=True)
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idea = models.ForeignKey(
        "publishing.Idea", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-posted_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"], name="mention_once_per_source"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["workspace", "posted_at"], name="mention_ws_time_idx"),
        ]
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")

    def __str__(self) -> str:
        return f"@{self.author_handle}: {self.text[:40]}"

    @property
    def ref(self) -> str:
        return f"mention:{self.pk}"
