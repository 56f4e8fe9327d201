"""Helpers shared by the approval, compliance and pause tests."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.channels.models import Channel
from portevoix.core.models import Member
from portevoix.publishing import actions as publishing
from portevoix.publishing.approvals.models import ApprovalStep, StepState
from portevoix.publishing.models import Post, PostKind, Publication
from portevoix.sandbox import service
from tests.conftest import Team


def later(hours: float = 2) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def second_channel(team: Team, handle: str = "acme-pro", **extra: object) -> Channel:
    account = service.create_account(handle, display_name=handle, workspace=team.workspace)
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        owner_department=team.department("marketing"),
        **extra,  # type: ignore[arg-type]
    )


def schedule(
    team: Team,
    member: Member | None,
    channels: list[Channel],
    text: str = "Bonjour à toutes et à tous",
    at: dt.datetime | None = None,
) -> Post:
    return publishing.schedule_post(
        team.workspace, by=member, text=text, channels=channels, at=at or later()
    )


def states(post: Post) -> list[str]:
    return sorted(Publication.objects.filter(post=post).values_list("state", flat=True))


def waiting(post: Post) -> list[ApprovalStep]:
    return list(ApprovalStep.objects.filter(post=post, state=StepState.WAITING).order_by("id"))


def reply_draft(
    team: Team,
    member: Member,
    channel: Channel,
    *,
    text: str = "Merci pour votre message !",
    private: bool = False,
) -> Post:
    """A reply to a customer as the inbox will write it: a draft, then ``submit_post``."""
    post = Post.objects.create(
        workspace=team.workspace, kind=PostKind.REPLY, text=text, author=member.user
    )
    Publication.objects.create(
        post=post,
        channel=channel,
        scheduled_at=timezone.now(),
        state="draft",
        next_attempt_at=None,
        in_reply_to="sandbox-message-1",
        private=private,
    )
    return post
