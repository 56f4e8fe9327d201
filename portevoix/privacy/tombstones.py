"""What was erased stays erased: the keyed digests of erased messages' and mentions' network
ids, read by the inbox's and listening's ingest before they store anything (docs/privacy.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.crypto import salted_hmac

BATCH = 500


def digest(key: str, secret: str | None = None) -> str:
    return salted_hmac(
        "portevoix.privacy.tombstone", key, secret=secret, algorithm="sha256"
    ).hexdigest()[:32]


def digests(key: str) -> list[str]:
    """The key's digest under the secret key and under each fallback: a tombstone made before
    a rotation still matches."""
    from portevoix.core.crypto import secret_keys

    return [digest(key, secret) for secret in secret_keys()]


def inbox_scope(channel_id: int) -> str:
    return f"inbox:{channel_id}"


def mention_scope(network: str) -> str:
    return f"mention:{network}"


def bury(workspace_id: int, pairs: Iterable[tuple[str, str]]) -> int:
    """Remember ``(scope, network id)`` pairs as erased; returns how many were new."""
    from .models import Tombstone

    rows = [
        Tombstone(workspace_id=workspace_id, scope=scope, digest=digest(key))
        for scope, key in set(pairs)
    ]
    made = 0
    for start in range(0, len(rows), BATCH):
        made += len(
            Tombstone.objects.bulk_create(rows[start : start + BATCH], ignore_conflicts=True)
        )
    return made


def buried(workspace_id: int, scope: str, keys: Iterable[str]) -> set[str]:
    """The keys among ``keys`` that were erased in this workspace and scope."""
    from .models import Tombstone

    by_digest = {d: key for key in keys for d in digests(key)}
    if not by_digest:
        return set()
    found: set[str] = set()
    wanted = list(by_digest)
    for start in range(0, len(wanted), BATCH):
        found.update(
            Tombstone.objects.filter(
                workspace_id=workspace_id, scope=scope, digest__in=wanted[start : start + BATCH]
            ).values_list("digest", flat=True)
        )
    return {by_digest[d] for d in found}
