"""Everything the networks bring in, grouped into conversations the team works on.

- :class:`InboundMessage`: a comment, mention, quote or private message, stored once per
  channel (idempotent on the network's message id) and labelled by triage as it arrives:
  language, sentiment, intent, whether a complaint is *specific* (an order, an account,
  personal details), and the department it is routed to.
- :class:`Customer`: one network author per workspace (a handle on a network), with their
  history across the workspace's channels of that network and the team's notes.
- :class:`Conversation`: what the team answers: a public thread under one of our posts, a
  private thread, or a mention (and the replies under it). Every message of one thread joins
  the same conversation. It carries the state (new, open, waiting for the customer, snoozed,
  resolved, spam), the department, the assignee, the priority and the labels.
- :class:`Reply`: one of our answers: a ``Post(kind="reply")`` delivered by the publishing
  engine exactly once, linked back to its conversation here (``Post`` knows nothing of the
  inbox).
- :class:`HandOff`: a conversation handed to a department, with when it was asked and when
  the department answered (for the department's own response time).

For the routing, SLA, rota and metrics models (issue 10 §3, §5, §7): add your own models with
a ``ForeignKey(Conversation)``; the fields below that they read or write are ``department``,
``assignee``, ``priority``, ``labels``, ``routed_by``/``route_note`` (why it went where it
went), ``state`` and the times (``created_at``, ``last_inbound_at``, ``first_response_at``,
``last_reply_at``, ``resolved_at``). Change them through :mod:`portevoix.inbox.actions`.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portevoix.channels.models import Channel
from portevoix.core.models import Department, Member, Workspace
from portevoix.core.permissions import MemberLike, RestrictedQuerySet, can
from portevoix.worker.graph import State, StateGraph
from portevoix.worker.models import Outcome, StatefulModel


def _empty_list() -> list[Any]:
    return []


def _department_filter(member: MemberLike, prefix: str = "") -> models.Q | None:
    """What a department agent may see: their department's conversations, and those assigned
    to them. ``None`` when the member sees everything."""
    if can(member, "inbox.view_all"):
        return None
    department_id = getattr(member, "department_id", None)
    member_id = getattr(member, "pk", None)
    if not can(member, "inbox.view_assigned") or not (department_id or member_id):
        return models.Q(pk__in=[])
    q = models.Q(**{f"{prefix}assignee_id": member_id}) if member_id else models.Q(pk__in=[])
    if department_id:
        q |= models.Q(**{f"{prefix}department_id": department_id})
    return q


class Customer(models.Model):
    """One author on one network, seen by one workspace: every conversation they started on
    any of the workspace's channels of that network, and what the team noted about them."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None  # restrict_rows decides

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="customers")
    network = models.CharField(_("network"), max_length=40)
    #: The network's own id for the author (stable when the handle changes); the handle when
    #: the network gives none.
    author_id = models.CharField(max_length=300)
    handle = models.CharField(_("handle"), max_length=300)
    display_name = models.CharField(_("name"), max_length=300, blank=True)
    url = models.URLField(_("profile"), max_length=500, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    #: The language they last wrote in (triage), for invitations and canned replies.
    language = models.CharField(_("language"), max_length=12, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    message_count = models.PositiveIntegerField(_("messages"), default=0)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "network", "author_id"], name="customer_unique"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "handle"])]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return f"@{self.handle}"

    @property
    def name(self) -> str:
        return self.display_name or self.handle

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        """A department agent sees the customers of the conversations they may see."""
        q = _department_filter(member, "conversations__")
        return queryset if q is None else queryset.filter(q).distinct()


