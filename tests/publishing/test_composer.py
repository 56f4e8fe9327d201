"""The composer: one post, several channels, a variant each, checked live, saved as a draft,
submitted through submit_post, edited, moved and cancelled; who may and who may not."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from portevoix.channels import actions as channel_actions
from portevoix.core.permissions import MATRIX
from portevoix.media import actions as media_actions
from portevoix.publishing import actions
from portevoix.publishing.models import Post, PostingSlot, Publication
from portevoix.sandbox import service
from tests.conftest import ALL_ROLES
from tests.publishing.conftest import publish_calls, run_publications

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def png(width=3000, height=2000, colour=(200, 30, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def channels(team):
    made = []
    for handle, name, zone in (
        ("acme-insta", "Insta", ""),
        ("acme-pro", "Pro", "America/Montreal"),
    ):
        account = service.create_account(handle, workspace=team.workspace)
        channel = channel_actions.connect_channel(
            team.workspace,
            by=team["admin"],
            network="sandbox",
            credentials=service.credentials_for(account),
            name=name,
        )
        if zone:
            type(channel).objects.filter(pk=channel.pk).update(time_zone=zone)
            channel.refresh_from_db()
        made.append(channel)
    return made


def url(name, **kwargs):
    return reverse(name, kwargs={"ws": "acme", **kwargs})


def tomorrow_at(hour=9, minute=30):
    day = timezone.now().astimezone(PARIS).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute))


def form(channels, **extra):
    data = {
        "title": "Teaser",
        "text": "Le sérum Velours arrive https://lumiere.example/velours",
        "channels": [str(c.pk) for c in channels],
        "when": "at",
        "at": tomorrow_at().strftime("%Y-%m-%dT%H:%M"),
        "time_zone": "Europe/Paris",
        "add_utm": "1",
    }
    data.update(extra)
    return data


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_open_the_composer(team, client_for, channels, role):
    response = client_for(team[role]).get(url("compose"))
    assert response.status_code == (200 if "post.create" in MATRIX[role] else 403)


def test_outsider_gets_nothing(team, client_for, channels):
    assert client_for(team.outsider).get(url("compose")).status_code == 404
    post = actions.schedule_post(team.workspace, by=team["admin"], text="x", channels=channels)
    other = team.outsider.workspace.slug
    response = client_for(team.outsider).get(
        reverse("post_edit", kwargs={"ws": other, "pk": post.pk})
    )
    assert response.status_code == 404


def test_save_a_draft_then_schedule_it_for_two_channels(team, client_for, channels):
    client = client_for(team["content"])
    data = form(channels)
    data[f"v{channels[1].pk}-text"] = "Version pro https://lumiere.example/velours"
    data[f"v{channels[0].pk}-first_comment"] = "Lien en bio"
    data[f"v{channels[0].pk}-thread"] = "Deuxième partie\n---\nTroisième partie"
    response = client.post(url("compose"), {**data, "save": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    post = Post.objects.get()
    rows = {p.channel.name: p for p in post.publications.select_related("channel")}
    assert {p.state for p in rows.values()} == {"draft"}
    assert rows["Insta"].thread == [{"text": "Deuxième partie"}, {"text": "Troisième partie"}]
    assert rows["Pro"].text.startswith("Version pro")
    # One instant for both channels, read in Paris.
    expected = tomorrow_at().replace(tzinfo=PARIS)
    assert rows["Insta"].scheduled_at == rows["Pro"].scheduled_at == expected
    # UTM tags per channel and campaign in what goes out.
    out = rows["Insta"].outgoing()
    assert "utm_source=insta" in out.text and "utm_medium=social" in out.text
    assert out.thread[1].text == "Troisième partie" and out.first_comment == "Lien en bio"
    response = client.post(url("post_edit", pk=post.pk), {**data, "submit": "1"})
    assert response.status_code == 302
    assert set(post.publications.values_list("state", flat=True)) == {"scheduled"}


def test_same_local_time_in_each_audience_zone(team, client_for, channels):
    client = client_for(team["content"])
    response = client.post(url("compose"), {**form(channels, when="local"), "save": "1"})
    assert response.status_code == 302
    rows = {p.channel.name: p for p in Publication.objects.select_related("channel")}
    assert rows["Insta"].scheduled_at.astimezone(PARIS).time() == dt.time(9, 30)
    montreal = ZoneInfo("America/Montreal")
    assert rows["Pro"].scheduled_at.astimezone(montreal).time() == dt.time(9, 30)
    assert rows["Pro"].scheduled_at - rows["Insta"].scheduled_at == dt.timedelta(hours=6)


def test_a_time_in_a_daylight_saving_gap_is_refused_in_place(team, client_for, channels):
    year = timezone.now().year + 1
    response = client_for(team["content"]).post(
        url("compose"), {**form(channels, at=f"{year}-03-28T02:30"), "save": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 400 and "Europe/Paris" in html
    assert 'value="Teaser"' in html  # nothing typed is lost
    assert not Post.objects.exists()


def test_a_creative_submits_for_approval(team, client_for, channels):
    response = client_for(team["creative"]).post(url("compose"), {**form(channels), "submit": "1"})
    assert response.status_code == 302
    assert set(Publication.objects.values_list("state", flat=True)) == {"pending_approval"}


def test_too_long_for_the_network_is_refused_with_the_reason(team, client_for, channels):
    response = client_for(team["content"]).post(
        url("compose"), {**form(channels, text="x" * 3001), "submit": "1"}
    )
    assert response.status_code == 400
    assert "3001" in response.content.decode()
    assert not Publication.objects.filter(state="scheduled").exists()


def test_live_checks_count_as_the_network_and_preview(team, client_for, channels):
    client = client_for(team["content"])
    response = client.post(url("compose_checks"), form(channels[:1], text="é" * 3001))
    html = response.content.decode()
    assert response.status_code == 200
    assert "3001 / 3000" in html and "check-card" in html
    ok = client.post(url("compose_checks"), form(channels))
    assert ok.content.decode().count("check-card") == 2
    assert "utm_campaign" not in ok.content.decode() and "utm_source=pro" in ok.content.decode()
    assert client_for(team["viewer"]).post(url("compose_checks"), form(channels)).status_code == 403


def test_autosave_creates_then_updates_one_draft(team, client_for, channels):
    client = client_for(team["creative"])
    first = client.post(url("compose_autosave"), form(channels, text="Premier jet"))
    assert first.status_code == 200 and first["HX-Replace-Url"].endswith("/")
    post = Post.objects.get()
    again = client.post(
        url("compose_autosave"), {**form(channels, text="Second jet"), "post": post.pk}
    )
    assert again.status_code == 200
    post.refresh_from_db()
    assert Post.objects.count() == 1 and post.text == "Second jet"
    # A scheduled post is not changed by autosave.
    actions.submit_post(post, by=team["content"])
    client.post(url("compose_autosave"), {**form(channels, text="Troisième"), "post": post.pk})
    post.refresh_from_db()
    assert post.text == "Second jet"


def test_edit_a_scheduled_post_goes_through_submit_again(team, client_for, channels):
    client = client_for(team["content"])
    client.post(url("compose"), {**form(channels), "submit": "1"})
    post = Post.objects.get()
    response = client.post(
        url("post_edit", pk=post.pk),
        {**form(channels[:1], text="Corrigé"), "submit": "1"},
    )
    assert response.status_code == 302
    states = dict(post.publications.values_list("channel__name", "state"))
    # Pro was dropped: it was scheduled, so it is cancelled (kept in the history).
    assert states == {"Insta": "scheduled", "Pro": "cancelled"}
    post.refresh_from_db()
    assert post.text == "Corrigé"


def test_move_keeps_the_time_of_day_and_the_state(team, client_for, channels):
    client = client_for(team["content"])
    client.post(url("compose"), {**form(channels, when="local"), "submit": "1"})
    post = Post.objects.get()
    before = {p.channel_id: p.scheduled_at for p in post.publications.all()}
    fingerprint = post.content_fingerprint()
    target = tomorrow_at().date() + dt.timedelta(days=3)
    response = client.post(
        url("post_move", pk=post.pk), {"day": target.isoformat()}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200 and response.json()["ok"]
    for p in post.publications.all():
        assert p.state == "scheduled"
        assert p.scheduled_at - before[p.channel_id] == dt.timedelta(days=3)
        assert p.next_attempt_at == p.scheduled_at
    assert post.content_fingerprint() == fingerprint  # an approval would stay
    past = client.post(
        url("post_move", pk=post.pk), {"day": "2001-01-01"}, HTTP_ACCEPT="application/json"
    )
    assert past.status_code == 400 and past.json()["error"]
    assert (
        client_for(team["viewer"]).post(url("post_move", pk=post.pk), {"day": target}).status_code
        == 403
    )


def test_cancel_a_scheduled_post(team, client_for, channels):
    client = client_for(team["content"])
    client.post(url("compose"), {**form(channels), "submit": "1"})
    post = Post.objects.get()
    response = client.post(url("post_edit", pk=post.pk), {"cancel_post": "1"})
    assert response.status_code == 302
    assert set(post.publications.values_list("state", flat=True)) == {"cancelled"}


def test_next_free_slot_per_channel(team, client_for, channels):
    insta = channels[0]
    now = timezone.now().astimezone(PARIS)
    for offset in (1, 2):
        day = (now + dt.timedelta(days=offset)).weekday()
        PostingSlot.objects.create(channel=insta, weekday=day, time=dt.time(11, 0))
    first = actions.free_slot(insta, after=timezone.now())
    assert first is not None and first.astimezone(PARIS).time() == dt.time(11, 0)
    client = client_for(team["content"])
    client.post(url("compose"), {**form(channels[:1], when="slot"), "save": "1"})
    taken = Publication.objects.get().scheduled_at
    assert taken == first
    second = actions.free_slot(insta, after=timezone.now())
    assert second is not None and second > first
    refused = client.post(url("compose"), {**form(channels[1:], when="slot"), "save": "1"})
    assert refused.status_code == 400 and "Pro" in refused.content.decode()


def test_an_image_from_the_library_goes_out_in_the_networks_size(team, client_for, channels):
    asset = media_actions.upload(
        team.workspace,
        by=team["creative"],
        filename="velours.png",
        data=png(),
        alt_text="Un flacon",
    )
    client = client_for(team["content"])
    data = form(channels[:1], when="now")
    data["media"] = [str(asset.pk)]
    response = client.post(url("compose"), {**data, "submit": "1"})
    assert response.status_code == 302
    run_publications()
    publication = Publication.objects.get()
    assert publication.state == "published", publication.problem
    item = publication.outgoing().media[0]
    assert item.mime_type == "image/jpeg" and item.alt_text == "Un flacon"
    with Image.open(io.BytesIO(item.data)) as sent:
        assert max(sent.size) == 2048
    assert sum(publish_calls().values()) == 1


def test_every_page_of_the_plan_opens(team, client_for, channels):
    at = timezone.now() + dt.timedelta(days=1)
    actions.schedule_post(team.workspace, by=team["admin"], text="Demain", channels=channels, at=at)
    # The views are opened on the post's day: "today's" week or month would miss it on a
    # Sunday or on the last day of a month (the workspace's day, not UTC's).
    day = at.astimezone(ZoneInfo(team.workspace.time_zone)).date().isoformat()
    client = client_for(team["viewer"])
    for view in ("month", "week", "list"):
        response = client.get(url("calendar"), {"view": view, "state": "scheduled", "date": day})
        assert response.status_code == 200 and "Demain" in response.content.decode()
    for name in ("campaigns", "ideas", "creative_requests", "plan_settings", "media_library"):
        assert client.get(url(name)).status_code == 200, name
    editor = client_for(team["content"])
    for name in ("campaign_new", "creative_request_new", "compose"):
        assert editor.get(url(name)).status_code == 200, name
    post = Post.objects.get()
    assert editor.get(url("post_edit", pk=post.pk)).status_code == 200


def test_a_published_post_links_to_itself_on_the_network(team, client_for, channels):
    post = actions.schedule_post(
        team.workspace, by=team["admin"], text="Sorti", channels=channels[:1]
    )
    run_publications()
    publication = post.publications.get()
    assert publication.state == "published"
    Publication.objects.filter(pk=publication.pk).update(url="https://bsky.app/profile/x/post/1")
    html = client_for(team["viewer"]).get(url("calendar"), {"view": "list"}).content.decode()
    assert 'href="https://bsky.app/profile/x/post/1"' in html and "see-it" in html


def test_a_viewer_sees_a_post_but_cannot_change_it(team, client_for, channels):
    post = actions.schedule_post(
        team.workspace,
        by=team["admin"],
        text="Lecture",
        channels=channels,
        at=timezone.now() + dt.timedelta(days=1),
    )
    viewer = client_for(team["viewer"])
    html = viewer.get(url("post_edit", pk=post.pk)).content.decode()
    assert "Lecture" in html and "disabled" in html and 'name="submit"' not in html
    assert (
        viewer.post(url("post_edit", pk=post.pk), {**form(channels), "save": "1"}).status_code
        == 403
    )
    assert viewer.post(url("post_edit", pk=post.pk), {"cancel_post": "1"}).status_code == 403


def test_a_refused_schedule_keeps_the_draft_and_makes_no_second_post(team, client_for, channels):
    client = client_for(team["content"])
    response = client.post(url("compose"), {**form(channels, text="x" * 3001), "submit": "1"})
    assert response.status_code == 400
    post = Post.objects.get()  # saved as a draft, shown again with its id
    assert f'id="post-id" value="{post.pk}"' in response.content.decode()
    again = client.post(url("compose"), {**form(channels), "post": post.pk, "submit": "1"})
    assert again.status_code == 302 and Post.objects.count() == 1
    assert set(post.publications.values_list("state", flat=True)) == {"scheduled"}


def test_a_networks_refusals_are_in_the_members_language(team, client_for):
    """TikTok's own rules (a post needs a video or photos; an answer is impossible) and the
    shared ones come from the module's ``validate``, in the reader's language."""
    from portevoix.channels.models import Channel
    from portevoix.networks.types import Credentials

    channel = Channel(
        workspace=team.workspace, network="tiktok", name="TikTok", account_id="o1", handle="@l"
    )
    channel.set_credentials(Credentials({"access_token": "act.x", "open_id": "o1"}))
    channel.save()
    member = team["content"]
    data = form([channel], text="Sans vidéo")
    for language, expected in (
        (
            "fr",
            "TikTok demande une vidéo ou des photos\u00a0: joignez une vidéo, ou de 1 à 35 photos.",
        ),
        ("en", "TikTok needs a video or photos: attach one video, or 1 to 35 photos."),
    ):
        type(member.user).objects.filter(pk=member.user.pk).update(language=language)
        html = client_for(member).post(url("compose_checks"), data).content.decode()
        assert expected in html.replace("&#x27;", "'"), language
    # Submitted, the same refusal comes back in place, in French.
    type(member.user).objects.filter(pk=member.user.pk).update(language="fr")
    response = client_for(member).post(url("compose"), {**data, "submit": "1"})
    assert response.status_code == 400
    assert "TikTok demande une vidéo ou des photos" in response.content.decode()
