"""Demo: posts that need a person, as the worker leaves them, and who was told about them.

The demo company gets one post of each kind the "Needs attention" page lists: refused by the
network (with its reason), failed after hours of retries, held because it is late, waiting
for a channel whose token expired, and one that may or may not be out, with the two
look-alike posts reconcile found. The notifications are made by the real path
(:func:`portevoix.publishing.events.publication_needs_attention`), so the bell and the
e-mails are those a real failure would bring.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from portevoix.channels.messages import network_problem
from portevoix.channels.models import Channel, ChannelStates, StrategyLevel
from portevoix.core.models import Department, Member, Workspace
from portevoix.networks.errors import Ambiguous, InvalidInput, Transient
from portevoix.notifications import actions as notification_actions
from portevoix.notifications.models import Notification
from portevoix.publishing import actions, events
from portevoix.publishing.models import Publication, PublicationStates
from portevoix.publishing.states import say

S = PublicationStates


def _member(workspace: Workspace, email: str) -> Member:
    return Member.objects.get(workspace=workspace, user__email=email)


def _publication(
    workspace: Workspace,
    channel: Channel,
    author: Member,
    text: str,
    due: dt.datetime,
) -> Publication:
    post = actions.schedule_post(
        workspace,
        by=author,
        text=text,
        channels=[channel],
        at=timezone.now() + dt.timedelta(minutes=5),
    )
    publication: Publication = post.publications.get()
    if publication.state == S.pending_approval.name:
        # An author who submits for approval (Inès): Sophie approved it, as a manager would.
        from portevoix.publishing.approvals import actions as approvals

        sophie = _member(workspace, "sophie@lumiere.demo")
        for step in post.approval_steps.filter(state="waiting"):
            approvals.approve(step, by=sophie, comment="")
        publication.refresh_from_db()
    # As if it had been planned earlier: it is overdue now.
    Publication.objects.filter(pk=publication.pk).update(scheduled_at=due)
    publication.scheduled_at = due
    return publication


def _boutique_channel(workspace: Workspace, admin: Member) -> Channel:
    """A shop's channel whose token expired: the sync saw it and asks for a reconnection."""
    from portevoix.channels import actions as channel_actions
    from portevoix.sandbox import service
    from portevoix.sandbox.demo import boutique_account

    account = boutique_account(workspace)
    channel = channel_actions.connect_channel(
        workspace,
        by=admin,
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Instagram Boutique (sandbox)",
        owner_department=Department.objects.get(workspace=workspace, code="sales"),
        strategy_level=StrategyLevel.ACTIVE,
    )
    service.expire_token(account, at=timezone.now() - dt.timedelta(hours=3))
    outcome = channel.handle_active()  # the sync meets the refused token, as the worker would
    if outcome.state == ChannelStates.needs_reconnect.name:
        channel.transition(ChannelStates.needs_reconnect, problem=outcome.fields.get("problem", ""))
    return channel


def load_attention_demo(workspace: Workspace, admin: Member, channels: dict[str, Any]) -> None:
    """Five publications waiting for a person, and the notifications they brought."""
    from portevoix.sandbox.demo import lookalike_posts
    from portevoix.sandbox.models import SandboxAccount

    if Publication.objects.filter(post__workspace=workspace, state__in=events.KINDS).exists():
        return
    now = timezone.now()
    sophie = _member(workspace, "sophie@lumiere.demo")
    lucas = _member(workspace, "lucas@lumiere.demo")
    ines = _member(workspace, "ines@lumiere.demo")
    insta, pro = channels["photo"], channels["pro"]
    told: list[Publication] = []

    refused = _publication(
        workspace,
        insta,
        lucas,
        "Nos nouveaux coffrets de Noël sont arrivés 🎁 Lequel offrirez-vous ?",
        now - dt.timedelta(hours=2, minutes=10),
    )
    # Problems are stored as the worker stores them: sentences rendered in each reader's
    # language, the network's own words kept as a detail.
    refused.transition(
        S.rejected,
        problem=network_problem(
            InvalidInput(
                "The image is 14.2 MB; this account accepts images of 8 MB at most.",
                network="sandbox",
                code="media_too_large",
            )
        ).dumps(),
        fields={"first_attempt_at": refused.scheduled_at},
    )
    told.append(refused)

    failed = _publication(
        workspace,
        pro,
        sophie,
        "Webinaire jeudi 18 h : formuler sans conservateurs, nos chimistes répondent.",
        now - dt.timedelta(hours=7, minutes=20),
    )
    failed.transition(
        S.failed,
        problem=say(
            gettext_noop("%(problem)s Last answer from the network: %(previous)s"),
            problem=say(
                gettext_noop("Not published: it was due %(hours)s hours ago and kept failing."),
                hours=7,
            ),
            previous=network_problem(
                Transient("Service Unavailable", network="sandbox", code="503")
            ).dumps(),
        ),
        fields={"first_attempt_at": failed.scheduled_at},
    )
    told.append(failed)

    held = _publication(
        workspace,
        pro,
        sophie,
        "Dernier jour : -30 % sur toute la gamme Éclat, uniquement aujourd'hui !",
        now - dt.timedelta(hours=9, minutes=30),
    )
    held.transition(
        S.held,
        problem=say(
            gettext_noop(
                "Held: it was due %(hours)s hours ago, later than this workspace's "
                "limit of %(limit)s minutes. Send it late or cancel it."
            ),
            hours="9.5",
            limit=workspace.lateness_limit_minutes,
        ),
    )
    told.append(held)

    boutique = _boutique_channel(workspace, admin)
    waiting = _publication(
        workspace,
        boutique,
        ines,
        "Samedi à la boutique de Grasse : atelier « routine du soir », sur inscription 🌙",
        now - dt.timedelta(minutes=40),
    )
    waiting.transition(S.waiting_reconnect, problem=boutique.problem)
    told.append(waiting)

    text = "Le sérum Velours arrive lundi 🌸 Qui veut le tester en avant-première ?"
    unsure = _publication(workspace, insta, lucas, text, now - dt.timedelta(hours=1))
    first_attempt = unsure.scheduled_at + dt.timedelta(seconds=2)
    account = SandboxAccount.objects.get(workspace=workspace, handle=insta.handle)
    found = lookalike_posts(account, text, first_attempt)
    unsure.transition(S.outcome_unknown)
    unsure.transition(
        S.needs_check,
        problem=network_problem(
            Ambiguous(
                "Two posts made after the first attempt look like this one, and none carries "
                "its key.",
                network="sandbox",
            )
        ).dumps(),
        fields={
            "first_attempt_at": first_attempt,
            "sending_at": first_attempt,
            "candidates": [
                {
                    "post_id": post.network_id,
                    "url": "",
                    "text": post.text,
                    "created_at": post.received_at.isoformat(),
                    "note": note,
                }
                for post, note in zip(
                    found,
                    ("same text, 4 seconds after the attempt", "posted from a phone?"),
                    strict=True,
                )
            ],
        },
    )
    told.append(unsure)

    for publication in told:
        events.publication_needs_attention(publication.pk, publication.state)
    # Sophie has already seen the oldest one.
    first = Notification.objects.visible_to(sophie).order_by("created_at", "id").first()
    if first is not None:
        notification_actions.mark_read(first, by=sophie)
