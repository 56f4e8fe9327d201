"""Crisis: hourly counts (the baseline's data), alerts, incidents, playbooks and timelines.

* :class:`HourlyVolume`: per workspace and UTC hour, how many inbound items came in and how
  many were negative (every counted hour has a row, zeros included, so the baseline knows
  how much history it has);
* :class:`Alert`: a departure from the baseline found by :mod:`portevoix.crisis.detect`, with
  the numbers that explain it and the messages that caused it;
* :class:`Incident`: a crisis being handled (opened from an alert or by hand), with its
  department tasks (copied from the workspace's :class:`PlaybookItem` rows) and its
  :class:`TimelineEntry` rows.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Department, Member, User, Workspace
from portevoix.core.permissions import RestrictedQuerySet


def _empty_list() -> list[Any]:
    return []


class HourlyVolume(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    #: Start of the UTC hour counted.
    hour = models.DateTimeField()
    total = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "hour"], name="crisis_volume_unique")
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h: {self.negative}/{self.total}"


class AlertState(models.TextChoices):
    OPEN = "open", _("New")
    INCIDENT = "incident", _("Incident opened")
    DISMISSED = "dismissed", _("Dismissed")


class Alert(models.Model):
    WORKSPACE_PATH = "workspace"
    VIEW_ACTION = "crisis.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    #: Negative items seen in the window, and how many the baseline expected there.
    observed = models.PositiveIntegerField()
    expected = models.FloatField()
    #: One-sided Poisson tail P(X >= observed | expected).
    p_value = models.FloatField()
    #: How much history the baseline had (0 to 4 weeks; below 4 the prior weighs in).
    weeks_of_data = models.FloatField(default=0)
    network = models.CharField(max_length=40, blank=True)
    #: The most frequent terms of the causing messages.
    terms = models.JSONField(default=_empty_list, blank=True)
    #: Weekday (0 = Monday) and hour, in the workspace's time zone, of the window's end.
    weekday = models.PositiveSmallIntegerField(default=0)
    hour = models.PositiveSmallIntegerField(default=0)
    #: The causing messages: ``[{"at", "network", "text", "ref"}]`` (at most 50).
    messages = models.JSONField(default=_empty_list, blank=True)
    state = models.CharField(max_length=12, choices=AlertState.choices, default=AlertState.OPEN)

    class Meta:
        ordering = ["-raised_at", "-id"]

    def __str__(self) -> str:
        return f"alert {self.pk} ({self.observed} vs {self.expected:.1f})"

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else 0.0


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Incident(models.Model):
    WORKSPACE_PATH = "workspace"
    VIEW_ACTION = "crisis.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM
    )
    owner = models.ForeignKey(
        Member,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    alert = models.ForeignKey(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    #: The drill this incident is part of (opened during it, or from its alert): what it does
    #: stays in the sandbox and out of real figures. None: a real incident.
    drill = models.ForeignKey(
        "Drill", on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    #: The crisis's terms (from the alert, editable): scheduled posts are scanned for them.
    terms = models.JSONField(_("terms"), default=_empty_list, blank=True)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    opened_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.TextField(_("summary"), blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class PlaybookItem(models.Model):
    """One line of a department's checklist in the workspace's crisis playbook."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(_("task"), max_length=300)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["department__name", "position", "id"]

    def __str__(self) -> str:
        return self.text


