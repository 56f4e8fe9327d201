"""A TikTok channel end to end, on the loopback fake of ``tests/networks/fake_tiktok.py``: the
OAuth connect pages, the unaudited-app notice, the composer's checks, and a video going out
through the worker exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from portevoix.channels import actions, clients
from portevoix.channels.models import Channel, PublishJournal
from portevoix.core.actions import ActionRefused
from portevoix.core.permissions import MATRIX, Role
from portevoix.networks import tiktok
from portevoix.networks.types import Visibility
from portevoix.publishing import actions as publishing
from portevoix.publishing.actions import Upload
from portevoix.publishing.models import Post, Publication
from portevoix.worker import runner
from tests.images import MP4_HEADER
from tests.networks.fake_tiktok import CLIENT_KEY, CLIENT_SECRET, OPEN_ID, FakeTikTok

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    clients.clear()
    with FakeTikTok().running() as server:
        monkeypatch.setattr(tiktok.TikTokNetwork, "api_url", server.url)
        monkeypatch.setattr(tiktok.TikTokNetwork, "auth_url", server.auth_url)
        yield server
    clients.clear()


def start(client, **extra: str):
    url = reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "tiktok"})
    return client.post(
        url,
        {
            "oauth-client_key": CLIENT_KEY,
            "oauth-client_secret": CLIENT_SECRET,
            "channel-name": "Lumière TikTok",
            "channel-strategy_level": "active",
            **extra,
        },
    )


def connect(team, client_for, fake: FakeTikTok, **extra: str) -> Channel:
    client = client_for(team["manager"])
    response = start(client, **extra)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"].startswith(fake.auth_url)
    query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    assert query["client_key"] == CLIENT_KEY and "client_secret" not in query
    fake.codes.add("code-1")
    callback = reverse("channel_oauth_callback", kwargs={"ws": "acme"})
    response = client.get(callback, {"state": query["state"], "code": "code-1"})
    assert response.status_code == 302
    return Channel.objects.get(network="tiktok")


def test_the_oauth_start_page_asks_for_the_app_and_its_audit(team, client_for, fake):
    client = client_for(team["manager"])
    page = client.get(reverse("channel_oauth_start", kwargs={"ws": "acme", "network": "tiktok"}))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="oauth-client_key"' in html and 'name="oauth-client_secret"' in html
    assert 'name="oauth-audited"' in html and 'data-testid="tiktok-audit"' in html
    assert "oauth/callback" in html
    response = start(client, **{"oauth-client_secret": ""})
    assert response.status_code == 400 and not Channel.objects.exists()


def test_connecting_keeps_the_refresh_token_and_the_creators_options(team, client_for, fake):
    channel = connect(team, client_for, fake)
    assert channel.account_id == OPEN_ID and channel.handle == "@lumiere.paris"
    credentials = channel.get_credentials()
    assert credentials.get("refresh_token") in fake.refresh_tokens
    assert credentials.get("audited") == ""
    # The refresh token's end (365 days) is the channel's expiry, not the 24-hour access token.
    assert channel.token_expires_at is not None
    assert channel.cached_limits().max_video_seconds == 300
    assert "SELF_ONLY" in (channel.cached_limits().privacy_levels or ())
    page = client_for(team["manager"]).get(
        reverse("channel_detail", kwargs={"ws": "acme", "pk": channel.pk})
    )
    html = page.content.decode()
    assert 'data-testid="uploads-private"' in html and "TikTok" in html


def test_an_audited_app_says_so(team, client_for, fake):
    channel = connect(team, client_for, fake, **{"oauth-audited": "on"})
    assert channel.get_credentials().get("audited") == "yes"
    page = client_for(team["manager"]).get(
        reverse("channel_detail", kwargs={"ws": "acme", "pk": channel.pk})
    )
    assert 'data-testid="uploads-private"' not in page.content.decode()


@pytest.mark.parametrize("role", [r.value for r in Role if "channel.manage" not in MATRIX[r.value]])
def test_roles_without_channel_management_cannot_start(team, client_for, fake, role):
    response = start(client_for(team[role]))
    assert response.status_code == 403
    assert not fake.requests


def test_the_composer_wants_a_video_or_photos(team, client_for, fake):
    channel = connect(team, client_for, fake)
    with pytest.raises(ActionRefused) as caught:
        publishing.schedule_post(
            team.workspace, by=team["content"], text="Sans vidéo", channels=[channel]
        )
    assert "video" in str(caught.value) or "vidéo" in str(caught.value)
    assert not Post.objects.exists()


def test_a_video_goes_out_once_as_only_me(team, client_for, fake):
    """An unaudited app: the post goes SELF_ONLY; the test server's media address is not
    public, so the video is uploaded (FILE_UPLOAD); one init, one publication."""
    fake.audited = False
    channel = connect(team, client_for, fake)
    video = Upload(filename="defile.mp4", data=MP4_HEADER, mime_type="video/mp4")
    post = publishing.schedule_post(
        team.workspace,
        by=team["admin"],
        text="Le défilé d’hiver, en coulisses",
        channels=[channel],
        uploads=[video],
        # The choices TikTok's audit requires, kept with the version.
        options={channel.pk: {"tiktok_privacy": "SELF_ONLY", "tiktok_consent": "on"}},
    )
    for _ in range(5):
        if not runner.run_once([Publication]):
            break
    publication = Publication.objects.get(post=post)
    assert publication.state == "published", publication.state
    [publish] = fake.publishes.values()
    assert publish["post_info"]["privacy_level"] == "SELF_ONLY"
    assert publish["source"]["source"] == "FILE_UPLOAD"
    assert publication.network_post_id == publish["publish_id"]  # no public id for "only me"
    assert fake.init_posts == 1
    entry = PublishJournal.objects.get(channel=channel)
    assert entry.values["publish_id"] == publish["publish_id"]


def test_connecting_with_a_refresh_token_from_elsewhere(team, client_for, fake):
    client = client_for(team["admin"])
    url = reverse("channel_connect", kwargs={"ws": "acme", "network": "tiktok"})
    html = client.get(url).content.decode()
    assert 'name="cred-client_key"' in html and 'name="cred-refresh_token"' in html
    response = client.post(
        url,
        {
            "cred-client_key": CLIENT_KEY,
            "cred-client_secret": CLIENT_SECRET,
            "cred-refresh_token": "rft.good-tiktok-refresh",
            "channel-strategy_level": "active",
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get(network="tiktok")
    assert channel.handle == "@lumiere.paris"
    # The refresh handed out new tokens: they were stored.
    assert channel.get_credentials().get("access_token") in fake.access_tokens


def test_the_unaudited_refusal_reads_in_french(team, client_for, fake, settings):
    from django.utils import translation

    from portevoix.channels.messages import network_message
    from portevoix.networks.errors import Permanent

    error = Permanent(
        "unaudited", network="tiktok", code="unaudited_client_can_only_post_to_private_accounts"
    )
    with translation.override("fr"):
        text = network_message(error)
    assert "TikTok" in text and "privé" in text and "audit" in text


def test_the_audience_is_chosen_among_the_accounts_options(team, client_for, fake):
    channel = connect(team, client_for, fake, **{"oauth-audited": "on"})
    client = client_for(team["manager"])
    url = reverse("channel_detail", kwargs={"ws": "acme", "pk": channel.pk})
    html = client.get(url).content.decode()
    assert 'name="audience-privacy_level"' in html
    assert 'value="MUTUAL_FOLLOW_FRIENDS"' in html and 'value="FOLLOWER_OF_CREATOR"' not in html
    response = client.post(
        url, {"audience": "1", "audience-privacy_level": "MUTUAL_FOLLOW_FRIENDS"}
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.get_credentials().get("privacy_level") == "MUTUAL_FOLLOW_FRIENDS"
    assert channel.client(verify=False).privacy_for(Visibility.PUBLIC) == "MUTUAL_FOLLOW_FRIENDS"
    from portevoix.core.models import AuditEntry

    entry = AuditEntry.objects.filter(action="channel.update").latest("pk")
    assert entry.after == {"privacy_level": "MUTUAL_FOLLOW_FRIENDS"}
    # A level the account does not offer is refused, nothing changes.
    response = client.post(url, {"audience": "1", "audience-privacy_level": "FOLLOWER_OF_CREATOR"})
    channel.refresh_from_db()
    assert channel.get_credentials().get("privacy_level") == "MUTUAL_FOLLOW_FRIENDS"


@pytest.mark.parametrize("role", [r.value for r in Role if "channel.manage" not in MATRIX[r.value]])
def test_roles_without_channel_management_cannot_choose_the_audience(team, client_for, fake, role):
    channel = connect(team, client_for, fake)
    url = reverse("channel_detail", kwargs={"ws": "acme", "pk": channel.pk})
    client = client_for(team[role])
    response = client.post(url, {"audience": "1", "audience-privacy_level": "SELF_ONLY"})
    assert response.status_code in (403, 404)
    channel.refresh_from_db()
    assert channel.get_credentials().get("privacy_level") == ""
    with pytest.raises(PermissionDenied):
        actions.set_audience(channel, by=team[role], level="SELF_ONLY")


def test_a_post_without_tiktoks_required_choices_is_refused_before_sending(team, client_for, fake):
    """Without a privacy chosen nor the consent, the post is refused where it is made, with
    TikTok's sentences; and should a version lose its choices later, the worker refuses it
    too: nothing reaches TikTok."""
    from portevoix.core.actions import ActionRefused
    from portevoix.publishing.models import Post

    channel = connect(team, client_for, fake)
    video = Upload(filename="defile.mp4", data=MP4_HEADER, mime_type="video/mp4")
    with pytest.raises(ActionRefused) as refused:
        publishing.schedule_post(
            team.workspace,
            by=team["admin"],
            text="Le défilé d’hiver, en coulisses",
            channels=[channel],
            uploads=[video],
        )
    assert "Confirmation d’utilisation de la musique" in refused.value.message
    assert not Post.objects.exists()
    post = publishing.schedule_post(
        team.workspace,
        by=team["admin"],
        text="Le défilé d’hiver, en coulisses",
        channels=[channel],
        uploads=[video],
        options={channel.pk: {"tiktok_privacy": "SELF_ONLY", "tiktok_consent": "on"}},
    )
    Publication.objects.filter(post=post).update(network_options={})
    for _ in range(5):
        if not runner.run_once([Publication]):
            break
    publication = Publication.objects.get(post=post)
    assert publication.state in {"rejected", "failed"}, publication.state
    from portevoix.core.sentences import render

    # The worker checked it in the workspace's language (French here).
    assert "Confirmation d’utilisation de la musique" in render(publication.problem)
    assert fake.init_posts == 0
