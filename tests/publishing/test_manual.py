"""Manual channels (issue 11 §3): planned and approved like any channel, never sent by the
worker; the owner is reminded, marks the post published by hand (or not), enters results."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.networks.manual import ManualNetwork
from portevoix.notifications.models import Notification
from portevoix.publishing import actions as publishing
from portevoix.publishing import attention, manual
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.approvals.models import ApprovalStep, StepState
from portevoix.publishing.models import Publication, PublicationMetrics
from tests.conftest import signed_in
from tests.publishing.conftest import run_publications

LINK = "https://www.snapchat.com/add/lumiere/story/123"


@pytest.fixture
def snapchat(team):
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="manual",
        credentials={"label": "Snapchat", "account": "lumiere", "url": ""},
        owner=team["content"].user,
    )


@pytest.fixture(autouse=True)
def _no_publish(monkeypatch):
    """Every call of the manual network's publish or reconcile is counted: there must be none."""
    calls: list[str] = []

    def publish(self, post, *, idempotency_key):
        calls.append(idempotency_key)
        raise AssertionError("the worker must never publish on a manual channel")

    monkeypatch.setattr(ManualNetwork, "publish", publish)
    return calls


def due(team, channel, *, member=None, hours_ago: float = 0.0) -> Publication:
    """A post for ``channel`` due now (or ``hours_ago``), by a member who publishes directly."""
    who = member or team["manager"]
    post = publishing.schedule_post(
        team.workspace,
        by=who,
        text="Les coulisses du shooting 📸 #Lumière https://lumiere.example/velours",
        channels=[channel],
        at=timezone.now() + dt.timedelta(minutes=1),
    )
    publication = post.publications.get()
    Publication.objects.filter(pk=publication.pk).update(
        scheduled_at=timezone.now() - dt.timedelta(hours=hours_ago),
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1),
    )
    publication.refresh_from_db()
    return publication


