"""Notifications (one row per recipient member), preferences, and e-mails as background work.

A :class:`Notification` keeps its kind and parameters, never a translated sentence: it is
written in the reader's language when read (``render``). Its e-mail, when the member wants
one, is an :class:`EmailDelivery` row: background work with a state (docs/worker.md), sent by
the worker after the change that caused it has committed, retried when the mail server
refuses for a while, and never sent twice (see :mod:`portevoix.notifications.mail`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import MemberLike, RestrictedQuerySet
from portevoix.notifications import kinds
from portevoix.notifications.kinds import Delivery, Rendered
from portevoix.worker.graph import State, StateGraph
from portevoix.worker.models import Outcome, StatefulModel


class Notification(models.Model):
    """Something one member is told. In the app when ``in_app``; by e-mail when it has an
    :class:`EmailDelivery`."""

    VIEW_ACTION = None
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=80)
    params = models.JSONField(default=dict, blank=True)
    #: Where the notification leads (a path of this site).
    url = models.CharField(max_length=500, blank=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    #: Told once: a second notification with the same recipient, kind and key is not made.
    key = models.CharField(max_length=200, blank=True)
    in_app = models.BooleanField(default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "in_app", "read_at"], name="notif_unread"),
            # The notifications about one object (an erasure deletes them: docs/privacy.md).
            models.Index(fields=["object_type", "object_id"], name="notif_object"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "key"],
                condition=~Q(key=""),
                name="notification_told_once",
            )
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        """A member sees only their own notifications, and only those meant for the app."""
        return queryset.filter(recipient_id=getattr(member, "pk", None), in_app=True)

    @property
    def kind_obj(self) -> kinds.Kind | None:
        return kinds.find(self.kind)

    def render(self) -> Rendered:
        """Title and body in the active language (a kind no longer known still shows)."""
        kind = self.kind_obj
        if kind is None:
            return Rendered(title=self.kind, body="")
        return kind.render(self.params)

    @property
    def unread(self) -> bool:
        return self.read_at is None


class NotificationPreference(models.Model):
    """How one member wants one kind of notification; without a row, the kind's default."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=80)
    delivery = models.CharField(max_length=8, choices=Delivery.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "kind"], name="notification_pref_unique")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.kind}: {self.delivery}"


class EmailStates(StateGraph):
    # Sent by the worker; a refusal by the mail server is retried with back-off.
    queued = State(initial=True, handler="handle_queued", try_interval=60, max_attempts=8)
    sent = State(terminal=True)
    #: Nobody to send it to any more (member deactivated, no address).
    skipped = State(terminal=True)
    #: The mail server may have taken it before the connection broke: never sent again.
    unsure = State(terminal=True)
    #: The mail server kept refusing; an operator can queue it again from the admin.
    failed = State(failure=True)
    queued.transitions_to(queued, sent, skipped, unsure)
    failed.transitions_to(queued)
    lease_seconds = 120.0


class EmailDelivery(StatefulModel):
    """The e-mail of one notification: written in the recipient's language when it is sent."""

    STATE_GRAPH = EmailStates
    CLAIM_RELATED: ClassVar[tuple[str, ...]] = (
        "notification",
        "notification__workspace",
        "notification__recipient",
        "notification__recipient__user",
    )

    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="email"
    )
    to = models.EmailField(_("to"), blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    #: Committed before the mail server is called; a row found with it is never sent again.
    sending_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("notification e-mail")
        verbose_name_plural = _("notification e-mails")

    def __str__(self) -> str:
        return f"{self.notification.kind} → {self.to or self.notification.recipient_id}"

    def handle_queued(self) -> Outcome:
        from portevoix.notifications import mail

        return mail.handle_queued(self)
