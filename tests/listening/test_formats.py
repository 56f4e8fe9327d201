"""Numbers on the listening pages are written the way the reader's language writes them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from portevoix.listening import actions, sources
from portevoix.listening.models import ListeningSource, Mention
from portevoix.listening.templatetags.listening_tags import lag
from tests.conftest import Team, signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("seconds", "en", "fr"),
    [
        (None, "–", "–"),
        (1.8, "2 s", "2 s"),
        (59.4, "59 s", "59 s"),
        (1146, "19 min", "19 min"),
        (3900, "1 h 5 min", "1 h 5 min"),
        (2 * 86400 + 3600, "2 days 1 h", "2 jours 1 h"),
    ],
)
def test_a_sources_lag_is_a_duration_people_read(seconds: float | None, en: str, fr: str) -> None:
    with translation.override("en"):
        assert lag(seconds) == en
    with translation.override("fr"):
        assert lag(seconds) == fr


@pytest.mark.parametrize(("language", "grouped"), [("en", "1,200"), ("fr", "1\u00a0200")])
def test_counts_are_grouped_like_the_rest_of_the_page(
    team: Team, language: str, grouped: str
) -> None:
    """The queries page showed "1200" where the mentions page showed "1 200"; the sources
    page a lag of "1146 s"."""
    admin = team["admin"]
    admin.user.language = language
    admin.user.save(update_fields=["language"])
    query = actions.create_query(team.workspace, by=admin, name="M", kind="brand", text="acme")
    source = sources.sandbox_source()
    now = timezone.now()
    mentions = Mention.objects.bulk_create(
        Mention(
            workspace=team.workspace,
            source=source,
            network="sandbox",
            external_id=f"m{i}",
            author_handle="clara",
            text="acme",
            posted_at=now - dt.timedelta(minutes=i),
        )
        for i in range(1200)
    )
    Mention.queries.through.objects.bulk_create(
        Mention.queries.through(mention_id=m.pk, listeningquery_id=query.pk) for m in mentions
    )
    ListeningSource.objects.filter(pk=source.pk).update(lag_seconds=1146)
    client = signed_in(admin.user)
    ws = team.workspace.slug
    page = client.get(reverse("listening_queries", kwargs={"ws": ws})).content.decode()
    assert f">{grouped}</a>" in page
    assert ">1200<" not in page
    page = client.get(reverse("listening_sources", kwargs={"ws": ws})).content.decode()
    assert "19 min" in page and "1146" not in page
