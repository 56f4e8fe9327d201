"""Every change to API tokens: create (the secret is returned once), revoke."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from portevoix.api.models import (
    ALL_SCOPES,
    ApiToken,
    CrmIntegration,
    CrmRecord,
    WebhookDelivery,
    WebhookSubscription,
)
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


# --- CRM and helpdesk integrations (docs/integrations.md) ----------------------------------

SAMPLE_VALUES = {
    "reference": "pv-test-0000",
    "conversation.id": "0",
    "conversation.url": "https://porte-voix.example/w/acme/inbox/c/0/",
    "conversation.text": "Bonjour, je voudrais un devis pour 40 vélos de fonction.",
    "conversation.preview": "Bonjour, je voudrais un devis pour 40 vélos de fonction.",
    "conversation.kind": "dm",
    "conversation.language": "fr",
    "conversation.labels": "devis",
    "conversation.department": "sales",
    "channel.name": "Acme",
    "channel.network": "facebook",
    "customer.handle": "claire.martin",
    "customer.name": "Claire Martin",
    "customer.profile": "https://www.facebook.com/claire.martin",
    "note": "Test from Porte-voix",
    "handed_by": "manager@example.com",
}


def _integration_fields(
    *,
    name: str,
    kind: str,
    preset: str,
    record_kind: str,
    url: str,
    email: str,
    mapping: Any,
) -> dict[str, Any]:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from portevoix.api import crm
    from portevoix.api.models import IntegrationKind, IntegrationPreset, RecordKind
    from portevoix.api.outbound import check_url

    name = name.strip()
    if not name or len(name) > 80:
        raise ActionRefused(_("Give the integration a name (at most 80 characters)."), field="name")
    if kind not in IntegrationKind.values:
        raise ActionRefused(_("Choose how it is delivered."), field="kind")
    if preset not in IntegrationPreset.values:
        raise ActionRefused(_("Choose the system."), field="preset")
    if record_kind not in RecordKind.values:
        raise ActionRefused(_("Choose what it creates."), field="record_kind")
    url = url.strip()
    email = email.strip()
    if kind == IntegrationKind.EMAIL:
        if preset != IntegrationPreset.GENERIC:
            raise ActionRefused(_("HubSpot and Salesforce are reached over HTTP."), field="kind")
        try:
            validate_email(email)
        except ValidationError:
            raise ActionRefused(_("Give the address that receives them."), field="email") from None
        url = ""
    elif preset == IntegrationPreset.GENERIC:
        if not url:
            raise ActionRefused(_("Give the address of the endpoint (https://…)."), field="url")
        url = check_url(url)
        email = ""
    else:
        url, email = "", ""
    if not mapping:
        mapping = crm.PRESET_MAPPINGS[preset][record_kind]
    try:
        mapping = crm.check_mapping(mapping)
    except ValueError as exc:
        raise ActionRefused(str(exc), field="mapping") from None
    return {
        "name": name,
        "kind": kind,
        "preset": preset,
        "record_kind": record_kind,
        "url": url,
        "email": email,
        "mapping": mapping,
    }


@transaction.atomic
def create_integration(
    workspace: Workspace,
    *,
    by: Member,
    name: str,
    kind: str = "http",
    preset: str = "generic",
    record_kind: str = "lead",
    url: str = "",
    email: str = "",
    mapping: Any = None,
    auth_header: str = "",
    oauth_client_id: str = "",
    oauth_client_secret: str = "",
) -> tuple[CrmIntegration, str]:
    """A new integration, and the secret that signs its status updates (shown once)."""
    from portevoix.api import crm
    from portevoix.core.crypto import encrypt_text

    require(by, "integration.manage")
    _same_workspace(by, workspace)
    fields = _integration_fields(
        name=name,
        kind=kind,
        preset=preset,
        record_kind=record_kind,
        url=url,
        email=email,
        mapping=mapping,
    )
    if fields["preset"] != "generic" and not (oauth_client_id.strip() and oauth_client_secret):
        raise ActionRefused(
            _("Give the app's client id and secret, from the system's developer settings."),
            field="oauth_client_id",
        )
    secret = crm.new_inbound_secret()
    integration = CrmIntegration.objects.create(
        workspace=workspace,
        **fields,
        auth_header_encrypted=encrypt_text(auth_header.strip()) if auth_header.strip() else "",
        inbound_secret_encrypted=encrypt_text(secret),
        oauth_client_id=oauth_client_id.strip()[:200],
        oauth_client_secret_encrypted=encrypt_text(oauth_client_secret)
        if oauth_client_secret
        else "",
        created_by=by,
    )
    audit.record(
        "integration.create",
        workspace=workspace,
        actor=by.user,
        obj=integration,
        after={k: v for k, v in fields.items() if k != "mapping"},
    )
    return integration, secret


@transaction.atomic
def update_integration(
    integration: CrmIntegration,
    *,
    by: Member,
    name: str,
    kind: str,
    preset: str,
    record_kind: str,
    url: str = "",
    email: str = "",
    mapping: Any = None,
    auth_header: str = "",
    is_active: bool = True,
) -> CrmIntegration:
    """Change an integration; credentials left blank are kept."""
    from portevoix.core.crypto import encrypt_text

    require(by, "integration.manage")
    _same_workspace(by, integration.workspace)
    integration = CrmIntegration.objects.select_for_update().get(pk=integration.pk)
    fields = _integration_fields(
        name=name,
        kind=kind,
        preset=preset,
        record_kind=record_kind,
        url=url,
        email=email,
        mapping=mapping,
    )
    before = {k: getattr(integration, k) for k in fields if k != "mapping"}
    for key, value in fields.items():
        setattr(integration, key, value)
    if auth_header.strip():
        integration.auth_header_encrypted = encrypt_text(auth_header.strip())
    integration.is_active = is_active
    integration.save()
    audit.record(
        "integration.update",
        workspace=integration.workspace,
        actor=by.user,
        obj=integration,
        before=before,
        after={k: v for k, v in fields.items() if k != "mapping"} | {"is_active": is_active},
    )
    return integration


@transaction.atomic
def delete_integration(integration: CrmIntegration, *, by: Member) -> None:
    require(by, "integration.manage")
    _same_workspace(by, integration.workspace)
    audit.record(
        "integration.delete",
        workspace=integration.workspace,
        actor=by.user,
        obj=integration,
        before={"name": integration.name, "url": integration.url},
    )
    integration.delete()


def preview(integration: CrmIntegration, mapping: Any = None) -> dict[str, Any]:
    """The body a hand-off would send, with sample values."""
    from portevoix.api import crm

    chosen = crm.check_mapping(mapping if mapping is not None else integration.mapping)
    return crm.build_body(chosen, SAMPLE_VALUES)


def test_integration(integration: CrmIntegration, *, by: Member) -> Any:
    """Send the sample body now (not through the worker: the admin waits for the answer) and
    keep what the system answered on the integration."""
    from portevoix.api import crm

    require(by, "integration.manage")
    _same_workspace(by, integration.workspace)
    answer = crm.test(integration, preview(integration))
    with transaction.atomic():
        CrmIntegration.objects.filter(pk=integration.pk).update(
            tested_at=timezone.now(), test_status=answer.status, test_answer=answer.text[:2000]
        )
        audit.record(
            "integration.test",
            workspace=integration.workspace,
            actor=by.user,
            obj=integration,
            after={"status": answer.status},
        )
    return answer


@transaction.atomic
def hand_to_crm(
    conversation: Any, *, by: Member, integration: CrmIntegration, note: str = ""
) -> CrmRecord:
    """Create a lead or a case from the conversation in the integration's system: a row the
    worker delivers (once: its reference goes with every attempt)."""
    from portevoix.api import crm
    from portevoix.inbox.models import Conversation

    require(by, "inbox.route")
    visible = Conversation.objects.visible_to(by).filter(pk=conversation.pk).first()
    if visible is None or integration.workspace_id != by.workspace_id:
        raise Http404("not found")
    if not integration.is_active:
        raise ActionRefused(_("This integration is paused."), field="integration")
    note = note.strip()
    if len(note) > 2000:
        raise ActionRefused(_("A note has at most 2,000 characters."), field="note")
    reference = crm.new_reference()
    values = crm.source_values(visible, reference=reference, note=note, by=by)
    now = timezone.now()
    record = CrmRecord.objects.create(
        integration=integration,
        conversation=visible,
        reference=reference,
        note=note,
        payload=crm.build_body(integration.mapping, values),
        requested_by=by,
        created_at=now,
        state="pending",
        next_attempt_at=now,
    )
    audit.record(
        "integration.hand_off",
        workspace=integration.workspace,
        actor=by.user,
        obj=record,
        after={"integration": integration.name, "conversation": visible.pk, "ref": reference},
    )
    return record


@transaction.atomic
def retry_record(record: CrmRecord, *, by: Member) -> CrmRecord:
    """Send a failed hand-off again, with the same reference (never a second record)."""
    require(by, "integration.manage")
    _same_workspace(by, record.integration.workspace)
    record = CrmRecord.objects.select_for_update().get(pk=record.pk)
    if record.state != "failed":
        raise ActionRefused(_("Only a failed hand-off can be sent again."), code="state")
    record.transition("pending", fields={"attempts": 0, "problem": ""})
    audit.record(
        "integration.retry",
        workspace=record.integration.workspace,
        actor=by.user,
        obj=record,
        after={"ref": record.reference},
    )
    return record


class UpdateRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@transaction.atomic
def apply_status_update(
    integration: CrmIntegration, *, message_id: str, update: dict[str, Any]
) -> CrmRecord:
    """A signed status update from the system (its signature checked by the caller): the
    record's status, link and deal; each ``webhook-id`` once (a replay is refused)."""
    from django.db import IntegrityError

    from portevoix.api.models import CrmInboundEvent

    record: CrmRecord | None = (
        CrmRecord.objects.select_for_update()
        .filter(integration=integration, reference=update["reference"])
        .first()
    )
    if record is None:
        raise UpdateRefused(404, "no hand-off with this reference for this integration")
    try:
        with transaction.atomic():
            CrmInboundEvent.objects.create(
                integration=integration,
                message_id=message_id,
                record=record,
                payload=json.loads(json.dumps(update, default=str)),
            )
    except IntegrityError:
        raise UpdateRefused(409, "this webhook-id was already received (a replay)") from None
    before = {
        "status": record.external_status,
        "outcome": record.outcome,
        "value": str(record.deal_value) if record.deal_value is not None else None,
    }
    if "status" in update:
        record.external_status = update["status"]
    if update.get("external_id"):
        record.external_id = update["external_id"]
    if update.get("url"):
        record.external_url = update["url"]
    deal = update.get("deal") or {}
    if deal.get("outcome"):
        record.outcome = deal["outcome"]
    if deal.get("value") is not None:
        record.deal_value = deal["value"]
    if deal.get("currency"):
        record.deal_currency = deal["currency"]
    record.updated_at = timezone.now()
    record.save()
    audit.record(
        "integration.status_update",
        workspace=integration.workspace,
        actor=None,
        obj=record,
        before=before,
        after={
            "status": record.external_status,
            "outcome": record.outcome,
            "value": str(record.deal_value) if record.deal_value is not None else None,
            "webhook-id": message_id,
        },
    )
    record_crm_lead(record)
    return record


