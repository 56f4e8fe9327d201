"""Every write triage makes: corrections people record, and the daily count of items labelled."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portevoix.core import audit
from portevoix.core.models import Member, User, Workspace
from portevoix.core.permissions import can
from portevoix.triage.labels import FIELD_CHOICES, Field
from portevoix.triage.models import TriageCorrection, TriageDailyCount

#: Who may teach triage: whoever answers or routes conversations.
CORRECT_ACTIONS = ("inbox.route", "inbox.reply")
WINDOW_DAYS = 30


def _actor(workspace: Workspace, by: Member | User | None) -> User | None:
    if by is None:
        return None
    if isinstance(by, Member):
        if by.workspace_id != workspace.pk:
            from django.http import Http404

            raise Http404("not found")
        if not any(can(by, action) for action in CORRECT_ACTIONS):
            raise PermissionDenied(
                "Only members who answer or route conversations may correct triage."
            )
        return by.user
    return by


@transaction.atomic
def record_correction(
    workspace: Workspace,
    *,
    text: str,
    field: str,
    predicted: str,
    corrected: str,
    by: Member | User | None,
    source_ref: str = "",
    when: dt.datetime | None = None,
) -> TriageCorrection:
    """Store what a person chose for ``field`` of ``text``; later triage of this workspace uses it.

    ``by`` is the member (checked against the workspace and its role), a user, or ``None`` for
    an import. A correction equal to the prediction is a confirmation and counts for accuracy.
    """
    try:
        field_enum = Field(field)
    except ValueError as exc:
        raise ValidationError(f"unknown field {field!r}") from exc
    choices = FIELD_CHOICES[field_enum]
    for value in (predicted, corrected):
        if value not in choices:
            raise ValidationError(f"{value!r} is not a {field_enum.value} label")
    if not text.strip():
        raise ValidationError("the text is empty")
    actor = _actor(workspace, by)

    from portevoix.triage.engine import get_pipeline

    correction = TriageCorrection.objects.create(
        workspace=workspace,
        text=text,
        field=field_enum.value,
        predicted_label=predicted,
        corrected_label=corrected,
        created_by=actor,
        created_at=when or timezone.now(),
        embedding=get_pipeline().example_embedding(text),
        source_ref=source_ref[:200],
    )
    audit.record(
        "triage.correct",
        workspace=workspace,
        actor=actor,
        obj=correction,
        before={"field": field_enum.value, "label": predicted},
        after={"field": field_enum.value, "label": corrected},
    )
    return correction


def count_labelled(workspace: Workspace, items: int, *, day: dt.date | None = None) -> None:
    """Add ``items`` to the workspace's count of labelled items for ``day`` (today)."""
    if items <= 0:
        return
    day = day or timezone.localdate()
    with transaction.atomic():
        row, created = TriageDailyCount.objects.select_for_update().get_or_create(
            workspace=workspace, day=day, defaults={"items": items}
        )
        if not created:
            TriageDailyCount.objects.filter(pk=row.pk).update(items=F("items") + items)


def accuracy_last_30_days(
    workspace: Workspace, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Accuracy of triage for the workspace over the last 30 days, from its corrections.

    Per field: ``reviewed`` (corrections and confirmations recorded), ``corrected`` (the label
    was changed), ``confirmed``; ``reviewed_accuracy`` = confirmed / reviewed (the share right
    among the items people checked) and, when the number of items labelled is known,
    ``accuracy`` = 1 - corrected / labelled (items nobody corrected count as right).
    Values are ``None`` when there is nothing to compute them from.
    """
    now = now or timezone.now()
    since = now - dt.timedelta(days=WINDOW_DAYS)
    rows = TriageCorrection.objects.filter(
        workspace=workspace, created_at__gt=since, created_at__lte=now
    ).values_list("field", "predicted_label", "corrected_label")
    labelled = sum(
        TriageDailyCount.objects.filter(
            workspace=workspace, day__gt=since.date(), day__lte=now.date()
        ).values_list("items", flat=True)
    )
    per_field: dict[str, dict[str, Any]] = {
        f.value: {"reviewed": 0, "corrected": 0, "confirmed": 0} for f in Field
    }
    for field, predicted, corrected in rows:
        stats = per_field.setdefault(field, {"reviewed": 0, "corrected": 0, "confirmed": 0})
        stats["reviewed"] += 1
        stats["corrected" if predicted != corrected else "confirmed"] += 1
    for stats in per_field.values():
        reviewed = stats["reviewed"]
        stats["reviewed_accuracy"] = stats["confirmed"] / reviewed if reviewed else None
        stats["accuracy"] = max(0.0, 1.0 - stats["corrected"] / labelled) if labelled else None
    reviewed_total = sum(s["reviewed"] for s in per_field.values())
    confirmed_total = sum(s["confirmed"] for s in per_field.values())
    return {
        "workspace": workspace.slug,
        "since": since.isoformat(),
        "until": now.isoformat(),
        "labelled": labelled,
        "reviewed": reviewed_total,
        "corrected": reviewed_total - confirmed_total,
        "reviewed_accuracy": confirmed_total / reviewed_total if reviewed_total else None,
        "fields": per_field,
    }
