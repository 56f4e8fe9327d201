"""Sustained inbox ingestion: sandbox -> de-duplication -> triage -> routing -> assignment -> SLA.

    .venv/bin/python bench/inbox_ingest.py [--items 5000] [--databases sqlite,pg]
                                           [--triage on,off] [--pg URL | --pg-port 55464]

For each database (a SQLite file; PostgreSQL: the server at ``--pg URL``, else a throwaway
cluster started here like ``./dev pg`` does) and with and without triage, a fresh database gets
a workspace set up like a real team (an office calendar open now, two SLA policies, the demo's
five routing rules and two VIP authors, least-loaded assignment over eight agents of four
departments and three content marketers with a capacity of 20) and a sandbox account holding
``--items`` messages addressed to the brand, written by the sandbox world's writer: 70 %
comments (one in five answering an earlier one), 20 % private messages, 10 % mentions, a
third of the authors returning, one author in thirty with more than 10,000 followers.

Then one process does what the worker's channel sync does, page after page (100 items, the
sandbox's page size) until the stream is drained: ``fetch_inbound`` through the sandbox
network client, then ``deliver`` (the inbox's ``ingest``: de-duplication under the channel's
lock, triage, customers, conversations, then the care hook: rules, "closed" replies, SLA
clocks, assignment), one transaction per page. Measured:

* items/s over the whole drain (fetching included);
* latency per item: from the moment its page was fetched to the commit that makes its
  conversation visible in its queue (department, assignee, clock): p50, p99, max;
* the stream replayed three times from the start: the number of stored messages must not
  move (the script fails otherwise), and the replay rate;
* the reference: the raw insert rate of the same message rows (``bulk_create`` of 100 rows per
  transaction, no triage, no conversations, no rules) in a second channel.

"Without triage" replaces ``label_items`` by one fixed label (routing then sees the same
labels for every message): it shows what triage costs. The load average (1 min) is printed
before and after each run; the machine is shared.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import ThrowawayPostgres, fresh_pg_database

ROOT = Path(__file__).resolve().parents[1]
#: Wednesday 10 June 2026, 10:00 in Paris: the team is open and assigns.
START = "2026-06-10T10:00:00+02:00"
GOAL_RATE = 500.0
GOAL_P99 = 2.0
REPLAYS = 3


# --- child process ----------------------------------------------------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _team() -> tuple[Any, Any]:
    """A workspace with its admin, agents of four departments and content marketers."""
    from portevoix.core import actions as core_actions
    from portevoix.core.models import Department, Member, User
    from portevoix.core.permissions import Role

    def user(email: str, name: str) -> User:
        return User.objects.create_user(email, "bench-password", full_name=name)

    admin_user = user("admin@bench.test", "Ada Admin")
    workspace = core_actions.create_workspace(name="Bench", slug="bench", creator=admin_user)
    admin = Member.objects.get(workspace=workspace, user=admin_user)
    departments = {d.code: d for d in Department.objects.filter(workspace=workspace)}
    n = 0
    for code in ("customer_service", "sales", "legal", "communication"):
        for _ in range(2):
            n += 1
            Member.objects.create(
                workspace=workspace,
                user=user(f"agent{n}@bench.test", f"Agent {n}"),
                role=Role.AGENT,
                department=departments.get(code),
            )
    for k in range(3):
        Member.objects.create(
            workspace=workspace,
            user=user(f"content{k}@bench.test", f"Content {k}"),
            role=Role.CONTENT,
        )
    return workspace, admin


def _care(workspace: Any, admin: Any) -> None:
    from portevoix.care import actions
    from portevoix.care.demo import RULES, VIPS
    from portevoix.care.models import AfterHours, Strategy

    calendar = actions.create_calendar(
        workspace,
        by=admin,
        name="Bureau",
        time_zone="Europe/Paris",
        week=actions.parse_week(["08:00-12:30, 13:30-20:00"] * 5 + ["10:00-13:00", ""]),
    )
    actions.update_settings(
        workspace,
        by=admin,
        calendar=calendar,
        after_hours=AfterHours.CLOSED,
        assignment=Strategy.LEAST_LOADED,
        default_capacity=20,
    )
    actions.create_policy(
        workspace,
        by=admin,
        name="Standard",
        calendar=calendar,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=16 * 60,
    )
    actions.create_policy(
        workspace,
        by=admin,
        name="Urgent",
        priority=3,
        calendar=calendar,
        first_response_minutes=15,
        next_response_minutes=30,
        resolution_minutes=4 * 60,
    )
    for name, condition, rule_actions in RULES:
        actions.create_rule(
            workspace, by=admin, name=name, condition=condition, actions=rule_actions
        )
    for handle, note in VIPS:
        actions.add_vip(workspace, by=admin, handle=handle, note=note)


def _stream(account: Any, items: int, now: dt.datetime) -> None:
    """``items`` messages addressed to the account, written over the last hours by the sandbox
    world's writer (its templates, slots and roughening; 80 % French, 20 % English)."""
    import random

    from portevoix.sandbox import world
    from portevoix.sandbox.models import SandboxInteraction

    rng = random.Random(10)
    writers = {"fr": world.Writer(account, rng, "fr"), "en": world.Writer(account, rng, "en")}
    authors: list[tuple[str, str]] = []
    rows: list[SandboxInteraction] = []
    comments: list[str] = []
    for n in range(items):
        language = "fr" if rng.random() < 0.8 else "en"
        writer = writers[language]
        roll = rng.random()
        kind, reply_to, thread = "comment", "", ""
        if roll < 0.2:
            kind = "dm"
        elif roll < 0.3:
            kind = "mention"
        elif comments and rng.random() < 0.2:
            reply_to = rng.choice(comments[-200:])
            thread = reply_to
        intent = world._pick_intent(rng, "dm" if kind == "dm" else "comment")
        if authors and (kind == "dm" or rng.random() < 0.3):
            handle, name = rng.choice(authors[-300:])  # someone who wrote before
        else:
            handle, name = writer.author(intent)
            authors.append((handle, name))
        if kind == "dm":
            thread = f"sbx-dm-{account.pk}-{handle}"
        text, sentiment = writer.message(kind, intent)
        message_id = f"sbx-{account.pk}-b{n}"
        if kind == "comment":
            comments.append(message_id)
        rows.append(
            SandboxInteraction(
                account=account,
                message_id=message_id,
                kind=kind,
                addressed=True,
                author_handle=handle[:60],
                author_name=name[:120],
                language=language,
                intent=intent,
                sentiment=sentiment,
                text=text,
                created_at=now - dt.timedelta(seconds=(items - n) * 0.5),
                in_reply_to=reply_to,
                thread_id=thread,
                source="injected",
            )
        )
    SandboxInteraction.objects.bulk_create(rows, batch_size=500)


