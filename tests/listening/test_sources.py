"""Listening's sources: Jetstream replayed from loopback, Mastodon from recorded HTTP, the rows
that one process at a time leases, the sources page. Fixtures: ``fixtures/README.md``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from django.urls import reverse
from django.utils import timezone
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from portevoix.core.actions import ActionRefused
from portevoix.listening import actions, jetstream, mastodon_source, sources
from portevoix.listening.models import ListeningQuery, ListeningSource, Mention
from portevoix.worker import runner
from portevoix.worker.models import LeaseLost
from tests.conftest import ALL_ROLES, Team, signed_in

pytestmark = pytest.mark.django_db

FRAMES = [
    json.loads(line)
    for line in (Path(__file__).parent / "fixtures/jetstream_frames.jsonl").read_text().splitlines()
]
#: The posts of the recorded frames that name Acme (created, of app.bsky.feed.post).
ACME_POSTS = {
    "at://did:plc:eygmaihciaxprqvxpfvl6flk/app.bsky.feed.post/3l3qo2vuowo2b",
    "at://did:plc:ufbl4k27gp6kzas5glhz7fim/app.bsky.feed.post/3l3qo2vuowo2e",
    "at://did:plc:q6gjnaw2blty4crticxkmujt/app.bsky.feed.post/3l3qo2vuowo2f",
    "at://did:plc:q6gjnaw2blty4crticxkmujt/app.bsky.feed.post/3l3qo2vuowo2g",
}


@pytest.fixture
def brand(team: Team) -> ListeningQuery:
    return actions.create_query(
        team.workspace, by=team["admin"], name="Marque", kind="brand", text="acme OR #acme"
    )


class JetstreamReplay:
    """A loopback Jetstream: replays the recorded frames from the ``cursor`` asked (unix
    microseconds), as Jetstream does; the first connection may be cut after some frames."""

    def __init__(self, frames: list[dict[str, Any]], *, cut_first_after: int | None = None):
        self.frames = frames
        self.cut_first_after = cut_first_after
        self.queries: list[dict[str, list[str]]] = []
        self.server = serve(self.handler, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        port = self.server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/subscribe"

    def handler(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)  # type: ignore[union-attr]
        self.queries.append(query)
        cursor = int(query["cursor"][0]) if "cursor" in query else 0
        wanted = set(query.get("wantedCollections", []))
        frames = [
            f
            for f in self.frames
            if f["time_us"] >= cursor
            and (f["kind"] != "commit" or not wanted or f["commit"]["collection"] in wanted)
        ]
        for index, frame in enumerate(frames):
            if len(self.queries) == 1 and self.cut_first_after == index:
                ws.close(code=1011, reason="going away")  # the disconnect
                return
            ws.send(json.dumps(frame))
        try:
            while True:
                ws.recv()
        except ConnectionClosed:
            pass

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def replay() -> Iterator[JetstreamReplay]:
    server = JetstreamReplay(FRAMES, cut_first_after=3)
    yield server
    server.close()


def jetstream_source(url: str) -> ListeningSource:
    return ListeningSource.objects.create(
        name="jetstream-test", network="bluesky", kind="jetstream", url=url
    )


def test_jetstream_disconnect_and_resume_from_the_cursor_loses_nothing_and_repeats_nothing(
    team: Team, brand: ListeningQuery, replay: JetstreamReplay
) -> None:
    source = jetstream_source(replay.url)
    # First connection: three frames, then the server cuts it.
    read, stored = jetstream.read_slice(source, seconds=5)
    assert replay.queries[0]["wantedCollections"] == ["app.bsky.feed.post"]
    assert "cursor" not in replay.queries[0]
    assert (read, stored) == (2, 1)  # two posts among the three frames; one names Acme
    source = ListeningSource.objects.get(pk=source.pk)  # what a restarted process sees
    assert source.cursor == str(FRAMES[2]["time_us"])

    # The next slice reconnects from the cursor minus the overlap, and reads the rest.
    jetstream.read_slice(source, seconds=5, max_events=len(FRAMES))
    asked = int(replay.queries[1]["cursor"][0])
    assert asked == FRAMES[2]["time_us"] - jetstream.OVERLAP_US
    mentions = Mention.objects.filter(workspace=team.workspace)
    assert {m.external_id for m in mentions} == ACME_POSTS  # no loss
    assert mentions.count() == len(ACME_POSTS)  # the frames read twice are one mention each
    first = mentions.get(external_id__endswith="3l3qo2vuowo2b")
    assert first.author_handle == "clara.bsky.social"  # from the identity frame
    assert first.language == "fr"
    assert (
        first.url == "https://bsky.app/profile/did:plc:eygmaihciaxprqvxpfvl6flk/post/3l3qo2vuowo2b"
    )
    source.refresh_from_db()
    assert source.cursor == str(FRAMES[-1]["time_us"])
    assert source.mentions_stored == len(ACME_POSTS)
    assert source.last_event_at is not None and source.lag_seconds is not None


# The shape of ``app.bsky.actor.getProfiles``'s answer (ProfileViewDetailed), from
# https://docs.bsky.app/docs/api/app-bsky-actor-get-profiles: only the fields read here.
PROFILES = {
    "profiles": [
        {
            "did": "did:plc:ufbl4k27gp6kzas5glhz7fim",
            "handle": "marc.example.com",
            "displayName": "Marc",
            "followersCount": 4210,
            "followsCount": 310,
            "postsCount": 1200,
        },
        {
            "did": "did:plc:eygmaihciaxprqvxpfvl6flk",
            "handle": "clara.bsky.social",
            "displayName": "Clara",
            "followersCount": 87,
        },
    ]
}


@respx.mock
def test_a_bluesky_mention_gets_its_authors_reach_from_the_app_view(
    team: Team, brand: ListeningQuery
) -> None:
    profiles = respx.get(
        url__startswith=f"{jetstream.APPVIEW}/xrpc/app.bsky.actor.getProfiles"
    ).mock(return_value=httpx.Response(200, json=PROFILES))
    server = JetstreamReplay(FRAMES)
    try:
        jetstream.read_slice(jetstream_source(server.url), seconds=5, max_events=len(FRAMES))
    finally:
        server.close()
    mentions = {m.external_id.rsplit("/", 1)[1]: m for m in Mention.objects.all()}
    assert set(mentions) == {p.rsplit("/", 1)[1] for p in ACME_POSTS}
    assert mentions["3l3qo2vuowo2e"].author_reach == 4210
    assert mentions["3l3qo2vuowo2e"].author_handle == "marc.example.com"
    assert mentions["3l3qo2vuowo2e"].author_name == "Marc"
    assert mentions["3l3qo2vuowo2b"].author_reach == 87
    # An author the App View did not return keeps what the stream gave.
    assert mentions["3l3qo2vuowo2f"].author_reach == 0
    # Only the authors of the posts that matched are looked up, each once.
    asked = [dict(parse_qs(urlsplit(str(c.request.url)).query)) for c in profiles.calls]
    looked_up = [d for q in asked for d in q["actors"]]
    assert sorted(looked_up) == sorted(set(looked_up))
    assert set(looked_up) <= {p.split("/")[2] for p in ACME_POSTS}


@respx.mock
def test_an_author_left_out_is_left_out_once_the_app_view_names_them(
    team: Team, brand: ListeningQuery
) -> None:
    """The stream names authors by their DID; ``-author:marc`` must still leave out
    marc.example.com's post, whose handle only the App View gives (matched again then)."""
    respx.get(url__startswith=f"{jetstream.APPVIEW}/xrpc/app.bsky.actor.getProfiles").mock(
        return_value=httpx.Response(200, json=PROFILES)
    )
    actions.update_query(
        brand, by=team["admin"], name=brand.name, kind=brand.kind,
        text=f"({brand.text}) -author:marc", is_active=True,
    )  # fmt: skip
    server = JetstreamReplay(FRAMES)
    try:
        jetstream.read_slice(jetstream_source(server.url), seconds=5, max_events=len(FRAMES))
    finally:
        server.close()
    stored = {m.external_id.rsplit("/", 1)[1] for m in Mention.objects.all()}
    assert stored == {p.rsplit("/", 1)[1] for p in ACME_POSTS} - {"3l3qo2vuowo2e"}


