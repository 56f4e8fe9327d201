"""The tables of the editorial controls: approvals (§5), compliance rules (§6) and pauses (§7).

They sit beside their rules (``approvals/policy.py``, ``compliance.py``, ``pause.py``) and are
imported by ``publishing/models.py`` so that Django finds them. See ``docs/approvals.md``.

* :class:`ApprovalSettings`: per workspace, who approves (one person, one role, or anyone who
  may approve), whether everyone needs approval for a while (a launch), which channels always
  need it, how often to remind;
* :class:`MemberTrust`: a manager's exception to the role's default "publishes directly";
* :class:`ComplianceRoute`: the compliance step: finance or health words, or named channels,
  send a post to a department (legal...), whose agents approve that step and only that step;
* :class:`ApprovalStep`: one approval asked for one post (the general one or a department's
  compliance step), with its decision, comment and the time it waited;
* :class:`ComplianceRule` and :class:`BrandGuide`: what a text may not say or must say;
* :class:`Pause`: outgoing posts held for a workspace, a channel or a campaign.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.channels.models import Channel
from portevoix.core.models import Department, Member, Workspace
from portevoix.core.permissions import RestrictedQuerySet, Role, can

# Post and Campaign are named by string: ``publishing.models`` imports this module.
MEMBER = Member
WORKSPACE = Workspace
CHANNEL = Channel


class ApprovalSettings(models.Model):
    """How a workspace approves posts. A workspace without a row uses the defaults."""

    VIEW_ACTION = "post.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.OneToOneField(
        WORKSPACE, on_delete=models.CASCADE, related_name="approval_settings"
    )
    #: The one person who approves (whatever their role: approval follows experience, not job
    #: title). Empty: ``approver_role``, else anyone with ``post.approve``.
    approver = models.ForeignKey(
        MEMBER,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approver"),
    )
    approver_role = models.CharField(
        _("approving role"), max_length=32, choices=Role.choices, blank=True
    )
    #: During a launch, say: every post needs approval, whoever writes it.
    everyone = models.BooleanField(_("every post needs approval"), default=False)
    everyone_until = models.DateTimeField(_("until"), null=True, blank=True)
    #: Channels where every post needs approval.
    channels = models.ManyToManyField(
        CHANNEL, blank=True, related_name="+", verbose_name=_("channels that always need approval")
    )
    remind_after_hours = models.PositiveSmallIntegerField(
        _("remind after (hours)"),
        default=4,
        help_text=_("A request nobody has answered is recalled to its approvers this often."),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("approval settings")
        verbose_name_plural = _("approval settings")

    def __str__(self) -> str:
        return str(self.workspace)

    def everyone_now(self, now: dt.datetime | None = None) -> bool:
        if not self.everyone:
            return False
        return self.everyone_until is None or (now or timezone.now()) < self.everyone_until


class MemberTrust(models.Model):
    """A manager's word on one member: publishes directly, or submits for approval."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = "post.view"
    WORKSPACE_PATH = "member__workspace"

    member = models.OneToOneField(MEMBER, on_delete=models.CASCADE, related_name="publishing_trust")
    publishes_directly = models.BooleanField(_("publishes directly"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("publishing trust")
        verbose_name_plural = _("publishing trust")

    def __str__(self) -> str:
        return f"{self.member}: {self.publishes_directly}"


class ComplianceRoute(models.Model):
    """A compliance step: posts on these topics or channels go to this department too."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = "post.view"

    workspace = models.ForeignKey(
        WORKSPACE, on_delete=models.CASCADE, related_name="compliance_routes"
    )
    name = models.CharField(_("name"), max_length=120)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="compliance_routes",
        verbose_name=_("department"),
    )
    #: One word or phrase a line; case and accents do not matter.
    words = models.TextField(
        _("topic words"),
        blank=True,
        help_text=_("One word or phrase a line (case and accents do not matter)."),
    )
    channels = models.ManyToManyField(
        CHANNEL, blank=True, related_name="+", verbose_name=_("channels")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="compliance_route_name_unique"
            )
        ]
        verbose_name = _("compliance step")
        verbose_name_plural = _("compliance steps")

    def __str__(self) -> str:
        return self.name

    @property
    def word_list(self) -> list[str]:
        return lines(self.words)


def lines(text: str) -> list[str]:
    """The non-empty lines of a text field, stripped, without repeats."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


class StepKind(models.TextChoices):
    APPROVAL = "approval", _("Approval")
    COMPLIANCE = "compliance", _("Compliance")


def why_text(why: Any) -> str:
    """Why a step was asked for (``ApprovalStep.why``), in the reader's language: for the
    approval, its reasons; for a compliance step, the rules, the words found and the channels."""
    from django.utils.translation import gettext

    if not isinstance(why, dict):
        return ""
    parts: list[str] = []
    channels = ", ".join(str(c) for c in why.get("channels") or [])
    sentences = {
        "author": gettext("the author submits for approval"),
        "everyone": gettext("every post needs approval for now"),
        "crisis": gettext("a crisis's holding statement is approved by legal"),
        "channel": gettext("these channels always need it: %(names)s") % {"names": channels},
    }
    reasons = [sentences.get(str(r), str(r)) for r in why.get("reasons") or []]
    if reasons:
        return "; ".join(reasons)
    if why.get("routes"):
        parts.append(", ".join(str(r) for r in why["routes"]))
        if why.get("words"):
            words = ", ".join(str(w) for w in why["words"])
            parts.append(gettext("mentions %(words)s") % {"words": words})
        if channels:
            parts.append(channels)
    return " — ".join(parts)


class StepState(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    APPROVED = "approved", _("Approved")
    CHANGES = "changes_requested", _("Changes requested")
    REJECTED = "rejected", _("Rejected")
    LAPSED = "lapsed", _("Lapsed")


class LapseReason(models.TextChoices):
    CONTENT_CHANGED = "content_changed", _("the content changed")
    WITHDRAWN = "withdrawn", _("the author took the post back")
    NOT_NEEDED = "not_needed", _("no longer needed")
    DECIDER_LEFT = "decider_left", _("the person who decided may no longer approve it")
    OTHER_STEP = "other_step", _("another step asked for changes or rejected it")
    CANCELLED = "cancelled", _("the post was cancelled")


class ApprovalStep(models.Model):
    """One approval asked for one post: the general approval, or a department's compliance
    step. It is given for one content fingerprint and lapses when the content changes."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None
    WORKSPACE_PATH = "post__workspace"

    post = models.ForeignKey(
        "publishing.Post", on_delete=models.CASCADE, related_name="approval_steps"
    )
    kind = models.CharField(max_length=16, choices=StepKind.choices, default=StepKind.APPROVAL)
    state = models.CharField(
        max_length=20, choices=StepState.choices, default=StepState.WAITING, db_index=True
    )
    #: Who may decide, copied from the settings when asked (and updated when they change).
    approver = models.ForeignKey(
        MEMBER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approver_role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    #: Why the compliance step was asked: ``{"routes": [...], "words": [...], "channels": [...]}``.
    why = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    #: The author's note to the approver ("what I changed").
    note = models.TextField(blank=True)
    #: The content fingerprint the decision was given for.
    fingerprint = models.CharField(max_length=64, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    lapse_reason = models.CharField(max_length=20, choices=LapseReason.choices, blank=True)
    lapsed_at = models.DateTimeField(null=True, blank=True)
    #: When the approvers are reminded next (the housekeeping job ``approval-reminders``).
    remind_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["post", "state"], name="approval_step_post_state")]
        constraints = [
            # One waiting step per post and department (the general one has none).
            models.UniqueConstraint(
                fields=["post", "kind"],
                condition=Q(state="waiting", department__isnull=True),
                name="approval_step_one_waiting",
            ),
            models.UniqueConstraint(
                fields=["post", "kind", "department"],
                condition=Q(state="waiting", department__isnull=False),
                name="approval_step_one_waiting_per_department",
            ),
        ]
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.post_id} ({self.state})"

    @classmethod
    def restrict_rows(cls, queryset: Any, member: Any) -> Any:
        """Who sees a step: whoever sees the calendar; a department's agents see only the
        compliance steps routed to their department."""
        if can(member, "post.view"):
            return queryset
        if can(member, "post.approve_compliance") and member.department_id:
            return queryset.filter(kind=StepKind.COMPLIANCE, department_id=member.department_id)
        return queryset.none()

    @property
    def waited(self) -> dt.timedelta:
        """How long the post waited for this step (until now while it waits)."""
        end = self.decided_at or self.lapsed_at or timezone.now()
        return max(end - self.requested_at, dt.timedelta(0))

    @property
    def why_text(self) -> str:
        return why_text(self.why)

    @property
    def is_waiting(self) -> bool:
        return self.state == StepState.WAITING


class RuleKind(models.TextChoices):
    BANNED = "banned", _("Banned words and phrases")
    DISCLAIMER = "disclaimer", _("Required disclaimer")
    LINK_ALLOW = "link_allow", _("Links only to these sites")
    LINK_DENY = "link_deny", _("Links never to these sites")
    REGEX = "regex", _("Regular expression")


class Severity(models.TextChoices):
    BLOCK = "block", _("Blocks")
    WARN = "warn", _("Warns")


class ComplianceRule(models.Model):
    """What a text may not say, or must say. Checked live in the composer, again at approval
    and again at send time (:mod:`portevoix.publishing.compliance`)."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None

    workspace = models.ForeignKey(
        WORKSPACE, on_delete=models.CASCADE, related_name="compliance_rules"
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=RuleKind.choices)
    severity = models.CharField(
        _("when broken"), max_length=8, choices=Severity.choices, default=Severity.BLOCK
    )
    #: Words or phrases, a disclaimer, site names or a regular expression (see ``kind``).
    values = models.TextField(_("values"))
    #: For a disclaimer: the words that make it required (empty: every post).
    topic = models.TextField(_("required when the text mentions"), blank=True)
    #: Shown with every finding: why the rule exists ("AMF: no promise of return").
    message = models.CharField(_("reason shown"), max_length=300, blank=True)
    channels = models.ManyToManyField(
        CHANNEL, blank=True, related_name="+", verbose_name=_("only on these channels")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="compliance_rule_name_unique"
            )
        ]
        verbose_name = _("compliance rule")
        verbose_name_plural = _("compliance rules")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def restrict_rows(cls, queryset: Any, member: Any) -> Any:
        # Whoever writes, approves or sees posts reads the rules (agents who approve the
        # compliance step too).
        if can(member, "post.view") or can(member, "post.approve_compliance"):
            return queryset
        return queryset.none()


class BrandGuide(models.Model):
    """Tone of voice, the words we use and those we avoid: shown beside the composer and at
    approval; avoided words are pointed out in the text."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None

    workspace = models.OneToOneField(
        WORKSPACE, on_delete=models.CASCADE, related_name="brand_guide"
    )
    tone = models.TextField(_("tone of voice"), blank=True)
    use_words = models.TextField(
        _("words we use"), blank=True, help_text=_("One word or phrase a line.")
    )
    avoid_words = models.TextField(
        _("words we avoid"), blank=True, help_text=_("One word or phrase a line.")
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("brand guide")
        verbose_name_plural = _("brand guides")

    def __str__(self) -> str:
        return str(self.workspace)

    @property
    def is_empty(self) -> bool:
        return not (self.tone.strip() or self.use_words.strip() or self.avoid_words.strip())


class Pause(models.Model):
    """Outgoing posts held for a workspace, a channel or a campaign, until resumed.

    Pausing moves ``scheduled`` publications to ``paused``, keeping their time; resuming puts
    back those still within the lateness limit and holds the rest for a person. See
    :mod:`portevoix.publishing.pause`.
    """

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None

    workspace = models.ForeignKey(WORKSPACE, on_delete=models.CASCADE, related_name="pauses")
    channel = models.ForeignKey(
        CHANNEL, on_delete=models.CASCADE, null=True, blank=True, related_name="pauses"
    )
    campaign = models.ForeignKey(
        "publishing.Campaign",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="pauses",
    )
    #: ``workspace``, ``channel:<id>`` or ``campaign:<id>``: one active pause per scope.
    scope_key = models.CharField(max_length=40)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    #: What pausing and resuming did, for the page and the audit log.
    paused_count = models.PositiveIntegerField(default=0)
    resumed_count = models.PositiveIntegerField(default=0)
    held_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "scope_key"],
                condition=Q(ended_at__isnull=True),
                name="pause_one_active_per_scope",
            ),
            models.CheckConstraint(
                condition=Q(channel__isnull=True) | Q(campaign__isnull=True),
                name="pause_one_scope",
            ),
        ]
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")

    def __str__(self) -> str:
        return f"{self.workspace}: {self.scope_key}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None

    @classmethod
    def restrict_rows(cls, queryset: Any, member: Any) -> Any:
        # Everyone who works in the workspace sees the banner (agents included: a paused
        # workspace concerns webcare too).
        return queryset


__all__ = [
    "ApprovalSettings",
    "ApprovalStep",
    "BrandGuide",
    "ComplianceRoute",
    "ComplianceRule",
    "LapseReason",
    "MemberTrust",
    "Pause",
    "RuleKind",
    "Severity",
    "StepKind",
    "StepState",
    "lines",
]
