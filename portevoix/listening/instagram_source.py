"""Instagram as a listening source: hashtags, and the media the account is tagged in.

Instagram offers no search of words. What the Graph API offers, with the token of a connected
Instagram business or creator account (the linked page's token) and Meta's *Instagram Public
Content Access* feature:

* **a hashtag** (``instagram-hashtag``): ``GET /ig_hashtag_search?user_id=…&q=…`` gives the
  hashtag's id (static and global: asked once, kept), then ``GET /{hashtag-id}/recent_media
  ?user_id=…&fields=…`` the media of the last 24 hours that carry it
  (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/
  hashtag-search). **Meta allows 30 different hashtags per account in a rolling 7 days**,
  counted from each hashtag's first query: Porte-voix counts them (:class:`InstagramHashtagUse`)
  and refuses a 31st when the source is added, naming the day one frees up; Graph's own
  refusal stops the source with the same words. Hashtag media carry no author (Meta leaves it
  out): such a mention has no handle and no reach.
* **tagged media** (``instagram-tags``): ``GET /{ig-user-id}/tags`` — media by others that tag
  the account, with their author's username; the ones the inbox already took in (the channel's
  synchronisation reads the same edge) are left to the inbox.

Cursor: the newest ``timestamp`` read (ISO 8601). Each read takes what is newer, up to three
pages of 50; the edges give the newest first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from portevoix.core.sentences import Sentence
from portevoix.networks import meta
from portevoix.networks.errors import AuthExpired, NetworkError, RateLimited

from . import pipeline, sources
from .models import InstagramHashtagUse, ListeningSource

#: Meta's limit: different hashtags per account in a rolling week.
HASHTAG_LIMIT = 30
HASHTAG_WINDOW = timedelta(days=7)
MAX_PAGES = 3
MEDIA_FIELDS = "id,caption,media_type,permalink,timestamp,like_count,comments_count"
TAG_FIELDS = "id,caption,username,timestamp,permalink,media_type"


def normalise(hashtag: str) -> str:
    return hashtag.strip().lstrip("#").casefold()


def hashtags_in_use(account_id: str, *, now: datetime | None = None) -> list[InstagramHashtagUse]:
    """The hashtags that count against the account's 30 now (first queried in the last 7 days)."""
    since = (now or timezone.now()) - HASHTAG_WINDOW
    return list(
        InstagramHashtagUse.objects.filter(account_id=account_id, first_used_at__gt=since).order_by(
            "first_used_at"
        )
    )


def reserve(account_id: str, hashtag: str, *, now: datetime | None = None) -> str | None:
    """Count ``hashtag`` for the account; None, or the refusal (in English; the action words
    it for the form) when it would be the 31st different hashtag of the week. Returns the day
    the oldest frees up in the message."""
    now = now or timezone.now()
    in_use = hashtags_in_use(account_id, now=now)
    if any(u.hashtag == hashtag for u in in_use):
        return None
    if len(in_use) >= HASHTAG_LIMIT:
        return (in_use[0].first_used_at + HASHTAG_WINDOW).isoformat()
    with transaction.atomic():
        use, created = InstagramHashtagUse.objects.select_for_update().get_or_create(
            account_id=account_id, hashtag=hashtag, defaults={"first_used_at": now}
        )
        if not created and use.first_used_at <= now - HASHTAG_WINDOW:
            use.first_used_at = now  # a new week for this hashtag: it counts again from now
            use.save(update_fields=["first_used_at"])
    return None


