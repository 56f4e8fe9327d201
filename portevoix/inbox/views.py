"""The inbox pages: queues, the list and the open conversation side by side, and the setup.

Views parse and render; every change goes through :mod:`portevoix.inbox.actions`. The list and
the open conversation refresh themselves by htmx polling (``inbox_list_part``,
``inbox_thread_part``); the reply form is outside what the polling replaces, so nothing typed
is lost.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Department, Member
from portevoix.core.permissions import can, require, require_any
from portevoix.core.query import query_choice, query_flag, query_id, query_int, query_text
from portevoix.core.views import _member, _refusal_to_form
from portevoix.inbox import actions, forms
from portevoix.inbox.models import (
    CannedReply,
    Conversation,
    ConversationKind,
    ConversationState,
    Customer,
    HandOff,
    HandOffLink,
    HandOffState,
    InboundMessage,
    Label,
    Note,
    Offer,
    Priority,
    Reply,
    ReplyApprovalRule,
)
from portevoix.networks.types import Capability
from portevoix.publishing.models import Publication

KINDS = {
    "comment": gettext_lazy("Comment"),
    "mention": gettext_lazy("Mention"),
    "quote": gettext_lazy("Quote"),
    "dm": gettext_lazy("Private message"),
}
SENTIMENTS = {
    "negative": gettext_lazy("Negative"),
    "neutral": gettext_lazy("Neutral"),
    "positive": gettext_lazy("Positive"),
}
INTENTS = {
    "pricing": gettext_lazy("Prices and offers"),
    "purchase": gettext_lazy("Wants to buy"),
    "complaint": gettext_lazy("Complaint"),
    "support": gettext_lazy("Needs help"),
    "question": gettext_lazy("Question"),
    "praise": gettext_lazy("Praise"),
    "other": gettext_lazy("Other"),
    "legal": gettext_lazy("Legal risk"),
    "hr": gettext_lazy("Job and employment"),
    "press": gettext_lazy("Press"),
    "spam": gettext_lazy("Spam"),
}
ROUTES = {
    "sales": gettext_lazy("Sales"),
    "customer_service": gettext_lazy("Customer service"),
    "social_team": gettext_lazy("Social media team"),
    "legal": gettext_lazy("Legal"),
    "hr": gettext_lazy("HR"),
    "communication": gettext_lazy("Communication / PR"),
    "none": gettext_lazy("Nobody (spam)"),
}
DECIDED_BY = {
    "rules": gettext_lazy("a keyword rule"),
    "fast": gettext_lazy("the fast model"),
    "embedding": gettext_lazy("the language model"),
    "correction": gettext_lazy("a correction by the team"),
    "empty": gettext_lazy("nothing to read"),
}
QUEUES = {
    "all": gettext_lazy("All"),
    "mine": gettext_lazy("Mine"),
    "department": gettext_lazy("My department"),
    "unassigned": gettext_lazy("Unassigned"),
    "approval": gettext_lazy("To approve"),
}
STATES = {
    "open": gettext_lazy("To answer"),
    "waiting": gettext_lazy("Waiting for the customer"),
    "snoozed": gettext_lazy("Snoozed"),
    "resolved": gettext_lazy("Resolved"),
    "spam": gettext_lazy("Spam"),
    "any": gettext_lazy("Any state"),
}
SHORTCUTS = (
    (("j", "k"), gettext_lazy("Next / previous conversation in the list")),
    ((gettext_lazy("Enter"),), gettext_lazy("Open it")),
    (("r",), gettext_lazy("Write an answer")),
    (("n",), gettext_lazy("Write a private note")),
    (("a",), gettext_lazy("Assign it to me")),
    (("e",), gettext_lazy("Resolve it")),
    (("/",), gettext_lazy("Search")),
    (("?",), gettext_lazy("This help")),
)
#: Seconds between two refreshes of the list and of the open conversation.
POLL_SECONDS = 10


def needs(action: str) -> Callable[[Any], Any]:
    """Refuse a write view to a member without ``action`` before it reads the form: a 403,
    and nothing written (the action checks it again, with the object's own rules)."""

    def wrap(view: Any) -> Any:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            require(_member(request), action)
            response: HttpResponse = view(request, *args, **kwargs)
            return response

        return checked

    return wrap


def _require_inbox(me: Member) -> None:
    require_any(me, "inbox.view_all", "inbox.view_assigned")


# --- the list ------------------------------------------------------------------------------


@dataclass
class Filters:
    queue: str
    state: str
    channel: int | None
    label: int | None
    q: str

    @property
    def narrowed(self) -> bool:
        """Anything beyond the default view: an empty list is then the filter's doing."""
        return bool(self.channel or self.label or self.q) or self.queue not in ("all",)

    def query(self, **changes: Any) -> str:
        values = {
            "queue": self.queue,
            "state": self.state,
            "channel": self.channel or "",
            "label": self.label or "",
            "q": self.q,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def _int(value: str | None) -> int | None:
    """A posted id; anything else is None (the action then says what is missing)."""
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is not None and 0 < number < 2**63 else None


def read_filters(request: HttpRequest, me: Member) -> Filters:
    """The list's filters from the query; a wrong value is a 400 saying which (core.query)."""
    default_queue = "all" if can(me, "inbox.view_all") else "department"
    return Filters(
        queue=query_choice(request, "queue", QUEUES, default=default_queue),
        state=query_choice(request, "state", STATES, default="open"),
        channel=query_id(request, "channel"),
        label=query_id(request, "label"),
        q=query_text(request, "q"),
    )


def pending_approval() -> Any:
    return Publication.objects.filter(
        post__inbox_reply__conversation=OuterRef("pk"), state="pending_approval"
    )


def conversations_for(me: Member, f: Filters) -> QuerySet[Conversation]:
    now = timezone.now()
    rows = Conversation.objects.visible_to(me).select_related(
        "channel", "customer", "department", "assignee__user"
    )
    if f.queue == "mine":
        rows = rows.filter(assignee=me)
    elif f.queue == "department":
        rows = (
            rows.filter(department_id=me.department_id)
            if me.department_id
            else rows.filter(Q(department__isnull=True) | Q(routed_to="social_team"))
        )
    elif f.queue == "unassigned":
        rows = rows.filter(assignee__isnull=True)
    elif f.queue == "approval":
        rows = rows.filter(Exists(pending_approval()))
    if f.channel:
        rows = rows.filter(channel_id=f.channel)
    if f.label:
        rows = rows.filter(labels__id=f.label)
    if f.q:
        matching = InboundMessage.objects.filter(conversation=OuterRef("pk"), text__icontains=f.q)
        rows = rows.filter(
            Q(Exists(matching))
            | Q(customer__handle__icontains=f.q.lstrip("@"))
            | Q(customer__display_name__icontains=f.q)
        )
    if f.queue != "approval":
        if f.state == "open":
            rows = rows.filter(
                Q(state__in=[ConversationState.NEW, ConversationState.OPEN])
                | Q(state=ConversationState.SNOOZED, snoozed_until__lte=now)
            )
            return rows.order_by("-priority", "last_inbound_at", "id")
        if f.state == "snoozed":
            rows = rows.filter(state=ConversationState.SNOOZED, snoozed_until__gt=now)
            return rows.order_by("snoozed_until", "id")
        if f.state != "any":
            rows = rows.filter(state=f.state)
    return rows.order_by("-last_message_at", "-id")


def _sync_status(me: Member) -> dict[str, Any]:
    channels = list(
        Channel.objects.filter(workspace_id=me.workspace_id).exclude(state="disconnected")
    )
    last = max((c.last_sync_at for c in channels if c.last_sync_at), default=None)
    failing = [c for c in channels if c.sync_failing_since or c.state == "needs_reconnect"]
    return {"channels": channels, "last_sync": last, "failing": failing}


def _list_context(request: HttpRequest, me: Member, selected: int | None = None) -> dict[str, Any]:
    f = read_filters(request, me)
    rows = conversations_for(me, f).annotate(waiting_approval=Exists(pending_approval()))
    page = Paginator(rows, 40).get_page(query_int(request, "page", 1))
    counts = {}
    visible = Conversation.objects.visible_to(me)
    active = visible.filter(state__in=[ConversationState.NEW, ConversationState.OPEN])
    counts["all"] = active.count()
    counts["mine"] = active.filter(assignee=me).count()
    counts["unassigned"] = active.filter(assignee__isnull=True).count()
    counts["approval"] = visible.filter(Exists(pending_approval())).count()
    empty_total = 0 if page.paginator.count else visible.count()
    return {
        "page": page,
        "filters": f,
        "selected": selected,
        "queues": {k: v for k, v in QUEUES.items() if _queue_allowed(me, k)},
        # Each tab's link: the list's filters with that queue (the queue once, not twice).
        "queue_links": {k: f.query(queue=k) for k in QUEUES},
        "queue_counts": counts,
        "states": STATES,
        "channels": Channel.objects.filter(workspace_id=me.workspace_id).order_by("name"),
        "labels": Label.objects.visible_to(me),
        "kinds": KINDS,
        "intents": INTENTS,
        "sentiments": SENTIMENTS,
        "routes": ROUTES,
        "priorities": dict(Priority.choices),
        "sync": _sync_status(me),
        "empty_total": empty_total,
        "poll_seconds": POLL_SECONDS,
        "shortcuts": SHORTCUTS,
        "can_route": can(me, "inbox.route"),
        "can_reply": can(me, "inbox.reply"),
        "bulk_members": _assignable(me, None) if can(me, "inbox.route") else [],
        "now": timezone.now(),
    }


def _queue_allowed(me: Member, queue: str) -> bool:
    if queue == "approval":
        return can(me, "post.approve")
    if queue in ("all", "unassigned"):
        return can(me, "inbox.view_all")
    return True


def _assignable(me: Member, conversation: Conversation | None) -> list[Member]:
    members = Member.objects.filter(workspace_id=me.workspace_id, is_active=True).select_related(
        "user", "department"
    )
    out = []
    for member in members:
        if not can(member, "inbox.reply"):
            continue
        if can(member, "inbox.view_all") or (
            conversation is not None
            and member.department_id
            and member.department_id == conversation.department_id
        ):
            out.append(member)
    return out


@require_safe
def inbox(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    _require_inbox(me)
    context = _list_context(request, me)
    return render(request, "inbox/inbox.html", {**context, "active_section": "inbox"})


@require_safe
def list_part(request: HttpRequest, ws: str) -> HttpResponse:
    """The list alone, for polling."""
    me = _member(request)
    _require_inbox(me)
    context = _list_context(request, me, selected=query_id(request, "selected"))
    return render(request, "inbox/_list.html", context)


# --- one conversation ----------------------------------------------------------------------


@dataclass
class Entry:
    """One line of the thread: a customer's message, one of our answers, a note, an event."""

    kind: str  # message, reply, note, event
    at: dt.datetime
    obj: Any
    text: str = ""


def _conversation(me: Member, pk: int) -> Conversation:
    conversation: Conversation = Conversation.objects.select_related(
        "channel", "customer", "department", "assignee__user", "workspace"
    ).get_for(me, pk=pk)
    return conversation


EVENT_LABELS = {
    "conversation.state": gettext_lazy("%(who)s set the state to “%(state)s”"),
    "conversation.assign": gettext_lazy("%(who)s assigned it to %(assignee)s"),
    "conversation.unassign": gettext_lazy("%(who)s left it unassigned"),
    "conversation.hand_off": gettext_lazy("%(who)s handed it to %(department)s"),
    "conversation.woke": gettext_lazy("The snooze ended"),
    "handoff.take_over": gettext_lazy("%(who)s took it over for the department"),
}


def _events(conversation: Conversation) -> list[Entry]:
    from portevoix.core.models import AuditEntry

    entries = AuditEntry.objects.filter(
        workspace_id=conversation.workspace_id,
        object_type="inbox.conversation",
        object_id=str(conversation.pk),
        action__in=list(EVENT_LABELS),
    ).select_related("actor")
    states = dict(ConversationState.choices)
    out = []
    for entry in entries:
        after = entry.after or {}
        who = entry.actor.display_name if entry.actor else (after.get("name") or _("Someone"))
        action = entry.action
        assignee = (after.get("assignee") or {}) if isinstance(after.get("assignee"), dict) else {}
        if action == "conversation.assign" and not assignee:
            action = "conversation.unassign"
        department = after.get("department") if isinstance(after.get("department"), dict) else {}
        text = str(EVENT_LABELS[action]) % {
            "who": who,
            "state": states.get(str(after.get("state", "")), after.get("state", "")),
            "assignee": str(assignee.get("repr", "")).split(" (")[0],
            "department": (department or {}).get("repr", ""),
        }
        out.append(Entry("event", entry.created_at, entry, text))
    return out


def thread(conversation: Conversation, me: Member) -> list[Entry]:
    entries: list[Entry] = []
    for message in conversation.messages.all().order_by("created_at", "id"):
        entries.append(Entry("message", message.created_at, message))
    replies = (
        Reply.objects.filter(conversation=conversation)
        .select_related("post", "author__user", "handoff__department")
        .prefetch_related("post__publications", "post__media")
    )
    for answer in replies:
        publication = next(iter(answer.post.publications.all()), None)
        answer.publication = publication
        entries.append(Entry("reply", answer.created_at, answer))
    for note in Note.objects.filter(conversation=conversation).select_related("author__user"):
        entries.append(Entry("note", note.created_at, note))
    entries.extend(_events(conversation))
    entries.sort(key=lambda e: (e.at, {"message": 0, "reply": 1, "note": 2, "event": 3}[e.kind]))
    return entries


def invitation_to_private(conversation: Conversation) -> str:
    """The ready invitation to continue in private, in the customer's language."""
    language = conversation.language if conversation.language in ("fr", "en") else None
    language = language or conversation.customer.language or conversation.workspace.language
    if language not in ("fr", "en"):
        language = "fr"
    name = conversation.customer.name.split(" ")[0]
    with translation.override(language):
        return _(
            "Hello %(name)s, we are sorry about this. So that we can look into it without your "
            "details being public, please send us a private message with your order number: "
            "we will answer you there quickly."
        ) % {"name": name}


def _reply_options(conversation: Conversation) -> dict[str, Any]:
    """Where the conversation's network lets the team answer its last message, and, where it
    lets them not, why (shown instead of that choice, or of the whole reply box)."""
    network = conversation.channel.network_class
    last = conversation.messages.order_by("-created_at", "-id").first()
    kind = last.kind if last is not None else ""
    public_refusal = (
        network.reply_refusal(kind, private=False) if not conversation.is_private else None
    )
    private_refusal = network.reply_refusal(kind, private=True)
    can_public = (not conversation.is_private) and public_refusal is None
    can_private = private_refusal is None
    # Said where it concerns this message: a network that never answers in private says
    # nothing in a public thread (the choice is simply absent), as before.
    if not conversation.is_private and Capability.REPLY_PRIVATE not in network.capabilities:
        shown_private = None
    else:
        shown_private = private_refusal
    refusals = [r for r in (public_refusal, shown_private) if r]
    return {
        "can_public": can_public,
        "can_private": can_private,
        "reply_refusals": [str(r) for r in refusals],
        "no_reply": not can_public and not can_private,
    }


def _new_link(request: HttpRequest, handoffs: list[HandOff]) -> tuple[HandOffLink, str] | None:
    """The link just made, once: taken out of the session by the page that shows it."""
    made = request.session.pop(NEW_LINK_KEY, None) if hasattr(request, "session") else None
    if not made:
        return None
    for h in handoffs:
        for link in getattr(h, "link_rows", []):
            if link.pk == made.get("link"):
                return link, str(made.get("url", ""))
    return None


def _detail_context(
    request: HttpRequest,
    me: Member,
    conversation: Conversation,
    *,
    reply_form: forms.ReplyForm | None = None,
    note_form: forms.NoteForm | None = None,
    handoff_form: forms.HandOffForm | None = None,
    snooze_form: forms.SnoozeForm | None = None,
    link_form: forms.HandOffLinkForm | None = None,
) -> dict[str, Any]:
    options = _reply_options(conversation)
    if reply_form is None:
        initial = {
            "private": "1" if (conversation.is_private or not options["can_public"]) else "0"
        }
        reply_form = forms.ReplyForm(initial=initial)
    canned = [
        {
            "pk": c.pk,
            "title": c.title,
            "language": c.language,
            "text": actions.fill_variables(c.text, conversation, me),
        }
        for c in CannedReply.objects.visible_to(me).filter(workspace_id=me.workspace_id)
        if c.language in ("", conversation.language) or conversation.language not in ("fr", "en")
    ]
    zone = timezone.get_current_timezone()
    handoffs = list(
        HandOff.objects.filter(conversation=conversation).select_related(
            "department", "requested_by__user", "answered_by__user"
        )
    )
    for h in handoffs:  # the links made for people without an account, for who may make them
        h.link_rows = (
            list(h.links.select_related("token").order_by("-created_at"))
            if can(me, "inbox.route")
            else []
        )
    history = (
        Conversation.objects.visible_to(me)
        .filter(customer_id=conversation.customer_id)
        .exclude(pk=conversation.pk)
        .select_related("channel")[:10]
    )
    suggest_private = (
        conversation.specific
        and not conversation.is_private
        and options["can_public"]
        and conversation.state not in (ConversationState.RESOLVED, ConversationState.SPAM)
    )
    my_open_handoff = next(
        (
            h
            for h in handoffs
            if h.state in (HandOffState.OPEN, HandOffState.ANSWERED)
            and me.department_id
            and h.department_id == me.department_id
        ),
        None,
    )
    others = actions.others_present(conversation, me)
    first_message = conversation.messages.order_by("created_at", "id").first()
    return {
        "first_message": first_message,
        "first_percent": round((first_message.confidence if first_message else 0) * 100),
        "conversation": conversation,
        "thread": thread(conversation, me),
        "customer": conversation.customer,
        "history": history,
        "reply_form": reply_form,
        "note_form": note_form or forms.NoteForm(),
        "handoff_form": handoff_form or forms.HandOffForm(workspace=conversation.workspace),
        "snooze_form": snooze_form or forms.SnoozeForm(zone=zone),
        "zone_name": str(zone),
        "canned": canned,
        "offers": actions.offers_for(conversation, me) if can(me, "inbox.reply") else [],
        "handoffs": handoffs,
        "link_form": link_form or forms.HandOffLinkForm(),
        "new_link": _new_link(request, handoffs),
        "my_open_handoff": my_open_handoff,
        "assignable": _assignable(me, conversation),
        "all_labels": Label.objects.filter(workspace_id=conversation.workspace_id),
        "conversation_labels": set(conversation.labels.values_list("pk", flat=True)),
        "label_list": list(conversation.labels.all()),
        "suggest_private": suggest_private,
        "invitation": invitation_to_private(conversation) if suggest_private else "",
        "needs_approval": actions.needs_approval(me, private=False),
        "others": others,
        "states": dict(ConversationState.choices),
        "priorities": dict(Priority.choices),
        "kinds": KINDS,
        "intents": INTENTS,
        "sentiments": SENTIMENTS,
        "routes": ROUTES,
        "decided_by": DECIDED_BY,
        "conversation_kinds": dict(ConversationKind.choices),
        "mention_handles": [
            actions.mention_handle(m) for m in _assignable(me, conversation) if m.pk != me.pk
        ],
        "can_route": can(me, "inbox.route"),
        "can_reply": can(me, "inbox.reply"),
        "can_approve": can(me, "post.approve"),
        "poll_seconds": POLL_SECONDS,
        **options,
    }


@require_safe
def conversation_page(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    _require_inbox(me)
    conversation = _conversation(me, pk)
    if can(me, "inbox.reply"):
        actions.touch_presence(conversation, member=me, replying=False)
    context = {
        **_list_context(request, me, selected=conversation.pk),
        **_detail_context(request, me, conversation),
        "active_section": "inbox",
    }
    return render(request, "inbox/inbox.html", context)


def _render_detail(
    request: HttpRequest, me: Member, conversation: Conversation, status: int, **forms_: Any
) -> HttpResponse:
    context = {
        **_list_context(request, me, selected=conversation.pk),
        **_detail_context(request, me, conversation, **forms_),
        "active_section": "inbox",
    }
    return render(request, "inbox/inbox.html", context, status=status)


@require_safe
def thread_part(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """The thread and who else is here, for polling."""
    me = _member(request)
    _require_inbox(me)
    conversation = _conversation(me, pk)
    replying = query_flag(request, "replying")
    others = (
        actions.touch_presence(conversation, member=me, replying=replying)
        if can(me, "inbox.reply")
        else actions.others_present(conversation, me)
    )
    context = _detail_context(request, me, conversation)
    context["others"] = others
    return render(request, "inbox/_thread.html", context)


def _back_to(conversation: Conversation, request: HttpRequest) -> HttpResponseRedirect:
    url = reverse(
        "inbox_conversation", kwargs={"ws": conversation.workspace.slug, "pk": conversation.pk}
    )
    keep = request.POST.get("list_query", "")
    return HttpResponseRedirect(f"{url}?{keep}" if keep else url)


@require_POST
@needs("inbox.reply")
def reply_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    from portevoix.publishing.actions import Upload

    me = _member(request)
    require(me, "inbox.reply")
    conversation = _conversation(me, pk)
    form = forms.ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        uploads = []
        media = form.cleaned_data.get("image")
        if media is not None:
            uploads.append(
                Upload(
                    filename=media.name,
                    data=media.read(),
                    alt_text=form.cleaned_data.get("alt_text") or "",
                    mime_type=getattr(media, "content_type", "") or "",
                )
            )
        try:
            answer = actions.reply(
                conversation,
                by=me,
                text=form.cleaned_data["text"],
                private=form.cleaned_data["private"],
                uploads=uploads,
                resolve=form.cleaned_data["resolve"],
            )
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            publication = answer.post.publications.first()
            if publication is not None and publication.state == "pending_approval":
                messages.success(request, _("Your answer waits for the social team's approval."))
            else:
                messages.success(request, _("Answer on its way."))
            return _back_to(conversation, request)
    return _render_detail(request, me, conversation, 400, reply_form=form)


def _simple_post(request: HttpRequest, pk: int, call: Any, done: str) -> HttpResponse:
    me = _member(request)
    conversation = _conversation(me, pk)
    try:
        call(me, conversation)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return _render_detail(request, me, conversation, 400)
    if done:
        messages.success(request, done)
    return _back_to(conversation, request)


@require_POST
@needs("inbox.reply")
def state_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    conversation = _conversation(me, pk)
    state = request.POST.get("state", "")
    until = None
    if state == ConversationState.SNOOZED:
        form = forms.SnoozeForm(request.POST, zone=timezone.get_current_timezone())
        if not form.is_valid():
            return _render_detail(request, me, conversation, 400, snooze_form=form)
        until = form.cleaned_data["until"]
        try:
            actions.set_state(conversation, by=me, state=state, until=until)
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
            return _render_detail(request, me, conversation, 400, snooze_form=form)
        messages.success(request, _("Snoozed."))
        return _back_to(conversation, request)
    labels = {
        "resolved": _("Resolved."),
        "open": _("Open again."),
        "waiting": _("Waiting for the customer."),
        "spam": _("Marked as spam."),
    }
    return _simple_post(
        request,
        pk,
        lambda me, c: actions.set_state(c, by=me, state=state),
        labels.get(state, ""),
    )


@require_POST
@needs("inbox.reply")
def assign_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    conversation = _conversation(me, pk)
    if request.POST.get("me") == "1":
        assignee: Member | None = me
    else:
        form = forms.AssignForm(
            request.POST, members=Member.objects.filter(workspace_id=me.workspace_id)
        )
        if not form.is_valid():
            messages.error(request, _("Choose a member of this workspace."))
            return _render_detail(request, me, conversation, 400)
        assignee = form.cleaned_data["assignee"]
    return _simple_post(
        request,
        pk,
        lambda me, c: actions.assign(c, by=me, assignee=assignee),
        _("Assigned.") if assignee else _("Nobody is assigned now."),
    )


@require_POST
@needs("inbox.route")
def priority_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    form = forms.PriorityForm(request.POST)
    if not form.is_valid():
        me = _member(request)
        messages.error(request, _("Unknown priority."))
        return _render_detail(request, me, _conversation(me, pk), 400)
    return _simple_post(
        request,
        pk,
        lambda me, c: actions.set_priority(c, by=me, priority=form.cleaned_data["priority"]),
        _("Priority changed."),
    )


@require_POST
@needs("inbox.route")
def labels_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    conversation = _conversation(me, pk)
    form = forms.LabelsForm(request.POST, workspace=conversation.workspace)
    new_name = (request.POST.get("new_label") or "").strip()

    def call(me: Member, c: Conversation) -> None:
        if not form.is_valid():
            raise ActionRefused(_("Choose labels of this workspace."))
        chosen = list(form.cleaned_data["labels"])
        if new_name:
            existing = Label.objects.filter(workspace=c.workspace, name__iexact=new_name).first()
            chosen.append(existing or actions.create_label(c.workspace, by=me, name=new_name))
        actions.set_labels(c, by=me, labels=chosen)

    return _simple_post(request, pk, call, _("Labels saved."))


@require_POST
@needs("inbox.reply")
def note_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    conversation = _conversation(me, pk)
    form = forms.NoteForm(request.POST)
    if form.is_valid():
        try:
            actions.add_note(conversation, by=me, text=form.cleaned_data["text"])
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Note added."))
            return _back_to(conversation, request)
    return _render_detail(request, me, conversation, 400, note_form=form)


@require_POST
@needs("inbox.route")
def handoff_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    conversation = _conversation(me, pk)
    form = forms.HandOffForm(request.POST, workspace=conversation.workspace)
    if form.is_valid():
        try:
            handoff = actions.hand_off(
                conversation,
                by=me,
                department=form.cleaned_data["department"],
                note=form.cleaned_data["note"],
            )
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(
                request,
                _("Handed off to %(department)s: its members are told.")
                % {"department": handoff.department.name},
            )
            return _back_to(conversation, request)
    return _render_detail(request, me, conversation, 400, handoff_form=form)


def _reply_of(me: Member, pk: int) -> Reply:
    answer: Reply = Reply.objects.select_related("conversation", "post").get_for(me, pk=pk)
    return answer


@require_POST
@needs("inbox.reply")
def reply_send_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    answer = _reply_of(me, pk)
    text = request.POST.get("text")
    try:
        actions.send_reply(answer, by=me, text=text, resolve=request.POST.get("resolve") == "1")
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return _render_detail(request, me, answer.conversation, 400)
    messages.success(request, _("Answer on its way."))
    return _back_to(answer.conversation, request)


@require_POST
@needs("inbox.reply")
def reply_discard_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    answer = _reply_of(me, pk)
    try:
        actions.discard_reply(answer, by=me)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return _render_detail(request, me, answer.conversation, 400)
    messages.success(request, _("Answer dropped."))
    return _back_to(answer.conversation, request)


def _handoff_of(me: Member, pk: int) -> HandOff:
    handoff: HandOff = HandOff.objects.select_related("conversation", "department").get_for(
        me, pk=pk
    )
    return handoff


@require_POST
@needs("inbox.reply")
def handoff_take_over_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    handoff = _handoff_of(me, pk)
    try:
        actions.take_over(handoff, by=me)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return _render_detail(request, me, handoff.conversation, 400)
    messages.success(request, _("It is yours now."))
    return _back_to(handoff.conversation, request)


@require_POST
@needs("inbox.route")
def handoff_close_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    handoff = _handoff_of(me, pk)
    try:
        actions.close_handoff(handoff, by=me)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return _render_detail(request, me, handoff.conversation, 400)
    messages.success(request, _("Hand-off closed."))
    return _back_to(handoff.conversation, request)


NEW_LINK_KEY = "inbox.new_handoff_link"


@require_POST
@needs("inbox.route")
def handoff_link_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """Make a link to this hand-off for someone without an account; it is shown once, on the
    page this answers with (no redirect: the token never sits in a session)."""
    me = _member(request)
    handoff = _handoff_of(me, pk)
    form = forms.HandOffLinkForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, me, handoff.conversation, 400, link_form=form)
    try:
        link, token = actions.issue_handoff_link(
            handoff,
            by=me,
            recipient=form.cleaned_data["recipient"],
            days=form.cleaned_data["days"],
        )
    except ActionRefused as exc:
        _refusal_to_form(form, exc)
        return _render_detail(request, me, handoff.conversation, 400, link_form=form)
    url = request.build_absolute_uri(reverse("inbox_handoff_link", kwargs={"token": token}))
    # Shown once, after the redirect (a reload must not make another link): the URL waits in
    # the server-side session until the conversation page takes it.
    request.session[NEW_LINK_KEY] = {"link": link.pk, "url": url}
    messages.success(request, _("Link made: copy it now, it is shown once."))
    return _back_to(handoff.conversation, request)


@require_POST
@needs("inbox.route")
def handoff_link_revoke_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    link = (
        HandOffLink.objects.select_related("handoff__conversation__workspace", "token")
        .filter(pk=pk, handoff__conversation__workspace_id=me.workspace_id)
        .first()
    )
    if link is None:
        raise Http404("not found")
    _handoff_of(me, link.handoff_id)  # the member sees this hand-off
    actions.revoke_handoff_link(link, by=me)
    messages.success(request, _("Link withdrawn: it no longer opens anything."))
    return _back_to(link.handoff.conversation, request)


@require_http_methods(["GET", "HEAD", "POST"])
def handoff_link_page(request: HttpRequest, token: str) -> HttpResponse:
    """A hand-off opened without an account: the conversation, and an answer or taking it
    over. Every opening and every answer goes through core's access-token check (audited)."""
    cookie_prefix = "pv_handoff_"
    browsers = {k: v for k, v in request.COOKIES.items() if k.startswith(cookie_prefix)}
    try:
        link, secret = _open_link(token, browsers)
    except ActionRefused as exc:
        status = 403 if exc.code == "browser" else 410 if exc.code in GONE else 404
        return render(
            request, "inbox/handoff_link_refused.html", {"reason": exc.message}, status=status
        )
    handoff = link.handoff
    conversation = handoff.conversation
    form = forms.ExternalAnswerForm(request.POST or None)
    status = 200
    done = ""
    if request.method == "POST":
        if form.is_valid():
            name = form.cleaned_data["name"]
            try:
                if "take_over" in request.POST:
                    actions.take_over(handoff, name=name)
                    done = _("Thank you: the social team knows you deal with the customer.")
                else:
                    actions.answer_handoff(handoff, name=name, text=form.cleaned_data["text"])
                    done = _("Thank you: your answer went to the social team, who sends it.")
            except ActionRefused as exc:
                _refusal_to_form(form, exc)
                status = 400
            else:
                form = forms.ExternalAnswerForm(initial={"name": name})
                handoff.refresh_from_db()
        else:
            status = 400
    response = render(
        request,
        "inbox/handoff_link.html",
        {
            "handoff": handoff,
            "conversation": conversation,
            "messages_in": conversation.messages.order_by("created_at", "id"),
            "answers": Reply.objects.filter(conversation=conversation)
            .select_related("post")
            .order_by("created_at", "id"),
            "form": form,
            "done": done,
            "expires_at": link.token.expires_at,
        },
        status=status,
    )
    if secret:
        response.set_cookie(
            f"{cookie_prefix}{link.pk}",
            secret,
            max_age=actions.LINK_DAYS_MAX * 86400,
            httponly=True,
            secure=request.is_secure(),
            samesite="Lax",
            path=request.path,
        )
    response["Referrer-Policy"] = "same-origin"  # no-referrer would send "Origin: null"
    response["Cache-Control"] = "no-store"
    return response


GONE = {"expired", "revoked", "used", "closed"}


def _open_link(token: str, browsers: dict[str, str]) -> tuple[HandOffLink, str]:
    from portevoix.core import access

    # The link's own cookie: its row id is only known after the token is checked, so the
    # action gets the cookie of the row the token names (a wrong one simply does not match).
    secret = access.signed_secret(token, actions.HANDOFF_PURPOSE)
    row = None
    if secret is not None:
        from portevoix.core.models import AccessToken

        row = AccessToken.objects.filter(token_hash=access.hash_secret(secret)).first()
    link_id = getattr(getattr(row, "handoff_link", None), "pk", None) if row else None
    browser = browsers.get(f"pv_handoff_{link_id}", "") if link_id else ""
    return actions.open_handoff_link(token, browser=browser)


@require_POST
@needs("inbox.reply")
def bulk_view(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    _require_inbox(me)
    ids = [i for i in (_int(v) for v in request.POST.getlist("c")) if i]
    chosen = list(Conversation.objects.visible_to(me).filter(pk__in=ids))
    operation = request.POST.get("operation", "")
    value: Any = None
    if operation == "assign":
        value = Member.objects.filter(
            workspace_id=me.workspace_id, pk=_int(request.POST.get("assignee")) or 0
        ).first()
        if value is None:
            operation = "unassign"
    elif operation == "label":
        value = Label.objects.filter(
            workspace_id=me.workspace_id, pk=_int(request.POST.get("label")) or 0
        ).first()
        if value is None:
            messages.error(request, _("Choose a label."))
            return HttpResponseRedirect(_list_url(me, request))
    elif operation == "priority":
        value = _int(request.POST.get("priority"))
    try:
        done = actions.bulk(chosen, by=me, operation=operation, value=value)
    except ActionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(n)d of %(total)d conversations changed.") % {"n": done, "total": len(chosen)},
        )
    return HttpResponseRedirect(_list_url(me, request))


def _list_url(me: Member, request: HttpRequest) -> str:
    url = reverse("inbox", kwargs={"ws": me.workspace.slug})
    keep = request.POST.get("list_query", "")
    return f"{url}?{keep}" if keep else url


# --- customers -----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def customer_page(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    _require_inbox(me)
    customer: Customer = Customer.objects.get_for(me, pk=pk)
    form = forms.CustomerNotesForm(request.POST or None, initial={"notes": customer.notes})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.update_customer_notes(customer, by=me, notes=form.cleaned_data["notes"])
            except ActionRefused as exc:
                _refusal_to_form(form, exc)
            else:
                messages.success(request, _("Notes saved."))
                return HttpResponseRedirect(request.path)
        status = 400
    conversations = (
        Conversation.objects.visible_to(me)
        .filter(customer=customer)
        .select_related("channel", "department")
        .annotate(n=Count("messages"))
    )
    return render(
        request,
        "inbox/customer.html",
        {
            "customer": customer,
            "conversations": conversations,
            "form": form,
            "states": dict(ConversationState.choices),
            "intents": INTENTS,
            "can_reply": can(me, "inbox.reply"),
            "active_section": "inbox",
        },
        status=status,
    )


# --- setup: canned replies, offers, labels, reply approval ---------------------------------


@require_safe
def setup(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "inbox.manage")
    return _render_setup(request, me)


def _render_setup(
    request: HttpRequest, me: Member, status: int = 200, **forms_: Any
) -> HttpResponse:
    zone = forms.zone_of(me.workspace.time_zone)
    departments = Department.objects.filter(workspace_id=me.workspace_id, is_active=True)
    rules = {
        (r.department_id, r.member_id): r
        for r in ReplyApprovalRule.objects.filter(workspace_id=me.workspace_id).select_related(
            "department", "member__user"
        )
    }
    context = {
        "canned_form": forms_.get("canned_form") or forms.CannedReplyForm(),
        "offer_form": forms_.get("offer_form") or forms.OfferForm(zone=zone),
        "label_form": forms_.get("label_form") or forms.LabelForm(),
        "rule_form": forms_.get("rule_form") or forms.ApprovalRuleForm(workspace=me.workspace),
        "canned": CannedReply.objects.filter(workspace_id=me.workspace_id),
        "offers": Offer.objects.filter(workspace_id=me.workspace_id),
        "labels": Label.objects.filter(workspace_id=me.workspace_id).annotate(
            n=Count("conversations")
        ),
        "departments": [(d, rules.get((d.pk, None))) for d in departments],
        "member_rules": [r for (d, m), r in rules.items() if m is not None],
        "zone_name": str(zone),
        "now": timezone.now(),
        "active_section": "inbox",
    }
    return render(request, "inbox/setup.html", context, status=status)


def _setup_write(
    request: HttpRequest,
    ws: str,
    *,
    model: Any,
    delete: Callable[..., Any],
    deleted: str,
    form: Any,
    save: Callable[..., Any],
    saved: str,
    anchor: str,
    form_name: str,
    delete_anchor: str | None = None,
) -> HttpResponse:
    """One row of the inbox's setup page: delete the row named by ``delete`` in the POST, or
    save the form; errors stay in place on the setup page (400)."""
    me = _member(request)
    setup = reverse("inbox_setup", kwargs={"ws": ws})
    if request.POST.get("delete"):
        row = model.objects.filter(
            workspace_id=me.workspace_id, pk=_int(request.POST.get("delete")) or 0
        ).first()
        if row is None:
            raise Http404("not found")
        delete(row, by=me)
        messages.success(request, deleted)
        return HttpResponseRedirect(setup + (anchor if delete_anchor is None else delete_anchor))
    if form.is_valid():
        try:
            save(me.workspace, by=me, **form.cleaned_data)
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(request, saved)
            return HttpResponseRedirect(setup + anchor)
    return _render_setup(request, me, 400, **{form_name: form})


@require_POST
@needs("inbox.manage")
def setup_canned(request: HttpRequest, ws: str) -> HttpResponse:
    return _setup_write(
        request,
        ws,
        model=CannedReply,
        delete=actions.delete_canned_reply,
        deleted=_("Canned reply deleted."),
        form=forms.CannedReplyForm(request.POST),
        save=actions.save_canned_reply,
        saved=_("Canned reply saved."),
        anchor="#canned",
        delete_anchor="",
        form_name="canned_form",
    )


@require_POST
@needs("inbox.manage")
def setup_offer(request: HttpRequest, ws: str) -> HttpResponse:
    zone = forms.zone_of(_member(request).workspace.time_zone)
    return _setup_write(
        request,
        ws,
        model=Offer,
        delete=actions.delete_offer,
        deleted=_("Offer deleted."),
        form=forms.OfferForm(request.POST, zone=zone),
        save=actions.save_offer,
        saved=_("Offer saved."),
        anchor="#offers",
        form_name="offer_form",
    )


@require_POST
@needs("inbox.manage")
def setup_label(request: HttpRequest, ws: str) -> HttpResponse:
    return _setup_write(
        request,
        ws,
        model=Label,
        delete=actions.delete_label,
        deleted=_("Label deleted."),
        form=forms.LabelForm(request.POST),
        save=actions.create_label,
        saved=_("Label created."),
        anchor="#labels",
        form_name="label_form",
    )


@require_POST
@needs("inbox.manage")
def setup_rule(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "inbox.manage")
    form = forms.ApprovalRuleForm(request.POST, workspace=me.workspace)
    if form.is_valid():
        required = {"default": None, "yes": True, "no": False}[form.cleaned_data["rule"]]
        try:
            actions.set_reply_approval(
                me.workspace,
                by=me,
                required=required,
                department=form.cleaned_data["department"],
                member=form.cleaned_data["member"],
            )
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Reply approval rule saved."))
            return HttpResponseRedirect(reverse("inbox_setup", kwargs={"ws": ws}) + "#approval")
    return _render_setup(request, me, 400, rule_form=form)
