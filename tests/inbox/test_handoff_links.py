"""A hand-off link lets someone without an account (a sales rep, a lawyer) read one handed-off
conversation and answer it or take it over: signed, expiring within days, revocable, usable
from one browser, every use audited; the answer comes back to the social team as a draft."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portevoix.core.actions import ActionRefused
from portevoix.core.models import AccessToken, AuditEntry
from portevoix.core.permissions import MATRIX
from portevoix.inbox import actions
from portevoix.inbox.ingest import ingest
from portevoix.inbox.models import HandOffState, Reply
from portevoix.publishing.models import Publication
from tests.conftest import ALL_ROLES
from tests.inbox.conftest import ORDER_FR, conversation_of, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def handoff(team, channel):
    from portevoix.networks.types import InboundKind

    ingest(channel, [make_item("d1", ORDER_FR, kind=InboundKind.DM, thread="t-d1")])
    conversation = conversation_of("d1")
    return actions.hand_off(
        conversation,
        by=team["content"],
        department=team.department("legal"),
        note="Is this a legal risk?",
    )


def visitor() -> Client:
    """A browser of its own, reading English."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def page(token: str) -> str:
    return reverse("inbox_handoff_link", kwargs={"token": token})


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_make_a_link(team, handoff, role):
    if "inbox.route" in MATRIX[role]:
        link, token = actions.issue_handoff_link(handoff, by=team[role], recipient="Me Dupont")
        assert token.startswith("pvt.")
        assert link.token.expires_at - timezone.now() <= dt.timedelta(days=3)
        assert AuditEntry.objects.filter(action="handoff.link").exists()
    else:
        with pytest.raises(PermissionDenied):
            actions.issue_handoff_link(handoff, by=team[role])
        assert not AccessToken.objects.exists()
    with pytest.raises(Http404):
        actions.issue_handoff_link(handoff, by=team.outsider)


def test_a_link_lasts_days_not_weeks(team, handoff):
    with pytest.raises(ActionRefused, match="1 to 14 days"):
        actions.issue_handoff_link(handoff, by=team["content"], days=30)
    link, _ = actions.issue_handoff_link(handoff, by=team["content"], days=14)
    assert link.token.expires_at - timezone.now() > dt.timedelta(days=13)


def test_someone_without_an_account_answers_and_it_comes_back_as_a_draft(team, handoff):
    _, token = actions.issue_handoff_link(handoff, by=team["content"], recipient="Me Dupont")
    browser = visitor()
    opened = browser.get(page(token))
    assert opened.status_code == 200
    assert b"num\xc3\xa9ro 4521" in opened.content  # the conversation, to read
    assert b"Is this a legal risk?" in opened.content
    answered = browser.post(page(token), {"name": "Me Dupont", "text": "No risk: refund."})
    assert answered.status_code == 200
    answer = Reply.objects.get(handoff=handoff)
    publication = Publication.objects.get(post=answer.post)
    assert publication.state == "draft"  # the social team sends it
    handoff.refresh_from_db()
    assert handoff.state == HandOffState.ANSWERED and handoff.answered_by_name == "Me Dupont"
    uses = AuditEntry.objects.filter(action="access.use").count()
    assert uses == 2  # the opening and the answer
    entry = AuditEntry.objects.get(action="handoff.answer")
    assert entry.actor is None and "Me Dupont" in entry.actor_label
    # The social team sends the draft.
    actions.send_reply(answer, by=team["content"])
    publication.refresh_from_db()
    assert publication.state == "scheduled"


def test_taking_it_over_closes_the_link(team, handoff):
    _, token = actions.issue_handoff_link(handoff, by=team["content"])
    browser = visitor()
    response = browser.post(page(token), {"name": "Paul", "take_over": "1"})
    assert response.status_code == 200
    handoff.refresh_from_db()
    assert handoff.state == HandOffState.TAKEN_OVER
    assert browser.get(page(token)).status_code == 410  # nothing more to open


def test_a_link_works_in_one_browser_only(team, handoff):
    _, token = actions.issue_handoff_link(handoff, by=team["content"])
    first, second = visitor(), visitor()
    assert first.get(page(token)).status_code == 200
    refused = second.get(page(token))
    assert refused.status_code == 403
    assert b"another browser" in refused.content
    assert AuditEntry.objects.filter(
        action="access.refused", after__reason="other_browser"
    ).exists()
    assert second.post(page(token), {"name": "X", "text": "hi"}).status_code == 403
    assert not Reply.objects.exists()
    assert first.get(page(token)).status_code == 200  # still works where it was opened


def test_a_withdrawn_link_stops_at_once(team, handoff):
    link, token = actions.issue_handoff_link(handoff, by=team["content"])
    browser = visitor()
    assert browser.get(page(token)).status_code == 200
    with pytest.raises(PermissionDenied):
        actions.revoke_handoff_link(link, by=team["agent"])
    with pytest.raises(Http404):
        actions.revoke_handoff_link(link, by=team.outsider)
    actions.revoke_handoff_link(link, by=team["manager"])
    refused = browser.post(page(token), {"name": "X", "text": "hi"})
    assert refused.status_code == 410
    assert b"withdrawn" in refused.content
    assert not Reply.objects.exists()
    assert AuditEntry.objects.filter(action="access.refused", after__reason="revoked").exists()


def test_an_expired_or_forged_link_opens_nothing(team, handoff):
    link, token = actions.issue_handoff_link(handoff, by=team["content"])
    AccessToken.objects.filter(pk=link.token.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert visitor().get(page(token)).status_code == 410
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert visitor().get(page(forged)).status_code == 404
    assert visitor().get(page("pvt.nothing.here")).status_code == 404


def test_a_closed_hand_off_closes_its_links(team, handoff):
    _, token = actions.issue_handoff_link(handoff, by=team["content"])
    actions.close_handoff(handoff, by=team["content"])
    assert visitor().get(page(token)).status_code == 410
    with pytest.raises(ActionRefused):
        actions.issue_handoff_link(handoff, by=team["content"])


def test_the_conversation_page_shows_the_link_once_and_withdraws_it(team, handoff):
    client = Client()
    client.force_login(team["content"].user)
    ws = team.workspace.slug
    made = client.post(
        reverse("inbox_handoff_link_make", kwargs={"ws": ws, "pk": handoff.pk}),
        {"recipient": "Me Dupont", "days": "2"},
    )
    assert made.status_code == 302  # a reload makes no second link
    link = handoff.links.get()
    page_url = reverse("inbox_conversation", kwargs={"ws": ws, "pk": handoff.conversation_id})
    shown = client.get(page_url)
    assert b"/h/pvt." in shown.content
    again = client.get(page_url)
    assert b"/h/pvt." not in again.content  # shown once
    assert b"Me Dupont" in shown.content
    client.post(reverse("inbox_handoff_link_revoke", kwargs={"ws": ws, "pk": link.pk}))
    link.token.refresh_from_db()
    assert link.token.revoked_at is not None
    bad = client.post(
        reverse("inbox_handoff_link_make", kwargs={"ws": ws, "pk": handoff.pk}),
        {"recipient": "x", "days": "40"},
    )
    assert bad.status_code == 400
    agent = Client()
    agent.force_login(team["agent"].user)
    refused = agent.post(
        reverse("inbox_handoff_link_make", kwargs={"ws": ws, "pk": handoff.pk}), {"days": "2"}
    )
    assert refused.status_code == 403