@respx.mock
def test_an_app_view_that_fails_costs_the_reach_not_the_mentions(
    team: Team, brand: ListeningQuery
) -> None:
    respx.get(url__startswith=f"{jetstream.APPVIEW}/xrpc/app.bsky.actor.getProfiles").mock(
        return_value=httpx.Response(502)
    )
    server = JetstreamReplay(FRAMES)
    try:
        jetstream.read_slice(jetstream_source(server.url), seconds=5, max_events=len(FRAMES))
    finally:
        server.close()
    mentions = Mention.objects.all()
    assert {m.external_id for m in mentions} == ACME_POSTS
    assert {m.author_reach for m in mentions} == {0}


def test_a_reader_that_lost_its_lease_commits_nothing(team: Team, brand: ListeningQuery) -> None:
    source = jetstream_source("ws://127.0.0.1:1/subscribe")
    (first,) = [r for r in runner.claim(ListeningSource, 10, "w-one", 30) if r.pk == source.pk]
    # The lease ran out and another process took the row.
    ListeningSource.objects.filter(pk=source.pk).update(locked_by="w-two#1")
    with pytest.raises(LeaseLost):
        sources.commit(first, cursor="99", read=1, stored=0)
    assert ListeningSource.objects.get(pk=source.pk).cursor == ""


