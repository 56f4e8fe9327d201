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
clocks, assignment), in chunks of ``ingest.CHUNK`` items, one transaction each. Measured:

* items/s over the whole drain (fetching included);
* latency per item: from the moment its page was fetched to the commit that makes its
  conversation visible in its queue (department, assignee, clock): p50, p99, max;
* the stream replayed three times from the start: the number of stored messages must not
  move (the script fails otherwise), and the replay rate;
* the reference: the raw insert rate of the same message rows (``bulk_create`` of 100 rows per
  transaction, no triage, no conversations, no rules) in a second channel.

``--processes N`` (a list runs each: ``1,2``): N processes, one channel each (the stream split
between them), warmed up and started together, drain into the same workspace as the worker's
processes do: items/s over the whole run, latencies over every item, CPU per item of the
processes and of their PostgreSQL backends, the time spent waiting on the channel's and the
workspace's row locks; each replays its channel three times, and the report fails if a message
or a conversation is stored twice. ``BENCH_PROFILE=cpu`` profiles the first process in CPU
time (any other value: wall time), ``BENCH_PROFILE_OUT=file`` keeps the profile.

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


def _stream(account: Any, items: int, now: dt.datetime, seed: int = 10) -> None:
    """``items`` messages addressed to the account, written over the last hours by the sandbox
    world's writer (its templates, slots and roughening; 80 % French, 20 % English)."""
    import random

    from portevoix.sandbox import world
    from portevoix.sandbox.models import SandboxInteraction

    rng = random.Random(seed)
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


class _LockWaits:
    """Time spent in the statements that take the channel's and the workspace's row locks
    (``SELECT ... FOR UPDATE``): what one sync waits for the others (a database execute
    wrapper)."""

    def __init__(self) -> None:
        self.channel = 0.0
        self.workspace = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "FOR UPDATE" not in sql:
            return execute(sql, params, many, context)
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = time.perf_counter() - began
            if 'FROM "core_workspace"' in sql:
                self.workspace += took
            elif 'FROM "channels_channel"' in sql:
                self.channel += took


def _drain(channel: Any, show_queries: bool = False) -> tuple[int, float, float, list[float]]:
    """Sync the channel page after page from the start of its stream, as the worker does.

    Returns the items drained, the start and end (``perf_counter``, one clock for every process
    of the machine) and each item's latency: from the moment its page was fetched to the commit
    of the transaction that stored it (the inbox commits a page in chunks)."""
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
                if show_queries and count == 300:
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
    return count, start, time.perf_counter(), latencies


def _raw_inserts(channel: Any, accounts: list[Any]) -> float:
    """The reference: the same message rows, inserted 100 per transaction, nothing else."""
    from django.db import transaction
    from django.utils import timezone

    from portevoix.inbox.models import InboundMessage
    from portevoix.sandbox.models import SandboxInteraction

    source = list(SandboxInteraction.objects.filter(account__in=accounts).order_by("pk"))
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


def _travel(t0: float) -> Any:
    """Every process of a run lives at START plus the time since the run began (``t0``, the
    parent's ``time.time()``): their clocks agree."""
    import time_machine

    at = dt.datetime.fromisoformat(START) + dt.timedelta(seconds=max(0.0, time.time() - t0))
    traveller = time_machine.travel(at, tick=True)
    traveller.start()
    return traveller


def _emit(data: dict[str, Any]) -> None:
    print(json.dumps(data), flush=True)


def child_setup(items: int, processes: int) -> None:
    """A fresh database: the team, ``processes`` sandbox channels holding ``items`` messages
    between them, and as many warm-up channels of 100 messages."""
    _django()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)

    from portevoix.channels import actions as channel_actions
    from portevoix.sandbox import service

    workspace, admin = _team()
    _care(workspace, admin)

    def channel(handle: str, name: str) -> tuple[Any, Any]:
        account = service.create_account(handle, workspace=workspace, simulate=False)
        made = channel_actions.connect_channel(
            workspace,
            by=admin,
            network="sandbox",
            credentials=service.credentials_for(account),
            name=name,
        )
        return account, made

    measured = []
    for k in range(processes):
        share = items // processes + (1 if k < items % processes else 0)
        account, made = channel(
            "bench-care" if k == 0 else f"bench-care-{k}", "Instagram" if k == 0 else f"Care {k}"
        )
        _stream(account, share, timezone.now(), seed=10 + k)
        measured.append({"channel": made.pk, "account": account.pk, "items": share})
    warm = []
    for k in range(processes):
        account, made = channel(
            "bench-warm" if k == 0 else f"bench-warm-{k}", "Warm-up" if k == 0 else f"Warm {k}"
        )
        _stream(account, 100, timezone.now())
        warm.append(made.pk)
    _emit({"measured": measured, "warm": warm})


