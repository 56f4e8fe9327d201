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
