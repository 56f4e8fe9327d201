"""Crisis detection replayed offline: fast enough to compare designs over many seeds.

The real benchmark (``bench/crisis_detect.py``) runs ``crisis.actions.check_workspace``
every five simulated minutes over four weeks per seed, which costs minutes of CPU per seed.
This one records once what detection reads, then replays the checks in memory:

    .venv/bin/python bench/crisis_detect_offline.py record --seeds 1-20 --out /tmp/dev
    .venv/bin/python bench/crisis_detect_offline.py replay /tmp/dev [--every 5]

``record``: for each seed, the same workspace, sandbox account, brand query and four weeks
of the world as ``bench/crisis_detect.py``, through the real inbox (triage) and listening;
then the signals (``crisis.signals.gather``) of the four weeks and of the three hours after the
storm's start (Tuesday 14:00 in Paris) at intensities 1, 3 and 10, each in a rolled back
savepoint, written to ``seed<N>.json``: each signal with its author, and beside each storm
the refs of the signals that are the storm's own messages (``crisis_refs``: what the world
knows and detection does not, for studying what can be heard in the first minutes).

``replay``: the checks every ``--every`` minutes over weeks 1–2 and 3–4 (false alerts) and
over the storms' three hours (delay to the first alert), calling the real
``crisis.detect`` (``build_baseline``, ``rising_words``, ``Vocabulary``, ``evaluate``); what
``crisis.actions`` does around them is redone here in memory: hourly counts from the first
item, baselines from the hours before the tested windows (eight weeks), the words of the four
weeks before, the six-hour cooldown. Two differences: the cold start's global prior (first
day) is the default 0.5 an hour, and the storms are watched for three hours, not twelve.
Checked against the real benchmark on seeds 1 and 8 (intensity 1: 35 and 10 minutes, both).
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import glob
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
MONDAY = dt.datetime(2026, 1, 5, 0, 0, tzinfo=dt.UTC)
START = MONDAY + dt.timedelta(days=29, hours=13)  # Tuesday 14:00 in Paris
WATCH = dt.timedelta(hours=3)
HOUR = dt.timedelta(hours=1)
PARIS = ZoneInfo("Europe/Paris")


class Rollback(Exception):
    pass


def record(seeds: list[int], out: Path, intensities: list[float]) -> None:
    data = Path(tempfile.mkdtemp(prefix="portevoix-bench-crisis-offline."))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="portevoix.settings",
        PORTEVOIX_DATA_DIR=str(data),
        PORTEVOIX_DATABASE_URL=f"sqlite:///{data}/bench.sqlite3",
        PORTEVOIX_LOG_LEVEL="ERROR",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from portevoix.channels import actions as channel_actions
    from portevoix.core import actions as core_actions
    from portevoix.core.models import Member, User
    from portevoix.crisis import signals
    from portevoix.crisis.replay import Replay
    from portevoix.listening import actions as listening_actions
    from portevoix.sandbox import service, world

    def dump(workspace_id: int, since: dt.datetime, until: dt.datetime) -> list[list]:
        return [
            [s.at.isoformat(), s.network, s.is_negative, s.text, s.ref, s.author]
            for s in signals.gather(workspace_id, since, until)
        ]

    def crisis_refs(account) -> list[str]:  # type: ignore[no-untyped-def]
        """Which of the signals are the storm's messages (the world knows; detection does not)."""
        from portevoix.inbox.models import InboundMessage
        from portevoix.listening.models import Mention
        from portevoix.sandbox.models import SandboxInteraction

        ids = SandboxInteraction.objects.filter(account=account, is_crisis=True).values(
            "message_id"
        )
        inbox = InboundMessage.objects.filter(message_id__in=ids).values_list("pk", flat=True)
        heard = Mention.objects.filter(external_id__in=ids).values_list("pk", flat=True)
        return [f"inbox:{pk}" for pk in inbox] + [f"mention:{pk}" for pk in heard]

    out.mkdir(parents=True, exist_ok=True)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        for seed in seeds:
            user = User.objects.create_user(f"a{seed}@bench.test", "bench-password", full_name="A")
            workspace = core_actions.create_workspace(
                name=f"Bench {seed}", slug=f"bench-{seed}", creator=user
            )
            admin = Member.objects.get(workspace=workspace, user=user)
            account = service.create_account(
                f"bench-{seed}", workspace=workspace, seed=seed, simulate=False,
                token_lifetime=None, now=MONDAY, follower_count=18400, inbound_per_day=24.0,
                mentions_per_day=10.0, brand_name=f"Lumière{seed} Cosmétiques",
                products=["sérum Éclat", "crème Velours"],
                competitors=["Rosée Paris", "Belle Peau"],
            )  # fmt: skip
            channel = channel_actions.connect_channel(
                workspace, by=admin, network="sandbox",
                credentials=service.credentials_for(account), name="Bench",
            )  # fmt: skip
            listening_actions.create_query(
                workspace, by=admin, name="Marque", kind="brand",
                text=f'"lumière{seed} cosmétiques" OR #lumiere{seed}cosmetiques',
            )  # fmt: skip
            replay = Replay(channel=channel, account=account, listen=True)
            replay.advance(START)
            row: dict = {"seed": seed, "calm": dump(workspace.pk, MONDAY, START), "storms": {}}
            for intensity in intensities:
                try:
                    with transaction.atomic():
                        saved = (replay.last_pk, replay.ingested, replay.heard)
                        world.start_crisis(account, intensity, "le retard de livraison", at=START)
                        replay.advance(START + WATCH)
                        row["storms"][str(intensity)] = {
                            "signals": dump(workspace.pk, START, START + WATCH),
                            "crisis_refs": crisis_refs(account),
                        }
                        replay.last_pk, replay.ingested, replay.heard = saved
                        raise Rollback
                except Rollback:
                    account.refresh_from_db()
            (out / f"seed{seed}.json").write_text(json.dumps(row, ensure_ascii=False))
            print(f"seed {seed}: {len(row['calm'])} items in four weeks", flush=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)


