"""A network's daily quota counted in the database: every process spends one budget."""

from __future__ import annotations

import datetime as dt

import pytest

from portevoix.channels.models import QuotaSpend
from portevoix.channels.quota import KEEP_DAYS, DatabaseLedger
from portevoix.networks.errors import RateLimited
from portevoix.networks.youtube import next_quota_reset

NOON = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)  # noon in Pacific time


@pytest.mark.django_db
def test_two_processes_spend_one_budget() -> None:
    worker, web = DatabaseLedger(), DatabaseLedger()  # two processes' ledgers
    worker.spend("project-1", "units", 6_000, 10_000, NOON, label="worker")
    web.spend("project-1", "units", 3_000, 10_000, NOON, label="web")
    assert worker.spent("project-1", "units", NOON) == web.spent("project-1", "units", NOON)
    with pytest.raises(RateLimited) as refused:
        worker.spend("project-1", "units", 1_600, 10_000, NOON, label="an upload")
    assert refused.value.reset_at == next_quota_reset(NOON)
    assert "1000 left, 1600 needed" in str(refused.value)
    # Refused: nothing was counted; what fits still passes, up to the budget exactly.
    assert web.spent("project-1", "units", NOON) == 9_000
    web.spend("project-1", "units", 1_000, 10_000, NOON, label="web")
    assert worker.spent("project-1", "units", NOON) == 10_000
    # Another project, bucket or day is another count.
    worker.spend("project-2", "units", 1, 10_000, NOON, label="other project")
    worker.spend("project-1", "uploads", 1, 100, NOON, label="upload")
    assert worker.spent("project-1", "units", NOON + dt.timedelta(days=1)) == 0


@pytest.mark.django_db
def test_the_networks_word_spends_the_day_and_old_days_are_forgotten() -> None:
    ledger = DatabaseLedger()
    ledger.spend("p", "units", 10, 10_000, NOON, label="x")
    ledger.exhaust("p", "units", 10_000, NOON)
    assert ledger.spent("p", "units", NOON) == 10_000
    ledger.exhaust("p", "units", 5, NOON)  # never lowers a count
    assert ledger.spent("p", "units", NOON) == 10_000
    later = NOON + dt.timedelta(days=KEEP_DAYS + 1)
    ledger.spend("p", "units", 1, 10_000, later, label="x")
    assert list(QuotaSpend.objects.values_list("units", flat=True)) == [1]
