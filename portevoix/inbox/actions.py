"""Every change to conversations: what the views, the API, the CLI and the worker call.

Each action checks the member's permission and that they may see the conversation (a
department agent only their department's), locks the row, changes it, writes the audit entry
in the same transaction, and leaves side effects (notifications) to that transaction.

Storing what comes in is :func:`portevoix.inbox.ingest.ingest` (re-exported here).

Replies are posts: :func:`reply` creates a ``Post(kind="reply")`` with one ``Publication``
(``in_reply_to`` the customer's message, ``private`` for a private answer), which the
publishing engine sends exactly once; a failure lands on the attention page like any post's.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.channels.models import Channel, ChannelStates
from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Department, Member, Workspace
from portevoix.core.permissions import Role, can, member_roles, require
from portevoix.inbox.ingest import ROUTING, ingest, on_ingested
from portevoix.inbox.models import (
    PRESENCE_SECONDS,
    CannedReply,
    Conversation,
    ConversationState,
    Customer,
    HandOff,
    HandOffLink,
    HandOffState,
    InboundMessage,
    Label,
    Note,
    Offer,
    Presence,
    Priority,
    Reply,
    ReplyApprovalRule,
    RoutedBy,
)
from portevoix.networks.types import Capability
from portevoix.publishing.models import Post, PostKind, PostMedia, Publication, PublicationStates

__all__ = [
    "ROUTING",
    "add_note",
    "assign",
    "bulk",
    "hand_off",
    "ingest",
    "on_ingested",
    "reply",
    "set_state",
]

CONVERSATION_FIELDS = ["state", "snoozed_until", "department", "assignee", "priority"]
#: The longest a conversation can be snoozed.
MAX_SNOOZE = dt.timedelta(days=60)


def _refuse_outsider(by: Member, workspace_id: int) -> None:
    if by.workspace_id != workspace_id:
        from django.http import Http404

        raise Http404("not found")


def _lock(by: Member, conversation: Conversation) -> Conversation:
    from django.http import Http404

    _refuse_outsider(by, conversation.workspace_id)
    if not Conversation.objects.visible_to(by).filter(pk=conversation.pk).exists():
        raise Http404("not found")
    locked: Conversation = (
        Conversation.objects.select_for_update()
        .select_related("channel", "customer")
        .get(pk=conversation.pk)
    )
    return locked


def _record(action: str, conversation: Conversation, by: Member | None, **data: Any) -> None:
    audit.record(
        action,
        workspace=conversation.workspace,
        actor=by.user if by is not None else None,
        obj=conversation,
        **data,
    )


#: Called with (conversation, changed fields) after each change an action saves, in its
#: transaction (webcare's SLA clocks: an answer stops one, waiting pauses one).
_changed_handlers: list[Callable[[Conversation, frozenset[str]], Any]] = []


def on_conversation_changed(handler: Callable[[Conversation, frozenset[str]], Any]) -> None:
    if handler not in _changed_handlers:
        _changed_handlers.append(handler)


def _touch(conversation: Conversation, *fields: str) -> None:
    conversation.updated_at = timezone.now()
    conversation.save(update_fields=[*fields, "updated_at"])
    for handler in list(_changed_handlers):
        handler(conversation, frozenset(fields))


# --- state ---------------------------------------------------------------------------------


@transaction.atomic
def set_state(
    conversation: Conversation,
    *,
    by: Member,
    state: str,
    until: dt.datetime | None = None,
) -> Conversation:
    """Open, wait for the customer, snooze until a time, resolve, or mark as spam (and back).

    Anyone who may answer the conversation may move it; a snooze needs a time in the future.
    """
    require(by, "inbox.reply")
    conversation = _lock(by, conversation)
    if state not in ConversationState.values:
        raise ActionRefused(_("Unknown state."), field="state")
    now = timezone.now()
    before = audit.snapshot(conversation, CONVERSATION_FIELDS)
    if state == ConversationState.SNOOZED:
        if until is None or until.tzinfo is None:
            raise ActionRefused(_("Say until when, with its time zone."), field="until")
        if until <= now:
            raise ActionRefused(_("Snooze until a time in the future."), field="until")
        if until > now + MAX_SNOOZE:
            raise ActionRefused(
                _("A conversation can be snoozed for 60 days at most."), field="until"
            )
        conversation.snoozed_until = until
    else:
        conversation.snoozed_until = None
    if state == ConversationState.RESOLVED:
        conversation.resolved_at = now
    elif conversation.state == ConversationState.RESOLVED:
        conversation.resolved_at = None
    conversation.state = state
    _touch(conversation, "state", "snoozed_until", "resolved_at")
    _record(
        "conversation.state",
        conversation,
        by,
        before=before,
        after=audit.snapshot(conversation, CONVERSATION_FIELDS),
    )
    return conversation


def wake_snoozed(now: dt.datetime | None = None) -> int:
    """Bring back the snoozed conversations whose time has come (housekeeping, every minute)."""
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        due = list(
            Conversation.objects.select_for_update(skip_locked=True)
            .filter(state=ConversationState.SNOOZED, snoozed_until__lte=now)
            .select_related("workspace")[:500]
        )
        for conversation in due:
            conversation.state = ConversationState.OPEN
            conversation.snoozed_until = None
            _touch(conversation, "state", "snoozed_until")
            _record("conversation.woke", conversation, None)
            count += 1
    return count


# --- assignment, priority, labels ----------------------------------------------------------


@transaction.atomic
def assign(conversation: Conversation, *, by: Member, assignee: Member | None) -> Conversation:
    """Give the conversation to a member who may answer it, or to nobody.

    A member who may route assigns anyone who can see it; anyone who may answer can take a
    conversation for themselves.
    """
    if assignee is not None and assignee.pk == by.pk:
        require(by, "inbox.reply")
    else:
        require(by, "inbox.route")
    conversation = _lock(by, conversation)
    if assignee is not None:
        if assignee.workspace_id != conversation.workspace_id or not assignee.is_active:
            raise ActionRefused(_("That member does not exist here."), field="assignee")
        if not can(assignee, "inbox.reply"):
            raise ActionRefused(
                _("%(name)s cannot answer conversations.") % {"name": assignee.user},
                field="assignee",
            )
        if not can(assignee, "inbox.view_all") and not (
            assignee.department_id and assignee.department_id == conversation.department_id
        ):
            raise ActionRefused(
                _("%(name)s only sees their department's conversations: hand it off first.")
                % {"name": assignee.user},
                field="assignee",
            )
    if conversation.assignee_id == (assignee.pk if assignee else None):
        return conversation
    before = audit.snapshot(conversation, CONVERSATION_FIELDS)
    conversation.assignee = assignee
    if conversation.state == ConversationState.NEW and assignee is not None:
        conversation.state = ConversationState.OPEN
    _touch(conversation, "assignee", "state")
    _record(
        "conversation.assign",
        conversation,
        by,
        before=before,
        after=audit.snapshot(conversation, CONVERSATION_FIELDS),
    )
    if assignee is not None and assignee.pk != by.pk:
        from portevoix.inbox import notices

        notices.assigned(conversation, assignee, by)
    return conversation


@transaction.atomic
def set_priority(conversation: Conversation, *, by: Member, priority: int) -> Conversation:
    require(by, "inbox.route")
    conversation = _lock(by, conversation)
    if priority not in Priority.values:
        raise ActionRefused(_("Unknown priority."), field="priority")
    before = audit.snapshot(conversation, CONVERSATION_FIELDS)
    conversation.priority = priority
    _touch(conversation, "priority")
    _record(
        "conversation.priority",
        conversation,
        by,
        before=before,
        after=audit.snapshot(conversation, CONVERSATION_FIELDS),
    )
    return conversation


@transaction.atomic
def set_labels(conversation: Conversation, *, by: Member, labels: Iterable[Label]) -> Conversation:
    """Replace the conversation's labels."""
    require(by, "inbox.route")
    conversation = _lock(by, conversation)
    chosen = list(labels)
    if any(label.workspace_id != conversation.workspace_id for label in chosen):
        raise ActionRefused(_("That label does not exist here."), field="labels")
    before = sorted(conversation.labels.values_list("name", flat=True))
    conversation.labels.set(chosen)
    _touch(conversation)
    _record(
        "conversation.labels",
        conversation,
        by,
        before={"labels": before},
        after={"labels": sorted(label.name for label in chosen)},
    )
    return conversation