class Detector:
    """``crisis.actions.check_workspace`` in memory, around the real ``crisis.detect``."""

    def __init__(self, items: list) -> None:
        from portevoix.crisis import detect

        self.detect = detect
        self.items = sorted(items, key=lambda s: s.at)
        self.times = [s.at for s in self.items]
        self.first = self.items[0].at.replace(minute=0, second=0, microsecond=0)
        self.counts: dict[str, dict[dt.datetime, int]] = {"negative": {}, "total": {}}
        for s in self.items:
            hour = s.at.replace(minute=0, second=0, microsecond=0)
            self.counts["total"][hour] = self.counts["total"].get(hour, 0) + 1
            negative = self.counts["negative"]
            negative[hour] = negative.get(hour, 0) + int(s.is_negative)
        self.cache: dict[tuple, object] = {}

    def between(self, since: dt.datetime, until: dt.datetime) -> list:
        low = bisect.bisect_left(self.times, since)
        return self.items[low : bisect.bisect_left(self.times, until)]

    def baseline(self, before: dt.datetime, count: str):  # type: ignore[no-untyped-def]
        key = ("baseline", before, count)
        if key not in self.cache:
            moment = max(self.first, before - dt.timedelta(weeks=self.detect.HISTORY_WEEKS))
            hours = []
            while moment < before:
                hours.append((moment, self.counts[count].get(moment, 0)))
                moment += HOUR
            self.cache[key] = self.detect.build_baseline(hours, PARIS)
        return self.cache[key]

    def vocabulary(self, before: dt.datetime):  # type: ignore[no-untyped-def]
        key = ("vocabulary", before)
        if key not in self.cache:
            said = self.between(before - self.detect.TERM_HISTORY, before)
            self.cache[key] = self.detect.Vocabulary.of_signals(said)
        return self.cache[key]

    def check(self, now: dt.datetime):  # type: ignore[no-untyped-def]
        detect = self.detect
        window_start = now - detect.WINDOW
        before = window_start.replace(minute=0, second=0, microsecond=0)
        if before <= self.first:
            return None
        recent = self.between(window_start, now)
        vocabulary = totals = None
        if detect.rising_words(recent, end=now):
            vocabulary, totals = self.vocabulary(before), self.baseline(before, "total")
        return detect.evaluate(
            recent, self.baseline(before, "negative"), end=now, zone=PARIS,
            vocabulary=vocabulary, totals=totals,
        )  # fmt: skip

    def run(self, since: dt.datetime, until: dt.datetime, every: dt.timedelta) -> list:
        alerts, last, moment = [], None, since
        while moment < until:
            moment += every
            if last is not None and moment - last < self.detect.COOLDOWN:
                continue
            found = self.check(moment)
            if found is not None:
                alerts.append((moment, found))
                last = moment
        return alerts


