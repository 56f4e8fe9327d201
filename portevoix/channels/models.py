"""Connected accounts. A channel is one account on one network, owned by a department.

The channel row is also its own background job (ARCHITECTURE §4): while it is ``active`` the
worker syncs it every :data:`SYNC_INTERVAL` (:mod:`portevoix.channels.sync`) — it fetches what
came in since the stored cursor and hands it to the inbox, which labels it — and a refused
token moves it to ``needs_reconnect``, visible on the channels page, instead of failing
silently; any other failure shows at once as "failing", with the network's reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.channels import crypto
from portevoix.core.models import Department, Workspace
from portevoix.core.permissions import RestrictedQuerySet
from portevoix.networks import registry
from portevoix.networks.base import Network
from portevoix.networks.errors import NetworkError
from portevoix.networks.types import AccountInfo, Credentials, Limits
from portevoix.worker.graph import State, StateGraph
from portevoix.worker.models import Outcome, StatefulModel

SYNC_INTERVAL = 120  # seconds between two syncs (each one also proves the token works)
EXPIRY_WARNING = dt.timedelta(days=7)


def token_expiry(credentials: Credentials) -> dt.datetime | None:
    """When the channel stops working unless someone reconnects it, where the network said.

    The access token's end (``expires_at``, ISO 8601); with a refresh token, the refresh
    token's end (``refresh_expires_at``) or none: the module renews the access token itself.
    """
    key = "refresh_expires_at" if credentials.get("refresh_token") else "expires_at"
    value = credentials.get(key)
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class StrategyLevel(models.TextChoices):
    """Seed 001: how far the brand goes on this channel."""

    PASSIVE = "passive", _("Passive listener")
    ACTIVE = "active", _("Active")
    PROACTIVE = "proactive", _("Proactive")


class ChannelStates(StateGraph):
    active = State(initial=True, handler="handle_active", try_interval=300, max_attempts=6)
    needs_reconnect = State()
    disconnected = State()
    failing = State(failure=True)
    active.transitions_to(active, needs_reconnect, disconnected)
    needs_reconnect.transitions_to(active, disconnected)
    disconnected.transitions_to(active)
    failing.transitions_to(active, needs_reconnect, disconnected)


class Channel(StatefulModel):
    STATE_GRAPH = ChannelStates
    VIEW_ACTION = "channel.view"
    #: The ops page lists a channel left in these states for long (a disconnected channel
    #: is a choice, not work waiting).
    WAITING_FOR_PERSON: ClassVar[frozenset[str]] = frozenset({"needs_reconnect"})

    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="channels")
    network = models.CharField(_("network"), max_length=32)
    name = models.CharField(_("name"), max_length=80)
    handle = models.CharField(_("account"), max_length=200)
    account_id = models.CharField(max_length=300)
    account_url = models.URLField(blank=True, max_length=500)
    display_name = models.CharField(max_length=200, blank=True)
    credentials_encrypted = models.TextField(editable=False)
    owner_department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="channels",
        verbose_name=_("owner department"),
    )
    strategy_level = models.CharField(
        _("strategy level"),
        max_length=16,
        choices=StrategyLevel.choices,
        default=StrategyLevel.ACTIVE,
    )
    #: The audience's time zone (an IANA name): posts for this channel are scheduled in it.
    #: Blank: the workspace's.
    time_zone = models.CharField(_("audience time zone"), max_length=64, blank=True)
    token_expires_at = models.DateTimeField(_("token expires"), null=True, blank=True)
    last_checked_at = models.DateTimeField(_("last check"), null=True, blank=True)
    last_sync_at = models.DateTimeField(_("last sync"), null=True, blank=True)
    sync_cursor = models.TextField(blank=True, editable=False)
    #: Since when the sync has been failing (shown at once, with the network's reason in
    #: ``problem``); empty while it works.
    sync_failing_since = models.DateTimeField(_("sync failing since"), null=True, blank=True)
    #: The account's server's own limits (``Limits.as_json``), read at connect and on a schedule.
    limits = models.JSONField(default=dict, blank=True, editable=False)
    limits_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    #: A manual channel's owner: the member reminded to publish its posts by hand, who may
    #: mark them published and enter their results (``docs/manual-channels.md``).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    created_at = models.DateTimeField(default=timezone.now)
    disconnected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "network", "account_id"], name="channel_account_unique"
            ),
            models.UniqueConstraint(fields=["workspace", "name"], name="channel_name_unique"),
        ]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return f"{self.name} ({self.network_label})"

    # --- time -------------------------------------------------------------------------------

    @property
    def audience_zone(self) -> ZoneInfo:
        """The zone posts for this channel are scheduled in: its own, else the workspace's."""
        for name in (self.time_zone, self.workspace.time_zone, settings.TIME_ZONE):
            if name:
                try:
                    return ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
        return ZoneInfo("UTC")

    # --- the network ------------------------------------------------------------------------

    @property
    def network_class(self) -> type[Network]:
        return registry.get(self.network)

    @property
    def network_label(self) -> str:
        if self.network == "manual" and self.display_name:
            return self.display_name  # what it is: "Snapchat", "Forum des clients"
        try:
            return self.network_class.label
        except NetworkError:
            return self.network

    @property
    def is_manual(self) -> bool:
        """Published by hand by its owner; the worker never sends its posts."""
        try:
            return self.network_class.is_manual
        except NetworkError:
            return False

    @property
    def is_sandbox(self) -> bool:
        try:
            return self.network_class.is_sandbox
        except NetworkError:
            return False

    def get_credentials(self) -> Credentials:
        return Credentials(crypto.decrypt(self.credentials_encrypted))

    def set_credentials(self, credentials: Credentials) -> None:
        """Store the secrets, and the token's expiry when the network gave one (the warning)."""
        self.credentials_encrypted = crypto.encrypt(credentials.as_dict())
        self.token_expires_at = token_expiry(credentials)

    def cached_limits(self) -> Limits:
        """The server's limits as last read (``fetch_limits``), else the network's defaults."""
        default = self.network_class.limits
        if not self.limits:
            return default
        return Limits.from_json(self.limits, default=default)

    def account_info(self) -> AccountInfo:
        return AccountInfo(
            network=self.network,
            account_id=self.account_id,
            handle=self.handle,
            display_name=self.display_name,
            url=self.account_url,
        )

    def client(self, *, verify: bool = True) -> Network:
        """A network instance bound to this account. New secrets it receives are stored.

        ``verify=True`` asks the network (``connect``); ``verify=False`` binds from what the
        row knows without a call (``resume``): the worker's way, see ``channels.clients``.
        """

        def store(new: Credentials) -> None:
            self.set_credentials(new)
            type(self).objects.filter(pk=self.pk).update(
                credentials_encrypted=self.credentials_encrypted,
                token_expires_at=self.token_expires_at,
            )

        cls = self.network_class
        extra: dict[str, Any] = {}
        if cls.uses_journal:
            extra["journal"] = ChannelJournal(self.pk)
        if cls.uses_quota_ledger:
            from portevoix.channels.quota import DatabaseLedger

            extra["ledger"] = DatabaseLedger(cls.name)
        network = cls(on_credentials_change=store, limits=self.cached_limits(), **extra)
        if verify:
            network.connect(self.get_credentials())
        else:
            network.resume(self.get_credentials(), self.account_info())
        return network

    # --- health -------------------------------------------------------------------------------

    @property
    def health(self) -> str:
        """ok, expiring, expired, failing or disconnected: what the channels page shows."""
        if self.state == ChannelStates.disconnected.name:
            return "disconnected"
        if self.state == ChannelStates.needs_reconnect.name:
            return "expired"
        if self.state == ChannelStates.failing.name or self.sync_failing_since is not None:
            return "failing"
        if self.token_expires_at and self.token_expires_at - timezone.now() < EXPIRY_WARNING:
            return "expiring"
        return "ok"

    def handle_active(self) -> Outcome:
        from portevoix.channels import sync

        return sync.handle_active(self)


