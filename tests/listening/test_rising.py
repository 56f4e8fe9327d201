"""Rising terms on the listening page: shown as people write them, only when chance would not
explain their count, never a function word; and the mentions' intents in the reader's words."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from portevoix.listening import actions, pipeline, sources, stats
from portevoix.listening.models import Mention
from tests.conftest import Team, signed_in

pytestmark = pytest.mark.django_db


def mention(n: int, text: str, hours_ago: float) -> pipeline.PublicPost:
    return pipeline.PublicPost(
        external_id=f"r{n}",
        network="sandbox",
        text=text,
        posted_at=timezone.now() - dt.timedelta(hours=hours_ago),
        author_handle=f"author{n}",
        author_reach=100 + n,
        language="fr",
    )


@pytest.fixture
def heard(team: Team) -> Team:
    actions.create_query(
        team.workspace, by=team["admin"], name="Marque", kind="brand", text='"acme" OR #acme'
    )
    posts = []
    n = 0
    # Today: a new word written with its accent four times out of five, a word people use
    # every day a little more than usual, and a function word said by everyone.
    for i in range(5):
        accent = "réponse" if i else "reponse"
        posts.append(mention(n := n + 1, f"acme : toujours pas de {accent} cette fois", 2 + i))
    for i in range(5):
        posts.append(mention(n := n + 1, f"acme le matin, livraison {i}", 3 + i))
    # The fortnight before: "matin" twice a day.
    for day in range(1, 15):
        for k in range(2):
            posts.append(mention(n := n + 1, f"acme ce matin {day}-{k}", 24 * day + 5 + k))
    pipeline.ingest(sources.sandbox_source(), posts)
    return team


def test_a_term_is_shown_as_people_write_it(heard: Team) -> None:
    found = {r["term"]: r for r in stats.rising(Mention.objects.all())}
    assert found["reponse"]["label"] == "réponse"
    page = signed_in(heard["manager"].user).get(
        reverse("listening", kwargs={"ws": heard.workspace.slug})
    )
    html = page.content.decode()
    assert '<th scope="row">réponse</th>' in html
    assert 'name="term" value="reponse"' in html  # the action still sends the folded key


def test_what_chance_explains_and_function_words_do_not_rise(heard: Team) -> None:
    terms = {r["term"] for r in stats.rising(Mention.objects.all())}
    # 5 today against 2 a day: ratio 2, but a Poisson(2) day reaches 5 one time in 19.
    assert "matin" not in terms
    assert "fois" not in terms and "toujours" not in terms
    assert "reponse" in terms


def test_a_mentions_intent_and_network_read_in_the_readers_words(heard: Team) -> None:
    Mention.objects.update(intent="complaint")
    html = (
        signed_in(heard["manager"].user)
        .get(reverse("listening", kwargs={"ws": heard.workspace.slug}))
        .content.decode()
    )
    assert '<span class="badge">Réclamation</span>' in html
    assert '<span class="badge">complaint</span>' not in html
    assert "· Sandbox · fr ·" in html and "· sandbox ·" not in html  # the network's name