def record_crm_lead(record: CrmRecord) -> None:
    """A lead handed to a CRM counts in analytics' return on investment (money's
    ``record_lead``, idempotent on the record's reference). It refuses what money cannot
    count (another currency than the workspace's): the caller's transaction then keeps
    nothing, and the inbound webhook answers 400 with the reason."""
    from portevoix.roi.actions import record_lead

    if record.integration.record_kind != "lead":
        return

    status = {"won": "won", "lost": "lost"}.get(record.outcome)
    customer = record.conversation.customer
    record_lead(
        record.integration.workspace,
        by=None,
        source="crm",
        external_id=record.reference,
        name=(customer.display_name or customer.handle) if customer else "",
        status=status or ("new" if not record.outcome else None),
        value=record.deal_value,
        currency=record.deal_currency or None,
        conversation=record.conversation,
        note=record.external_status or None,
    )


def connect_integration(
    integration: CrmIntegration, *, by: Member, code: str, redirect_uri: str
) -> CrmIntegration:
    """HubSpot or Salesforce: the authorization code for tokens (kept encrypted)."""
    import httpx

    from portevoix.api import crm

    require(by, "integration.manage")
    _same_workspace(by, integration.workspace)
    try:
        crm.exchange_code(integration, code=code, redirect_uri=redirect_uri)
    except (crm.OAuthFailed, httpx.HTTPError) as exc:
        raise ActionRefused(
            _("The system refused the connection: %(error)s") % {"error": str(exc)[:300]}
        ) from None
    with transaction.atomic():
        audit.record(
            "integration.connect",
            workspace=integration.workspace,
            actor=by.user,
            obj=integration,
            after={"preset": integration.preset},
        )
    return integration