LABEL_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@transaction.atomic
def create_label(workspace: Workspace, *, by: Member, name: str, color: str = "") -> Label:
    require(by, "inbox.route")
    _refuse_outsider(by, workspace.pk)
    name = name.strip()
    if not name:
        raise ActionRefused(_("A label needs a name."), field="name")
    if len(name) > 60:
        raise ActionRefused(_("A label's name has 60 characters at most."), field="name")
    color = color.strip() or "#5b6475"
    if not LABEL_COLOR.match(color):
        raise ActionRefused(_("A colour looks like #3558d6."), field="color")
    if Label.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise ActionRefused(
            _("A label called “%(name)s” already exists.") % {"name": name}, field="name"
        )
    label = Label.objects.create(workspace=workspace, name=name, color=color)
    audit.record(
        "label.create", workspace=workspace, actor=by.user, obj=label, after={"name": name}
    )
    return label


@transaction.atomic
def delete_label(label: Label, *, by: Member) -> None:
    require(by, "inbox.manage")
    _refuse_outsider(by, label.workspace_id)
    audit.record(
        "label.delete",
        workspace=label.workspace,
        actor=by.user,
        obj=label,
        before={"name": label.name},
    )
    label.delete()


# --- notes ---------------------------------------------------------------------------------

MENTION = re.compile(r"(?<![\w.@])@([\w][\w.\-]*\w|\w)", re.UNICODE)


def mention_handle(member: Member) -> str:
    """What to type after ``@`` to mention a member: their e-mail's local part."""
    return member.user.email.split("@", 1)[0].lower()


def mentioned(workspace_id: int, text: str) -> list[Member]:
    handles = {m.lower() for m in MENTION.findall(text)}
    if not handles:
        return []
    candidates = Member.objects.filter(workspace_id=workspace_id, is_active=True).select_related(
        "user"
    )
    return [m for m in candidates if mention_handle(m) in handles]


@transaction.atomic
def add_note(conversation: Conversation, *, by: Member, text: str) -> Note:
    """A note for the team; each ``@handle`` of a member who can see the conversation tells
    them (one notification per note and person)."""
    require(by, "inbox.reply")
    conversation = _lock(by, conversation)
    text = text.strip()
    if not text:
        raise ActionRefused(_("Write the note first."), field="text")
    if len(text) > 5000:
        raise ActionRefused(_("A note has 5,000 characters at most."), field="text")
    note = Note.objects.create(conversation=conversation, author=by, text=text)
    told = [
        m
        for m in mentioned(conversation.workspace_id, text)
        if m.pk != by.pk and Conversation.objects.visible_to(m).filter(pk=conversation.pk).exists()
    ]
    note.mentions.set(told)
    _touch(conversation)
    _record(
        "conversation.note",
        conversation,
        by,
        after={"note": note.pk, "mentions": [mention_handle(m) for m in told]},
    )
    from portevoix.inbox import notices

    for member in told:
        notices.mentioned(conversation, note, member, by)
    return note


# --- customers -----------------------------------------------------------------------------


