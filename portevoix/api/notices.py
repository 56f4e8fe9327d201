"""The notification the CRM hand-off sends: a record the system refused or never took."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

CRM_FAILED = "crm.failed"


def _title(params: Mapping[str, Any]) -> str:
    return _("Hand-off to %(integration)s failed") % {"integration": params.get("integration", "")}


def register() -> None:
    from portevoix.notifications.kinds import Delivery, Kind
    from portevoix.notifications.kinds import register as add

    add(
        Kind(
            code=CRM_FAILED,
            label=gettext_lazy("A hand-off to the CRM or helpdesk failed"),
            help=gettext_lazy("To the member who handed the conversation off."),
            title=_title,
            template="api/notifications/crm_failed.txt",
            default=Delivery.BOTH,
            audience="inbox.reply",
        )
    )
