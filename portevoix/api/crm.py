"""Handing a conversation to the company's CRM or helpdesk (seed 004), and the status updates
that come back. See docs/integrations.md.

* :func:`build_body` turns a conversation into the JSON the system expects, through the
  integration's field mapping (``{"json.key": "source field"}``; dotted keys nest).
* :func:`deliver` is the worker's handler of a :class:`CrmRecord` in ``pending``. Exactly once:
  the record's ``reference`` (``pv-…``) goes with every attempt (``Idempotency-Key`` header and
  ``reference`` in the body for a generic endpoint; HubSpot's upsert on a unique property;
  Salesforce's upsert on an external id field), so an attempt whose answer was lost is sent
  again as the same record, never as a new one. Errors that say the request itself is wrong
  (4xx) fail at once and tell the person who handed it off; others are retried.
* :func:`verify_inbound` checks a status update's signature (Standard Webhooks headers, HMAC
  with the integration's own secret, five minutes of tolerance, each ``webhook-id`` once).
* HubSpot and Salesforce: OAuth (authorization code, then refresh) and their REST objects.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from portevoix.api import outbound
from portevoix.api.models import CrmIntegration, CrmRecord
from portevoix.worker.models import Outcome

logger = logging.getLogger(__name__)

TIMEOUT = 15.0
USER_AGENT = "Porte-voix-CRM/1"
#: How far a status update's ``webhook-timestamp`` may be from our clock.
TOLERANCE = dt.timedelta(minutes=5)
#: Longest text put in a field (the conversation's messages, joined).
MAX_TEXT = 5000

#: What a mapping may name, with what it means (shown on the integration's page).
SOURCE_FIELDS: dict[str, Any] = {
    "reference": _lazy(
        "Porte-voix's reference of this hand-off (pv-…): the key against duplicates"
    ),
    "conversation.id": _lazy("the conversation's number"),
    "conversation.url": _lazy("the conversation's page in Porte-voix"),
    "conversation.text": _lazy("the customer's messages, oldest first"),
    "conversation.preview": _lazy("the last message, shortened"),
    "conversation.kind": _lazy("comment, mention or private message"),
    "conversation.language": _lazy("the language of the conversation"),
    "conversation.labels": _lazy("the conversation's labels, comma-separated"),
    "conversation.department": _lazy("the department it is routed to"),
    "channel.name": _lazy("the channel's name"),
    "channel.network": _lazy("the network (facebook, instagram, linkedin…)"),
    "customer.handle": _lazy("the customer's handle on the network"),
    "customer.name": _lazy("the customer's display name"),
    "customer.profile": _lazy("the customer's profile address"),
    "note": _lazy("the note typed when handing off"),
    "handed_by": _lazy("the e-mail of the member who handed it off"),
}

PRESET_MAPPINGS: dict[str, dict[str, dict[str, str]]] = {
    "generic": {
        "lead": {
            "reference": "reference",
            "name": "customer.name",
            "handle": "customer.handle",
            "source": "channel.network",
            "message": "conversation.text",
            "link": "conversation.url",
            "note": "note",
        },
        "case": {
            "reference": "reference",
            "subject": "conversation.preview",
            "description": "conversation.text",
            "requester": "customer.handle",
            "link": "conversation.url",
            "note": "note",
        },
    },
    # HubSpot CRM v3: properties of a contact (lead) or a ticket (case).
    "hubspot": {
        "lead": {
            "firstname": "customer.name",
            "hs_lead_status": "=NEW",
            "message": "conversation.text",
            "website": "customer.profile",
        },
        "case": {
            "subject": "conversation.preview",
            "content": "conversation.text",
            "hs_pipeline": "=0",
            "hs_pipeline_stage": "=1",
        },
    },
    # Salesforce sObjects Lead and Case (Lead needs LastName and Company).
    "salesforce": {
        "lead": {
            "LastName": "customer.name",
            "Company": "customer.handle",
            "LeadSource": "channel.network",
            "Description": "conversation.text",
        },
        "case": {
            "Subject": "conversation.preview",
            "Description": "conversation.text",
            "Origin": "=Social",
            "SuppliedName": "customer.name",
        },
    },
}


# --- the body ------------------------------------------------------------------------------


def new_reference() -> str:
    return "pv-" + secrets.token_hex(12)


def new_inbound_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _site() -> str:
    return (getattr(settings, "PORTEVOIX_BASE_URL", "") or "http://localhost:8000").rstrip("/")


def source_values(conversation: Any, *, reference: str, note: str, by: Any) -> dict[str, str]:
    """Every source field's value for ``conversation``."""
    from portevoix.inbox.models import InboundMessage

    texts = list(
        InboundMessage.objects.filter(conversation=conversation)
        .order_by("created_at", "pk")
        .values_list("text", flat=True)[:50]
    )
    customer = conversation.customer
    url = reverse(
        "inbox_conversation", kwargs={"ws": conversation.workspace.slug, "pk": conversation.pk}
    )
    return {
        "reference": reference,
        "conversation.id": str(conversation.pk),
        "conversation.url": _site() + url,
        "conversation.text": "\n\n".join(texts)[:MAX_TEXT],
        "conversation.preview": conversation.preview,
        "conversation.kind": conversation.kind,
        "conversation.language": conversation.language,
        "conversation.labels": ", ".join(sorted(la.name for la in conversation.labels.all())),
        "conversation.department": conversation.department.code
        if conversation.department_id
        else "",
        "channel.name": conversation.channel.name,
        "channel.network": conversation.channel.network,
        "customer.handle": customer.handle if customer else "",
        "customer.name": (customer.display_name or customer.handle) if customer else "",
        "customer.profile": customer.url if customer else "",
        "note": note,
        "handed_by": by.user.email if by is not None else "",
    }