@transaction.atomic
def update_customer_notes(customer: Customer, *, by: Member, notes: str) -> Customer:
    """What the team knows about a customer (shown beside each of their conversations)."""
    require(by, "inbox.reply")
    _refuse_outsider(by, customer.workspace_id)
    customer = Customer.objects.visible_to(by).select_for_update().get_for(by, pk=customer.pk)
    notes = notes.strip()
    if len(notes) > 5000:
        raise ActionRefused(_("Notes have 5,000 characters at most."), field="notes")
    before = {"notes": customer.notes}
    customer.notes = notes
    customer.save(update_fields=["notes"])
    audit.record(
        "customer.notes",
        workspace=customer.workspace,
        actor=by.user,
        obj=customer,
        before=before,
        after={"notes": notes},
    )
    return customer


# --- presence ------------------------------------------------------------------------------


def touch_presence(conversation: Conversation, *, member: Member, replying: bool) -> list[Presence]:
    """Say that ``member`` has the conversation open (and is writing); returns the others who
    do. Not audited: it is a heartbeat, not a change."""
    if not Conversation.objects.visible_to(member).filter(pk=conversation.pk).exists():
        from django.http import Http404

        raise Http404("not found")
    now = timezone.now()
    updated = Presence.objects.filter(conversation=conversation, member=member).update(
        replying=replying, seen_at=now
    )
    if not updated:
        from django.db import IntegrityError

        try:
            with transaction.atomic():
                Presence.objects.create(
                    conversation=conversation, member=member, replying=replying, seen_at=now
                )
        except IntegrityError:
            Presence.objects.filter(conversation=conversation, member=member).update(
                replying=replying, seen_at=now
            )
    return others_present(conversation, member)


def others_present(conversation: Conversation, member: Member) -> list[Presence]:
    since = timezone.now() - dt.timedelta(seconds=PRESENCE_SECONDS)
    return list(
        Presence.objects.filter(conversation=conversation, seen_at__gte=since)
        .exclude(member=member)
        .select_related("member__user")
        .order_by("-replying", "member__user__full_name")
    )


def leave(conversation: Conversation, *, member: Member) -> None:
    Presence.objects.filter(conversation=conversation, member=member).delete()


# --- replies -------------------------------------------------------------------------------


def needs_approval(member: Member, *, private: bool) -> bool:
    """Whether a public reply by ``member`` waits for the social team's approval.

    The member's own rule, else their department's, else the default: a department agent's
    public replies need approval, nobody else's. Private replies never do.
    """
    if private:
        return False
    rules = ReplyApprovalRule.objects.filter(workspace_id=member.workspace_id).filter(
        Q(member=member) | Q(member__isnull=True, department_id=member.department_id)
    )
    found = {("member" if r.member_id else "department"): r.required for r in rules}
    if "member" in found:
        return found["member"]
    if "department" in found and member.department_id:
        return found["department"]
    # A department agent's public replies wait, unless another of their roles answers the
    # inbox anyway (a content marketer who is also in a department).
    roles = member_roles(member)
    return Role.AGENT in roles and not can(member, "inbox.route")


def reply_problems(
    channel: Channel, text: str, *, private: bool, uploads: Sequence[Any]
) -> list[str]:
    """What the channel's network would refuse in this answer, before anything is saved."""
    from portevoix.publishing.actions import compose_problems

    problems: list[str] = []
    network = channel.network_class
    if channel.state == ChannelStates.disconnected.name:
        problems.append(_("%(channel)s is disconnected.") % {"channel": channel.name})
        return problems
    if private and Capability.REPLY_PRIVATE not in network.capabilities:
        problems.append(
            _("%(network)s does not let Porte-voix answer in private.") % {"network": network.label}
        )
    if not private and Capability.REPLY_PUBLIC not in network.capabilities:
        problems.append(
            _("%(network)s does not let Porte-voix answer in public.") % {"network": network.label}
        )
    if private and uploads:
        problems.append(_("A private answer is text only."))
    # Checked as an answer (any id will do): Instagram, say, needs no image under a comment.
    problems.extend(compose_problems(channel, text, uploads, in_reply_to="answer"))
    return problems


def reply_refusal(conversation: Conversation, *, private: bool | None = None) -> str | None:
    """Why the conversation's network gives no way to answer its last message (in public, or
    in private); None when it gives one. The page says this instead of a reply box."""
    last: InboundMessage | None = conversation.messages.order_by("-created_at", "-id").first()
    if last is None:
        return None
    if private is None:
        private = conversation.is_private
    return conversation.channel.network_class.reply_refusal(last.kind, private=private)


def _answered(conversation: Conversation, in_reply_to: InboundMessage | None) -> InboundMessage:
    if in_reply_to is not None:
        if in_reply_to.conversation_id != conversation.pk:
            raise ActionRefused(_("That message is not in this conversation."), field="in_reply_to")
        return in_reply_to
    last: InboundMessage | None = conversation.messages.order_by("-created_at", "-id").first()
    if last is None:
        raise ActionRefused(_("There is no message to answer."))
    return last


def _mark_answered(conversation: Conversation, now: dt.datetime, *, resolve: bool) -> None:
    if conversation.first_response_at is None:
        conversation.first_response_at = now
    conversation.last_reply_at = now
    conversation.last_message_at = max(conversation.last_message_at, now)
    if resolve:
        conversation.state = ConversationState.RESOLVED
        conversation.resolved_at = now
    elif conversation.state != ConversationState.SPAM:
        conversation.state = ConversationState.WAITING
    conversation.snoozed_until = None
    _touch(
        conversation,
        "first_response_at",
        "last_reply_at",
        "last_message_at",
        "state",
        "resolved_at",
        "snoozed_until",
    )


