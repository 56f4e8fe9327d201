"""Connecting, checking, reconnecting and disconnecting channels.

Credentials are checked with the network before anything is saved, encrypted at rest, and
never written to the audit log, a page or a log line.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from portevoix.channels import crypto
from portevoix.channels.messages import network_message, network_problem
from portevoix.channels.models import Channel, ChannelStates, StrategyLevel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Department, Member, User, Workspace
from portevoix.core.permissions import can, require
from portevoix.core.sentences import Sentence
from portevoix.networks import registry
from portevoix.networks.base import Network
from portevoix.networks.errors import (
    AuthExpired,
    NetworkError,
)
from portevoix.networks.types import AccountInfo, Credentials

log = logging.getLogger(__name__)

CHANNEL_FIELDS = [
    "name",
    "owner",
    "network",
    "handle",
    "owner_department",
    "strategy_level",
    "time_zone",
    "state",
]


def verify_credentials(network: str, values: dict[str, str]) -> AccountInfo:
    """Ask the network who these credentials belong to; ActionRefused if it says no."""
    return _check_account(network, values)[0]


def _check_account(network: str, values: dict[str, str]) -> tuple[AccountInfo, dict[str, Any]]:
    """The account behind the credentials, and its server's limits read right after.

    The limits are the channel's ``limits``/``limits_checked_at`` fields; reading them is
    optional (as in the periodic sync): a failure there never stops the connection, the sync
    tries again.
    """
    try:
        cls = registry.get(network)
    except NetworkError as exc:
        raise ActionRefused(_("Unknown network."), field="network") from exc
    missing = [
        f
        for f in cls.credential_fields
        if f not in cls.optional_credential_fields and not values.get(f, "").strip()
    ]
    if missing:
        raise ActionRefused(
            _("Missing: %(fields)s.") % {"fields": ", ".join(missing)}, field=missing[0]
        )
    client = cls()
    try:
        account = client.connect(Credentials({k: v.strip() for k, v in values.items()}))
        # A token renewed while connecting (TikTok, YouTube) is what gets stored: a network
        # may hand out a new refresh token with it.
        values.update(client.credentials.as_dict())
        return account, _server_limits(client)
    except NetworkError as exc:
        raise ActionRefused(network_message(exc), code="network") from exc
    finally:
        client.close()


def _server_limits(client: Network) -> dict[str, Any]:
    try:
        limits = client.fetch_limits()
    except Exception as exc:  # optional: whatever goes wrong, the channel connects
        log.info("limits not read at connection (%s); the sync reads them later", exc)
        return {}
    return {"limits": limits.as_json(), "limits_checked_at": timezone.now()}


def _check_department(workspace: Workspace, department: Department | None) -> None:
    if department is not None and department.workspace_id != workspace.pk:
        raise ActionRefused(_("That department does not exist here."), field="owner_department")


#: Sentinel: ``update_channel`` keeps the owner when it is not given.
KEEP = object()


def check_owner(workspace: Workspace, owner: User | None) -> None:
    """A manual channel's owner is an active member of its workspace who can write posts."""
    if owner is None:
        return
    member = Member.objects.filter(workspace=workspace, user=owner, is_active=True).first()
    if member is None or not can(member, "post.create"):
        raise ActionRefused(
            _("The owner must be an active member of this workspace who writes posts."),
            field="owner",
        )


def _check_time_zone(name: str) -> str:
    """A known IANA zone name, or blank (the workspace's)."""
    name = name.strip()
    if name and name not in zoneinfo.available_timezones():
        raise ActionRefused(
            _("Unknown time zone “%(zone)s”.") % {"zone": name[:64]}, field="time_zone"
        )
    return name


