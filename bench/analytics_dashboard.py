"""Analytics dashboard: server time per chart and for the heatmap over a year of hourly rollups.

    .venv/bin/python bench/analytics_dashboard.py [--channels 1000] [--days 365] [--repeat 5]
                                                  [--pg URL | --no-pg] [--no-sqlite]

For each database (a SQLite file; PostgreSQL: the server at ``--pg URL``, else a throwaway
cluster started here like ``./dev pg`` does), a child process migrates, makes one workspace
with ``--channels`` channels, and writes ``--days`` days of hourly rows per channel into
``analytics_channelhour`` (1,000 channels x 365 days = 8.76 million rows), the matching
``analytics_channelday`` rows and one follower reading per channel and day
(``analytics_accountsnapshot``): PostgreSQL with ``COPY``, SQLite with ``executemany`` in one
transaction. A post goes out in about one hour in eight, at the busier hours more often. The
workspace rollups the collector keeps beside them (``analytics_workspaceday``, one row a day;
``analytics_workspacehour``, one row per local day and hour with posts) are written from the
same rows, as ``rollup.rebuild_workspace`` would.

It then times each function the analytics page calls (the same ones, from
``portevoix.analytics.dashboard``), the median of ``--repeat`` runs after one warm-up:
the key figures (20 ``kpis.measure`` calls: this period and the previous one), the daily chart
(30 and 365 days), post frequency, and the heatmap (one channel over 90 and 365 days, and
every channel over 30 and 365 days), called as the page calls them (``workspace=`` when every
channel is shown). Goal: under 300 ms per chart. Prints one table per database with the load
average before and after. ``--pg-port`` is the throwaway cluster's port (default: the
``PV_TEST_PG_PORT`` environment variable, else 55499).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _pg import ThrowawayPostgres, drop_pg_database, fresh_pg_database

ROOT = Path(__file__).resolve().parents[1]
GOAL_MS = 300.0


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")
    import django

    django.setup()


def _hourly(channels: list[int], days: int, start):
    """(channel, hour, posts, impressions, reach, engagements, clicks, video_views) rows."""
    import datetime as dt

    rng = random.Random(7)
    rhythm = [0.1] * 7 + [0.5, 0.7, 0.6, 0.6, 0.8, 1.0, 0.8, 0.6, 0.6, 0.6, 0.8, 0.9, 1.0, 0.9,
                          0.6, 0.3, 0.2]  # fmt: skip
    hours = days * 24
    for channel in channels:
        for i in range(hours):
            hour = start + dt.timedelta(hours=i)
            level = rhythm[hour.hour]
            if rng.random() < level / 5:
                impressions = int(2000 * level * rng.uniform(0.5, 1.5))
                yield (channel, hour, 1, impressions, int(impressions * 0.8),
                       int(impressions * 0.05), int(impressions * 0.01), 0)  # fmt: skip
            else:
                yield (channel, hour, 0, 0, 0, 0, 0, 0)


def child_fill(channels_n: int, days: int) -> None:
    import datetime as dt
    from collections import defaultdict

    _django()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from portevoix.channels.models import Channel
    from portevoix.core import actions
    from portevoix.core.models import User

    call_command("migrate", verbosity=0, interactive=False)
    user = User.objects.create_user("bench@analytics.test", "x" * 20)
    workspace = actions.create_workspace(name="Bench", slug="bench", creator=user)
    Channel.objects.bulk_create(
        [
            Channel(
                workspace=workspace,
                network="manual",
                name=f"Canal {i}",
                display_name="X",
                account_id=f"bench-{i}",
            )
            for i in range(channels_n)
        ],
        batch_size=1000,
    )
    ids = list(Channel.objects.filter(workspace=workspace).values_list("pk", flat=True))
    today = timezone.now().astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - dt.timedelta(days=days - 1)
    columns = "channel_id, hour, posts, impressions, reach, engagements, clicks, video_views"
    days_rows: dict[tuple[int, dt.date], list[int]] = defaultdict(lambda: [0] * 6)
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(workspace.time_zone or "UTC")
    heat: dict[tuple[dt.date, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    began = time.perf_counter()
    count = 0

    def tap(rows):
        nonlocal count
        for row in rows:
            count += 1
            sums = days_rows[(row[0], row[1].date())]
            for k in range(6):
                sums[k] += row[2 + k]
            if row[2]:
                local = row[1].astimezone(zone)
                cell = heat[(local.date(), local.hour)]
                cell[0] += row[2]
                cell[1] += row[3]
                cell[2] += row[5]
            yield row

    rows = tap(_hourly(ids, days, start))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                raw = cursor.cursor
                with raw.copy(f"COPY analytics_channelhour ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * 8)
            with connection.cursor() as cursor:
                batch = []
                for row in rows:
                    batch.append(row)
                    if len(batch) == 50_000:
                        cursor.executemany(
                            f"INSERT INTO analytics_channelhour ({columns}) VALUES ({marks})",
                            batch,
                        )
                        batch = []
                if batch:
                    cursor.executemany(
                        f"INSERT INTO analytics_channelhour ({columns}) VALUES ({marks})",
                        batch,
                    )
    hourly_seconds = time.perf_counter() - began
    day_columns = (
        "channel_id, day, posts, impressions, reach, engagements, clicks, video_views, "
        "followers, profile_visits"
    )
    day_data = [
        (channel, day, *sums, 5000 + (day - start.date()).days * 3 + channel % 100, sums[1] // 50)
        for (channel, day), sums in days_rows.items()
    ]
    snapshots = [
        (channel, dt.datetime.combine(day, dt.time(22), dt.UTC),
         dt.datetime.combine(day, dt.time(0), dt.UTC), followers)
        for channel, day, *_rest, followers, _visits in day_data
    ]  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        marks = ", ".join(["%s"] * 10)
        cursor.executemany(
            f"INSERT INTO analytics_channelday ({day_columns}) VALUES ({marks})",
            day_data,
        )
        cursor.executemany(
            "INSERT INTO analytics_accountsnapshot (channel_id, taken_at, since, followers, "
            "profile_visits) VALUES (%s, %s, %s, %s, 0)",
            snapshots,
        )
        totals: dict[dt.date, list[int]] = defaultdict(lambda: [0] * 9)
        for _channel, day, *values in day_data:
            total = totals[day]
            for k, value in enumerate(values):
                total[k] += value
            total[8] += 1
        cursor.executemany(
            f"INSERT INTO analytics_workspaceday (workspace_id, day, posts, impressions, reach, "
            f"engagements, clicks, video_views, followers, profile_visits, follower_channels) "
            f"VALUES ({workspace.pk}, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(day, *values) for day, values in totals.items()],
        )
        cursor.executemany(
            f"INSERT INTO analytics_workspacehour (workspace_id, day, hour, weekday, posts, "
            f"impressions, engagements) VALUES ({workspace.pk}, %s, %s, %s, %s, %s, %s)",
            [(d, h, d.isoweekday(), *values) for (d, h), values in heat.items()],
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(json.dumps({"hourly_rows": count, "fill_seconds": round(hourly_seconds, 1),
                      "day_rows": len(day_data), "heat_rows": len(heat)}))  # fmt: skip


def child_time(repeat: int) -> None:
    _django()
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from portevoix.analytics import dashboard
    from portevoix.channels.models import Channel
    from portevoix.core.models import Workspace

    workspace = Workspace.objects.get(slug="bench")
    zone = ZoneInfo("Europe/Paris")
    today = timezone.now().astimezone(zone).date()
    every = Channel.objects.filter(workspace=workspace)
    one = Channel.objects.filter(pk=every.order_by("pk").values_list("pk", flat=True)[0])
    p30, p90, p365 = (dashboard.last_days(n, zone, today) for n in (30, 90, 365))
    first = one.get()
    ws = workspace
    cases = {
        "key figures, all channels, 30 days": lambda: dashboard.key_figures(ws, None, p30),
        "key figures, one channel, 365 days": lambda: dashboard.key_figures(ws, first, p365),
        "daily chart, all channels, 30 days": lambda: dashboard.daily(every, p30, workspace=ws),
        "daily chart, all channels, 365 days": lambda: dashboard.daily(every, p365, workspace=ws),
        "daily chart, one channel, 365 days": lambda: dashboard.daily(one, p365),
        "frequency, all channels, 365 days": lambda: dashboard.frequency(every, p365, workspace=ws),
        "frequency, one channel, 365 days": lambda: dashboard.frequency(one, p365),
        "heatmap, one channel, 90 days": lambda: dashboard.heatmap(one, p90, zone),
        "heatmap, one channel, 365 days": lambda: dashboard.heatmap(one, p365, zone),
        "heatmap, all channels, 30 days": lambda: dashboard.heatmap(every, p30, zone, workspace=ws),
        "heatmap, all channels, 365 days": lambda: dashboard.heatmap(
            every, p365, zone, workspace=ws
        ),
    }
    out = {}
    for name, call in cases.items():
        call()
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            call()
            times.append((time.perf_counter() - began) * 1000)
        out[name] = round(statistics.median(times), 1)
    print(json.dumps(out))


def _child(env: dict[str, str], *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if result.returncode != 0:
        sys.exit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--pg-port", type=int, default=int(os.environ.get("PV_TEST_PG_PORT", 55499))
    )
    parser.add_argument("--child", choices=["fill", "time"])
    args = parser.parse_args()
    if args.child == "fill":
        return child_fill(args.channels, args.days)
    if args.child == "time":
        return child_time(args.repeat)
    engines = []
    if not args.no_sqlite:
        engines.append("sqlite")
    if not args.no_pg:
        engines.append("postgresql")
    for engine in engines:
        data = tempfile.mkdtemp(prefix="portevoix-bench-analytics.")
        env = {**os.environ, "PORTEVOIX_DATA_DIR": data}
        server = None
        url = None
        try:
            if engine == "postgresql":
                if args.pg:
                    server_url = args.pg
                else:
                    server = ThrowawayPostgres(args.pg_port)
                    server_url = server.start()
                url = fresh_pg_database(server_url)
                env["PORTEVOIX_DATABASE_URL"] = url
            filled = _child(env, "--child", "fill", "--channels", str(args.channels),
                            "--days", str(args.days))  # fmt: skip
            load_before = os.getloadavg()
            timed = _child(env, "--child", "time", "--repeat", str(args.repeat))
        finally:
            if url and args.pg:
                drop_pg_database(url)
            if server is not None:
                server.stop()
            shutil.rmtree(data, ignore_errors=True)
        print(f"\n{engine}: {filled['hourly_rows']:,} hourly rows written in "
              f"{filled['fill_seconds']} s, {filled['day_rows']:,} daily rows")  # fmt: skip
        load_after = os.getloadavg()
        print(f"load average (1, 5, 15 min) before timing: {load_before[0]:.2f} "
              f"{load_before[1]:.2f} "
              f"{load_before[2]:.2f}; after: {load_after[0]:.2f} {load_after[1]:.2f} "
              f"{load_after[2]:.2f}; {os.cpu_count()} cores")  # fmt: skip
        print(f"{'chart':<55} {'ms (median)':>12}  goal {GOAL_MS:.0f} ms")
        for name, ms in timed.items():
            print(f"{name:<55} {ms:>12.1f}  {'ok' if ms < GOAL_MS else 'OVER'}")


if __name__ == "__main__":
    main()