def _drain(channel: Any) -> tuple[int, float, list[float]]:
    """Sync the channel page after page from the start of its stream, as the worker does.

    An item's latency runs from the moment its page was fetched to the commit of the
    transaction that stored it (the inbox commits a page in chunks)."""
    from django.db import transaction

    from portevoix.channels import clients
    from portevoix.channels.sync import deliver
    from portevoix.inbox import ingest

    cursor = "i:0"
    latencies: list[float] = []
    count = 0
    fetched = 0.0

    def visible(result: Any) -> None:
        stored = len(result.messages)
        transaction.on_commit(lambda: latencies.extend([time.perf_counter() - fetched] * stored))

    ingest.on_ingested(visible)
    start = time.perf_counter()
    try:
        with clients.checkout(channel) as network:
            while True:
                batch = network.fetch_inbound(cursor)
                fetched = time.perf_counter()
                if not batch.items:
                    break
                if os.environ.get("BENCH_QUERIES") and count == 300:
                    from django.db import connection
                    from django.test.utils import CaptureQueriesContext

                    with CaptureQueriesContext(connection) as queries:
                        deliver(channel, batch.items)
                    for query in queries.captured_queries:
                        print(query["sql"][:300], file=sys.stderr)
                    print(f"{len(queries)} queries for one page", file=sys.stderr)
                else:
                    deliver(channel, batch.items)
                count += len(batch.items)
                cursor = batch.next_cursor or cursor
    finally:
        ingest.remove_handler(visible)
    return count, time.perf_counter() - start, latencies