class Label(models.Model):
    """A label the team puts on conversations ("VIP", "delivery", "winter sale")."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None  # restrict_rows decides

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(_("name"), max_length=60)
    color = models.CharField(_("colour"), max_length=7, default="#5b6475")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="label_name_unique"),
        ]
        verbose_name = _("label")
        verbose_name_plural = _("labels")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        if can(member, "inbox.view_all") or can(member, "inbox.view_assigned"):
            return queryset
        return queryset.none()


class ConversationKind(models.TextChoices):
    PUBLIC = "public", _("Public thread")
    PRIVATE = "private", _("Private thread")
    MENTION = "mention", _("Mention")


class ConversationState(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", pgettext_lazy("conversation state", "Open")
    WAITING = "waiting", _("Waiting for the customer")
    SNOOZED = "snoozed", _("Snoozed")
    RESOLVED = "resolved", _("Resolved")
    SPAM = "spam", _("Spam")


#: States in which a conversation still asks something of the team.
ACTIVE_STATES = frozenset({ConversationState.NEW, ConversationState.OPEN})


class Priority(models.IntegerChoices):
    LOW = 0, _("Low")
    NORMAL = 1, _("Normal")
    HIGH = 2, _("High")
    URGENT = 3, _("Urgent")


class RoutedBy(models.TextChoices):
    TRIAGE = "triage", _("Triage")
    RULE = "rule", _("A routing rule")
    PERSON = "person", _("A person")


class Conversation(models.Model):
    """A thread the team answers: all the messages of one public thread under our post, of
    one private thread, or of one mention and the replies under it."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None  # restrict_rows decides

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="conversations")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="conversations")
    kind = models.CharField(_("kind"), max_length=8, choices=ConversationKind.choices)
    #: The network's key of the thread, unique per channel: the first message's id for a
    #: public thread or a mention, ``dm:`` and the network's conversation id for a private one.
    thread_key = models.CharField(max_length=520)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.RESTRICT,
        related_name="conversations",
        verbose_name=_("customer"),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=ConversationState.choices, default="new"
    )
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    department = models.ForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("department"),
    )
    assignee = models.ForeignKey(
        Member,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
        verbose_name=_("assignee"),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    labels = models.ManyToManyField(
        Label, blank=True, related_name="conversations", verbose_name=_("labels")
    )
    # What triage said of the thread (its first message; a person's correction wins).
    language = models.CharField(_("language"), max_length=12, blank=True)
    sentiment = models.CharField(_("sentiment"), max_length=12, blank=True)
    intent = models.CharField(_("intent"), max_length=20, blank=True)
    #: A complaint about one order, one account or personal details: answered in private.
    specific = models.BooleanField(_("specific"), default=False)
    routed_to = models.CharField(_("routed to"), max_length=32, blank=True)
    #: Why the department is what it is: triage's label, a routing rule, or a person.
    routed_by = models.CharField(
        max_length=8, choices=RoutedBy.choices, default=RoutedBy.TRIAGE, blank=True
    )
    #: The rule's name, the person's reason... shown beside the labels.
    route_note = models.CharField(max_length=300, blank=True)
    #: The last message, shortened, for the list.
    preview = models.CharField(max_length=200, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    last_message_at = models.DateTimeField(_("last message"), default=timezone.now)
    #: The customer's last message; the team owes an answer while it is after ``last_reply_at``.
    last_inbound_at = models.DateTimeField(_("last message from the customer"), null=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    last_reply_at = models.DateTimeField(_("last reply"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "thread_key"], name="conversation_unique"),
        ]
        indexes = [
            models.Index(fields=["workspace", "state", "-last_message_at"]),
            models.Index(fields=["department", "state", "-last_message_at"]),
            models.Index(fields=["assignee", "state", "-last_message_at"]),
        ]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self) -> str:
        return f"#{self.pk} @{self.customer.handle if self.customer_id else '?'}"

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        """The social team sees everything; a department agent their department's
        conversations and those assigned to them."""
        q = _department_filter(member)
        return queryset if q is None else queryset.filter(q)

    @property
    def is_private(self) -> bool:
        return self.kind == ConversationKind.PRIVATE

    @property
    def awaiting_reply(self) -> bool:
        """The customer spoke last."""
        return self.last_inbound_at is not None and (
            self.last_reply_at is None or self.last_inbound_at > self.last_reply_at
        )


class InboundMessage(models.Model):
    WORKSPACE_PATH = "channel__workspace"
    objects = RestrictedQuerySet.as_manager()

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="inbound")
    message_id = models.CharField(max_length=500)
    kind = models.CharField(_("kind"), max_length=16)
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("conversation"),
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    author_handle = models.CharField(max_length=300)
    author_name = models.CharField(max_length=300, blank=True)
    text = models.TextField(_("text"))
    #: What came with the message: ``[{"url", "mime_type", "alt_text"}]``.
    attachments = models.JSONField(_("attachments"), default=_empty_list, blank=True)
    created_at = models.DateTimeField(_("written"))
    received_at = models.DateTimeField(default=timezone.now)
    in_reply_to = models.CharField(max_length=500, blank=True)
    thread_id = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=500, blank=True)
    # Triage
    language = models.CharField(_("language"), max_length=12, blank=True)
    sentiment = models.CharField(_("sentiment"), max_length=12, blank=True)
    sentiment_score = models.FloatField(default=0)
    intent = models.CharField(_("intent"), max_length=20, blank=True)
    #: Triage: a complaint about one order, one account or personal details.
    specific = models.BooleanField(_("specific"), default=False)
    routed_to = models.CharField(_("routed to"), max_length=32, blank=True)
    confidence = models.FloatField(default=0)
    needs_review = models.BooleanField(_("to check"), default=False)
    #: Which triage stage chose the labels: rules, fast, embedding, correction, empty.
    decided_by = models.CharField(max_length=12, blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "message_id"], name="inbound_unique"),
        ]
        indexes = [
            models.Index(fields=["department", "-created_at"]),
            models.Index(fields=["conversation", "created_at"]),
        ]
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")

    def __str__(self) -> str:
        return f"{self.author_handle}: {self.text[:60]}"

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        """The social team sees everything; a department agent the messages of the
        conversations they may see (a message not grouped yet: the one routed to them)."""
        q = _department_filter(member, "conversation__")
        if q is None:
            return queryset
        department_id = getattr(member, "department_id", None)
        if department_id and can(member, "inbox.view_assigned"):
            q |= models.Q(conversation__isnull=True, department_id=department_id)
        return queryset.filter(q)


