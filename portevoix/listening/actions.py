"""Every change listening makes: queries, and mentions sent to the inbox or the ideas backlog.

Each action checks permission, validates, writes, and records the audit entry in the same
transaction. Queries need ``listening.manage``; sending a mention to the inbox needs
``inbox.reply`` (the conversation lands in the inbox, to be answered), to the ideas backlog
``idea.propose`` (publishing's own action does the proposing), and both need
``listening.view`` and a mention still fresh (:data:`FRESH_FOR`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require

from .models import (
    AccountSide,
    FollowedAccount,
    ListeningQuery,
    ListeningSource,
    Mention,
    QueryKind,
    SourceKind,
)
from .query import QuerySyntaxError, parse

AUDIT_LABELS = {
    "listening.query_create": gettext_noop("Listening query created"),
    "listening.trend_to_idea": gettext_noop("Rising term made an idea"),
    "listening.query_update": gettext_noop("Listening query changed"),
    "listening.query_delete": gettext_noop("Listening query deleted"),
    "listening.to_inbox": gettext_noop("Mention sent to the inbox"),
    "listening.to_idea": gettext_noop("Mention sent to the ideas backlog"),
}

#: A mention older than this is history: it is no longer sent to the inbox or the backlog.
FRESH_FOR = dt.timedelta(days=3)


def is_fresh(mention: Mention, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) - mention.posted_at <= FRESH_FOR


def check_query(text: str) -> None:
    """Raise :class:`ActionRefused` (field ``text``) with the parser's message and position."""
    try:
        parse(text)
    except QuerySyntaxError as exc:
        refusal = ActionRefused(exc.message, code="syntax", field="text")
        refusal.syntax = exc  # type: ignore[attr-defined]
        raise refusal from exc


def _clean(workspace: Workspace, name: str, kind: str, text: str, pk: int | None) -> str:
    name = name.strip()
    if not name:
        raise ActionRefused(_("Give the query a name."), field="name")
    if kind not in QueryKind.values:
        raise ActionRefused(_("Choose what the query is about."), field="kind")
    clash = ListeningQuery.objects.filter(workspace=workspace, name__iexact=name)
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if clash.exists():
        raise ActionRefused(_("Another query already has this name."), field="name")
    check_query(text)
    return name


@transaction.atomic
def create_query(
    workspace: Workspace, *, by: Member, name: str, kind: str, text: str, is_active: bool = True
) -> ListeningQuery:
    require(by, "listening.manage")
    _same_workspace(by, workspace)
    name = _clean(workspace, name, kind, text, None)
    query = ListeningQuery.objects.create(
        workspace=workspace,
        name=name[:120],
        kind=kind,
        text=text.strip(),
        is_active=is_active,
        created_by=by.user,
    )
    audit.record(
        "listening.query_create",
        workspace=workspace,
        actor=by.user,
        obj=query,
        after={"name": query.name, "kind": kind, "text": query.text, "active": is_active},
    )
    return query