class PublishJournal(models.Model):
    """The steps of one write to a network without idempotency keys (Facebook, Instagram;
    LinkedIn for videos and first comments, X for videos).

    Written by the network module before and after each call (``Network.journal``), keyed by
    the publication's idempotency key: Instagram's container id is here before
    ``media_publish`` is asked, so a crash between the two neither loses nor doubles the post.
    Plumbing of the network modules, not a user action: no audit entry.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    values = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="publish_journal_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.key}"


class QuotaSpend(models.Model):
    """Units of a network's daily quota spent by one project (YouTube: a Google Cloud
    project, the OAuth client id of its channels) in one bucket and one day of the network's
    (Pacific time for YouTube). Every process (the worker's, the web's, listening's) counts
    here, so two workers and listening's searches spend one budget, not one each
    (``channels.quota.DatabaseLedger``). Plumbing: no audit entry."""

    network = models.CharField(max_length=30)
    project = models.CharField(max_length=200)
    bucket = models.CharField(max_length=30)
    day = models.CharField(max_length=10)
    units = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["network", "project", "bucket", "day"], name="quota_spend_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.network}:{self.project}:{self.bucket}:{self.day}={self.units}"


class ChannelJournal:
    """``Network.journal`` kept in the database, one entry per (channel, key).

    Each ``put`` is its own committed write (the worker calls the network outside any
    transaction): what is written before a call is there whatever happens to the process.
    """

    def __init__(self, channel_id: int) -> None:
        self.channel_id = channel_id

    def get(self, key: str) -> dict[str, str] | None:
        row = PublishJournal.objects.filter(channel_id=self.channel_id, key=key).first()
        return dict(row.values) if row is not None else None

    def put(self, key: str, values: Mapping[str, str]) -> None:
        PublishJournal.objects.update_or_create(
            channel_id=self.channel_id,
            key=key,
            defaults={"values": dict(values), "updated_at": timezone.now()},
        )


JOURNAL_RETENTION = dt.timedelta(days=90)


def purge_publish_journal(row: object) -> str:
    """Housekeeping: forget journal entries untouched for 90 days (Instagram containers expire
    after 24 hours; a publication is settled long before)."""
    cutoff = timezone.now() - JOURNAL_RETENTION
    count, _ = PublishJournal.objects.filter(updated_at__lt=cutoff).delete()
    return f"{count} publish journal entr{'y' if count == 1 else 'ies'} deleted"