@transaction.atomic
def reply(
    conversation: Conversation,
    *,
    by: Member,
    text: str,
    private: bool | None = None,
    uploads: Sequence[Any] = (),
    in_reply_to: InboundMessage | None = None,
    resolve: bool = False,
    draft: bool = False,
    handoff: HandOff | None = None,
) -> Reply:
    """Answer the customer, in public under their message or in private.

    The answer is a ``Post(kind="reply")`` delivered by the publishing engine exactly once,
    due now; a department agent's public answer waits for approval (``needs_approval``).
    ``draft=True`` keeps it for someone to send later (a hand-off's answer). Answering moves
    the conversation to "waiting for the customer" (or resolves it), and the first answer
    stops the first-response clock.
    """
    from portevoix.publishing.actions import Upload

    require(by, "inbox.reply")
    conversation = _lock(by, conversation)
    if private is None:
        private = conversation.is_private
    text = text.strip()
    if not text:
        raise ActionRefused(_("Write the answer first."), field="text")
    if conversation.state == ConversationState.SPAM:
        raise ActionRefused(_("This conversation is marked as spam: say it is not, first."))
    channel = conversation.channel
    uploads = list(uploads)
    answered = _answered(conversation, in_reply_to)
    refusal = channel.network_class.reply_refusal(answered.kind, private=private)
    if refusal:
        raise ActionRefused(refusal, field="text", code="no_reply")
    problems = reply_problems(channel, text, private=private, uploads=uploads)
    if problems:
        raise ActionRefused(" ".join(problems), field="text", code="invalid_reply")
    now = timezone.now()
    approval = (not draft) and needs_approval(by, private=private)
    post = Post.objects.create(
        workspace=conversation.workspace,
        kind=PostKind.REPLY,
        title=_("Answer to @%(handle)s") % {"handle": conversation.customer.handle},
        text=text,
        author=by.user,
        source="inbox",
    )
    for position, upload in enumerate(uploads):
        assert isinstance(upload, Upload)
        from django.core.files.base import ContentFile

        item = PostMedia(
            post=post,
            mime_type=upload.mime,
            alt_text=upload.alt_text,
            size=len(upload.data),
            position=position,
        )
        item.file.save(upload.filename, ContentFile(upload.data), save=False)
        item.save()
    if draft:
        state = PublicationStates.draft
    elif approval:
        state = PublicationStates.pending_approval
    else:
        state = PublicationStates.scheduled
    Publication.objects.create(
        post=post,
        channel=channel,
        scheduled_at=now,
        state=state.name,
        next_attempt_at=now if state == PublicationStates.scheduled else None,
        # What the network answers: the message's id, or where the network takes answers to
        # that kind of message (an Instagram mention: the media and the comment).
        in_reply_to=channel.network_class.reply_target(
            answered.message_id,
            kind=answered.kind,
            in_reply_to=answered.in_reply_to,
            thread_id=answered.thread_id,
        ),
        private=private,
    )
    answer = Reply.objects.create(
        conversation=conversation,
        post=post,
        in_reply_to=answered,
        private=private,
        author=by,
        handoff=handoff,
        created_at=now,
    )
    if state == PublicationStates.scheduled:
        _mark_answered(conversation, now, resolve=resolve)
    else:
        if conversation.state == ConversationState.NEW:
            conversation.state = ConversationState.OPEN
        _touch(conversation, "state")
    Presence.objects.filter(conversation=conversation, member=by).update(replying=False)
    if by.department_id and state != PublicationStates.draft:
        # A member of a department the conversation was handed to answers: its response time
        # for that hand-off ends here.
        HandOff.objects.filter(
            conversation=conversation,
            department_id=by.department_id,
            state=HandOffState.OPEN,
            answered_at__isnull=True,
        ).update(state=HandOffState.ANSWERED, answered_at=now, answered_by=by)
    _record(
        "conversation.reply",
        conversation,
        by,
        after={
            "reply": answer.pk,
            "post": post.pk,
            "private": private,
            "state": state.name,
            "text": text[:500],
        },
    )
    if approval:
        from portevoix.inbox import notices

        notices.reply_to_approve(answer, by)
    return answer


def _reply_publication(answer: Reply) -> Publication:
    publication: Publication = Publication.objects.select_for_update().get(post_id=answer.post_id)
    return publication


@transaction.atomic
def send_reply(
    answer: Reply, *, by: Member, text: str | None = None, resolve: bool = False
) -> Reply:
    """Send an answer that waits: a draft (a hand-off's answer, edited if need be) or one
    pending approval (sending it is approving it: it needs ``post.approve``)."""
    require(by, "inbox.reply")
    conversation = _lock(by, answer.conversation)
    publication = _reply_publication(answer)
    post = answer.post
    if publication.state == PublicationStates.pending_approval.name:
        require(by, "post.approve")
    elif publication.state != PublicationStates.draft.name:
        raise ActionRefused(_("This answer is not waiting to be sent."), code="state")
    elif needs_approval(by, private=answer.private):
        raise ActionRefused(_("Your public answers need approval: ask the social team."))
    if text is not None:
        text = text.strip()
        if not text:
            raise ActionRefused(_("Write the answer first."), field="text")
        problems = reply_problems(
            conversation.channel, text, private=answer.private, uploads=list(post.media.all())
        )
        if problems:
            raise ActionRefused(" ".join(problems), field="text", code="invalid_reply")
        if text != post.text:
            post.text = text
            post.updated_at = timezone.now()
            post.save(update_fields=["text", "updated_at"])
    now = timezone.now()
    approved = publication.state == PublicationStates.pending_approval.name
    Publication.objects.filter(pk=publication.pk).update(scheduled_at=now)
    if approved:
        # Sending it is approving it, through publishing's approvals (the same record and
        # checks as posts, which the worker asks again before the send): the steps the
        # answer needs for its current text, each approved by ``by``.
        from portevoix.publishing.approvals import actions as approvals
        from portevoix.publishing.approvals.models import StepState

        approvals.route(post, [publication], by=None)
        for step in post.approval_steps.filter(state=StepState.WAITING):
            approvals.approve(step, by=by)
        publication.refresh_from_db()
    if publication.state != PublicationStates.scheduled.name:
        publication.transition(PublicationStates.scheduled, fields={"scheduled_at": now})
    _mark_answered(conversation, now, resolve=resolve)
    _record(
        "conversation.reply_approve" if approved else "conversation.reply_send",
        conversation,
        by,
        after={"reply": answer.pk, "post": post.pk, "text": post.text[:500]},
    )
    return answer