def check_mapping(mapping: Any) -> dict[str, str]:
    """The mapping if it is ``{"key": "source field" or "=constant"}``; else ``ValueError``
    with a message for the form."""
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(_('Give the mapping as a JSON object: {"key": "source field"}.'))
    if len(mapping) > 60:
        raise ValueError(_("A mapping has at most 60 fields."))
    clean: dict[str, str] = {}
    for key, source in mapping.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 100:
            raise ValueError(_("Each key is a name of at most 100 characters."))
        if not isinstance(source, str):
            raise ValueError(_("“%(key)s”: give a source field as text.") % {"key": key})
        if not source.startswith("=") and source not in SOURCE_FIELDS:
            raise ValueError(
                _(
                    "“%(key)s”: unknown source field “%(source)s” (use one of the list, or "
                    "=text for a constant)."
                )
                % {"key": key, "source": source}
            )
        parts = key.split(".")
        if any(not p for p in parts):
            raise ValueError(
                _("“%(key)s”: a dotted key has a name between each dot.") % {"key": key}
            )
        clean[key] = source
    return clean


def build_body(mapping: dict[str, str], values: dict[str, str]) -> dict[str, Any]:
    """The JSON body: each key of ``mapping`` set to its source's value (dots nest)."""
    body: dict[str, Any] = {}
    for key, source in mapping.items():
        value = source[1:] if source.startswith("=") else values.get(source, "")
        parts = key.split(".")
        node = body
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return body


# --- sending -------------------------------------------------------------------------------


class Answer:
    """What the system answered: status, the record's id and link if it said."""

    def __init__(self, status: int, text: str, external_id: str = "", url: str = ""):
        self.status = status
        self.text = text
        self.external_id = external_id
        self.url = url


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _generic(integration: CrmIntegration, reference: str, body: dict[str, Any]) -> Answer:
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "idempotency-key": reference,
    }
    if integration.auth_header:
        headers["authorization"] = integration.auth_header
    with outbound.client(timeout=TIMEOUT) as client:
        response = client.post(integration.url, content=json.dumps(body), headers=headers)
    data = _json(response)
    external_id = url = ""
    if isinstance(data, dict):
        external_id = str(data.get("id") or data.get("external_id") or "")[:200]
        url = str(data.get("url") or data.get("link") or "")[:500]
    return Answer(response.status_code, response.text[:2000], external_id, url)


