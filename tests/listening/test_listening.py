"""Mentions stored once from an at-least-once source; the pages; who may do what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from portevoix.core.models import AuditEntry
from portevoix.listening import actions, pipeline, sources, stats
from portevoix.listening.models import ListeningQuery, Mention
from portevoix.listening.signals import mention_signals
from tests.conftest import ALL_ROLES, Team, signed_in

pytestmark = pytest.mark.django_db


def post(n: int, text: str, *, hours_ago: float = 1, author: str = "clara") -> pipeline.PublicPost:
    return pipeline.PublicPost(
        external_id=f"p{n}",
        network="sandbox",
        text=text,
        posted_at=timezone.now() - dt.timedelta(hours=hours_ago),
        author_handle=author,
        author_reach=1200,
        language="fr",
    )


@pytest.fixture
def brand(team: Team) -> ListeningQuery:
    return actions.create_query(
        team.workspace, by=team["admin"], name="Marque", kind="brand", text='"acme" OR #acme'
    )


def test_a_post_repeated_by_the_source_is_stored_once(team: Team, brand: ListeningQuery) -> None:
    source = sources.sandbox_source()
    batch = [post(1, "J'adore Acme !"), post(2, "rien à voir"), post(1, "J'adore Acme !")]
    assert pipeline.ingest(source, batch) == 1
    assert pipeline.ingest(source, batch) == 0  # delivered again
    mention = Mention.objects.get()
    assert mention.workspace == team.workspace
    assert list(mention.queries.all()) == [brand]
    assert mention.sentiment in ("positive", "neutral", "negative")
    assert mention.language == "fr"


def test_one_post_becomes_a_mention_in_each_workspace_that_listens(team: Team) -> None:
    from tests.conftest import make_team

    other = make_team("globex")
    actions.create_query(team.workspace, by=team["admin"], name="A", kind="brand", text="acme")
    actions.create_query(
        other.workspace, by=other["admin"], name="C", kind="competitor", text="acme"
    )
    pipeline.ingest(sources.sandbox_source(), [post(1, "acme encore")])
    assert Mention.objects.filter(workspace=team.workspace).count() == 1
    assert Mention.objects.filter(workspace=other.workspace).count() == 1


def test_a_changed_query_is_used_at_once(team: Team, brand: ListeningQuery) -> None:
    source = sources.sandbox_source()
    pipeline.ingest(source, [post(1, "vive globex")])
    assert not Mention.objects.exists()
    actions.update_query(
        brand, by=team["admin"], name="Marque", kind="brand", text="globex", is_active=True
    )
    pipeline.ingest(source, [post(1, "vive globex")])
    assert Mention.objects.count() == 1


def test_the_sandbox_world_is_read_from_its_cursor(team: Team) -> None:
    from portevoix.sandbox import service, world
    from portevoix.sandbox.models import SandboxInteraction

    actions.create_query(team.workspace, by=team["admin"], name="M", kind="brand", text="acme")
    actions.create_query(
        team.workspace, by=team["admin"], name="R", kind="competitor", text='"rosée paris"'
    )
    now = timezone.now()
    account = service.create_account(
        "acme-public", brand_name="Acme", competitors=["Rosée Paris"], inbound_per_day=0,
        mentions_per_day=80, now=world.floor_step(now - dt.timedelta(days=2)),
    )  # fmt: skip
    world.advance(account, now)
    public = SandboxInteraction.objects.filter(kind="mention").count()
    assert public > 20
    read, stored = sources.read_sandbox(batch=50)
    assert read == public
    assert stored == Mention.objects.count() > 10
    assert sources.read_sandbox() == (0, 0)  # nothing new: the cursor held
    # A restart that lost nothing but re-reads the overlap stores nothing twice.
    source = sources.sandbox_source()
    source.cursor = str(int(source.cursor) - 30)
    source.save()
    assert sources.read_sandbox()[1] == 0
    assert Mention.objects.count() == stored


def test_mention_signals_for_the_crisis_detector(team: Team, brand: ListeningQuery) -> None:
    pipeline.ingest(
        sources.sandbox_source(), [post(1, "acme", hours_ago=2), post(2, "acme !", hours_ago=30)]
    )
    now = timezone.now()
    signals = mention_signals(team.workspace.pk, now - dt.timedelta(hours=5), now)
    assert len(signals) == 1
    _, network, negative, text, ref = signals[0]
    assert network == "sandbox" and text == "acme" and isinstance(negative, bool)
    assert ref == f"mention:{Mention.objects.get(external_id='p1').pk}"
    with pytest.raises(ValueError):
        mention_signals(team.workspace.pk, dt.datetime(2026, 1, 1), now)


# --- actions and who may use them -------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_listening_managers_write_queries(team: Team, role: str) -> None:
    client = signed_in(team[role].user)
    url = reverse("listening_queries", kwargs={"ws": team.workspace.slug})
    response = client.post(
        url, {"name": "Marque", "kind": "brand", "text": "acme", "is_active": "on"}
    )
    allowed = role in ("admin", "manager", "analyst")
    if allowed:
        assert response.status_code == 302
        assert ListeningQuery.objects.filter(name="Marque").exists()
        assert AuditEntry.objects.filter(action="listening.query_create").exists()
    else:
        assert response.status_code == 403
        assert not ListeningQuery.objects.exists()


def test_a_bad_query_is_shown_in_place_and_loses_nothing(team: Team) -> None:
    client = signed_in(team["admin"].user)
    url = reverse("listening_queries", kwargs={"ws": team.workspace.slug})
    response = client.post(url, {"name": "Marque", "kind": "brand", "text": "acme AND (rosée"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "acme AND (rosée" in page  # what was typed stays
    assert "<mark>(</mark>" in page  # the mistake, in place
    assert not ListeningQuery.objects.exists()
    # Said once, beside the field (the live check shows only where).
    from portevoix.listening.query import QuerySyntaxError, parse

    with pytest.raises(QuerySyntaxError) as said:
        parse("acme AND (rosée")
    from django.utils.html import escape

    assert page.count(escape(str(said.value.message))) == 1


def test_live_check(team: Team) -> None:
    client = signed_in(team["analyst"].user)
    url = reverse("listening_query_check", kwargs={"ws": team.workspace.slug})
    bad = client.post(url, {"text": "acme OR"}).content.decode()
    assert "<mark>OR</mark>" in bad
    good = client.post(url, {"text": '"sérum éclat" OR acme'}).content.decode()
    assert "serum eclat" in good and 'role="alert"' not in good
    # What a NOT leaves out is said apart from what is looked for.
    both = client.post(url, {"text": "lumière NOT bougie"}).content.decode()
    sought, _, left_out = both.partition("écarte")
    assert "lumiere" in sought and "bougie" not in sought
    assert "<s>bougie</s>" in left_out
    assert signed_in(team["viewer"].user).post(url, {"text": "x"}).status_code == 403


def test_the_page_shows_mentions_charts_and_filters(team: Team, brand: ListeningQuery) -> None:
    actions.create_query(
        team.workspace, by=team["admin"], name="Globex", kind="competitor", text="globex"
    )
    pipeline.ingest(
        sources.sandbox_source(),
        [
            post(1, "J'adore acme #skincare"),
            post(2, "globex c'est nul", author="bob"),
            post(3, "acme", hours_ago=24 * 40),
        ],
    )
    client = signed_in(team["viewer"].user)
    url = reverse("listening", kwargs={"ws": team.workspace.slug})
    page = client.get(url).content.decode()
    assert "J&#x27;adore acme" in page and "globex c&#x27;est nul" in page
    assert ("<svg" in page and "Share of voice" in page) or "Part de voix" in page
    filtered = client.get(url, {"query": str(brand.pk), "period": "7"}).content.decode()
    assert "globex c&#x27;est nul" not in filtered
    assert client.get(url, {"period": "12"}).status_code == 400
    # The share-of-voice column is a part of the whole, not the verb of the "Share" buttons.
    viewer = team["viewer"].user
    for language, header in (("fr", "Part"), ("en", "Share")):
        viewer.language = language
        viewer.save(update_fields=["language"])
        page = signed_in(viewer).get(url).content.decode()
        assert f'<th scope="col">{header}</th>' in page, language
        assert "Partager</th>" not in page


def test_send_to_inbox_and_to_ideas(team: Team, brand: ListeningQuery) -> None:
    from portevoix.channels import actions as channel_actions
    from portevoix.inbox.models import Conversation
    from portevoix.publishing.models import Idea
    from portevoix.sandbox import service

    account = service.create_account("acme-sbx", workspace=team.workspace)
    channel_actions.connect_channel(
        team.workspace, by=team["admin"], network="sandbox",
        credentials=service.credentials_for(account), name="Acme",
    )  # fmt: skip
    pipeline.ingest(
        sources.sandbox_source(),
        [post(1, "acme, ma commande ?"), post(2, "acme", hours_ago=24 * 5)],
    )
    fresh, old = Mention.objects.get(external_id="p1"), Mention.objects.get(external_id="p2")
    ws = team.workspace.slug
    # The button shows where the mention's network has a channel to answer through, only.
    bluesky = pipeline.PublicPost(
        external_id="at://did:plc:x/app.bsky.feed.post/1", network="bluesky",
        text="acme encore", posted_at=timezone.now(), author_handle="clara.bsky.social",
    )  # fmt: skip
    pipeline.ingest(sources.sandbox_source(), [bluesky])
    page = signed_in(team["content"].user).get(reverse("listening", kwargs={"ws": ws}))
    html = page.content.decode()
    sent_to = {
        pk for pk in Mention.objects.values_list("pk", flat=True) if f"mentions/{pk}/inbox/" in html
    }
    assert sent_to == {fresh.pk}  # not the Bluesky one: no Bluesky channel here
    for role in ("viewer", "analyst", "creative"):
        client = signed_in(team[role].user)
        response = client.post(
            reverse("listening_mention_inbox", kwargs={"ws": ws, "pk": fresh.pk})
        )
        assert response.status_code == 403
    assert (
        signed_in(team["agent"].user)
        .post(reverse("listening_mention_idea", kwargs={"ws": ws, "pk": fresh.pk}))
        .status_code
        == 404
    )
    client = signed_in(team["content"].user)
    client.post(reverse("listening_mention_inbox", kwargs={"ws": ws, "pk": fresh.pk}))
    client.post(reverse("listening_mention_inbox", kwargs={"ws": ws, "pk": fresh.pk}))
    conversation = Conversation.objects.get()
    assert conversation.preview == "acme, ma commande ?"
    fresh.refresh_from_db()
    assert fresh.conversation == conversation
    client.post(reverse("listening_mention_idea", kwargs={"ws": ws, "pk": fresh.pk}))
    assert Idea.objects.get().workspace == team.workspace
    with pytest.raises(actions.ActionRefused):
        actions.send_to_ideas(old, by=team["content"])
    assert (
        AuditEntry.objects.filter(action__in=["listening.to_inbox", "listening.to_idea"]).count()
        == 2
    )


def test_deleting_a_query_takes_the_mentions_only_it_found(
    team: Team, brand: ListeningQuery
) -> None:
    """A confirmation first says what goes; then the mentions no other query found go with the
    query, and those another query found stay, with it."""
    rival = actions.create_query(
        team.workspace, by=team["admin"], name="Globex", kind="competitor", text="globex"
    )
    pipeline.ingest(
        sources.sandbox_source(),
        [post(1, "globex encore"), post(2, "acme ou globex ?"), post(3, "acme")],
    )
    url = reverse("listening_query_delete", kwargs={"ws": team.workspace.slug, "pk": rival.pk})
    # Roles that may not change queries are refused, and nothing goes.
    for role in ("content", "viewer"):
        assert signed_in(team[role].user).post(url, {"confirm": "1"}).status_code == 403
    assert ListeningQuery.objects.filter(pk=rival.pk).exists()
    manager = signed_in(team["manager"].user)
    page = manager.get(url).content.decode()
    assert "<strong>1 mention</strong>" in page and "1 mention a aussi été trouvée" in page
    assert Mention.objects.count() == 3  # looking deletes nothing
    assert manager.post(url).status_code == 200  # without confirm: the question again
    assert ListeningQuery.objects.filter(pk=rival.pk).exists()
    done = manager.post(url, {"confirm": "1"}, follow=True)
    assert "avec la 1 mention qu’elle seule avait trouvée" in done.content.decode()
    assert not ListeningQuery.objects.filter(pk=rival.pk).exists()
    assert sorted(Mention.objects.values_list("external_id", flat=True)) == ["p2", "p3"]
    assert list(Mention.objects.get(external_id="p2").queries.all()) == [brand]


def test_the_volume_chart_has_no_partial_first_bar(team: Team, brand: ListeningQuery) -> None:
    """The last 24 hours are 24 hourly bars; a week is seven whole local days, today the
    last: two partial days read as a halving when nothing changed."""
    pipeline.ingest(
        sources.sandbox_source(),
        [post(n, f"acme {n}", hours_ago=n * 3 + 0.5, author=f"a{n}") for n in range(8)],
    )
    client = signed_in(team["viewer"].user)
    url = reverse("listening", kwargs={"ws": team.workspace.slug})
    day = client.get(url, {"period": "1"}).context["days"]
    assert len(day) == 24 and all(d.hour is not None for d in day)
    assert sum(d.total for d in day) == 8  # all within 24 h, each in its hour
    week = client.get(url, {"period": "7"}).context["days"]
    assert len(week) == 7 and week[-1].day == timezone.localdate()
    assert sum(d.total for d in week) == 8


def test_a_mention_without_an_author_says_so(team: Team, brand: ListeningQuery) -> None:
    """Instagram's hashtag search names no author: no "@" with nobody after it, no "0
    followers", and no "Answer to @" in the idea or the draft it becomes."""
    from django.utils import translation

    from portevoix.listening import trends
    from portevoix.publishing.models import Idea

    nobody = pipeline.PublicPost(
        external_id="ig-1", network="sandbox", text="acme #acme", posted_at=timezone.now(),
        author_handle="", author_reach=0,
    )  # fmt: skip
    pipeline.ingest(sources.sandbox_source(), [nobody, post(2, "acme encore")])
    ws = team.workspace.slug
    team["admin"].user.language = "en"
    team["admin"].user.save(update_fields=["language"])
    text = signed_in(team["admin"].user).get(reverse("listening", kwargs={"ws": ws}))
    text = text.content.decode()
    assert "Author unknown" in text
    assert "<strong>@</strong>" not in text
    assert "· 0 followers" not in text
    assert "1,200 followers" in text  # the one that has an author keeps its count
    mention = Mention.objects.get(external_id="ig-1")
    with translation.override("en"):
        draft = trends.draft_prefill(team["admin"], mention=mention.pk)
        idea = actions.send_to_ideas(mention, by=team["admin"])
    assert draft["title"] == "Answer to a mention on Sandbox"
    assert isinstance(idea, Idea)
    assert "@" not in idea.title
    assert "@:" not in idea.description
    rows = stats.top_authors(Mention.objects.all())
    assert [r["author_handle"] for r in rows] == ["clara"]


