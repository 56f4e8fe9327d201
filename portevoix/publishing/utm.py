"""UTM tags on the links of a post, per channel and campaign.

Analytics tools read where a visit came from in ``utm_source`` (the channel), ``utm_medium``
(``social``) and ``utm_campaign`` (the campaign). :func:`tag_links` adds them to every web
link of a text when the post asks for it (``Post.add_utm``), at the moment the post is put
together for a network (``Publication.outgoing``), so the preview, the check against the
network's limits, the call and the reconcile all see the same text. A link that already has
UTM tags keeps its own.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils.text import slugify

#: A web link as people write it in a post; trailing punctuation is not part of it.
LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}»]", re.IGNORECASE)


def tags_for(channel_name: str, campaign_name: str | None) -> dict[str, str]:
    tags = {"utm_source": slugify(channel_name) or "social", "utm_medium": "social"}
    if campaign_name:
        tags["utm_campaign"] = slugify(campaign_name) or "campaign"
    return tags


def tag_link(url: str, tags: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key.lower().startswith("utm_") for key, _value in query):
        return url
    query.extend(tags.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def tag_links(text: str, tags: dict[str, str]) -> str:
    if not text:
        return text
    return LINK.sub(lambda match: tag_link(match.group(0), tags), text)
