"""Crisis detection on the sandbox: how long from the start of a storm to the alert, and how
many false alerts over calm fortnights. Simulated clock; nothing sleeps.

    .venv/bin/python bench/crisis_detect.py [--seeds 101-120] [--calm 101-115]
        [--intensities 1,3,10] [--every 5] [--inbox-only] [--jobs 2]

For each seed, a fresh workspace gets a sandbox channel like the demo's main account (18,400
followers, 24 messages a day addressed to it, 10 mentions a day) and four weeks of its world,
replayed through the real inbox (``ingest``: triage labels the sentiment) and through
listening (a query on the brand's name reads the world's public mentions, as the
``listening-sandbox`` job does; ``--inbox-only`` leaves it out).

**Calm fortnights** (seeds of ``--calm``, by default those of ``--seeds``): detection
(``crisis.actions.check_workspace``) runs every ``--every`` simulated minutes (default 5, the
worker's ``crisis-detect`` interval) over the four weeks; alerts over weeks 1–2 (cold start:
the prior carries the baseline) and weeks 3–4 (warm) are false alerts: the world is calm. Two
fortnights per seed. A seed not in ``--calm`` replays its four weeks without checking them.

**Storms** (seeds of ``--seeds``): from a Tuesday 14:00 in Paris after those four weeks, the
staged crisis (``sandbox.world.start_crisis``) at each intensity, each in a savepoint rolled
back after it: the delay from its start to the first alert (checks every ``--every`` minutes
for up to 12 hours), and how many crisis messages had been written by then (all; reaching the
inbox).

Seeds: ``3,5,7`` or ``101-120`` or both (``1-5,9``). ``--jobs N`` runs the seeds in N
processes (each its own SQLite database) and merges their figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONDAY = dt.datetime(2026, 1, 5, 0, 0, tzinfo=dt.UTC)
WATCH = dt.timedelta(hours=12)
GOAL = dt.timedelta(minutes=30)
WORLD_STEP = dt.timedelta(minutes=15)


class Rollback(Exception):
    pass


def seed_list(text: str) -> list[int]:
    """``"1-3,7"`` -> ``[1, 2, 3, 7]``."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            low, high = (int(x) for x in part.split("-", 1))
            seeds.extend(range(low, high + 1))
        else:
            seeds.append(int(part))
    return seeds


