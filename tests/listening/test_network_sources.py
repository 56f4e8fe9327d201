"""YouTube, Instagram and X as listening sources: recorded HTTP built from each network's
documentation (``fixtures/networks/``, the source beside each file; the networks' own error
fixtures from ``tests/networks/fixtures/``), the rows the worker leases, the sources page."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from django.urls import reverse
from django.utils import timezone, translation

from portevoix.channels.models import Channel
from portevoix.core.sentences import render
from portevoix.listening import actions, instagram_source, pushdown, sources, x_source
from portevoix.listening import youtube_source as yt
from portevoix.listening.models import (
    InstagramHashtagUse,
    ListeningQuery,
    ListeningSource,
    Mention,
)
from portevoix.networks import meta
from portevoix.networks.types import Credentials
from portevoix.networks.youtube import TOKEN_URI, next_quota_reset
from portevoix.worker import runner
from tests.conftest import ALL_ROLES, Team, signed_in

pytestmark = pytest.mark.django_db

HERE = Path(__file__).parent / "fixtures/networks"
NETWORKS = Path(__file__).parent.parent / "networks/fixtures"


def fixture(name: str, *, where: Path = HERE) -> httpx.Response:
    data = json.loads((where / name).read_text())
    return httpx.Response(data["status"], json=data["body"], headers=data.get("headers") or {})


def far() -> str:
    return (timezone.now() + dt.timedelta(hours=1)).isoformat()


@pytest.fixture
def brand(team: Team) -> ListeningQuery:
    return actions.create_query(
        team.workspace, by=team["admin"], name="Marque", kind="brand", text="acme OR #acme"
    )


def channel(team: Team, network: str, credentials: dict[str, str], account: str) -> Channel:
    row = Channel(
        workspace=team.workspace,
        network=network,
        name=f"{network} Acme",
        handle="@acme",
        account_id=account,
    )
    row.set_credentials(Credentials(credentials))
    row.save()
    return row


@pytest.fixture
def youtube_channel(team: Team) -> Channel:
    return channel(
        team,
        "youtube",
        {
            "client_id": "cid",
            "client_secret": "secret",
            "refresh_token": "1//refresh",
            "access_token": "ya29.current",
            "expires_at": far(),
        },
        "UCacmeacmeacmeacmeacme00",
    )


@pytest.fixture
def x_channel(team: Team) -> Channel:
    return channel(
        team,
        "x",
        {
            "access_token": "x-current",
            "refresh_token": "x-refresh",
            "client_id": "xc",
            "expires_at": far(),
        },
        "2244994945",
    )


IG_USER = "17841405309211844"


@pytest.fixture
def instagram_channel(team: Team) -> Channel:
    return channel(
        team, "instagram", {"ig_user_id": IG_USER, "page_access_token": "EAA-page"}, IG_USER
    )


SEARCH = f"{yt.api_url('search')}"
CHANNELS = f"{yt.api_url('channels')}"


# --- pushing the queries down ----------------------------------------------------------------


def test_what_x_and_youtube_can_be_asked_and_what_is_filtered_here() -> None:
    text = '"lumière cosmétiques" OR #lumiere OR (sérum AND éclat) -author:lumiere_off lang:fr'
    query, local = pushdown.compile_one(text, "x")
    assert query == (
        '"lumiere cosmetiques" OR #lumiere OR ((serum eclat) -from:lumiere_off lang:fr)'
    )
    assert local == []
    query, local = pushdown.compile_one(text, "youtube")
    assert query == '"lumiere cosmetiques"|#lumiere|serum'  # no groups: a broader question
    assert any("lang:fr" in line for line in local)
    # A prefix cannot be asked: in an AND it is left out (broader), in an OR the OR cannot.
    assert pushdown.compile_one("acme lumi*", "x")[0] == "acme"
    assert pushdown.compile_one("lumi* OR acme", "x")[0] is None
    # X needs a standalone operator: a language alone is not a query.
    assert pushdown.compile_one("lumi* lang:fr", "x")[0] is None
    assert pushdown.compile_one('"livraison retard"~5', "x")[0] == "livraison retard"
    combined = pushdown.compile_queries([("a", "acme OR #acme"), ("b", "lumi*")], "x")
    assert combined.text == "acme OR #acme" and combined.left_out == ["b"]


def test_a_query_x_cannot_be_asked_is_refused_when_the_source_is_added(
    team: Team, x_channel: Channel
) -> None:
    query = actions.create_query(
        team.workspace, by=team["admin"], name="Préfixe", kind="brand", text="lumi*"
    )
    with pytest.raises(actions.ActionRefused) as refused:
        actions.add_source(
            team.workspace,
            by=team["manager"],
            kind="x-search",
            channel_id=x_channel.pk,
            query_id=query.pk,
        )
    assert refused.value.field == "query"


# --- YouTube ---------------------------------------------------------------------------------


def youtube_row(team: Team, channel: Channel) -> ListeningSource:
    return actions.add_source(
        team.workspace, by=team["manager"], kind="youtube-search", channel_id=channel.pk
    )


@respx.mock
def test_youtube_first_read_then_resume_from_the_cursor_after_a_restart(
    team: Team, brand: ListeningQuery, youtube_channel: Channel
) -> None:
    source = youtube_row(team, youtube_channel)
    search = respx.get(SEARCH).mock(return_value=fixture("youtube_search.json"))
    channels = respx.get(CHANNELS).mock(return_value=fixture("youtube_channels.json"))
    read, stored = yt.read_slice(source)
    asked = search.calls[0].request
    assert asked.headers["Authorization"] == "Bearer ya29.current"
    params = asked.url.params
    assert params["type"] == "video" and params["order"] == "date"
    assert params["q"] == "acme|#acme"
    assert "publishedAfter" not in params  # the first read: the newest page, listening starts
    assert len(search.calls) == 1  # ... and only it, though a next page exists
    assert (read, stored) == (3, 2)
    # The reach: only the channels of the videos that matched, in one call.
    assert parse_qs(urlsplit(str(channels.calls[0].request.url)).query)["id"] == [
        "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    ]
    mention = Mention.objects.get(external_id="Ks-_Mh1QhMc")
    assert mention.author_reach == 24300 and mention.author_handle == "@clarabeaute"
    assert mention.text.startswith("Mon avis sur le sérum Acme\nJ'ai testé")  # unescaped
    assert mention.url == "https://www.youtube.com/watch?v=Ks-_Mh1QhMc"
    assert mention.language == "fr" and mention.sentiment and mention.intent
    # What a restarted process sees: the cursor and the units spent (100 + 1).
    source = ListeningSource.objects.get(pk=source.pk)
    assert source.cursor == "2026-12-01T10:05:00Z"
    assert source.units_spent == 101

    search.mock(return_value=fixture("youtube_search_newer.json"))
    read, stored = yt.read_slice(source)
    params = search.calls[1].request.url.params
    assert params["publishedAfter"] == "2026-12-01T09:05:00Z"  # an hour before the cursor
    assert (read, stored) == (1, 1)  # the video read again is not a second mention
    assert Mention.objects.filter(external_id="Ks-_Mh1QhMc").count() == 1
    assert Mention.objects.filter(network="youtube").count() == 3
    source.refresh_from_db()
    assert source.cursor == "2026-12-01T11:30:00Z" and source.items_read == 4


@respx.mock
def test_a_failing_channels_call_costs_the_reach_not_the_mention(
    team: Team, brand: ListeningQuery, youtube_channel: Channel
) -> None:
    source = youtube_row(team, youtube_channel)
    respx.get(SEARCH).mock(return_value=fixture("youtube_search.json"))
    respx.get(CHANNELS).mock(return_value=httpx.Response(503))
    yt.read_slice(source)
    assert {m.author_reach for m in Mention.objects.all()} == {0}
    assert Mention.objects.get(external_id="Ks-_Mh1QhMc").author_handle == "Clara Beauté"


@respx.mock
def test_youtube_source_budget_stops_it_until_midnight_pacific(
    team: Team, brand: ListeningQuery, youtube_channel: Channel, settings: Any
) -> None:
    settings.PORTEVOIX_YOUTUBE_LISTENING_UNITS = 150  # one search a day
    source = youtube_row(team, youtube_channel)
    search = respx.get(SEARCH).mock(return_value=fixture("youtube_search.json"))
    respx.get(CHANNELS).mock(return_value=fixture("youtube_channels.json"))
    assert runner.run_once([ListeningSource]) >= 1
    source.refresh_from_db()
    assert source.waiting_until is None and source.units_spent == 101
    ListeningSource.objects.filter(pk=source.pk).update(next_attempt_at=timezone.now())
    runner.run_once([ListeningSource])
    source.refresh_from_db()
    assert len(search.calls) == 1  # no second call: the budget would not pay it
    assert source.state == "reading" and source.attempts == 0
    assert source.waiting_until == next_quota_reset(timezone.now())
    assert source.next_attempt_at == source.waiting_until
    page = signed_in(team["viewer"].user).get(
        reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    )
    assert "épuisé jusqu’à minuit, heure du Pacifique" in page.content.decode()


@respx.mock
def test_googles_quota_exceeded_puts_the_source_in_the_same_state(
    team: Team, brand: ListeningQuery, youtube_channel: Channel
) -> None:
    source = youtube_row(team, youtube_channel)
    respx.get(SEARCH).mock(
        return_value=fixture("error_quota_exceeded.json", where=NETWORKS / "youtube")
    )
    runner.run_once([ListeningSource])
    source.refresh_from_db()
    assert source.state == "reading" and source.attempts == 0
    assert source.waiting_until == next_quota_reset(timezone.now())
    assert source.units_spent == yt.budget()  # nothing more is tried today
    # Google's word holds for the project: its channels' next calls are refused unsent.
    from portevoix.channels.quota import DatabaseLedger
    from portevoix.networks.errors import RateLimited

    with pytest.raises(RateLimited):
        DatabaseLedger().spend("cid", "units", 1, 10_000, timezone.now(), label="a reply")
    with timezone.override("UTC"):
        page = signed_in(team["manager"].user).get(
            reverse("listening_sources", kwargs={"ws": team.workspace.slug})
        )
    assert "quota YouTube du projet Google" in page.content.decode()


@respx.mock
def test_listenings_searches_spend_the_google_projects_quota_with_publishing(
    team: Team, brand: ListeningQuery, youtube_channel: Channel
) -> None:
    """One Google project, one budget: the channel's client (publishing, replies) and the
    searches count in the same ledger, in the database, so any process sees them."""
    from portevoix.channels.quota import DatabaseLedger

    source = youtube_row(team, youtube_channel)
    search = respx.get(SEARCH).mock(return_value=fixture("youtube_search.json"))
    respx.get(CHANNELS).mock(return_value=fixture("youtube_channels.json"))
    yt.read_slice(source)
    now = timezone.now()
    client = youtube_channel.client(verify=False)
    assert isinstance(client.ledger, DatabaseLedger)  # type: ignore[attr-defined]
    assert DatabaseLedger().spent("cid", "units", now) == 101  # a search and the reach
    # Publishing (another process) spends the rest of the day's quota: the next search
    # waits for midnight Pacific without calling Google.
    DatabaseLedger().spend("cid", "units", 10_000 - 101, 10_000, now, label="publishing")
    ListeningSource.objects.filter(pk=source.pk).update(next_attempt_at=timezone.now())
    runner.run_once([ListeningSource])
    source.refresh_from_db()
    assert len(search.calls) == 1
    assert source.waiting_until == next_quota_reset(timezone.now())


@respx.mock
def test_an_expired_youtube_token_is_renewed_once_then_the_source_asks_to_reconnect(
    team: Team, brand: ListeningQuery, youtube_channel: Channel
) -> None:
    source = youtube_row(team, youtube_channel)
    token = respx.post(TOKEN_URI).mock(
        return_value=fixture("token_refresh.json", where=NETWORKS / "youtube")
    )
    search = respx.get(SEARCH).mock(
        side_effect=[
            fixture("error_auth.json", where=NETWORKS / "youtube"),
            fixture("youtube_search.json"),
        ]
    )
    respx.get(CHANNELS).mock(return_value=fixture("youtube_channels.json"))
    yt.read_slice(source)
    assert token.call_count == 1
    assert search.calls[1].request.headers["Authorization"] == "Bearer ya29.a0-refreshed-token"
    youtube_channel.refresh_from_db()  # the new token is the channel's
    assert youtube_channel.get_credentials().get("access_token") == "ya29.a0-refreshed-token"

    token.mock(return_value=fixture("token_invalid_grant.json", where=NETWORKS / "youtube"))
    search.side_effect = None
    search.mock(return_value=fixture("error_auth.json", where=NETWORKS / "youtube"))
    ListeningSource.objects.filter(pk=source.pk).update(next_attempt_at=timezone.now())
    runner.run_once([ListeningSource])
    source.refresh_from_db()
    assert source.state == "failed"
    page = signed_in(team["manager"].user).get(
        reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    )
    assert "reconnectez la chaîne" in page.content.decode()


# --- X ---------------------------------------------------------------------------------------

X_SEARCH = "https://api.x.com/2/tweets/search/recent"


def x_row(team: Team, channel: Channel) -> ListeningSource:
    return actions.add_source(
        team.workspace, by=team["manager"], kind="x-search", channel_id=channel.pk
    )


@respx.mock
def test_x_first_read_then_since_id_after_a_restart(
    team: Team, brand: ListeningQuery, x_channel: Channel
) -> None:
    source = x_row(team, x_channel)
    route = respx.get(X_SEARCH).mock(return_value=fixture("x_search_recent.json"))
    assert x_source.read_slice(source) == (2, 1)
    params = route.calls[0].request.url.params
    assert params["query"] == "acme OR #acme"
    assert params["expansions"] == "author_id" and "public_metrics" in params["user.fields"]
    assert "since_id" not in params
    assert route.calls[0].request.headers["Authorization"] == "Bearer x-current"
    mention = Mention.objects.get(network="x")
    assert mention.author_handle == "clara_b" and mention.author_reach == 5321
    assert mention.url == "https://x.com/clara_b/status/1460323737035677698"
    source = ListeningSource.objects.get(pk=source.pk)  # after a restart
    assert source.cursor == "1460323737035677698"

    route.mock(return_value=fixture("x_search_recent_newer.json"))
    x_source.read_slice(source)
    assert route.calls[1].request.url.params["since_id"] == "1460323737035677698"
    route.mock(return_value=fixture("x_search_recent_empty.json"))
    assert x_source.read_slice(ListeningSource.objects.get(pk=source.pk)) == (0, 0)
    assert route.calls[2].request.url.params["since_id"] == "1460323737035677700"
    assert Mention.objects.filter(network="x").count() == 2


@pytest.mark.parametrize(
    "answer",
    [("error_403_not_enrolled.json", NETWORKS / "x"), ("x_error_403_forbidden.json", HERE)],
)
@respx.mock
def test_x_without_a_paid_plan_stops_that_source_and_no_other(
    team: Team,
    brand: ListeningQuery,
    x_channel: Channel,
    youtube_channel: Channel,
    answer: tuple[str, Path],
) -> None:
    x = x_row(team, x_channel)
    youtube = youtube_row(team, youtube_channel)
    respx.get(X_SEARCH).mock(return_value=fixture(answer[0], where=answer[1]))
    respx.get(SEARCH).mock(return_value=fixture("youtube_search.json"))
    respx.get(CHANNELS).mock(return_value=fixture("youtube_channels.json"))
    runner.run_once([ListeningSource])
    x.refresh_from_db()
    youtube.refresh_from_db()
    assert x.state == "failed"
    assert youtube.state == "reading" and youtube.items_read == 3  # not blinded
    page = signed_in(team["viewer"].user).get(
        reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    )
    assert "Cette application X n’a pas accès à la recherche" in page.content.decode()
    with translation.override("en"):  # the same words in the reader's language
        assert render(x.problem) == "This X app has no access to search (paid plan needed)."


@respx.mock
def test_x_rate_limit_waits_for_its_reset(
    team: Team, brand: ListeningQuery, x_channel: Channel
) -> None:
    source = x_row(team, x_channel)
    respx.get(X_SEARCH).mock(return_value=fixture("error_429.json", where=NETWORKS / "x"))
    runner.run_once([ListeningSource])
    source.refresh_from_db()
    reset = dt.datetime.fromtimestamp(4102444800, dt.UTC)
    assert source.state == "reading" and source.attempts == 0
    assert source.waiting_until == reset and source.next_attempt_at == reset


@respx.mock
def test_an_expired_x_token_is_refreshed_and_stored(
    team: Team, brand: ListeningQuery, x_channel: Channel
) -> None:
    credentials = x_channel.get_credentials().replace(
        expires_at=(timezone.now() - dt.timedelta(minutes=1)).isoformat()
    )
    x_channel.set_credentials(credentials)
    x_channel.save()
    source = x_row(team, x_channel)
    token = respx.post("https://api.x.com/2/oauth2/token").mock(
        return_value=fixture("token.json", where=NETWORKS / "x")
    )
    route = respx.get(X_SEARCH).mock(return_value=fixture("x_search_recent.json"))
    x_source.read_slice(source)
    assert token.call_count == 1
    fresh = json.loads((NETWORKS / "x/token.json").read_text())["body"]["access_token"]
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {fresh}"
    x_channel.refresh_from_db()
    assert x_channel.get_credentials().get("access_token") == fresh


# --- Instagram -------------------------------------------------------------------------------

GRAPH = f"{meta.DEFAULT_GRAPH_URL}/{meta.GRAPH_VERSION}"


@respx.mock
def test_instagram_hashtag_first_read_and_resume(
    team: Team, brand: ListeningQuery, instagram_channel: Channel
) -> None:
    source = actions.add_source(
        team.workspace,
        by=team["manager"],
        kind="instagram-hashtag",
        channel_id=instagram_channel.pk,
        target="#Acme",
    )
    assert source.target == "acme"
    search = respx.get(f"{GRAPH}/ig_hashtag_search").mock(
        return_value=fixture("ig_hashtag_search.json")
    )
    media = respx.get(f"{GRAPH}/17843857450040591/recent_media").mock(
        return_value=fixture("ig_recent_media.json")
    )
    assert instagram_source.read_hashtag_slice(source) == (2, 2)
    assert search.calls[0].request.url.params["q"] == "acme"
    assert search.calls[0].request.url.params["user_id"] == IG_USER
    assert media.calls[0].request.url.params["user_id"] == IG_USER
    mention = Mention.objects.get(external_id="17880997618081620")
    assert mention.network == "instagram" and mention.author_handle == ""
    assert mention.url == "https://www.instagram.com/p/B3cX1Y2Z3a/"
    source = ListeningSource.objects.get(pk=source.pk)
    assert source.cursor == "2026-12-01T10:05:00Z"
    # The next read: the hashtag's id is known (no second search); nothing new is stored.
    assert instagram_source.read_hashtag_slice(source) == (0, 0)
    assert search.call_count == 1
    assert Mention.objects.filter(network="instagram").count() == 2


def test_a_31st_hashtag_of_the_week_is_refused_when_added(
    team: Team, instagram_channel: Channel
) -> None:
    now = timezone.now()
    InstagramHashtagUse.objects.bulk_create(
        [
            InstagramHashtagUse(
                account_id=IG_USER, hashtag=f"tag{i}", first_used_at=now - dt.timedelta(days=6)
            )
            for i in range(30)
        ]
    )
    client = signed_in(team["manager"].user)
    url = reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    response = client.post(
        url, {"kind": "instagram-hashtag", "channel": instagram_channel.pk, "target": "acme"}
    )
    assert response.status_code == 400
    assert "30 hashtags différents" in response.content.decode()
    assert 'value="acme"' in response.content.decode()
    # One already searched this week costs nothing more: it is accepted.
    response = client.post(
        url, {"kind": "instagram-hashtag", "channel": instagram_channel.pk, "target": "tag3"}
    )
    assert response.status_code == 302
    # A week later the oldest frees up.
    InstagramHashtagUse.objects.filter(hashtag="tag0").update(
        first_used_at=now - dt.timedelta(days=8)
    )
    response = client.post(
        url, {"kind": "instagram-hashtag", "channel": instagram_channel.pk, "target": "acme"}
    )
    assert response.status_code == 302


@respx.mock
def test_graphs_refusal_of_the_hashtag_limit_stops_the_source_with_words(
    team: Team, instagram_channel: Channel
) -> None:
    source = actions.add_source(
        team.workspace,
        by=team["manager"],
        kind="instagram-hashtag",
        channel_id=instagram_channel.pk,
        target="acme",
    )
    respx.get(f"{GRAPH}/ig_hashtag_search").mock(
        return_value=fixture("ig_error_hashtag_limit.json")
    )
    runner.run_once([ListeningSource])
    source.refresh_from_db()
    assert source.state == "failed"
    page = signed_in(team["manager"].user).get(
        reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    )
    assert "30 hashtags différents" in page.content.decode()


@respx.mock
def test_instagram_expired_token_stops_the_source(team: Team, instagram_channel: Channel) -> None:
    source = actions.add_source(
        team.workspace, by=team["manager"], kind="instagram-tags", channel_id=instagram_channel.pk
    )
    respx.get(f"{GRAPH}/{IG_USER}/tags").mock(
        return_value=fixture("error_190.json", where=NETWORKS / "instagram")
    )
    runner.run_once([ListeningSource])
    source.refresh_from_db()
    assert source.state == "failed"
    assert "reconnect" in source.problem


@respx.mock
def test_tagged_media_the_inbox_took_in_are_left_to_it(
    team: Team, instagram_channel: Channel
) -> None:
    from portevoix.inbox.models import InboundMessage

    actions.create_query(
        team.workspace, by=team["admin"], name="Soirée", kind="brand", text="soiree"
    )
    source = actions.add_source(
        team.workspace, by=team["manager"], kind="instagram-tags", channel_id=instagram_channel.pk
    )
    respx.get(f"{GRAPH}/{IG_USER}/tags").mock(
        return_value=fixture("tags.json", where=NETWORKS / "instagram")
    )
    InboundMessage.objects.create(
        channel=instagram_channel,
        message_id="18000000000000042",
        kind="mention",
        created_at=timezone.now(),
    )
    assert instagram_source.read_tags_slice(source) == (0, 0)
    InboundMessage.objects.all().delete()
    ListeningSource.objects.filter(pk=source.pk).update(cursor="")
    assert instagram_source.read_tags_slice(ListeningSource.objects.get(pk=source.pk)) == (1, 1)
    assert Mention.objects.get().author_handle == "marie.durand"


# --- the page --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_listening_managers_add_network_sources(
    team: Team, brand: ListeningQuery, x_channel: Channel, role: str
) -> None:
    client = signed_in(team[role].user)
    url = reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    response = client.post(url, {"kind": "x-search", "channel": x_channel.pk, "query": brand.pk})
    if role in ("admin", "manager", "analyst"):
        assert response.status_code == 302
        assert ListeningSource.objects.filter(kind="x-search").exists()
    else:
        assert response.status_code == 403
        assert not ListeningSource.objects.filter(kind="x-search").exists()


def test_a_channel_of_another_network_or_workspace_is_refused(
    team: Team, brand: ListeningQuery, x_channel: Channel
) -> None:
    client = signed_in(team["manager"].user)
    url = reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    response = client.post(url, {"kind": "youtube-search", "channel": x_channel.pk})
    assert response.status_code == 400
    other = Channel.objects.create(
        workspace=team.outsider.workspace, network="x", name="Autre", account_id="9"
    )
    response = client.post(url, {"kind": "x-search", "channel": other.pk})
    assert response.status_code == 400
    assert not ListeningSource.objects.filter(kind__in=["x-search", "youtube-search"]).exists()


def test_the_page_shows_what_the_network_is_asked_to_its_workspace_only(
    team: Team, brand: ListeningQuery, x_channel: Channel
) -> None:
    actions.create_query(
        team.workspace, by=team["admin"], name="Préfixe", kind="product", text="sérum lumi*"
    )
    actions.add_source(team.workspace, by=team["manager"], kind="x-search", channel_id=x_channel.pk)
    url = reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    page = signed_in(team["viewer"].user).get(url).content.decode()
    assert "(acme OR #acme) OR serum" in page
    assert "lumi*" in page  # said to be filtered here
    outsider = signed_in(team.outsider.user).get(
        reverse("listening_sources", kwargs={"ws": team.outsider.workspace.slug})
    )
    assert "acme OR #acme" not in outsider.content.decode()


def test_quota_day_is_pacific() -> None:
    # 07:30 UTC on 2 December is still 1 December in California.
    assert yt.quota_day(dt.datetime(2026, 12, 2, 7, 30, tzinfo=dt.UTC)) == "2026-12-01"
    assert sources.PAUSE["x-search"] == 300


def test_a_youtube_channel_without_its_refresh_token_stops_the_source_with_words(
    team: Team, brand: ListeningQuery
) -> None:
    broken = channel(team, "youtube", {"client_id": "cid", "access_token": "old"}, "UCbroken")
    source = youtube_row(team, broken)
    with respx.mock:  # nothing may reach the network
        runner.run_once([ListeningSource])
    source.refresh_from_db()
    assert source.state == "failed" and source.attempts == 0
    with translation.override("en"):
        assert "must be reconnected" in render(source.problem)