class IncidentTask(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tasks")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(_("task"), max_length=300)
    position = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["department__name", "position", "id"]

    def __str__(self) -> str:
        return self.text


class TimelineKind(models.TextChoices):
    ALERT = "alert", _("Alert")
    OPENED = "opened", _("Incident opened")
    TICKED = "ticked", _("Task done")
    UNTICKED = "unticked", _("Task reopened")
    PAUSED = "paused", _("Publishing paused")
    NOTE = "note", _("Note")
    CLOSED = "closed", _("Incident closed")
    STATEMENT = "statement", _("Holding statement")
    SURGE = "surge", _("Inbox in surge")
    LOCKDOWN = "lockdown", _("Lockdown")


class TimelineEntry(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=12, choices=TimelineKind.choices)
    #: What the entry is about, as entered or as recorded (a task's text, a pause's scope).
    detail = models.TextField(blank=True)
    actor = models.CharField(max_length=200, blank=True)
    #: The alert an "alert" entry tells of: its explanation is written from the alert's
    #: numbers when read, in the reader's language (``detail`` keeps a copy for old rows).
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M} {self.kind}"

    def text(self) -> str:
        """What the entry says, in the active language: an alert explained from its numbers,
        a stored sentence rendered, a person's note as written."""
        from portevoix.core.sentences import render

        from . import notices

        if self.alert_id is not None and self.alert is not None:
            return notices.explain(notices.alert_params(self.alert))
        return render(self.detail)


# --- holding statements, the inbox in surge, lockdown (issue 12 §5) -------------------------


class HoldingStatement(models.Model):
    """What the brand says while it looks into the crisis: drafted in the incident, approved by
    legal through publishing's approvals, then published on every channel as one post (a
    variant per channel) and used to answer the crisis's conversations.

    Its ``post`` (``Post.source == "crisis"``) is made when it is sent to legal; from then on
    the post's approval steps and publications say where it stands."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="statements")
    text = models.TextField(_("statement"))
    #: A channel's own text, by channel id (as a string): ``{"12": "..."}``.
    variants = models.JSONField(default=dict, blank=True)
    #: The channels it goes out on (ids), chosen when drafted.
    channel_ids = models.JSONField(default=_empty_list, blank=True)
    #: The choices a network asks of whoever posts, per channel id (TikTok: who sees the
    #: video, interactions, disclosure, consent), as publishing keeps them per publication.
    network_options = models.JSONField(default=dict, blank=True)
    post = models.OneToOneField(
        "publishing.Post",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="holding_statement",
    )
    created_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("holding statement")
        verbose_name_plural = _("holding statements")

    def __str__(self) -> str:
        return self.text[:60]

    def text_for(self, channel_id: int) -> str:
        return str(self.variants.get(str(channel_id)) or self.text)


class CrisisConversation(models.Model):
    """A conversation of the inbox that matches the crisis's terms (labelled in the inbox)."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="crisis_conversations"
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    term = models.CharField(max_length=80, blank=True)
    labelled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-labelled_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "conversation"], name="crisis_conversation_unique"
            )
        ]

    def __str__(self) -> str:
        return f"incident {self.incident_id}: conversation {self.conversation_id}"


class StatementReply(models.Model):
    """The holding statement sent to one conversation: at most once (the unique constraint)."""

    statement = models.ForeignKey(
        HoldingStatement, on_delete=models.CASCADE, related_name="replies"
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    reply = models.ForeignKey(
        "inbox.Reply", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "conversation"], name="crisis_statement_reply_unique"
            )
        ]

    def __str__(self) -> str:
        return f"statement {self.statement_id}: conversation {self.conversation_id}"


class DutyCall(models.Model):
    """A member called on duty for the incident: a rota shift until the incident closes."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="duty_calls")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    shift = models.ForeignKey(
        "care.RotaShift", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    called_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    called_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["called_at", "id"]

    def __str__(self) -> str:
        return f"incident {self.incident_id}: member {self.member_id} on duty"


class ChannelCustody(models.Model):
    """Who holds a channel's login on the network itself, its recovery address and its second
    factor: what HR needs to take back a hijacked account (seed 001). The recovery address and
    the notes are encrypted at rest like the channel's credentials."""

    channel = models.OneToOneField(
        "channels.Channel", on_delete=models.CASCADE, related_name="custody"
    )
    login_holder = models.ForeignKey(
        Member,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("holds the login"),
    )
    #: Someone outside the team (an agency, a former employee), when not a member.
    login_holder_other = models.CharField(_("or, outside the team"), max_length=200, blank=True)
    recovery_encrypted = models.TextField(blank=True)
    second_factor_holder = models.ForeignKey(
        Member,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("holds the second factor"),
    )
    second_factor_method = models.CharField(_("second factor"), max_length=120, blank=True)
    notes_encrypted = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("credential custody")
        verbose_name_plural = _("credential custody")

    def __str__(self) -> str:
        return f"custody of channel {self.channel_id}"


