"""Issue 12 §5: "impact assessed per brand workspace and, for members of several workspaces,
across them" — the incident's impact page, for each workspace its reader belongs to and no
other."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.core.models import Member
from portevoix.core.permissions import Role
from portevoix.crisis import actions, impact
from portevoix.crisis.models import Alert
from portevoix.inbox.ingest import ingest
from portevoix.inbox.models import InboundMessage
from portevoix.publishing.models import Post, Publication
from portevoix.sandbox import service
from tests.conftest import make_team
from tests.inbox.conftest import make_item


@pytest.fixture(autouse=True)
def _english():
    from django.utils import translation

    with translation.override("en"):
        yield


def sandbox_channel(team, handle: str):
    account = service.create_account(handle, display_name=handle, workspace=team.workspace)
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name=handle,
    )


def alert_in(team, text: str) -> Alert:
    now = timezone.now()
    return Alert.objects.create(
        workspace=team.workspace,
        window_start=now - dt.timedelta(hours=1),
        window_end=now,
        observed=9,
        expected=0.8,
        p_value=1e-7,
        network="sandbox",
        terms=["retard"],
        messages=[{"at": now.isoformat(), "network": "sandbox", "text": text, "ref": "inbox:1"}],
    )


def scheduled_post(team, channel, text: str) -> Post:
    post = Post.objects.create(workspace=team.workspace, text=text, author=team["admin"].user)
    Publication.objects.create(
        post=post,
        channel=channel,
        scheduled_at=timezone.now() + dt.timedelta(days=1),
        state="scheduled",
    )
    return post


def messages(channel, texts: list[str], negative: int) -> None:
    ingest(channel, [make_item(f"{channel.pk}-{n}", t, minutes=n) for n, t in enumerate(texts)])
    ids = list(
        InboundMessage.objects.filter(channel=channel).order_by("pk").values_list("pk", flat=True)
    )
    InboundMessage.objects.filter(pk__in=ids[:negative]).update(sentiment="negative")
    InboundMessage.objects.filter(pk__in=ids[negative:]).update(sentiment="neutral")


@pytest.fixture
def brands(team):
    """acme (the incident), maison (the manager is an analyst there too), ailleurs (not theirs)."""
    maison = make_team(slug="maison")
    ailleurs = make_team(slug="ailleurs")
    Member.objects.create(workspace=maison.workspace, user=team["manager"].user, role=Role.ANALYST)
    here = sandbox_channel(team, "acme-shop")
    there = sandbox_channel(maison, "maison-shop")
    far = sandbox_channel(ailleurs, "ailleurs-shop")
    messages(here, ["Un retard encore", "Toujours en retard", "Merci", "Bonjour"], negative=2)
    messages(there, ["Retard ici aussi", "Super produit", "Merci", "Top", "Bien"], negative=1)
    messages(far, ["Retard", "Retard", "Retard"], negative=3)
    alert_in(maison, "Chez Maison, le retard aussi")
    alert_in(ailleurs, "SECRET-AILLEURS alert")
    actions.open_incident(maison.workspace, by=maison["manager"], title="Maison: retards")
    actions.open_incident(ailleurs.workspace, by=ailleurs["manager"], title="SECRET-AILLEURS")
    scheduled_post(maison, there, "Notre livraison express sans retard !")
    scheduled_post(ailleurs, far, "SECRET-AILLEURS: livraison sans retard")
    scheduled_post(team, here, "Livraison offerte, zéro retard")
    incident = actions.open_incident(
        team.workspace, by=team["manager"], title="Retards de livraison", terms=["retard"]
    )
    return {"maison": maison, "ailleurs": ailleurs, "incident": incident}


def test_the_impact_across_the_members_workspaces_and_no_other(team, brands) -> None:
    incident = brands["incident"]
    rows = impact.assess(incident, team["manager"])
    assert [r.workspace.slug for r in rows] == ["acme", "maison"]  # the incident's first
    acme, maison = rows
    assert acme.here and not maison.here
    assert (acme.volume, acme.negative) == (4, 2)
    assert (maison.volume, maison.negative) == (5, 1)
    assert maison.negative_percent == 20
    assert len(maison.alerts) == 1 and [i.title for i in maison.open_incidents] == [
        "Maison: retards"
    ]
    assert [p.post.text for p in maison.posts] == ["Notre livraison express sans retard !"]
    assert [p.post.text for p in acme.posts] == ["Livraison offerte, zéro retard"]
    # A member of one workspace sees that workspace only.
    assert [r.workspace.slug for r in impact.assess(incident, team["content"])] == ["acme"]


def test_the_page_shows_only_the_readers_workspaces(team, brands, client_for) -> None:
    incident = brands["incident"]
    client = client_for(team["manager"])
    page = client.get(
        reverse("crisis_incident", kwargs={"ws": "acme", "pk": incident.pk})
    ).content.decode()
    assert 'id="impact-link"' in page  # a member of several workspaces gets the link
    url = reverse("crisis_impact", kwargs={"ws": "acme", "pk": incident.pk})
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-workspace="acme"' in body and 'data-workspace="maison"' in body
    assert "Notre livraison express sans retard" in body and "Maison: retards" in body
    assert 'data-workspace="ailleurs"' not in body and "SECRET-AILLEURS" not in body
    # One workspace only: no link, the page shows that one.
    alone = client_for(team["content"])
    assert (
        'id="impact-link"'
        not in alone.get(
            reverse("crisis_incident", kwargs={"ws": "acme", "pk": incident.pk})
        ).content.decode()
    )
    body = alone.get(url).content.decode()
    assert 'data-workspace="acme"' in body and 'data-workspace="maison"' not in body


def test_another_workspaces_incident_is_not_found(team, brands, client_for) -> None:
    outsider = client_for(brands["ailleurs"]["manager"])
    url = reverse("crisis_impact", kwargs={"ws": "ailleurs", "pk": brands["incident"].pk})
    assert outsider.get(url).status_code == 404