@transaction.atomic
def connect_channel(
    workspace: Workspace,
    *,
    by: Member | None,
    network: str,
    credentials: dict[str, str],
    name: str = "",
    owner_department: Department | None = None,
    strategy_level: str = StrategyLevel.ACTIVE,
    time_zone: str = "",
    owner: User | None = None,
) -> Channel:
    """Check the credentials with the network, then store the channel.

    The same account connected again (after a disconnection) reuses its channel, so its
    history stays attached. ``owner`` is a manual channel's owner (reminded to publish by hand).
    """
    if by is not None:
        require(by, "channel.manage")
        _same_workspace(by, workspace)
    _check_department(workspace, owner_department)
    check_owner(workspace, owner)
    if strategy_level not in StrategyLevel.values:
        raise ActionRefused(_("Unknown strategy level."), field="strategy_level")
    time_zone = _check_time_zone(time_zone)
    account, limits = _check_account(network, credentials)
    existing = Channel.objects.filter(
        workspace=workspace, network=network, account_id=account.account_id
    ).first()
    if existing is not None and existing.state == ChannelStates.active.name:
        raise ActionRefused(
            _("This account is already connected as “%(name)s”.") % {"name": existing.name},
            code="duplicate",
        )
    if existing is not None:
        return _reconnect(existing, by=by, credentials=credentials, account=account, limits=limits)
    name = (name or account.display_name or account.handle).strip()[:80]
    if Channel.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise ActionRefused(
            _("A channel called “%(name)s” already exists.") % {"name": name}, field="name"
        )
    channel = Channel(
        workspace=workspace,
        network=network,
        name=name,
        handle=account.handle,
        account_id=account.account_id,
        account_url=account.url,
        display_name=account.display_name,
        owner_department=owner_department,
        strategy_level=strategy_level,
        time_zone=time_zone,
        owner=owner,
        connected_by=by.user if by else None,
        state=ChannelStates.active.name,
        next_attempt_at=timezone.now() + dt.timedelta(seconds=60),
        last_checked_at=timezone.now(),
        **limits,
    )
    channel.set_credentials(Credentials(credentials))
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as exc:
        raise ActionRefused(_("This channel already exists."), code="duplicate") from exc
    audit.record(
        "channel.connect",
        workspace=workspace,
        actor=by.user if by else None,
        obj=channel,
        after=audit.snapshot(channel, CHANNEL_FIELDS),
    )
    return channel


def _reconnect(
    channel: Channel,
    *,
    by: Member | None,
    credentials: dict[str, str],
    account: AccountInfo,
    limits: dict[str, Any],
) -> Channel:
    before = audit.snapshot(channel, CHANNEL_FIELDS)
    channel.set_credentials(Credentials(credentials))
    for name, value in limits.items():
        setattr(channel, name, value)
    channel.handle = account.handle
    channel.display_name = account.display_name
    channel.account_url = account.url or channel.account_url
    channel.problem = ""
    channel.last_checked_at = timezone.now()
    channel.disconnected_at = None
    channel.save()
    if channel.state != ChannelStates.active.name:
        channel.transition(ChannelStates.active)
    _requeue_waiting(channel)
    audit.record(
        "channel.reconnect",
        workspace=channel.workspace,
        actor=by.user if by else None,
        obj=channel,
        before=before,
        after=audit.snapshot(channel, CHANNEL_FIELDS),
    )
    return channel


def _requeue_waiting(channel: Channel) -> int:
    from portevoix.publishing.models import Publication, PublicationStates

    count = 0
    for publication in Publication.objects.filter(
        channel=channel, state=PublicationStates.waiting_reconnect.name
    ):
        publication.transition(PublicationStates.scheduled)
        count += 1
    return count


@transaction.atomic
def reconnect_channel(
    channel: Channel, *, by: Member | None, credentials: dict[str, str]
) -> Channel:
    """New credentials for the same account; the channel keeps its id and its history."""
    if by is not None:
        require(by, "channel.manage")
        _same_workspace(by, channel.workspace)
    account, limits = _check_account(channel.network, credentials)
    if account.account_id != channel.account_id:
        raise ActionRefused(
            _(
                "These credentials belong to %(other)s, not to %(handle)s. Connect it as a "
                "new channel instead."
            )
            % {"other": account.handle, "handle": channel.handle},
            code="wrong_account",
        )
    return _reconnect(channel, by=by, credentials=credentials, account=account, limits=limits)


