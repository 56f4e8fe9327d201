"""The personal-data page in the demo: retention periods chosen by Sophie, and a customer who
asked what Lumière holds about them (the export is in the page's history)."""

from __future__ import annotations

from portevoix.core.models import Member, Workspace

from . import actions


def load_privacy_demo(workspace: Workspace) -> bool:
    from portevoix.inbox.models import Customer

    sophie = Member.objects.filter(workspace=workspace, user__email="sophie@lumiere.demo").first()
    if sophie is None:
        return False
    actions.set_retention(workspace, by=sophie, conversations_days=730, mentions_days=365)
    customer = Customer.objects.filter(workspace=workspace).order_by("-message_count", "pk").first()
    if customer is not None:
        actions.export_person(
            workspace, customer.network, customer.handle, by=sophie, reference="RGPD-2026-041"
        )
    return True
