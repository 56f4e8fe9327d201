"""A YouTube channel end to end, on the loopback fake of ``tests/networks/fake_youtube.py``:
the OAuth connect pages, the composer's checks, and a video going out through the worker."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from portevoix.channels import clients
from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.permissions import MATRIX, Role
from portevoix.networks import youtube
from portevoix.networks.types import Visibility
from portevoix.publishing import actions as publishing
from portevoix.publishing.actions import Upload
from portevoix.publishing.models import Post, Publication
from portevoix.worker import runner
from tests.images import MP4_HEADER
from tests.networks.fake_youtube import FakeYouTube

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeYouTube]:
    clients.clear()
    with FakeYouTube().running() as server:
        monkeypatch.setattr(youtube.YouTubeNetwork, "api_root", server.url)
        monkeypatch.setattr(youtube.YouTubeNetwork, "token_uri", server.token_uri)
        monkeypatch.setattr(youtube.YouTubeNetwork, "auth_uri", server.auth_uri)
        monkeypatch.setattr(youtube, "LEDGER", youtube.QuotaLedger())
        yield server
    clients.clear()


def start(client, fake: FakeYouTube, **extra: str):
    url = reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "youtube"})
    return client.post(
        url,
        {
            "oauth-client_id": fake.client_id,
            "oauth-client_secret": fake.client_secret,
            "channel-name": "Conférences",
            "channel-strategy_level": "active",
            **extra,
        },
    )


def connect(team, client_for, fake: FakeYouTube, **extra: str) -> Channel:
    client = client_for(team["manager"])
    response = start(client, fake, **extra)
    assert response.status_code == 302, response.content.decode()[:2000]
    target = urlsplit(response["Location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert response["Location"].startswith(fake.auth_uri)
    assert query["client_id"] == fake.client_id and "client_secret" not in query
    # What Google's consent page does: a code for this client, back to the callback.
    fake.codes["code-1"] = query["code_challenge"]
    callback = reverse("channel_oauth_callback", kwargs={"ws": "acme"})
    response = client.get(callback, {"state": query["state"], "code": "code-1"})
    assert response.status_code == 302
    return Channel.objects.get(network="youtube")


def test_the_oauth_start_page_asks_for_the_company_client(team, client_for, fake):
    client = client_for(team["manager"])
    page = client.get(reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "youtube"}))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="oauth-client_id"' in html and 'name="oauth-client_secret"' in html
    assert 'name="oauth-instance_url"' not in html
    # The redirect address to register with Google, and the private-uploads rule.
    assert "/acme/channels/oauth/callback/" in html or "oauth/callback" in html
    assert "10,000" in html or "10 000" in html or "10 000" in html
    response = start(client, fake, **{"oauth-client_secret": ""})
    assert response.status_code == 400 and not Channel.objects.exists()


def test_connecting_through_google_keeps_the_refresh_token(team, client_for, fake):
    channel = connect(team, client_for, fake)
    assert channel.handle == "@lumieretv" and channel.name == "Conférences"
    credentials = channel.get_credentials()
    assert credentials.get("refresh_token") in fake.refresh_tokens
    assert credentials.get("client_secret") == fake.client_secret
    assert credentials.get("audited") == ""
    page = client_for(team["manager"]).get(
        reverse("channel_detail", kwargs={"ws": "acme", "pk": channel.pk})
    )
    assert 'data-testid="uploads-private"' in page.content.decode()


def test_an_audited_project_says_so_and_uploads_public(team, client_for, fake):
    channel = connect(team, client_for, fake, **{"oauth-audited": "on"})
    assert channel.get_credentials().get("audited") == "yes"
    assert channel.client(verify=False).privacy_for(Visibility.PUBLIC) == "public"
    page = client_for(team["manager"]).get(
        reverse("channel_detail", kwargs={"ws": "acme", "pk": channel.pk})
    )
    assert 'data-testid="uploads-private"' not in page.content.decode()


@pytest.mark.parametrize("role", [r.value for r in Role if "channel.manage" not in MATRIX[r.value]])
def test_roles_without_channel_management_cannot_start(team, client_for, fake, role):
    response = start(client_for(team[role]), fake)
    assert response.status_code == 403
    assert not fake.requests


def test_the_composer_wants_one_video(team, client_for, fake):
    channel = connect(team, client_for, fake)
    with pytest.raises(ActionRefused) as caught:
        publishing.schedule_post(
            team.workspace, by=team["content"], text="Sans vidéo", channels=[channel]
        )
    assert "video" in str(caught.value) or "vidéo" in str(caught.value)
    assert not Post.objects.exists()


def test_a_video_goes_out_private_once(team, client_for, fake):
    channel = connect(team, client_for, fake)
    video = Upload(filename="talk.mp4", data=MP4_HEADER, mime_type="video/mp4")
    post = publishing.schedule_post(
        team.workspace,
        by=team["admin"],
        text="Le discours du PDG\nÀ Lyon, en entier.",
        channels=[channel],
        uploads=[video],
    )
    for _ in range(5):
        if not runner.run_once([Publication]):
            break
    publication = Publication.objects.get(post=post)
    assert publication.state == "published", publication.state
    [video_id] = fake.order
    assert publication.network_post_id == video_id
    assert fake.videos[video_id]["status"]["privacyStatus"] == "private"
    assert fake.videos[video_id]["snippet"]["title"] == "Le discours du PDG"
    assert fake.posts["/upload/youtube/v3/videos"] == 1


def test_connecting_with_a_refresh_token_from_elsewhere(team, client_for, fake):
    """The credentials form (a refresh token made with Google's own tools) works too."""
    client = client_for(team["admin"])
    url = reverse("channel_connect", kwargs={"ws": "acme", "network": "youtube"})
    html = client.get(url).content.decode()
    assert 'name="cred-refresh_token"' in html and 'type="password"' in html
    response = client.post(
        url,
        {
            "cred-client_id": fake.client_id,
            "cred-client_secret": fake.client_secret,
            "cred-refresh_token": "refresh-1",
            "channel-strategy_level": "active",
        },
    )
    assert response.status_code == 302
    assert Channel.objects.get(network="youtube").handle == "@lumieretv"
    response = client.post(
        url,
        {
            "cred-client_id": fake.client_id,
            "cred-client_secret": fake.client_secret,
            "cred-refresh_token": "revoked",
            "channel-strategy_level": "active",
        },
    )
    assert response.status_code == 400 and Channel.objects.count() == 1