def replay(folder: Path, every: dt.timedelta) -> None:
    from portevoix.crisis.signals import Signal

    def signals_of(rows: list) -> list:
        return [Signal(dt.datetime.fromisoformat(r[0]), *r[1:]) for r in rows]

    files = sorted(
        glob.glob(str(folder / "seed*.json")), key=lambda f: int(f[:-5].split("seed")[-1])
    )
    fortnight = MONDAY + dt.timedelta(days=14)
    false_alerts, delays = 0, {}
    #: (intensity, people heard by minute 30, alerted within 30 minutes) per storm recorded
    #: with its own messages' refs: how the delay follows what could be heard.
    heard_by: list[tuple[str, int, bool]] = []
    half_hour = START + dt.timedelta(minutes=30)
    print(f"checks every {every.total_seconds() / 60:.0f} simulated minutes")
    for name in files:
        row = json.loads(Path(name).read_text())
        calm = signals_of(row["calm"])
        detector = Detector(calm)
        cold = detector.run(MONDAY, fortnight, every)
        warm = detector.run(fortnight, fortnight + dt.timedelta(days=14), every)
        false_alerts += len(cold) + len(warm)
        cells = []
        for intensity, rows in row["storms"].items():
            refs: set[str] | None = None
            if isinstance(rows, dict):  # the signals, and the refs of the storm's own ones
                refs = set(rows.get("crisis_refs", ())) or None
                rows = rows["signals"]
            storm = signals_of(rows)
            alerts = Detector(calm + storm).run(START, START + WATCH, every)
            delay = (alerts[0][0] - START).total_seconds() / 60 if alerts else float("inf")
            delays.setdefault(intensity, []).append(delay)
            cell = f"intensity {float(intensity):g}: {delay:.0f} min"
            if refs is not None:
                people = {s.author for s in storm if s.ref in refs and s.at <= half_hour}
                heard_by.append((intensity, len(people), delay <= 30))
                cell += f" ({len(people)} people heard by minute 30)"
            cells.append(cell)
        print(f"seed {row['seed']}: false alerts {len(cold)} + {len(warm)}; " + ", ".join(cells))
        for moment, found in cold + warm:
            print(f"    false alert {moment:%Y-%m-%d %H:%M}: {found.observed}, {found.terms}")
    print(f"{2 * len(files)} calm fortnights: {false_alerts} false alert(s)")
    for intensity, values in delays.items():
        print(
            f"intensity {float(intensity):g}: median {statistics.median(values):.0f} min, worst "
            f"{max(values):.0f} min, within 30 min {sum(v <= 30 for v in values)} of {len(values)}"
        )
        storms = [(people, on_time) for i, people, on_time in heard_by if i == intensity]
        for few in sorted({min(people, 3) for people, _ in storms}):
            group = [on_time for people, on_time in storms if min(people, 3) == few]
            label = ("1 person" if few == 1 else f"{few} people") if few < 3 else "3 people or more"
            print(
                f"    heard from {label} by minute 30: {len(group)} storm(s), "
                f"{sum(group)} alerted within 30 min"
            )


def main() -> None:
    from crisis_detect import seed_list

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--seeds", required=True)
    rec.add_argument("--intensities", default="1,3,10")
    rec.add_argument("--out", required=True)
    rep = sub.add_parser("replay")
    rep.add_argument("folder")
    rep.add_argument("--every", type=float, default=5.0)
    args = parser.parse_args()
    if args.command == "record":
        intensities = [float(x) for x in args.intensities.split(",")]
        record(seed_list(args.seeds), Path(args.out), intensities)
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")
        replay(Path(args.folder), dt.timedelta(minutes=args.every))


if __name__ == "__main__":
    main()