@transaction.atomic
def update_channel(
    channel: Channel,
    *,
    by: Member,
    name: str,
    owner_department: Department | None,
    strategy_level: str,
    time_zone: str | None = None,
    owner: Any = KEEP,
) -> Channel:
    """Rename, hand to a department, change the strategy level or the audience's time zone
    (``None`` keeps it; blank means the workspace's), or a manual channel's owner (a ``User``
    or ``None``; not given: kept)."""
    require(by, "channel.manage")
    _same_workspace(by, channel.workspace)
    _check_department(channel.workspace, owner_department)
    if owner is not KEEP:
        check_owner(channel.workspace, owner)
    name = name.strip()
    if not name:
        raise ActionRefused(_("A channel needs a name."), field="name")
    if (
        Channel.objects.filter(workspace=channel.workspace, name__iexact=name)
        .exclude(pk=channel.pk)
        .exists()
    ):
        raise ActionRefused(
            _("A channel called “%(name)s” already exists.") % {"name": name}, field="name"
        )
    if strategy_level not in StrategyLevel.values:
        raise ActionRefused(_("Unknown strategy level."), field="strategy_level")
    zone = channel.time_zone if time_zone is None else _check_time_zone(time_zone)
    before = audit.snapshot(channel, CHANNEL_FIELDS)
    Channel.objects.filter(pk=channel.pk).update(
        name=name,
        owner_department=owner_department,
        strategy_level=strategy_level,
        time_zone=zone,
        owner=channel.owner if owner is KEEP else owner,
    )
    channel.refresh_from_db()
    audit.record(
        "channel.update",
        workspace=channel.workspace,
        actor=by.user,
        obj=channel,
        before=before,
        after=audit.snapshot(channel, CHANNEL_FIELDS),
    )
    return channel


@transaction.atomic
def set_audience(channel: Channel, *, by: Member, level: str) -> Channel:
    """Who sees the channel's public posts, among the levels the account offers (TikTok's
    privacy levels, read from the network with its limits); blank: the network's default.

    Kept with the channel's credentials (``privacy_level``), where the network module reads it.
    """
    require(by, "channel.manage")
    _same_workspace(by, channel.workspace)
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    offered = channel.cached_limits().privacy_levels
    if offered is None:
        raise ActionRefused(_("This network has no audience to choose for a channel."))
    level = level.strip()
    if level and level not in offered:
        raise ActionRefused(
            _("The account does not offer this audience; check the channel again."),
            field="privacy_level",
        )
    credentials = channel.get_credentials()
    before = {"privacy_level": credentials.get("privacy_level")}
    channel.set_credentials(credentials.replace(privacy_level=level or None))
    channel.save(update_fields=["credentials_encrypted", "token_expires_at"])
    audit.record(
        "channel.update",
        workspace=channel.workspace,
        actor=by.user,
        obj=channel,
        before=before,
        after={"privacy_level": level},
    )
    return channel


def check_channel(channel: Channel, *, by: Member | None = None) -> Channel:
    """Check the token now (the worker also does it every half hour).

    A check can move the channel to "needs reconnection", so a person needs
    ``channel.manage`` for it, like the channel page's own button; their check is in the
    audit log with its result. A check by the system (``by=None``) is logged only when it
    changes the channel's state.
    """
    if by is not None:
        require(by, "channel.manage")
        _same_workspace(by, channel.workspace)
    before = audit.snapshot(channel, ["state", "problem"])
    now = timezone.now()
    try:
        channel.client().verify()
    except AuthExpired as exc:
        problem = network_problem(exc).dumps()
        with transaction.atomic():
            Channel.objects.filter(pk=channel.pk).update(last_checked_at=now, problem=problem)
            channel.refresh_from_db()
            if channel.state == ChannelStates.active.name:
                # The transition sets the row's problem: give it the reason, or it is lost.
                channel.transition(ChannelStates.needs_reconnect, problem=problem)
    except crypto.SecretUnreadable:
        Channel.objects.filter(pk=channel.pk).update(
            last_checked_at=now,
            problem=Sentence(
                gettext_noop(
                    "Porte-voix cannot read this channel's stored credentials: the key that "
                    "encrypted them is no longer configured (PORTEVOIX_ENCRYPTION_KEYS)."
                )
            ).dumps(),
        )
    except NetworkError as exc:
        Channel.objects.filter(pk=channel.pk).update(
            last_checked_at=now, problem=network_problem(exc).dumps()
        )
    else:
        Channel.objects.filter(pk=channel.pk).update(last_checked_at=now, problem="")
    channel.refresh_from_db()
    after = audit.snapshot(channel, ["state", "problem"])
    if by is not None or after["state"] != before["state"]:
        audit.record(
            "channel.check",
            workspace=channel.workspace,
            actor=by.user if by is not None else None,
            obj=channel,
            before=before,
            after=after,
        )
    return channel


