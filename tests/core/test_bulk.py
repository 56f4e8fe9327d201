"""save_rows: many changed rows written with one statement, the same result as bulk_update."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from portevoix.core.bulk import save_rows
from portevoix.core.models import Department, Member


def test_changed_rows_are_written_in_one_statement(team) -> None:
    departments = list(Department.objects.filter(workspace=team.workspace).order_by("pk"))
    assert len(departments) >= 3
    for index, department in enumerate(departments):
        department.description = "Shared" if index < 2 else f"Own {index}"
        department.is_active = index != 0
    with CaptureQueriesContext(connection) as queries:
        assert save_rows(departments, ["description", "is_active"]) == len(departments)
    assert len(queries) == 1  # one statement, a parameter set per row
    stored = list(Department.objects.filter(workspace=team.workspace).order_by("pk"))
    assert [(d.description, d.is_active) for d in stored] == [
        (d.description, d.is_active) for d in departments
    ]


def test_foreign_keys_nulls_and_times_are_written(team) -> None:
    agent: Member = team["agent"]
    other = Department.objects.filter(workspace=team.workspace).exclude(pk=agent.department_id)[0]
    agent.department = other
    content: Member = team["content"]
    content.department = None
    save_rows([agent, content], ["department"])
    agent.refresh_from_db()
    content.refresh_from_db()
    assert agent.department_id == other.pk and content.department_id is None
    assert save_rows([], ["department"]) == 0
    moment = dt.datetime(2026, 6, 10, 8, 0, tzinfo=dt.UTC)
    agent.joined_at = moment
    save_rows([agent], ["joined_at"])
    agent.refresh_from_db()
    assert agent.joined_at == moment


def _field_values(row) -> dict:
    return {
        f.attname: getattr(row, f.attname)
        for f in row._meta.concrete_fields
        if not f.primary_key and f.attname not in ("message_id", "thread_key", "conversation_id")
    }


def test_inserted_rows_read_back_as_bulk_create_writes_them(team) -> None:
    """Enum members, JSON, floats, dates, nulls and foreign keys (one given as a row saved
    after it was assigned) come back as Django's bulk_create writes them."""
    from portevoix.core.bulk import insert_rows
    from portevoix.inbox.models import Conversation, ConversationState, Customer, InboundMessage
    from tests.inbox.conftest import connect

    channel = connect(team)
    department = Department.objects.filter(workspace=team.workspace).first()
    moment = dt.datetime(2026, 6, 10, 8, 0, 0, 123456, tzinfo=dt.UTC)

    def rows(prefix: str) -> tuple[Customer, list[Conversation], list[InboundMessage]]:
        customer = Customer(
            workspace=team.workspace,
            network="sandbox",
            author_id=f"{prefix}-lea",
            handle="lea",
            first_seen_at=moment,
            last_seen_at=moment,
        )
        conversations = [
            Conversation(
                workspace=team.workspace,
                channel=channel,
                thread_key=f"{prefix}-{n}",
                customer=customer,  # assigned before the customer is saved
                state=ConversationState.NEW if n else ConversationState.SPAM,
                department=department if n else None,
                language="fr",
                specific=bool(n),
                created_at=moment,
                last_message_at=moment,
                updated_at=moment,
            )
            for n in range(3)
        ]
        return customer, conversations, []

    def messages(prefix: str, conversations: list[Conversation]) -> list[InboundMessage]:
        return [
            InboundMessage(
                channel=channel,
                message_id=f"{prefix}-m{n}",
                kind="comment",
                conversation=conversation,
                customer=conversation.customer,
                author_handle="lea",
                text=f"Bonjour {n} ’ 🇫🇷",
                attachments=[{"url": "https://example.test/a.png", "alt_text": "é"}] if n else [],
                created_at=moment + dt.timedelta(seconds=n),
                received_at=moment,
                sentiment_score=0.25 * n,
                confidence=1 if n else 0.5,
                needs_review=bool(n % 2),
                department=department if n else None,
            )
            for n, conversation in enumerate(conversations)
        ]

    customer_a, conversations_a, _ = rows("a")
    Customer.objects.bulk_create([customer_a])
    Conversation.objects.bulk_create(conversations_a)
    InboundMessage.objects.bulk_create(messages("a", conversations_a))

    customer_b, conversations_b, _ = rows("b")
    with CaptureQueriesContext(connection) as queries:
        insert_rows([customer_b])
        insert_rows(conversations_b)
        made = insert_rows(messages("b", conversations_b))
    assert len(queries) == 3  # one statement a batch
    assert all(c.pk for c in conversations_b) and all(m.pk for m in made)
    assert [m.conversation_id for m in made] == [c.pk for c in conversations_b]
    assert not any(m._state.adding for m in made)

    for model, key, a, b in (
        (Conversation, "thread_key", "a-", "b-"),
        (InboundMessage, "message_id", "a-", "b-"),
    ):
        first = [
            _field_values(r)
            for r in model.objects.filter(**{f"{key}__startswith": a}).order_by("pk")
        ]
        second = [
            _field_values(r)
            for r in model.objects.filter(**{f"{key}__startswith": b}).order_by("pk")
        ]
        for left, right in zip(first, second, strict=True):
            left.pop("customer_id")
            right.pop("customer_id")
            assert left == right
    stored = Conversation.objects.get(thread_key="b-1")
    assert stored.customer_id == customer_b.pk and stored.state == "new"


def test_ignore_conflicts_skips_the_rows_already_there(team) -> None:
    from portevoix.core.bulk import insert_rows
    from portevoix.inbox.models import Label

    Label.objects.create(workspace=team.workspace, name="VIP")
    made = insert_rows(
        [Label(workspace=team.workspace, name=name) for name in ("VIP", "Livraison", "Presse")],
        ignore_conflicts=True,
    )
    assert len(made) == 3
    assert sorted(
        Label.objects.filter(workspace=team.workspace).values_list("name", flat=True)
    ) == [
        "Livraison",
        "Presse",
        "VIP",
    ]
    assert insert_rows([]) == []
