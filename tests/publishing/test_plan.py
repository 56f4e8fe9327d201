"""The content plan: campaigns, the ideas backlog, creative requests, recurring dates, CSV
import and export, the iCal feed; each with who may and who may not."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from portevoix.channels import actions as channel_actions
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AccessToken, AuditEntry
from portevoix.core.permissions import MATRIX
from portevoix.publishing import actions, exchange
from portevoix.publishing.models import (
    Campaign,
    CreativeRequest,
    Idea,
    Post,
    Publication,
    RecurringDate,
)
from portevoix.sandbox import service
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def channel(team):
    account = service.create_account("acme-plan", workspace=team.workspace)
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Insta",
    )


def url(name, **kwargs):
    return reverse(name, kwargs={"ws": "acme", **kwargs})


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 1600), (250, 200, 10)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_manages_campaigns(team, client_for, channel, role):
    response = client_for(team[role]).post(
        url("campaign_new"),
        {"name": f"Soldes {role}", "goal": "Ventes", "color": "#aa3300", "channels": [channel.pk]},
    )
    allowed = "plan.manage" in MATRIX[role]
    assert response.status_code == (302 if allowed else 403)
    assert Campaign.objects.filter(name=f"Soldes {role}").exists() == allowed


def test_campaign_rules(team, channel):
    with pytest.raises(ActionRefused):
        actions.save_campaign(
            team.workspace,
            by=team["manager"],
            name="Été",
            starts_on=dt.date(2027, 7, 1),
            ends_on=dt.date(2027, 6, 1),
        )
    actions.save_campaign(team.workspace, by=team["manager"], name="Été", color="#123456")
    with pytest.raises(ActionRefused):
        actions.save_campaign(team.workspace, by=team["manager"], name="été", color="#123456")


def test_ideas_are_proposed_by_anyone_and_decided_early_by_a_manager(team, client_for):
    agent = client_for(team["agent"])
    assert agent.post(url("ideas"), {"idea-title": "Un quiz sur les parfums"}).status_code == 302
    idea = Idea.objects.get()
    assert idea.state == "proposed"
    # A content marketer proposes but does not decide.
    response = client_for(team["content"]).post(
        url("idea_decide", pk=idea.pk), {"decision": "accept"}
    )
    assert response.status_code == 403
    # Declining needs a reason, so the person learns from it.
    with pytest.raises(ActionRefused):
        actions.decide_idea(idea, by=team["manager"], accept=False)
    client_for(team["manager"]).post(
        url("idea_decide", pk=idea.pk), {"decision": "decline", "note": "Hors ton de marque"}
    )
    idea.refresh_from_db()
    assert idea.state == "declined" and idea.decision_note == "Hors ton de marque"
    assert AuditEntry.objects.filter(action="idea.decline").exists()
    with pytest.raises(ActionRefused):
        actions.decide_idea(idea, by=team["manager"], accept=True)


def test_an_accepted_idea_becomes_a_post(team, client_for, channel):
    idea = actions.propose_idea(team.workspace, by=team["creative"], title="Coulisses")
    actions.decide_idea(idea, by=team["manager"], accept=True)
    page = client_for(team["content"]).get(url("compose"), {"idea": idea.pk})
    assert 'value="Coulisses"' in page.content.decode()
    response = client_for(team["content"]).post(
        url("compose") + f"?idea={idea.pk}",
        {
            "idea": idea.pk,
            "title": "Coulisses",
            "text": "L'atelier",
            "channels": [channel.pk],
            "when": "now",
            "save": "1",
        },
    )
    assert response.status_code == 302
    idea.refresh_from_db()
    assert idea.state == "used" and idea.post is not None


def test_a_creative_request_from_brief_to_delivered_asset_to_scheduled_post(
    team, client_for, channel
):
    content = client_for(team["content"])
    post = actions.save_post(
        team.workspace,
        by=team["content"],
        composition=actions.Composition(
            text="Le coffret de Noël",
            variants=(actions.Variant(channel),),
            when=actions.When.AT,
            at=timezone.now() + dt.timedelta(days=5),
        ),
    )
    deadline = (timezone.now() + dt.timedelta(days=2)).astimezone(PARIS)
    response = content.post(
        url("creative_request_new"),
        {
            "post": post.pk,
            "title": "Visuel coffret",
            "brief": "Le coffret ouvert, fond neige",
            "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
            "channels": [channel.pk],
            "assignee": team["creative"].pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    request = CreativeRequest.objects.get()
    assert request.post == post and request.assignee == team["creative"].user
    # The post waits on it: it cannot be scheduled yet, and says why.
    with pytest.raises(ActionRefused) as waiting:
        actions.submit_post(post, by=team["content"])
    assert waiting.value.code == "waiting"
    editor = content.get(url("post_edit", pk=post.pk)).content.decode()
    assert "Visuel coffret" in editor
    # The queue shows it to the creative; an analyst may not deliver.
    queue = client_for(team["creative"]).get(url("creative_requests")).content.decode()
    assert "Visuel coffret" in queue
    upload = SimpleUploadedFile("coffret.png", png(), content_type="image/png")
    assert (
        client_for(team["analyst"])
        .post(url("creative_request", pk=request.pk), {"file": upload})
        .status_code
        == 403
    )
    upload = SimpleUploadedFile("coffret.png", png(), content_type="image/png")
    response = client_for(team["creative"]).post(
        url("creative_request", pk=request.pk), {"file": upload, "alt_text": "Coffret ouvert"}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == "delivered"
    asset = request.assets.get()
    assert asset.renditions.filter(network="sandbox").exists()
    assert post.media.get().asset == asset  # the post got the visual
    actions.submit_post(post, by=team["content"])
    assert post.publications.get().state == "scheduled"


def test_a_late_request_shows_on_the_calendar(team, client_for, channel):
    request = actions.request_creative(
        team.workspace,
        by=team["content"],
        title="Bannière en retard",
        brief="...",
        channels=[channel],
        deadline=timezone.now() + dt.timedelta(hours=1),
    )
    CreativeRequest.objects.filter(pk=request.pk).update(
        deadline=timezone.now() - dt.timedelta(days=1)
    )
    html = client_for(team["viewer"]).get(url("calendar")).content.decode()
    assert "Bannière en retard" in html and "request-due late" in html


def test_recurring_dates_every_year_and_seasons(team, client_for):
    actions.add_recurring_date(
        team.workspace, by=team["content"], name="Journée de la femme", month=3, day=8
    )
    winter = actions.add_recurring_date(
        team.workspace, by=team["content"], name="Hiver", month=12, day=21, end_month=3, end_day=20
    )
    assert winter.covers(dt.date(2027, 1, 15)) and not winter.covers(dt.date(2027, 6, 1))
    with pytest.raises(ActionRefused):
        actions.add_recurring_date(team.workspace, by=team["content"], name="x", month=2, day=30)
    with pytest.raises(PermissionDenied):
        actions.add_recurring_date(team.workspace, by=team["creative"], name="x", month=2, day=3)
    html = client_for(team["viewer"]).get(url("calendar"), {"date": "2027-03-01"}).content.decode()
    assert "Journée de la femme" in html and "Hiver" in html
    assert RecurringDate.objects.count() == 2


CSV_OK = (
    "when,channels,title,text,campaign,link\n"
    "{day} 09:30,Insta,Teaser,Bientôt le sérum,,https://lumiere.example\n"
    "{day} 18:00,Insta,Rappel,Plus que 2 jours,,\n"
)


def test_csv_import_dry_run_then_for_real(team, channel):
    day = (timezone.now() + dt.timedelta(days=3)).date().isoformat()
    data = CSV_OK.format(day=day).encode()
    report = exchange.import_plan(team.workspace, by=team["content"], data=data, dry_run=True)
    assert report.ok and report.created == 2 and not Post.objects.exists()
    report = exchange.import_plan(
        team.workspace, by=team["content"], data=data, dry_run=False, submit=True
    )
    assert report.ok and Post.objects.count() == 2
    assert set(Publication.objects.values_list("state", flat=True)) == {"scheduled"}
    first = Publication.objects.get(post__title="Teaser")
    assert first.scheduled_at == dt.datetime.fromisoformat(f"{day}T09:30").replace(tzinfo=PARIS)


def test_csv_import_reports_each_wrong_line_and_saves_nothing(team, channel):
    day = (timezone.now() + dt.timedelta(days=3)).date().isoformat()
    data = (
        CSV_OK.format(day=day)
        + f"{day} 10:00,Snapchat,X,Texte,,\n"
        + "2001-01-01 10:00,Insta,Y,Trop tard,,\n"
        + f"{day} 11:00,Insta,Z,{'x' * 3001},,\n"
    ).encode()
    report = exchange.import_plan(team.workspace, by=team["content"], data=data, dry_run=False)
    assert [line for line, _ in report.errors] == [4, 5, 6]
    assert "Snapchat" in report.errors[0][1] and "3001" in report.errors[2][1]
    assert not Post.objects.exists()


def test_csv_import_page_and_export(team, client_for, channel):
    day = (timezone.now() + dt.timedelta(days=3)).date().isoformat()
    upload = SimpleUploadedFile(
        "plan.csv", CSV_OK.format(day=day).encode(), content_type="text/csv"
    )
    response = client_for(team["content"]).post(
        url("plan_import"), {"file": upload, "dry_run": "1"}
    )
    assert response.status_code == 200 and not Post.objects.exists()
    upload = SimpleUploadedFile(
        "plan.csv", CSV_OK.format(day=day).encode(), content_type="text/csv"
    )
    assert client_for(team["viewer"]).post(url("plan_import"), {"file": upload}).status_code == 403
    exchange.import_plan(
        team.workspace, by=team["content"], data=CSV_OK.format(day=day).encode(), dry_run=False
    )
    Post.objects.filter(title="Rappel").update(text="=HYPERLINK(1)")
    csv_text = client_for(team["viewer"]).get(url("plan_export")).content.decode()
    assert "Teaser" in csv_text and "'=HYPERLINK(1)" in csv_text


def test_ical_feed_behind_a_revocable_secret(team, client_for, channel):
    actions.schedule_post(
        team.workspace,
        by=team["admin"],
        text="Dans le flux",
        channels=[channel],
        at=timezone.now() + dt.timedelta(days=2),
    )
    # An agent does not see the plan, so has no feed of it.
    with pytest.raises(PermissionDenied):
        exchange.issue_feed(by=team["agent"])
    row, token = exchange.issue_feed(by=team["creative"])
    assert row.purpose == "calendar_feed" and row.object_id == str(team["creative"].pk)
    assert token not in row.token_hash  # only the hash of the secret is kept
    assert row.expires_at - row.created_at == dt.timedelta(days=365)
    anonymous = client_for(None)
    link = reverse("ical_feed", kwargs={"token": token})
    response = anonymous.get(link)
    body = response.content.decode()
    assert response.status_code == 200 and body.startswith("BEGIN:VCALENDAR")
    assert "Insta: Dans le flux" in body and "admin@acme.test" not in body
    # Every reading is counted and written to the audit log, without the token.
    used = AuditEntry.objects.filter(action="access.use").get()
    assert used.actor_label.startswith("link: calendar_feed") and token not in str(used.after)
    assert AccessToken.objects.get(pk=row.pk).use_count == 1
    assert anonymous.get(reverse("ical_feed", kwargs={"token": "wrong"})).status_code == 404
    # A feed link made for another purpose's signature does not open the feed.
    forged = token.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
    assert anonymous.get(reverse("ical_feed", kwargs={"token": forged})).status_code == 404
    exchange.revoke_feed(row, by=team["creative"])
    assert anonymous.get(link).status_code == 404


def test_a_feed_stops_with_its_member_and_is_revoked_from_its_page(team, client_for, channel):
    _row, token = exchange.issue_feed(by=team["content"])
    link = reverse("ical_feed", kwargs={"token": token})
    anonymous = client_for(None)
    assert anonymous.get(link).status_code == 200
    team["content"].__class__.objects.filter(pk=team["content"].pk).update(is_active=False)
    assert anonymous.get(link).status_code == 404
    # From the page: create a link (shown once), see it, revoke it; someone else's is not ours.
    client = client_for(team["manager"])
    response = client.post(url("plan_feeds"))
    assert response.status_code == 200 and "/feeds/plan/pvt." in response.content.decode()
    mine = exchange.feeds_of(team["manager"])
    assert len(mine) == 1
    other = exchange.feeds_of(team["content"])[0]
    assert client.post(url("plan_feeds"), {"revoke": other.pk}).status_code == 404
    assert client.post(url("plan_feeds"), {"revoke": mine[0].pk}).status_code == 302
    assert AccessToken.objects.get(pk=mine[0].pk).status == "revoked"
    assert AccessToken.objects.get(pk=other.pk).revoked_at is None


@pytest.mark.parametrize("role", ALL_ROLES)
def test_plan_pages_per_role(team, client_for, role):
    client = client_for(team[role])
    expected = {
        "campaigns": "post.view",
        "ideas": "idea.propose",
        "creative_requests": "post.view",
        "plan_settings": "post.view",
        "plan_feeds": "post.view",
        "plan_import": "post.create",
    }
    for name, action in expected.items():
        status = client.get(url(name)).status_code
        assert status == (200 if action in MATRIX[role] else 403), (name, status)


def test_a_visual_requests_states_agree_with_la_demande_in_french() -> None:
    from django.utils import translation

    from portevoix.publishing.models import CreativeRequestState

    with translation.override("fr"):
        labels = [str(s.label) for s in CreativeRequestState]
    assert labels == ["Ouverte", "Livrée", "Annulée"]  # not « Ouvrir », « Livré », « Annulé »
    with translation.override("en"):
        assert [str(s.label) for s in CreativeRequestState] == ["Open", "Delivered", "Cancelled"]