def run_with_notices() -> None:
    """The worker's cycles, with what they tell people after the commit."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        run_publications()


def waiting_publication(team, channel, **kwargs) -> Publication:
    publication = due(team, channel, **kwargs)
    run_with_notices()
    publication.refresh_from_db()
    assert publication.state == "waiting_manual"
    return publication


# --- the channel ----------------------------------------------------------------------------


def test_a_manual_channel_is_connected_with_its_label_and_owner(team, snapchat):
    assert snapchat.network == "manual"
    assert snapchat.is_manual
    assert snapchat.network_label == "Snapchat"
    assert snapchat.owner == team["content"].user
    assert snapchat.handle == "lumiere"


def test_the_same_account_is_not_connected_twice(team, snapchat):
    with pytest.raises(ActionRefused):
        channel_actions.connect_channel(
            team.workspace,
            by=team["admin"],
            network="manual",
            credentials={"label": "snapchat ", "account": "Lumiere"},
            name="Snap 2",
        )


def test_the_owner_must_be_a_member_who_writes_posts(team):
    for who in (team["viewer"], team["analyst"], team.outsider):
        with pytest.raises(ActionRefused) as refused:
            channel_actions.connect_channel(
                team.workspace,
                by=team["admin"],
                network="manual",
                credentials={"label": f"Forum {who.role}"},
                owner=who.user,
            )
        assert refused.value.field == "owner"


def test_a_label_is_required(team):
    with pytest.raises(ActionRefused):
        channel_actions.connect_channel(
            team.workspace, by=team["admin"], network="manual", credentials={"label": " "}
        )


# --- the worker -------------------------------------------------------------------------------


def test_at_its_time_the_worker_does_not_send_and_reminds_the_owner(team, snapchat, _no_publish):
    publication = waiting_publication(team, snapchat)
    assert _no_publish == []
    assert publication.sending_at is None
    assert publication.first_attempt_at is None
    assert publication.network_post_id == ""
    (note,) = Notification.objects.filter(kind="manual.post_due")
    assert note.recipient == team["content"]
    assert note.url == reverse(
        "publication_by_hand", kwargs={"ws": team.workspace.slug, "pk": publication.pk}
    )
    assert "Les coulisses du shooting" in note.params["text"]
    # Left alone by the worker from now on: never sent, never lost.
    run_with_notices()
    publication.refresh_from_db()
    assert publication.state == "waiting_manual"
    assert Notification.objects.filter(kind="manual.post_due").count() == 1
    assert _no_publish == []


def test_without_an_owner_the_managers_are_reminded(team):
    forum = channel_actions.connect_channel(
        team.workspace, by=team["admin"], network="manual", credentials={"label": "Forum"}
    )
    waiting_publication(team, forum)
    told = set(
        Notification.objects.filter(kind="manual.post_due").values_list(
            "recipient__role", flat=True
        )
    )
    assert told == {"admin", "manager"}


def test_a_post_waiting_for_approval_is_not_due(team, snapchat):
    post = publishing.schedule_post(
        team.workspace,
        by=team["creative"],
        text="Un visuel pour Snapchat",
        channels=[snapchat],
        at=timezone.now() + dt.timedelta(minutes=1),
    )
    publication = post.publications.get()
    assert publication.state == "pending_approval"
    Publication.objects.filter(pk=publication.pk).update(scheduled_at=timezone.now())
    run_publications()
    publication.refresh_from_db()
    assert publication.state == "pending_approval"
    assert not Notification.objects.filter(kind="manual.post_due").exists()
    for step in ApprovalStep.objects.filter(post=post, state=StepState.WAITING):
        approvals.approve(step, by=team["manager"])
    Publication.objects.filter(pk=publication.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    run_publications()
    publication.refresh_from_db()
    assert publication.state == "waiting_manual"


def test_late_manual_posts_are_on_the_attention_page(team, snapchat):
    on_time = waiting_publication(team, snapchat)
    late = waiting_publication(team, snapchat, hours_ago=3)
    manager = team["manager"]
    assert list(attention.late_by_hand(manager)) == [late]
    assert attention.count(manager) == 1
    client = signed_in(manager.user)
    page = client.get(reverse("attention", kwargs={"ws": team.workspace.slug}))
    assert f'id="publication-{late.pk}"' in page.content.decode()
    assert f'id="publication-{on_time.pk}"' not in page.content.decode()
    assert attention.count(team.outsider) == 0


def test_a_waiting_manual_post_can_be_moved_edited_or_cancelled(team, snapchat):
    publication = waiting_publication(team, snapchat)
    later = timezone.now() + dt.timedelta(days=1)
    publishing.reschedule_post(publication.post, by=team["manager"], at=later)
    publication.refresh_from_db()
    assert publication.state == "scheduled"
    assert publication.scheduled_at == later
    other = waiting_publication(team, snapchat)
    publishing.cancel_post(other.post, by=team["manager"])
    other.refresh_from_db()
    assert other.state == "cancelled"


# --- marking it published, or not ------------------------------------------------------------


def test_the_owner_marks_it_published_with_its_link(team, snapchat):
    publication = waiting_publication(team, snapchat)
    manual.mark_published_by_hand(publication, by=team["content"], url=LINK)
    publication.refresh_from_db()
    assert publication.state == "published"
    assert publication.url == LINK
    assert publication.network_post_id == LINK
    assert publication.network_post_ids == [LINK]
    assert publication.published_at is not None
    entry = AuditEntry.objects.get(action="publication.published_by_hand")
    assert entry.after["url"] == LINK
    assert entry.actor == team["content"].user


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_managers_may_mark_it_too(team, snapchat, role):
    publication = waiting_publication(team, snapchat)
    manual.mark_published_by_hand(publication, by=team[role], url=LINK)
    publication.refresh_from_db()
    assert publication.state == "published"


@pytest.mark.parametrize("role", ["creative", "analyst", "agent", "viewer"])
def test_other_roles_may_not(team, snapchat, role):
    publication = waiting_publication(team, snapchat)
    with pytest.raises(PermissionDenied):
        manual.mark_published_by_hand(publication, by=team[role], url=LINK)
    with pytest.raises(PermissionDenied):
        manual.mark_not_published(publication, by=team[role], reason="no")
    publication.refresh_from_db()
    assert publication.state == "waiting_manual"


def test_a_content_marketer_who_is_not_the_owner_may_not(team, snapchat):
    from portevoix.core.models import Member
    from tests.conftest import make_user

    other = Member.objects.create(
        workspace=team.workspace, user=make_user("content2@acme.test"), role="content"
    )
    publication = waiting_publication(team, snapchat)
    with pytest.raises(PermissionDenied):
        manual.mark_published_by_hand(publication, by=other, url=LINK)


def test_an_outsider_gets_nothing(team, snapchat):
    from django.http import Http404

    publication = waiting_publication(team, snapchat)
    with pytest.raises((Http404, PermissionDenied)):
        manual.mark_published_by_hand(publication, by=team.outsider, url=LINK)


@pytest.mark.parametrize("url", ["", "snapchat.com/x", "javascript:alert(1)", "ftp://x.test/a"])
def test_the_link_must_be_a_web_address(team, snapchat, url):
    publication = waiting_publication(team, snapchat)
    with pytest.raises(ActionRefused) as refused:
        manual.mark_published_by_hand(publication, by=team["content"], url=url)
    assert refused.value.field == "url"
    publication.refresh_from_db()
    assert publication.state == "waiting_manual"


def test_only_a_waiting_post_can_be_marked(team, snapchat):
    publication = waiting_publication(team, snapchat)
    manual.mark_published_by_hand(publication, by=team["content"], url=LINK)
    with pytest.raises(ActionRefused) as refused:
        manual.mark_published_by_hand(publication, by=team["content"], url=LINK + "2")
    assert refused.value.code == "state"
    with pytest.raises(ActionRefused):
        manual.mark_not_published(publication, by=team["content"], reason="oops")


def test_not_published_with_a_reason(team, snapchat):
    publication = waiting_publication(team, snapchat)
    with pytest.raises(ActionRefused) as refused:
        manual.mark_not_published(publication, by=team["content"], reason="   ")
    assert refused.value.field == "reason"
    manual.mark_not_published(publication, by=team["content"], reason="Compte bloqué ce jour-là")
    publication.refresh_from_db()
    assert publication.state == "not_published"
    from portevoix.core import sentences

    assert "Compte bloqué ce jour-là" in sentences.render(publication.problem)
    assert AuditEntry.objects.filter(action="publication.not_published").exists()


def test_a_post_on_another_network_cannot_be_marked_by_hand(team, make_publication):
    publication = make_publication("scheduled")
    with pytest.raises((ActionRefused, PermissionDenied)):
        manual.mark_published_by_hand(publication, by=team["admin"], url=LINK)


# --- results ----------------------------------------------------------------------------------


def published(team, channel, url: str = LINK) -> Publication:
    publication = waiting_publication(team, channel)
    manual.mark_published_by_hand(publication, by=team["content"], url=url)
    publication.refresh_from_db()
    return publication


def test_results_are_entered_and_kept_as_snapshots(team, snapchat):
    publication = published(team, snapchat)
    manual.record_results(publication, by=team["content"], values={"reach": "1 200", "likes": 40})
    manual.record_results(publication, by=team["manager"], values={"reach": 1500, "likes": "52"})
    rows = list(PublicationMetrics.objects.filter(publication=publication))
    assert len(rows) == 2
    latest = manual.latest_results([publication])[publication.pk]
    assert (latest.reach, latest.likes, latest.impressions, latest.source) == (
        1500,
        52,
        None,
        "form",
    )
    assert AuditEntry.objects.filter(action="publication.results").count() == 2


@pytest.mark.parametrize(
    ("values", "field"),
    [({"reach": "-3"}, "reach"), ({"likes": "douze"}, "likes"), ({}, "reach")],
)
def test_bad_results_are_refused(team, snapchat, values, field):
    publication = published(team, snapchat)
    with pytest.raises(ActionRefused) as refused:
        manual.record_results(publication, by=team["content"], values=values)
    assert refused.value.field == field
    assert not PublicationMetrics.objects.exists()


def test_results_wait_for_the_post_to_be_published(team, snapchat):
    publication = waiting_publication(team, snapchat)
    with pytest.raises(ActionRefused):
        manual.record_results(publication, by=team["content"], values={"reach": 3})


def test_results_from_other_roles_are_refused(team, snapchat):
    publication = published(team, snapchat)
    with pytest.raises(PermissionDenied):
        manual.record_results(publication, by=team["analyst"], values={"reach": 3})


def test_a_csv_import_saves_every_line_or_none(team, snapchat):
    first = published(team, snapchat, LINK)
    second = published(team, snapchat, LINK + "-2")
    good = (
        "link;measured_on;reach;impressions;likes;comments;shares;clicks\n"
        f"{LINK};{timezone.localdate():%Y-%m-%d};1200;3000;40;5;2;17\n"
        f"{LINK}-2;;800;;12;;;\n"
    ).encode()
    report = manual.import_results(snapchat, by=team["content"], data=good)
    assert report.ok, report.errors
    assert report.saved == 2
    assert manual.latest_results([first])[first.pk].clicks == 17
    assert manual.latest_results([second])[second.pk].impressions is None
    assert manual.latest_results([second])[second.pk].source == "csv"

    bad = (
        "link,reach,likes\n"
        f"{LINK},10,1\n"
        "https://www.snapchat.com/unknown,5,1\n"
        f"{LINK}-2,-4,1\n"
        f"{LINK},,\n"
    ).encode()
    report = manual.import_results(snapchat, by=team["content"], data=bad)
    assert [line for line, _ in report.errors] == [3, 4, 5]
    assert report.saved == 0
    assert PublicationMetrics.objects.count() == 2  # nothing from the bad file


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe\x00", b"reach,likes\n1,2\n", b"link,followers\nx,1\n", b"link\nx\n"],
)
def test_a_csv_that_cannot_be_read_is_reported_on_line_one(team, snapchat, data):
    report = manual.import_results(snapchat, by=team["content"], data=data)
    assert [line for line, _ in report.errors] == [1]


def test_a_csv_import_by_another_role_is_refused(team, snapchat):
    with pytest.raises(PermissionDenied):
        manual.import_results(snapchat, by=team["viewer"], data=b"link,reach\n")


# --- the pages --------------------------------------------------------------------------------


def test_the_owner_publishes_by_hand_from_the_page(team, snapchat):
    publication = waiting_publication(team, snapchat)
    ws = team.workspace.slug
    client = signed_in(team["content"].user)
    page = client.get(reverse("publication_by_hand", kwargs={"ws": ws, "pk": publication.pk}))
    assert page.status_code == 200
    assert "Les coulisses du shooting" in page.content.decode()
    url = reverse("publication_by_hand_published", kwargs={"ws": ws, "pk": publication.pk})
    answer = client.post(url, {"done-url": "not a link"})
    assert answer.status_code == 400
    assert 'value="not a link"' in answer.content.decode()  # what was typed is kept
    answer = client.post(url, {"done-url": LINK})
    assert answer.status_code == 302
    publication.refresh_from_db()
    assert publication.state == "published"
    results = reverse("publication_results", kwargs={"ws": ws, "pk": publication.pk})
    answer = client.post(results, {"results-reach": "-1"})
    assert answer.status_code == 400
    answer = client.post(results, {"results-reach": "900", "results-likes": "30"})
    assert answer.status_code == 302
    assert PublicationMetrics.objects.get().reach == 900


@pytest.mark.parametrize("role", ["creative", "analyst", "viewer"])
def test_the_page_shows_no_decision_to_other_roles_and_refuses_their_posts(team, snapchat, role):
    publication = waiting_publication(team, snapchat)
    ws = team.workspace.slug
    client = signed_in(team[role].user)
    page = client.get(reverse("publication_by_hand", kwargs={"ws": ws, "pk": publication.pk}))
    assert page.status_code == 200
    assert "done-url" not in page.content.decode()
    for name, data in (
        ("publication_by_hand_published", {"done-url": LINK}),
        ("publication_by_hand_not_published", {"not-reason": "non"}),
    ):
        answer = client.post(reverse(name, kwargs={"ws": ws, "pk": publication.pk}), data)
        assert answer.status_code == 403
    import_url = reverse("manual_results_import", kwargs={"ws": ws, "pk": snapchat.pk})
    assert client.get(import_url).status_code == 403
    publication.refresh_from_db()
    assert publication.state == "waiting_manual"


def test_the_page_is_a_404_for_an_outsider_and_for_other_networks(team, snapchat, make_publication):
    publication = waiting_publication(team, snapchat)
    ws = team.workspace.slug
    outsider = signed_in(team.outsider.user)
    url = reverse("publication_by_hand", kwargs={"ws": ws, "pk": publication.pk})
    assert outsider.get(url).status_code == 404
    other = make_publication("scheduled")
    admin = signed_in(team["admin"].user)
    url = reverse("publication_by_hand", kwargs={"ws": ws, "pk": other.pk})
    assert admin.get(url).status_code == 404


def test_the_csv_import_page_reports_lines(team, snapchat):
    from django.core.files.uploadedfile import SimpleUploadedFile

    published(team, snapchat)
    ws = team.workspace.slug
    client = signed_in(team["content"].user)
    url = reverse("manual_results_import", kwargs={"ws": ws, "pk": snapchat.pk})
    assert client.get(url).status_code == 200
    bad = SimpleUploadedFile("r.csv", b"link,reach\nhttps://nope.test/x,3\n", "text/csv")
    answer = client.post(url, {"file": bad})
    assert answer.status_code == 400
    assert 'data-line="2"' in answer.content.decode()
    good = SimpleUploadedFile("r.csv", f"link,reach\n{LINK},3\n".encode(), "text/csv")
    answer = client.post(url, {"file": good})
    assert answer.status_code == 302
    assert PublicationMetrics.objects.get().reach == 3


def test_media_of_the_post_can_be_downloaded_by_who_sees_it(team, snapchat):
    from portevoix.publishing.actions import Upload
    from tests.images import image_bytes

    post = publishing.schedule_post(
        team.workspace,
        by=team["manager"],
        text="Avec une image",
        channels=[snapchat],
        at=timezone.now() + dt.timedelta(minutes=1),
        uploads=[Upload(filename="photo.png", data=image_bytes(), alt_text="Un flacon")],
    )
    publication = post.publications.get()
    media = publication.media_rows()[0]
    ws = team.workspace.slug
    url = reverse(
        "publication_by_hand_media", kwargs={"ws": ws, "pk": publication.pk, "media": media.pk}
    )
    answer = signed_in(team["content"].user).get(url)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/png"
    assert b"".join(answer.streaming_content).startswith(b"\x89PNG")
    assert signed_in(team.outsider.user).get(url).status_code == 404


def test_a_manual_channel_is_connected_from_the_page(team):
    ws = team.workspace.slug
    client = signed_in(team["admin"].user)
    url = reverse("channel_connect", kwargs={"ws": ws, "network": "manual"})
    assert client.get(url).status_code == 200
    answer = client.post(
        url,
        {
            "cred-label": "Snapchat",
            "cred-account": "lumiere",
            "cred-url": "",
            "cred-owner": str(team["viewer"].user.pk),
            "channel-strategy_level": "active",
        },
    )
    assert answer.status_code == 400  # a viewer writes no posts: not an owner
    answer = client.post(
        url,
        {
            "cred-label": "Snapchat",
            "cred-account": "lumiere",
            "cred-url": "",
            "cred-owner": str(team["content"].user.pk),
            "channel-strategy_level": "active",
        },
    )
    assert answer.status_code == 302
    from portevoix.channels.models import Channel

    channel = Channel.objects.get(network="manual")
    assert channel.owner == team["content"].user
    assert channel.name == "Snapchat"


def test_a_thread_and_a_first_comment_are_shown_to_copy(team, snapchat):
    publication = waiting_publication(team, snapchat)
    Publication.objects.filter(pk=publication.pk).update(
        thread=[{"text": "Deuxième partie du fil"}], first_comment="Lien en commentaire"
    )
    page = signed_in(team["content"].user).get(
        reverse("publication_by_hand", kwargs={"ws": team.workspace.slug, "pk": publication.pk})
    )
    body = page.content.decode()
    assert "Deuxième partie du fil" in body
    assert "Lien en commentaire" in body
