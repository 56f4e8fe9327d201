"""Automatic replies: "we are closed, we answer on Monday at 9:00", and a rule's reply.

An automatic reply is a reply like any other: a ``Post(kind="reply", source="auto")`` with one
``Publication`` in state ``scheduled`` answering the customer's message (privately in a
private thread), which the publishing worker sends exactly once (``docs/delivery.md``), tied
to its conversation by an inbox ``Reply`` without an author. It is written in the customer's
language (triage's), sent once per conversation and reason (:class:`~.models.AutoReply`), and
does not count as the team's response for the SLA (``first_response_at`` is left alone).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from portevoix.inbox.models import Conversation, ConversationKind, InboundMessage, Reply
from portevoix.networks.errors import NetworkError
from portevoix.networks.types import Capability
from portevoix.publishing.models import Post, PostKind, Publication, PublicationStates

from .models import AutoReply

log = logging.getLogger(__name__)

SOURCE = "auto"


def pick_language(texts: Mapping[str, str], *preferred: str) -> str | None:
    """The first preferred language with a text, else English, else any."""
    for language in (*preferred, "en"):
        if language and texts.get(language):
            return language
    return next((k for k, v in texts.items() if v), None)


def when_text(opens: dt.datetime | None, zone: ZoneInfo, language: str, now: dt.datetime) -> str:
    """ "lundi 8 juin à 9 h 00 (heure de Paris)", "today at 14:00 (Paris time)"..."""
    with translation.override(language):
        if opens is None:
            return _("as soon as we can")
        local = opens.astimezone(zone)
        today = now.astimezone(zone).date()
        if local.date() == today:
            day = _("today")
        elif local.date() == today + dt.timedelta(days=1):
            day = _("tomorrow")
        else:
            day = formats.date_format(local, "l j F")
        clock = formats.time_format(local, "TIME_FORMAT")
        city = zone.key.rsplit("/", 1)[-1].replace("_", " ")
        return _("%(day)s at %(time)s (%(city)s time)") % {"day": day, "time": clock, "city": city}


def can_answer(conversation: Conversation) -> bool:
    """Whether the channel's network can carry an answer to this conversation."""
    try:
        network = conversation.channel.network_class
    except NetworkError:
        return False
    needed = Capability.REPLY_PRIVATE if conversation.is_private else Capability.REPLY_PUBLIC
    return network.supports(needed)


def send(
    conversation: Conversation,
    message: InboundMessage,
    text: str,
    *,
    key: str,
    reason: str,
    language: str,
    now: dt.datetime | None = None,
) -> AutoReply | None:
    """Queue one automatic reply to ``message``, once per conversation and ``key``."""
    now = now or timezone.now()
    if conversation.kind == ConversationKind.MENTION or not text.strip():
        return None
    if not can_answer(conversation):
        return None
    if AutoReply.objects.filter(conversation=conversation, key=key[:80]).exists():
        return None
    try:
        with transaction.atomic():
            record = AutoReply.objects.create(
                conversation=conversation, key=key[:80], reason=reason, language=language
            )
    except IntegrityError:
        return None  # sent already, by a concurrent transaction
    post = Post.objects.create(
        workspace_id=conversation.workspace_id,
        kind=PostKind.REPLY,
        title=_("Automatic reply"),
        text=text,
        source=SOURCE,
        created_at=now,
        updated_at=now,
    )
    Publication.objects.create(
        post=post,
        channel=conversation.channel,
        scheduled_at=now,
        state=PublicationStates.scheduled.name,
        next_attempt_at=now,
        in_reply_to=message.message_id,
        private=conversation.is_private,
    )
    reply = Reply.objects.create(
        conversation=conversation,
        post=post,
        in_reply_to=message,
        private=conversation.is_private,
        created_at=now,
    )
    AutoReply.objects.filter(pk=record.pk).update(reply=reply)
    record.reply = reply
    return record