class Reply(models.Model):
    """One of our answers in a conversation.

    The answer itself is a ``Post(kind="reply")`` with one ``Publication`` (its
    ``in_reply_to`` and ``private``): the publishing engine sends it exactly once, and a
    failure reaches the attention page. This row only ties it to the conversation.
    """

    objects = RestrictedQuerySet.as_manager()
    WORKSPACE_PATH = "conversation__workspace"
    VIEW_ACTION = None  # restrict_rows decides

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="replies")
    post = models.OneToOneField(
        "publishing.Post", on_delete=models.CASCADE, related_name="inbox_reply"
    )
    #: The message answered (a public reply goes under it).
    in_reply_to = models.ForeignKey(
        InboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    private = models.BooleanField(_("private"), default=False)
    author = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbox_replies"
    )
    #: The hand-off this answer came from (written by a department, sent by the social team).
    handoff = models.ForeignKey(
        "HandOff", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("reply")
        verbose_name_plural = _("replies")

    def __str__(self) -> str:
        return f"{self.conversation} ← {self.post}"

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        q = _department_filter(member, "conversation__")
        return queryset if q is None else queryset.filter(q)


class HandOffState(models.TextChoices):
    OPEN = "open", _("Waiting for the department")
    ANSWERED = "answered", _("Answered")
    TAKEN_OVER = "taken_over", _("Taken over by the department")
    CLOSED = "closed", _("Closed")


class HandOff(models.Model):
    """A conversation handed to a department, which answers it (through the social team) or
    takes it over. ``requested_at`` and ``answered_at`` measure the department's response."""

    objects = RestrictedQuerySet.as_manager()
    WORKSPACE_PATH = "conversation__workspace"
    VIEW_ACTION = None  # restrict_rows decides

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="handoffs"
    )
    department = models.ForeignKey(
        Department, on_delete=models.RESTRICT, related_name="handoffs", verbose_name=_("department")
    )
    state = models.CharField(
        _("state"), max_length=12, choices=HandOffState.choices, default=HandOffState.OPEN
    )
    #: What the social team asks the department.
    note = models.TextField(_("note"), blank=True)
    requested_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("handed off"), default=timezone.now)
    #: The department's first answer (or taking it over): its response time ends here.
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: Someone without an account who answered through a hand-off link.
    answered_by_name = models.CharField(max_length=200, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["department", "state", "requested_at"])]
        verbose_name = _("hand-off")
        verbose_name_plural = _("hand-offs")

    def __str__(self) -> str:
        return f"{self.conversation} → {self.department}"

    @property
    def workspace_id(self) -> int:
        """The workspace an access token for this hand-off belongs to (core.access)."""
        return int(self.conversation.workspace_id)

    @property
    def is_open(self) -> bool:
        return self.state in (HandOffState.OPEN, HandOffState.ANSWERED)

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        if can(member, "inbox.view_all"):
            return queryset
        department_id = getattr(member, "department_id", None)
        if can(member, "inbox.view_assigned") and department_id:
            return queryset.filter(department_id=department_id)
        return queryset.none()


class HandOffLink(models.Model):
    """A link to one hand-off for someone without an account (a sales rep, a lawyer).

    The token is core's access token (purpose ``handoff``: signed, expiring, revocable, every
    use audited); this row says which browser it belongs to: the first one to open it, which
    gets a secret cookie whose hash is kept here. Another browser is refused.
    """

    objects = RestrictedQuerySet.as_manager()
    WORKSPACE_PATH = "handoff__conversation__workspace"
    VIEW_ACTION = "inbox.route"

    handoff = models.ForeignKey(HandOff, on_delete=models.CASCADE, related_name="links")
    token = models.OneToOneField(
        "core.AccessToken", on_delete=models.CASCADE, related_name="handoff_link"
    )
    #: Who the link is for, as the person who made it wrote it ("Maître Dupont").
    recipient = models.CharField(_("for"), max_length=200, blank=True)
    browser_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("hand-off link")
        verbose_name_plural = _("hand-off links")

    def __str__(self) -> str:
        return f"{self.handoff} ({self.recipient or self.pk})"