def _backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend so far (a local server), else None."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_drain(index: int, channel_id: int, warm_id: int, triage: bool, chunk: int) -> None:
    """One worker process: warms up on its own channel, says "ready", waits for "go", drains
    its channel, reports; then waits for "replay" and replays the stream three times."""
    _django()
    from django.db import connection

    from portevoix.channels.models import Channel
    from portevoix.inbox import ingest
    from portevoix.inbox.models import Conversation
    from portevoix.triage import service as triage_service

    if chunk:
        ingest.CHUNK = chunk
    channel = Channel.objects.select_related("workspace").get(pk=channel_id)
    warm_channel = Channel.objects.select_related("workspace").get(pk=warm_id)
    real = triage_service.label_items
    real(["Bonjour, combien coûte la livraison ?"] * 64, workspace=None)  # load the models
    if not triage:
        (fixed,) = real(["Bonjour, une question sur ma commande"], workspace=None)
        triage_service.label_items = lambda texts, workspace=None, **kw: [fixed] * len(list(texts))
    # A worker runs for days: what its first batch alone pays (imports, the URL resolver for
    # notification links, triage's first calls) is paid here, on a channel of its own ...
    _drain(warm_channel)
    # ... which leaves the agents' capacity to the measured streams.
    Conversation.objects.filter(channel=warm_channel).update(state="resolved", assignee=None)
    waits = _LockWaits()
    server_before = _backend_cpu()
    _emit({"ready": index})
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go")
    cpu = time.process_time()
    with connection.execute_wrapper(waits):
        if os.environ.get("BENCH_PROFILE") and index == 0:
            import cProfile
            import pstats

            # BENCH_PROFILE=cpu: CPU time (time.process_time), what a loaded machine leaves
            # comparable; any other value: wall time.
            cpu_only = os.environ["BENCH_PROFILE"] == "cpu"
            profiler = cProfile.Profile(time.process_time) if cpu_only else cProfile.Profile()
            drained, began, ended, latencies = profiler.runcall(_drain, channel)
            stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats(
                os.environ.get("BENCH_SORT", "cumulative")
            )
            stats.print_stats(60)
            if os.environ.get("BENCH_PROFILE_OUT"):
                profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])  # for pstats or snakeviz
        else:
            drained, began, ended, latencies = _drain(
                channel, show_queries=bool(os.environ.get("BENCH_QUERIES")) and index == 0
            )
    cpu = time.process_time() - cpu
    server_after = _backend_cpu()
    _emit(
        {
            "drained": drained,
            "began": began,
            "ended": ended,
            "cpu": cpu,
            "server_cpu": (
                server_after - server_before
                if server_before is not None and server_after is not None
                else None
            ),
            "latencies": latencies,
            "channel_lock_wait": waits.channel,
            "workspace_lock_wait": waits.workspace,
        }
    )
    if sys.stdin.readline().strip() != "replay":
        raise SystemExit("no replay")
    took = 0.0
    for _ in range(REPLAYS):
        replayed, began, ended, _lat = _drain(channel)
        took += ended - began
        if replayed != drained:
            raise SystemExit(f"a replay fetched {replayed} items of {drained}")
    _emit({"replay_seconds": took})


