"""HubSpot and Salesforce presets: OAuth (authorization code, then refresh) and their REST
objects, on recorded exchanges built from each vendor's documentation (source beside each
fixture). No socket is opened: respx answers every call."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from portevoix.api import actions, crm
from portevoix.api.integration_views import OAUTH_SALT
from portevoix.api.models import CrmIntegration, CrmRecord
from portevoix.worker import runner

# https://developers.hubspot.com/docs/api/oauth/tokens ("Initiating an OAuth integration":
# the response to POST /oauth/v1/token with grant_type=authorization_code or refresh_token).
HUBSPOT_TOKEN_ANSWER = {
    "token_type": "bearer",
    "refresh_token": "1e8fbfb1-8e96-4826-8b8d-c8af73715",
    "access_token": "CIrToaiiMhIHAAEAQAAAARiO1ooBIOP0sgEokuLtATEaOLEh3ua4FfREOz8eq5_V_s0XDpYwK7CKGQH",
    "expires_in": 1800,
}
# https://developers.hubspot.com/docs/api/crm/contacts ("Upsert contacts": POST
# /crm/v3/objects/contacts/batch/upsert, idProperty a property with unique values; response).
HUBSPOT_UPSERT_ANSWER = {
    "status": "COMPLETE",
    "results": [
        {
            "id": "512",
            "properties": {"createdate": "2019-10-30T03:30:17.883Z", "firstname": "Claire"},
            "createdAt": "2019-10-30T03:30:17.883Z",
            "updatedAt": "2019-12-07T16:50:06.678Z",
            "archived": False,
            "new": True,
        }
    ],
    "startedAt": "2024-01-17T12:04:17.063Z",
    "completedAt": "2024-01-17T12:04:17.384Z",
}
# https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
# (step "Salesforce grants a new access token": the JSON answer of /services/oauth2/token).
SALESFORCE_TOKEN_ANSWER = {
    "access_token": "00DB0000000TfcR!AQQAQFhoK8vTMg_rKA.esrJ2bCs.OOIjJgl.9Cx6O7KqjZmHMLOyVb.U61BU9tm4xRusf7d3fD1P9oefzqS6i9sJMPWj48IK",
    "refresh_token": "5Aep861HDR3iASSXIX6hI4M2_2Ghu7Lp.XHMZGtP2HOC2sppzUt0KhgaKXxhUSAD1ADGaq48x9yIHazkp1_sCso",
    "signature": "d/SxeYBxH0GSVko0HMgcUxuZy0PA2cDDz1u7g7JtDHw=",
    "scope": "refresh_token api",
    "instance_url": "https://mycompany.my.salesforce.com",
    "id": "https://login.salesforce.com/id/00DB0000000TfcRMAS/005B0000005Bk90IAC",
    "token_type": "Bearer",
    "issued_at": "1558553873237",
}
# https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
# (the refresh answer carries no new refresh token).
SALESFORCE_REFRESH_ANSWER = {
    "access_token": "00DB0000000TfcR!AQQAQNEW.access",
    "signature": "SSSbLO/gBhmmyNUvN18ODBDFYHzakxOMgqYtu+hDPsc=",
    "scope": "refresh_token api",
    "instance_url": "https://mycompany.my.salesforce.com",
    "id": "https://login.salesforce.com/id/00DB0000000TfcRMAS/005B0000005Bk90IAC",
    "token_type": "Bearer",
    "issued_at": "1558553900000",
}
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
# (PATCH /services/data/vXX.X/sobjects/<object>/<external id field>/<value>: 201 on insert).
SALESFORCE_UPSERT_ANSWER = {
    "id": "00Q5e00000AbCdEEAV",
    "errors": [],
    "success": True,
    "created": True,
}
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
SALESFORCE_EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def _preset(team, preset, record_kind="lead"):
    integration, _secret = actions.create_integration(
        team.workspace,
        by=team["admin"],
        name=preset.title(),
        preset=preset,
        record_kind=record_kind,
        oauth_client_id="client-123",
        oauth_client_secret="client-secret-456",
    )
    return integration


def _connect(team, client_for, integration):
    """The admin clicks Connect, comes back from the vendor with a code."""
    admin = client_for(team["admin"])
    ws = team.workspace.slug
    start = admin.post(reverse("api_integration_connect", kwargs={"ws": ws, "pk": integration.pk}))
    assert start.status_code == 302
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["client_id"] == ["client-123"]
    callback = admin.get(
        reverse("api_integration_oauth_callback", kwargs={"ws": ws}),
        {"code": "auth-code-789", "state": query["state"][0]},
    )
    assert callback.status_code == 302
    return start["Location"]


@respx.mock(assert_all_called=True)
def test_hubspot_connect_then_upsert_a_contact_once(team, client_for, conversation, respx_mock):
    integration = _preset(team, "hubspot")
    token = respx_mock.post("https://api.hubapi.com/oauth/v1/token").mock(
        return_value=httpx.Response(200, json=HUBSPOT_TOKEN_ANSWER)
    )
    location = _connect(team, client_for, integration)
    assert location.startswith("https://app.hubspot.com/oauth/authorize?")
    form = parse_qs(token.calls[0].request.content.decode())
    assert form["grant_type"] == ["authorization_code"] and form["code"] == ["auth-code-789"]
    assert form["client_secret"] == ["client-secret-456"]

    upsert = respx_mock.post("https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert").mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(200, json=HUBSPOT_UPSERT_ANSWER)]
    )
    record = actions.hand_to_crm(
        conversation, by=team["content"], integration=CrmIntegration.objects.get()
    )
    runner.run_once([CrmRecord])  # the answer is lost
    CrmRecord.objects.update(next_attempt_at=timezone.now())
    runner.run_once([CrmRecord])
    record.refresh_from_db()
    assert record.state == "created" and record.external_id == "512"
    assert record.external_url.endswith("/record/0-1/512")
    bodies = [json.loads(call.request.content) for call in upsert.calls]
    # Both attempts upsert the same unique key: HubSpot keeps one contact.
    assert [b["inputs"][0]["id"] for b in bodies] == [record.reference] * 2
    assert bodies[0]["inputs"][0]["idProperty"] == "porte_voix_reference"
    assert bodies[0]["inputs"][0]["properties"]["porte_voix_reference"] == record.reference
    assert upsert.calls[0].request.headers["authorization"] == (
        "Bearer " + HUBSPOT_TOKEN_ANSWER["access_token"]
    )


@respx.mock(assert_all_called=True)
def test_hubspot_refreshes_an_expired_token(team, conversation, respx_mock):
    from portevoix.core.crypto import encrypt_text

    integration = _preset(team, "hubspot", "case")
    CrmIntegration.objects.filter(pk=integration.pk).update(
        oauth_refresh_token_encrypted=encrypt_text("old-refresh"),
        oauth_access_token_encrypted=encrypt_text("old-access"),
        oauth_expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    token = respx_mock.post("https://api.hubapi.com/oauth/v1/token").mock(
        return_value=httpx.Response(200, json=HUBSPOT_TOKEN_ANSWER)
    )
    tickets = respx_mock.post("https://api.hubapi.com/crm/v3/objects/tickets/batch/upsert").mock(
        return_value=httpx.Response(200, json=HUBSPOT_UPSERT_ANSWER)
    )
    integration.refresh_from_db()
    actions.hand_to_crm(conversation, by=team["manager"], integration=integration)
    runner.run_once([CrmRecord])
    form = parse_qs(token.calls[0].request.content.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["old-refresh"]
    assert (
        tickets.calls[0]
        .request.headers["authorization"]
        .endswith(HUBSPOT_TOKEN_ANSWER["access_token"])
    )
    assert CrmRecord.objects.get().state == "created"


@respx.mock(assert_all_called=True)
def test_salesforce_connect_then_upsert_a_lead_on_its_external_id(
    team, client_for, conversation, respx_mock
):
    integration = _preset(team, "salesforce")
    respx_mock.post("https://login.salesforce.com/services/oauth2/token").mock(
        side_effect=[
            httpx.Response(200, json=SALESFORCE_TOKEN_ANSWER),
            httpx.Response(200, json=SALESFORCE_REFRESH_ANSWER),
        ]
    )
    location = _connect(team, client_for, integration)
    assert location.startswith("https://login.salesforce.com/services/oauth2/authorize?")
    integration.refresh_from_db()
    assert integration.instance_url == "https://mycompany.my.salesforce.com"
    record = actions.hand_to_crm(conversation, by=team["content"], integration=integration)
    path = (
        "https://mycompany.my.salesforce.com/services/data/v62.0/sobjects/Lead/"
        f"Porte_Voix_Reference__c/{record.reference}"
    )
    # The session expired meanwhile: 401, a refresh, the same upsert again.
    upsert = respx_mock.patch(path).mock(
        side_effect=[
            httpx.Response(401, json=SALESFORCE_EXPIRED),
            httpx.Response(201, json=SALESFORCE_UPSERT_ANSWER),
        ]
    )
    runner.run_once([CrmRecord])
    record.refresh_from_db()
    assert record.state == "created", record.problem
    assert record.external_id == "00Q5e00000AbCdEEAV"
    assert record.external_url == "https://mycompany.my.salesforce.com/00Q5e00000AbCdEEAV"
    body = json.loads(upsert.calls[1].request.content)
    assert body["LastName"] and body["Description"]
    assert upsert.calls[1].request.headers["authorization"] == (
        "Bearer " + SALESFORCE_REFRESH_ANSWER["access_token"]
    )


def test_the_oauth_callback_refuses_a_forged_state(team, client_for):
    integration = _preset(team, "salesforce")
    ws = team.workspace.slug
    forged = signing.dumps({"i": integration.pk, "m": team["manager"].pk}, salt=OAUTH_SALT)
    admin = client_for(team["admin"])
    url = reverse("api_integration_oauth_callback", kwargs={"ws": ws})
    response = admin.get(url, {"code": "x", "state": forged}, follow=True)
    assert "someone else" in response.content.decode() or "quelqu" in response.content.decode()
    response = admin.get(url, {"code": "x", "state": "garbage"}, follow=True)
    integration.refresh_from_db()
    assert integration.oauth_refresh_token_encrypted == ""


def test_presets_need_their_app_credentials(team):
    from portevoix.core.actions import ActionRefused

    with pytest.raises(ActionRefused) as refused:
        actions.create_integration(team.workspace, by=team["admin"], name="HS", preset="hubspot")
    assert refused.value.field == "oauth_client_id"
    assert crm.PRESET_MAPPINGS["salesforce"]["case"]["Origin"] == "=Social"