# HubSpot ----------------------------------------------------------------------------------

HUBSPOT_API = "https://api.hubapi.com"
HUBSPOT_AUTHORIZE = "https://app.hubspot.com/oauth/authorize"
HUBSPOT_TOKEN = "https://api.hubapi.com/oauth/v1/token"
HUBSPOT_SCOPES = "crm.objects.contacts.write crm.objects.contacts.read tickets"
#: A property the HubSpot admin creates with "unique values" on: the upsert's key.
HUBSPOT_ID_PROPERTY = "porte_voix_reference"
# Salesforce --------------------------------------------------------------------------------
SALESFORCE_LOGIN = "https://login.salesforce.com"
SALESFORCE_VERSION = "v62.0"
#: An External ID field the Salesforce admin adds to Lead and Case: the upsert's key.
SALESFORCE_EXTERNAL_ID = "Porte_Voix_Reference__c"


def authorize_url(integration: CrmIntegration, *, redirect_uri: str, state: str) -> str:
    """Where to send the admin to grant access (OAuth authorization code)."""
    if integration.preset == "hubspot":
        query = {
            "client_id": integration.oauth_client_id,
            "redirect_uri": redirect_uri,
            "scope": HUBSPOT_SCOPES,
            "state": state,
        }
        return f"{HUBSPOT_AUTHORIZE}?{urlencode(query)}"
    query = {
        "response_type": "code",
        "client_id": integration.oauth_client_id,
        "redirect_uri": redirect_uri,
        "scope": "api refresh_token",
        "state": state,
    }
    return f"{SALESFORCE_LOGIN}/services/oauth2/authorize?{urlencode(query)}"


def _token_url(integration: CrmIntegration) -> str:
    if integration.preset == "hubspot":
        return HUBSPOT_TOKEN
    return f"{SALESFORCE_LOGIN}/services/oauth2/token"


def _client_secret(integration: CrmIntegration) -> str:
    from portevoix.core.crypto import decrypt_text

    return decrypt_text(integration.oauth_client_secret_encrypted, what="an OAuth client secret")


class OAuthFailed(Exception):
    pass


def _store_tokens(integration: CrmIntegration, data: dict[str, Any]) -> None:
    from portevoix.core.crypto import encrypt_text

    access = data.get("access_token")
    if not access:
        raise OAuthFailed(str(data.get("error_description") or data.get("message") or data))
    integration.oauth_access_token_encrypted = encrypt_text(str(access))
    if data.get("refresh_token"):  # Salesforce's refresh answer keeps the first one
        integration.oauth_refresh_token_encrypted = encrypt_text(str(data["refresh_token"]))
    # HubSpot says expires_in; Salesforce says nothing (sessions last hours): refresh on 401.
    seconds = int(data.get("expires_in") or 3600)
    integration.oauth_expires_at = timezone.now() + dt.timedelta(seconds=max(60, seconds - 60))
    if data.get("instance_url"):
        integration.instance_url = str(data["instance_url"])
    if integration.preset == "hubspot" and not integration.instance_url:
        integration.instance_url = _hubspot_portal(str(access), data)
    integration.save(
        update_fields=[
            "oauth_access_token_encrypted",
            "oauth_refresh_token_encrypted",
            "oauth_expires_at",
            "instance_url",
        ]
    )


#: HubSpot's record pages: ``<portal>/record/<object type>/<id>``, the portal being
#: ``https://app.hubspot.com/contacts/<hub id>`` (stored as the integration's ``instance_url``).
HUBSPOT_APP = "https://app.hubspot.com/contacts"


