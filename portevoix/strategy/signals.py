"""The strategy's review prompt after a major event (seed 003): when a crisis incident is
closed, the managers are told, once, to review the strategy; the strategy page asks for a
review until the canvas is saved again (``reading.review_reasons``).

A receiver of the incident's ``post_save`` rather than a call inside the crisis app: closing
an incident (``crisis.actions.close_incident``) needs to know nothing of the strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models.signals import post_save
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portevoix.notifications.kinds import Delivery, Kind, register

REVIEW = "strategy.review_incident"


def _title(params: Mapping[str, Any]) -> str:
    return gettext("Incident closed: time to review the strategy")


def incident_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if instance.closed_at is None or (
        update_fields is not None and "closed_at" not in update_fields
    ):
        return
    from portevoix.core.models import Member
    from portevoix.core.permissions import members_with
    from portevoix.notifications.actions import notify

    workspace = instance.workspace
    managers = Member.objects.filter(
        members_with("strategy.manage"), workspace=workspace, is_active=True
    ).select_related("user")
    notify(
        workspace,
        REVIEW,
        list(managers),
        obj=instance,
        params={
            "title": instance.title,
            "summary": Truncator(instance.summary or "").chars(300),
            "closed_at": instance.closed_at.isoformat(),
        },
        url=reverse("strategy", kwargs={"ws": workspace.slug}),
        key=f"incident:{instance.pk}",
    )


def connect() -> None:
    from portevoix.crisis.models import Incident

    register(
        Kind(
            code=REVIEW,
            label=_("Review the strategy after an incident"),
            help=_("When a crisis incident is closed (seed 003: review after every major event)."),
            title=_title,
            template="strategy/notifications/review_incident.txt",
            default=Delivery.BOTH,
            audience="strategy.manage",
        )
    )
    post_save.connect(incident_saved, sender=Incident, dispatch_uid="strategy_review_incident")
