"""The choices a network asks of the author for each post, for every way in.

TikTok's audit ("Required UX Implementation" of the Content Posting API guidelines) asks
the author to choose who can see the post (no default), which interactions to allow, whether
the post is commercial (their brand, branded content) and to consent to TikTok's policies.
The composer asks them in its TikTok panel (``publishing/_tiktok_choices.html``); the API
takes them named as in TikTok's API (``privacy_level``, ``disable_comment``...); the CLI and the
CSV import take them as words (``tiktok_privacy_level``, ``tiktok_allow``,
``tiktok_disclose``, ``tiktok_consent``). All of them end up as the composer's options
(``Publication.network_options``) and are checked by :func:`problems` with
``tiktok.audit_problems`` against the creator's options as last read, as the worker checks
them before it sends: a post is refused where it is made, never accepted and refused later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.networks import tiktok

#: The words of the CLI and the import (``tiktok_allow``, ``tiktok_disclose``).
INTERACTIONS = ("comment", "duet", "stitch")
DISCLOSURES = {"your_brand": tiktok.OPT_YOUR_BRAND, "branded_content": tiktok.OPT_BRANDED}
YES = frozenset({"yes", "oui", "true", "1", "on", "y", "o"})
NO = frozenset({"no", "non", "false", "0", "off", "n", ""})


def takes_choices(channel: Channel) -> bool:
    """Whether the channel's network asks the author for choices with each post."""
    return channel.network == "tiktok"


def from_post_info(info: Mapping[str, Any]) -> dict[str, str]:
    """The options from choices named as in TikTok's API (the API's ``network_options``)."""
    return tiktok.options_from_post_info(info)


def to_post_info(options: Mapping[str, str] | None) -> dict[str, Any] | None:
    """The options stored with a publication, named as in TikTok's API (None: none asked)."""
    if options is None:
        return None
    return tiktok.post_info_from_options(options)


def _words(value: str | Iterable[str]) -> list[str]:
    parts = value.split("|") if isinstance(value, str) else list(value)
    found: list[str] = []
    for part in parts:
        for word in str(part).replace(",", "|").split("|"):
            word = word.strip().lower()
            if word and word not in found:
                found.append(word)
    return found


def from_words(
    *,
    privacy_level: str = "",
    allow: str | Iterable[str] = (),
    disclose: str | Iterable[str] = (),
    consent: str | bool = False,
) -> dict[str, str]:
    """The options from the CLI's flags or the import's columns; an unknown word is refused
    (``ActionRefused`` with the column as ``field``)."""
    level = privacy_level.strip().upper()
    if level and level not in tiktok.PRIVACY_LEVELS:
        raise ActionRefused(
            _("TikTok: “%(value)s” is not a privacy level; write one of %(levels)s.")
            % {"value": privacy_level.strip(), "levels": ", ".join(tiktok.PRIVACY_LEVELS)},
            field="tiktok_privacy_level",
        )
    options: dict[str, str] = {tiktok.OPT_PRIVACY: level} if level else {}
    keys = {"comment": tiktok.OPT_COMMENT, "duet": tiktok.OPT_DUET, "stitch": tiktok.OPT_STITCH}
    for word in _words(allow):
        if word not in keys:
            raise ActionRefused(
                _("TikTok: “%(value)s” is not an interaction; write %(words)s.")
                % {"value": word, "words": "comment|duet|stitch"},
                field="tiktok_allow",
            )
        options[keys[word]] = "on"
    for word in _words(disclose):
        if word not in DISCLOSURES:
            raise ActionRefused(
                _("TikTok: “%(value)s” is not a disclosure; write %(words)s.")
                % {"value": word, "words": "your_brand|branded_content"},
                field="tiktok_disclose",
            )
        options[tiktok.OPT_DISCLOSE] = "on"
        options[DISCLOSURES[word]] = "on"
    if isinstance(consent, bool):
        agreed = consent
    else:
        word = consent.strip().lower()
        if word not in YES | NO:
            raise ActionRefused(
                _("TikTok: write yes or no for the consent, not “%(value)s”.")
                % {"value": consent.strip()},
                field="tiktok_consent",
            )
        agreed = word in YES
    if agreed:
        options[tiktok.OPT_CONSENT] = "on"
    return options


def problems(channel: Channel, options: Mapping[str, str], *, photos: bool = False) -> list[str]:
    """What TikTok refuses in these choices, in the reader's language, checked against the
    creator's options as last read (the channel's limits, which the worker checks too)."""
    if not takes_choices(channel):
        return []
    limits = channel.cached_limits()
    return tiktok.audit_problems(
        options,
        privacy_levels=limits.privacy_levels,
        interactions_disabled=limits.interactions_disabled,
        photos=photos,
    )


def publication_problems(publication: Any) -> list[str]:
    """:func:`problems` for a publication as it stands (its media say photos or video)."""
    options = publication.options_for_network()
    if options is None:
        return []
    photos = any(
        (m.mime_type or "").startswith("image/") for m in publication.media_rows()
    ) and not any((m.mime_type or "").startswith("video/") for m in publication.media_rows())
    return problems(publication.channel, options, photos=photos)
