"""Crisis detection on the sandbox: how long from the start of a storm to the alert, and how
many false alerts over calm fortnights. Simulated clock; nothing sleeps.

    .venv/bin/python bench/crisis_detect.py [--seeds 3,5,7] [--intensities 1,2,3,5,10]
                                            [--inbox-only]

For each seed, a fresh workspace gets a sandbox channel like the demo's main account (18,400
followers, 24 messages a day addressed to it, 10 mentions a day) and four weeks of its world,
replayed through the real inbox (``ingest``: triage labels the sentiment) and through
listening (a query on the brand's name reads the world's public mentions, as the
``listening-sandbox`` job does; ``--inbox-only`` leaves it out), with detection run
every 15 simulated minutes as the worker would (``crisis.actions.check_workspace``). Alerts
over weeks 1–2 (cold start: the prior carries the baseline) and weeks 3–4 (warm) are false
alerts: the world is calm.

Then, from a Tuesday 14:00 in Paris after those four weeks, the staged crisis
(``sandbox.world.start_crisis``) at each intensity, each in a savepoint rolled back after it:
the delay from its start to the first alert (checks every 15 minutes for 12 hours), and how
many crisis messages had reached the inbox by then.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONDAY = dt.datetime(2026, 1, 5, 0, 0, tzinfo=dt.UTC)
EVERY = dt.timedelta(minutes=15)
WATCH = dt.timedelta(hours=12)
GOAL = dt.timedelta(minutes=30)


class Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="3,5,7")
    parser.add_argument("--intensities", default="1,2,3,5,10")
    parser.add_argument(
        "--inbox-only", action="store_true", help="detection reads the inbox alone (no listening)"
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    intensities = [float(s) for s in args.intensities.split(",")]

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
    from portevoix.crisis.replay import Replay
    from portevoix.listening import actions as listening_actions
    from portevoix.sandbox import service, world
    from portevoix.sandbox.models import SandboxInteraction

    try:
        call_command("migrate", verbosity=0, interactive=False)
        print("sources: " + ("inbox" if args.inbox_only else "inbox and listening"))
        print(
            f"{'seed':>4} {'messages/4 wk':>13} {'mentions/4 wk':>13} {'false, wk 1-2':>13} "
            f"{'false, wk 3-4':>13} {'ms/check':>8}"
        )
        delays: dict[float, list[str]] = {i: [] for i in intensities}
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
            if not args.inbox_only:
                listening_actions.create_query(
                    workspace,
                    by=admin,
                    name="Marque",
                    kind="brand",
                    text=f'"lumière{seed} cosmétiques" OR #lumiere{seed}cosmetiques',
                )
            replay = Replay(channel=channel, account=account, listen=not args.inbox_only)
            fortnight = MONDAY + dt.timedelta(days=14)
            began = time.perf_counter()
            early = replay.run(MONDAY, fortnight, EVERY)
            late = replay.run(fortnight, fortnight + dt.timedelta(days=14), EVERY)
            per_check = (time.perf_counter() - began) / (28 * 96) * 1000
            print(
                f"{seed:>4} {replay.ingested:>13} {replay.heard:>13} {len(early):>13} "
                f"{len(late):>13} "
                f"{per_check:>8.1f}"
            )
            start = MONDAY + dt.timedelta(days=29, hours=13)  # Tuesday 14:00 in Paris
            replay.run(fortnight + dt.timedelta(days=14), start, EVERY)
            for intensity in intensities:
                try:
                    with transaction.atomic():
                        saved = (replay.last_pk, replay.ingested, len(replay.alerts), replay.heard)
                        world.start_crisis(account, intensity, "le retard de livraison", at=start)
                        alerts = replay.run(start, start + WATCH, EVERY)
                        if alerts:
                            delay = alerts[0].raised_at - start
                            seen = SandboxInteraction.objects.filter(
                                account=account,
                                addressed=True,
                                is_crisis=True,
                                created_at__lt=alerts[0].raised_at,
                            ).count()
                            delays[intensity].append(
                                f"{delay.total_seconds() / 60:.0f} min ({seen})"
                            )
                        else:
                            delays[intensity].append("none in 12 h")
                        replay.last_pk, replay.ingested = saved[0], saved[1]
                        replay.heard = saved[3]
                        del replay.alerts[saved[2] :]
                        raise Rollback
                except Rollback:
                    account.refresh_from_db()
        print()
        print(
            "delay from the crisis's start to the alert "
            "(crisis messages in the inbox by then), per seed"
        )
        for intensity in intensities:
            print(f"intensity {intensity:>4g}: " + "; ".join(delays[intensity]))
        print(
            f"goal: within {GOAL.total_seconds() / 60:.0f} min at the lowest intensity; "
            "no false alert"
        )
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