@transaction.atomic
def discard_reply(answer: Reply, *, by: Member) -> Reply:
    """Drop an answer that has not gone out (a draft, or one refused at approval)."""
    require(by, "inbox.reply")
    conversation = _lock(by, answer.conversation)
    publication = _reply_publication(answer)
    if publication.state == PublicationStates.pending_approval.name:
        if not (can(by, "post.approve") or answer.author_id == by.pk):
            raise ActionRefused(_("Only an approver or its author can drop this answer."))
    elif publication.state != PublicationStates.draft.name:
        raise ActionRefused(_("This answer is not waiting to be sent."), code="state")
    publication.transition(PublicationStates.cancelled)
    _record("conversation.reply_discard", conversation, by, after={"reply": answer.pk})
    return answer


# --- hand-offs -----------------------------------------------------------------------------


@transaction.atomic
def hand_off(
    conversation: Conversation, *, by: Member, department: Department, note: str = ""
) -> HandOff:
    """Hand the conversation to a department: it joins that department's queue, its agents
    are told, and the department's response time starts."""
    require(by, "inbox.route")
    conversation = _lock(by, conversation)
    if department.workspace_id != conversation.workspace_id or not department.is_active:
        raise ActionRefused(_("That department does not exist here."), field="department")
    if HandOff.objects.filter(
        conversation=conversation, department=department, state=HandOffState.OPEN
    ).exists():
        raise ActionRefused(
            _("This conversation is already waiting for %(department)s.")
            % {"department": department.name},
            field="department",
        )
    before = audit.snapshot(conversation, CONVERSATION_FIELDS)
    handoff = HandOff.objects.create(
        conversation=conversation,
        department=department,
        note=note.strip()[:5000],
        requested_by=by,
    )
    conversation.department = department
    conversation.routed_by = RoutedBy.PERSON
    conversation.route_note = _("Handed off by %(name)s") % {"name": by.user.display_name}
    if conversation.assignee is not None and not can(conversation.assignee, "inbox.view_all"):
        conversation.assignee = None  # another department's agent no longer sees it
    if conversation.state in (ConversationState.NEW, ConversationState.RESOLVED):
        conversation.state = ConversationState.OPEN
        conversation.resolved_at = None
    _touch(
        conversation, "department", "routed_by", "route_note", "assignee", "state", "resolved_at"
    )
    _record(
        "conversation.hand_off",
        conversation,
        by,
        before=before,
        after={**audit.snapshot(conversation, CONVERSATION_FIELDS), "note": handoff.note[:500]},
    )
    from portevoix.inbox import notices

    notices.handed_off(handoff, by)
    return handoff


def _open_handoff(handoff: HandOff) -> HandOff:
    locked: HandOff = (
        HandOff.objects.select_for_update().select_related("department").get(pk=handoff.pk)
    )
    if locked.state not in (HandOffState.OPEN, HandOffState.ANSWERED):
        raise ActionRefused(_("This hand-off is closed."), code="closed")
    return locked


@transaction.atomic
def answer_handoff(
    handoff: HandOff,
    *,
    text: str,
    by: Member | None = None,
    name: str = "",
) -> Reply:
    """The department's answer, back to the social team as a draft to send.

    ``by`` is a member of the department, or ``None`` with ``name`` for someone without an
    account who answered through a hand-off link (the link's use is audited apart).
    """
    handoff = _open_handoff(handoff)
    conversation = handoff.conversation
    if by is not None:
        require(by, "inbox.reply")
        _lock(by, conversation)
    text = text.strip()
    if not text:
        raise ActionRefused(_("Write the answer first."), field="text")
    if len(text) > 10000:
        raise ActionRefused(_("An answer has 10,000 characters at most."), field="text")
    now = timezone.now()
    answered = conversation.messages.order_by("-created_at", "-id").first()
    post = Post.objects.create(
        workspace=conversation.workspace,
        kind=PostKind.REPLY,
        title=_("Answer from %(department)s") % {"department": handoff.department.name},
        text=text,
        author=by.user if by is not None else None,
        source="handoff",
    )
    Publication.objects.create(
        post=post,
        channel=conversation.channel,
        scheduled_at=now,
        state=PublicationStates.draft.name,
        in_reply_to=answered.message_id if answered else "",
        private=conversation.is_private,
    )
    answer = Reply.objects.create(
        conversation=conversation,
        post=post,
        in_reply_to=answered,
        private=conversation.is_private,
        author=by,
        handoff=handoff,
        created_at=now,
    )
    first = handoff.answered_at is None
    handoff.state = HandOffState.ANSWERED
    if first:
        handoff.answered_at = now
        handoff.answered_by = by
        handoff.answered_by_name = (name or "").strip()[:200]
    handoff.save(update_fields=["state", "answered_at", "answered_by", "answered_by_name"])
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=now)
    audit.record(
        "handoff.answer",
        workspace=conversation.workspace,
        actor=by.user if by is not None else None,
        actor_label=_link_actor(handoff, name) if by is None else "",
        obj=conversation,
        after={"handoff": handoff.pk, "reply": answer.pk, "name": name[:200], "text": text[:500]},
    )
    from portevoix.inbox import notices

    notices.handoff_answered(handoff, answer, by, name)
    return answer