def test_two_processes_never_hold_the_same_stream(team: Team) -> None:
    jetstream_source("ws://127.0.0.1:1/subscribe")
    sources.sandbox_source()
    one = runner.claim(ListeningSource, 10, "process-one", 30)
    two = runner.claim(ListeningSource, 10, "process-two", 30)
    assert len(one) == 2
    assert two == []  # every stream is held by the first process
    held = set(ListeningSource.objects.values_list("locked_by", flat=True))
    assert all(h.startswith("process-one#") for h in held)


def test_the_worker_reads_a_source_row_and_comes_back_to_it(
    team: Team, brand: ListeningQuery
) -> None:
    import datetime as dt

    from django.utils import timezone

    from portevoix.sandbox import service, world

    now = timezone.now()
    account = service.create_account(
        "acme-public",
        display_name="Acme",
        flavour="micro",
        follower_count=0,
        seed=3,
        brand_name="Acme",
        competitors=["Globex"],
        inbound_per_day=0.0,
        mentions_per_day=80.0,
        now=world.floor_step(now - dt.timedelta(days=1)),
        token_lifetime=None,
    )
    world.advance(account, now)
    source = sources.sandbox_source()
    assert runner.run_once([ListeningSource]) == 1  # the sandbox world's source, a row
    source.refresh_from_db()
    assert source.state == "reading" and source.next_attempt_at > now
    assert source.items_read > 0
    assert Mention.objects.filter(workspace=team.workspace, source=source).exists()
    assert runner.run_once([ListeningSource]) == 0  # not due again before its pause


def test_jetstream_unreachable_is_an_error_the_page_shows(team: Team) -> None:
    source = jetstream_source("ws://127.0.0.1:9/subscribe")
    assert runner.run_once([ListeningSource]) == 2  # with the sandbox world's
    source.refresh_from_db()
    assert source.attempts == 1 and source.last_error
    client = signed_in(team["viewer"].user)
    page = client.get(reverse("listening_sources", kwargs={"ws": team.workspace.slug}))
    # In French (the demo's language), what went wrong rather than the exception's name.
    assert "1 erreur de suite, nouvel essai\u00a0: le serveur n’a pas pu être joint" in (
        page.content.decode()
    )
    assert "ConnectError" not in page.content.decode()


# --- Mastodon --------------------------------------------------------------------------------

INSTANCE = "https://mastodon.example"


def status(n: int, text: str, *, server: str = "mastodon.example") -> dict[str, Any]:
    """A Status in the shape of https://docs.joinmastodon.org/entities/Status/."""
    return {
        "id": str(103270115826048975 + n),
        "created_at": f"2026-12-01T10:{n:02d}:00.000Z",
        "uri": f"https://{server}/users/clara/statuses/{103270115826048975 + n}",
        "url": f"https://{server}/@clara/{103270115826048975 + n}",
        "visibility": "public",
        "language": "fr",
        "content": f"<p>{text}</p>",
        "spoiler_text": "",
        "reblog": None,
        "account": {
            "id": "1",
            "username": "clara",
            "acct": "clara",
            "display_name": "Clara",
            "followers_count": 547,
        },
    }


