"""Connecting LinkedIn from the channels pages: the app's keys, the company page, the token's
expiry (the channel's warning), against the loopback fake of ``tests/networks``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from portevoix.channels.models import Channel
from portevoix.networks import linkedin
from portevoix.networks.types import Credentials
from tests.networks.fake_linkedin import CLIENT_ID, CLIENT_SECRET, ORG_ID, FakeLinkedIn

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn() as server:
        monkeypatch.setattr(linkedin, "DEFAULT_API_URL", server.base_url)
        monkeypatch.setattr(linkedin, "DEFAULT_AUTH_URL", server.base_url + "/oauth/v2")
        yield server


def _start(client, **fields: str):
    start = reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "linkedin"})
    data = {"channel-strategy_level": "active", "channel-name": "Lumière recrute"}
    data.update({f"oauth-{k}": v for k, v in fields.items()})
    return client.post(start, data)


def test_the_start_page_asks_for_the_app_and_shows_the_redirect_address(team, client_for):
    client = client_for(team["manager"])
    start = reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "linkedin"})
    page = client.get(start).content.decode()
    assert 'name="oauth-client_id"' in page and 'name="oauth-client_secret"' in page
    assert 'name="oauth-organization_id"' in page and 'name="oauth-instance_url"' not in page
    assert reverse("channel_oauth_callback", kwargs={"ws": "acme"}) in page


def test_missing_app_keys_stay_on_the_form(team, client_for):
    response = _start(client_for(team["manager"]), client_id="", client_secret="")
    assert response.status_code == 400
    assert not Channel.objects.exists()


@pytest.mark.parametrize("role", ["content", "creative", "analyst", "agent", "viewer"])
def test_only_managers_connect(team, client_for, role):
    response = _start(client_for(team[role]), client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert response.status_code == 403


def test_round_trip_connects_the_company_page_with_its_expiry(team, client_for, fake):
    client = client_for(team["manager"])
    response = _start(
        client, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, organization_id=ORG_ID
    )
    assert response.status_code == 302
    target = response["Location"]
    assert target.startswith(fake.base_url + "/oauth/v2/authorization?")
    assert "w_organization_social" in parse_qs(urlparse(target).query)["scope"][0]
    assert CLIENT_SECRET not in str(dict(client.session))
    # What LinkedIn does when the person clicks "Allow".
    allowed = httpx.get(target.replace("/authorization?", "/allow?"), follow_redirects=False)
    back = urlparse(allowed.headers["location"])
    response = client.get(back.path + "?" + back.query)
    assert response.status_code == 302
    channel = Channel.objects.get(network="linkedin")
    assert channel.account_id == f"urn:li:organization:{ORG_ID}"
    assert channel.name == "Lumière recrute" and channel.handle == "lumiere-conseil"
    credentials = channel.get_credentials()
    assert credentials.get("client_secret") == CLIENT_SECRET
    assert channel.token_expires_at is not None
    left = channel.token_expires_at - timezone.now()
    assert dt.timedelta(days=59) < left <= dt.timedelta(days=60)
    assert channel.health == "ok"


def test_a_token_close_to_its_end_shows_expiring(team, client_for, fake):
    fake.state.token_expires_in = 3 * 24 * 3600
    client = client_for(team["manager"])
    target = _start(client, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)["Location"]
    allowed = httpx.get(target.replace("/authorization?", "/allow?"), follow_redirects=False)
    back = urlparse(allowed.headers["location"])
    client.get(back.path + "?" + back.query)
    channel = Channel.objects.get(network="linkedin")
    assert channel.account_id.startswith("urn:li:person:")
    assert channel.health == "expiring"


def test_a_refreshed_token_moves_the_expiry(team, fake):
    from portevoix.channels import actions

    fake.state.give_refresh_token = True
    fake.state.codes["c"] = "782bbtaQ"
    request = linkedin.LinkedInNetwork.begin_authorization(
        "", "http://testserver/cb", state="s", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    credentials = linkedin.LinkedInNetwork.complete_authorization(request, "c")
    soon = (timezone.now() + dt.timedelta(days=1)).isoformat()
    # With a refresh token, what ends the channel is the refresh token's end.
    channel = actions.connect_channel(
        team.workspace,
        by=team["manager"],
        network="linkedin",
        credentials=credentials.replace(expires_at=soon, refresh_expires_at=soon).as_dict(),
    )
    assert channel.health == "expiring"
    network = channel.client(verify=False)
    network.refresh_credentials()
    channel.refresh_from_db()
    assert channel.health == "ok"
    assert channel.get_credentials().get("access_token") != credentials.get("access_token")


def _connect_page(client, fake: FakeLinkedIn) -> Channel:
    target = _start(
        client, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, organization_id=ORG_ID
    )["Location"]
    allowed = httpx.get(target.replace("/authorization?", "/allow?"), follow_redirects=False)
    back = urlparse(allowed.headers["location"])
    client.get(back.path + "?" + back.query)
    return Channel.objects.get(network="linkedin")


def test_signing_in_again_reconnects_the_same_channel_before_its_token_ends(team, client_for, fake):
    client = client_for(team["manager"])
    fake.state.token_expires_in = 2 * 24 * 3600
    channel = _connect_page(client, fake)
    assert channel.health == "expiring"
    old_token = channel.get_credentials().get("access_token")
    detail = client.get(reverse("channel_detail", kwargs={"ws": "acme", "pk": channel.pk}))
    again = (
        reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "linkedin"})
        + f"?channel={channel.pk}"
    )
    assert again.replace("?", "?") in detail.content.decode().replace("&amp;", "&")
    page = client.get(again).content.decode()
    assert f'value="{CLIENT_ID}"' in page and CLIENT_SECRET not in page
    assert 'name="channel-name"' not in page
    fake.state.token_expires_in = 60 * 24 * 3600
    # The stored secret is reused when the field is left empty.
    response = client.post(again, {"oauth-client_id": CLIENT_ID, "oauth-organization_id": ORG_ID})
    assert response.status_code == 302
    allowed = httpx.get(
        response["Location"].replace("/authorization?", "/allow?"), follow_redirects=False
    )
    back = urlparse(allowed.headers["location"])
    response = client.get(back.path + "?" + back.query)
    assert response["Location"] == reverse(
        "channel_detail", kwargs={"ws": "acme", "pk": channel.pk}
    )
    assert Channel.objects.count() == 1
    channel.refresh_from_db()
    assert channel.health == "ok"
    assert channel.get_credentials().get("access_token") != old_token
    assert channel.get_credentials().get("client_secret") == CLIENT_SECRET


def test_signing_in_again_for_another_channel_or_network_is_refused(team, client_for, fake):
    client = client_for(team["manager"])
    channel = _connect_page(client, fake)
    wrong_network = reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "mastodon"})
    assert client.get(wrong_network + f"?channel={channel.pk}").status_code == 404
    start = reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "linkedin"})
    assert client.get(start + "?channel=999999").status_code == 404
    assert client.get(start + "?channel=abc").status_code == 400  # malformed: said so


def test_a_refreshable_token_warns_only_before_the_refresh_token_ends():
    from portevoix.channels.models import token_expiry

    later = (timezone.now() + dt.timedelta(days=300)).isoformat()
    soon = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    assert token_expiry(Credentials({"expires_at": soon})) is not None
    assert token_expiry(Credentials({"expires_at": soon, "refresh_token": "r"})) is None
    expiry = token_expiry(
        Credentials({"expires_at": soon, "refresh_token": "r", "refresh_expires_at": later})
    )
    assert expiry is not None and expiry > timezone.now() + dt.timedelta(days=299)
