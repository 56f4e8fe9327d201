"""On every page of a workspace: what is paused (the banner), and how many approvals wait for
the member (the navigation's count, computed only when the page shows it)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def editorial(request: HttpRequest) -> dict[str, Any]:
    member = getattr(request, "member", None)
    if member is None:
        return {}
    from portevoix.publishing.approvals.models import Pause
    from portevoix.publishing.approvals.views import waiting_count

    pauses = list(
        Pause.objects.visible_to(member)
        .filter(ended_at__isnull=True)
        .select_related("channel", "campaign", "started_by")
        .order_by("started_at")
    )
    return {"active_pauses": pauses, "approvals_count": lambda: waiting_count(member)}
