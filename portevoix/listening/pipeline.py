"""From a source's public posts to mentions: match, label what matched, store once.

``ingest(source, posts)`` takes one batch of :class:`PublicPost` read from ``source`` (a stream
delivers at least once: a batch may repeat posts already stored) and:

1. matches every post against every active query of every workspace, with one automaton
   (:func:`current_matcher`, rebuilt when a query changes);
2. per workspace, drops the posts it already holds from this network (one query for the
   batch's ids);
3. labels the rest with triage in one call per workspace (its corrections apply), outside any
   transaction, like the inbox's ingestion: only posts that matched are labelled;
4. stores them in one transaction under a lock on the rows of every source of the network,
   checking again what is new there (two readers, of one stream or of two Mastodon instances
   that both know a post, store each post once), with the queries each matched.

A post is known by its network's own identifier (Bluesky's ``at://`` URI, Mastodon's ``uri``,
the same on every instance), so the same post is one mention per workspace whichever source
read it. The unique constraint (workspace, source, external id) is the last guard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.db import transaction
from django.db.models import Count, Max

from portevoix.core.models import Workspace
from portevoix.core.text import valid_unicode_fields
from portevoix.triage.batch import label_page

from .matcher import Matcher
from .models import ListeningQuery, ListeningSource, Mention
from .query import QuerySyntaxError, parse


@dataclass(frozen=True, slots=True)
class PublicPost:
    """A public post as a source delivers it."""

    external_id: str
    network: str
    text: str
    posted_at: datetime
    author_handle: str
    author_name: str = ""
    #: The author's id on the network (a DID, a user id), when the source gives one that the
    #: network's inbox also uses: a mention sent to the inbox then joins that customer.
    author_id: str = ""
    author_reach: int = 0
    language: str = ""
    url: str = ""


_lock = threading.Lock()
_cached: tuple[tuple[object, ...], Matcher] | None = None


def _version() -> tuple[object, ...]:
    found = ListeningQuery.objects.filter(is_active=True).aggregate(
        n=Count("pk"), last=Max("updated_at"), top=Max("pk")
    )
    return (found["n"], found["last"], found["top"])


def current_matcher() -> Matcher:
    """The automaton of every active query of every workspace, keyed ``(workspace_id,
    query_id)``; rebuilt when a query is added, changed, switched off or deleted."""
    global _cached
    version = _version()
    with _lock:
        if _cached is not None and _cached[0] == version:
            return _cached[1]
    queries: list[tuple[Hashable, object]] = []
    for pk, workspace_id, text in ListeningQuery.objects.filter(is_active=True).values_list(
        "pk", "workspace_id", "text"
    ):
        try:
            queries.append(((workspace_id, pk), parse(text)))
        except QuerySyntaxError:
            continue  # saved before a rule tightened: it matches nothing until fixed
    matcher = Matcher(queries)  # type: ignore[arg-type]
    with _lock:
        _cached = (version, matcher)
    return matcher


def guess_language(text: str) -> str:
    """The language triage will store for a post that came without one ("" if it cannot
    tell), for a query's ``lang:`` (asked only then: most posts carry their language)."""
    from portevoix.triage.engine import get_pipeline
    from portevoix.triage.labels import Language

    language, _confidence = get_pipeline().detect_language(text)
    return "" if language == Language.UNKNOWN else language.value


def match(posts: Sequence[PublicPost]) -> dict[int, list[tuple[PublicPost, list[int]]]]:
    """For each workspace, the posts that matched and the ids of the queries each matched."""
    matcher = current_matcher()
    found: dict[int, list[tuple[PublicPost, list[int]]]] = {}
    for post in posts:
        keys = matcher.match(post.text, post.language, post.author_handle, guess_language)
        if not keys:
            continue
        by_workspace: dict[int, list[int]] = {}
        for key in keys:
            ws_pk, query_pk = cast(tuple[int, int], key)
            by_workspace.setdefault(ws_pk, []).append(query_pk)
        for workspace_id, query_ids in by_workspace.items():
            found.setdefault(workspace_id, []).append((post, query_ids))
    return found


def _known(workspace_id: int, source: ListeningSource, ids: set[str]) -> set[str]:
    """The posts of ``ids`` the workspace already holds from any source of the same network
    (a Mastodon post read on two instances, a Bluesky post read twice around a cursor), and
    those it erased (a person's request, retention): neither is stored again."""
    from portevoix.privacy.tombstones import buried, mention_scope

    stored = set(
        Mention.objects.filter(
            workspace_id=workspace_id, network=source.network, external_id__in=ids
        ).values_list("external_id", flat=True)
    )
    return stored | buried(workspace_id, mention_scope(source.network), ids - stored)


