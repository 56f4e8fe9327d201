"""The notifications webcare's rules send (through the one notification path).

* ``care.assigned``: a conversation was given to you (out of hours: you are on duty);
* ``care.sla_warning``: a conversation of yours is close to its target;
* ``care.sla_breached``: a conversation missed its target (to its assignee, and escalated to
  the managers: members who set the team's rules);
* ``care.escalated``: a routing rule escalated a conversation (to the managers);
* ``care.swap_requested`` / ``care.swap_answered``: the rota's swaps;
* ``care.shift_starts``: your shift on the rota starts soon.

Each is sent inside the transaction of what it tells about, once per person and event (a key).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Member
from portevoix.core.permissions import can

if TYPE_CHECKING:
    from portevoix.inbox.models import Conversation

    from .models import RotaShift, ShiftSwap, SlaClock

ASSIGNED = "care.assigned"
SLA_WARNING = "care.sla_warning"
SLA_BREACHED = "care.sla_breached"
ESCALATED = "care.escalated"
SWAP_REQUESTED = "care.swap_requested"
SWAP_ANSWERED = "care.swap_answered"
SHIFT_STARTS = "care.shift_starts"

TARGET_LABELS = {
    "first_response": _("first response"),
    "next_response": _("next response"),
    "resolution": _("resolution"),
}


def _target(params: Mapping[str, Any]) -> str:
    return str(TARGET_LABELS.get(str(params.get("target")), params.get("target", "")))


def _assigned(params: Mapping[str, Any]) -> str:
    if params.get("on_duty"):
        return gettext("You are on duty: @%(customer)s is waiting for an answer") % params
    return gettext("A conversation for you: @%(customer)s") % params


def _warning(params: Mapping[str, Any]) -> str:
    return gettext("@%(customer)s: the %(target)s is due soon") % {
        **params,
        "target": _target(params),
    }


def _breached(params: Mapping[str, Any]) -> str:
    return gettext("@%(customer)s: the %(target)s target was missed") % {
        **params,
        "target": _target(params),
    }


def _escalated(params: Mapping[str, Any]) -> str:
    return gettext("Escalated by “%(rule)s”: @%(customer)s") % params


def _swap_requested(params: Mapping[str, Any]) -> str:
    return gettext("%(who)s asks you to take their shift") % params


def _swap_answered(params: Mapping[str, Any]) -> str:
    if params.get("accepted"):
        return gettext("%(who)s takes your shift") % params
    return gettext("%(who)s cannot take your shift") % params


def _shift(params: Mapping[str, Any]) -> str:
    return gettext("Your shift on the rota starts soon") % params


def kinds() -> list[Any]:
    from portevoix.notifications.kinds import Delivery, Kind

    conversation = "care/notifications/conversation.txt"
    shift = "care/notifications/shift.txt"
    return [
        Kind(
            code=ASSIGNED,
            label=_("A conversation was given to you"),
            help=_("Automatic assignment, and out of hours when you are on duty."),
            title=_assigned,
            template=conversation,
            default=Delivery.APP,
            audience="inbox.reply",
        ),
        Kind(
            code=SLA_WARNING,
            label=_("A conversation of yours is close to its response-time target"),
            help=_("Before a first response, a next response or a resolution is late."),
            title=_warning,
            template=conversation,
            default=Delivery.BOTH,
            audience="inbox.reply",
        ),
        Kind(
            code=SLA_BREACHED,
            label=_("A conversation missed its response-time target"),
            help=_("To its assignee, and escalated to the managers."),
            title=_breached,
            template=conversation,
            default=Delivery.BOTH,
            audience="inbox.reply",
        ),
        Kind(
            code=ESCALATED,
            label=_("A routing rule escalated a conversation"),
            help=_("Rules that escalate (a VIP, a journalist, a legal threat) tell the managers."),
            title=_escalated,
            template=conversation,
            default=Delivery.BOTH,
            audience="inbox.configure",
        ),
        Kind(
            code=SWAP_REQUESTED,
            label=_("A colleague asks you to take their shift"),
            help=_("Swaps on the on-call rota."),
            title=_swap_requested,
            template=shift,
            default=Delivery.BOTH,
            audience="inbox.reply",
        ),
        Kind(
            code=SWAP_ANSWERED,
            label=_("A colleague answered your shift swap"),
            help=_("Whether they take your shift on the on-call rota."),
            title=_swap_answered,
            template=shift,
            default=Delivery.BOTH,
            audience="inbox.reply",
        ),
        Kind(
            code=SHIFT_STARTS,
            label=_("Your shift on the rota starts soon"),
            help=_("An hour before each of your on-call shifts."),
            title=_shift,
            template=shift,
            default=Delivery.BOTH,
            audience="inbox.reply",
        ),
    ]


def register_kinds() -> None:
    from portevoix.notifications.kinds import register

    for kind in kinds():
        register(kind)


def _notify(workspace: Any, kind: str, people: Iterable[Member], **kwargs: Any) -> None:
    from portevoix.notifications.actions import notify

    notify(workspace, kind, people, **kwargs)


def conversation_url(conversation: Conversation) -> str:
    return reverse(
        "inbox_conversation", kwargs={"ws": conversation.workspace.slug, "pk": conversation.pk}
    )


def _conversation_params(conversation: Conversation, **extra: Any) -> dict[str, Any]:
    customer = conversation.customer
    return {
        "customer": customer.handle if customer else "?",
        "channel": conversation.channel.name,
        "preview": conversation.preview[:200],
        **extra,
    }


def managers(workspace_id: int) -> list[Member]:
    """Who escalations reach: active members who set the team's rules."""
    people = Member.objects.filter(workspace_id=workspace_id, is_active=True).select_related("user")
    return [m for m in people if can(m, "inbox.configure")]