# --- drills (issue 12 §6): a staged crisis or a busy evening on the sandbox, scored ---------


class DrillKind(models.TextChoices):
    CRISIS = "crisis", _("Staged crisis")
    EVENING = "evening", _("Busy webcare evening")


class DrillState(models.TextChoices):
    RUNNING = "running", _("Running")
    ENDED = "ended", _("Ended")


class Drill(models.Model):
    """A drill on the workspace's sandbox accounts (``crisis/drills.py``): what was staged,
    when, the alert and incident it led to, and its scores once ended."""

    WORKSPACE_PATH = "workspace"
    VIEW_ACTION = "crisis.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=8, choices=DrillKind.choices)
    #: The storm's intensity (a staged crisis), or how many times the usual customers write
    #: (a busy evening).
    intensity = models.FloatField(_("intensity"), default=1.0)
    state = models.CharField(max_length=8, choices=DrillState.choices, default=DrillState.RUNNING)
    started_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    #: When it ends by itself if nobody ends it.
    ends_at = models.DateTimeField(_("planned end"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    #: The sandbox accounts it ran on: ``[{"pk", "handle", "inbound_per_day"}]`` (the usual
    #: rate, restored at the end of a busy evening).
    accounts = models.JSONField(default=_empty_list, blank=True)
    alert = models.ForeignKey(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="drills"
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="drills"
    )
    #: The scores (``drills.score``), written when it ends.
    scores = models.JSONField(default=dict, blank=True)
    #: 0 to 100 (``drills.overall``), when it ends.
    score = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("drill")
        verbose_name_plural = _("drills")

    def __str__(self) -> str:
        # The audit log keeps this beside its translated label, in no language.
        return f"#{self.pk} ({self.kind})"

    @property
    def is_running(self) -> bool:
        return self.state == DrillState.RUNNING


class DrillResult(models.Model):
    """What one member did in a drill (written when it ends)."""

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="results")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="drill_results")
    #: Replies sent in the drill's conversations, and first replies within the SLA target.
    replies = models.PositiveIntegerField(default=0)
    first_replies = models.PositiveIntegerField(default=0)
    first_replies_in_sla = models.PositiveIntegerField(default=0)
    tasks_done = models.PositiveIntegerField(default=0)
    #: Approvals given on the drill's holding statements (legal approving the statement).
    approvals = models.PositiveIntegerField(default=0)
    #: Opened the drill's incident.
    opened_incident = models.BooleanField(default=False)
    #: From the drill's start to the member's first action in it (seconds).
    first_action_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["drill", "member"]
        constraints = [
            models.UniqueConstraint(fields=["drill", "member"], name="crisis_drill_result_unique")
        ]

    def __str__(self) -> str:
        return f"drill {self.drill_id}: member {self.member_id}"


class StatementMedia(models.Model):
    """An image or a video a holding statement carries, from the media library: for every
    channel (``channel`` empty), or for one channel instead (a video for YouTube and TikTok
    while the others show a picture). When the statement is sent to legal each becomes the
    post's media (``publishing.PostMedia``), so legal approves the statement with its media
    and a change of media needs legal's approval again."""

    statement = models.ForeignKey(HoldingStatement, on_delete=models.CASCADE, related_name="media")
    channel = models.ForeignKey(
        "channels.Channel", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    asset = models.ForeignKey("media.Asset", on_delete=models.PROTECT, related_name="+")
    alt_text = models.CharField(_("description"), max_length=1500, blank=True)

    class Meta:
        ordering = ["statement", "channel", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "channel"],
                condition=models.Q(channel__isnull=False),
                name="crisis_statement_media_channel_unique",
            ),
            models.UniqueConstraint(
                fields=["statement"],
                condition=models.Q(channel__isnull=True),
                name="crisis_statement_media_common_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"statement {self.statement_id}: asset {self.asset_id}"