def mastodon_source_row(kind: str, target: str, *, token: str = "tok") -> ListeningSource:
    return ListeningSource.objects.create(
        name=f"{kind}-{target}",
        network="mastodon",
        kind=kind,
        url=INSTANCE,
        target=target,
        token_encrypted=mastodon_source.encrypt_token(token),
    )


@respx.mock
def test_mastodon_tag_timeline_walks_forward_with_min_id(team: Team, brand: ListeningQuery) -> None:
    source = mastodon_source_row("mastodon-tag", "acme")
    route = respx.get(f"{INSTANCE}/api/v1/timelines/tag/acme")
    route.side_effect = [
        httpx.Response(200, json=[status(2, "Acme encore"), status(1, "J'aime #acme")]),
    ]
    mastodon_source.read_tag_slice(source)  # first read: the newest page, listening starts now
    assert "min_id" not in route.calls[0].request.url.params
    source.refresh_from_db()
    assert source.cursor == status(2, "")["id"]
    route.side_effect = [httpx.Response(200, json=[status(3, "Acme, le retour")])]
    mastodon_source.read_tag_slice(source)
    assert route.calls[1].request.url.params["min_id"] == status(2, "")["id"]
    mentions = Mention.objects.filter(workspace=team.workspace)
    assert mentions.count() == 3
    assert mentions.first().author_handle == "clara@mastodon.example"
    assert mentions.first().author_reach == 547


@respx.mock
def test_mastodon_stream_catches_up_then_streams(team: Team, brand: ListeningQuery) -> None:
    source = mastodon_source_row("mastodon-stream", "acme")
    source.cursor = status(1, "")["id"]
    source.save()
    timeline = respx.get(f"{INSTANCE}/api/v1/timelines/tag/acme").mock(
        return_value=httpx.Response(200, json=[status(2, "Acme pendant la coupure")])
    )
    body = (
        ":thump\n\n"
        f"event: update\ndata: {json.dumps(status(3, 'Acme en direct'))}\n\n"
        "event: delete\ndata: 103270115826048000\n\n"
        f"event: update\ndata: {json.dumps(status(4, 'rien à voir'))}\n\n"
    )
    stream = respx.get(f"{INSTANCE}/api/v1/streaming/hashtag").mock(
        return_value=httpx.Response(200, text=body, headers={"Content-Type": "text/event-stream"})
    )
    read, stored = mastodon_source.read_stream_slice(source, seconds=5)
    assert timeline.calls[0].request.url.params["min_id"] == status(1, "")["id"]
    assert stream.calls[0].request.url.params["tag"] == "acme"
    assert stream.calls[0].request.headers["Authorization"] == "Bearer tok"
    assert (read, stored) == (3, 2)
    source.refresh_from_db()
    assert source.cursor == status(4, "")["id"]


@respx.mock
def test_a_revoked_token_stops_the_source_with_a_reason(team: Team) -> None:
    source = mastodon_source_row("mastodon-search", "acme")
    respx.get(f"{INSTANCE}/api/v2/search").mock(
        return_value=httpx.Response(401, json={"error": "The access token was revoked"})
    )
    assert runner.run_once([ListeningSource]) >= 1
    source.refresh_from_db()
    assert source.state == "failed"
    assert "revoked" in source.problem


def test_one_post_read_on_two_instances_is_one_mention(team: Team, brand: ListeningQuery) -> None:
    one = mastodon_source_row("mastodon-tag", "acme")
    two = ListeningSource.objects.create(
        name="other",
        network="mastodon",
        kind="mastodon-tag",
        url="https://other.example",
        target="acme",
    )
    same = status(1, "Acme partout")
    with respx.mock:
        respx.get(f"{INSTANCE}/api/v1/timelines/tag/acme").mock(
            return_value=httpx.Response(200, json=[same])
        )
        copy = {**same, "id": "999"}  # the other server's own id for the same post
        respx.get("https://other.example/api/v1/timelines/tag/acme").mock(
            return_value=httpx.Response(200, json=[copy])
        )
        mastodon_source.read_tag_slice(one)
        mastodon_source.read_tag_slice(two)
    assert Mention.objects.filter(workspace=team.workspace).count() == 1