def measure(
    seeds: list[int],
    calm: set[int],
    storms: set[int],
    intensities: list[float],
    every: dt.timedelta,
    inbox_only: bool,
) -> list[dict]:
    data = Path(tempfile.mkdtemp(prefix="portevoix-bench-crisis."))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="portevoix.settings",
        PORTEVOIX_DATA_DIR=str(data),
        PORTEVOIX_DATABASE_URL=f"sqlite:///{data}/bench.sqlite3",
        PORTEVOIX_LOG_LEVEL="ERROR",
        OMP_NUM_THREADS="1",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from portevoix.channels import actions as channel_actions
    from portevoix.core import actions as core_actions
    from portevoix.core.models import Member, User
    from portevoix.crisis import actions
    from portevoix.crisis.replay import Replay
    from portevoix.listening import actions as listening_actions
    from portevoix.sandbox import service, world
    from portevoix.sandbox.models import SandboxInteraction

    # How often the term test needed the weeks before (the costly read), counted here.
    reads = [0]
    vocabulary_for = actions.vocabulary_for

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        reads[0] += 1
        return vocabulary_for(*args, **kwargs)

    actions.vocabulary_for = counted  # type: ignore[assignment]

    rows: list[dict] = []
    try:
        call_command("migrate", verbosity=0, interactive=False)
        for seed in seeds:
            user = User.objects.create_user(
                f"admin{seed}@bench.test", "bench-password", full_name="Ada"
            )
            workspace = core_actions.create_workspace(
                name=f"Bench {seed}", slug=f"bench-{seed}", creator=user
            )
            admin = Member.objects.get(workspace=workspace, user=user)
            account = service.create_account(
                f"bench-{seed}",
                workspace=workspace,
                seed=seed,
                simulate=False,
                token_lifetime=None,
                now=MONDAY,
                follower_count=18400,
                inbound_per_day=24.0,
                mentions_per_day=10.0,
                # One brand per seed: listening reads every account's world, and the seeds'
                # workspaces must not hear each other's.
                brand_name=f"Lumière{seed} Cosmétiques",
                products=["sérum Éclat", "crème Velours"],
                competitors=["Rosée Paris", "Belle Peau"],
            )
            channel = channel_actions.connect_channel(
                workspace,
                by=admin,
                network="sandbox",
                credentials=service.credentials_for(account),
                name="Bench",
            )
            if not inbox_only:
                listening_actions.create_query(
                    workspace,
                    by=admin,
                    name="Marque",
                    kind="brand",
                    text=f'"lumière{seed} cosmétiques" OR #lumiere{seed}cosmetiques',
                )
            replay = Replay(channel=channel, account=account, listen=not inbox_only)
            start = MONDAY + dt.timedelta(days=29, hours=13)  # Tuesday 14:00 in Paris
            fortnight = MONDAY + dt.timedelta(days=14)
            row: dict = {"seed": seed, "storms": {}}
            replay.advance(start)
            if seed in calm:
                checks, spent, reads[0] = 0, 0.0, 0
                false: list[list[str]] = [[], []]
                moment = MONDAY
                while moment < start:
                    moment += every
                    began = time.process_time()  # this process's CPU: SQLite runs in it
                    alert = actions.check_workspace(workspace, moment)
                    spent += time.process_time() - began
                    checks += 1
                    if alert is not None and moment <= fortnight + dt.timedelta(days=14):
                        false[moment > fortnight].append(
                            f"{moment:%Y-%m-%d %H:%M} {alert.observed}/{alert.expected:.2f} "
                            f"{alert.terms}"
                        )
                row.update(
                    calm=True,
                    false_cold=false[0],
                    false_warm=false[1],
                    ms_per_check=spent / checks * 1000,
                    vocabulary_reads=reads[0],
                    checks=checks,
                )
            row.update(messages=replay.ingested, mentions=replay.heard)
            for intensity in intensities if seed in storms else []:
                try:
                    with transaction.atomic():
                        saved = (replay.last_pk, replay.ingested, replay.heard)
                        world.start_crisis(account, intensity, "le retard de livraison", at=start)
                        replay.advance(start + WATCH)
                        moment, alert = start, None
                        while moment < start + WATCH and alert is None:
                            moment += every
                            alert = actions.check_workspace(workspace, moment)
                        if alert is not None:
                            crisis = SandboxInteraction.objects.filter(
                                account=account, is_crisis=True, created_at__lt=moment
                            )
                            row["storms"][str(intensity)] = {
                                "delay": (moment - start).total_seconds() / 60,
                                "written": crisis.count(),
                                "inbox": crisis.filter(addressed=True).count(),
                                "terms": alert.terms,
                            }
                        else:
                            row["storms"][str(intensity)] = {"delay": None}
                        replay.last_pk, replay.ingested, replay.heard = saved
                        raise Rollback
                except Rollback:
                    account.refresh_from_db()
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return rows


