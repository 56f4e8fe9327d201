"""E-mails of notifications: background work sent by the worker, retried when the mail server
refuses, never sent twice, written in the recipient's language when sent."""

from __future__ import annotations

import smtplib
from typing import Any, ClassVar

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction

from portevoix.notifications.actions import notify
from portevoix.notifications.models import EmailDelivery
from portevoix.publishing import notices
from portevoix.worker import runner

PARAMS = {
    "state": "failed",
    "channel": "Insta",
    "network": "Sandbox",
    "excerpt": "Le sérum Velours arrive lundi",
    "problem": "The sandbox network is unavailable (503).",
    "scheduled_at": "2026-03-02T09:30:00+00:00",
}


class Flaky(BaseEmailBackend):
    """A mail server that fails as told: ``Flaky.plan`` is what each call does next."""

    plan: ClassVar[list[tuple[str, BaseException | None]]] = []
    sent: ClassVar[list[Any]] = []

    def open(self) -> bool:
        step, exc = self.plan[0] if self.plan else ("ok", None)
        if step == "open" and exc is not None:
            self.plan.pop(0)
            raise exc
        return True

    def send_messages(self, messages: Any) -> int:
        step, exc = self.plan.pop(0) if self.plan else ("ok", None)
        if step == "send" and exc is not None:
            raise exc
        self.sent.extend(messages)
        return len(messages)


@pytest.fixture
def flaky(settings) -> type[Flaky]:
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.Flaky"}}
    Flaky.plan = []
    Flaky.sent = []
    return Flaky


def _queue(team, member=None) -> EmailDelivery:
    with transaction.atomic():
        [made] = notify(
            team.workspace,
            notices.FAILED,
            [member or team["content"]],
            params=PARAMS,
            url="/w/acme/attention/#publication-1",
        )
    return EmailDelivery.objects.get(notification=made)


def _work() -> int:
    return runner.run_once([EmailDelivery])


def test_sent_once_in_the_recipients_language_with_the_reason_and_the_link(team, settings):
    settings.PORTEVOIX_BASE_URL = "https://social.example.com"
    member = team["content"]
    member.user.language = "en"
    member.user.save()
    delivery = _queue(team, member)
    assert _work() == 1
    delivery.refresh_from_db()
    assert delivery.state == "sent" and delivery.sent_at and delivery.sending_at is None
    [message] = mail.outbox
    assert message.to == [member.user.email]
    assert message.subject == "[Acme] Your post could not be published on Insta"
    assert "Reason: The sandbox network is unavailable (503)." in message.body
    assert "https://social.example.com/w/acme/attention/#publication-1" in message.body
    assert "https://social.example.com/w/acme/notifications/preferences/" in message.body
    assert _work() == 0 and len(mail.outbox) == 1


def test_without_a_language_of_their_own_the_workspaces(team):
    _queue(team, team["manager"])  # the workspace is French
    _work()
    [message] = mail.outbox
    assert "Votre publication n’a pas pu être publiée sur Insta" in message.subject


def test_a_refusal_is_retried_later_and_then_sent_once(team, flaky):
    flaky.plan = [("send", smtplib.SMTPDataError(451, b"Try again later"))]
    delivery = _queue(team)
    _work()
    delivery.refresh_from_db()
    assert delivery.state == "queued" and delivery.attempts == 1
    assert delivery.sending_at is None and "451" in delivery.problem
    EmailDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.state_changed_at)
    _work()
    delivery.refresh_from_db()
    assert delivery.state == "sent" and len(flaky.sent) == 1


def test_an_unreachable_server_is_retried(team, flaky):
    flaky.plan = [("open", ConnectionRefusedError(111, "Connection refused"))]
    delivery = _queue(team)
    _work()
    delivery.refresh_from_db()
    assert delivery.state == "queued" and delivery.sending_at is None and not flaky.sent


def test_a_permanent_refusal_fails_at_once_with_the_servers_reason(team, flaky):
    refused = smtplib.SMTPRecipientsRefused({"content@acme.test": (550, b"No such user")})
    flaky.plan = [("send", refused)]
    delivery = _queue(team)
    _work()
    delivery.refresh_from_db()
    assert delivery.state == "failed" and "550" in delivery.problem


def test_a_connection_that_breaks_mid_send_is_never_sent_again(team, flaky):
    flaky.plan = [("send", smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))]
    delivery = _queue(team)
    _work()
    delivery.refresh_from_db()
    assert delivery.state == "unsure" and delivery.next_attempt_at is None
    assert "may have been delivered" in delivery.problem or "a peut-être" in delivery.problem
    assert _work() == 0 and not flaky.sent


def test_a_row_found_with_the_sending_mark_is_not_sent_again(team, flaky):
    """A worker died between the mark and the server's answer: the e-mail may be out."""
    from django.utils import timezone

    delivery = _queue(team)
    EmailDelivery.objects.filter(pk=delivery.pk).update(sending_at=timezone.now())
    _work()
    delivery.refresh_from_db()
    assert delivery.state == "unsure" and not flaky.sent


def test_nobody_to_write_to_any_more(team):
    delivery = _queue(team)
    member = team["content"]
    member.is_active = False
    member.save()
    _work()
    delivery.refresh_from_db()
    assert delivery.state == "skipped" and mail.outbox == []


def test_embedded_mode_writes_files_in_the_data_dirs_mail_folder(team, settings, tmp_path):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path / "mail")},
        }
    }
    _queue(team)
    _work()
    [written] = list((tmp_path / "mail").iterdir())
    assert "Insta" in written.read_text(encoding="utf-8")