def test_share_of_voice_follows_the_sentiment_chosen(team: Team, brand: ListeningQuery) -> None:
    """It used to count every sentiment whatever the page showed: with "negative" chosen, the
    brand's share must be its share of the negative mentions."""
    actions.create_query(
        team.workspace, by=team["admin"], name="Globex", kind="competitor", text="globex"
    )
    pipeline.ingest(
        sources.sandbox_source(),
        [post(1, "acme"), post(2, "acme"), post(3, "acme"), post(4, "globex")],
    )
    Mention.objects.update(sentiment="positive")
    Mention.objects.filter(external_id__in=["p1", "p4"]).update(sentiment="negative")
    team["viewer"].user.language = "en"
    team["viewer"].user.save(update_fields=["language"])
    client = signed_in(team["viewer"].user)
    url = reverse("listening", kwargs={"ws": team.workspace.slug})

    def voice(**params: str) -> list[tuple[object, int]]:
        response = client.get(url, params)
        return [(r["name"], r["count"]) for r in response.context["voice"]]

    assert voice() == [(None, 3), ("Globex", 1)]
    assert voice(sentiment="negative") == [(None, 1), ("Globex", 1)]
    assert voice(sentiment="positive") == [(None, 2), ("Globex", 0)]
    page = client.get(url, {"sentiment": "negative"}).content.decode()
    assert "Counts the mentions of the period, network, language and sentiment" in page
    # One query chosen: the comparison stays whole, and the page says so.
    page = client.get(url, {"query": str(brand.pk)})
    assert [(r["name"], r["count"]) for r in page.context["voice"]] == [(None, 3), ("Globex", 1)]
    assert "The query filter does not apply here" in page.content.decode()