# --- the page and its actions ----------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_listening_managers_add_sources(team: Team, role: str) -> None:
    client = signed_in(team[role].user)
    url = reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    response = client.post(
        url, {"kind": "mastodon-tag", "url": "mastodon.social", "target": f"#acme{role}"}
    )
    if role in ("admin", "manager", "analyst"):
        assert response.status_code == 302
        assert ListeningSource.objects.filter(target=f"acme{role}").exists()
    else:
        assert response.status_code == 403
        assert not ListeningSource.objects.filter(target=f"acme{role}").exists()


def test_bad_source_input_is_shown_in_place(team: Team) -> None:
    client = signed_in(team["manager"].user)
    url = reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    response = client.post(
        url, {"kind": "mastodon-stream", "url": "mastodon.social", "target": "acme"}
    )
    assert response.status_code == 400
    assert "jeton d’utilisateur" in response.content.decode()
    assert 'value="acme"' in response.content.decode()  # what was typed stays
    client.post(url, {"kind": "mastodon-tag", "url": "mastodon.social", "target": "acme"})
    again = client.post(
        url, {"kind": "mastodon-tag", "url": "https://mastodon.social/", "target": "#ACME"}
    )
    assert again.status_code == 400
    assert "déjà lu" in again.content.decode()


def test_one_stream_has_one_spelling(team: Team) -> None:
    """The same instance written another way is the same stream; what is no address is refused."""
    manager = team["manager"]
    actions.add_source(
        team.workspace, by=manager, kind="mastodon-tag", url="mastodon.social", target="acme"
    )
    for url in ("https://Mastodon.Social/", "mastodon.social:443", "HTTPS://mastodon.social"):
        with pytest.raises(ActionRefused) as refused:
            actions.add_source(
                team.workspace, by=manager, kind="mastodon-tag", url=url, target="#ACME"
            )
        assert refused.value.code == "exists", url
    for url in ("not a url at all", "https://user@mastodon.social", "ftp://mastodon.social"):
        with pytest.raises(ActionRefused) as refused:
            actions.add_source(
                team.workspace, by=manager, kind="mastodon-tag", url=url, target="acme"
            )
        assert refused.value.field == "url", url
    # Bluesky's own public Jetstreams are one stream, whichever is written, in any case.
    actions.add_source(team.workspace, by=manager, kind="jetstream", url="")
    for url in (
        "wss://jetstream1.us-east.bsky.network/subscribe",
        "WSS://Jetstream2.US-West.bsky.network",
    ):
        with pytest.raises(ActionRefused) as refused:
            actions.add_source(team.workspace, by=manager, kind="jetstream", url=url)
        assert refused.value.code == "exists", url
    assert ListeningSource.objects.exclude(kind="sandbox").count() == 2


def test_another_workspaces_sources_are_counted_not_shown(team: Team) -> None:
    """What another workspace (another client, in an agency) searches for is not shown here;
    the page says its streams are read for this workspace too, and counts this one's mentions."""
    other = team.outsider
    actions.add_source(
        other.workspace, by=other, kind="mastodon-tag", url="mastodon.social", target="projetx"
    )
    mine = actions.add_source(
        team.workspace, by=team["manager"], kind="mastodon-tag", url="mastodon.social",
        target="acme",
    )  # fmt: skip
    page = signed_in(team["viewer"].user).get(
        reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    )
    html = page.content.decode()
    assert "#acme" in html and "projetx" not in html
    assert "Une autre source a été ajoutée par un autre espace" in html
    theirs = signed_in(other.user).get(
        reverse("listening_sources", kwargs={"ws": other.workspace.slug})
    )
    assert "projetx" in theirs.content.decode() and "#acme" not in theirs.content.decode()
    assert mine.workspace == team.workspace


