"""Every change to the media library: upload, describe and tag, archive, renditions."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from portevoix.channels.models import Channel, ChannelStates
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require
from portevoix.media import processing
from portevoix.media.models import Asset, AssetKind, Rendition, Tag
from portevoix.media.specs import spec_for
from portevoix.networks import registry
from portevoix.networks.errors import NetworkError
from portevoix.networks.types import Limits

#: The largest file the library takes (a video for the most generous network).
MAX_UPLOAD_BYTES = 250_000_000
ASSET_FIELDS = ["name", "alt_text"]


def channel_networks(channels: Iterable[Channel]) -> dict[str, Limits]:
    """Each network among ``channels``, with the strictest image size limit of its servers."""
    found: dict[str, Limits] = {}
    for channel in channels:
        try:
            limits = channel.cached_limits()
        except NetworkError:
            continue
        known = found.get(channel.network)
        if known is None or (limits.max_image_bytes or 1 << 62) < (
            known.max_image_bytes or 1 << 62
        ):
            found[channel.network] = limits
    return found


def workspace_networks(workspace: Workspace) -> dict[str, Limits]:
    channels = Channel.objects.filter(workspace=workspace).exclude(
        state=ChannelStates.disconnected.name
    )
    return channel_networks(channels)


def _prepare(asset: Asset, data: bytes, networks: dict[str, Limits]) -> None:
    """Renditions (images) or checks (videos) for each network not done yet."""
    info = processing.FileInfo(
        asset.kind, asset.mime_type, asset.width, asset.height, asset.frames, asset.duration
    )
    done = set(asset.renditions.values_list("network", flat=True))
    checks = dict(asset.checks)
    for network, limits in sorted(networks.items()):
        if network in done or (asset.kind == AssetKind.VIDEO and network in checks):
            continue
        spec = spec_for(network)
        if asset.kind == AssetKind.VIDEO:
            try:
                capabilities = registry.get(network).capabilities
            except NetworkError:
                continue
            checks[network] = processing.check_video(
                info, asset.size, capabilities=capabilities, limits=limits, spec=spec
            )
            continue
        result = processing.render_image(data, spec, limits)
        if isinstance(result, dict):
            checks[network] = [result]
            continue
        checks[network] = []
        rendition = Rendition(
            asset=asset,
            network=network,
            mime_type=result.mime_type,
            width=result.width,
            height=result.height,
            size=len(result.data),
        )
        stem = os.path.splitext(os.path.basename(asset.file.name or "media"))[0]
        rendition.file.save(f"{stem}.{result.extension}", ContentFile(result.data), save=False)
        rendition.save()
    if checks != asset.checks:
        asset.checks = checks
        asset.save(update_fields=["checks"])


def ensure_renditions(assets: Sequence[Asset], channels: Iterable[Channel]) -> None:
    """Make what is missing for these channels' networks (a channel connected after the
    upload); called by the actions that put assets in a post."""
    networks = channel_networks(channels)
    for asset in assets:
        missing = {
            n: limits
            for n, limits in networks.items()
            if n not in asset.checks and not any(r.network == n for r in asset.renditions.all())
        }
        if missing:
            with asset.file.open("rb") as handle:
                data = handle.read()
            _prepare(asset, data, missing)


def _tags(workspace: Workspace, names: Iterable[str]) -> list[Tag]:
    tags = []
    for raw in names:
        name = raw.strip()[:40]
        if name:
            tags.append(Tag.objects.get_or_create(workspace=workspace, name=name)[0])
    return tags


@transaction.atomic
def upload(
    workspace: Workspace,
    *,
    by: Member | None,
    filename: str,
    data: bytes,
    alt_text: str = "",
    tags: Sequence[str] = (),
    networks: dict[str, Limits] | None = None,
) -> Asset:
    """A new library item: read from its bytes, its renditions made for every network the
    workspace publishes to (or ``networks``), the original kept."""
    if by is not None:
        require(by, "post.create")
        _same_workspace(by, workspace)
    name = os.path.basename(filename or "media")[:200] or "media"
    if len(data) > MAX_UPLOAD_BYTES:
        raise ActionRefused(
            processing.refusal_message(
                processing.MediaRefused("too_large", size=len(data), limit=MAX_UPLOAD_BYTES), name
            ),
            field="file",
            code="too_large",
        )
    try:
        info = processing.read(data)
    except processing.MediaRefused as exc:
        raise ActionRefused(
            processing.refusal_message(exc, name), field="file", code=exc.code
        ) from None
    if len(alt_text) > 1500:
        raise ActionRefused(_("A description has at most 1,500 characters."), field="alt_text")
    asset = Asset(
        workspace=workspace,
        name=name,
        kind=info.kind,
        mime_type=info.mime_type,
        size=len(data),
        width=info.width,
        height=info.height,
        frames=info.frames,
        duration=info.duration,
        alt_text=alt_text,
        uploaded_by=by.user if by is not None else None,
    )
    asset.file.save(get_valid_filename(name) or "media", ContentFile(data), save=False)
    asset.save()
    asset.tags.set(_tags(workspace, tags))
    _prepare(asset, data, workspace_networks(workspace) if networks is None else networks)
    audit.record(
        "media.upload",
        workspace=workspace,
        actor=asset.uploaded_by,
        obj=asset,
        after={"name": name, "kind": info.kind, "size": len(data), "tags": list(tags)},
    )
    return asset


@transaction.atomic
def update_asset(
    asset: Asset, *, by: Member, name: str, alt_text: str, tags: Sequence[str]
) -> Asset:
    require(by, "post.create")
    _same_workspace(by, asset.workspace)
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    if not name.strip():
        raise ActionRefused(_("Give this item a name."), field="name")
    if len(alt_text) > 1500:
        raise ActionRefused(_("A description has at most 1,500 characters."), field="alt_text")
    before: dict[str, Any] = {
        **audit.snapshot(asset, ASSET_FIELDS),
        "tags": sorted(t.name for t in asset.tags.all()),
    }
    asset.name = name.strip()[:200]
    asset.alt_text = alt_text
    asset.save(update_fields=ASSET_FIELDS)
    asset.tags.set(_tags(asset.workspace, tags))
    audit.record(
        "media.update",
        workspace=asset.workspace,
        actor=by.user,
        obj=asset,
        before=before,
        after={
            **audit.snapshot(asset, ASSET_FIELDS),
            "tags": sorted(t.name for t in asset.tags.all()),
        },
    )
    return asset


@transaction.atomic
def archive_asset(asset: Asset, *, by: Member, archived: bool = True) -> Asset:
    """Hide an item from the library (or bring it back). Posts that use it keep it: its
    files stay until nothing refers to them."""
    require(by, "post.create")
    _same_workspace(by, asset.workspace)
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    asset.archived_at = timezone.now() if archived else None
    asset.save(update_fields=["archived_at"])
    audit.record(
        "media.archive" if archived else "media.restore",
        workspace=asset.workspace,
        actor=by.user,
        obj=asset,
    )
    return asset