def report(rows: list[dict], intensities: list[float], every: dt.timedelta) -> None:
    rows = sorted(rows, key=lambda r: r["seed"])
    calm = [r for r in rows if r.get("calm")]
    print(f"checks every {every.total_seconds() / 60:.0f} simulated minutes")
    print()
    print("calm fortnights (false alerts)")
    print(
        f"{'seed':>5} {'messages':>9} {'mentions':>9} {'wk 1-2':>7} {'wk 3-4':>7} "
        f"{'ms/check':>9} {'weeks read':>11}"
    )
    for r in calm:
        print(
            f"{r['seed']:>5} {r['messages']:>9} {r['mentions']:>9} {len(r['false_cold']):>7} "
            f"{len(r['false_warm']):>7} {r['ms_per_check']:>9.1f} "
            f"{r['vocabulary_reads']:>5} / {r['checks']}"
        )
        for text in r["false_cold"] + r["false_warm"]:
            print(f"      false alert: {text}")
    false = sum(len(r["false_cold"]) + len(r["false_warm"]) for r in calm)
    if calm:
        costs = sorted(r["ms_per_check"] for r in calm)
        print(
            f"{2 * len(calm)} calm fortnights ({len(calm)} cold, {len(calm)} warm): "
            f"{false} false alert(s); ms per check: median {statistics.median(costs):.1f}, "
            f"worst {costs[-1]:.1f} (machine load included)"
        )
    print()
    print(
        "delay from the storm's start to the alert, minutes (crisis messages written; in the inbox)"
    )
    for intensity in intensities:
        key = str(intensity)
        cells, delays = [], []
        for r in rows:
            storm = r["storms"].get(key)
            if storm is None:
                continue
            if storm["delay"] is None:
                cells.append(f"{r['seed']}: none in 12 h")
                delays.append(float("inf"))
            else:
                cells.append(
                    f"{r['seed']}: {storm['delay']:.0f} ({storm['written']}; {storm['inbox']})"
                )
                delays.append(storm["delay"])
        if not delays:
            continue
        within = sum(d <= GOAL.total_seconds() / 60 for d in delays)
        print(f"intensity {intensity:g}: " + ", ".join(cells))
        print(
            f"  median {statistics.median(delays):.0f} min, worst {max(delays):.0f} min, "
            f"within {GOAL.total_seconds() / 60:.0f} min: {within} of {len(delays)}; "
            f"ratio of the worst to the goal {max(delays) / (GOAL.total_seconds() / 60):.2f}"
        )
    print(
        f"goal: an alert within {GOAL.total_seconds() / 60:.0f} min at the lowest intensity; "
        "no false alert over the calm fortnights"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="3,5,7", help="storm seeds: 3,5,7 or 101-120")
    parser.add_argument(
        "--calm", default=None, help="seeds whose four calm weeks are checked (default: --seeds)"
    )
    parser.add_argument("--intensities", default="1,3,10")
    parser.add_argument("--every", type=float, default=5.0, help="minutes between checks")
    parser.add_argument(
        "--inbox-only", action="store_true", help="detection reads the inbox alone (no listening)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="processes (seeds split between them)")
    parser.add_argument("--json-out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    storm_seeds = seed_list(args.seeds)
    calm = set(seed_list(args.calm)) if args.calm is not None else set(storm_seeds)
    seeds = sorted(set(storm_seeds) | calm)
    intensities = [float(s) for s in args.intensities.split(",")]
    every = dt.timedelta(minutes=args.every)
    if args.jobs > 1 and len(seeds) > 1:
        outs, procs = [], []
        for i in range(args.jobs):
            chunk = seeds[i :: args.jobs]
            out = tempfile.mktemp(prefix="portevoix-bench-crisis.", suffix=".json")
            outs.append(out)
            command = [
                sys.executable, __file__,
                "--seeds", ",".join(str(s) for s in chunk if s in storm_seeds),
                "--calm", ",".join(str(s) for s in chunk if s in calm),
                "--intensities", args.intensities, "--every", str(args.every),
                "--json-out", out,
            ] + (["--inbox-only"] if args.inbox_only else [])  # fmt: skip
            procs.append(subprocess.Popen(command))
        rows = []
        for proc, out in zip(procs, outs, strict=True):
            if proc.wait() != 0:
                raise SystemExit("a job failed")
            rows += json.loads(Path(out).read_text())
            os.unlink(out)
    else:
        rows = measure(seeds, calm, set(storm_seeds), intensities, every, args.inbox_only)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(rows))
            return
    print("sources: " + ("inbox" if args.inbox_only else "inbox and listening"))
    report(rows, intensities, every)


if __name__ == "__main__":
    main()
