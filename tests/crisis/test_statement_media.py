"""Issue 12 §5: a holding statement carries an image or a video, checked against each network's
limits before it leaves, approved by legal with its media, published once per channel.

Instagram, YouTube and TikTok answer from their stateful fakes on loopback (the same fakes as
their contract suites and ``tests/e2e/test_every_network.py``, which count every POST); the
sandbox network counts its own calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.channels import clients
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import Role
from portevoix.crisis import actions, statements
from portevoix.crisis.models import StatementMedia, TimelineEntry
from portevoix.media import actions as media_actions
from portevoix.media.models import Asset
from portevoix.networks import meta, tiktok, youtube
from portevoix.publishing.actions import MediaChoice
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.approvals.models import ApprovalStep, StepState
from portevoix.publishing.models import PostMedia
from portevoix.sandbox import service
from tests.conftest import make_user
from tests.images import image_bytes
from tests.media.test_media import mp4
from tests.networks.fake_facebook import FakeGraph, FakeGraphServer
from tests.networks.fake_tiktok import CLIENT_KEY, CLIENT_SECRET, FakeTikTok
from tests.networks.fake_youtube import FakeYouTube
from tests.publishing.conftest import publish_calls, run_publications


@pytest.fixture(autouse=True)
def _english():
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    before = meta.app()
    clients.clear()
    with (
        FakeGraphServer(FakeGraph()) as graph,
        FakeYouTube(client_secret="secret-1").running() as yt,
        FakeTikTok().running() as tt,
    ):
        graph.graph.add_page("500600700", "Lumière & Co", "lumiereco", "page-token-7-fb")
        graph.graph.add_ig_user("17841400000000555", "lumiere.co", "500600700")
        meta.configure(
            app_id=graph.graph.app_id,
            app_secret=graph.graph.app_secret,
            graph_url=graph.url,
            dialog_url=graph.url,
        )
        monkeypatch.setattr(youtube.YouTubeNetwork, "api_root", yt.url)
        monkeypatch.setattr(youtube.YouTubeNetwork, "token_uri", yt.token_uri)
        monkeypatch.setattr(youtube.YouTubeNetwork, "auth_uri", yt.auth_uri)
        monkeypatch.setattr(youtube, "LEDGER", youtube.QuotaLedger())
        monkeypatch.setattr(tiktok.TikTokNetwork, "api_url", tt.url)
        monkeypatch.setattr(tiktok.TikTokNetwork, "auth_url", tt.auth_url)
        try:
            yield {"graph": graph.graph, "youtube": yt, "tiktok": tt}
        finally:
            meta.configure(
                app_id=before.app_id,
                app_secret=before.app_secret,
                graph_url=before.graph_url,
                dialog_url=before.dialog_url,
            )
            clients.clear()


@pytest.fixture
def legal(team) -> Member:
    return Member.objects.create(
        workspace=team.workspace,
        user=make_user("lawyer@acme.test", "Laure Legal"),
        role=Role.AGENT,
        department=team.department("legal"),
    )


@pytest.fixture
def incident(team):
    return actions.open_incident(
        team.workspace, by=team["manager"], title="Retards de livraison", terms=["retard"]
    )


def sandbox_channel(team, handle: str):
    account = service.create_account(handle, display_name=handle, workspace=team.workspace)
    channel = channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name=handle,
    )
    return account, channel


def connect(team, network: str, name: str, credentials: dict[str, str]):
    return channel_actions.connect_channel(
        team.workspace, by=team["admin"], network=network, credentials=credentials, name=name
    )


def library(team) -> tuple[Asset, Asset]:
    picture = media_actions.upload(
        team.workspace,
        by=team["manager"],
        filename="excuses.jpg",
        data=image_bytes("JPEG", size=(1200, 1200)),
        alt_text="Notre équipe au service client",
    )
    film = media_actions.upload(
        team.workspace, by=team["manager"], filename="excuses.mp4", data=mp4(30.0)
    )
    return picture, film


def waiting_step(statement) -> ApprovalStep:
    return ApprovalStep.objects.get(post=statement.post, state=StepState.WAITING)


TEXT = "Retards de livraison : nous sommes désolés\nNous revenons vers chacun de vous."


def test_instagram_youtube_and_tiktok_take_part_with_an_image_and_a_video(
    team, legal, incident, fakes
) -> None:
    _account, shop = sandbox_channel(team, "acme-shop")
    instagram = connect(
        team,
        "instagram",
        "Instagram",
        {"ig_user_id": "17841400000000555", "page_access_token": "page-token-7-fb"},
    )
    tube = connect(
        team,
        "youtube",
        "YouTube",
        {"client_id": "client-1", "client_secret": "secret-1", "refresh_token": "refresh-1"},
    )
    tok = connect(
        team,
        "tiktok",
        "TikTok",
        {
            "client_key": CLIENT_KEY,
            "client_secret": CLIENT_SECRET,
            "access_token": "act.good-tiktok-token",
            "expires_at": (timezone.now() + dt.timedelta(hours=20)).isoformat(),
            "refresh_token": "rft.good-tiktok-refresh",
            "audited": "yes",
        },
    )
    channels = [shop, instagram, tube, tok]
    ids = [c.pk for c in channels]
    picture, film = library(team)

    # Text alone: each network that cannot take it says why, before anything is sent.
    bare = statements.channel_problems(channels, TEXT, {})
    assert set(bare) == {instagram.pk, tube.pk, tok.pk}
    assert any("image" in p for p in bare[instagram.pk])
    assert any("video" in p for p in bare[tube.pk])
    # TikTok's audit: who sees it and the consent are chosen by a person, never defaulted.
    assert any("Music Usage Confirmation" in p for p in bare[tok.pk])
    # A picture for every channel: YouTube still needs a video (TikTok takes photos too), and
    # TikTok its choices.
    with_picture = statements.channel_problems(channels, TEXT, {}, MediaChoice(picture))
    assert set(with_picture) == {tube.pk, tok.pk}
    chosen = {str(tok.pk): {"tiktok_privacy": "PUBLIC_TO_EVERYONE", "tiktok_consent": "on"}}
    with_picture = statements.channel_problems(
        channels, TEXT, {}, MediaChoice(picture), options=chosen
    )
    assert set(with_picture) == {tube.pk}
    statement = statements.save_statement(
        incident,
        by=team["manager"],
        text=TEXT,
        channel_ids=ids,
        media=MediaChoice(picture),
        network_options=chosen,
    )
    with pytest.raises(ActionRefused) as refused:
        statements.send_to_legal(statement, by=team["manager"])
    assert "YouTube" in refused.value.message and "Instagram" not in refused.value.message
    assert "TikTok" not in refused.value.message

    # The video for YouTube and TikTok (a video post there): every channel takes it as it is.
    own = {tube.pk: MediaChoice(film), tok.pk: MediaChoice(film)}
    assert statements.channel_problems(channels, TEXT, {}, MediaChoice(picture), own, chosen) == {}
    statement = statements.save_statement(
        incident,
        by=team["manager"],
        text=TEXT,
        channel_ids=ids,
        media=MediaChoice(picture),
        channel_media=own,
        statement=statement,
        network_options=chosen,
    )
    assert statement.network_options == chosen
    assert StatementMedia.objects.filter(statement=statement).count() == 3
    statements.send_to_legal(statement, by=team["manager"])
    statement.refresh_from_db()
    # Each channel's variant carries publishing's media: the picture, or its own video.
    post = statement.post
    for publication in post.publications.select_related("channel"):
        kinds = {m.mime_type.split("/")[0] for m in publication.media_rows()}
        assert kinds == ({"video"} if publication.channel_id in own else {"image"})
    run_publications()
    assert fakes["youtube"].posts["/upload/youtube/v3/videos"] == 0  # nothing before legal

    approvals.approve(waiting_step(statement), by=legal)
    for _ in range(4):
        run_publications(times=12)
    states = {p.channel.network: p.state for p in post.publications.select_related("channel")}
    assert states == {
        "sandbox": "published",
        "instagram": "published",
        "youtube": "published",
        "tiktok": "published",
    }, {p.channel.name: (p.state, p.problem) for p in post.publications.all()}
    # Published once per channel, through the delivery engine.
    graph = fakes["graph"]
    assert graph.posts["17841400000000555/media_publish"] == 1  # type: ignore[attr-defined]
    assert fakes["youtube"].posts["/upload/youtube/v3/videos"] == 1  # type: ignore[attr-defined]
    assert fakes["tiktok"].init_posts == 1  # type: ignore[attr-defined]
    assert publish_calls().total() == 1
    # TikTok got the choices made for the statement, not defaults.
    tiktok_post = post.publications.get(channel=tok)
    assert tiktok_post.network_options["tiktok_privacy"] == "PUBLIC_TO_EVERYONE"
    (sent,) = fakes["tiktok"].publishes.values()  # type: ignore[attr-defined]
    assert sent["post_info"]["privacy_level"] == "PUBLIC_TO_EVERYONE"
    run_publications(times=12)
    assert graph.posts["17841400000000555/media_publish"] == 1  # type: ignore[attr-defined]
    assert fakes["youtube"].posts["/upload/youtube/v3/videos"] == 1  # type: ignore[attr-defined]
    assert fakes["tiktok"].init_posts == 1  # type: ignore[attr-defined]
    assert publish_calls().total() == 1


def test_changing_the_media_after_approval_sends_it_back_to_legal(team, legal, incident) -> None:
    shop_account, shop = sandbox_channel(team, "acme-shop")
    care_account, care = sandbox_channel(team, "acme-care")
    picture, _film = library(team)
    other = media_actions.upload(
        team.workspace,
        by=team["manager"],
        filename="magasin.png",
        data=image_bytes("PNG", size=(800, 600)),
    )
    statement = statements.save_statement(
        incident,
        by=team["manager"],
        text=TEXT,
        channel_ids=[shop.pk, care.pk],
        media=MediaChoice(picture),
    )
    statements.send_to_legal(statement, by=team["manager"])
    statement.refresh_from_db()
    first = waiting_step(statement)
    approvals.approve(first, by=legal)
    assert statements.standing(statement).legal_approved
    assert statements.media_changeable(statement)  # approved, not out yet

    # A role that does not write posts may not change them.
    with pytest.raises(PermissionDenied):
        statements.change_media(statement, by=team["analyst"], media=MediaChoice(other))
    with pytest.raises(ActionRefused):  # the same media is no change
        statements.change_media(statement, by=team["manager"], media=MediaChoice(picture))

    statements.change_media(statement, by=team["manager"], media=MediaChoice(other))
    statement.refresh_from_db()
    first.refresh_from_db()
    assert first.state == StepState.LAPSED  # legal's approval was for the other picture
    standing = statements.standing(statement)
    assert standing.code == "waiting" and not standing.legal_approved
    assert set(statement.post.publications.values_list("state", flat=True)) == {"pending_approval"}
    run_publications()
    assert not publish_calls()  # nothing leaves with media legal has not seen
    # The bulk reply waits for legal too.
    with pytest.raises(ActionRefused):
        statements.reply_with_statement(statement, [], by=team["manager"])
    from django.utils import translation

    from portevoix.core.sentences import render

    with translation.override("fr"):  # an entry is read in its reader's language
        said = [
            render(d)
            for d in TimelineEntry.objects.filter(incident=incident, kind="statement").values_list(
                "detail", flat=True
            )
        ]
    assert any("renvoyée au juridique" in d for d in said)

    approvals.approve(waiting_step(statement), by=legal)
    run_publications()
    assert publish_calls(shop_account).total() == 1 and publish_calls(care_account).total() == 1
    media = PostMedia.objects.filter(post=statement.post, publication__isnull=True)
    assert [m.asset_id for m in media] == [other.pk]
    # Out everywhere: nothing left whose media could change.
    assert not statements.media_changeable(statement)
    with pytest.raises(ActionRefused):
        statements.change_media(statement, by=team["manager"], media=MediaChoice(picture))


def test_a_media_item_of_another_workspace_is_refused(team, incident) -> None:
    from tests.conftest import make_team

    _account, shop = sandbox_channel(team, "acme-shop")
    elsewhere = make_team(slug="ailleurs")
    foreign = media_actions.upload(
        elsewhere.workspace,
        by=elsewhere["manager"],
        filename="x.png",
        data=image_bytes("PNG", size=(100, 100)),
    )
    with pytest.raises(ActionRefused) as refused:
        statements.save_statement(
            incident,
            by=team["manager"],
            text=TEXT,
            channel_ids=[shop.pk],
            media=MediaChoice(foreign),
        )
    assert refused.value.field == "media"


def test_the_page_uploads_the_media_and_keeps_what_was_typed(team, client_for, incident) -> None:
    _account, shop = sandbox_channel(team, "acme-shop")
    client = client_for(team["manager"])
    url = reverse("crisis_statement", kwargs={"ws": team.workspace.slug, "pk": incident.pk})
    # A file that is no image nor video: the error in place, the text kept.
    bad = client.post(
        url,
        {
            "text": TEXT,
            "channels": [str(shop.pk)],
            "op": "save",
            "media_file": SimpleUploadedFile("notes.txt", b"not an image", "image/png"),
        },
    )
    assert bad.status_code == 400
    assert "Retards de livraison" in bad.content.decode()
    assert "media_file_error" in bad.content.decode()
    assert not incident.statements.exists()

    good = client.post(
        url,
        {
            "text": TEXT,
            "channels": [str(shop.pk)],
            "op": "save",
            "media_alt": "Notre équipe",
            "media_file": SimpleUploadedFile(
                "equipe.png", image_bytes("PNG", size=(800, 600)), "image/png"
            ),
        },
    )
    assert good.status_code == 302
    statement = incident.statements.get()
    common, own = statements.media_of(statement)
    assert common is not None and common.asset.name == "equipe.png" and own == {}
    assert common.alt_text == "Notre équipe"
    page = client.get(url)
    assert f'data-media="{common.asset.pk}"' in page.content.decode()


def test_the_page_takes_library_media_and_changes_them_after_approval(
    team, legal, incident, client_for
) -> None:
    _account, shop = sandbox_channel(team, "acme-shop")
    _other, care = sandbox_channel(team, "acme-care")
    picture, film = library(team)
    client = client_for(team["manager"])
    url = reverse("crisis_statement", kwargs={"ws": team.workspace.slug, "pk": incident.pk})
    page = client.get(url).content.decode()
    assert 'name="asset"' in page and f'value="{picture.pk}"' in page  # the library offered
    sent = client.post(
        url,
        {
            "text": TEXT,
            "channels": [str(shop.pk), str(care.pk)],
            "asset": str(picture.pk),
            f"media_{care.pk}": str(film.pk),
            "op": "send",
        },
    )
    assert sent.status_code == 302
    statement = incident.statements.get()
    common, own = statements.media_of(statement)
    assert common is not None and common.asset == picture and own[care.pk].asset == film
    approvals.approve(waiting_step(statement), by=legal)
    page = client.get(url).content.decode()
    assert 'id="change-media"' in page  # approved, not out yet: its media may change
    changed = client.post(
        url, {"statement": str(statement.pk), "op": "media", "asset": str(picture.pk)}
    )
    assert changed.status_code == 302
    assert statements.standing(statement).code == "waiting"
    assert statements.media_of(statement) == (MediaChoice(picture), {})


def test_the_page_asks_tiktok_s_choices_and_keeps_them(team, client_for, incident, fakes) -> None:
    """TikTok's audit asks whoever posts to choose who sees the video and to consent: the
    statement page shows the composer's TikTok panel, read from the creator's account, and
    keeps what was chosen; without a choice, the page says what TikTok would refuse."""
    tok = connect(
        team,
        "tiktok",
        "TikTok",
        {
            "client_key": CLIENT_KEY,
            "client_secret": CLIENT_SECRET,
            "access_token": "act.good-tiktok-token",
            "expires_at": (timezone.now() + dt.timedelta(hours=20)).isoformat(),
            "refresh_token": "rft.good-tiktok-refresh",
            "audited": "yes",
        },
    )
    picture, _film = library(team)
    client = client_for(team["manager"])
    url = reverse("crisis_statement", kwargs={"ws": team.workspace.slug, "pk": incident.pk})
    page = client.get(url).content.decode()
    prefix = f"v{tok.pk}-"
    assert f'data-testid="tiktok-choices-{tok.pk}"' in page
    assert f'name="{prefix}tiktok_privacy"' in page
    form = {"text": TEXT, "channels": [str(tok.pk)], "asset": str(picture.pk)}
    # Sent to legal with nothing chosen: refused with TikTok's reason, the text kept.
    refused = client.post(url, {**form, "op": "send"})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "confirmez que vous acceptez" in body and "Retards de livraison" in body  # French page
    draft = incident.statements.get()  # kept as a draft, not with legal
    assert draft.post_id is None and draft.network_options == {}
    # Chosen: saved with the statement, and shown chosen again.
    saved = client.post(
        url,
        {
            **form,
            "statement": str(draft.pk),
            "op": "save",
            prefix + "tiktok_privacy": "MUTUAL_FOLLOW_FRIENDS",
            prefix + "tiktok_consent": "on",
        },
    )
    assert saved.status_code == 302
    statement = incident.statements.get()
    assert statement.network_options == {
        str(tok.pk): {"tiktok_privacy": "MUTUAL_FOLLOW_FRIENDS", "tiktok_consent": "on"}
    }
    page = client.get(url).content.decode()
    assert 'value="MUTUAL_FOLLOW_FRIENDS" selected' in page
    assert "data-ok" in page
