"""The product's short links: made when a post that asks for them goes out, followed by the
public redirect ``/l/<code>``, which counts a click per link per day.

A short link only ever sends to a target the product stored when the post went out: the
redirect reads the code, never a URL from the request, so it is no open redirect.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from portevoix.publishing.utm import LINK

from .models import LinkClicks, ShortLink

if TYPE_CHECKING:
    from django.http import HttpRequest

    from portevoix.publishing.models import Publication

#: 9 random bytes, 12 URL-safe characters: about 7×10^21 codes, not worth guessing.
CODE_BYTES = 9
CODE_LENGTH = 12
CODE = re.compile(r"^[A-Za-z0-9_-]{12}$")
#: Shown by the composer's preview in place of a code not made yet (the same length).
PREVIEW_CODE = "x" * CODE_LENGTH

#: User agents that announce a robot, a link preview or a prefetch (lower case).
ROBOTS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|facebookcatalog|embedly|"
    r"whatsapp|telegram|discord|skypeuripreview|quora link|outbrain|pinterest|vkshare|"
    r"w3c_validator|headless|lighthouse|curl/|wget/|python-requests|httpx|go-http-client|"
    r"okhttp|java/|libwww|scrapy|feedfetcher|mediapartners",
    re.IGNORECASE,
)


def base() -> str:
    return f"{settings.PORTEVOIX_BASE_URL.rstrip('/')}/l/"


def short_url(code: str) -> str:
    return f"{base()}{code}"


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def short_link_for(publication: Publication, target: str) -> ShortLink:
    """This publication's short link to ``target``: the same one every time it is asked."""
    found: ShortLink | None = ShortLink.objects.filter(
        publication=publication, target=target
    ).first()
    if found is not None:
        return found
    post = publication.post
    link = ShortLink(
        workspace_id=post.workspace_id,
        code=new_code(),
        target=target,
        publication=publication,
        post=post,
        channel_id=publication.channel_id,
        campaign_id=post.campaign_id,
    )
    try:
        with transaction.atomic():
            link.save()
    except IntegrityError:
        # Made at the same moment by another process (a preview and the worker).
        made: ShortLink = ShortLink.objects.get(publication=publication, target=target)
        return made
    return link


def shorten_links(publication: Publication, text: str) -> str:
    """Every web link of ``text`` as this publication's short link (ours stay as they are)."""
    prefix = base()

    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        if url.startswith(prefix) or len(url) > 2000:
            return url
        return short_url(short_link_for(publication, url).code)

    return LINK.sub(one, text) if text else text


def preview_links(text: str) -> str:
    """What the composer shows before the post is saved: each link as a short link to come."""
    prefix = base()
    return (
        LINK.sub(
            lambda m: m.group(0) if m.group(0).startswith(prefix) else short_url(PREVIEW_CODE),
            text,
        )
        if text
        else text
    )


def is_robot(request: HttpRequest) -> bool:
    """A visit that says it is a robot, a link preview or a prefetch: not counted."""
    if request.method != "GET":
        return True
    headers = request.headers
    for name in ("Purpose", "Sec-Purpose", "X-Purpose", "X-Moz"):
        value = headers.get(name, "").lower()
        if "prefetch" in value or "preview" in value or "prerender" in value:
            return True
    agent = headers.get("User-Agent", "")
    return not agent or bool(ROBOTS.search(agent))


def count_click(link: ShortLink, *, day: dt.date | None = None) -> None:
    """One more click on ``link`` today (UTC): one UPDATE of the day's counter row."""
    day = day or timezone.now().astimezone(dt.UTC).date()
    rows = LinkClicks.objects.filter(link=link, day=day)
    if rows.update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            LinkClicks.objects.create(link=link, day=day, count=1)
    except IntegrityError:
        rows.update(count=F("count") + 1)
