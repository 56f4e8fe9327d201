"""Sending a notification's e-mail: retried while the mail server refuses, never sent twice.

SMTP has no idempotency key, so "never twice" is kept the way publishing keeps it: a
"sending" mark (``sending_at``) is committed under this worker's claim before the server is
called. Then:

* the server could not be reached, or answered with an error (a 4xx/5xx reply to the
  connection, the sender, a recipient or the data): nothing was accepted, the mark is cleared
  and the e-mail is retried with back-off (a 5xx reply to the data or the recipient is
  permanent: it fails at once, with the server's reason);
* anything else after the connection was open (a timeout, a dropped connection) may have
  happened after the server took the message: the row goes to ``unsure`` and is never sent
  again; a row found with the mark (a worker that died mid-send) goes there too.

The message is written when it is sent, in the recipient's language and time zone, to the
address the account has then.
"""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import zoneinfo

from django.conf import settings
from django.core import mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from portevoix.core.sentences import Sentence
from portevoix.notifications import kinds
from portevoix.notifications.models import EmailDelivery, EmailStates
from portevoix.worker.models import LeaseLost, Outcome

log = logging.getLogger(__name__)
#: Whitespace a subject line cannot hold, and runs of spaces: all but U+00A0 and U+202F.
_LINE_BREAKS = re.compile(r"[^\S\u00a0\u202f]+")

S = EmailStates
#: A refusal that is not permanent is retried this many times (with back-off), then fails.
MAX_TRIES = S.queued.max_attempts


def say(message: str, **params: object) -> str:
    """What the row tells a person, stored as a sentence: rendered in each reader's language
    when a page shows it (``core.sentences``)."""
    return Sentence(message, {k: str(v) for k, v in params.items()}).dumps()


def _refused(exc: BaseException) -> tuple[bool, str]:
    """(permanent, reason) for an error that proves the server accepted nothing."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return all(500 <= c < 600 for c in codes), f"SMTPRecipientsRefused: {exc.recipients}"
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        permanent = 500 <= exc.smtp_code < 600 and not isinstance(
            exc, smtplib.SMTPAuthenticationError | smtplib.SMTPConnectError | smtplib.SMTPHeloError
        )
        return permanent, f"{type(exc).__name__} {exc.smtp_code}: {text}"
    return False, f"{type(exc).__name__}: {exc}"


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def compose(delivery: EmailDelivery) -> mail.EmailMessage:
    """The e-mail, in the recipient's language and time zone."""
    notification = delivery.notification
    member = notification.recipient
    user = member.user
    workspace = notification.workspace
    language = user.language or workspace.language or settings.LANGUAGE_CODE
    zone = _zone(user.time_zone or workspace.time_zone)
    with translation.override(language):
        previous = timezone.get_current_timezone()
        if zone is not None:
            timezone.activate(zone)
        try:
            rendered = notification.render()
            base = settings.PORTEVOIX_BASE_URL.rstrip("/")
            link = base + notification.url if notification.url.startswith("/") else ""
            preferences = base + reverse("notification_preferences", kwargs={"ws": workspace.slug})
            body = render_to_string(
                "notifications/email/notification.txt",
                {
                    "name": user.display_name,
                    "workspace": workspace,
                    "title": rendered.title,
                    "body": rendered.body,
                    "link": link,
                    "preferences": preferences,
                },
            )
            subject = f"[{workspace.name}] {rendered.title}"
            spec = kinds.find(notification.kind)
            files = (
                spec.attachments(notification.params, language)
                if spec is not None and spec.attachments is not None
                else []
            )
        finally:
            timezone.activate(previous)
    # One line; the non-breaking spaces French puts before « : » and inside « » stay.
    subject = _LINE_BREAKS.sub(" ", subject).strip()[:300]
    message = mail.EmailMessage(subject=subject, body=body, to=[user.email])
    for name, content, mime in files:
        message.attach(name, content, mime)
    return message


def handle_queued(delivery: EmailDelivery) -> Outcome:
    if delivery.sending_at is not None:
        return Outcome(
            S.unsure,
            fields={
                "problem": say(
                    gettext_noop(
                        "An earlier attempt to send this e-mail was interrupted: it may have "
                        "been delivered, so it is not sent again."
                    )
                )
            },
        )
    member = delivery.notification.recipient
    user = member.user
    if not (member.is_active and user.is_active and user.email):
        return Outcome(
            S.skipped,
            fields={
                "problem": say(
                    gettext_noop("The recipient is no longer an active member with an address.")
                )
            },
        )
    message = compose(delivery)
    now = timezone.now()
    marked = EmailDelivery.objects.filter(
        pk=delivery.pk,
        state=S.queued.name,
        locked_by=delivery.locked_by,
        sending_at__isnull=True,
    ).update(sending_at=now, to=user.email, subject=message.subject)
    if marked != 1:
        raise LeaseLost(f"EmailDelivery {delivery.pk}: not ours to send any more")
    connection = mail.mailers.default
    try:
        connection.open()
    except Exception as exc:
        # Not connected: nothing can have been sent.
        return _retry(delivery, *_refused(exc))
    try:
        connection.send_messages([message])
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
        return _retry(delivery, *_refused(exc))
    except Exception as exc:
        log.warning("e-mail %s: the connection broke while sending (%s)", delivery.pk, exc)
        return Outcome(
            S.unsure,
            error=f"{type(exc).__name__}: {exc}",
            fields={
                "problem": say(
                    gettext_noop(
                        "The mail server stopped answering while it received this e-mail: it "
                        "may have been delivered, so it is not sent again (%(reason)s)."
                    ),
                    reason=f"{type(exc).__name__}: {exc}"[:500],
                )
            },
        )
    finally:
        with contextlib.suppress(Exception):  # the message's fate is already decided
            connection.close()
    return Outcome(S.sent, fields={"sending_at": None, "sent_at": timezone.now(), "problem": ""})


def _retry(delivery: EmailDelivery, permanent: bool, reason: str) -> Outcome:
    problem = say(
        gettext_noop("The mail server did not accept this e-mail: %(reason)s"),
        reason=reason[:500],
    )
    if permanent or delivery.attempts + 1 >= MAX_TRIES:
        return Outcome(S.failed, fields={"sending_at": None, "problem": problem})
    return Outcome(
        S.queued, retry=True, error=reason, fields={"sending_at": None, "problem": problem}
    )