def child_report(measured: list[dict[str, Any]]) -> None:
    """What the runs stored, checked: every message once, no conversation twice; then the raw
    insert reference."""
    _django()
    from portevoix.care.models import SlaClock
    from portevoix.channels import actions as channel_actions
    from portevoix.channels.models import Channel
    from portevoix.core.models import Member
    from portevoix.core.permissions import Role
    from portevoix.inbox.models import Conversation, InboundMessage
    from portevoix.sandbox import service

    channels = [m["channel"] for m in measured]
    items = sum(m["items"] for m in measured)
    messages = InboundMessage.objects.filter(channel__in=channels)
    if messages.count() != items:
        raise SystemExit(f"stored {messages.count()} messages of {items}")
    for row in measured:
        stored = InboundMessage.objects.filter(channel=row["channel"]).count()
        if stored != row["items"]:
            raise SystemExit(f"channel {row['channel']}: {stored} messages of {row['items']}")
    if messages.values("channel", "message_id").distinct().count() != items:
        raise SystemExit("a message is stored twice")
    conversations = Conversation.objects.filter(channel__in=channels)
    if conversations.values("channel", "thread_key").distinct().count() != conversations.count():
        raise SystemExit("a conversation was started twice")
    live = conversations.exclude(state="spam")
    channel = Channel.objects.select_related("workspace").get(pk=channels[0])
    admin = Member.objects.filter(workspace=channel.workspace, role=Role.ADMIN).first()
    reference = channel_actions.connect_channel(
        channel.workspace,
        by=admin,
        network="sandbox",
        credentials=service.credentials_for(
            service.create_account("bench-raw", workspace=channel.workspace, simulate=False)
        ),
        name="Reference",
    )
    raw = _raw_inserts(reference, [m["account"] for m in measured])
    _emit(
        {
            "conversations": conversations.count(),
            "live": live.count(),
            "clocks": SlaClock.objects.filter(conversation__channel__in=channels).count(),
            "assigned": live.filter(assignee__isnull=False).count(),
            "by_rule": live.filter(routed_by="rule").count(),
            "with_department": live.filter(department__isnull=False).count(),
            "raw_rate": raw,
        }
    )


# --- orchestration ----------------------------------------------------------------------------


def _child(env: dict[str, str], *args: str, stdin: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", *args],
        env=env,
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
    )  # The child's stderr is ours: BENCH_PROFILE, BENCH_QUERIES, errors.


def _answer(child: subprocess.Popen[str]) -> dict[str, Any]:
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.wait()
        raise SystemExit(f"a child process stopped (exit {child.returncode}): see above")
    data: dict[str, Any] = json.loads(line)
    return data