def _time(value: Any) -> datetime | None:
    return meta.parse_time(value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _refused(error: NetworkError) -> Exception:
    if isinstance(error, AuthExpired):
        return sources.SourceRefused(
            "Instagram no longer accepts the channel's token: reconnect the channel.",
            sentence=Sentence(
                gettext_noop(
                    "Instagram no longer accepts the token of the channel this source reads "
                    "with (expired or revoked): reconnect the channel, then start the source "
                    "again."
                )
            ),
        )
    if isinstance(error, RateLimited):
        return sources.SourceWaiting(
            error.reset_at or timezone.now() + timedelta(hours=1),
            Sentence(gettext_noop("Instagram asks to slow down: reading again later.")),
        )
    if error.retryable:
        return error
    return sources.SourceRefused(
        f"Instagram refused: {error}",
        sentence=Sentence(gettext_noop("Instagram refused: %(reason)s"), {"reason": str(error)}),
    )


def _hashtag_limit_refusal(error: NetworkError) -> bool:
    """Graph's refusal of a 31st hashtag: error code 24 in the answer (``code`` is
    ``24/<subcode>`` as meta.GraphClient keeps it), or a message that speaks of the limit."""
    text = str(error).casefold()
    return error.code.split("/", 1)[0] == "24" or ("hashtag" in text and "limit" in text)


def hashtag_limit_reached() -> sources.SourceRefused:
    return sources.SourceRefused(
        "Instagram refuses: this account searched 30 different hashtags in 7 days.",
        sentence=Sentence(
            gettext_noop(
                "Instagram refuses: this account already searched 30 different hashtags in the "
                "last 7 days (Meta's limit). Start the source again once one frees up."
            )
        ),
    )


def _graph(source: ListeningSource) -> tuple[Any, str]:
    network = sources.channel_client(source)
    return network.graph, network.credentials.get("ig_user_id")


def _hashtag_id(source: ListeningSource, graph: Any, user_id: str) -> str:
    tag = normalise(source.target)
    use = InstagramHashtagUse.objects.filter(account_id=user_id, hashtag=tag).first()
    if use is not None and use.hashtag_id:
        return use.hashtag_id
    try:
        answer = graph.get(
            "ig_hashtag_search", {"user_id": user_id, "q": tag}, action="finding the hashtag"
        )
    except NetworkError as error:
        if not isinstance(error, AuthExpired | RateLimited) and _hashtag_limit_refusal(error):
            raise hashtag_limit_reached() from None
        raise _refused(error) from None
    rows = answer.get("data") or []
    found = str(rows[0].get("id") or "") if rows and isinstance(rows[0], dict) else ""
    if not found:
        raise sources.SourceRefused(
            f"Instagram knows no hashtag #{tag}.",
            sentence=Sentence(gettext_noop("Instagram knows no hashtag #%(tag)s."), {"tag": tag}),
        )
    InstagramHashtagUse.objects.update_or_create(
        account_id=user_id, hashtag=tag, defaults={"hashtag_id": found}
    )
    return found


def _walk(
    source: ListeningSource,
    graph: Any,
    path: str,
    params: dict[str, Any],
    to_post: Any,
    *,
    skip: Any = None,
) -> tuple[int, int]:
    cursor = _time(source.cursor) if source.cursor else None
    newest = cursor
    read = stored = 0
    params = {**params, "limit": 50}
    for _page in range(MAX_PAGES):
        try:
            answer = graph.get(path, params, action="listening")
        except NetworkError as error:
            raise _refused(error) from None
        rows = [r for r in answer.get("data") or [] if isinstance(r, dict) and r.get("id")]
        posts = [p for p in (to_post(r) for r in rows) if p is not None]
        fresh = [p for p in posts if cursor is None or p.posted_at > cursor]
        if skip is not None:
            fresh = skip(fresh)
        now_stored = pipeline.ingest(source, fresh) if fresh else 0
        latest = max((p.posted_at for p in posts), default=None)
        if latest is not None and (newest is None or latest > newest):
            newest = latest
        sources.commit(
            source, cursor=None, read=len(fresh), stored=now_stored, last_event_at=latest
        )
        read += len(fresh)
        stored += now_stored
        after = ((answer.get("paging") or {}).get("cursors") or {}).get("after")
        oldest = min((p.posted_at for p in posts), default=None)
        if cursor is None or not after or oldest is None or oldest <= cursor:
            break
        params["after"] = after
    if newest is not None and (cursor is None or newest > cursor):
        sources.commit(source, cursor=_iso(newest), read=0, stored=0)
    return read, stored


def _media_post(row: dict[str, Any], *, author: str = "") -> pipeline.PublicPost | None:
    text = str(row.get("caption") or "")
    posted = _time(row.get("timestamp"))
    if not text.strip() or posted is None:
        return None
    return pipeline.PublicPost(
        external_id=str(row["id"]),
        network="instagram",
        text=text,
        posted_at=posted,
        author_handle=author,
        url=str(row.get("permalink") or ""),
    )


def read_hashtag_slice(source: ListeningSource) -> tuple[int, int]:
    graph, user_id = _graph(source)
    hashtag = _hashtag_id(source, graph, user_id)
    return _walk(
        source,
        graph,
        f"{hashtag}/recent_media",
        {"user_id": user_id, "fields": MEDIA_FIELDS},
        _media_post,
    )


def read_tags_slice(source: ListeningSource) -> tuple[int, int]:
    from portevoix.inbox.models import InboundMessage

    graph, user_id = _graph(source)

    def not_in_inbox(posts: list[pipeline.PublicPost]) -> list[pipeline.PublicPost]:
        taken = set(
            InboundMessage.objects.filter(
                channel__network="instagram",
                channel__account_id=source.channel.account_id if source.channel else "",
                message_id__in=[p.external_id for p in posts],
            ).values_list("message_id", flat=True)
        )
        return [p for p in posts if p.external_id not in taken]

    def tagged(row: dict[str, Any]) -> pipeline.PublicPost | None:
        username = str(row.get("username") or "")
        return _media_post(row, author=username)

    return _walk(
        source, graph, f"{user_id}/tags", {"fields": TAG_FIELDS}, tagged, skip=not_in_inbox
    )
