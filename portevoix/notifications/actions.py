"""Telling people things: :func:`notify`, the one notification path, and the reader's actions.

``notify`` is called inside the transaction of the change it tells about. Its rows are that
transaction's outbox: nobody sees a notification, and no worker sends its e-mail, before the
change commits; if the change rolls back, so do they; once it commits, nothing can lose them
(unlike a callback run after the commit, which a crash between the two would skip).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class _Told:
    """One notify() call, recipients already filtered, waiting to be written."""

    workspace: Workspace
    kind: str
    people: tuple[Member, ...]
    params: dict[str, Any]
    url: str
    object_type: str
    object_id: str
    key: str


_queue: ContextVar[list[_Told] | None] = ContextVar("notifications_queue", default=None)


@contextmanager
def batched() -> Iterator[None]:
    """Inside, :func:`notify` only queues; leaving writes the whole queue in a few statements.

    For code that tells many things in one transaction (the inbox stores a page of messages,
    each routed, assigned and maybe handed off): one query for the preferences of every
    recipient, one for the keys already told, one insert of all the notifications and one of
    their e-mails, instead of five statements per recipient. Leave it inside the transaction
    (the rows are still that transaction's outbox); nested, the outer one writes. If the block
    raises, nothing is written (the transaction is rolling back anyway).
    """
    if _queue.get() is not None:
        yield
        return
    queue: list[_Told] = []
    token = _queue.set(queue)
    try:
        yield
        _write(queue)
    finally:
        _queue.reset(token)


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
    is told once: the same kind and key again makes nothing. Returns the notifications made
    (none yet inside :func:`batched`: they are written when it ends).
    """
    from django.db import connection

    kinds.get(kind)  # an unknown kind is an error here, where it was written
    if not connection.in_atomic_block:
        raise NotInTransaction("notify() runs inside the transaction of the change it tells about")
    seen: set[int] = set()
    people = []
    for member in recipients:
        if member.pk in seen or member.workspace_id != workspace.pk or not member.is_active:
            continue
        seen.add(member.pk)
        people.append(member)
    if not people:
        return []
    told = _Told(
        workspace=workspace,
        kind=kind,
        people=tuple(people),
        params=audit.jsonable(dict(params or {})),
        url=url[:500],
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        key=key[:200],
    )
    queue = _queue.get()
    if queue is not None:
        queue.append(told)
        return []
    return _write([told])


def _write(queue: list[_Told]) -> list[Notification]:
    """Write queued notifications: each recipient as they prefer, each key told once."""
    if not queue:
        return []
    member_ids = {m.pk for told in queue for m in told.people}
    codes = {told.kind for told in queue}
    chosen = {
        (member_id, code): delivery
        for member_id, code, delivery in NotificationPreference.objects.filter(
            member__in=member_ids, kind__in=codes
        ).values_list("member_id", "kind", "delivery")
    }
    keyed = [told for told in queue if told.key]
    done: set[tuple[int, str, str]] = set()
    if keyed:
        done = set(
            Notification.objects.filter(
                recipient__in={m.pk for told in keyed for m in told.people},
                key__in={told.key for told in keyed},
            ).values_list("recipient_id", "kind", "key")
        )
    rows: list[tuple[Notification, bool]] = []
    for told in queue:
        spec = kinds.get(told.kind)
        for member in told.people:
            delivery = Delivery(chosen.get((member.pk, told.kind), spec.default))
            if delivery == Delivery.NONE:
                continue
            if told.key:
                if (member.pk, told.kind, told.key) in done:
                    continue
                done.add((member.pk, told.kind, told.key))
            notification = Notification(
                workspace=told.workspace,
                recipient=member,
                kind=told.kind,
                params=told.params,
                url=told.url,
                object_type=told.object_type,
                object_id=told.object_id,
                key=told.key,
                in_app=delivery.in_app,
            )
            rows.append((notification, delivery.by_email))
    if not rows:
        return []
    from django.db import connection

    made: list[Notification]
    if connection.features.can_return_rows_from_bulk_insert:
        try:
            with transaction.atomic():
                made = Notification.objects.bulk_create([n for n, _ in rows])
            emailed = [n for (n, by_email) in rows if by_email]
        except IntegrityError:
            made, emailed = _one_by_one(rows)  # a concurrent transaction told someone first
    else:
        made, emailed = _one_by_one(rows)
    if emailed:
        EmailDelivery.objects.bulk_create([EmailDelivery(notification=n) for n in emailed])
    return made


def _one_by_one(
    rows: list[tuple[Notification, bool]],
) -> tuple[list[Notification], list[Notification]]:
    made, emailed = [], []
    for notification, by_email in rows:
        try:
            with transaction.atomic():
                notification.save(force_insert=True)
        except IntegrityError:
            continue  # told already, by a concurrent transaction
        made.append(notification)
        if by_email:
            emailed.append(notification)
    return made, emailed


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