def test_a_mention_sent_to_the_inbox_joins_its_author_and_authorless_ones_stay_apart(
    team: Team, brand: ListeningQuery
) -> None:
    """The inbox keys a customer by the network's id for them: a mention from someone who
    already wrote to the brand joins them; mentions whose source names nobody (Instagram's
    hashtag search) never merge into one "customer without a name"."""
    from portevoix.channels import actions as channel_actions
    from portevoix.channels.models import Channel
    from portevoix.inbox.ingest import ingest
    from portevoix.inbox.models import Conversation, Customer
    from portevoix.networks.types import Author, InboundItem, InboundKind
    from portevoix.sandbox import service

    account = service.create_account("acme-sbx", workspace=team.workspace)
    channel = channel_actions.connect_channel(
        team.workspace, by=team["admin"], network="sandbox",
        credentials=service.credentials_for(account), name="Acme",
    )  # fmt: skip
    ingest(
        channel,
        [
            InboundItem(
                network="sandbox",
                message_id="dm-1",
                kind=InboundKind.DM,
                author=Author(id="sbx-user-clara", handle="clara", display_name="Clara"),
                text="Bonjour, ma commande ?",
                created_at=timezone.now(),
            )
        ],
    )
    clara = Customer.objects.get(workspace=team.workspace)
    pipeline.ingest(
        sources.sandbox_source(),
        [
            post(1, "acme, toujours rien"),
            post(2, "acme #fail", author=""),
            post(3, "acme ?", author=""),
        ],
    )
    content = team["content"]
    joined = actions.send_to_inbox(Mention.objects.get(external_id="p1"), by=content)
    assert isinstance(joined, Conversation) and joined.customer_id == clara.pk
    first = actions.send_to_inbox(Mention.objects.get(external_id="p2"), by=content)
    second = actions.send_to_inbox(Mention.objects.get(external_id="p3"), by=content)
    assert isinstance(first, Conversation) and isinstance(second, Conversation)
    assert first.customer_id != second.customer_id
    assert {first.customer.handle, second.customer.handle} == {"?"}
    assert Customer.objects.filter(workspace=team.workspace).count() == 3

    # On Mastodon, listening writes user@instance; the inbox of a channel on that instance
    # knows its local users without the domain.
    Customer.objects.create(
        workspace=team.workspace, network="mastodon", author_id="10923", handle="lea"
    )
    on_instance = Channel(account_url="https://social.example/@acme")
    elsewhere = Channel(account_url="https://other.example/@acme")
    heard = Mention(
        workspace=team.workspace, network="mastodon", author_handle="lea@social.example",
        external_id="https://social.example/users/lea/statuses/1",
    )  # fmt: skip
    assert actions._inbox_author(heard, on_instance) == ("10923", "lea")
    assert actions._inbox_author(heard, elsewhere) == ("lea@social.example", "lea@social.example")
    # A source that gave the network's id (a DID) finds the customer by it, whatever the handle.
    Customer.objects.create(
        workspace=team.workspace,
        network="bluesky",
        author_id="did:plc:abc",
        handle="old.bsky.social",
    )
    renamed = Mention(
        workspace=team.workspace, network="bluesky", author_handle="new.bsky.social",
        author_id="did:plc:abc", external_id="at://did:plc:abc/app.bsky.feed.post/1",
    )  # fmt: skip
    assert actions._inbox_author(renamed, on_instance) == ("did:plc:abc", "old.bsky.social")
    # Mentions stored before sources gave the id: the post's address holds the DID, and the
    # sandbox names its users after their handle.
    before = Mention(
        workspace=team.workspace, network="bluesky", author_handle="new.bsky.social",
        external_id="at://did:plc:abc/app.bsky.feed.post/2",
    )  # fmt: skip
    assert actions._inbox_author(before, on_instance) == ("did:plc:abc", "old.bsky.social")
    unknown = Mention(
        workspace=team.workspace, network="sandbox", author_handle="zoe", external_id="sbx-9"
    )
    assert actions._inbox_author(unknown, on_instance) == ("sbx-user-zoe", "zoe")


