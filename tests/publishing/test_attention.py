"""The "Needs attention" page and its decisions: retry, send late, mark as published, cancel.

Each decision is an action with a permission (``post.resolve``), an audit entry and a refusal
for every role that may not; an outsider gets a 404.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.core.permissions import MATRIX
from portevoix.networks.types import AccountInfo
from portevoix.publishing import actions
from portevoix.publishing.models import Publication
from tests.conftest import ALL_ROLES

CANDIDATES = [
    {
        "post_id": "sbx-1-aaaa",
        "url": "https://social.example/@lumiere/111",
        "text": "Le sérum Velours arrive lundi 🌸",
        "created_at": "2026-03-02T09:30:05+00:00",
        "note": "same text",
    },
    {
        "post_id": "sbx-1-bbbb",
        "url": "javascript:alert(1)",
        "text": "Le sérum Velours arrive lundi !",
        "created_at": "2026-03-02T09:41:00+00:00",
        "note": "posted by hand?",
    },
]


def url(name: str, publication: Publication) -> str:
    return reverse(name, kwargs={"ws": "acme", "pk": publication.pk})


ATTENTION = "/w/acme/attention/"


# --- the page -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_sees_the_page(team, client_for, make_publication, role) -> None:
    make_publication("rejected")
    response = client_for(team[role]).get(ATTENTION)
    assert response.status_code == (200 if "post.view" in MATRIX[role] else 403)


def test_an_outsider_gets_nothing(team, client_for, make_publication) -> None:
    publication = make_publication("rejected")
    client = client_for(team.outsider)
    assert client.get(ATTENTION).status_code == 404
    for name in ("publication_retry", "publication_cancel", "publication_mark_published"):
        assert client.post(url(name, publication)).status_code == 404
    # Not even from their own workspace's address: the row is not theirs.
    own = reverse("publication_retry", kwargs={"ws": "other-acme", "pk": publication.pk})
    assert client.post(own).status_code == 404
    publication.refresh_from_db()
    assert publication.state == "rejected"


def test_the_page_lists_what_waits_with_its_reason(team, client_for, make_publication) -> None:
    rejected = make_publication("rejected", text="Refusée par le réseau")
    make_publication("scheduled", text="Pas encore due")
    check = make_publication("needs_check", candidates=CANDIDATES, problem="Two posts match.")
    html = client_for(team["content"]).get(ATTENTION).content.decode()
    assert f'id="publication-{rejected.pk}"' in html and "Refusée par le réseau" in html
    assert "Pas encore due" not in html
    assert "image/heic is not supported" in html
    # needs_check: what reconcile found, with links (web links only), and why a person decides.
    assert f'id="publication-{check.pk}"' in html
    assert 'href="https://social.example/@lumiere/111"' in html
    assert "javascript:alert" not in html
    assert "Le sérum Velours arrive lundi !" in html
    assert "could not tell whether this post went out" in html or "pas pu savoir" in html
    # The navigation says how many things wait.
    assert 'class="nav-count" data-count="2"' in html


def test_a_viewer_sees_but_gets_no_buttons(team, client_for, make_publication) -> None:
    make_publication("rejected")
    html = client_for(team["viewer"]).get(ATTENTION).content.decode()
    assert "image/heic" in html and 'data-action="retry"' not in html


def test_channels_to_reconnect_and_failing_syncs_are_listed(team, client_for, channel) -> None:
    channel.transition("needs_reconnect", problem="The access token has expired.")
    other = Channel.objects.create(
        workspace=team.workspace,
        network="sandbox",
        name="Pro",
        handle="acme-pro",
        account_id="acme-pro",
        credentials_encrypted="x",
        sync_failing_since=timezone.now() - dt.timedelta(hours=2),
        problem="The sandbox network is unavailable (503).",
    )
    html = client_for(team["manager"]).get(ATTENTION).content.decode()
    assert f'id="channel-{channel.pk}"' in html and "The access token has expired." in html
    assert f'id="channel-{other.pk}"' in html and "unavailable (503)" in html
    assert f"/settings/channels/{channel.pk}/#reconnect" in html


def test_nothing_to_do_says_so(team, client_for) -> None:
    html = client_for(team["content"]).get(ATTENTION).content.decode()
    assert 'data-empty="1"' in html and "nav-count" not in html


# --- retry --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_retry(team, client_for, make_publication, role) -> None:
    publication = make_publication("failed")
    response = client_for(team[role]).post(url("publication_retry", publication))
    publication.refresh_from_db()
    if "post.resolve" in MATRIX[role]:
        assert response.status_code == 302
        assert publication.state == "scheduled" and publication.late_ok
        assert publication.next_attempt_at is not None and publication.problem == ""
        entry = AuditEntry.objects.get(action="publication.retry")
        assert entry.actor == team[role].user and entry.before["state"] == "failed"
    else:
        assert response.status_code == 403 if "post.view" in MATRIX[role] else 404
        assert publication.state == "failed"
        assert not AuditEntry.objects.filter(action="publication.retry").exists()


def test_retry_refuses_while_the_channel_still_needs_reconnecting(
    team, make_publication, channel
) -> None:
    publication = make_publication("waiting_reconnect")
    channel.transition("needs_reconnect")
    with pytest.raises(ActionRefused, match="reconnect"):
        actions.retry_publication(publication, by=team["content"])
    channel.transition("active")
    assert actions.retry_publication(publication, by=team["content"]).state == "scheduled"


def test_retry_after_a_possible_send_keeps_the_mark_so_the_worker_checks_first(
    team, make_publication
) -> None:
    publication = make_publication("failed", sending_at=timezone.now())
    done = actions.retry_publication(publication, by=team["manager"])
    assert done.state == "scheduled" and done.sending_at is not None


def test_not_there_send_it_clears_the_mark_a_person_looked(team, make_publication) -> None:
    """On needs_check, reconcile already could not tell: the person's word is the check."""
    publication = make_publication("needs_check", sending_at=timezone.now(), candidates=CANDIDATES)
    done = actions.retry_publication(publication, by=team["manager"])
    assert done.state == "scheduled" and done.sending_at is None and done.candidates == []
    entry = AuditEntry.objects.get(action="publication.retry")
    assert entry.before["sending_at"] and entry.after["sending_at"] is None


