"""Strategy (seed 002): the canvas, goals, KPIs, content pillars; the team's responsibility
matrix; the employee social media policy (seed 003) and its acknowledgements."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import RestrictedQuerySet


class GoalCode(models.TextChoices):
    """Seed 002's ten business goals, plus recruitment and employer brand (seed 001)."""

    MARKET_RESEARCH = "market_research", _("Market research")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    INDIRECT_SALES = "indirect_sales", _("Indirect sales")
    DIRECT_SALES = "direct_sales", _("Direct sales")
    LEADS = "leads", _("Generate leads")
    BRAND_AWARENESS = "brand_awareness", _("Brand awareness")
    THOUGHT_LEADERSHIP = "thought_leadership", _("Thought leadership")
    FINDABILITY = "findability", _("Be and stay findable")
    WEB_TRAFFIC = "web_traffic", _("Traffic to the website, app or shop")
    STORE_TRAFFIC = "store_traffic", _("Traffic to a physical place")
    RECRUITMENT = "recruitment", _("Recruitment")
    EMPLOYER_BRAND = "employer_brand", _("Employer brand")


class Period(models.TextChoices):
    WEEK = "week", _("per week")
    MONTH = "month", _("per month")
    QUARTER = "quarter", _("per quarter")
    YEAR = "year", _("per year")


#: How a level's target reads ("4.5 % over the month", "60 minutes over the week"): "per"
#: would say it adds up, as a total's does ("3,000 clicks per month").
PERIOD_OVER = {
    Period.WEEK: _("over the week"),
    Period.MONTH: _("over the month"),
    Period.QUARTER: _("over the quarter"),
    Period.YEAR: _("over the year"),
}


#: The canvas's questions (seed 002), in the order the page asks them.
CANVAS_FIELDS = (
    "market",
    "audiences",
    "competitors",
    "business_model",
    "budget",
    "channels",
    "stakeholders",
)


class CanvasVersion(models.Model):
    """One saved version of the strategy canvas; the latest is the current strategy."""

    VIEW_ACTION = "strategy.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="canvas_versions"
    )
    number = models.PositiveIntegerField()
    market = models.TextField(_("Market: who do we want to be, on which market?"), blank=True)
    audiences = models.TextField(_("Target groups and personas"), blank=True)
    competitors = models.TextField(
        _("Competitors online, and where they are (which networks)"), blank=True
    )
    business_model = models.TextField(_("Business model"), blank=True)
    budget = models.TextField(_("Budget"), blank=True)
    channels = models.TextField(_("Channels we focus on, and why"), blank=True)
    stakeholders = models.TextField(_("Stakeholders"), blank=True)
    note = models.CharField(_("What changed, and why"), max_length=300, blank=True)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="canvas_version_unique")
        ]

    def __str__(self) -> str:
        return f"v{self.number}"  # the audit log's label says what it is, in the reader's language


