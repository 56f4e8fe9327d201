"""The sandbox network's server side: the calls its adapter makes, and the knobs tests turn.

Everything the network adapter (:mod:`portevoix.networks.sandbox`) calls takes the account's
handle and token, like an HTTP API would, and fails like one: ``Unauthorized`` (401),
``TooManyRequests`` (429, with ``reset_at``), ``ServerError`` (500), ``Unavailable`` (503),
``Timeout`` (the caller gave up; ``accepted`` says whether the network had already stored
the write), ``BadRequest`` (400), ``NotFoundError`` (404). The adapter maps them to the typed
errors of :mod:`portevoix.networks.errors`.

Every call that reaches an account is written down in ``SandboxCall`` (also the refused
ones); every post it stored is a ``SandboxPost``, unique per (account, idempotency key,
part): the same key twice answers with the same post and stores nothing.
"""

from __future__ import annotations

import functools
import hashlib
import random
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from . import rows, world
from .models import (
    PROFESSIONAL_CURVE,
    Fault,
    Flavour,
    InteractionKind,
    PostKind,
    SandboxAccount,
    SandboxCall,
    SandboxFaults,
    SandboxFollowerCohort,
    SandboxInteraction,
    SandboxPost,
)

#: Tokens live this long unless an account says otherwise (``None``: forever).
DEFAULT_TOKEN_LIFETIME = timedelta(days=60)
#: How many inbound items one ``fetch_inbound`` or ``search`` call answers at most.
PAGE_SIZE = 100
#: A first ``fetch_inbound`` (no cursor) sees this much of the past, like notifications.
NOTIFICATION_WINDOW = timedelta(days=2)
#: A read simulates at most this many missed steps (two days); the worker does the rest.
CATCH_UP_STEPS = 4 * 24 * 2


# -- errors (what an HTTP API would answer) ---------------------------------------------------


