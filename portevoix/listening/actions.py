"""Every change listening makes: queries, and mentions sent to the inbox or the ideas backlog.

Each action checks permission, validates, writes, and records the audit entry in the same
transaction. Queries need ``listening.manage``; sending a mention to the inbox needs
``inbox.reply`` (the conversation lands in the inbox, to be answered), to the ideas backlog
``idea.propose`` (publishing's own action does the proposing), and both need
``listening.view`` and a mention still fresh (:data:`FRESH_FOR`).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require

from .models import ListeningQuery, Mention, QueryKind
from .query import QuerySyntaxError, parse

AUDIT_LABELS = {
    "listening.query_create": gettext_noop("Listening query created"),
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
def delete_query(query: ListeningQuery, *, by: Member) -> None:
    """The query goes; the mentions it found stay (with the other queries they matched)."""
    require(by, "listening.manage")
    query = ListeningQuery.objects.select_for_update().get(pk=query.pk)
    _same_workspace(by, query.workspace)
    audit.record(
        "listening.query_delete",
        workspace=query.workspace,
        actor=by.user,
        obj=query,
        before={"name": query.name, "kind": query.kind, "text": query.text},
    )
    query.delete()


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
    item = InboundItem(
        network=mention.network,
        message_id=mention.external_id,
        kind=InboundKind.MENTION,
        author=Author(
            id=f"sbx-user-{mention.author_handle}"
            if mention.network == "sandbox"
            else mention.author_handle,
            handle=mention.author_handle,
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
    title = (title or "").strip() or _("Answer to @%(author)s: %(text)s") % {
        "author": mention.author_handle,
        "text": mention.text[:120],
    }
    description = _("Heard by listening on %(network)s, %(when)s, from @%(author)s:") % {
        "network": mention.network,
        "when": mention.posted_at.strftime("%Y-%m-%d %H:%M UTC"),
        "author": mention.author_handle,
    }
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