@transaction.atomic
def update_query(
    query: ListeningQuery, *, by: Member, name: str, kind: str, text: str, is_active: bool
) -> ListeningQuery:
    require(by, "listening.manage")
    query = ListeningQuery.objects.select_for_update().get(pk=query.pk)
    _same_workspace(by, query.workspace)
    name = _clean(query.workspace, name, kind, text, query.pk)
    before = {"name": query.name, "kind": query.kind, "text": query.text, "active": query.is_active}
    query.name, query.kind, query.text, query.is_active = name[:120], kind, text.strip(), is_active
    query.updated_at = timezone.now()
    query.save(update_fields=["name", "kind", "text", "is_active", "updated_at"])
    after = {"name": query.name, "kind": query.kind, "text": query.text, "active": query.is_active}
    audit.record(
        "listening.query_update",
        workspace=query.workspace,
        actor=by.user,
        obj=query,
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    return query


@transaction.atomic
def found_only_by(query: ListeningQuery) -> QuerySet[Mention]:
    """The mentions no other query of the workspace found: they go with the query."""
    return Mention.objects.filter(queries=query).exclude(
        pk__in=Mention.queries.through.objects.filter(
            mention__queries=query, listeningquery__workspace_id=query.workspace_id
        )
        .exclude(listeningquery=query)
        .values("mention_id")
    )


def delete_query(query: ListeningQuery, *, by: Member) -> int:
    """The query goes with the mentions only it found (what the workspace no longer listens
    for); those another query found too stay, with it. Returns how many mentions went. To
    stop a query and keep what it found, switch it off instead."""
    require(by, "listening.manage")
    query = ListeningQuery.objects.select_for_update().get(pk=query.pk)
    _same_workspace(by, query.workspace)
    gone = list(found_only_by(query).values_list("pk", flat=True))
    audit.record(
        "listening.query_delete",
        workspace=query.workspace,
        actor=by.user,
        obj=query,
        before={
            "name": query.name,
            "kind": query.kind,
            "text": query.text,
            "mentions_deleted": len(gone),
        },
    )
    for start in range(0, len(gone), 500):
        Mention.objects.filter(pk__in=gone[start : start + 500]).delete()
    query.delete()
    return len(gone)


def _lock_mention(mention: Mention, by: Member) -> Mention:
    require(by, "listening.view")
    locked: Mention = (
        Mention.objects.select_for_update().select_related("workspace").get(pk=mention.pk)
    )
    _same_workspace(by, locked.workspace)
    if not is_fresh(locked):
        raise ActionRefused(
            _("This mention is over %(days)d days old: it is no longer fresh enough to act on.")
            % {"days": FRESH_FOR.days},
            code="stale",
        )
    return locked


def _inbox_author(mention: Mention, channel: Any) -> tuple[str, str]:
    """(the inbox's key for the author, the handle shown) of a mention sent to the inbox.

    The inbox keys customers by the network's id for the person (a DID, a user id). If
    the author already wrote to the brand, the mention joins that customer, found by the id
    the source gave or by handle; else it is keyed by the id, or by the handle. A mention
    whose source names no author (Instagram's hashtag search) is a customer of its own:
    keyed by the post, never merged with another authorless one."""
    from portevoix.inbox.ingest import handle_spellings
    from portevoix.inbox.models import Customer

    customers = Customer.objects.filter(workspace_id=mention.workspace_id, network=mention.network)
    author_id = _network_id(mention)
    if author_id:
        known = customers.filter(author_id=author_id).first()
        if known is not None:
            return known.author_id, known.handle
    if mention.author_handle.strip("@"):
        known = (
            customers.filter(
                handle__in=handle_spellings(
                    mention.author_handle, mention.network, channel.account_url
                )
            )
            .order_by("-last_seen_at", "pk")
            .first()
        )
        if known is not None:
            return known.author_id, known.handle
        return author_id or mention.author_handle, mention.author_handle
    if author_id:
        return author_id, author_id
    return f"post:{mention.external_id}"[:300], "?"


def _network_id(mention: Mention) -> str:
    """The author's id on the network: as the source gave it, else what the mention itself
    tells (mentions stored before sources gave it): a Bluesky post's address holds its
    author's DID, and the sandbox names its users after their handle."""
    if mention.author_id:
        return mention.author_id
    if mention.network == "bluesky" and mention.external_id.startswith("at://did:"):
        return mention.external_id.split("/")[2]
    if mention.network == "sandbox" and mention.author_handle:
        from portevoix.networks.sandbox import user_id

        return user_id(mention.author_handle)
    return ""


@transaction.atomic
def send_to_inbox(mention: Mention, *, by: Member) -> object:
    """The mention becomes a conversation in the inbox (through the inbox's own ingestion:
    triage, routing rules, assignment and SLA clocks apply), on the workspace's channel of the
    mention's network. Sending it twice opens it once."""
    require(by, "inbox.reply")
    mention = _lock_mention(mention, by)
    from portevoix.channels.models import Channel
    from portevoix.inbox.ingest import ingest
    from portevoix.inbox.models import Conversation, InboundMessage
    from portevoix.networks.types import Author, InboundItem, InboundKind

    if mention.conversation_id is not None:
        return mention.conversation
    channel = (
        Channel.objects.filter(
            workspace_id=mention.workspace_id, network=mention.network, state="active"
        )
        .order_by("pk")
        .first()
    )
    if channel is None:
        raise ActionRefused(
            _(
                "No connected channel on %(network)s: connect one to answer this mention "
                "from the inbox."
            )
            % {"network": mention.network},
            code="no_channel",
        )
    key, handle = _inbox_author(mention, channel)
    item = InboundItem(
        network=mention.network,
        message_id=mention.external_id,
        kind=InboundKind.MENTION,
        author=Author(
            id=key,
            handle=handle,
            display_name=mention.author_name,
            followers=mention.author_reach,
        ),
        text=mention.text,
        created_at=mention.posted_at,
        url=mention.url,
        language=mention.language,
    )
    ingest(channel, [item])
    message = (
        InboundMessage.objects.filter(channel=channel, message_id=mention.external_id)
        .select_related("conversation")
        .first()
    )
    conversation: Conversation | None = message.conversation if message else None
    if conversation is None:  # pragma: no cover - ingest stores it or finds it stored
        raise ActionRefused(_("The inbox did not take this mention."), code="not_stored")
    mention.conversation = conversation
    mention.save(update_fields=["conversation"])
    audit.record(
        "listening.to_inbox",
        workspace=mention.workspace,
        actor=by.user,
        obj=mention,
        after={"conversation": conversation.pk, "channel": channel.name},
    )
    return conversation


@transaction.atomic
def send_to_ideas(mention: Mention, *, by: Member, title: str = "") -> object:
    """The mention becomes an idea in the content plan's backlog (publishing's
    ``propose_idea``), with the mention quoted. Sending it twice proposes it once."""
    require(by, "idea.propose")
    mention = _lock_mention(mention, by)
    from portevoix.publishing.actions import propose_idea

    if mention.idea_id is not None:
        return mention.idea
    # Instagram's hashtag search names no author: no "Answer to @" with nobody after it.
    if mention.author_handle:
        default_title = _("Answer to @%(author)s: %(text)s") % {
            "author": mention.author_handle,
            "text": mention.text[:120],
        }
        description = _("Heard by listening on %(network)s, %(when)s, from @%(author)s:") % {
            "network": mention.network,
            "when": mention.posted_at.strftime("%Y-%m-%d %H:%M UTC"),
            "author": mention.author_handle,
        }
    else:
        default_title = _("Answer to a mention on %(network)s: %(text)s") % {
            "network": mention.network,
            "text": mention.text[:120],
        }
        description = _(
            "Heard by listening on %(network)s, %(when)s (the network does not say who wrote it):"
        ) % {
            "network": mention.network,
            "when": mention.posted_at.strftime("%Y-%m-%d %H:%M UTC"),
        }
    title = (title or "").strip() or default_title
    idea = propose_idea(
        mention.workspace,
        by=by,
        title=title[:200],
        description=f"{description}\n\n> {mention.text}",
    )
    mention.idea = idea
    mention.save(update_fields=["idea"])
    audit.record(
        "listening.to_idea",
        workspace=mention.workspace,
        actor=by.user,
        obj=mention,
        after={"idea": idea.pk},
    )
    return idea


# --- sources ---------------------------------------------------------------------------------

SOURCE_AUDIT_LABELS = {
    "listening.source_create": gettext_noop("Listening source added"),
    "listening.source_pause": gettext_noop("Listening source paused"),
    "listening.source_resume": gettext_noop("Listening source started again"),
    "listening.source_delete": gettext_noop("Listening source removed"),
    "listening.account_follow": gettext_noop("Account followed beside the brand's"),
    "listening.account_unfollow": gettext_noop("Account no longer followed"),
    "listening.account_collect": gettext_noop("Account's figures collected again"),
}
AUDIT_LABELS.update(SOURCE_AUDIT_LABELS)


def _source_name(kind: str, url: str, target: str) -> str:
    from django.utils.text import slugify

    host = url.split("://", 1)[-1].split("/", 1)[0]
    base = slugify(f"{kind} {host} {target}")[:52] or kind
    name, n = base, 1
    while ListeningSource.objects.filter(name=name).exists():
        n += 1
        name = f"{base[:48]}-{n}"
    return name


@transaction.atomic
def add_source(
    workspace: Workspace,
    *,
    by: Member,
    kind: str,
    url: str = "",
    target: str = "",
    channel_id: int | None = None,
    token: str = "",
    query_id: int | None = None,
) -> ListeningSource:
    """A new public stream, read for every workspace. The same stream twice is refused: one
    connection reads it for everyone."""
    from portevoix.channels.models import Channel

    from . import jetstream, mastodon_source

    require(by, "listening.manage")
    _same_workspace(by, workspace)
    url, target, token = url.strip(), target.strip(), token.strip()
    channel = None
    if kind == SourceKind.JETSTREAM:
        network = "bluesky"
        if url and not url.strip().lower().startswith(("wss://", "ws://")):
            raise ActionRefused(
                _("Jetstream's address starts with wss:// (leave it empty for Bluesky's own)."),
                field="url",
            )
        target = ""
        try:
            url = jetstream.instance_url(url)
        except ValueError:
            raise ActionRefused(
                _("Write the Jetstream's address, for example wss://jetstream.example.org."),
                field="url",
            ) from None
    elif kind in (SourceKind.MASTODON_STREAM, SourceKind.MASTODON_TAG, SourceKind.MASTODON_SEARCH):
        network = "mastodon"
        try:
            url = mastodon_source.instance_url(url)
        except ValueError:
            raise ActionRefused(
                _("Write the instance's address, for example mastodon.social."), field="url"
            ) from None
        if kind == SourceKind.MASTODON_STREAM:
            target = target.lstrip("#") or "public"
            target = target if target == "public" else target.casefold()
        elif kind == SourceKind.MASTODON_TAG:
            target = target.lstrip("#").casefold()
            if not target or not target.replace("_", "").isalnum():
                raise ActionRefused(
                    _("Write one hashtag (letters, digits and _), for example skincare."),
                    field="target",
                )
        elif not target:
            raise ActionRefused(_("Write the words to search for."), field="target")
        if channel_id:
            channel = Channel.objects.filter(
                pk=channel_id, workspace=workspace, network="mastodon"
            ).first()
            if channel is None:
                raise ActionRefused(
                    _("Choose one of this workspace's Mastodon channels."), field="channel"
                )
        needs_token = kind in (SourceKind.MASTODON_STREAM, SourceKind.MASTODON_SEARCH)
        if needs_token and channel is None and not token:
            raise ActionRefused(
                _(
                    "Mastodon asks for a user token to stream or search: choose a connected "
                    "Mastodon channel or paste a token for this instance."
                ),
                field="token",
            )
    elif kind in NETWORK_SEARCH_KINDS:
        network, url, target, channel, query = _network_search(
            workspace, kind, target=target, channel_id=channel_id, query_id=query_id
        )
    else:
        raise ActionRefused(_("Choose a kind of source."), field="kind")
    existing = ListeningSource.objects.select_for_update().filter(kind=kind, url=url, target=target)
    removed = (
        existing.filter(workspace__isnull=True, state="paused")
        .exclude(kind=SourceKind.SANDBOX)
        .first()
    )
    if removed is not None:
        # Removed once and kept, paused and nobody's, for the mentions it had found: it is
        # this workspace's now, and reads again from where it stopped.
        source = removed
        source.workspace = workspace
        source.channel = channel
        source.token_encrypted = mastodon_source.encrypt_token(token)
        source.query = query if kind in NETWORK_SEARCH_KINDS else None
        source.save(update_fields=["workspace", "channel", "token_encrypted", "query"])
        if source.state != "reading":
            source.transition("reading")
    elif existing.exists():
        raise ActionRefused(
            _("This stream is already read, for every workspace: nothing to add."),
            code="exists",
        )
    else:
        source = ListeningSource.objects.create(
            name=_source_name(kind, url, target),
            network=network,
            kind=kind,
            url=url[:300],
            target=target[:200],
            channel=channel,
            token_encrypted=mastodon_source.encrypt_token(token),
            workspace=workspace,
            query=query if kind in NETWORK_SEARCH_KINDS else None,
        )
    audit.record(
        "listening.source_create",
        workspace=workspace,
        actor=by.user,
        obj=source,
        after={"kind": kind, "url": url, "target": target, "token": bool(token)},
    )
    return source


#: The sources that read a network's own API with a connected channel's token.
NETWORK_SEARCH_KINDS = (
    SourceKind.YOUTUBE_SEARCH,
    SourceKind.INSTAGRAM_HASHTAG,
    SourceKind.INSTAGRAM_TAGS,
    SourceKind.X_SEARCH,
)
_KIND_NETWORK: dict[str, str] = {
    SourceKind.YOUTUBE_SEARCH: "youtube",
    SourceKind.INSTAGRAM_HASHTAG: "instagram",
    SourceKind.INSTAGRAM_TAGS: "instagram",
    SourceKind.X_SEARCH: "x",
}


def _network_search(
    workspace: Workspace,
    kind: str,
    *,
    target: str,
    channel_id: int | None,
    query_id: int | None,
) -> tuple[str, str, str, Any, ListeningQuery | None]:
    """(network, url, target, channel, query) of a YouTube, Instagram or X source, checked.
    ``url`` names the account whose token reads (``youtube:<channel id>``), so that the same
    search through the same account is one source; ``target`` is the hashtag, or the listening
    query's id (``all``: every active query of the workspace)."""
    from django.conf import settings

    from portevoix.channels.models import Channel

    from . import instagram_source, pushdown

    network = _KIND_NETWORK[kind]
    channel = None
    if channel_id:
        channel = Channel.objects.filter(
            pk=channel_id, workspace=workspace, network=network
        ).first()
    labels = {"youtube": "YouTube", "instagram": "Instagram", "x": "X"}
    if channel is None:
        if kind == SourceKind.YOUTUBE_SEARCH and not channel_id:
            if not getattr(settings, "PORTEVOIX_YOUTUBE_API_KEY", ""):
                raise ActionRefused(
                    _(
                        "Choose a connected YouTube channel: its token pays the searches (this "
                        "installation has no YouTube API key)."
                    ),
                    field="channel",
                )
        else:
            raise ActionRefused(
                _("Choose one of this workspace's %(network)s channels: its token reads.")
                % {"network": labels[network]},
                field="channel",
            )
    url = f"{network}:{channel.account_id}" if channel is not None else "apikey"
    query = None
    if kind == SourceKind.INSTAGRAM_TAGS:
        target = ""
    elif kind == SourceKind.INSTAGRAM_HASHTAG:
        target = instagram_source.normalise(target)
        if not target or not target.replace("_", "").isalnum():
            raise ActionRefused(
                _("Write one hashtag (letters, digits and _), for example skincare."),
                field="target",
            )
        assert channel is not None
        frees = instagram_source.reserve(channel.account_id, target)
        if frees is not None:
            moment = timezone.localtime(dt.datetime.fromisoformat(frees))
            raise ActionRefused(
                _(
                    "Instagram allows 30 different hashtags per account in 7 days, and this "
                    "account has used them all: the next one frees up on %(day)s."
                )
                % {"day": formats.date_format(moment, "SHORT_DATETIME_FORMAT")},
                field="target",
            )
    else:
        if query_id:
            query = ListeningQuery.objects.filter(pk=query_id, workspace=workspace).first()
            if query is None:
                raise ActionRefused(_("Choose one of this workspace's queries."), field="query")
            target = str(query.pk)
            pushed = pushdown.compile_queries([(query.name, query.text)], network)
        else:
            target = "all"
            rows = ListeningQuery.objects.filter(workspace=workspace, is_active=True)
            pushed = pushdown.compile_queries(rows.values_list("name", "text"), network)
        if not pushed.text:
            raise ActionRefused(
                _(
                    "Nothing of these queries can be asked of %(network)s: it needs at least a "
                    "word, a phrase or a hashtag (prefixes like lumi*, language filters and NOT "
                    "alone are filtered here, after the search)."
                )
                % {"network": labels[network]},
                field="query",
            )
    return network, url, target, channel, query


def _lock_source(source: ListeningSource, by: Member) -> ListeningSource:
    require(by, "listening.manage")
    locked: ListeningSource = ListeningSource.objects.select_for_update().get(pk=source.pk)
    if locked.workspace_id is None:
        raise ActionRefused(
            _("This source belongs to the installation: its operators change it."),
            code="installation",
        )
    _same_workspace(by, locked.workspace)  # type: ignore[arg-type]
    return locked


@transaction.atomic
def pause_source(source: ListeningSource, *, by: Member) -> ListeningSource:
    source = _lock_source(source, by)
    if source.state != "paused":
        source.transition("paused")
        audit.record(
            "listening.source_pause", workspace=source.workspace, actor=by.user, obj=source
        )
    return source


@transaction.atomic
def resume_source(source: ListeningSource, *, by: Member) -> ListeningSource:
    """Read it again, from its cursor (a failed source too, after its problem was fixed)."""
    source = _lock_source(source, by)
    if source.state != "reading":
        source.transition("reading")
        audit.record(
            "listening.source_resume", workspace=source.workspace, actor=by.user, obj=source
        )
    return source


@transaction.atomic
def delete_source(source: ListeningSource, *, by: Member) -> None:
    """The source stops; the mentions it found stay (their source row stays, paused)."""
    source = _lock_source(source, by)
    audit.record(
        "listening.source_delete",
        workspace=source.workspace,
        actor=by.user,
        obj=source,
        before={"kind": source.kind, "url": source.url, "target": source.target},
    )
    if Mention.objects.filter(source=source).exists():
        if source.state != "paused":
            source.transition("paused")
        # Kept for its mentions, no longer any workspace's: it cannot be started again here.
        ListeningSource.objects.filter(pk=source.pk).update(
            workspace=None, token_encrypted="", channel=None
        )
    else:
        source.delete()


# --- accounts followed beside the brand's ----------------------------------------------------


@transaction.atomic
def follow_account(
    workspace: Workspace, *, by: Member, label: str, network: str, handle: str, side: str
) -> FollowedAccount:
    """Follow a public account (a competitor's, or the brand's own for the comparison); its
    figures are collected by the worker at once, then every 6 hours."""
    from . import competitors

    require(by, "listening.manage")
    _same_workspace(by, workspace)
    label = label.strip()
    if not label:
        raise ActionRefused(_("Say whose account it is."), field="label")
    if side not in AccountSide.values:
        raise ActionRefused(_("Say whether it is ours or a competitor's."), field="side")
    if network not in competitors.NETWORKS:
        raise ActionRefused(_("Choose Bluesky, Mastodon or the sandbox."), field="network")
    try:
        handle = competitors.normalise_handle(network, handle)
    except ValueError:
        examples = {
            "bluesky": "rosee-paris.bsky.social",
            "mastodon": "roseeparis@mastodon.social",
            "sandbox": "rosee-paris",
        }
        raise ActionRefused(
            _("This is not an account on this network; for example %(example)s.")
            % {"example": examples[network]},
            field="handle",
        ) from None
    if FollowedAccount.objects.filter(workspace=workspace, network=network, handle=handle).exists():
        raise ActionRefused(_("This account is already followed."), field="handle")
    account = FollowedAccount.objects.create(
        workspace=workspace,
        side=side,
        label=label[:120],
        network=network,
        handle=handle,
        created_by=by.user,
    )
    audit.record(
        "listening.account_follow",
        workspace=workspace,
        actor=by.user,
        obj=account,
        after={"label": account.label, "network": network, "handle": handle, "side": side},
    )
    return account


@transaction.atomic
def unfollow_account(account: FollowedAccount, *, by: Member) -> None:
    require(by, "listening.manage")
    account = FollowedAccount.objects.select_for_update().get(pk=account.pk)
    _same_workspace(by, account.workspace)
    audit.record(
        "listening.account_unfollow",
        workspace=account.workspace,
        actor=by.user,
        obj=account,
        before={"label": account.label, "network": account.network, "handle": account.handle},
    )
    account.delete()


@transaction.atomic
def collect_account_now(account: FollowedAccount, *, by: Member) -> FollowedAccount:
    """Collect again at once (a failed account too, after its handle was fixed)."""
    require(by, "listening.manage")
    account = FollowedAccount.objects.select_for_update().get(pk=account.pk)
    _same_workspace(by, account.workspace)
    account.transition("following")
    audit.record(
        "listening.account_collect", workspace=account.workspace, actor=by.user, obj=account
    )
    return account
