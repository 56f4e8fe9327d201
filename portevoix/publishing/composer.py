"""The composer's form: one post, several channels, a variant per channel.

:func:`parse` reads the submitted form into a :class:`~portevoix.publishing.actions.Composition`
(the one the actions take) and the errors to show in place; :func:`checks` is the live
validation: for each channel, the text as that network counts it against the limits read
from its server, the problems it would refuse (in the reader's language where Porte-voix knows
the rule, in the network's words otherwise), the compliance findings, and a preview.

Field names: the post's own fields (``title``, ``text``, ``campaign``, ``channels``,
``media``, ``alt-<asset>``, ``when``, ``at``, ``time_zone``, ``add_utm``); each channel's
variant is prefixed ``v<channel id>-`` (``text``, ``link``, ``first_comment``, ``thread`` with
parts separated by a line ``---``, ``media`` and ``alt-<asset>`` for its own media).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import QueryDict
from django.utils.translation import gettext as _

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Workspace
from portevoix.media.models import Asset
from portevoix.networks.base import Network
from portevoix.networks.errors import NetworkError
from portevoix.networks.types import Capability, MediaItem, OutgoingPost, ThreadPart
from portevoix.publishing import scheduling, utm
from portevoix.publishing.actions import Composition, MediaChoice, Variant, When
from portevoix.publishing.models import Campaign, Post

THREAD_SEPARATOR = re.compile(r"^\s*---+\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class SizedMedia(MediaItem):
    """A media item known by its size, type and description (the composer checks them on
    every keystroke without reading the file)."""

    known_size: int = 0

    @property
    def size(self) -> int:
        return self.known_size


@dataclass
class Parsed:
    composition: Composition | None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def split_thread(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in THREAD_SEPARATOR.split(raw or "") if part.strip())


def join_thread(parts: list[dict[str, Any]]) -> str:
    return "\n---\n".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))


def _assets(workspace: Workspace, ids: list[str]) -> list[Asset]:
    wanted = [int(i) for i in ids if i.isdigit()]
    found = {
        a.pk: a
        for a in Asset.objects.filter(workspace=workspace, pk__in=wanted).prefetch_related(
            "renditions"
        )
    }
    ordered: list[Asset] = []
    for pk in wanted:
        if pk in found and found[pk] not in ordered:
            ordered.append(found[pk])
    return ordered


def network_options(channel: Channel, data: Any, prefix: str) -> dict[str, str]:
    """The choices the channel's network asks of the author, as the form sent them (TikTok:
    ``v<id>-tiktok_privacy``, ``v<id>-tiktok_consent``...); empty for other networks."""
    if channel.network != "tiktok":
        return {}
    from portevoix.networks.tiktok import OPTION_KEYS

    return {key: str(data.get(prefix + key, "")).strip()[:64] for key in OPTION_KEYS}


def parse(data: QueryDict, workspace: Workspace, channels: list[Channel]) -> Parsed:
    """The form as a composition; what is wrong stays in ``errors`` by field name."""
    result = Parsed(None)
    by_id = {c.pk: c for c in channels}
    chosen = [by_id[int(v)] for v in data.getlist("channels") if v.isdigit() and int(v) in by_id]
    if not chosen:
        result.add("channels", _("Choose at least one channel."))
    campaign = None
    campaign_id = str(data.get("campaign", ""))
    if campaign_id.isdigit():
        campaign = Campaign.objects.filter(workspace=workspace, pk=int(campaign_id)).first()
    media_assets = _assets(workspace, data.getlist("media"))
    post_media = tuple(MediaChoice(a, data.get(f"alt-{a.pk}", "").strip()) for a in media_assets)
    variants = []
    validate_url = URLValidator(schemes=["http", "https"])
    for channel in chosen:
        prefix = f"v{channel.pk}-"
        link = data.get(prefix + "link", "").strip()
        if link:
            try:
                validate_url(link)
            except ValidationError:
                result.add(prefix + "link", _("Enter a full web address (https://...)."))
        own: tuple[MediaChoice, ...] | None = None
        if data.get(prefix + "own_media"):
            own = tuple(
                MediaChoice(a, data.get(f"{prefix}alt-{a.pk}", "").strip())
                for a in _assets(workspace, data.getlist(prefix + "media"))
            )
        variants.append(
            Variant(
                channel=channel,
                text=data.get(prefix + "text", ""),
                link=link,
                first_comment=data.get(prefix + "first_comment", ""),
                thread=split_thread(data.get(prefix + "thread", "")),
                media=own,
                options=network_options(channel, data, prefix),
            )
        )
    when_raw = data.get("when", When.NOW)
    when = When(when_raw) if when_raw in {w.value for w in When} else When.NOW
    zone_name = data.get("time_zone", "").strip() or workspace.time_zone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        result.add("time_zone", _("Unknown time zone."))
        zone = ZoneInfo(workspace.time_zone)
    at = local = None
    raw_at = data.get("at", "").strip()
    if when in (When.AT, When.LOCAL):
        if not raw_at:
            result.add("at", _("Give the date and time."))
        else:
            try:
                naive = dt.datetime.fromisoformat(raw_at)
            except ValueError:
                result.add("at", _("Write the time as 2027-03-28 09:30."))
            else:
                if naive.tzinfo is not None and when == When.AT:
                    at = naive
                elif when == When.AT:
                    try:
                        at = scheduling.localize(naive, zone)
                    except scheduling.ScheduleTimeError as exc:
                        result.add("at", exc.message)
                else:
                    local = naive.replace(tzinfo=None)
    if result.errors:
        return result
    result.composition = Composition(
        text=data.get("text", ""),
        variants=tuple(variants),
        title=data.get("title", ""),
        campaign=campaign,
        media=post_media,
        add_utm=bool(data.get("add_utm")),
        short_links=bool(data.get("short_links")),
        when=when,
        at=at,
        local=local,
        time_zone=zone.key if when == When.AT else "",
    )
    return result


def refusal_errors(exc: ActionRefused) -> dict[str, list[str]]:
    return {exc.field or "__all__": [exc.message]}


# --- live validation ----------------------------------------------------------------------


@dataclass
class ChannelCheck:
    channel: Channel
    post: OutgoingPost
    counts: list[tuple[int, int]]  # (length as the network counts, its limit) per part
    problems: list[str]
    findings: list[Any]
    media: list[Asset]
    capabilities: frozenset[Capability]

    @property
    def ok(self) -> bool:
        return not self.problems and not any(getattr(f, "blocks", False) for f in self.findings)


def outgoing(composition: Composition, variant: Variant) -> tuple[OutgoingPost, list[Asset]]:
    """What would go out on this channel, as ``Publication.outgoing`` builds it."""
    channel = variant.channel
    tags = (
        utm.tags_for(channel.name, composition.campaign.name if composition.campaign else None)
        if composition.add_utm
        else None
    )

    def tagged(value: str) -> str:
        value = utm.tag_links(value, tags) if tags else value
        if composition.short_links:
            from portevoix.roi.shortlinks import preview_links

            value = preview_links(value)
        return value

    text = variant.text if variant.text.strip() else composition.text
    if variant.link and variant.link not in text:
        text = f"{text}\n{variant.link}" if text else variant.link
    choices = variant.media if variant.media is not None else composition.media
    items = []
    for choice in choices:
        asset = choice.asset
        rendition = asset.rendition_for(channel.network)
        items.append(
            SizedMedia(
                data=b"",
                mime_type=rendition.mime_type if rendition else asset.mime_type,
                alt_text=choice.alt_text or asset.alt_text,
                filename=asset.name,
                known_size=rendition.size if rendition else asset.size,
            )
        )
    post = OutgoingPost(
        text=tagged(text),
        media=tuple(items),
        thread=tuple(ThreadPart(tagged(part)) for part in variant.thread),
        first_comment=tagged(variant.first_comment),
        language=channel.workspace.language,
        options=dict(variant.options) if channel.network == "tiktok" else None,
    )
    return post, [c.asset for c in choices]


def network_problems(network: Network, post: OutgoingPost) -> list[str]:
    """The network's verdict, in the reader's language: every module's ``validate`` speaks
    through Django's translations (:mod:`portevoix.networks.i18n`)."""
    return network.validate(post)


