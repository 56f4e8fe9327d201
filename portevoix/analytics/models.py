"""Analytics: what the networks said about each post and account (append-only snapshots), the
rollups the dashboards read, the worker row that collects per channel, and the analyst's
insights.

A post's results count on the day and hour it was *published* (how well a post did, by when it
went out): the best-time heatmap and the daily charts read the same rollups. See
``docs/analytics.md``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.channels.models import Channel
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import RestrictedQuerySet
from portevoix.worker.graph import State, StateGraph
from portevoix.worker.models import Outcome, StatefulModel

#: The counters of a post, in the order the CSV files and the rollups use.
POST_FIELDS = ("impressions", "reach", "engagements", "clicks", "video_views")


class Source(models.TextChoices):
    NETWORK = "network", _("From the network")
    FORM = "form", _("Entered by hand")
    CSV = "csv", _("Imported from a CSV file")


class PostSnapshot(models.Model):
    """A publication's totals at one moment, as measured; never updated, never deleted while
    the publication exists. ``None`` means "not measured", never zero."""

    VIEW_ACTION = "analytics.view"
    WORKSPACE_PATH = "channel__workspace"
    objects = RestrictedQuerySet.as_manager()

    publication = models.ForeignKey(
        "publishing.Publication", on_delete=models.CASCADE, related_name="snapshots"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    taken_at = models.DateTimeField(_("measured on"))
    source = models.CharField(max_length=8, choices=Source.choices)
    impressions = models.BigIntegerField(_("impressions"), null=True, blank=True)
    reach = models.BigIntegerField(_("reach"), null=True, blank=True)
    engagements = models.BigIntegerField(_("engagements"), null=True, blank=True)
    clicks = models.BigIntegerField(_("clicks"), null=True, blank=True)
    video_views = models.BigIntegerField(_("video views"), null=True, blank=True)
    likes = models.BigIntegerField(null=True, blank=True)
    comments = models.BigIntegerField(null=True, blank=True)
    shares = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["publication", "-taken_at"], name="an_snap_latest")]
        verbose_name = _("post snapshot")
        verbose_name_plural = _("post snapshots")

    def __str__(self) -> str:
        return f"{self.publication_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class AccountSnapshot(models.Model):
    """A channel's account figures at one moment (append-only): followers then, and the
    profile visits between ``since`` and ``taken_at``."""

    VIEW_ACTION = "analytics.view"
    WORKSPACE_PATH = "channel__workspace"
    objects = RestrictedQuerySet.as_manager()

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    taken_at = models.DateTimeField(_("measured on"))
    since = models.DateTimeField()
    followers = models.BigIntegerField(_("followers"), null=True, blank=True)
    profile_visits = models.BigIntegerField(_("profile visits"), null=True, blank=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        # (channel, -taken_at, -id): the latest reading before a moment, per channel, is one
        # index seek (kpis.followers_at orders by both).
        indexes = [
            models.Index(fields=["channel", "-taken_at", "-id"], name="an_account_latest_id")
        ]
        verbose_name = _("account snapshot")
        verbose_name_plural = _("account snapshots")

    def __str__(self) -> str:
        return f"{self.channel_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class ChannelDay(models.Model):
    """One channel's day (in its audience's time zone): posts published that day and what
    they gathered since; the account's followers at the day's last reading."""

    VIEW_ACTION = "analytics.view"
    WORKSPACE_PATH = "channel__workspace"
    objects = RestrictedQuerySet.as_manager()

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    posts = models.IntegerField(default=0)
    impressions = models.BigIntegerField(default=0)
    reach = models.BigIntegerField(default=0)
    engagements = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    video_views = models.BigIntegerField(default=0)
    followers = models.BigIntegerField(null=True, blank=True)
    profile_visits = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "day"], name="an_channel_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.day}"


class ChannelHour(models.Model):
    """One channel's hour (UTC start): posts published in it and what they gathered since.
    The best-time heatmap reads it in the audience's time zone."""

    VIEW_ACTION = "analytics.view"
    WORKSPACE_PATH = "channel__workspace"
    objects = RestrictedQuerySet.as_manager()

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    posts = models.IntegerField(default=0)
    impressions = models.BigIntegerField(default=0)
    reach = models.BigIntegerField(default=0)
    engagements = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    video_views = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "hour"], name="an_channel_hour_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.hour:%Y-%m-%d %H}"


