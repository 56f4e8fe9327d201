"""Where listening reads public posts. The sandbox world is the first source.

The sandbox world (``portevoix/sandbox/world.py``) writes public mentions: customers who tag
a brand, people who talk about it without tagging it, people who talk about its competitors,
and, while a crisis runs, the storm about the crisis topic. For listening it is one public
stream, like Bluesky's firehose: :func:`read_sandbox` reads every account's mentions in the
order the world stored them, whatever workspace (if any) the account belongs to, and the
matcher decides whose they are.

The cursor is the id of the last interaction read. Each read starts :data:`OVERLAP` ids before
it: on PostgreSQL a transaction that took lower ids may commit after one that took higher ids,
and a reader that trusted the cursor exactly would skip its rows. Reading them again costs a
match; the pipeline stores each post once.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from portevoix.networks.sandbox import sandbox_followers
from portevoix.sandbox.models import InteractionKind, SandboxInteraction

from . import pipeline
from .models import ListeningSource

SANDBOX = "sandbox-world"
#: Interactions read per batch.
BATCH = 500
#: Ids read again behind the cursor (see the module's docstring).
OVERLAP = 200


def sandbox_source() -> ListeningSource:
    source, _ = ListeningSource.objects.get_or_create(name=SANDBOX, defaults={"network": "sandbox"})
    return source


def _post(row: SandboxInteraction) -> pipeline.PublicPost:
    return pipeline.PublicPost(
        external_id=row.message_id,
        network="sandbox",
        text=row.text,
        posted_at=row.created_at,
        author_handle=row.author_handle,
        author_name=row.author_name,
        author_reach=sandbox_followers(row.author_handle),
        language=row.language,
    )


def read_sandbox(*, batches: int = 20, batch: int = BATCH) -> tuple[int, int]:
    """Read the sandbox world's new public mentions, up to ``batches`` batches; returns (posts
    read, mentions stored). The cursor moves after each batch is stored."""
    source = sandbox_source()
    read = stored = 0
    for _ in range(batches):
        cursor = int(source.cursor or 0)
        rows = list(
            SandboxInteraction.objects.filter(
                kind=InteractionKind.MENTION,
                deleted_at__isnull=True,
                pk__gt=max(0, cursor - OVERLAP),
            ).order_by("pk")[: batch + OVERLAP]
        )
        new = [r for r in rows if r.pk > cursor]
        if not new:
            break
        now_stored = pipeline.ingest(source, [_post(r) for r in rows])
        stored += now_stored
        read += len(new)
        with transaction.atomic():
            locked = ListeningSource.objects.select_for_update().get(pk=source.pk)
            if int(locked.cursor or 0) < new[-1].pk:
                locked.cursor = str(new[-1].pk)
            locked.read_at = timezone.now()
            locked.items_read += len(new)
            locked.mentions_stored += now_stored
            locked.last_error = ""
            locked.save(
                update_fields=["cursor", "read_at", "items_read", "mentions_stored", "last_error"]
            )
        source = locked
        if len(new) < batch:
            break
    return read, stored