@transaction.atomic
def take_over(handoff: HandOff, *, by: Member | None = None, name: str = "") -> HandOff:
    """The department takes the conversation over: a member of it becomes its assignee; someone
    without an account says they deal with the customer themselves."""
    handoff = _open_handoff(handoff)
    conversation = handoff.conversation
    now = timezone.now()
    if by is not None:
        require(by, "inbox.reply")
        conversation = _lock(by, conversation)
        conversation.assignee = by
        if conversation.state == ConversationState.NEW:
            conversation.state = ConversationState.OPEN
        _touch(conversation, "assignee", "state")
    handoff.state = HandOffState.TAKEN_OVER
    if handoff.answered_at is None:
        handoff.answered_at = now
        handoff.answered_by = by
        handoff.answered_by_name = (name or "").strip()[:200]
    handoff.save(update_fields=["state", "answered_at", "answered_by", "answered_by_name"])
    audit.record(
        "handoff.take_over",
        workspace=conversation.workspace,
        actor=by.user if by is not None else None,
        actor_label=_link_actor(handoff, name) if by is None else "",
        obj=conversation,
        after={"handoff": handoff.pk, "name": name[:200]},
    )
    from portevoix.inbox import notices

    notices.handoff_taken_over(handoff, by, name)
    return handoff


@transaction.atomic
def close_handoff(handoff: HandOff, *, by: Member) -> HandOff:
    require(by, "inbox.route")
    _lock(by, handoff.conversation)
    handoff = HandOff.objects.select_for_update().get(pk=handoff.pk)
    if handoff.state == HandOffState.CLOSED:
        return handoff
    handoff.state = HandOffState.CLOSED
    handoff.closed_at = timezone.now()
    handoff.save(update_fields=["state", "closed_at"])
    audit.record(
        "handoff.close",
        workspace=handoff.conversation.workspace,
        actor=by.user,
        obj=handoff.conversation,
        after={"handoff": handoff.pk},
    )
    return handoff


# --- hand-off links: someone without an account -------------------------------------------

HANDOFF_PURPOSE = "handoff"
#: A hand-off link lasts days, not weeks: 3 by default, 14 at most.
LINK_DAYS_DEFAULT = 3
LINK_DAYS_MAX = 14
BROWSER_COOKIE = "pv_handoff_%d"


def register_handoff_purpose() -> None:
    from portevoix.core import access

    access.register(
        access.Purpose(
            code=HANDOFF_PURPOSE,
            target="inbox.handoff",
            issue_action="inbox.route",
            max_lifetime=dt.timedelta(days=LINK_DAYS_MAX),
            default_lifetime=dt.timedelta(days=LINK_DAYS_DEFAULT),
            check=_handoff_link_check,
        )
    )


def _handoff_link_check(handoff: HandOff) -> str | None:
    return None if handoff.is_open else "closed"


def _link_actor(handoff: HandOff, name: str) -> str:
    name = (name or "").strip()[:100]
    return f"link: handoff #{handoff.pk}" + (f" ({name})" if name else "")


def _hash(secret: str) -> str:
    import hashlib

    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def issue_handoff_link(
    handoff: HandOff, *, by: Member, recipient: str = "", days: int = LINK_DAYS_DEFAULT
) -> tuple[HandOffLink, str]:
    """A link to this hand-off for someone without an account. Returns the row and the token
    (shown once: only its hash is kept)."""
    from portevoix.core.actions import issue_access_token

    require(by, "inbox.route")
    _lock(by, handoff.conversation)
    handoff = _open_handoff(handoff)
    if not 1 <= days <= LINK_DAYS_MAX:
        raise ActionRefused(
            _("A hand-off link lasts from 1 to %(days)d days.") % {"days": LINK_DAYS_MAX},
            field="days",
        )
    row, token = issue_access_token(
        HANDOFF_PURPOSE, handoff, by=by, lifetime=dt.timedelta(days=days)
    )
    link = HandOffLink.objects.create(
        handoff=handoff, token=row, recipient=recipient.strip()[:200], created_by=by
    )
    _record(
        "handoff.link",
        handoff.conversation,
        by,
        after={
            "handoff": handoff.pk,
            "token": row.pk,
            "recipient": link.recipient,
            "expires_at": row.expires_at,
        },
    )
    return link, token


def revoke_handoff_link(link: HandOffLink, *, by: Member) -> HandOffLink:
    """Stop the link at once (core's revoke: audited, the issuer or inbox.route)."""
    from portevoix.core.actions import revoke_access_token

    if link.handoff.conversation.workspace_id != by.workspace_id:
        from django.http import Http404

        raise Http404("not found")
    revoke_access_token(link.token, by=by)
    link.token.refresh_from_db()
    return link


def open_handoff_link(token: str, *, browser: str) -> tuple[HandOffLink, str]:
    """One use of a hand-off link (core counts and audits it; a refusal is ActionRefused).

    The first browser to open it is the only one it works in: it gets a secret (returned, to
    set as a cookie) whose hash is kept; another browser is refused, and that is audited.
    """
    from django.utils.crypto import constant_time_compare

    from portevoix.core.actions import use_access_token

    row, _target = use_access_token(token, purpose=HANDOFF_PURPOSE)
    with transaction.atomic():
        link = (
            HandOffLink.objects.select_for_update()
            .select_related("handoff__conversation__workspace", "handoff__department", "token")
            .get(token=row)
        )
        if not link.browser_hash:
            secret = secrets.token_urlsafe(24)
            link.browser_hash = _hash(secret)
            link.save(update_fields=["browser_hash"])
            return link, secret
        if browser and constant_time_compare(_hash(browser), link.browser_hash):
            return link, ""
        audit.record(
            "access.refused",
            workspace=link.handoff.conversation.workspace,
            actor=None,
            actor_label=f"link: {row.purpose} #{row.pk}",
            obj=row,
            after={"reason": "other_browser"},
        )
    raise ActionRefused(
        _("This link was opened in another browser: it only works there."), code="browser"
    )