class WorkspaceDay(models.Model):
    """Every channel of a workspace on one day: the sums of their :class:`ChannelDay` rows of
    that day (each channel's day in its audience's zone, as there). Moved by the same
    differences as ``ChannelDay``, so the all-channels charts read one row per day."""

    VIEW_ACTION = "analytics.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    posts = models.IntegerField(default=0)
    impressions = models.BigIntegerField(default=0)
    reach = models.BigIntegerField(default=0)
    engagements = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    video_views = models.BigIntegerField(default=0)
    profile_visits = models.BigIntegerField(default=0)
    #: The sum of the followers of the channels that had a reading this day, and how many did.
    followers = models.BigIntegerField(default=0)
    follower_channels = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "day"], name="an_workspace_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.day}"


class WorkspaceHour(models.Model):
    """Every channel's posts by the local day and hour (0-23) they were published, in the
    workspace's zone: the all-channels best-time heatmap reads weekday and hour from columns
    instead of extracting them from timestamps."""

    VIEW_ACTION = "analytics.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    hour = models.SmallIntegerField()
    weekday = models.SmallIntegerField()  # ISO: 1 = Monday
    posts = models.IntegerField(default=0)
    impressions = models.BigIntegerField(default=0)
    engagements = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "hour"], name="an_workspace_hour_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.day} {self.hour}h"


class CollectorStates(StateGraph):
    # Due when the next post of the channel reaches an age on the schedule (1 h, 6 h, 24 h,
    # 3 d, 7 d, 30 d) or the account's daily reading is due; comes back to itself.
    collecting = State(initial=True, handler="handle_collecting", try_interval=600, max_attempts=8)
    # After max_attempts errors in a row (the channel's own page tells why the network refuses).
    failed = State(failure=True)
    collecting.transitions_to(collecting)
    failed.transitions_to(collecting)
    lease_seconds = 120.0
    max_backoff = 3600.0


class MetricsCollector(StatefulModel):
    """One channel's metric collection: a row of background work (ARCHITECTURE §5)."""

    STATE_GRAPH = CollectorStates
    VIEW_ACTION = "analytics.view"
    WORKSPACE_PATH = "channel__workspace"
    CLAIM_RELATED = ("channel", "channel__workspace")
    objects = RestrictedQuerySet.as_manager()

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="collector")
    last_account_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("metrics collector")
        verbose_name_plural = _("metrics collectors")

    def __str__(self) -> str:
        return f"metrics of channel {self.channel_id}"

    def handle_collecting(self) -> Outcome:
        from portevoix.analytics import collect

        return collect.handle_collecting(self)


class Insight(models.Model):
    """What the analyst read in a chart, for the team (seed 002: the analyst advises)."""

    VIEW_ACTION = "analytics.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="insights")
    chart = models.CharField(_("chart"), max_length=40)
    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    text = models.TextField(_("insight"))
    author = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("insight")
        verbose_name_plural = _("insights")

    def __str__(self) -> str:
        return f"{self.chart}: {self.text[:40]}"


class ExperimentMetric(models.TextChoices):
    ENGAGEMENT_RATE = "engagement_rate", _("Engagement rate (engagements per impression)")
    CLICK_RATE = "click_rate", _("Click rate (clicks per impression)")