def test_a_customer_made_from_a_mention_takes_the_networks_id_when_they_write(
    team: Team, brand: ListeningQuery
) -> None:
    """A Mastodon author heard on another instance was keyed by ``user@instance`` when their
    mention went to the inbox; when they wrote to the brand, the inbox knew them by their id
    on the channel's instance: two customers for one person."""
    from portevoix.channels.models import Channel
    from portevoix.inbox.ingest import ingest
    from portevoix.inbox.models import Conversation, Customer
    from portevoix.networks.types import Author, InboundItem, InboundKind

    channel = Channel.objects.create(
        workspace=team.workspace, network="mastodon", name="Acme", account_id="1",
        account_url="https://social.example/@acme",
    )  # fmt: skip
    heard = Customer.objects.create(
        workspace=team.workspace, network="mastodon", author_id="lea@other.example",
        handle="lea@other.example",
    )  # fmt: skip
    local = Customer.objects.create(
        workspace=team.workspace, network="mastodon", author_id="marc@social.example",
        handle="marc@social.example",
    )  # fmt: skip
    keyed = Customer.objects.create(
        workspace=team.workspace, network="mastodon", author_id="77", handle="paul@other.example"
    )

    def item(n: int, author_id: str, handle: str) -> InboundItem:
        return InboundItem(
            network="mastodon", message_id=f"m{n}", kind=InboundKind.MENTION,
            author=Author(id=author_id, handle=handle), text=f"@acme message {n}",
            created_at=timezone.now(),
        )  # fmt: skip

    ingest(
        channel,
        [
            item(1, "10923", "lea@other.example"),  # remote to the channel's instance
            item(2, "4410", "marc"),  # local to it: the inbox drops the domain
            item(3, "88", "paul@other.example"),  # a customer keyed by an id is not taken
        ],
    )
    heard.refresh_from_db()
    local.refresh_from_db()
    assert heard.author_id == "10923" and local.author_id == "4410"
    assert Conversation.objects.get(channel=channel, customer=heard)
    assert Conversation.objects.get(channel=channel, customer=local)
    keyed.refresh_from_db()
    assert keyed.author_id == "77"
    assert Customer.objects.filter(workspace=team.workspace, network="mastodon").count() == 4