def _raw_inserts(channel: Any, account: Any) -> float:
    """The reference: the same message rows, inserted 100 per transaction, nothing else."""
    from django.db import transaction
    from django.utils import timezone

    from portevoix.inbox.models import InboundMessage
    from portevoix.sandbox.models import SandboxInteraction

    source = list(SandboxInteraction.objects.filter(account=account).order_by("pk"))
    now = timezone.now()
    start = time.perf_counter()
    for offset in range(0, len(source), 100):
        with transaction.atomic():
            InboundMessage.objects.bulk_create(
                [
                    InboundMessage(
                        channel=channel,
                        message_id=row.message_id,
                        kind=row.kind,
                        author_handle=row.author_handle,
                        author_name=row.author_name,
                        text=row.text,
                        created_at=row.created_at,
                        received_at=now,
                        in_reply_to=row.in_reply_to,
                        thread_id=row.thread_id,
                        language=row.language,
                        sentiment=row.sentiment,
                        intent=row.intent,
                    )
                    for row in source[offset : offset + 100]
                ]
            )
    return len(source) / (time.perf_counter() - start)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def child(items: int, triage: bool, chunk: int) -> None:
    import time_machine

    start = dt.datetime.fromisoformat(START)
    traveller = time_machine.travel(start, tick=True)
    traveller.start()
    _django()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)

    from portevoix.care.models import SlaClock
    from portevoix.channels import actions as channel_actions
    from portevoix.inbox import ingest
    from portevoix.inbox.models import Conversation, InboundMessage
    from portevoix.sandbox import service
    from portevoix.triage import service as triage_service

    if chunk:
        ingest.CHUNK = chunk
    workspace, admin = _team()
    _care(workspace, admin)
    account = service.create_account("bench-care", workspace=workspace, simulate=False)
    channel = channel_actions.connect_channel(
        workspace,
        by=admin,
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Instagram",
    )
    _stream(account, items, timezone.now())
    real = triage_service.label_items
    real(["Bonjour, combien coûte la livraison ?"] * 64, workspace=workspace)  # load the models
    if not triage:
        (fixed,) = real(["Bonjour, une question sur ma commande"], workspace=None)
        triage_service.label_items = lambda texts, workspace=None, **kw: [fixed] * len(list(texts))
    # A worker runs for days: what its first batch alone pays (imports, the URL resolver for
    # notification links, triage's first calls) is paid here, on a channel of its own.
    warm = service.create_account("bench-warm", workspace=workspace, simulate=False)
    warm_channel = channel_actions.connect_channel(
        workspace,
        by=admin,
        network="sandbox",
        credentials=service.credentials_for(warm),
        name="Warm-up",
    )
    _stream(warm, 100, timezone.now())
    _drain(warm_channel)
    # ... and leaves the agents' capacity to the measured stream.
    Conversation.objects.filter(channel=warm_channel).update(state="resolved", assignee=None)

    load_before = os.getloadavg()[0]
    cpu = time.process_time()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        stored, seconds, latencies = profiler.runcall(_drain, channel)
        stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats(
            os.environ.get("BENCH_SORT", "cumulative")
        )
        stats.print_stats(60)
    else:
        stored, seconds, latencies = _drain(channel)
    cpu = time.process_time() - cpu
    load_after = os.getloadavg()[0]
    messages = InboundMessage.objects.filter(channel=channel).count()
    conversations = Conversation.objects.filter(channel=channel).count()
    if messages != items or stored != items:
        raise SystemExit(f"stored {messages} messages of {items} (drained {stored})")

    replay_seconds = 0.0
    for _ in range(REPLAYS):
        drained, took, _lat = _drain(channel)
        replay_seconds += took
        assert drained == items
    if InboundMessage.objects.filter(channel=channel).count() != items:
        raise SystemExit("a replay stored a message twice")
    if Conversation.objects.filter(channel=channel).count() != conversations:
        raise SystemExit("a replay started a conversation twice")

    live = Conversation.objects.filter(channel=channel).exclude(state="spam")
    clocks = SlaClock.objects.filter(conversation__channel=channel).count()
    assigned = live.filter(assignee__isnull=False).count()
    routed_by_rule = live.filter(routed_by="rule").count()
    with_department = live.filter(department__isnull=False).count()

    reference_channel = channel_actions.connect_channel(
        workspace,
        by=admin,
        network="sandbox",
        credentials=service.credentials_for(
            service.create_account("bench-raw", workspace=workspace, simulate=False)
        ),
        name="Reference",
    )
    raw = _raw_inserts(reference_channel, account)
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "triage": triage,
                "chunk": ingest.CHUNK,
                "omp_threads": os.environ.get("OMP_NUM_THREADS", ""),
                "items": items,
                "rate": items / seconds,
                "cpu_per_item_ms": 1000 * cpu / items,
                "p50": _percentile(latencies, 0.50),
                "p99": _percentile(latencies, 0.99),
                "max": max(latencies),
                "mean": statistics.fmean(latencies),
                "replay_rate": REPLAYS * items / replay_seconds,
                "raw_rate": raw,
                "conversations": conversations,
                "live": live.count(),
                "clocks": clocks,
                "assigned": assigned,
                "by_rule": routed_by_rule,
                "with_department": with_department,
                "load_before": load_before,
                "load_after": load_after,
            }
        ),
        flush=True,
    )
    traveller.stop()