def test_a_removed_source_added_again_reads_on_from_its_cursor(team: Team) -> None:
    manager = team["manager"]
    source = actions.add_source(
        team.workspace, by=manager, kind="mastodon-tag", url="mastodon.social", target="acme"
    )
    ListeningSource.objects.filter(pk=source.pk).update(cursor="109", mentions_stored=1)
    Mention.objects.create(
        workspace=team.workspace, source=source, network="mastodon", external_id="m1",
        author_handle="clara", text="acme", posted_at=timezone.now(),
    )  # fmt: skip
    actions.delete_source(source, by=manager)
    source.refresh_from_db()
    assert source.workspace is None and source.state == "paused"  # kept for its mention
    # Not the installation's, not listed: and adding it again is not refused as "already read".
    page = signed_in(manager.user).get(
        reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    )
    assert "#acme" not in page.content.decode()
    again = actions.add_source(
        team.workspace, by=manager, kind="mastodon-tag", url="https://mastodon.social/",
        target="acme",
    )  # fmt: skip
    assert again.pk == source.pk
    assert again.workspace == team.workspace and again.state == "reading"
    assert again.cursor == "109"


def test_pause_and_start_again_and_the_installations_source(team: Team) -> None:
    manager = team["manager"]
    source = actions.add_source(
        team.workspace, by=manager, kind="mastodon-tag", url="mastodon.social", target="acme"
    )
    client = signed_in(manager.user)
    ws = team.workspace.slug
    client.post(reverse("listening_source_pause", kwargs={"ws": ws, "pk": source.pk}))
    source.refresh_from_db()
    assert source.state == "paused" and source.next_attempt_at is None
    client.post(reverse("listening_source_resume", kwargs={"ws": ws, "pk": source.pk}))
    source.refresh_from_db()
    assert source.state == "reading" and source.next_attempt_at is not None
    sandbox = sources.sandbox_source()
    client.post(reverse("listening_source_pause", kwargs={"ws": ws, "pk": sandbox.pk}))
    sandbox.refresh_from_db()
    assert sandbox.state == "reading"  # the installation's: refused
    outsider = signed_in(team.outsider.user)
    outsider.post(
        reverse(
            "listening_source_pause", kwargs={"ws": team.outsider.workspace.slug, "pk": source.pk}
        )
    )
    source.refresh_from_db()
    assert source.state == "reading"  # another workspace's source


def test_portevoix_listen_runs_a_worker_for_listening_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from portevoix import cli
    from portevoix.listening.models import FollowedAccount

    seen: dict[str, Any] = {}

    def fake_main(**kwargs: Any) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr("portevoix.worker.runner.main", fake_main)
    args = cli.build_parser().parse_args(["listen", "--concurrency", "3"])
    assert args.func(args) == 0
    assert seen["concurrency"] == 3
    assert seen["models"] == [ListeningSource, FollowedAccount]


@respx.mock
def test_a_stream_reads_with_the_token_of_a_connected_mastodon_channel(
    team: Team, brand: ListeningQuery
) -> None:
    from portevoix.channels.models import Channel
    from portevoix.networks.types import Credentials

    channel = Channel(workspace=team.workspace, network="mastodon", name="Masto", handle="@acme")
    channel.set_credentials(
        Credentials({"instance_url": INSTANCE, "access_token": "channel-token"})
    )
    channel.save()
    source = actions.add_source(
        team.workspace, by=team["manager"], kind="mastodon-stream", url=INSTANCE,
        target="public", channel_id=channel.pk,
    )  # fmt: skip
    respx.get(f"{INSTANCE}/api/v1/timelines/public").mock(return_value=httpx.Response(200, json=[]))
    stream = respx.get(f"{INSTANCE}/api/v1/streaming/public").mock(
        return_value=httpx.Response(
            200, text=f"event: update\ndata: {json.dumps(status(1, 'Acme !'))}\n\n"
        )
    )
    mastodon_source.read_stream_slice(source, seconds=5)
    assert stream.calls[0].request.headers["Authorization"] == "Bearer channel-token"
    assert Mention.objects.filter(workspace=team.workspace).count() == 1


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            "Traceback...\nhttpx.ConnectError: [Errno 111] Connection refused",
            "could not be reached",
        ),
        ("portevoix.networks.http.AddressRefused: Could not connect", "could not be reached"),
        (
            "httpx.HTTPStatusError: Server error '503 Service Unavailable' for url 'https://x'",
            "answered 503",
        ),
        ("KeyError: 'statuses'", "unexpected"),
    ],
)
def test_a_sources_error_is_said_in_words(error: str, words: str) -> None:
    from django.utils import translation

    from portevoix.listening.source_views import error_words

    with translation.override("en"):
        assert words in error_words(error)
