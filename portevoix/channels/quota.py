"""A network's daily quota counted in the database, so that every process spends one budget.

YouTube's quota belongs to the Google Cloud project, not to a channel or a process: 10,000
units a day shared by every channel connected through the project, by the worker's
publishing, the web's comment replies and listening's searches. An in-process count
(``networks.youtube.QuotaLedger``) lets two workers each spend the whole budget, and
listening's searches were not counted at all; Google's ``quotaExceeded`` then stopped uploads
for the rest of the day. :class:`DatabaseLedger` keeps the count in :class:`QuotaSpend`, one
row per (network, project, bucket, day), and spends with one conditional ``UPDATE``
(``units + n <= budget``), atomic on SQLite and PostgreSQL alike: two processes cannot both
take the last units.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from portevoix.channels.models import QuotaSpend
from portevoix.networks.youtube import quota_day, quota_refused

#: Days of counts kept (the network only looks at today's).
KEEP_DAYS = 7


class DatabaseLedger:
    """``networks.youtube.Ledger`` on :class:`QuotaSpend` rows."""

    def __init__(self, network: str = "youtube") -> None:
        self.network = network

    def _row(self, project: str, bucket: str, day: str) -> int:
        """The pk of the day's row, created at 0 if missing (a race creates one)."""
        key = {"network": self.network, "project": project, "bucket": bucket, "day": day}
        found = QuotaSpend.objects.filter(**key).values_list("pk", flat=True).first()
        if found is not None:
            return int(found)
        try:
            with transaction.atomic():
                pk = QuotaSpend.objects.create(**key).pk
        except IntegrityError:
            return int(QuotaSpend.objects.filter(**key).values_list("pk", flat=True).get())
        self._forget_old(day)  # a new day: the counts of last week's can go
        return int(pk)

    def spent(self, project: str, bucket: str, now: dt.datetime) -> int:
        found = (
            QuotaSpend.objects.filter(
                network=self.network, project=project, bucket=bucket, day=quota_day(now)
            )
            .values_list("units", flat=True)
            .first()
        )
        return int(found or 0)

    def spend(
        self, project: str, bucket: str, units: int, budget: int, now: dt.datetime, *, label: str
    ) -> None:
        """Count ``units``, or raise ``RateLimited`` (nothing counted) if the day cannot pay."""
        day = quota_day(now)
        pk = self._row(project, bucket, day)
        taken = QuotaSpend.objects.filter(pk=pk, units__lte=budget - units).update(
            units=F("units") + units
        )
        if not taken:
            raise quota_refused(label, bucket, budget, self.spent(project, bucket, now), units, now)

    def exhaust(self, project: str, bucket: str, budget: int, now: dt.datetime) -> None:
        """The network said the quota is spent: nothing more from this bucket today."""
        pk = self._row(project, bucket, quota_day(now))
        QuotaSpend.objects.filter(pk=pk).update(units=Greatest(F("units"), budget))

    def _forget_old(self, day: str) -> None:
        oldest = (dt.date.fromisoformat(day) - dt.timedelta(days=KEEP_DAYS)).isoformat()
        QuotaSpend.objects.filter(network=self.network, day__lt=oldest).delete()