def _hubspot_portal(access: str, data: dict[str, Any]) -> str:
    """The address of the HubSpot account the token belongs to, for links to its records: the
    token answer's hub id when it has one, else the token's metadata
    (``GET /oauth/v1/access-tokens/{token}``, whose ``hub_id`` is the account). Optional: a
    failure leaves the records without a link, never the hand-off without its record."""
    hub = data.get("hub_id") or data.get("hubId")
    if not hub:
        try:
            with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
                response = client.get(
                    f"{HUBSPOT_API}/oauth/v1/access-tokens/{access}",
                    headers={"user-agent": USER_AGENT},
                )
            meta = _json(response)
            if response.status_code < 400 and isinstance(meta, dict):
                hub = meta.get("hub_id")
        except httpx.HTTPError:
            hub = None
    return f"{HUBSPOT_APP}/{int(hub)}" if hub and str(hub).isdigit() else ""


def _token_call(integration: CrmIntegration, form: dict[str, str]) -> None:
    form = {
        **form,
        "client_id": integration.oauth_client_id,
        "client_secret": _client_secret(integration),
    }
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        response = client.post(_token_url(integration), data=form)
    data = _json(response)
    if response.status_code >= 400 or not isinstance(data, dict):
        raise OAuthFailed(f"HTTP {response.status_code}: {response.text[:300]}")
    _store_tokens(integration, data)


def exchange_code(integration: CrmIntegration, *, code: str, redirect_uri: str) -> None:
    """The authorization code for the first access and refresh tokens."""
    _token_call(
        integration,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
    )


def refresh(integration: CrmIntegration) -> None:
    from portevoix.core.crypto import decrypt_text

    if not integration.oauth_refresh_token_encrypted:
        raise OAuthFailed("not connected: connect the integration to its system first")
    token = decrypt_text(integration.oauth_refresh_token_encrypted, what="a refresh token")
    _token_call(integration, {"grant_type": "refresh_token", "refresh_token": token})


def access_token(integration: CrmIntegration, *, force: bool = False) -> str:
    from portevoix.core.crypto import decrypt_text

    expired = integration.oauth_expires_at is None or integration.oauth_expires_at <= timezone.now()
    if force or expired or not integration.oauth_access_token_encrypted:
        refresh(integration)
    return decrypt_text(integration.oauth_access_token_encrypted, what="an access token")


def _with_token(integration: CrmIntegration, call: Any) -> httpx.Response:
    """``call(client, token)``, again once with a fresh token if the first answer is 401."""
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        response: httpx.Response = call(client, access_token(integration))
        if response.status_code == 401:
            response = call(client, access_token(integration, force=True))
    return response


def _hubspot(integration: CrmIntegration, reference: str, body: dict[str, Any]) -> Answer:
    kind = "contacts" if integration.record_kind == "lead" else "tickets"
    properties = {k: str(v) for k, v in body.items() if not isinstance(v, dict)}
    properties[HUBSPOT_ID_PROPERTY] = reference
    upsert = {
        "inputs": [{"idProperty": HUBSPOT_ID_PROPERTY, "id": reference, "properties": properties}]
    }

    def call(client: httpx.Client, token: str) -> httpx.Response:
        return client.post(
            f"{HUBSPOT_API}/crm/v3/objects/{kind}/batch/upsert",
            json=upsert,
            headers={"authorization": f"Bearer {token}", "user-agent": USER_AGENT},
        )

    response = _with_token(integration, call)
    data = _json(response)
    external_id = url = ""
    if isinstance(data, dict) and data.get("results"):
        external_id = str(data["results"][0].get("id") or "")
        base = integration.instance_url.rstrip("/")
        if external_id and base.startswith(HUBSPOT_APP + "/"):
            object_type = "0-1" if kind == "contacts" else "0-5"  # contacts, tickets
            url = f"{base}/record/{object_type}/{external_id}"
    return Answer(response.status_code, response.text[:2000], external_id, url)


def _salesforce(integration: CrmIntegration, reference: str, body: dict[str, Any]) -> Answer:
    sobject = "Lead" if integration.record_kind == "lead" else "Case"
    fields = {k: v for k, v in body.items() if not isinstance(v, dict)}

    def call(client: httpx.Client, token: str) -> httpx.Response:
        base = integration.instance_url.rstrip("/")
        return client.patch(
            f"{base}/services/data/{SALESFORCE_VERSION}/sobjects/{sobject}/"
            f"{SALESFORCE_EXTERNAL_ID}/{reference}",
            json=fields,
            headers={"authorization": f"Bearer {token}", "user-agent": USER_AGENT},
        )

    response = _with_token(integration, call)
    data = _json(response)
    external_id = url = ""
    if isinstance(data, dict) and data.get("id"):
        external_id = str(data["id"])
        url = f"{integration.instance_url.rstrip('/')}/{external_id}"
    return Answer(response.status_code, response.text[:2000], external_id, url)