# --- orchestration ----------------------------------------------------------------------------


def _run(url: str, items: int, triage: bool, chunk: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="portevoix-bench-inbox."))
    env = dict(os.environ)
    env.update(
        PORTEVOIX_DATABASE_URL=url.replace("{data}", str(data_dir)),
        PORTEVOIX_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="portevoix.settings",
        PORTEVOIX_LOG_LEVEL="ERROR",
    )
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--items", str(items),
             "--triage", "on" if triage else "off", "--chunk", str(chunk)],
            env=env, check=True, cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(exc.stderr[-4000:])
        raise
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--databases", default="sqlite,pg")
    parser.add_argument("--triage", default="on,off")
    parser.add_argument("--pg", default="", help="a PostgreSQL server URL (else a throwaway one)")
    parser.add_argument("--pg-port", type=int, default=55464)
    parser.add_argument(
        "--chunk", type=int, default=0, help="items per transaction (default: the inbox's CHUNK)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    modes = [m.strip() == "on" for m in args.triage.split(",") if m.strip()]
    if args.child:
        child(args.items, modes[0], args.chunk)
        return

    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    server: ThrowawayPostgres | None = None
    rows = []
    try:
        for database in databases:
            for triage in modes:
                if database == "sqlite":
                    url = "sqlite:///{data}/bench.sqlite3"
                else:
                    base = args.pg
                    if not base:
                        if server is None:
                            server = ThrowawayPostgres(args.pg_port)
                            server_url = server.start()
                        base = server_url
                    url = fresh_pg_database(base, "portevoix_bench_inbox")
                row = _run(url, args.items, triage, args.chunk)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.stop()

    print(
        "| database | triage | items/s | vs 500/s | p50 | p99 | max | CPU ms/item"
        " | replay ×3 items/s | raw insert rows/s | conversations (live) | SLA clocks"
        " | assigned | by a rule | load 1 min |"
    )
    print("|" + "---|" * 15)
    for row in rows:
        print(
            f"| {'PostgreSQL' if row['vendor'] == 'postgresql' else 'SQLite'}"
            f" | {'yes' if row['triage'] else 'no'}"
            f" | {row['rate']:.0f} | {float(row['rate']) / GOAL_RATE:.2f}"
            f" | {row['p50']:.2f} s | {row['p99']:.2f} s | {row['max']:.2f} s"
            f" | {row['cpu_per_item_ms']:.2f} | {row['replay_rate']:.0f} | {row['raw_rate']:.0f}"
            f" | {row['conversations']} ({row['live']}) | {row['clocks']} | {row['assigned']}"
            f" | {row['by_rule']} | {row['load_before']:.1f} → {row['load_after']:.1f} |"
        )


if __name__ == "__main__":
    main()
