"""Periodic maintenance: each job is a :class:`~portevoix.worker.models.Housekeeping` row.

A job runs when its row is due, then the row goes back to ``scheduled``, due again after the
job's interval, or, for a daily job with an hour (``daily_at``), at that hour next in the
server's time zone (``PORTEVOIX_TIME_ZONE``): heavy deletions run at night, not whenever the
worker first started. There is no separate scheduler (ARCHITECTURE §5). A job function takes
the row and returns a short summary, which the ops page and the admin show.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

from django.core.management import call_command
from django.utils import timezone

from portevoix.worker.models import Housekeeping, Outcome


@dataclass(frozen=True)
class Job:
    name: str
    interval: float  # seconds between two runs
    func: Callable[[Housekeeping], str]
    #: A daily job's hour, in the server's time zone (the interval is then a day).
    daily_at: dt.time | None = None

    def next_run(self, now: dt.datetime) -> dt.datetime:
        if self.daily_at is None:
            return now + dt.timedelta(seconds=self.interval)
        zone = timezone.get_default_timezone()
        local = now.astimezone(zone)
        day = local.date() if local.time() < self.daily_at else local.date() + dt.timedelta(1)
        # Built from the date and the wall-clock hour: a change of summer time keeps the hour.
        return dt.datetime.combine(day, self.daily_at, tzinfo=zone)


JOBS: dict[str, Job] = {}


def register(
    name: str,
    interval: float,
    func: Callable[[Housekeeping], str],
    *,
    daily_at: dt.time | None = None,
) -> Job:
    job = Job(name=name, interval=interval, func=func, daily_at=daily_at)
    JOBS[name] = job
    return job


def run(row: Housekeeping) -> Outcome:
    """The handler of ``scheduled``: run the row's job and schedule its next run."""
    job = JOBS.get(row.name)
    if job is None:
        raise LookupError(f"no housekeeping job is called {row.name!r} in this version")
    summary = job.func(row)
    now = timezone.now()
    return Outcome(
        "scheduled",
        at=job.next_run(now),
        fields={"last_run_at": now, "last_result": summary[:2000]},
    )


def ensure_housekeeping() -> list[str]:
    """Create the row of every registered job that has none yet; return the names created."""
    created = []
    for name in sorted(JOBS):
        _, was_created = Housekeeping.objects.get_or_create(name=name)
        if was_created:
            created.append(name)
    return created


# --- the jobs --------------------------------------------------------------------------------


def clear_sessions(row: Housekeeping) -> str:
    """Django's ``clearsessions``: delete expired login sessions."""
    out = io.StringIO()
    call_command("clearsessions", stdout=out, stderr=out)
    return "expired sessions cleared"


INVITATION_RETENTION = dt.timedelta(days=30)


def purge_invitations(row: Housekeeping) -> str:
    """Delete invitations nobody accepted that expired or were revoked over 30 days ago.

    Accepted invitations stay: they say who invited whom. One audit entry per workspace.
    """
    from django.db.models import Count, Q

    from portevoix.core import audit
    from portevoix.core.models import Invitation, Workspace

    cutoff = timezone.now() - INVITATION_RETENTION
    stale = Invitation.objects.filter(accepted_at__isnull=True).filter(
        Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)
    )
    total = 0
    with row.leased_atomic():
        per_workspace = stale.values("workspace").annotate(n=Count("id")).order_by("workspace")
        counts = {item["workspace"]: item["n"] for item in per_workspace}
        if counts:
            total, _ = stale.delete()
            for workspace in Workspace.objects.filter(pk__in=counts):
                audit.record(
                    "invitation.purged",
                    workspace=workspace,
                    actor=None,
                    after={"count": counts[workspace.pk], "older_than_days": 30},
                )
    return f"{total} stale invitation(s) deleted"


register("clear-sessions", 6 * 3600, clear_sessions)
register("purge-invitations", 24 * 3600, purge_invitations)
