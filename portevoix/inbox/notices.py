"""What the inbox tells people, through the one notification path (``portevoix.notifications``).

Each function runs inside the transaction of the change it tells about (``notify`` keeps its
rows as that transaction's outbox). The kinds are registered when the app is ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Member
from portevoix.core.permissions import can

if TYPE_CHECKING:
    from portevoix.inbox.models import Conversation, HandOff, Note, Reply

TEMPLATE = "inbox/notifications/conversation.txt"

HANDED_OFF = "inbox.handed_off"
HANDOFF_ANSWERED = "inbox.handoff_answered"
MENTIONED = "inbox.mentioned"
ASSIGNED = "inbox.assigned"
TO_APPROVE = "inbox.reply_to_approve"


def _handed_off(params: Mapping[str, Any]) -> str:
    return gettext("%(who)s needs an answer from %(department)s") % {
        "who": params.get("customer", ""),
        "department": params.get("department", ""),
    }


def _answered(params: Mapping[str, Any]) -> str:
    if params.get("taken_over"):
        return gettext("%(department)s took over the conversation with %(who)s") % {
            "who": params.get("customer", ""),
            "department": params.get("department", ""),
        }
    return gettext("%(department)s answered about %(who)s: a draft waits for you") % {
        "who": params.get("customer", ""),
        "department": params.get("department", ""),
    }


def _mentioned(params: Mapping[str, Any]) -> str:
    return gettext("%(author)s mentioned you about %(who)s") % {
        "author": params.get("author", ""),
        "who": params.get("customer", ""),
    }


def _assigned(params: Mapping[str, Any]) -> str:
    return gettext("%(author)s gave you the conversation with %(who)s") % {
        "author": params.get("author", ""),
        "who": params.get("customer", ""),
    }


def _to_approve(params: Mapping[str, Any]) -> str:
    return gettext("%(author)s's answer to %(who)s waits for approval") % {
        "author": params.get("author", ""),
        "who": params.get("customer", ""),
    }


def kinds() -> list[Any]:
    from portevoix.notifications.kinds import Delivery, Kind

    return [
        Kind(
            code=HANDED_OFF,
            label=_("A conversation was handed to your department"),
            help=_("Sales, customer service, legal... when the social team hands one over."),
            title=_handed_off,
            template=TEMPLATE,
            default=Delivery.BOTH,
            audience="inbox.view_assigned",
        ),
        Kind(
            code=HANDOFF_ANSWERED,
            label=_("A department answered a conversation you handed off"),
            help=_("Its answer waits as a draft for you to send, or it took the conversation."),
            title=_answered,
            template=TEMPLATE,
            default=Delivery.BOTH,
            audience="inbox.route",
        ),
        Kind(
            code=MENTIONED,
            label=_("Someone mentioned you in a conversation's note"),
            help=_("A colleague wrote @ and your name in a private note."),
            title=_mentioned,
            template=TEMPLATE,
            default=Delivery.BOTH,
            audience="inbox.reply",
        ),
        Kind(
            code=ASSIGNED,
            label=_("A conversation was given to you"),
            help=_("Someone assigned you a conversation to answer."),
            title=_assigned,
            template=TEMPLATE,
            default=Delivery.APP,
            audience="inbox.reply",
        ),
        Kind(
            code=TO_APPROVE,
            label=_("An answer waits for your approval"),
            help=_("A department agent's public answer goes out once the social team approves it."),
            title=_to_approve,
            template=TEMPLATE,
            default=Delivery.APP,
            audience="post.approve",
        ),
    ]


def register_kinds() -> None:
    if not apps.is_installed("portevoix.notifications"):
        return
    from portevoix.notifications.kinds import register

    for kind in kinds():
        register(kind)


def _url(conversation: Conversation) -> str:
    return reverse(
        "inbox_conversation",
        kwargs={"ws": conversation.workspace.slug, "pk": conversation.pk},
    )


def _base(conversation: Conversation) -> dict[str, Any]:
    return {
        "customer": f"@{conversation.customer.handle}",
        "channel": conversation.channel.name,
        "preview": conversation.preview[:200],
    }


def _notify(
    conversation: Conversation,
    kind: str,
    recipients: list[Member],
    params: dict[str, Any],
    key: str,
) -> None:
    if not recipients or not apps.is_installed("portevoix.notifications"):
        return
    from portevoix.notifications.actions import notify

    notify(
        conversation.workspace,
        kind,
        recipients,
        obj=conversation,
        params={**_base(conversation), **params},
        url=_url(conversation),
        key=key,
    )


def handed_off(handoff: HandOff, by: Member) -> None:
    """Every active member of the department is told (one notification per hand-off)."""
    conversation = handoff.conversation
    recipients = [
        m
        for m in Member.objects.filter(
            workspace_id=conversation.workspace_id, department=handoff.department, is_active=True
        ).select_related("user")
        if can(m, "inbox.view_assigned") and m.pk != by.pk
    ]
    _notify(
        conversation,
        HANDED_OFF,
        recipients,
        {
            "department": handoff.department.name,
            "author": by.user.display_name,
            "note": handoff.note[:1000],
        },
        key=f"handoff:{handoff.pk}",
    )


def handoff_answered(handoff: HandOff, answer: Reply, by: Member | None, name: str) -> None:
    """The social team member who handed it off (else every member who may route) hears it."""
    _tell_social_team(
        handoff,
        {"answer": answer.post.text[:1000], "author": by.user.display_name if by else name},
        key=f"handoff:{handoff.pk}:answer:{answer.pk}",
    )


def handoff_taken_over(handoff: HandOff, by: Member | None, name: str) -> None:
    _tell_social_team(
        handoff,
        {"taken_over": True, "author": by.user.display_name if by else name},
        key=f"handoff:{handoff.pk}:taken_over",
    )


def _tell_social_team(handoff: HandOff, params: dict[str, Any], key: str) -> None:
    conversation = handoff.conversation
    requester = handoff.requested_by
    if requester is not None and requester.is_active and can(requester, "inbox.route"):
        recipients = [requester]
    else:
        recipients = [
            m
            for m in Member.objects.filter(
                workspace_id=conversation.workspace_id, is_active=True
            ).select_related("user")
            if can(m, "inbox.route")
        ]
    _notify(
        conversation,
        HANDOFF_ANSWERED,
        recipients,
        {"department": handoff.department.name, **params},
        key=key,
    )


def mentioned(conversation: Conversation, note: Note, member: Member, by: Member) -> None:
    _notify(
        conversation,
        MENTIONED,
        [member],
        {"author": by.user.display_name, "note": note.text[:1000]},
        key=f"note:{note.pk}",
    )


def assigned(conversation: Conversation, assignee: Member, by: Member) -> None:
    from django.utils import timezone

    _notify(
        conversation,
        ASSIGNED,
        [assignee],
        {"author": by.user.display_name},
        key=f"assign:{conversation.pk}:{assignee.pk}:{timezone.now().isoformat()}",
    )


def reply_to_approve(answer: Reply, by: Member) -> None:
    conversation = answer.conversation
    recipients = [
        m
        for m in Member.objects.filter(
            workspace_id=conversation.workspace_id, is_active=True
        ).select_related("user")
        if can(m, "post.approve") and m.pk != by.pk
    ]
    _notify(
        conversation,
        TO_APPROVE,
        recipients,
        {"author": by.user.display_name, "answer": answer.post.text[:1000]},
        key=f"reply:{answer.pk}:approve",
    )
