"""Every change to API tokens: create (the secret is returned once), revoke."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from portevoix.api.models import ALL_SCOPES, ApiToken, WebhookDelivery, WebhookSubscription
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require

PREFIX = "pvk_"
MAX_DAYS = 366
DEFAULT_DAYS = 90
MAX_ACTIVE_TOKENS = 20


def hash_secret(secret: str) -> str:
    """Secrets are 256 random bits: one SHA-256 is enough (nothing to guess by brute force)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _active_member(member: Member) -> None:
    # A token is for someone who can work here: the same rule as every page.
    if not member.is_active:
        raise ActionRefused(_("This member is deactivated."), code="inactive")
    if member.workspace.archived_at is not None:
        raise ActionRefused(_("This workspace is archived."), code="archived")


@transaction.atomic
def create_token(
    member: Member,
    *,
    by: Member,
    name: str,
    scopes: Sequence[str],
    days: int = DEFAULT_DAYS,
) -> tuple[ApiToken, str]:
    """A new token for ``member`` (oneself), and its secret, which is shown once."""
    if by.pk != member.pk:
        # Nobody makes a token that acts as someone else.
        raise Http404("not found")
    _active_member(member)
    name = name.strip()
    if not name:
        raise ActionRefused(_("Give the token a name (what it is for)."), field="name")
    if len(name) > 80:
        raise ActionRefused(_("A name has at most 80 characters."), field="name")
    chosen = sorted(set(scopes))
    if not chosen:
        raise ActionRefused(_("Choose at least one scope."), field="scopes")
    unknown = [s for s in chosen if s not in ALL_SCOPES]
    if unknown:
        raise ActionRefused(
            _("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(unknown)}, field="scopes"
        )
    if not 1 <= days <= MAX_DAYS:
        raise ActionRefused(
            _("A token lasts from 1 to %(days)s days.") % {"days": MAX_DAYS}, field="days"
        )
    now = timezone.now()
    active = (
        ApiToken.objects.select_for_update()
        .filter(member=member, revoked_at__isnull=True, expires_at__gt=now)
        .count()
    )
    if active >= MAX_ACTIVE_TOKENS:
        raise ActionRefused(
            _("You have %(count)s active tokens: revoke one first.") % {"count": active},
            field="name",
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        workspace=member.workspace,
        member=member,
        name=name,
        prefix=secret[: len(PREFIX) + 6],
        token_hash=hash_secret(secret),
        scopes=chosen,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    audit.record(
        "api_token.create",
        workspace=member.workspace,
        actor=by.user,
        obj=token,
        after={"name": name, "scopes": chosen, "expires_at": token.expires_at},
    )
    return token, secret


@transaction.atomic
def revoke_token(token: ApiToken, *, by: Member) -> ApiToken:
    """Stop a token at once. Oneself, or an admin for anyone's."""
    if token.workspace_id != by.workspace_id:
        raise Http404("not found")
    if token.member_id != by.pk:
        require(by, "workspace.settings")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ActionRefused(_("This token is already revoked."), code="state")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(
        "api_token.revoke",
        workspace=token.workspace,
        actor=by.user,
        obj=token,
        after={"name": token.name, "member": token.member.user.email},
    )
    return token


# --- webhook subscriptions -----------------------------------------------------------------


def _check_subscription(url: str, events: Sequence[str]) -> tuple[str, list[str]]:
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    from portevoix.api.models import Event

    from portevoix.api.outbound import check_url

    url = url.strip()
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise ActionRefused(
            _("Give the address of the receiver (https://…)."), field="url"
        ) from None
    url = check_url(url)
    chosen = sorted(set(events))
    if not chosen:
        raise ActionRefused(_("Choose at least one event."), field="events")
    unknown = [e for e in chosen if e not in Event.values]
    if unknown:
        raise ActionRefused(
            _("Unknown event: %(events)s.") % {"events": ", ".join(unknown)}, field="events"
        )
    return url, chosen


@transaction.atomic
def create_subscription(
    workspace: Workspace, *, by: Member, url: str, events: Sequence[str], description: str = ""
) -> tuple[WebhookSubscription, str]:
    """A new subscription, and its signing secret (shown once; kept encrypted)."""
    from portevoix.api import webhooks
    from portevoix.core.crypto import encrypt_text

    require(by, "integration.manage")
    _same_workspace(by, workspace)
    url, chosen = _check_subscription(url, events)
    secret = webhooks.new_secret()
    subscription = WebhookSubscription.objects.create(
        workspace=workspace,
        url=url,
        events=chosen,
        description=description.strip()[:200],
        secret_encrypted=encrypt_text(secret),
        created_by=by,
    )
    audit.record(
        "webhook.create",
        workspace=workspace,
        actor=by.user,
        obj=subscription,
        after={"url": url, "events": chosen},
    )
    return subscription, secret


@transaction.atomic
def set_subscription_active(
    subscription: WebhookSubscription, *, by: Member, active: bool
) -> WebhookSubscription:
    require(by, "integration.manage")
    _same_workspace(by, subscription.workspace)
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    before = subscription.is_active
    subscription.is_active = active
    subscription.save(update_fields=["is_active"])
    audit.record(
        "webhook.update",
        workspace=subscription.workspace,
        actor=by.user,
        obj=subscription,
        before={"is_active": before},
        after={"is_active": active},
    )
    return subscription


@transaction.atomic
def delete_subscription(subscription: WebhookSubscription, *, by: Member) -> None:
    require(by, "integration.manage")
    _same_workspace(by, subscription.workspace)
    audit.record(
        "webhook.delete",
        workspace=subscription.workspace,
        actor=by.user,
        obj=subscription,
        before={"url": subscription.url, "events": subscription.events},
    )
    subscription.delete()


@transaction.atomic
def replay_delivery(delivery: WebhookDelivery, *, by: Member) -> WebhookDelivery:
    """Send a failed delivery again, with the same ``webhook-id`` and a fresh set of retries."""
    require(by, "integration.manage")
    _same_workspace(by, delivery.subscription.workspace)
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.state != "failed":
        raise ActionRefused(_("Only a failed delivery can be replayed."), code="state")
    delivery.transition("pending", fields={"attempts": 0, "problem": ""})
    audit.record(
        "webhook.replay",
        workspace=delivery.subscription.workspace,
        actor=by.user,
        obj=delivery.subscription,
        after={"delivery": delivery.pk, "event": delivery.event, "id": delivery.message_id},
    )
    return delivery
