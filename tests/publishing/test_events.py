"""Who hears about a publication that needs a person, with the network's reason, once."""

from __future__ import annotations

from django.core import mail
from django.utils import timezone, translation

from portevoix.notifications.models import EmailDelivery, Notification, NotificationPreference
from portevoix.publishing import notices
from portevoix.publishing.events import publication_needs_attention
from portevoix.publishing.models import Publication
from portevoix.sandbox import service
from portevoix.worker import runner
from tests.publishing.conftest import PROBLEM


def _told(kind=None):
    rows = Notification.objects.select_related("recipient__user")
    if kind:
        rows = rows.filter(kind=kind)
    return sorted(n.recipient.user.email for n in rows)


def test_a_failed_post_tells_its_author_with_the_reason_in_the_app_and_by_email_once(
    team, channel, make_publication
) -> None:
    publication = make_publication("rejected", author=team["content"])
    publication_needs_attention(publication.pk, "rejected")
    publication_needs_attention(publication.pk, "rejected")  # a second call changes nothing
    [notification] = Notification.objects.all()
    assert notification.recipient == team["content"] and notification.kind == notices.FAILED
    assert notification.url == f"/w/acme/attention/#publication-{publication.pk}"
    with translation.override("en"):
        shown = notification.render()
    assert shown.title == f"{channel.name} refused your post"
    assert PROBLEM in shown.body and "Le sérum Velours arrive lundi" in shown.body
    # ... and by e-mail, sent by the worker, once.
    runner.run_once([EmailDelivery])
    runner.run_once([EmailDelivery])
    [message] = mail.outbox
    assert message.to == ["content@acme.test"] and PROBLEM in message.body


def test_the_authors_preference_is_followed(team, make_publication) -> None:
    NotificationPreference.objects.create(
        member=team["content"], kind=notices.FAILED, delivery="email"
    )
    publication = make_publication("failed", author=team["content"])
    publication_needs_attention(publication.pk, "failed")
    notification = Notification.objects.get()
    assert not notification.in_app and EmailDelivery.objects.filter(notification=notification)


def test_a_failure_of_a_post_whose_author_cannot_decide_goes_to_who_can(
    team, make_publication
) -> None:
    publication = make_publication("rejected", author=team["creative"])
    publication_needs_attention(publication.pk, "rejected")
    assert _told(notices.FAILED) == ["creative@acme.test"]
    assert _told(notices.TEAM) == ["admin@acme.test", "content@acme.test", "manager@acme.test"]


def test_a_post_with_a_person_who_can_decide_does_not_disturb_the_team(
    team, make_publication
) -> None:
    publication = make_publication("held", author=team["manager"])
    publication_needs_attention(publication.pk, "held")
    assert _told() == ["manager@acme.test"]


def test_needs_check_tells_the_author_and_everyone_who_may_resolve(team, make_publication) -> None:
    publication = make_publication("needs_check", author=team["content"])
    publication_needs_attention(publication.pk, "needs_check")
    assert _told(notices.NEEDS_CHECK) == ["content@acme.test"]
    assert _told(notices.TEAM) == ["admin@acme.test", "manager@acme.test"]


def test_a_channel_to_reconnect_tells_its_managers_once_however_many_posts_wait(
    team, make_publication, channel
) -> None:
    first = make_publication("waiting_reconnect", author=team["content"])
    second = make_publication("waiting_reconnect", author=team["creative"])
    for publication in (first, second):
        publication_needs_attention(publication.pk, "waiting_reconnect")
    assert _told(notices.WAITING_RECONNECT) == ["content@acme.test", "creative@acme.test"]
    assert _told(notices.CHANNEL_RECONNECT) == ["admin@acme.test", "manager@acme.test"]
    notice = Notification.objects.filter(kind=notices.CHANNEL_RECONNECT).first()
    assert notice.url == f"/w/acme/attention/#channel-{channel.pk}"


def test_nobody_is_told_about_a_publication_that_moved_on(team, make_publication) -> None:
    publication = make_publication("rejected")
    publication.transition("cancelled")
    assert publication_needs_attention(publication.pk, "rejected") == []
    assert publication_needs_attention(10**9, "failed") == []
    assert not Notification.objects.exists()


def test_the_worker_tells_the_author_when_the_network_refuses_the_channel(
    team, account, make_publication, django_capture_on_commit_callbacks
) -> None:
    """The whole path: the worker's handler, its result committed, then the notification."""
    service.expire_token(account)
    now = timezone.now()
    publication = make_publication(
        "scheduled", author=team["content"], scheduled_at=now, next_attempt_at=now
    )
    with django_capture_on_commit_callbacks(execute=True):
        runner.run_once([Publication])
    publication.refresh_from_db()
    assert publication.state == "waiting_reconnect"
    [notice] = Notification.objects.filter(kind=notices.WAITING_RECONNECT)
    assert notice.recipient == team["content"]
    assert notice.params["problem"] == publication.problem != ""