# --- many at once --------------------------------------------------------------------------

BULK_OPERATIONS = ("assign", "unassign", "resolve", "open", "spam", "label", "priority")


def bulk(
    conversations: Sequence[Conversation],
    *,
    by: Member,
    operation: str,
    value: Any = None,
) -> int:
    """Apply one change to several conversations, each in its own transaction (one refused
    does not undo the others). Returns how many changed; refusals are raised after the rest
    is done, with the count."""
    if operation not in BULK_OPERATIONS:
        raise ActionRefused(_("Unknown bulk action."), field="operation")
    if not conversations:
        raise ActionRefused(_("Select at least one conversation."), field="conversations")
    done, refused = 0, []
    for conversation in conversations:
        try:
            if operation == "assign":
                assign(conversation, by=by, assignee=value)
            elif operation == "unassign":
                assign(conversation, by=by, assignee=None)
            elif operation in ("resolve", "open", "spam"):
                state = {"resolve": "resolved", "open": "open", "spam": "spam"}[operation]
                set_state(conversation, by=by, state=state)
            elif operation == "label":
                current = list(conversation.labels.all())
                if value not in current:
                    set_labels(conversation, by=by, labels=[*current, value])
            elif operation == "priority":
                set_priority(conversation, by=by, priority=int(value))
            done += 1
        except ActionRefused as exc:
            refused.append(exc.message)
    if refused and not done:
        raise ActionRefused(refused[0])
    return done


# --- canned replies and offers -------------------------------------------------------------

CANNED_VARIABLES = {
    "customer_name": gettext_noop("the customer's name"),
    "customer_handle": gettext_noop("the customer's handle, with its @"),
    "agent_name": gettext_noop("your name"),
    "brand": gettext_noop("the workspace's name"),
    "channel": gettext_noop("the channel's name"),
}


def _check_variables(text: str) -> None:
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ActionRefused(
            _("Braces are for variables, like {customer_name}: check the text."), field="text"
        ) from exc
    unknown = sorted({f for f in fields if f not in CANNED_VARIABLES})
    if unknown:
        raise ActionRefused(
            _("Unknown variable: %(names)s. Use %(known)s.")
            % {
                "names": ", ".join("{" + u + "}" for u in unknown),
                "known": ", ".join("{" + k + "}" for k in CANNED_VARIABLES),
            },
            field="text",
        )


def fill_variables(text: str, conversation: Conversation, member: Member) -> str:
    values = {
        "customer_name": conversation.customer.name.split(" ")[0]
        if conversation.customer.display_name
        else conversation.customer.handle,
        "customer_handle": f"@{conversation.customer.handle}",
        "agent_name": member.user.display_name.split(" ")[0],
        "brand": conversation.workspace.name,
        "channel": conversation.channel.name,
    }
    try:
        return text.format(**values)
    except (KeyError, ValueError, IndexError):
        return text


def _language(value: str) -> str:
    if value not in ("", "fr", "en"):
        raise ActionRefused(_("Choose French, English or any language."), field="language")
    return value


@transaction.atomic
def save_canned_reply(
    workspace: Workspace,
    *,
    by: Member,
    title: str,
    text: str,
    language: str = "",
    canned: CannedReply | None = None,
) -> CannedReply:
    require(by, "inbox.manage")
    _refuse_outsider(by, workspace.pk)
    title, text = title.strip(), text.strip()
    if not title:
        raise ActionRefused(_("Give it a title."), field="title")
    if not text:
        raise ActionRefused(_("Write the answer."), field="text")
    _check_variables(text)
    language = _language(language)
    clash = CannedReply.objects.filter(workspace=workspace, title__iexact=title, language=language)
    if canned is not None:
        clash = clash.exclude(pk=canned.pk)
    if clash.exists():
        raise ActionRefused(
            _("A canned reply called “%(title)s” already exists.") % {"title": title},
            field="title",
        )
    before = None
    if canned is None:
        canned = CannedReply(workspace=workspace, created_by=by)
    else:
        canned = CannedReply.objects.select_for_update().get(pk=canned.pk, workspace=workspace)
        before = audit.snapshot(canned, ["title", "text", "language"])
    canned.title, canned.text, canned.language = title, text, language
    canned.updated_at = timezone.now()
    canned.save()
    audit.record(
        "canned_reply.save",
        workspace=workspace,
        actor=by.user,
        obj=canned,
        before=before,
        after=audit.snapshot(canned, ["title", "text", "language"]),
    )
    return canned


@transaction.atomic
def delete_canned_reply(canned: CannedReply, *, by: Member) -> None:
    require(by, "inbox.manage")
    _refuse_outsider(by, canned.workspace_id)
    audit.record(
        "canned_reply.delete",
        workspace=canned.workspace,
        actor=by.user,
        obj=canned,
        before=audit.snapshot(canned, ["title", "text", "language"]),
    )
    canned.delete()


OFFER_FIELDS = ["title", "text", "link", "language", "keywords", "valid_from", "valid_until"]