def _run(url: str, items: int, triage: bool, chunk: int, processes: int) -> dict[str, Any]:
    """One measured run: set up, drain with ``processes`` processes at once, replay, check."""
    data_dir = Path(tempfile.mkdtemp(prefix="portevoix-bench-inbox."))
    env = dict(os.environ)
    env.update(
        PORTEVOIX_DATABASE_URL=url.replace("{data}", str(data_dir)),
        PORTEVOIX_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="portevoix.settings",
        PORTEVOIX_LOG_LEVEL="ERROR",
        BENCH_T0=str(time.time()),
    )
    drains: list[subprocess.Popen[str]] = []
    try:
        setup = _child(env, "setup", "--items", str(items), "--processes", str(processes))
        plan = _answer(setup)
        if setup.wait():
            raise SystemExit("the setup failed")
        flags = ["--triage", "on" if triage else "off", "--chunk", str(chunk)]
        for index, (row, warm) in enumerate(zip(plan["measured"], plan["warm"], strict=True)):
            drains.append(
                _child(
                    env,
                    "drain",
                    "--index",
                    str(index),
                    "--channel",
                    str(row["channel"]),
                    "--warm",
                    str(warm),
                    *flags,
                    stdin=True,
                )
            )
        for child in drains:
            _answer(child)  # ready: warmed up
        load_before = os.getloadavg()[0]
        for child in drains:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = [_answer(child) for child in drains]
        load_after = os.getloadavg()[0]
        for child in drains:
            assert child.stdin is not None
            child.stdin.write("replay\n")
            child.stdin.flush()
        replays = [_answer(child) for child in drains]
        for child in drains:
            if child.wait():
                raise SystemExit("a drain failed")
        report = _child(env, "report", "--plan", json.dumps(plan["measured"]))
        counts = _answer(report)
        if report.wait():
            raise SystemExit("the report failed")
    finally:
        for child in drains:
            if child.poll() is None:
                child.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
    latencies = [x for r in results for x in r["latencies"]]
    seconds = max(r["ended"] for r in results) - min(r["began"] for r in results)
    server = [r["server_cpu"] for r in results]
    return {
        "vendor": "postgresql" if url.startswith("postgres") else "sqlite",
        "triage": triage,
        "processes": processes,
        "chunk": chunk,
        "items": items,
        "rate": items / seconds,
        "rates": [r["drained"] / (r["ended"] - r["began"]) for r in results],
        "cpu_per_item_ms": 1000 * sum(r["cpu"] for r in results) / items,
        "server_cpu_per_item_ms": (
            1000 * sum(server) / items if all(x is not None for x in server) else None
        ),
        "p50": _percentile(latencies, 0.50),
        "p99": _percentile(latencies, 0.99),
        "max": max(latencies),
        "mean": statistics.fmean(latencies),
        "replay_rate": REPLAYS * items / max(r["replay_seconds"] for r in replays),
        "channel_lock_wait": sum(r["channel_lock_wait"] for r in results),
        "workspace_lock_wait": sum(r["workspace_lock_wait"] for r in results),
        "load_before": load_before,
        "load_after": load_after,
        **counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=5000, help="in all, over the channels")
    parser.add_argument("--databases", default="sqlite,pg")
    parser.add_argument("--triage", default="on,off")
    parser.add_argument(
        "--processes",
        default="1",
        help="processes (one channel each) syncing at once; a list runs each: 1,2",
    )
    parser.add_argument("--pg", default="", help="a PostgreSQL server URL (else a throwaway one)")
    parser.add_argument("--pg-port", type=int, default=55464)
    parser.add_argument(
        "--chunk", type=int, default=0, help="items per transaction (default: the inbox's CHUNK)"
    )
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--channel", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--warm", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--plan", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    modes = [m.strip() == "on" for m in args.triage.split(",") if m.strip()]
    counts = [int(n) for n in args.processes.split(",") if n.strip()]
    if args.child:
        traveller = _travel(float(os.environ["BENCH_T0"]))
        if args.child == "setup":
            child_setup(args.items, counts[0])
        elif args.child == "drain":
            child_drain(args.index, args.channel, args.warm, modes[0], args.chunk)
        else:
            child_report(json.loads(args.plan))
        traveller.stop()
        return

    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    server: ThrowawayPostgres | None = None
    rows = []
    try:
        for database in databases:
            for triage in modes:
                for processes in counts:
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
                    row = _run(url, args.items, triage, args.chunk, processes)
                    rows.append(row)
                    printed = {k: v for k, v in row.items() if k != "latencies"}
                    print(json.dumps(printed), file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.stop()

    print(
        "| database | triage | processes | items/s | vs 500/s | p50 | p99 | max"
        " | CPU ms/item (server) | lock waits s: channel, workspace"
        " | replay ×3 items/s | raw insert rows/s | conversations (live) | SLA clocks"
        " | assigned | by a rule | load 1 min |"
    )
    print("|" + "---|" * 17)
    for row in rows:
        server_cpu = row["server_cpu_per_item_ms"]
        print(
            f"| {'PostgreSQL' if row['vendor'] == 'postgresql' else 'SQLite'}"
            f" | {'yes' if row['triage'] else 'no'} | {row['processes']}"
            f" | {row['rate']:.0f} | {float(row['rate']) / GOAL_RATE:.2f}"
            f" | {row['p50']:.2f} s | {row['p99']:.2f} s | {row['max']:.2f} s"
            f" | {row['cpu_per_item_ms']:.2f}"
            f"{f' ({server_cpu:.2f})' if server_cpu is not None else ''}"
            f" | {row['channel_lock_wait']:.1f}, {row['workspace_lock_wait']:.1f}"
            f" | {row['replay_rate']:.0f} | {row['raw_rate']:.0f}"
            f" | {row['conversations']} ({row['live']}) | {row['clocks']} | {row['assigned']}"
            f" | {row['by_rule']} | {row['load_before']:.1f} → {row['load_after']:.1f} |"
        )


if __name__ == "__main__":
    main()