@transaction.atomic
def disconnect_channel(channel: Channel, *, by: Member | None) -> Channel:
    """Forget the credentials; the channel and its history stay, marked disconnected."""
    if by is not None:
        require(by, "channel.manage")
        _same_workspace(by, channel.workspace)
    if channel.state == ChannelStates.disconnected.name:
        return channel
    before = audit.snapshot(channel, CHANNEL_FIELDS)
    channel.credentials_encrypted = crypto.encrypt({})
    channel.disconnected_at = timezone.now()
    channel.save(update_fields=["credentials_encrypted", "disconnected_at"])
    channel.transition(ChannelStates.disconnected)
    audit.record(
        "channel.disconnect",
        workspace=channel.workspace,
        actor=by.user if by else None,
        obj=channel,
        before=before,
        after=audit.snapshot(channel, CHANNEL_FIELDS),
    )
    return channel


def connected_channels_block_archiving(workspace: Workspace) -> str | None:
    """An archived workspace must not keep publishing or syncing: disconnect first."""
    connected = Channel.objects.filter(workspace=workspace).exclude(
        state=ChannelStates.disconnected.name
    )
    count = connected.count()
    if not count:
        return None
    return ngettext(
        "Disconnect this workspace's connected channel first (its history is kept): an "
        "archived workspace publishes nothing.",
        "Disconnect this workspace's %(count)d connected channels first (their history is "
        "kept): an archived workspace publishes nothing.",
        count,
    ) % {"count": count}


def encrypted_columns() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with secrets at rest and their columns: by the house's naming, a text
    field whose name ends in ``_encrypted`` holds one Fernet token (channel credentials, the
    API's webhook and CRM secrets, listening's instance tokens, crisis credential custody)."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        names = [
            f.name
            for f in model._meta.concrete_fields
            if f.name.endswith("_encrypted") and isinstance(f, models.TextField)
        ]
        if names:
            found.append((model, names))
    return found


def rotate_keys() -> dict[str, int]:
    """Re-encrypt every stored secret with the newest key: every ``*_encrypted`` column
    (:func:`encrypted_columns`) and the two-factor secrets (TOTP, recovery codes). Returns how
    many rows were re-encrypted, by kind (``model label`` or ``two_factor``); refuses
    (``SecretUnreadable``, nothing changed) if one secret cannot be read with the keys."""
    from portevoix.core import twofactor

    counts: dict[str, int] = {}
    with transaction.atomic():
        for model, names in encrypted_columns():
            done = 0
            for row in model._default_manager.select_for_update().only("pk", *names).iterator():
                changed = {
                    name: crypto.rotate(value) for name in names if (value := getattr(row, name))
                }
                if changed:
                    model._default_manager.filter(pk=row.pk).update(**changed)
                    done += 1
            if done:
                counts[model._meta.label] = done
        authenticators = twofactor.rotate_secrets()
        if authenticators:
            counts["two_factor"] = authenticators
        with audit.origin(audit.Origin(label="cli")):
            audit.record(
                "secrets.rotate",
                workspace=None,
                actor=None,
                after={"count": sum(counts.values()), **counts},
            )
    return counts