class SandboxError(Exception):
    status = 0

    def __init__(self, message: str, *, code: str = "", accepted: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or str(self.status)
        #: Whether the network stored the write before failing (only ``Timeout`` does).
        self.accepted = accepted


class BadRequest(SandboxError):
    status = 400


class Unauthorized(SandboxError):
    status = 401


class NotFoundError(SandboxError):
    status = 404


class TooManyRequests(SandboxError):
    status = 429

    def __init__(self, message: str, *, reset_at: datetime, code: str = "") -> None:
        super().__init__(message, code=code)
        self.reset_at = reset_at


class ServerError(SandboxError):
    status = 500


class Unavailable(SandboxError):
    status = 503


class Timeout(SandboxError):
    status = 504


# -- plain data in --------------------------------------------------------------------------


@dataclass(frozen=True)
class PartIn:
    """One part of a post as the adapter sends it; media are descriptors, not bytes."""

    text: str
    media: Sequence[dict[str, Any]] = field(default_factory=tuple)


# -- accounts ---------------------------------------------------------------------------------


def new_token() -> str:
    return "sbx_" + secrets.token_urlsafe(24)


def default_cohorts(flavour: str, language: str = "fr") -> list[dict[str, Any]]:
    """A French-speaking audience with a few abroad; professionals keep office hours."""
    curve = PROFESSIONAL_CURVE if flavour == Flavour.PRO else None
    weekend = 0.35 if flavour == Flavour.PRO else 1.15
    if language == "en":
        rows = [
            ("Europe/London", "en", 45),
            ("America/New_York", "en", 35),
            ("Europe/Paris", "fr", 20),
        ]
    else:
        rows = [
            ("Europe/Paris", "fr", 70),
            ("Europe/Brussels", "fr", 8),
            ("America/Toronto", "fr", 7),
            ("Africa/Casablanca", "fr", 5),
            ("Europe/London", "en", 6),
            ("America/New_York", "en", 4),
        ]
    return [
        {
            "time_zone": tz,
            "language": lang,
            "size": size,
            "weekend_factor": weekend,
            **({"activity_curve": list(curve)} if curve else {}),
        }
        for tz, lang, size in rows
    ]


@transaction.atomic
def create_account(
    handle: str,
    *,
    display_name: str = "",
    workspace: Any = None,
    flavour: str = Flavour.PHOTO,
    follower_count: int = 5000,
    seed: int | None = None,
    language: str = "fr",
    cohorts: Sequence[dict[str, Any]] | None = None,
    token_lifetime: timedelta | None = DEFAULT_TOKEN_LIFETIME,
    now: datetime | None = None,
    **fields: Any,
) -> SandboxAccount:
    """A new sandbox account with its audience and a healthy token.

    ``fields`` are other ``SandboxAccount`` fields (``brand_name``, ``products``,
    ``competitors``, ``inbound_per_day``, ``simulate``...). Without a ``seed``, one is
    derived from the handle, so that two accounts do not live the same world.
    """
    now = now or timezone.now()
    if seed is None:
        seed = world.seed_digest("account", handle)
    account = SandboxAccount.objects.create(
        handle=handle,
        display_name=display_name or handle,
        workspace=workspace,
        flavour=flavour,
        follower_count=follower_count,
        seed=seed,
        token=new_token(),
        token_expires_at=now + token_lifetime if token_lifetime else None,
        simulated_until=world.floor_step(now),
        created_at=now,
        **fields,
    )
    SandboxFaults.objects.create(account=account)
    for cohort in cohorts if cohorts is not None else default_cohorts(flavour, language):
        SandboxFollowerCohort.objects.create(account=account, **cohort)
    return account


def credentials_for(account: SandboxAccount) -> dict[str, str]:
    """What a channel stores to connect this account (``handle`` and ``token``)."""
    return {"handle": account.handle, "token": account.token}


def expire_token(account: SandboxAccount, *, at: datetime | None = None) -> None:
    """Make the account's token expire (now, or at ``at``): calls then answer 401."""
    account.token_expires_at = at or timezone.now()
    account.save(update_fields=["token_expires_at"])


def rotate_token(
    account: SandboxAccount, *, lifetime: timedelta | None = DEFAULT_TOKEN_LIFETIME
) -> str:
    """A fresh token (as after a reconnect through the network's login page)."""
    account.token = new_token()
    account.token_expires_at = timezone.now() + lifetime if lifetime else None
    account.save(update_fields=["token", "token_expires_at"])
    return account.token


def faults_of(account: SandboxAccount) -> SandboxFaults:
    faults, _ = SandboxFaults.objects.get_or_create(account=account)
    return faults


def inject_faults(account: SandboxAccount, *faults: str | Fault) -> None:
    """Queue faults: the next calls (writes only, by default) fail with them, in order."""
    for fault in faults:
        Fault(fault)  # refuse unknown names
    with transaction.atomic():
        row = SandboxFaults.objects.select_for_update().get(pk=faults_of(account).pk)
        row.queue = [*row.queue, *(str(Fault(f)) for f in faults)]
        row.save(update_fields=["queue"])


def configure_faults(account: SandboxAccount, **settings: Any) -> SandboxFaults:
    """Set ``latency_ms``, ``jitter_ms``, ``rate_limit``, ``rate_window_seconds``,
    ``rate_reset_seconds``, ``writes_only``, ``queue``, ``random_faults`` (fault name ->
    probability per call, e.g. ``{"timeout_after_accept": 0.05, "server_error": 0.02}``) or
    ``hold_ms`` (how long a stored write's answer is held back)."""
    for name in settings.get("random_faults") or {}:
        Fault(name)  # refuse unknown names
    if sum(float(p) for p in (settings.get("random_faults") or {}).values()) > 1:
        raise ValueError("random fault probabilities add up to more than 1")
    row = faults_of(account)
    for name, value in settings.items():
        if name not in {
            "latency_ms",
            "jitter_ms",
            "rate_limit",
            "rate_window_seconds",
            "rate_reset_seconds",
            "writes_only",
            "queue",
            "random_faults",
            "hold_ms",
        }:
            raise TypeError(f"unknown fault setting {name!r}")
        setattr(row, name, value)
    row.save()
    return row


def clear_faults(account: SandboxAccount) -> None:
    configure_faults(
        account, latency_ms=0, jitter_ms=0, rate_limit=0, queue=[], random_faults={}, hold_ms=0
    )


# -- the call pipeline --------------------------------------------------------------------------


def _account_with_faults(handle: str) -> SandboxAccount | None:
    """The account and its faults, in one precompiled query (read on every call)."""
    with connection.cursor() as cursor:
        cursor.execute(_account_sql(connection.vendor), [handle])
        row = cursor.fetchone()
    if row is None:
        return None
    split = rows.width(SandboxAccount)
    account = rows.load(SandboxAccount, row[:split])
    faults = rows.load(SandboxFaults, row[split:]) if row[split] is not None else None
    # What select_related("faults") would cache: account.faults answers without a query.
    SandboxAccount.faults.related.set_cached_value(account, faults)
    if faults is not None:
        SandboxFaults.account.field.set_cached_value(faults, account)
    return account


@functools.cache
def _account_sql(vendor: str) -> str:
    del vendor  # part of the cache key: quoting differs per database
    return (
        f"SELECT {rows.columns(SandboxAccount, 'a')}, {rows.columns(SandboxFaults, 'f')} "  # noqa: S608
        f"FROM {rows.table(SandboxAccount)} a LEFT JOIN {rows.table(SandboxFaults)} f "
        f"ON f.account_id = a.id WHERE a.handle = %s"
    )


def _authenticate(handle: str, token: str, now: datetime) -> SandboxAccount:
    account = _account_with_faults(handle)
    if account is None or not token or not secrets.compare_digest(account.token, token):
        if account is not None:
            SandboxCall.objects.create(
                account=account, operation="auth", outcome="unauthorized", received_at=now
            )
        raise Unauthorized("Invalid access token.", code="invalid_token")
    if account.token_expires_at is not None and account.token_expires_at <= now:
        SandboxCall.objects.create(
            account=account, operation="auth", outcome="auth_expired", received_at=now
        )
        raise Unauthorized("The access token has expired.", code="token_expired")
    return account


def _take_fault(
    account: SandboxAccount, write: bool, now: datetime, idempotency_key: str = ""
) -> tuple[str, SandboxFaults]:
    """Pop the next queued fault that applies to this call, else draw a random one; check
    the rate limit."""
    try:
        faults = account.faults  # read with the account (_authenticate)
    except SandboxFaults.DoesNotExist:
        faults = faults_of(account)
    fault = ""
    if faults.queue and (write or not faults.writes_only):
        # Only a queued fault needs the write lock (two calls must not pop the same one).
        with transaction.atomic():
            faults = SandboxFaults.objects.select_for_update().get(pk=faults.pk)
            if faults.queue and (write or not faults.writes_only):
                fault, *rest = faults.queue
                faults.queue = rest
                faults.save(update_fields=["queue"])
    if not fault and faults.random_faults and (write or not faults.writes_only):
        draw = random.Random(f"{account.seed}:{idempotency_key}:{now.isoformat()}").random()
        for name, probability in faults.random_faults.items():
            draw -= float(probability)
            if draw < 0:
                fault = str(Fault(name))
                break
    if not fault and faults.rate_limit:
        window_start = now - timedelta(seconds=faults.rate_window_seconds)
        counted = SandboxCall.objects.filter(account=account, received_at__gt=window_start).exclude(
            outcome__in=["rate_limited", "unauthorized", "auth_expired"]
        )
        if counted.count() >= faults.rate_limit:
            fault = "rate_window"
    return fault, faults


def _sleep(faults: SandboxFaults, seed: str) -> float:
    """The latency of this call, in seconds (slept by the caller)."""
    latency = faults.latency_ms
    if faults.jitter_ms:
        latency += random.Random(seed).randint(0, faults.jitter_ms)
    return latency / 1000.0


def _call[T](
    handle: str,
    token: str,
    operation: str,
    work: Callable[[SandboxAccount], tuple[T, list[str], str]],
    *,
    write: bool,
    idempotency_key: str = "",
    timeout: float | None = None,
) -> T:
    """Authenticate, apply faults and latency, run ``work`` and write the receipt.

    ``work`` returns (answer, network ids it created, outcome). Errors are raised only after
    the receipt (and, for a timeout after accept, the write) is committed.
    """
    started = time.thread_time()
    try:
        return _serve(handle, token, operation, work, write, idempotency_key, timeout)
    finally:
        spent = time.thread_time() - started
        with _meter_lock:
            METER["cpu"] += spent
            METER["calls"] += 1


#: CPU seconds this process spent inside sandbox calls, and how many calls: benchmarks report
#: the worker's own share apart from the sandbox's (which a real network spends elsewhere).
METER: dict[str, float] = {"cpu": 0.0, "calls": 0}
_meter_lock = threading.Lock()


def _serve[T](
    handle: str,
    token: str,
    operation: str,
    work: Callable[[SandboxAccount], tuple[T, list[str], str]],
    write: bool,
    idempotency_key: str,
    timeout: float | None,
) -> T:
    now = timezone.now()
    account = _authenticate(handle, token, now)
    fault, faults = _take_fault(account, write, now, idempotency_key)

    def receipt(outcome: str, created: Sequence[str] = ()) -> None:
        rows.insert(
            SandboxCall(
                account=account,
                operation=operation,
                write=write,
                idempotency_key=idempotency_key,
                outcome=outcome,
                created_ids=list(created),
                received_at=now,
            )
        )

    latency = _sleep(faults, f"{account.pk}:{operation}:{idempotency_key}:{now.isoformat()}")
    timed_out = timeout is not None and latency > timeout
    if latency:
        time.sleep(min(latency, timeout) if timeout is not None else latency)

    error: SandboxError | None = None
    if fault in {Fault.RATE_LIMITED, "rate_window"}:
        if fault == "rate_window":
            first = (
                SandboxCall.objects.filter(
                    account=account,
                    received_at__gt=now - timedelta(seconds=faults.rate_window_seconds),
                )
                .order_by("received_at")
                .values_list("received_at", flat=True)
                .first()
            )
            reset_at = (first or now) + timedelta(seconds=faults.rate_window_seconds)
        else:
            reset_at = now + timedelta(seconds=faults.rate_reset_seconds)
        error = TooManyRequests("Rate limit exceeded.", reset_at=reset_at, code="429")
    elif fault == Fault.AUTH_EXPIRED:
        error = Unauthorized("The access token has expired.", code="token_expired")
    elif fault == Fault.SERVER_ERROR:
        error = ServerError("Internal server error.", code="500")
    elif fault == Fault.UNAVAILABLE:
        error = Unavailable("Service unavailable, try again later.", code="503")
    elif fault == Fault.TIMEOUT or (timed_out and not write):
        error = Timeout("The network did not answer in time.", code="timeout")
    if error is not None:
        receipt(str(fault or "timeout") if fault != "rate_window" else "rate_limited")
        raise error

    try:
        with transaction.atomic():
            answer, created, outcome = work(account)
            if fault == Fault.TIMEOUT_AFTER_ACCEPT or timed_out:
                outcome = str(Fault.TIMEOUT_AFTER_ACCEPT)
            receipt(outcome, created)
    except SandboxError as refused:
        receipt({400: "invalid", 404: "not_found"}.get(refused.status, str(refused.status)))
        raise
    if write and faults.hold_ms:
        # Stored and committed, but the answer is not on its way yet: a client that dies now
        # (or gives up) has had its write accepted without knowing it.
        held = faults.hold_ms / 1000.0
        if timeout is not None and latency + held > timeout:
            time.sleep(max(0.0, timeout - latency))
            raise Timeout("The network did not answer in time.", code="timeout", accepted=True)
        time.sleep(held)
    if fault == Fault.TIMEOUT_AFTER_ACCEPT or timed_out:
        raise Timeout("The network did not answer in time.", code="timeout", accepted=True)
    return answer


# -- account calls ----------------------------------------------------------------------------


def verify_credentials(handle: str, token: str, *, timeout: float | None = None) -> SandboxAccount:
    """The account these credentials open (``Unauthorized`` if refused or expired)."""
    return _call(handle, token, "verify", lambda a: (a, [], "ok"), write=False, timeout=timeout)


def refresh_token(handle: str, token: str, *, timeout: float | None = None) -> SandboxAccount:
    """Trade a still valid token for a new one (the old one stops working)."""

    def work(account: SandboxAccount) -> tuple[SandboxAccount, list[str], str]:
        account.token = new_token()
        account.token_expires_at = timezone.now() + DEFAULT_TOKEN_LIFETIME
        account.save(update_fields=["token", "token_expires_at"])
        return account, [], "ok"

    return _call(handle, token, "refresh_token", work, write=True, timeout=timeout)


# -- publishing -------------------------------------------------------------------------------


def network_id(
    account: SandboxAccount, idempotency_key: str, part: int, generation: int = 0
) -> str:
    """A stable id per (account, key, part); ``generation`` counts deleted predecessors."""
    seed = f"{account.pk}:{idempotency_key}:{part}" + (f":{generation}" if generation else "")
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"sbx-{account.pk}-{digest[:16]}"


def _store(
    account: SandboxAccount,
    *,
    idempotency_key: str,
    part: int,
    kind: str,
    text: str,
    media: Sequence[dict[str, Any]] = (),
    in_reply_to: str = "",
    thread_root: str = "",
    **fields: Any,
) -> tuple[SandboxPost, bool]:
    """Store one post once: (post, created). A concurrent twin loses to the unique index."""
    post = SandboxPost(
        account=account,
        network_id=network_id(account, idempotency_key, part),
        kind=kind,
        idempotency_key=idempotency_key,
        part=part,
        text=text,
        media=list(media),
        in_reply_to=in_reply_to,
        thread_root=thread_root,
        received_at=timezone.now(),
        quality=world.quality_score(account, text, media, f"{idempotency_key}:{part}"),
        **fields,
    )
    # Most keys are new: the post is stored at once, in one statement. A key seen before
    # conflicts with its post, and a deleted predecessor (renamed "<key>#deleted-<n>", its
    # network id kept) with the first generation's network id: both are looked at below.
    if rows.insert(post, ignore_conflicts=True):
        return post, True
    same = _posts_under_key(account, idempotency_key, part)
    existing = next((p for p in same if p.idempotency_key == idempotency_key), None)
    if existing is not None:
        return existing, False
    # The deleted predecessors give the new post's generation.
    deleted = f"{idempotency_key}#deleted-"
    generation = sum(1 for p in same if p.idempotency_key.startswith(deleted))
    post.network_id = network_id(account, idempotency_key, part, generation)
    # A concurrent twin (same key) loses to the unique index; no savepoint needed.
    if not rows.insert(post, ignore_conflicts=True):
        return SandboxPost.objects.get(
            account=account, idempotency_key=idempotency_key, part=part
        ), False
    return post, True


def _posts_under_key(account: SandboxAccount, idempotency_key: str, part: int) -> list[SandboxPost]:
    """Posts of ``account`` whose key starts with ``idempotency_key``, for this part."""
    pattern = connection.ops.prep_for_like_query(idempotency_key) + "%"
    with connection.cursor() as cursor:
        cursor.execute(_posts_sql(connection.vendor), [account.pk, part, pattern])
        found = [rows.load(SandboxPost, row) for row in cursor.fetchall()]
    # LIKE ignores case on SQLite: keep the exact prefix only.
    return [p for p in found if p.idempotency_key.startswith(idempotency_key)]


@functools.cache
def _posts_sql(vendor: str) -> str:
    del vendor  # part of the cache key: quoting differs per database
    return (
        f"SELECT {rows.columns(SandboxPost)} FROM {rows.table(SandboxPost)} "  # noqa: S608
        "WHERE account_id = %s AND part = %s AND idempotency_key LIKE %s ESCAPE '\\'"
    )


def publish(
    handle: str,
    token: str,
    parts: Sequence[PartIn],
    *,
    idempotency_key: str,
    in_reply_to: str = "",
    first_comment: str = "",
    language: str = "",
    visibility: str = "public",
    content_warning: str = "",
    timeout: float | None = None,
) -> list[SandboxPost]:
    """Store a post and its thread once per key; answer with every part (and first comment).

    A key seen before answers with what was stored then and completes a thread cut midway.
    """
    if not idempotency_key:
        raise BadRequest("An idempotency key is required.", code="missing_key")
    if not parts:
        raise BadRequest("Nothing to publish.", code="empty")

    def work(account: SandboxAccount) -> tuple[list[SandboxPost], list[str], str]:
        if in_reply_to and not _exists(account, in_reply_to):
            raise NotFoundError("The post to answer does not exist.", code="not_found")
        stored: list[SandboxPost] = []
        created: list[str] = []
        parent, root = in_reply_to, ""
        for number, part in enumerate(parts):
            post, new = _store(
                account,
                idempotency_key=idempotency_key,
                part=number,
                kind=PostKind.POST if number == 0 and not in_reply_to else PostKind.REPLY,
                text=part.text,
                media=part.media,
                in_reply_to=parent,
                thread_root=root,
                language=language,
                visibility=visibility,
                content_warning=content_warning,
            )
            stored.append(post)
            if new:
                created.append(post.network_id)
            root = root or post.network_id
            parent = post.network_id
        if first_comment:
            post, new = _store(
                account,
                idempotency_key=idempotency_key,
                part=len(parts),
                kind=PostKind.FIRST_COMMENT,
                text=first_comment,
                in_reply_to=root,
                thread_root=root,
                language=language,
            )
            stored.append(post)
            if new:
                created.append(post.network_id)
        return stored, created, "ok" if created else "duplicate"

    return _call(
        handle,
        token,
        "publish",
        work,
        write=True,
        idempotency_key=idempotency_key,
        timeout=timeout,
    )


def find_published(
    handle: str, token: str, idempotency_key: str, *, timeout: float | None = None
) -> list[SandboxPost]:
    """What the network stored under this key, parts in order (empty: nothing)."""

    def work(account: SandboxAccount) -> tuple[list[SandboxPost], list[str], str]:
        posts = list(
            SandboxPost.objects.filter(
                account=account, idempotency_key=idempotency_key, deleted_at__isnull=True
            ).order_by("part")
        )
        return posts, [], "ok" if posts else "not_found"

    return _call(
        handle,
        token,
        "lookup",
        work,
        write=False,
        idempotency_key=idempotency_key,
        timeout=timeout,
    )


def delete_post(handle: str, token: str, post_id: str, *, timeout: float | None = None) -> None:
    def work(account: SandboxAccount) -> tuple[None, list[str], str]:
        post = SandboxPost.objects.filter(account=account, network_id=post_id).first()
        if post is None or post.deleted_at is not None:
            raise NotFoundError("No such post.", code="not_found")
        post.deleted_at = timezone.now()
        # Free the key: "reconcile finds nothing" must let the caller publish again.
        post.idempotency_key = f"{post.idempotency_key}#deleted-{post.pk}"
        post.save(update_fields=["deleted_at", "idempotency_key"])
        return None, [], "ok"

    _call(handle, token, "delete_post", work, write=True, timeout=timeout)


def _exists(account: SandboxAccount, network_id: str) -> bool:
    return (
        SandboxPost.objects.filter(
            account=account, network_id=network_id, deleted_at__isnull=True
        ).exists()
        or SandboxInteraction.objects.filter(
            account=account, message_id=network_id, deleted_at__isnull=True
        ).exists()
    )


def reply(
    handle: str,
    token: str,
    to: str,
    text: str,
    *,
    idempotency_key: str,
    private: bool = False,
    timeout: float | None = None,
) -> SandboxPost:
    """Answer a post or a message publicly, or the author of a message privately (a DM)."""
    if not idempotency_key:
        raise BadRequest("An idempotency key is required.", code="missing_key")
    if not text.strip():
        raise BadRequest("The answer is empty.", code="empty")

    def work(account: SandboxAccount) -> tuple[SandboxPost, list[str], str]:
        message = SandboxInteraction.objects.filter(
            account=account, message_id=to, deleted_at__isnull=True
        ).first()
        post_target = SandboxPost.objects.filter(
            account=account, network_id=to, deleted_at__isnull=True
        ).first()
        if message is None and post_target is None:
            raise NotFoundError("Nothing to answer with this id.", code="not_found")
        if private and message is None:
            raise BadRequest("A private answer goes to a person's message.", code="no_author")
        root = ""
        if message is not None:
            root = message.thread_id or message.message_id
        elif post_target is not None:
            root = post_target.thread_root or post_target.network_id
        post, new = _store(
            account,
            idempotency_key=idempotency_key,
            part=0,
            kind=PostKind.DM if private else PostKind.REPLY,
            text=text,
            in_reply_to=to,
            thread_root=root,
            visibility="direct" if private else "public",
        )
        return post, [post.network_id] if new else [], "ok" if new else "duplicate"

    return _call(
        handle,
        token,
        "reply_private" if private else "reply",
        work,
        write=True,
        idempotency_key=idempotency_key,
        timeout=timeout,
    )


# -- reading ----------------------------------------------------------------------------------


def _catch_up(account: SandboxAccount) -> None:
    """Reads see a living world: simulate what happened since the last step, if anything."""
    if account.simulate and account.simulated_until + world.STEP <= timezone.now():
        world.advance(account, timezone.now(), max_steps=CATCH_UP_STEPS)


def _parse_cursor(cursor: str | None, prefix: str) -> int | None:
    if not cursor:
        return None
    head, _, value = cursor.partition(":")
    if head != prefix or not value.isdigit():
        raise BadRequest("Malformed cursor.", code="bad_cursor")
    return int(value)


def fetch_inbound(
    handle: str,
    token: str,
    cursor: str | None = None,
    *,
    limit: int = PAGE_SIZE,
    timeout: float | None = None,
) -> tuple[list[SandboxInteraction], str]:
    """Comments, mentions and DMs addressed to the account after ``cursor``, oldest first.

    Without a cursor: the notification window (the last two days). The answer's cursor is
    the last item's, or the one given when nothing is new.
    """
    after = _parse_cursor(cursor, "i")

    def work(
        account: SandboxAccount,
    ) -> tuple[tuple[list[SandboxInteraction], str], list[str], str]:
        _catch_up(account)
        items = SandboxInteraction.objects.filter(
            account=account, addressed=True, deleted_at__isnull=True
        )
        if after is None:
            items = items.filter(created_at__gte=timezone.now() - NOTIFICATION_WINDOW)
        else:
            items = items.filter(pk__gt=after)
        page = list(items.order_by("pk")[:limit])
        if page:
            next_cursor = f"i:{page[-1].pk}"
        elif after is not None:
            next_cursor = f"i:{after}"
        else:
            last = (
                SandboxInteraction.objects.filter(account=account)
                .order_by("-pk")
                .values_list("pk", flat=True)
                .first()
            )
            next_cursor = f"i:{last or 0}"
        return (page, next_cursor), [], "ok"

    return _call(handle, token, "fetch_inbound", work, write=False, timeout=timeout)


def fetch_replies(
    handle: str, token: str, post_id: str, *, timeout: float | None = None
) -> list[SandboxInteraction]:
    """Every visible comment in the thread of one of the account's posts."""

    def work(account: SandboxAccount) -> tuple[list[SandboxInteraction], list[str], str]:
        if not SandboxPost.objects.filter(account=account, network_id=post_id).exists():
            raise NotFoundError("No such post.", code="not_found")
        _catch_up(account)
        items = SandboxInteraction.objects.filter(
            Q(in_reply_to=post_id) | Q(thread_id=post_id),
            account=account,
            kind=InteractionKind.COMMENT,
            deleted_at__isnull=True,
        ).order_by("pk")
        return list(items), [], "ok"

    return _call(handle, token, "fetch_replies", work, write=False, timeout=timeout)


def _moderate(
    handle: str, token: str, message_id: str, operation: str, timeout: float | None
) -> None:
    def work(account: SandboxAccount) -> tuple[None, list[str], str]:
        message = SandboxInteraction.objects.filter(
            account=account, message_id=message_id, kind=InteractionKind.COMMENT
        ).first()
        if message is None or message.deleted_at is not None:
            raise NotFoundError("No such comment under this account's posts.", code="not_found")
        if operation == "hide_comment":
            message.hidden_at = message.hidden_at or timezone.now()
            message.save(update_fields=["hidden_at"])
        else:
            message.deleted_at = timezone.now()
            message.save(update_fields=["deleted_at"])
        return None, [], "ok"

    _call(handle, token, operation, work, write=True, timeout=timeout)


def hide_comment(handle: str, token: str, message_id: str, *, timeout: float | None = None) -> None:
    """Hide a comment from the public (its author still sees it)."""
    _moderate(handle, token, message_id, "hide_comment", timeout)


def delete_comment(
    handle: str, token: str, message_id: str, *, timeout: float | None = None
) -> None:
    _moderate(handle, token, message_id, "delete_comment", timeout)


def metrics(
    handle: str, token: str, post_ids: Sequence[str], *, timeout: float | None = None
) -> tuple[list[SandboxPost], datetime]:
    """The account's posts among ``post_ids`` (in that order, unknown ones left out)."""

    def work(account: SandboxAccount) -> tuple[tuple[list[SandboxPost], datetime], list[str], str]:
        _catch_up(account)
        found = {
            p.network_id: p
            for p in SandboxPost.objects.filter(
                account=account, network_id__in=list(post_ids), deleted_at__isnull=True
            )
        }
        return ([found[i] for i in post_ids if i in found], timezone.now()), [], "ok"

    return _call(handle, token, "metrics", work, write=False, timeout=timeout)


#: Profile visits per follower per hour at average audience activity.
PROFILE_VISITS_PER_FOLLOWER_HOUR = 0.0004


def account_metrics(
    handle: str, token: str, since: datetime, *, timeout: float | None = None
) -> tuple[int, int, datetime]:
    """The account's followers now and its profile visits since ``since`` (at most 31 days):
    the audience visits the profile as it scrolls, so visits follow its rhythm."""

    def work(account: SandboxAccount) -> tuple[tuple[int, int, datetime], list[str], str]:
        now = timezone.now()
        start = max(since, now - timedelta(days=31))
        audience = world.Audience(list(account.cohorts.all()))
        hour = start.replace(minute=0, second=0, microsecond=0)
        expected = 0.0
        while hour < now:
            span = (min(hour + timedelta(hours=1), now) - max(hour, start)).total_seconds()
            if span > 0:
                expected += audience.activity(hour) / audience.mean * span / 3600
            hour += timedelta(hours=1)
        rng = random.Random(
            f"{account.seed}:visits:{int(start.timestamp())}:{int(now.timestamp())}"
        )
        lam = account.follower_count * PROFILE_VISITS_PER_FOLLOWER_HOUR * expected
        visits = max(0, round(rng.gauss(lam, lam**0.5))) if lam > 0 else 0
        return (account.follower_count, visits, now), [], "ok"

    return _call(handle, token, "account_metrics", work, write=False, timeout=timeout)


def search(
    handle: str,
    token: str,
    query: str,
    cursor: str | None = None,
    *,
    limit: int = PAGE_SIZE,
    timeout: float | None = None,
) -> tuple[list[SandboxInteraction], str]:
    """Public comments and mentions (of anyone) whose text contains one of the terms.

    Terms are separated by ``OR`` or commas; matching ignores case.
    """
    after = _parse_cursor(cursor, "s")
    terms = [t.strip().strip('"') for t in query.replace(" OR ", ",").split(",") if t.strip()]
    if not terms:
        raise BadRequest("The search is empty.", code="empty_query")

    def work(
        account: SandboxAccount,
    ) -> tuple[tuple[list[SandboxInteraction], str], list[str], str]:
        _catch_up(account)
        match = Q()
        for term in terms:
            match |= Q(text__icontains=term)
        items = SandboxInteraction.objects.filter(
            match, account=account, deleted_at__isnull=True
        ).exclude(kind=InteractionKind.DM)
        if after is not None:
            items = items.filter(pk__gt=after)
        page = list(items.order_by("pk")[:limit])
        next_cursor = f"s:{page[-1].pk}" if page else f"s:{after or 0}"
        return (page, next_cursor), [], "ok"

    return _call(handle, token, "search", work, write=False, timeout=timeout)


# -- the world's side, for tests and the demo -------------------------------------------------


def inject_interaction(
    account: SandboxAccount,
    text: str,
    *,
    kind: str = InteractionKind.COMMENT,
    in_reply_to: str = "",
    author_handle: str = "",
    author_name: str = "",
    language: str = "fr",
    intent: str = "other",
    sentiment: str = "neutral",
    addressed: bool = True,
    created_at: datetime | None = None,
    specific: bool = False,
) -> SandboxInteraction:
    """Someone else writes to the account now (a comment under ``in_reply_to``, a DM...).

    ``specific`` is the truth of a complaint: about one order, one account or personal details.
    """
    number = SandboxInteraction.objects.filter(account=account).count()
    author_handle = author_handle or f"client_{number + 1}"
    thread_id = in_reply_to
    if kind == InteractionKind.COMMENT and in_reply_to:
        parent = SandboxPost.objects.filter(account=account, network_id=in_reply_to).first()
        if parent is not None:
            thread_id = parent.thread_root or parent.network_id
            SandboxPost.objects.filter(pk=parent.pk).update(comments=F("comments") + 1)
    elif kind == InteractionKind.DM:
        thread_id = f"sbx-dm-{account.pk}-{author_handle}"
    return SandboxInteraction.objects.create(
        account=account,
        message_id=f"sbx-{account.pk}-x{secrets.token_hex(8)}",
        kind=kind,
        addressed=addressed,
        author_handle=author_handle,
        author_name=author_name or author_handle,
        language=language,
        intent=intent,
        sentiment=sentiment,
        specific=specific,
        text=text,
        created_at=created_at or timezone.now(),
        in_reply_to=in_reply_to,
        thread_id=thread_id,
        source="injected",
    )


def received_posts(account: SandboxAccount) -> int:
    """How many posts, thread parts and answers the network really stored."""
    return SandboxPost.objects.filter(account=account).count()


def stats(account: SandboxAccount) -> dict[str, Any]:
    """Receipts: calls by operation and outcome, posts stored, and any text stored twice."""
    calls = (
        SandboxCall.objects.filter(account=account)
        .values("operation", "outcome")
        .annotate(n=Count("pk"))
        .order_by("operation", "outcome")
    )
    duplicates = (
        SandboxPost.objects.filter(account=account, kind=PostKind.POST)
        .values("text")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    return {
        "posts": received_posts(account),
        "calls": {f"{c['operation']}:{c['outcome']}": c["n"] for c in calls},
        "texts_received_twice": {d["text"]: d["n"] for d in duplicates},
    }


def advance_all(now: datetime | None = None) -> int:
    """Move every simulated account's world up to ``now`` (for the worker); returns steps."""
    return world.advance_all(now or timezone.now())