class StrategySettings(models.Model):
    """Per workspace: how old the strategy may get before the page asks for a review."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="strategy_settings"
    )
    review_after_months = models.PositiveSmallIntegerField(
        _("ask for a review after (months)"), default=6
    )
    #: The team preset last applied (``presets.PRESETS``), empty before any.
    preset = models.CharField(_("team preset"), max_length=16, blank=True)

    def __str__(self) -> str:
        return f"strategy settings of {self.workspace_id}"


class Goal(models.Model):
    """A business goal the workspace chose."""

    VIEW_ACTION = "strategy.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="goals")
    code = models.CharField(max_length=32, choices=GoalCode.choices)
    channels = models.ManyToManyField("channels.Channel", blank=True, related_name="strategy_goals")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "code"], name="goal_code_unique")
        ]

    def __str__(self) -> str:
        return self.code


#: How a KPI names itself in the audit log (``Kpi.__str__``).
_KPI_REPR = re.compile(r"^(?P<metric>\w+) (?P<target>\d+(?:\.\d+)?)/(?P<period>\w+)$")


class Kpi(models.Model):
    """A measurable target for a goal: "leads from LinkedIn: 40 per month"."""

    VIEW_ACTION = "strategy.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="kpis")
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="kpis")
    metric = models.CharField(_("metric"), max_length=40)
    target = models.DecimalField(_("target"), max_digits=14, decimal_places=2)
    period = models.CharField(_("period"), max_length=8, choices=Period.choices)
    channel = models.ForeignKey(
        "channels.Channel",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="kpis",
        verbose_name=_("channel"),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["goal_id", "id"]

    def __str__(self) -> str:
        # Codes, for the audit log: ``audit_name`` names them in the reader's language.
        return f"{self.metric} {self.target}/{self.period}"

    @staticmethod
    def _audit_goal(value: Any) -> str:
        code = value["repr"] if isinstance(value, dict) else value
        return str(GoalCode(code).label)

    @staticmethod
    def _audit_metric(value: Any) -> str:
        from .metrics import METRICS

        return str(METRICS[value].label)

    @staticmethod
    def _audit_target(value: Any) -> str:
        from django.template.defaultfilters import floatformat

        return str(floatformat(Decimal(str(value)), "-2g"))

    #: How the audit log reads a KPI's stored codes (``audit.VALUE_NAMES``).
    AUDIT_VALUES: ClassVar[dict[tuple[str, str], Callable[[Any], str]]] = {
        ("strategy.kpi", "goal"): _audit_goal,
        ("strategy.kpi", "metric"): _audit_metric,
        ("strategy.kpi", "target"): _audit_target,
    }

    @staticmethod
    def audit_name(entry: Any) -> str:
        """A KPI entry's object ("clicks 3000.00/month") as the reader says it: "Link clicks ·
        3,000 clicks per month"; "" when the stored text is not a KPI's."""
        from .metrics import METRICS

        found = _KPI_REPR.match(entry.object_repr)
        if found is None or found["metric"] not in METRICS:
            return ""
        kpi = Kpi(metric=found["metric"], target=Decimal(found["target"]), period=found["period"])
        metric = METRICS[kpi.metric]
        target = Kpi._audit_target(kpi.target)
        ceiling = pgettext("target", "at most") + " " if kpi.lower_is_better else ""
        return f"{metric.label} · {ceiling}{target} {metric.unit} {kpi.period_text()}"

    def period_text(self) -> str:
        """The period as the target reads: "per month" for a total, "over the month" for a
        level (a rate, followers, minutes)."""
        from .metrics import METRICS

        metric = METRICS.get(self.metric)
        if metric is not None and not metric.total and self.period in PERIOD_OVER:
            return str(PERIOD_OVER[Period(self.period)])
        return str(self.get_period_display())

    @property
    def lower_is_better(self) -> bool:
        from .metrics import METRICS

        metric = METRICS.get(self.metric)
        return metric is not None and metric.lower_is_better


class Pillar(models.Model):
    """A content pillar: what the plan speaks of, with the share of posts it should have."""

    VIEW_ACTION = "strategy.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="pillars")
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=300, blank=True)
    target_percent = models.PositiveSmallIntegerField(_("target share (%)"), default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="pillar_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class PostPillar(models.Model):
    """The pillar a post speaks to (publishing has no labels of its own for posts)."""

    post = models.OneToOneField(
        "publishing.Post", on_delete=models.CASCADE, related_name="pillar_label"
    )
    pillar = models.ForeignKey(Pillar, on_delete=models.CASCADE, related_name="posts")

    def __str__(self) -> str:
        return f"post {self.post_id} → pillar {self.pillar_id}"


class Task(models.TextChoices):
    """Seed 002's tasks of a social media team."""

    MANAGEMENT = "management", _("Social media management")
    WEBCARE = "webcare", _("Webcare")
    CREATIVE = "creative", _("Creative content")
    ADVERTISING = "advertising", _("Advertising")
    ANALYTICS = "analytics", _("Analytics")


class Level(models.TextChoices):
    RESPONSIBLE = "responsible", _("Responsible")
    BACKUP = "backup", _("Backup")
    CONSULTED = "consulted", _("Consulted")


class Responsibility(models.Model):
    """One cell of the responsibility matrix (not the permission matrix): who does a task."""

    VIEW_ACTION = "strategy.view"
    WORKSPACE_PATH = "member__workspace"
    objects = RestrictedQuerySet.as_manager()

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="responsibilities")
    task = models.CharField(max_length=16, choices=Task.choices)
    level = models.CharField(max_length=16, choices=Level.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "task"], name="responsibility_unique")
        ]

    def __str__(self) -> str:
        return f"{self.task}: {self.level}"


