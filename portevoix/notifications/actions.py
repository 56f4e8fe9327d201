"""Telling people things: :func:`notify`, the one notification path, and the reader's actions.

``notify`` is called inside the transaction of the change it tells about. Its rows are that
transaction's outbox: nobody sees a notification, and no worker sends its e-mail, before the
change commits; if the change rolls back, so do they; once it commits, nothing can lose them
(unlike a callback run after the commit, which a crash between the two would skip).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, models, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member, Workspace
from portevoix.notifications import kinds
from portevoix.notifications.kinds import Delivery
from portevoix.notifications.models import EmailDelivery, Notification, NotificationPreference


class NotInTransaction(RuntimeError):
    """notify() was called outside the transaction of the change it tells about."""


def preferences_of(members: Iterable[Member], kind: kinds.Kind) -> dict[int, Delivery]:
    """How each member wants ``kind`` (their choice, else the kind's default)."""
    members = list(members)
    chosen = dict(
        NotificationPreference.objects.filter(
            member__in=[m.pk for m in members], kind=kind.code
        ).values_list("member_id", "delivery")
    )
    return {m.pk: Delivery(chosen.get(m.pk, kind.default)) for m in members}


def notify(
    workspace: Workspace,
    kind: str,
    recipients: Iterable[Member],
    *,
    obj: models.Model | None = None,
    params: Mapping[str, Any] | None = None,
    url: str = "",
    key: str = "",
) -> list[Notification]:
    """Tell ``recipients`` (active members of ``workspace``) about something, each as they
    prefer: a notification in the app, an e-mail, both or nothing.

    ``params`` (JSON values) are what the kind's title and template are written from when the
    notification is read or sent; ``url`` is the page it leads to; with a ``key``, a recipient
    is told once: the same kind and key again makes nothing.
    """
    from django.db import connection

    spec = kinds.get(kind)
    if not connection.in_atomic_block:
        raise NotInTransaction("notify() runs inside the transaction of the change it tells about")
    values = audit.jsonable(dict(params or {}))
    seen: set[int] = set()
    people = []
    for member in recipients:
        if member.pk in seen or member.workspace_id != workspace.pk or not member.is_active:
            continue
        seen.add(member.pk)
        people.append(member)
    wanted = preferences_of(people, spec)
    made: list[Notification] = []
    for member in people:
        delivery = wanted[member.pk]
        if delivery == Delivery.NONE:
            continue
        if key and Notification.objects.filter(recipient=member, kind=kind, key=key).exists():
            continue
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    workspace=workspace,
                    recipient=member,
                    kind=kind,
                    params=values,
                    url=url[:500],
                    object_type=obj._meta.label_lower if obj is not None else "",
                    object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
                    key=key[:200],
                    in_app=delivery.in_app,
                )
        except IntegrityError:
            continue  # told already, by a concurrent transaction
        if delivery.by_email:
            EmailDelivery.objects.create(notification=notification)
        made.append(notification)
    return made


def unread_count(member: Member | None) -> int:
    if member is None:
        return 0
    return Notification.objects.visible_to(member).filter(read_at__isnull=True).count()


@transaction.atomic
def mark_read(notification: Notification, *, by: Member) -> Notification:
    """The reader has seen it. Personal, like a read mark in a mailbox: no audit entry."""
    if notification.recipient_id != by.pk or not by.is_active:
        raise Http404("not found")
    updated = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if updated:
        notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def mark_all_read(*, by: Member) -> int:
    if not by.is_active:
        raise Http404("not found")
    return (
        Notification.objects.visible_to(by)
        .filter(read_at__isnull=True)
        .update(read_at=timezone.now())
    )


@transaction.atomic
def set_preferences(member: Member, *, by: Member, choices: Mapping[str, str]) -> dict[str, str]:
    """How ``member`` wants each kind; only the member themself chooses. Audited."""
    if by.pk != member.pk or not by.is_active:
        raise Http404("not found")
    offered = {k.code: k for k in kinds.all_kinds() if k.offered_to(member)}
    for code, value in choices.items():
        if code not in offered:
            raise ActionRefused(_("Unknown kind of notification."), field=code)
        if value not in Delivery.values:
            raise ActionRefused(_("Choose one of the options."), field=code)
    Member.objects.select_for_update().filter(pk=member.pk).first()
    rows = {
        p.kind: p for p in NotificationPreference.objects.filter(member=member, kind__in=choices)
    }
    before = {
        code: rows[code].delivery if code in rows else offered[code].default.value
        for code in choices
    }
    for code, value in choices.items():
        if code in rows:
            if rows[code].delivery != value:
                rows[code].delivery = value
                rows[code].save(update_fields=["delivery"])
        else:
            NotificationPreference.objects.create(member=member, kind=code, delivery=value)
    changed = {code: value for code, value in choices.items() if before[code] != value}
    if changed:
        audit.record(
            "notification.preferences",
            workspace=member.workspace,
            actor=by.user,
            obj=member,
            before={code: before[code] for code in changed},
            after=changed,
        )
    return dict(choices)
