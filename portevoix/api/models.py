"""Personal access tokens of the JSON API, and the answers kept for ``Idempotency-Key``.

A token belongs to one member of one workspace and never does more than that member may
(the role is read again on every call, so a member demoted or deactivated is at once limited
or refused). Only the SHA-256 of its secret is stored: the secret is shown once, when it is
made. Scopes narrow it further (a read-only token for a dashboard).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import RestrictedQuerySet, can
from portevoix.worker.graph import State, StateGraph
from portevoix.worker.models import Outcome, StatefulModel


class Scope(models.TextChoices):
    POSTS_READ = "posts:read", _("Read posts, the calendar and the media library")
    POSTS_WRITE = (
        "posts:write",
        _("Create, schedule, submit, approve and cancel posts; upload media"),
    )
    CHANNELS_READ = "channels:read", _("Read channels and their health")
    INBOX_READ = "inbox:read", _("Read conversations and messages")
    INBOX_WRITE = "inbox:write", _("Reply to, assign, label and hand off conversations")
    AUDIT_READ = "audit:read", _("Read the audit log")
    WEBHOOKS = (
        "webhooks:manage",
        _("Manage webhook subscriptions, read their deliveries and replay failed ones"),
    )
    LISTENING_READ = "listening:read", _("Read listening's mentions")
    LISTENING_WRITE = "listening:write", _("Send mentions to the inbox or to the ideas")
    CRISIS_READ = "crisis:read", _("Read incidents and alerts")
    CRISIS_WRITE = "crisis:write", _("Open and close incidents, tick their checklists")
    METRICS_READ = "metrics:read", _("Read metrics and goals' progress")
    PRIVACY = (
        "privacy:manage",
        _("Answer data-protection requests: a person's data, its export and erasure; retention"),
    )


ALL_SCOPES = [s.value for s in Scope]


class ApiToken(models.Model):
    """A personal access token (``pvk_<secret>``); see docs/api.md."""

    VIEW_ACTION = None  # restrict_rows decides

    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    #: The first characters of the secret, shown to tell tokens apart (not enough to use one).
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    rate_limit = models.PositiveIntegerField(_("calls per minute"), default=120)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    #: The current rate-limit window (a minute) and the calls counted in it.
    window_start = models.DateTimeField(null=True, blank=True, editable=False)
    window_calls = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def restrict_rows(cls, queryset: Any, member: Any) -> Any:
        """One's own tokens; an admin sees every token of the workspace (to revoke one)."""
        if can(member, "workspace.settings"):
            return queryset
        return queryset.filter(member_id=member.pk)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class IdempotentAnswer(models.Model):
    """The answer given to a POST with an ``Idempotency-Key``, kept 24 hours per token."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="answers")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    #: None while the first request with this key is still running.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="api_idempotency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"


# --- outgoing webhooks (docs/webhooks.md) ---------------------------------------------------


class Event(models.TextChoices):
    POST_PUBLISHED = "post.published", _("A post was published")
    POST_FAILED = "post.failed", _("A post failed")
    CONVERSATION_CREATED = "conversation.created", _("A conversation started")
    CONVERSATION_ASSIGNED = "conversation.assigned", _("A conversation was assigned")
    CONVERSATION_SLA_BREACHED = "conversation.sla_breached", _("A conversation breached its SLA")
    INCIDENT_OPENED = "incident.opened", _("An incident was opened")
    ALERT_RAISED = "alert.raised", _("An alert was raised")


class WebhookSubscription(models.Model):
    """A URL that receives the workspace's events, signed with its own ``whsec_`` secret."""

    VIEW_ACTION = "integration.manage"

    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def secret(self) -> str:
        from portevoix.core.crypto import decrypt_text

        return decrypt_text(self.secret_encrypted, what="a webhook secret")


class DeliveryStates(StateGraph):
    # The attempts' delays are the handler's (``webhooks.RETRY_DELAYS``: more than a day).
    pending = State(initial=True, handler="handle_pending", try_interval=5, max_attempts=10)
    delivered = State(terminal=True)
    failed = State(failure=True)
    pending.transitions_to(pending, delivered)
    # Replay, from the page or the API.
    failed.transitions_to(pending)


class WebhookDelivery(StatefulModel):
    """One event for one subscription: delivered at least once, with a stable ``webhook-id``
    the receiver de-duplicates on."""

    STATE_GRAPH = DeliveryStates
    VIEW_ACTION = "integration.manage"
    WORKSPACE_PATH = "subscription__workspace"

    objects = RestrictedQuerySet.as_manager()

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=60)
    #: ``msg_...``: the same for every attempt and replay of this event to this subscription.
    message_id = models.CharField(max_length=80)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "message_id"], name="webhook_delivery_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription_id} ({self.state})"

    def handle_pending(self) -> Outcome:
        from portevoix.api import webhooks

        return webhooks.deliver(self)


class WebhookCursor(models.Model):
    """How far the event scanners have read (post published or failed, SLA breaches)."""

    name = models.CharField(max_length=40, unique=True)
    seen_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.seen_until}"


# --- CRM and helpdesk hand-off (seed 004; docs/integrations.md) -------------------------------


class IntegrationKind(models.TextChoices):
    HTTP = "http", _("HTTP endpoint (JSON)")
    EMAIL = "email", _("E-mail")


class IntegrationPreset(models.TextChoices):
    GENERIC = "generic", _("Generic (any system that takes JSON)")
    HUBSPOT = "hubspot", _("HubSpot")
    SALESFORCE = "salesforce", _("Salesforce")