#: Completes matched posts with what the stream lacks (the author's reach on Bluesky): called
#: once per batch with the posts that matched, outside any transaction; it returns them,
#: completed where it could. An optional call: it must not raise.
Enrich = Callable[[list[PublicPost]], list[PublicPost]]


def ingest(
    source: ListeningSource, posts: Sequence[PublicPost], *, enrich: Enrich | None = None
) -> int:
    """Store the posts of ``posts`` that match some workspace's queries and are new there.
    Returns the number of mentions stored."""
    if not posts:
        return 0
    posts = [valid_unicode_fields(p) for p in {p.external_id: p for p in posts}.values()]
    stored = 0
    matches = match(posts)
    if enrich is not None and matches:
        wanted = {p.external_id: p for found in matches.values() for p, _ in found}
        completed = {p.external_id: p for p in enrich(list(wanted.values()))}
        matches = {
            ws: [(completed.get(p.external_id, p), q) for p, q in found]
            for ws, found in matches.items()
        }
        # An author the stream named only by an id (a Bluesky DID) now has a handle: matched
        # again, so that ``-author:lumiere`` leaves the brand's own posts out.
        renamed = {
            key
            for key, post in completed.items()
            if post.author_handle != wanted[key].author_handle
        }
        if renamed:
            again = match([completed[key] for key in renamed])
            kept = {
                ws: [(p, q) for p, q in found if p.external_id not in renamed]
                for ws, found in matches.items()
            }
            matches = {
                ws: kept.get(ws, []) + again.get(ws, [])
                for ws in kept.keys() | again.keys()
                if kept.get(ws) or again.get(ws)
            }
    for workspace_id, matched in matches.items():
        known = _known(workspace_id, source, {p.external_id for p, _ in matched})
        fresh = [(p, q) for p, q in matched if p.external_id not in known]
        if not fresh:
            continue
        workspace = Workspace.objects.get(pk=workspace_id)
        labels = label_page(
            [{"text": p.text, "channel": p.network, "kind": "mention"} for p, _ in fresh],
            workspace=workspace,
        )
        stored += _store(source, workspace_id, fresh, labels)
    return stored


def _store(
    source: ListeningSource,
    workspace_id: int,
    fresh: list[tuple[PublicPost, list[int]]],
    labels: list[object],
) -> int:
    with transaction.atomic():
        # Every source of the network, in one order: two readers of the same posts (one
        # stream, or two instances) store each once.
        list(
            ListeningSource.objects.select_for_update()
            .filter(network=source.network)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        known = _known(workspace_id, source, {p.external_id for p, _ in fresh})
        rows: list[Mention] = []
        wanted: list[list[int]] = []
        for (post, query_ids), label in zip(fresh, labels, strict=True):
            if post.external_id in known:
                continue
            known.add(post.external_id)
            language = post.language or label.language.value  # type: ignore[attr-defined]
            rows.append(
                Mention(
                    workspace_id=workspace_id,
                    source=source,
                    network=post.network[:20],
                    external_id=post.external_id[:300],
                    author_handle=post.author_handle[:300],
                    author_id=post.author_id[:300],
                    author_name=post.author_name[:300],
                    author_reach=max(0, int(post.author_reach or 0)),
                    text=post.text,
                    language=language[:12],
                    url=post.url[:500],
                    posted_at=post.posted_at,
                    sentiment=label.sentiment.value,  # type: ignore[attr-defined]
                    sentiment_score=label.sentiment_score,  # type: ignore[attr-defined]
                    intent=label.intent.value,  # type: ignore[attr-defined]
                )
            )
            wanted.append(query_ids)
        if not rows:
            return 0
        Mention.objects.bulk_create(rows, batch_size=500)
        if rows[0].pk is None:  # pragma: no cover - databases without RETURNING
            by_id = {
                m.external_id: m.pk
                for m in Mention.objects.filter(
                    workspace_id=workspace_id,
                    source=source,
                    external_id__in=[r.external_id for r in rows],
                )
            }
            for row in rows:
                row.pk = by_id[row.external_id]
        through = Mention.queries.through
        through.objects.bulk_create(
            [
                through(mention_id=row.pk, listeningquery_id=query_id)
                for row, query_ids in zip(rows, wanted, strict=True)
                for query_id in dict.fromkeys(query_ids)
            ],
            batch_size=1000,
        )
    return len(rows)