def assigned(conversation: Conversation, member: Member, *, on_duty: bool) -> None:
    _notify(
        conversation.workspace,
        ASSIGNED,
        [member],
        obj=conversation,
        params=_conversation_params(conversation, on_duty=on_duty),
        url=conversation_url(conversation),
        key=f"assigned:{conversation.pk}:{member.pk}",
    )


def _watchers(conversation: Conversation) -> list[Member]:
    """The assignee; without one, whoever is on duty for it now."""
    if conversation.assignee_id:
        assignee = Member.objects.filter(pk=conversation.assignee_id, is_active=True).first()
        return [assignee] if assignee is not None else []
    from django.utils import timezone

    from . import rota

    status = rota.status(conversation.workspace, timezone.now())
    people = [
        m
        for m in status.on_duty
        if status.mode == "rota"
        or m.department_id == conversation.department_id
        or (conversation.department_id is None and can(m, "inbox.view_all"))
    ]
    return people


def sla_warning(clock: SlaClock, target: str, due: dt.datetime) -> None:
    conversation = clock.conversation
    _notify(
        conversation.workspace,
        SLA_WARNING,
        _watchers(conversation),
        obj=conversation,
        params=_conversation_params(
            conversation, target=target, due_at=due, policy=clock.policy_name
        ),
        url=conversation_url(conversation),
        key=f"sla:{conversation.pk}:{target}:{due.isoformat()}:warning",
    )


def sla_breached(clock: SlaClock, target: str, due: dt.datetime) -> None:
    conversation = clock.conversation
    people = {m.pk: m for m in [*_watchers(conversation), *managers(conversation.workspace_id)]}
    _notify(
        conversation.workspace,
        SLA_BREACHED,
        people.values(),
        obj=conversation,
        params=_conversation_params(
            conversation, target=target, due_at=due, policy=clock.policy_name
        ),
        url=conversation_url(conversation),
        key=f"sla:{conversation.pk}:{target}:{due.isoformat()}:breached",
    )


def escalated(
    conversation: Conversation, rule: str, *, people: Sequence[Member] | None = None
) -> None:
    """Tell the managers (``people``, when the caller has them already)."""
    _notify(
        conversation.workspace,
        ESCALATED,
        managers(conversation.workspace_id) if people is None else people,
        obj=conversation,
        params=_conversation_params(conversation, rule=rule),
        url=conversation_url(conversation),
        key=f"escalated:{conversation.pk}",
    )


def _rota_url(workspace: Any) -> str:
    return reverse("care_rota", kwargs={"ws": workspace.slug})


def _shift_params(shift: RotaShift, **extra: Any) -> dict[str, Any]:
    return {"starts_at": shift.starts_at, "ends_at": shift.ends_at, "note": shift.note, **extra}


def swap_requested(swap: ShiftSwap) -> None:
    shift = swap.shift
    _notify(
        shift.workspace,
        SWAP_REQUESTED,
        [swap.offered_to],
        obj=shift,
        params=_shift_params(shift, who=swap.requested_by.user.display_name, message=swap.message),
        url=_rota_url(shift.workspace),
        key=f"swap:{swap.pk}:requested",
    )


def swap_answered(swap: ShiftSwap) -> None:
    shift = swap.shift
    _notify(
        shift.workspace,
        SWAP_ANSWERED,
        [swap.requested_by],
        obj=shift,
        params=_shift_params(
            shift, who=swap.offered_to.user.display_name, accepted=swap.state == "accepted"
        ),
        url=_rota_url(shift.workspace),
        key=f"swap:{swap.pk}:answered",
    )


def shift_starts(shift: RotaShift) -> None:
    _notify(
        shift.workspace,
        SHIFT_STARTS,
        [shift.member],
        obj=shift,
        params=_shift_params(shift),
        url=_rota_url(shift.workspace),
        key=f"shift:{shift.pk}:{shift.member_id}:{shift.starts_at.isoformat()}",
    )
