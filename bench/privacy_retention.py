"""Retention: what the daily ``privacy-retention`` job costs on a workspace with a long past.

    .venv/bin/python bench/privacy_retention.py [--conversations 20000] [--pg URL | --pg-port N]
                                                [--no-sqlite] [--without-indexes]

For each database (a SQLite file; PostgreSQL with ``--pg URL`` or ``--pg-port``: a throwaway
cluster started here, as ``./dev pg`` does), a child process migrates and writes one
workspace with one sandbox channel and ``--conversations`` resolved conversations, all older
than the retention period, each with its customer, two messages, one note, one audit entry per
conversation and one per message (as the inbox's actions write them) and one notification;
plus as many audit entries about other things, so that the log is not only about them. Then:

* **retention**: ``privacy.actions.apply_retention`` with 30 days, timed: everything is
  deleted, with the traces (audit descriptions blanked, notifications, webhook events,
  tombstones written);
* **reference**: the same rows written again and deleted by a plain
  ``Conversation.objects.filter(...).delete()`` and the customers' delete: what deleting costs
  without the traces.

``--without-indexes`` also runs each database with the audit log's and the notifications'
``(object_type, object_id)`` indexes dropped, as they were before erasure needed them. Prints
rows per second for both and their ratio. No goal is named by an issue; the figure says
what a first run after years without retention costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _pg import ThrowawayPostgres, drop_pg_database, fresh_pg_database

ROOT = Path(__file__).resolve().parents[1]


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")
    import django

    django.setup()


def _fill(n: int) -> tuple[object, object]:
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from portevoix.channels.models import Channel
    from portevoix.core.models import AuditEntry, Member, User, Workspace
    from portevoix.inbox.models import Conversation, Customer, InboundMessage, Note
    from portevoix.notifications.models import Notification

    workspace = Workspace.objects.filter(slug="bench").first()
    if workspace is None:
        from portevoix.core import actions

        user = User.objects.create_user("bench@bench.test", "x", full_name="Bench")
        workspace = actions.create_workspace(name="Bench", slug="bench", creator=user)
    member = Member.objects.get(workspace=workspace)
    channel = Channel.objects.filter(workspace=workspace).first()
    if channel is None:
        channel = Channel.objects.create(
            workspace=workspace, network="sandbox", name="bench", handle="bench"
        )
    old = timezone.now() - dt.timedelta(days=400)
    stamp = str(time.monotonic_ns())
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            Customer(
                workspace=workspace,
                network="sandbox",
                author_id=f"{stamp}-{i}",
                handle=f"person{stamp}{i}",
                first_seen_at=old,
                last_seen_at=old,
            )
            for i in range(n)
        )
        conversations = Conversation.objects.bulk_create(
            Conversation(
                workspace=workspace,
                channel=channel,
                kind="public",
                thread_key=f"{stamp}-{i}",
                customer=c,
                state="resolved",
                created_at=old,
                last_message_at=old,
                preview="Ma commande n'est jamais arrivée",
            )
            for i, c in enumerate(customers)
        )
        messages = InboundMessage.objects.bulk_create(
            InboundMessage(
                channel=channel,
                message_id=f"{stamp}-{i}-{k}",
                kind="comment",
                conversation=c,
                customer_id=c.customer_id,
                author_handle=f"person{stamp}{i}",
                text="Ma commande n'est jamais arrivée, numéro 4521",
                created_at=old,
            )
            for i, c in enumerate(conversations)
            for k in range(2)
        )
        Note.objects.bulk_create(
            Note(conversation=c, author=member, text="Rappeler demain") for c in conversations
        )
        entries = [
            AuditEntry(
                workspace=workspace,
                actor_label="bench",
                action="inbox.state",
                object_type="inbox.conversation",
                object_id=str(c.pk),
                object_repr=f"@person{i}",
                after={"state": "resolved"},
            )
            for i, c in enumerate(conversations)
        ]
        entries += [
            AuditEntry(
                workspace=workspace,
                actor_label="bench",
                action="inbox.triage",
                object_type="inbox.inboundmessage",
                object_id=str(m.pk),
                object_repr=m.text[:60],
            )
            for m in messages
        ]
        entries += [
            AuditEntry(
                workspace=workspace,
                actor_label="bench",
                action="post.create",
                object_type="publishing.post",
                object_id=str(i),
            )
            for i in range(n)
        ]
        AuditEntry.objects.bulk_create(entries, batch_size=2000)
        Notification.objects.bulk_create(
            Notification(
                workspace=workspace,
                recipient=member,
                kind="inbox.assigned",
                object_type="inbox.conversation",
                object_id=str(c.pk),
            )
            for c in conversations
        )
    return workspace, member


def child(n: int, without_indexes: bool) -> dict[str, float]:
    _django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    if without_indexes:  # as before the audit log and notifications had them
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX audit_object")
            cursor.execute("DROP INDEX notif_object")

    from portevoix.inbox.models import Conversation, Customer
    from portevoix.privacy import actions
    from portevoix.privacy.models import RetentionPolicy

    workspace, _member = _fill(n)
    policy = RetentionPolicy.objects.create(workspace=workspace, conversations_days=30)
    started = time.perf_counter()
    done = actions.apply_retention(policy)
    retention = time.perf_counter() - started
    assert done["conversations"] == n and done["messages"] == 2 * n, done
    assert done["customers"] == n, done

    workspace, _member = _fill(n)
    started = time.perf_counter()
    Conversation.objects.filter(workspace=workspace).delete()
    Customer.objects.filter(workspace=workspace).delete()
    reference = time.perf_counter() - started
    rows = n * 5  # a conversation, its customer, two messages, a note
    return {
        "vendor": connection.vendor + (" (no object indexes)" if without_indexes else ""),
        "conversations": n,
        "retention_s": retention,
        "reference_s": reference,
        "retention_rows_per_s": rows / retention,
        "reference_rows_per_s": rows / reference,
        "ratio": retention / reference,
    }


def _run_child(env: dict[str, str], n: int, without: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--conversations", str(n)]
        + (["--without-indexes"] if without else []),
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=20000)
    parser.add_argument("--pg", default="")
    parser.add_argument("--pg-port", type=int, default=0)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--child", action="store_true")
    parser.add_argument(
        "--without-indexes",
        action="store_true",
        help="also run without the audit log's and notifications' object indexes",
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.conversations, args.without_indexes)))
        return 0
    results = []
    variants = [False, True] if args.without_indexes else [False]
    if not args.no_sqlite:
        for without in variants:
            folder = tempfile.mkdtemp()
            try:
                env = {**os.environ, "PORTEVOIX_DATA_DIR": folder}
                env.pop("PORTEVOIX_DATABASE_URL", None)
                results.append(_run_child(env, args.conversations, without))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    if args.pg or args.pg_port:
        server = None
        server_url = args.pg
        if not server_url:
            server = ThrowawayPostgres(args.pg_port)
            server_url = server.start()
        try:
            for without in variants:
                url = fresh_pg_database(server_url)
                folder = tempfile.mkdtemp()
                try:
                    env = {
                        **os.environ,
                        "PORTEVOIX_DATA_DIR": folder,
                        "PORTEVOIX_DATABASE_URL": url,
                    }
                    results.append(_run_child(env, args.conversations, without))
                finally:
                    drop_pg_database(url)
                    shutil.rmtree(folder, ignore_errors=True)
        finally:
            if server is not None:
                server.stop()
    print(
        "| database | conversations | retention s | rows/s | plain delete s | rows/s "
        "| ratio (retention / plain) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['vendor']} | {r['conversations']} | {r['retention_s']:.2f} "
            f"| {r['retention_rows_per_s']:.0f} | {r['reference_s']:.2f} "
            f"| {r['reference_rows_per_s']:.0f} | {r['ratio']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