class RecordKind(models.TextChoices):
    LEAD = "lead", _("Lead (CRM)")
    CASE = "case", _("Case (helpdesk)")


class CrmIntegration(models.Model):
    """A way to create a lead or a case in the company's CRM or helpdesk from a
    conversation: an HTTP endpoint with a field mapping, or an e-mail address. Status updates
    come back through its signed inbound webhook (``/hooks/crm/<id>/``)."""

    VIEW_ACTION = "integration.manage"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="crm_integrations"
    )
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(
        _("delivered by"), max_length=8, choices=IntegrationKind.choices, default="http"
    )
    preset = models.CharField(
        _("system"), max_length=12, choices=IntegrationPreset.choices, default="generic"
    )
    record_kind = models.CharField(
        _("creates"), max_length=8, choices=RecordKind.choices, default="lead"
    )
    url = models.URLField(_("endpoint"), max_length=500, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)
    #: ``{"json.key": "source field"}``: what the body holds (keys with dots nest).
    mapping = models.JSONField(_("field mapping"), default=dict, blank=True)
    #: Sent as ``Authorization`` (e.g. ``Bearer …``); kept encrypted, never shown again.
    auth_header_encrypted = models.TextField(blank=True, editable=False)
    #: Signs the status updates the system sends back (``whsec_…``).
    inbound_secret_encrypted = models.TextField(editable=False)
    #: HubSpot / Salesforce OAuth (authorization code + refresh), encrypted.
    oauth_client_id = models.CharField(max_length=200, blank=True)
    oauth_client_secret_encrypted = models.TextField(blank=True, editable=False)
    oauth_refresh_token_encrypted = models.TextField(blank=True, editable=False)
    oauth_access_token_encrypted = models.TextField(blank=True, editable=False)
    oauth_expires_at = models.DateTimeField(null=True, blank=True)
    #: Salesforce's instance (``https://acme.my.salesforce.com``), from its token answer.
    instance_url = models.URLField(max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    #: The last test: when, the answer's status and its first characters.
    tested_at = models.DateTimeField(null=True, blank=True)
    test_status = models.PositiveSmallIntegerField(null=True, blank=True)
    test_answer = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("CRM or helpdesk integration")
        verbose_name_plural = _("CRM and helpdesk integrations")

    def __str__(self) -> str:
        return self.name

    @property
    def inbound_secret(self) -> str:
        from portevoix.core.crypto import decrypt_text

        return decrypt_text(self.inbound_secret_encrypted, what="an integration's secret")

    @property
    def auth_header(self) -> str:
        from portevoix.core.crypto import decrypt_text

        if not self.auth_header_encrypted:
            return ""
        return decrypt_text(self.auth_header_encrypted, what="an integration's credentials")


class CrmRecordStates(StateGraph):
    # Sent once: the receiver sees the record's reference (Idempotency-Key and in the body),
    # so an attempt whose answer was lost is sent again with the same key, never as new.
    pending = State(initial=True, handler="handle_pending", try_interval=60, max_attempts=12)
    created = State(terminal=True)
    failed = State(failure=True)
    pending.transitions_to(pending, created, failed)
    failed.transitions_to(pending)


class CrmRecord(StatefulModel):
    """A lead or a case handed from a conversation to an external system: delivered by the
    worker, then followed through the system's status updates."""

    STATE_GRAPH = CrmRecordStates
    VIEW_ACTION = None  # restrict_rows decides
    WORKSPACE_PATH = "integration__workspace"
    objects = RestrictedQuerySet.as_manager()

    integration = models.ForeignKey(
        CrmIntegration, on_delete=models.CASCADE, related_name="records"
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="crm_records"
    )
    #: ``pv-<random>``: what the receiver de-duplicates on (``Idempotency-Key``, ``reference``).
    reference = models.CharField(max_length=40, unique=True)
    note = models.TextField(_("note"), blank=True)
    #: The body as built when handed off (sent as is on every attempt).
    payload = models.JSONField(default=dict)
    requested_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    #: The system's own id and page for the record, from its answer or a status update.
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    external_url = models.URLField(_("link"), max_length=500, blank=True)
    #: What the system says since (free text: "Qualified", "In progress", "Closed won"...).
    external_status = models.CharField(_("status"), max_length=100, blank=True)
    #: The deal, where the CRM has one: its value and its outcome (open, won, lost).
    deal_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    deal_currency = models.CharField(max_length=3, blank=True)
    outcome = models.CharField(max_length=8, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("CRM record")
        verbose_name_plural = _("CRM records")

    def __str__(self) -> str:
        return f"{self.reference} ({self.state})"

    @classmethod
    def restrict_rows(cls, queryset: Any, member: Any) -> Any:
        """Who manages integrations sees every record; the inbox sees those of the
        conversations it sees."""
        if can(member, "integration.manage"):
            return queryset
        from portevoix.inbox.models import Conversation

        return queryset.filter(conversation__in=Conversation.objects.visible_to(member))

    def handle_pending(self) -> Outcome:
        from portevoix.api import crm

        return crm.deliver(self)


class CrmInboundEvent(models.Model):
    """A status update received (its ``webhook-id``): the same id again is a replay, refused."""

    integration = models.ForeignKey(
        CrmIntegration, on_delete=models.CASCADE, related_name="inbound_events"
    )
    message_id = models.CharField(max_length=120)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    record = models.ForeignKey(
        CrmRecord, on_delete=models.SET_NULL, null=True, blank=True, related_name="updates"
    )
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "message_id"], name="crm_inbound_once")
        ]

    def __str__(self) -> str:
        return f"{self.integration_id}: {self.message_id}"