@transaction.atomic
def save_offer(
    workspace: Workspace,
    *,
    by: Member,
    title: str,
    text: str,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    link: str = "",
    language: str = "",
    keywords: str = "",
    offer: Offer | None = None,
) -> Offer:
    require(by, "inbox.manage")
    _refuse_outsider(by, workspace.pk)
    title, text = title.strip(), text.strip()
    if not title:
        raise ActionRefused(_("Give it a title."), field="title")
    if not text:
        raise ActionRefused(_("Describe the offer."), field="text")
    for moment, name in ((valid_from, "valid_from"), (valid_until, "valid_until")):
        if moment is None or moment.tzinfo is None:
            raise ActionRefused(_("Give the time with its time zone."), field=name)
    if valid_until <= valid_from:
        raise ActionRefused(_("The offer must end after it starts."), field="valid_until")
    if link and not link.startswith(("https://", "http://")):
        raise ActionRefused(_("A link starts with https://"), field="link")
    language = _language(language)
    before = None
    if offer is None:
        offer = Offer(workspace=workspace, created_by=by)
    else:
        offer = Offer.objects.select_for_update().get(pk=offer.pk, workspace=workspace)
        before = audit.snapshot(offer, OFFER_FIELDS)
    offer.title, offer.text, offer.link = title, text, link.strip()
    offer.language = language
    offer.keywords = ", ".join(w.strip() for w in keywords.split(",") if w.strip())[:300]
    offer.valid_from, offer.valid_until = valid_from, valid_until
    offer.updated_at = timezone.now()
    offer.save()
    audit.record(
        "offer.save",
        workspace=workspace,
        actor=by.user,
        obj=offer,
        before=before,
        after=audit.snapshot(offer, OFFER_FIELDS),
    )
    return offer


@transaction.atomic
def delete_offer(offer: Offer, *, by: Member) -> None:
    require(by, "inbox.manage")
    _refuse_outsider(by, offer.workspace_id)
    audit.record(
        "offer.delete",
        workspace=offer.workspace,
        actor=by.user,
        obj=offer,
        before=audit.snapshot(offer, OFFER_FIELDS),
    )
    offer.delete()


def _fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def offers_for(conversation: Conversation, member: Member) -> list[Offer]:
    """The current offers, the best for this conversation first: those whose keywords its
    messages name, then those in the customer's language."""
    now = timezone.now()
    offers = list(
        Offer.objects.visible_to(member).filter(
            workspace_id=conversation.workspace_id, valid_from__lte=now, valid_until__gt=now
        )
    )
    if not offers:
        return []
    said = _fold(" ".join(conversation.messages.values_list("text", flat=True)[:50]))
    language = conversation.language

    def score(offer: Offer) -> tuple[int, int, dt.datetime]:
        hits = sum(1 for w in offer.keyword_list if _fold(w) in said)
        same_language = 1 if offer.language in ("", language) else 0
        return (-hits, -same_language, offer.valid_until)

    return sorted(offers, key=score)


# --- reply approval rules ------------------------------------------------------------------


@transaction.atomic
def set_reply_approval(
    workspace: Workspace,
    *,
    by: Member,
    required: bool | None,
    department: Department | None = None,
    member: Member | None = None,
) -> ReplyApprovalRule | None:
    """Whether public replies of a department, or of one member, need approval; ``None``
    removes the rule (the default applies again)."""
    require(by, "inbox.manage")
    _refuse_outsider(by, workspace.pk)
    if (department is None) == (member is None):
        raise ActionRefused(_("Choose a department or a member."))
    subject = department or member
    assert subject is not None
    if subject.workspace_id != workspace.pk:
        raise ActionRefused(_("That does not exist here."))
    lookup: dict[str, Any] = (
        {"member": member} if member is not None else {"department": department, "member": None}
    )
    rule = (
        ReplyApprovalRule.objects.select_for_update().filter(workspace=workspace, **lookup).first()
    )
    before = {"required": rule.required} if rule else None
    if required is None:
        if rule is not None:
            rule.delete()
        rule = None
    elif rule is None:
        rule = ReplyApprovalRule.objects.create(
            workspace=workspace,
            department=department,
            member=member,
            required=required,
        )
    else:
        rule.required = required
        rule.updated_at = timezone.now()
        rule.save(update_fields=["required", "updated_at"])
    audit.record(
        "reply_approval.set",
        workspace=workspace,
        actor=by.user,
        obj=subject,
        before=before,
        after={"required": required},
    )
    return rule


AUDIT_LABELS = {
    "conversation.state": gettext_noop("Conversation state changed"),
    "conversation.woke": gettext_noop("Snoozed conversation came back"),
    "conversation.assign": gettext_noop("Conversation assigned"),
    "conversation.priority": gettext_noop("Conversation priority changed"),
    "conversation.labels": gettext_noop("Conversation labels changed"),
    "conversation.note": gettext_noop("Note added"),
    "conversation.reply": gettext_noop("Answer written"),
    "conversation.reply_send": gettext_noop("Answer sent"),
    "conversation.reply_approve": gettext_noop("Answer approved and sent"),
    "conversation.reply_discard": gettext_noop("Answer dropped"),
    "conversation.hand_off": gettext_noop("Handed off to a department"),
    "handoff.answer": gettext_noop("Department answered a hand-off"),
    "handoff.take_over": gettext_noop("Department took a conversation over"),
    "handoff.close": gettext_noop("Hand-off closed"),
    "handoff.link": gettext_noop("Hand-off link made"),
    "label.create": gettext_noop("Label created"),
    "label.delete": gettext_noop("Label deleted"),
    "canned_reply.save": gettext_noop("Canned reply saved"),
    "canned_reply.delete": gettext_noop("Canned reply deleted"),
    "offer.save": gettext_noop("Offer saved"),
    "offer.delete": gettext_noop("Offer deleted"),
    "reply_approval.set": gettext_noop("Reply approval rule changed"),
    "customer.notes": gettext_noop("Customer notes changed"),
}