class PolicyVersion(models.Model):
    """One version of the employee social media policy (seed 003); the latest is in force."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="policy_versions"
    )
    number = models.PositiveIntegerField()
    text = models.TextField(_("policy text"))
    note = models.CharField(_("What changed"), max_length=300, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="policy_version_unique")
        ]

    def __str__(self) -> str:
        return f"v{self.number}"  # the audit log's label says what it is, in the reader's language


class PolicyAcknowledgement(models.Model):
    """A member acknowledged this version, in the product."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="acks")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="policy_acks")
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "member"], name="policy_ack_unique")
        ]

    def __str__(self) -> str:
        return f"member {self.member_id} acknowledged v{self.version_id}"


class Employee(models.Model):
    """Someone without an account who must acknowledge the policy (imported from a CSV)."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = "strategy.manage"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="employees")
    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("e-mail address"))
    department = models.CharField(_("department"), max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "email"], name="employee_email_unique")
        ]

    def __str__(self) -> str:
        return self.name


class EmployeeAcknowledgement(models.Model):
    """A request that one employee acknowledge one version; the signed link opens this row
    and does one thing: set ``acknowledged_at``."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(
        PolicyVersion, on_delete=models.CASCADE, related_name="employee_acks"
    )
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="acks")
    sent_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "employee"], name="employee_ack_unique")
        ]

    def __str__(self) -> str:
        return f"{self.employee} v{self.version.number}"


# --- ambassadors (seed 001) -----------------------------------------------------------------


class ShareNetwork(models.TextChoices):
    """The networks an ambassador shares on from their own account, each with a share link
    that opens the network's own composer (``ambassadors.share_links``)."""

    LINKEDIN = "linkedin", "LinkedIn"
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    BLUESKY = "bluesky", "Bluesky"
    OTHER = "other", _("Another network")


class Ambassador(models.Model):
    """A member of another department named ambassador (seed 001): by channel expertise (HR
    on LinkedIn) or by subject (a star salesperson, a board member who speaks at events)."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = "ambassador.manage"
    WORKSPACE_PATH = "member__workspace"

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="ambassador")
    #: Network codes between commas (",linkedin,x,"), as ``Member.extra_roles``.
    networks = models.CharField(_("networks"), max_length=120, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    named_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    named_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["member__user__full_name", "member_id"]

    def __str__(self) -> str:
        return str(self.member.user)

    @property
    def network_list(self) -> list[str]:
        return [code for code in self.networks.split(",") if code]

    def network_labels(self) -> list[str]:
        labels = dict(ShareNetwork.choices)
        return [str(labels.get(code, code)) for code in self.network_list]


class Audience(models.TextChoices):
    ALL = "all", _("Every ambassador")
    DEPARTMENT = "department", _("The ambassadors of one department")
    NETWORK = "network", _("The ambassadors active on one network")
    SUBJECT = "subject", _("The ambassadors whose subject contains")


class ShareSuggestion(models.Model):
    """A published post suggested to ambassadors for sharing from their own accounts."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = "ambassador.manage"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    publication = models.ForeignKey(
        "publishing.Publication", on_delete=models.CASCADE, related_name="share_suggestions"
    )
    text = models.TextField(_("text to share"))
    url = models.URLField(_("link of the published post"), max_length=500)
    note = models.CharField(_("note for the ambassadors"), max_length=500, blank=True)
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.ALL)
    #: The department id, network code or subject words the audience was chosen by.
    audience_value = models.CharField(max_length=200, blank=True)
    suggested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.text[:60]


class ShareRequest(models.Model):
    """One suggestion in one ambassador's "to share" list; ``shared_at`` once they said they
    shared it (with the link of their own post)."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = "ambassador.share"
    WORKSPACE_PATH = "suggestion__workspace"

    suggestion = models.ForeignKey(
        ShareSuggestion, on_delete=models.CASCADE, related_name="requests"
    )
    ambassador = models.ForeignKey(Ambassador, on_delete=models.CASCADE, related_name="requests")
    shared_at = models.DateTimeField(_("shared"), null=True, blank=True)
    shared_network = models.CharField(
        _("network"), max_length=16, choices=ShareNetwork.choices, blank=True
    )
    shared_url = models.URLField(_("link of your post"), max_length=500, blank=True)

    class Meta:
        ordering = ["-suggestion__created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["suggestion", "ambassador"], name="share_once")
        ]

    def __str__(self) -> str:
        return f"{self.ambassador} / {self.suggestion_id}"

    @classmethod
    def restrict_rows(cls, queryset, member):  # type: ignore[no-untyped-def]
        """Each ambassador sees their own list; those who suggest see every row."""
        from portevoix.core.permissions import can

        if can(member, "ambassador.manage"):
            return queryset
        return queryset.filter(ambassador__member=member)
