"""The OAuth round trip of the channels pages, with a stand-in network that records calls."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from portevoix.channels.models import Channel
from portevoix.networks import registry
from portevoix.networks.base import Network
from portevoix.networks.errors import AuthExpired, NotFound
from portevoix.networks.types import (
    AccountInfo,
    AuthorizationRequest,
    Capability,
    Credentials,
    Limits,
    OutgoingPost,
    PublishedRef,
)

pytestmark = pytest.mark.django_db


class FakeOAuthNetwork(Network):
    name: ClassVar[str] = "fakeoauth"
    label: ClassVar[str] = "FakeOAuth"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TEXT, Capability.OAUTH})
    limits: ClassVar[Limits] = Limits(max_text_length=500)
    credential_fields: ClassVar[tuple[str, ...]] = ("instance_url", "access_token")

    @classmethod
    def begin_authorization(cls, instance_url, redirect_uri, *, state, app_name="Porte-voix"):
        if "unknown" in instance_url:
            raise NotFound("No Mastodon-like server answers at this address.", network=cls.name)
        return AuthorizationRequest(
            url=f"{instance_url}/oauth/authorize?state={state}&redirect_uri={redirect_uri}",
            state=state,
            redirect_uri=redirect_uri,
            instance_url=instance_url,
            client_id="client-1",
            client_secret="client-secret-1",
        )

    @classmethod
    def complete_authorization(cls, request, code, *, timeout=30.0):
        assert request.client_secret == "client-secret-1"
        return Credentials({"instance_url": request.instance_url, "access_token": f"tok-{code}"})

    def connect(self, credentials):
        if not credentials.get("access_token").startswith("tok-"):
            raise AuthExpired("token refused", network=self.name)
        return self._bind(
            credentials,
            AccountInfo(network=self.name, account_id="42", handle="brand@example.social"),
        )

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        raise NotImplementedError

    def reconcile(self, idempotency_key, *, post=None, since=None, exclude=frozenset()):
        return None


@pytest.fixture
def fake_network():
    registry.register(FakeOAuthNetwork)
    yield FakeOAuthNetwork
    registry.unregister("fakeoauth")


def test_round_trip_creates_the_channel(team, client_for, fake_network):
    client = client_for(team["manager"])
    start = reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "fakeoauth"})
    response = client.post(
        start,
        {
            "oauth-instance_url": "https://example.social",
            "channel-name": "Masto",
            "channel-strategy_level": "active",
            "channel-owner_department": team.department("communication").pk,
        },
    )
    assert response.status_code == 302
    target = urlparse(response["Location"])
    state = parse_qs(target.query)["state"][0]
    assert target.netloc == "example.social"
    # The pending request (with its client secret) is kept encrypted in the session.
    assert "client-secret-1" not in str(dict(client.session))
    callback = reverse("channel_oauth_callback", kwargs={"ws": "acme"})
    response = client.get(callback, {"state": state, "code": "abc"})
    assert response.status_code == 302
    channel = Channel.objects.get(network="fakeoauth")
    assert channel.name == "Masto" and channel.owner_department.code == "communication"
    assert channel.get_credentials().get("access_token") == "tok-abc"
    # The same answer cannot be replayed.
    response = client.get(callback, {"state": state, "code": "abc"}, follow=True)
    assert Channel.objects.count() == 1
    assert (
        "already been used" in response.content.decode()
        or "déjà servi" in response.content.decode()
    )


def test_state_mismatch_and_refusal_are_refused(team, client_for, fake_network):
    client = client_for(team["admin"])
    start = reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "fakeoauth"})
    client.post(
        start, {"oauth-instance_url": "https://example.social", "channel-strategy_level": "active"}
    )
    callback = reverse("channel_oauth_callback", kwargs={"ws": "acme"})
    response = client.get(callback, {"state": "forged", "code": "abc"}, follow=True)
    assert not Channel.objects.exists()
    assert "state" in response.content.decode()
    response = client.post(
        start, {"oauth-instance_url": "https://example.social", "channel-strategy_level": "active"}
    )
    state = parse_qs(urlparse(response["Location"]).query)["state"][0]
    response = client.get(
        callback,
        {"error": "access_denied", "error_description": "User said no", "state": state},
        follow=True,
    )
    assert not Channel.objects.exists()
    assert "User said no" in response.content.decode()


def test_unknown_instance_is_a_clear_form_error(team, client_for, fake_network):
    client = client_for(team["admin"])
    start = reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "fakeoauth"})
    response = client.post(
        start, {"oauth-instance_url": "https://unknown.example", "channel-strategy_level": "active"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "No Mastodon-like server answers" in html and 'value="https://unknown.example"' in html


def test_viewer_cannot_start_oauth(team, client_for, fake_network):
    start = reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "fakeoauth"})
    assert client_for(team["viewer"]).get(start).status_code == 403
    assert client_for(team.outsider).get(start).status_code == 404
