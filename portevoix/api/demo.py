"""The demo's CRM: a generic HTTP integration, two conversations handed to it as leads, and a
status update that came back with a won deal (so the conversation, the integration's delivery
log and analytics' return on investment have something to show)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from portevoix.core.models import Member, Workspace


def load_integrations_demo(workspace: Workspace) -> Any:
    from portevoix.api import actions
    from portevoix.inbox.models import Conversation

    admin = Member.objects.filter(workspace=workspace, role="admin", is_active=True).first()
    sophie = Member.objects.filter(workspace=workspace, role="manager", is_active=True).first()
    if admin is None or sophie is None:
        return None
    integration, _secret = actions.create_integration(
        workspace,
        by=admin,
        name="CRM Lumière",
        url="https://crm.lumiere.example/api/leads",
        auth_header="Bearer demo-crm-key",
    )
    conversations = list(
        Conversation.objects.filter(workspace=workspace).order_by("-last_message_at")[:2]
    )
    now = timezone.now()
    records = []
    for n, (conversation, note) in enumerate(
        zip(
            conversations,
            ("Demande de devis pour 40 coffrets d'entreprise.", "Revendeur à Lyon, à rappeler."),
            strict=False,
        )
    ):
        record = actions.hand_to_crm(conversation, by=sophie, integration=integration, note=note)
        # What the worker records when the CRM answers (the demo has no CRM to call).
        number = 4810 + n
        record.transition(
            "created",
            fields={
                "sent_at": now - dt.timedelta(hours=2 - n),
                "last_status": 201,
                "external_id": f"L-{number}",
                "external_url": f"https://crm.lumiere.example/leads/L-{number}",
            },
        )
        actions.record_crm_lead(record)
        records.append(record)
    if records:
        actions.apply_status_update(
            integration,
            message_id=f"msg_demo_{uuid.uuid4().hex[:12]}",
            update={
                "reference": records[0].reference,
                "status": "Devis signé",
                "deal": {"value": "3480.00", "currency": "EUR", "outcome": "won"},
            },
        )
    return integration