def video_problems(network: Network, assets: list[Asset]) -> list[str]:
    """What the network refuses in each video itself (format, duration), read from the file
    when it was uploaded, in the reader's language. Size and "no video here" are the shared
    rules' (:func:`network_problems`)."""
    from portevoix.media import processing
    from portevoix.media.specs import spec_for

    problems: list[str] = []
    for asset in assets:
        if asset.kind != "video":
            continue
        info = processing.FileInfo(
            "video", asset.mime_type, asset.width, asset.height, 1, asset.duration
        )
        found = processing.check_video(
            info,
            asset.size,
            capabilities=network.capabilities,
            limits=network.limits,
            spec=spec_for(network.name),
        )
        problems.extend(
            f"{asset.name}: {processing.describe(p, network.label)}"
            for p in found
            if p.get("code") not in {"no_video", "too_heavy", "no_duration"}
        )
    return problems


def compliance_findings(post: OutgoingPost, channel: Channel) -> list[Any]:
    """THE place where compliance findings join the composer's live checks: the workspace's
    rules and brand guide (:func:`portevoix.publishing.compliance.check_draft`) on this
    channel's text and thread, with the reason and the words that break a rule."""
    from portevoix.publishing import compliance

    extra = {f"thread-{n}": part.text for n, part in enumerate(post.thread, start=1)}
    return list(compliance.check_draft(channel.workspace, post.text, [channel], **extra))


