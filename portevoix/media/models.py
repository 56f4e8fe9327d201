"""The media library: every image and video of a workspace, with its renditions per network.

An :class:`Asset` keeps the file as it was uploaded (the original is never changed); each
image gets a :class:`Rendition` per network the workspace publishes to, resized to that
network's sizes and converted (``media.processing``), which is what goes out. A video is
checked against each network's duration, size and format; the result is kept in
``Asset.checks``. Posts use assets through ``publishing.PostMedia.asset``, which is how the
library knows where each item is used.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Workspace
from portevoix.core.permissions import RestrictedQuerySet


def asset_path(instance: Asset, filename: str) -> str:
    return f"library/{instance.workspace_id}/originals/{filename}"


def rendition_path(instance: Rendition, filename: str) -> str:
    return f"library/{instance.asset.workspace_id}/{instance.network}/{filename}"


class AssetKind(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")


class Tag(models.Model):
    VIEW_ACTION = "post.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="media_tags")
    name = models.CharField(_("name"), max_length=40)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="media_tag_unique")
        ]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Asset(models.Model):
    VIEW_ACTION = "post.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="media")
    #: The file as uploaded; renditions are made from it and it is never changed.
    file = models.FileField(upload_to=asset_path, max_length=300)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=AssetKind.choices)
    mime_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    #: Seconds, for a video.
    duration = models.FloatField(null=True, blank=True)
    #: More than one: an animated image (its renditions stay animated).
    frames = models.PositiveIntegerField(default=1)
    alt_text = models.TextField(_("description"), max_length=1500, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="assets", verbose_name=_("tags"))
    #: Per network name: the problems found at upload (``[{"code": ..., ...}]``), empty if
    #: it can go there. Shown translated by ``media.checks.describe``.
    checks = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("media item")
        verbose_name_plural = _("media items")

    def __str__(self) -> str:
        return self.name

    @property
    def is_image(self) -> bool:
        return self.kind == AssetKind.IMAGE

    @property
    def animated(self) -> bool:
        return self.frames > 1

    def rendition_for(self, network: str) -> Rendition | None:
        """This asset's version for ``network`` (from prefetched renditions when there are)."""
        for rendition in self.renditions.all():
            if rendition.network == network:
                return rendition
        return None


class Rendition(models.Model):
    """An image resized and converted for one network; what is published there."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="renditions")
    network = models.CharField(max_length=32)
    file = models.FileField(upload_to=rendition_path, max_length=300)
    mime_type = models.CharField(max_length=100)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "network"], name="rendition_unique")
        ]

    def __str__(self) -> str:
        return f"{self.asset} ({self.network}, {self.width}x{self.height})"