def test_no_decision_while_a_worker_holds_the_row(team, make_publication) -> None:
    publication = make_publication("failed")
    Publication.objects.filter(pk=publication.pk).update(
        locked_by="worker-1", locked_until=timezone.now() + dt.timedelta(seconds=30)
    )
    for decide in (actions.retry_publication, actions.cancel_publication):
        with pytest.raises(ActionRefused) as refused:
            decide(publication, by=team["manager"])
        assert refused.value.code == "busy"


def test_a_decision_on_a_row_that_moved_on_is_refused(team, client_for, make_publication):
    publication = make_publication("rejected")
    actions.cancel_publication(publication, by=team["manager"])
    with pytest.raises(ActionRefused) as refused:
        actions.retry_publication(publication, by=team["manager"])
    assert refused.value.code == "state"
    response = client_for(team["manager"]).post(url("publication_retry", publication), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"{ATTENTION}#publication-{publication.pk}"


# --- send late ----------------------------------------------------------------------------


def test_send_late_only_for_a_held_post(team, client_for, make_publication) -> None:
    held = make_publication("held")
    client = client_for(team["content"])
    assert client.post(url("publication_send_late", held)).status_code == 302
    held.refresh_from_db()
    assert held.state == "scheduled" and held.late_ok
    assert AuditEntry.objects.filter(action="publication.send_late").count() == 1
    failed = make_publication("failed")
    with pytest.raises(ActionRefused):
        actions.send_late(failed, by=team["content"])
    assert client_for(team["creative"]).post(url("publication_send_late", held)).status_code == 403


# --- mark as published --------------------------------------------------------------------


def test_mark_as_published_with_a_link(team, client_for, make_publication) -> None:
    publication = make_publication("failed", sending_at=timezone.now())
    response = client_for(team["content"]).post(
        url("publication_mark_published", publication),
        {f"pub{publication.pk}-url": "https://social.example/@lumiere/42"},
    )
    assert response.status_code == 302
    publication.refresh_from_db()
    assert publication.state == "published" and publication.sending_at is None
    assert publication.url == "https://social.example/@lumiere/42"
    assert publication.published_at is not None
    entry = AuditEntry.objects.get(action="publication.mark_published")
    assert entry.after["url"] == publication.url


def test_a_bad_link_is_refused_in_place_and_keeps_what_was_typed(
    team, client_for, make_publication
) -> None:
    publication = make_publication("held")
    response = client_for(team["content"]).post(
        url("publication_mark_published", publication),
        {f"pub{publication.pk}-url": "instagram dot com slash lumiere"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="instagram dot com slash lumiere"' in html
    assert "https://" in html and '<details class="mark-published" open>' in html
    publication.refresh_from_db()
    assert publication.state == "held"
    empty = client_for(team["content"]).post(url("publication_mark_published", publication), {})
    assert empty.status_code == 400


def test_pick_one_of_the_candidates(team, client_for, make_publication) -> None:
    publication = make_publication("needs_check", candidates=CANDIDATES, sending_at=timezone.now())
    response = client_for(team["manager"]).post(
        url("publication_mark_published", publication), {f"pub{publication.pk}-candidate": "0"}
    )
    assert response.status_code == 302
    publication.refresh_from_db()
    assert publication.state == "published"
    assert publication.network_post_id == "sbx-1-aaaa"
    assert publication.network_post_ids == ["sbx-1-aaaa"]
    assert publication.url == "https://social.example/@lumiere/111"
    assert publication.published_at == dt.datetime(2026, 3, 2, 9, 30, 5, tzinfo=dt.UTC)
    assert publication.candidates == [] and publication.sending_at is None


def test_a_candidate_that_is_not_there_is_refused(team, make_publication) -> None:
    publication = make_publication("needs_check", candidates=CANDIDATES)
    with pytest.raises(ActionRefused):
        actions.mark_published(publication, by=team["manager"], candidate=5)


@pytest.mark.parametrize("role", ["creative", "analyst", "viewer"])
def test_who_may_not_mark_as_published(team, make_publication, role) -> None:
    publication = make_publication("failed")
    with pytest.raises(PermissionDenied):
        actions.mark_published(publication, by=team[role], url="https://example.com/p/1")
    with pytest.raises(Http404):
        actions.mark_published(publication, by=team.outsider, url="https://example.com/p/1")


def test_the_post_id_is_read_from_the_link_when_the_network_can() -> None:
    from portevoix.networks.bluesky import BlueskyNetwork
    from portevoix.networks.mastodon import MastodonNetwork

    sky = AccountInfo(network="bluesky", account_id="did:plc:abc", handle="lumiere.bsky.social")
    for link in (
        "https://bsky.app/profile/lumiere.bsky.social/post/3kq2x",
        "https://bsky.app/profile/did:plc:abc/post/3kq2x",
    ):
        assert (
            BlueskyNetwork.post_id_from_url(link, sky)
            == "at://did:plc:abc/app.bsky.feed.post/3kq2x"
        )
    assert BlueskyNetwork.post_id_from_url("https://bsky.app/profile/other/post/3kq2x", sky) is None
    toot = AccountInfo(
        network="mastodon",
        account_id="1",
        handle="lumiere@mastodon.social",
        url="https://mastodon.social/@lumiere",
    )
    assert MastodonNetwork.post_id_from_url("https://mastodon.social/@lumiere/1123", toot) == "1123"
    assert (
        MastodonNetwork.post_id_from_url(
            "https://mastodon.social/users/lumiere/statuses/1123", toot
        )
        == "1123"
    )
    # Seen through another instance, the number is that instance's: not guessed.
    assert (
        MastodonNetwork.post_id_from_url("https://piaille.fr/@lumiere@mastodon.social/9", toot)
        is None
    )


# --- cancel -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_cancel(team, client_for, make_publication, role) -> None:
    publication = make_publication("held")
    response = client_for(team[role]).post(url("publication_cancel", publication))
    publication.refresh_from_db()
    if "post.resolve" in MATRIX[role]:
        assert response.status_code == 302 and publication.state == "cancelled"
        assert AuditEntry.objects.filter(action="publication.cancel").count() == 1
    else:
        assert response.status_code in (403, 404) and publication.state == "held"


def test_a_post_that_may_be_on_the_network_says_so_before_it_is_cancelled(
    team, client_for, make_publication
) -> None:
    publication = make_publication("failed", sending_at=timezone.now())
    html = client_for(team["content"]).get(ATTENTION).content.decode()
    assert "may have reached the network" in html or "a peut-être atteint le réseau" in html
    cancelled = actions.cancel_publication(publication, by=team["content"])
    assert cancelled.state == "cancelled"
    entry = AuditEntry.objects.get(action="publication.cancel")
    assert entry.before["sending_at"]


def test_a_published_post_cannot_be_cancelled(team, make_publication) -> None:
    publication = make_publication("failed")
    actions.mark_published(publication, by=team["content"], post_id="sbx-9")
    with pytest.raises(ActionRefused):
        actions.cancel_publication(publication, by=team["content"])