def checks(composition: Composition) -> list[ChannelCheck]:
    results = []
    for variant in composition.variants:
        channel = variant.channel
        post, assets = outgoing(composition, variant)
        try:
            network = channel.network_class(limits=channel.cached_limits())
        except NetworkError as exc:
            results.append(ChannelCheck(channel, post, [], [exc.message], [], assets, frozenset()))
            continue
        counts = [
            (network.text_length(part.text), network.limits.max_text_length)
            for part in post.parts()
        ]
        results.append(
            ChannelCheck(
                channel,
                post,
                counts,
                network_problems(network, post) + video_problems(network, assets),
                compliance_findings(post, channel),
                assets,
                network.capabilities,
            )
        )
    return results


# --- the form's initial values for an existing post -----------------------------------------


def initial(post: Post) -> dict[str, Any]:
    publications = list(post.publications.select_related("channel"))
    media = [m for m in post.media.all() if m.publication_id is None and m.asset_id]
    first = min((p.scheduled_at for p in publications), default=None)
    zone_name = post.time_zone or post.workspace.time_zone
    when = When.LOCAL if post.timing == "local" else When.AT
    at = ""
    if first is not None:
        if when == When.LOCAL:
            shown = first.astimezone(publications[0].channel.audience_zone)
        else:
            shown = first.astimezone(ZoneInfo(zone_name))
        at = shown.strftime("%Y-%m-%dT%H:%M")
    variants = {}
    for p in publications:
        own = [m for m in post.media.all() if m.publication_id == p.pk and m.asset_id]
        variants[p.channel_id] = {
            "text": p.text,
            "link": p.link,
            "first_comment": p.first_comment,
            "thread": join_thread(p.thread),
            "own_media": bool(own),
            "media": [m.asset_id for m in own],
            "alts": {m.asset_id: m.alt_text for m in own},
            "state": p.state,
            "options": dict(p.network_options or {}),
        }
    return {
        "title": post.title,
        "text": post.text,
        "campaign": post.campaign_id,
        "channels": [p.channel_id for p in publications if p.state != "cancelled"],
        "media": [m.asset_id for m in media],
        "alts": {m.asset_id: m.alt_text for m in media},
        "when": when,
        "at": at,
        "time_zone": zone_name,
        "add_utm": post.add_utm,
        "short_links": post.short_links,
        "variants": variants,
    }