def _email(integration: CrmIntegration, record_reference: str, body: dict[str, Any]) -> Answer:
    lines = [f"{key}: {value}" for key, value in _flat(body)]
    message = EmailMessage(
        subject=f"[{record_reference}] " + str(body.get("subject") or body.get("name") or ""),
        body="\n".join(lines),
        to=[integration.email],
        headers={
            "X-Porte-Voix-Reference": record_reference,
            # The same Message-ID at every attempt: a helpdesk or mailbox that keeps one
            # message per Message-ID (most do) keeps one hand-off.
            "Message-ID": f"<{record_reference}@{_mail_domain()}>",
        },
    )
    message.send()
    return Answer(250, "sent", "", "")


def _mail_domain() -> str:
    """The domain of the installation's sender address (the right side of a Message-ID)."""
    from django.conf import settings

    sender = str(getattr(settings, "DEFAULT_FROM_EMAIL", "") or "")
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else ""
    return domain or "porte-voix.invalid"


def _flat(body: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in body.items():
        if isinstance(value, dict):
            rows.extend(_flat(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", str(value)))
    return rows


def send(integration: CrmIntegration, reference: str, body: dict[str, Any]) -> Answer:
    if integration.kind == "email":
        return _email(integration, reference, body)
    if integration.preset == "hubspot":
        return _hubspot(integration, reference, body)
    if integration.preset == "salesforce":
        return _salesforce(integration, reference, body)
    return _generic(integration, reference, body)


#: Answers that say the request is wrong: sending it again would not help.
PERMANENT = frozenset({400, 401, 403, 404, 405, 410, 413, 415, 422})
RETRY_DELAYS = (30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 43200, 43200)


def deliver(record: CrmRecord) -> Outcome:
    """The handler of ``pending``: one attempt, with the record's reference."""
    integration = record.integration
    now = timezone.now()
    attempt = record.attempts + 1
    if not integration.is_active:
        return Outcome("failed", fields={"problem": _("The integration is paused.")})
    fields: dict[str, Any] = {"sent_at": now}
    try:
        answer = send(integration, record.reference, record.payload)
    except (httpx.HTTPError, OAuthFailed, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        fields["last_status"] = answer.status if answer.status < 1000 else None
        if 200 <= answer.status < 300 or answer.status == 250:
            return Outcome(
                "created",
                fields={
                    **fields,
                    "external_id": answer.external_id or record.external_id,
                    "external_url": answer.url or record.external_url,
                    "problem": "",
                },
                after=lambda: _lead_recorded(record.pk),
            )
        error = f"HTTP {answer.status}: {answer.text[:300]}"
        if answer.status in PERMANENT:
            return Outcome(
                "failed",
                fields={
                    **fields,
                    "problem": _("The system refused it: %(error)s") % {"error": error},
                },
                after=lambda: _tell_failed(record.pk),
            )
    if attempt > len(RETRY_DELAYS):
        return Outcome(
            "failed",
            fields={**fields, "problem": f"Gave up after {attempt} attempts: {error}"},
            after=lambda: _tell_failed(record.pk),
        )
    return Outcome(
        "pending",
        retry=True,
        error=error,
        delay=RETRY_DELAYS[attempt - 1],
        fields={**fields, "problem": f"Attempt {attempt}: {error}"},
    )


def _lead_recorded(record_pk: int) -> None:
    from portevoix.api import actions
    from portevoix.core.actions import ActionRefused

    record = CrmRecord.objects.select_related("integration").get(pk=record_pk)
    try:
        with transaction.atomic():
            actions.record_crm_lead(record)
    except ActionRefused as exc:  # pragma: no cover - a new lead has no amount to refuse
        logger.warning("CRM record %s: money refused the lead: %s", record.reference, exc)


@transaction.atomic
def _tell_failed(record_pk: int) -> None:
    from portevoix.api.notices import CRM_FAILED
    from portevoix.notifications.actions import notify

    record = CrmRecord.objects.select_related(
        "integration__workspace", "conversation", "requested_by"
    ).get(pk=record_pk)
    if record.requested_by is None:
        return
    workspace = record.integration.workspace
    notify(
        workspace,
        CRM_FAILED,
        [record.requested_by],
        obj=record,
        params={"integration": record.integration.name, "problem": record.problem[:300]},
        url=reverse(
            "inbox_conversation", kwargs={"ws": workspace.slug, "pk": record.conversation_id}
        ),
        key=f"crm-failed-{record.pk}-{record.attempts}",
    )


def test(integration: CrmIntegration, body: dict[str, Any]) -> Answer:
    """Send a sample (marked as a test) and return the answer, whatever it is."""
    reference = "pv-test-" + secrets.token_hex(4)
    sample = {**body, "test": True} if integration.preset == "generic" else body
    try:
        return send(integration, reference, sample)
    except (httpx.HTTPError, OAuthFailed, OSError) as exc:
        return Answer(0, f"{type(exc).__name__}: {exc}")


# --- status updates coming back -------------------------------------------------------------


class BadSignature(Exception):
    """Why an inbound call is refused (its text is the answer's)."""


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_inbound(
    integration: CrmIntegration, headers: Any, body: bytes, *, now: dt.datetime | None = None
) -> str:
    """The ``webhook-id`` of a correctly signed, fresh call; else :class:`BadSignature`."""
    message_id = (headers.get("webhook-id") or "").strip()
    stamp = (headers.get("webhook-timestamp") or "").strip()
    given = (headers.get("webhook-signature") or "").split()
    if not message_id or not stamp or not given or len(message_id) > 120:
        raise BadSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise BadSignature("webhook-timestamp is not a number of seconds") from None
    moment = now or timezone.now()
    if abs(moment.timestamp() - timestamp) > TOLERANCE.total_seconds():
        raise BadSignature("webhook-timestamp is more than five minutes away from now")
    expected = sign(integration.inbound_secret, message_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in given):
        raise BadSignature("the signature does not match")
    return message_id


def parse_update(body: bytes) -> dict[str, Any]:
    """``{"reference", "status", "external_id", "url", "deal": {"value", "currency",
    "outcome"}}`` checked; ``ValueError`` says what is wrong."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("the body is not a JSON object")
    reference = data.get("reference")
    if not isinstance(reference, str) or not reference:
        raise ValueError("reference: give the pv-… reference Porte-voix sent")
    update: dict[str, Any] = {"reference": reference}
    for key, size in (("status", 100), ("external_id", 200), ("url", 500)):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > size:
            raise ValueError(f"{key}: text of at most {size} characters")
        update[key] = value
    if "url" in update and not update["url"].startswith(("https://", "http://")):
        raise ValueError("url: an http(s) address")
    deal = data.get("deal")
    if deal is not None:
        if not isinstance(deal, dict):
            raise ValueError("deal: an object")
        outcome = deal.get("outcome")
        if outcome is not None and outcome not in ("open", "won", "lost"):
            raise ValueError("deal.outcome: open, won or lost")
        value = deal.get("value")
        amount = None
        if value is not None:
            try:
                amount = Decimal(str(value))
            except InvalidOperation:
                raise ValueError("deal.value: a number") from None
            if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
                raise ValueError("deal.value: a positive number")
        currency = deal.get("currency")
        if currency is not None and (not isinstance(currency, str) or len(currency) != 3):
            raise ValueError("deal.currency: a three-letter code (EUR)")
        update["deal"] = {
            "outcome": outcome,
            "value": amount,
            "currency": currency.upper() if isinstance(currency, str) else None,
        }
    return update