class Experiment(models.Model):
    """Two variants of one post on one channel, published at comparable times (organic posts
    cannot be shown to split audiences), compared on the metric the author chose."""

    VIEW_ACTION = "analytics.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(_("name"), max_length=120)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(_("metric"), max_length=20, choices=ExperimentMetric.choices)
    variant_a = models.ForeignKey(
        "publishing.Publication", on_delete=models.CASCADE, related_name="+"
    )
    variant_b = models.ForeignKey(
        "publishing.Publication", on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("experiment")
        verbose_name_plural = _("experiments")

    def __str__(self) -> str:
        return self.name


class ReportFrequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly (Monday to Sunday)")
    MONTHLY = "monthly", _("Monthly")


#: The parts a scheduled report may contain, in the order the PDF shows them.
REPORT_SECTIONS: dict[str, Any] = {
    "goals": _("Goals and KPI progress"),
    "overview": _("Key figures"),
    "daily": _("Impressions and engagements per day"),
    "followers": _("Followers"),
    "channels": _("Per channel"),
    "campaigns": _("Campaigns"),
    "heatmap": _("Best time to post"),
    "types": _("Post types"),
    "webcare": _("Webcare"),
    "approvals": _("Approval wait times"),
    "workload": _("Team workload"),
}
#: Sections whose numbers need more than ``analytics.view`` to be read.
SECTION_NEEDS = {"webcare": "inbox.view_all", "goals": "strategy.view"}


class ScheduledReport(models.Model):
    """A report the worker makes at the end of each week or month (in the workspace's zone)
    and e-mails to its recipients, each in their language (docs/analytics.md)."""

    VIEW_ACTION = "analytics.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="scheduled_reports"
    )
    name = models.CharField(_("name"), max_length=120)
    frequency = models.CharField(
        _("frequency"), max_length=10, choices=ReportFrequency.choices, default="weekly"
    )
    sections = models.JSONField(_("parts"), default=list)
    #: None chosen: every channel of the workspace.
    channels = models.ManyToManyField(Channel, blank=True, related_name="+")
    recipients = models.ManyToManyField(Member, related_name="+")
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("scheduled report")
        verbose_name_plural = _("scheduled reports")

    def __str__(self) -> str:
        return self.name


class ReportRunStates(StateGraph):
    # The worker renders the PDFs and the CSV, stores them and tells the recipients (the
    # notification's e-mail carries the PDF), all in one transaction.
    producing = State(initial=True, handler="handle_producing", try_interval=300, max_attempts=5)
    sent = State(terminal=True)
    failed = State(failure=True)
    producing.transitions_to(sent)
    failed.transitions_to(producing)
    lease_seconds = 600.0


class ReportRun(StatefulModel):
    """One report for one period: made once, whatever happens (unique per period)."""

    STATE_GRAPH = ReportRunStates
    VIEW_ACTION = "analytics.view"
    WORKSPACE_PATH = "report__workspace"
    CLAIM_RELATED = ("report", "report__workspace")
    objects = RestrictedQuerySet.as_manager()

    report = models.ForeignKey(ScheduledReport, on_delete=models.CASCADE, related_name="runs")
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    #: "schedule" (the period ended) or "manual" (someone pressed "send now").
    trigger = models.CharField(max_length=10, default="schedule")
    requested_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    produced_at = models.DateTimeField(_("sent on"), null=True, blank=True)
    recipients_told = models.IntegerField(default=0)
    csv = models.TextField(blank=True)

    class Meta:
        ordering = ["-period_end", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "period_start", "period_end"], name="an_report_run_once"
            )
        ]
        verbose_name = _("report sent")
        verbose_name_plural = _("reports sent")

    def __str__(self) -> str:
        return f"{self.report_id} {self.period_start}..{self.period_end}"

    def handle_producing(self) -> Outcome:
        from portevoix.analytics import reports

        return reports.handle_producing(self)


class ReportFile(models.Model):
    """A run's PDF in one language (every language of the product is made)."""

    run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="files")
    language = models.CharField(max_length=10)
    pdf = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "language"], name="an_report_file_unique")
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.language}"
