"""What publishing tells people, after the worker's result is committed.

The worker's handlers return ``Outcome(after=...)`` callbacks that call these functions, so a
person hears about a failure only once it is really written (never for a result another
worker overtook). Every message goes through the one notification path
(:mod:`portevoix.notifications`).

Who hears what:

* the post's **author** (if still an active member), always, with the network's reason:
  ``publication.failed`` (refused or failed), ``publication.held``,
  ``publication.waiting_reconnect``, ``publication.needs_check``;
* for ``waiting_reconnect``, the members who may **manage channels**: once per channel and
  outage (``channel.needs_reconnect``), however many posts wait;
* for ``needs_check``, and for any other state when the author may not decide (no author, a
  role without ``post.resolve``), the members who may **resolve** publications
  (``publication.team``).

Each person is told once per publication and state change: calling this twice for the same
result makes nothing more.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.urls import reverse
from django.utils.text import Truncator

from portevoix.core.models import Member
from portevoix.core.permissions import can, members_with
from portevoix.notifications.actions import notify
from portevoix.notifications.models import Notification
from portevoix.publishing import notices
from portevoix.publishing.models import Publication

log = logging.getLogger(__name__)

#: Kinds of attention a publication can need, as the handlers name them (its state).
KINDS = ("rejected", "failed", "held", "waiting_reconnect", "needs_check")


def _members_who_may(publication: Publication, action: str) -> list[Member]:
    return list(
        Member.objects.filter(
            members_with(action), workspace_id=publication.post.workspace_id, is_active=True
        ).select_related("user")
    )


def attention_url(workspace_slug: str, anchor: str) -> str:
    return reverse("attention", kwargs={"ws": workspace_slug}) + f"#{anchor}"


def publication_needs_attention(publication_id: int, kind: str) -> list[Notification]:
    """Tell the post's author (and the members who can act) that a publication needs them."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of attention {kind!r}")
    with transaction.atomic():
        publication = (
            Publication.objects.select_related("post__workspace", "post__author", "channel")
            .filter(pk=publication_id)
            .first()
        )
        if publication is None or publication.state != kind:
            # Moved on before anyone was told (a person already acted): nothing to say.
            log.info("publication %s is no longer %s: nobody told", publication_id, kind)
            return []
        post, channel = publication.post, publication.channel
        workspace = post.workspace
        author = (
            Member.objects.filter(workspace=workspace, user_id=post.author_id, is_active=True)
            .select_related("user")
            .first()
            if post.author_id
            else None
        )
        params = {
            "state": kind,
            "channel": channel.name,
            "network": channel.network_label,
            "excerpt": Truncator(post.text).chars(140),
            "scheduled_at": publication.scheduled_at,
            "problem": publication.problem,
        }
        key = f"publication:{publication.pk}:{kind}:{publication.state_changed_at.isoformat()}"
        url = attention_url(workspace.slug, f"publication-{publication.pk}")
        told: list[Notification] = []
        if author is not None:
            told += notify(
                workspace,
                notices.FOR_AUTHOR[kind],
                [author],
                obj=publication,
                params=params,
                url=url,
                key=key,
            )
        others = [] if author is None else [author.pk]
        if kind == "waiting_reconnect":
            managers = [
                m for m in _members_who_may(publication, "channel.manage") if m.pk not in others
            ]
            told += notify(
                workspace,
                notices.CHANNEL_RECONNECT,
                managers,
                obj=channel,
                params={
                    "channel": channel.name,
                    "network": channel.network_label,
                    "problem": channel.problem or publication.problem,
                },
                url=attention_url(workspace.slug, f"channel-{channel.pk}"),
                key=f"channel:{channel.pk}:reconnect:{channel.state_changed_at.isoformat()}",
            )
        elif kind == "needs_check" or author is None or not can(author, "post.resolve"):
            resolvers = [
                m for m in _members_who_may(publication, "post.resolve") if m.pk not in others
            ]
            # The team is told whose post it is; the author needs no reminder.
            who = post.author.display_name if post.author else ""
            told += notify(
                workspace,
                notices.TEAM,
                resolvers,
                obj=publication,
                params={**params, "author": who},
                url=url,
                key=key,
            )
        return told