class Note(models.Model):
    """A private note in a conversation, for the team only; ``@name`` tells that member."""

    objects = RestrictedQuerySet.as_manager()
    WORKSPACE_PATH = "conversation__workspace"
    VIEW_ACTION = None  # restrict_rows decides

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(_("note"))
    mentions = models.ManyToManyField(Member, blank=True, related_name="inbox_mentions")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return self.text[:60]

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        q = _department_filter(member, "conversation__")
        return queryset if q is None else queryset.filter(q)


class Presence(models.Model):
    """Who has a conversation open, and whether they are writing an answer (refreshed by the
    page's polling; stale after :data:`PRESENCE_SECONDS`)."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="presences"
    )
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    replying = models.BooleanField(default=False)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "member"], name="presence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.member} @ {self.conversation_id}"


#: A presence older than this is gone (the page polls every 10 seconds).
PRESENCE_SECONDS = 40


class CannedReply(models.Model):
    """A ready answer with variables (``{customer_name}``, ``{agent_name}``...)."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None  # restrict_rows decides

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="canned_replies"
    )
    title = models.CharField(_("title"), max_length=120)
    text = models.TextField(_("text"))
    #: ``fr``, ``en``, or empty for any language.
    language = models.CharField(_("language"), max_length=8, blank=True)
    created_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "title", "language"], name="canned_reply_unique"
            ),
        ]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        return queryset if can(member, "inbox.reply") else queryset.none()


class Offer(models.Model):
    """A current offer replies can insert: its text, its link and when it is valid."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None  # restrict_rows decides

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="offers")
    title = models.CharField(_("title"), max_length=120)
    text = models.TextField(_("text"))
    link = models.URLField(_("link"), max_length=500, blank=True)
    #: ``fr``, ``en``, or empty for any language.
    language = models.CharField(_("language"), max_length=8, blank=True)
    #: Words that make the offer the right one for a message (products, "livraison"...).
    keywords = models.CharField(_("keywords"), max_length=300, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    created_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["valid_until", "title"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")

    def __str__(self) -> str:
        return self.title

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        return queryset if can(member, "inbox.reply") else queryset.none()

    def is_current(self, at: Any = None) -> bool:
        moment = at or timezone.now()
        return bool(self.valid_from <= moment < self.valid_until)

    @property
    def keyword_list(self) -> list[str]:
        return [w.strip() for w in self.keywords.split(",") if w.strip()]


class ReplyApprovalRule(models.Model):
    """Whether public replies need the social team's approval, for one department or one
    member (the member's rule wins). Without a rule, a department agent's public replies need
    approval and everybody else's do not."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="reply_approval_rules"
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    required = models.BooleanField(_("needs approval"))
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "department"],
                condition=models.Q(member__isnull=True),
                name="reply_rule_department_unique",
            ),
            models.UniqueConstraint(
                fields=["workspace", "member"],
                condition=models.Q(member__isnull=False),
                name="reply_rule_member_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(department__isnull=True, member__isnull=False)
                | models.Q(department__isnull=False, member__isnull=True),
                name="reply_rule_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member or self.department}: {self.required}"


# --- Meta's webhook deliveries (docs/ways-in.md, /hooks/meta/) -----------------------------


class MetaChangeStates(StateGraph):
    # Stored by the hook; the worker reads the change from Graph and stores it in the inbox.
    received = State(initial=True, handler="handle_received", try_interval=60, max_attempts=12)
    # Read and stored (or found gone from Graph, or for no connected channel: ``stored`` says).
    done = State(terminal=True)
    # Graph refused it for good (a channel to reconnect, a refusal): ``problem`` says why.
    failed = State(failure=True, terminal=True)
    received.transitions_to(received, done)


class MetaChange(StatefulModel):
    """One change of a Meta webhook delivery (an Instagram ``mentions`` change): stored by the
    hook, which answers at once, and read from Graph by the worker.

    Idempotent on Meta's change identity (the account, the field, the media and the comment):
    a delivery Meta repeats stores no new row.
    """

    STATE_GRAPH = MetaChangeStates

    #: Meta's ``object`` ("instagram") and the entry's account id.
    object_type = models.CharField(_("object"), max_length=32)
    account_id = models.CharField(_("account"), max_length=64)
    field = models.CharField(_("field"), max_length=64)
    media_id = models.CharField(max_length=64, blank=True)
    comment_id = models.CharField(max_length=64, blank=True)
    #: ``object:account:field:media:comment``: what makes a redelivery the same change.
    change_key = models.CharField(max_length=300, unique=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    #: Inbox items this change added (0 for a mention already there or gone).
    stored = models.PositiveIntegerField(_("stored"), default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("Meta webhook change")
        verbose_name_plural = _("Meta webhook changes")

    def __str__(self) -> str:
        target = self.comment_id or self.media_id
        return f"{self.object_type} {self.account_id} {self.field} {target}"

    def handle_received(self) -> Outcome:
        from portevoix.inbox import meta_webhook

        return meta_webhook.handle_received(self)
