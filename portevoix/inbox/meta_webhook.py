"""Meta's webhooks for Instagram: captions and comments that @mention an account without
tagging it, which no poll can find (docs/inbox.md, docs/ways-in.md).

- ``GET /hooks/meta/``: Meta's subscription check. It answers ``hub.challenge`` only when
  ``hub.verify_token`` is the operator's ``PORTEVOIX_META_WEBHOOK_TOKEN``; otherwise 403.
- ``POST /hooks/meta/``: a batch of changes, signed by Meta (``X-Hub-Signature-256``, the
  HMAC-SHA256 of the raw body under the app secret). Unsigned, wrongly signed, or while the
  webhooks are closed (no token, no app secret): 403, nothing read or stored. Each
  ``mentions`` change of an Instagram account is stored as a :class:`~portevoix.inbox.models.
  MetaChange` row, idempotent on Meta's change identity (account, field, media, comment): a
  delivery Meta repeats stores nothing new. The hook answers 200 at once; it never calls Graph.
- The worker claims the rows (:func:`handle_received`): for each connected Instagram channel
  of that account (in any workspace), it reads the mention from Graph by its id and stores it
  in the inbox through ``ingest`` (idempotent on the item's id). A rate limit waits for its
  reset; Graph not answering leaves the row for a retry with back-off (the background-work
  page shows it); a refused token or a refusal fails the row with its reason. The regular
  sync still reads tags, comments and messages whatever a webhook missed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from portevoix.channels import clients
from portevoix.channels.messages import network_problem
from portevoix.channels.models import Channel, ChannelStates
from portevoix.networks import meta
from portevoix.networks.errors import AuthExpired, NetworkError, Permanent, RateLimited
from portevoix.networks.instagram import InstagramNetwork
from portevoix.worker.models import Outcome

from . import ingest
from .models import MetaChange, MetaChangeStates

logger = logging.getLogger(__name__)

#: The change fields this hook stores; Meta may send others to the same address.
FIELDS = frozenset({"mentions"})


def _token() -> str:
    return str(getattr(settings, "PORTEVOIX_META_WEBHOOK_TOKEN", "") or "")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest) -> HttpResponse:
    token = _token()
    if request.method == "GET":
        given = request.GET.get("hub.verify_token", "")
        if (
            token
            and request.GET.get("hub.mode") == "subscribe"
            and constant_time_compare(given, token)
        ):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponse("refused", status=403, content_type="text/plain")
    secret = meta.app().app_secret
    body = request.body
    signature = request.headers.get("X-Hub-Signature-256", "")
    if not token or not meta.signature_ok(body, signature, secret):
        logger.warning("meta webhook: refused a delivery without a valid signature")
        return HttpResponse("refused", status=403, content_type="text/plain")
    try:
        payload = json.loads(body)
    except ValueError:
        return HttpResponse("not JSON", status=400, content_type="text/plain")
    if not isinstance(payload, dict) or payload.get("object") != "instagram":
        return HttpResponse("ignored", content_type="text/plain")
    changes = [c for entry in payload.get("entry") or [] for c in changes_of("instagram", entry)]
    stored = store_changes(changes)
    return HttpResponse(f"queued {stored}", content_type="text/plain")


def changes_of(object_type: str, entry: Any) -> list[dict[str, str]]:
    """The changes of one entry this hook keeps, each with its identity (``change_key``)."""
    if not isinstance(entry, dict) or not entry.get("id"):
        return []
    account = str(entry["id"])
    found: list[dict[str, str]] = []
    for change in entry.get("changes") or []:
        if not isinstance(change, dict) or change.get("field") not in FIELDS:
            continue
        value = change.get("value")
        if not isinstance(value, dict):
            continue
        media_id = str(value.get("media_id") or "")[:64]
        comment_id = str(value.get("comment_id") or "")[:64]
        if not media_id and not comment_id:
            continue
        field = str(change["field"])
        found.append(
            {
                "object_type": object_type,
                "account_id": account[:64],
                "field": field,
                "media_id": media_id,
                "comment_id": comment_id,
                "change_key": f"{object_type}:{account}:{field}:{media_id}:{comment_id}"[:300],
            }
        )
    return found


def store_changes(changes: list[dict[str, str]]) -> int:
    """Store the changes not seen before as rows for the worker; returns how many are new."""
    if not changes:
        return 0
    keys = {c["change_key"] for c in changes}
    known = set(MetaChange.objects.filter(change_key__in=keys).values_list("change_key", flat=True))
    stored = 0
    for change in changes:
        if change["change_key"] in known:
            continue
        known.add(change["change_key"])
        try:
            with transaction.atomic():
                MetaChange.objects.create(**change)
        except IntegrityError:
            continue  # the same change, stored meanwhile by a parallel delivery
        stored += 1
    return stored


def _channels(change: MetaChange) -> list[Channel]:
    return list(
        Channel.objects.filter(network="instagram", account_id=change.account_id).exclude(
            state=ChannelStates.disconnected.name
        )
    )


def handle_received(change: MetaChange) -> Outcome:
    """Read the change from Graph for each channel of its account and store it in the inbox."""
    S = MetaChangeStates
    stored = 0
    refused: list[str] = []
    for channel in _channels(change):
        try:
            with clients.checkout(channel) as network:
                assert isinstance(network, InstagramNetwork)
                item = network.fetch_mention(change.media_id, change.comment_id)
        except AuthExpired as exc:
            # This channel must be reconnected (its page says so); the others go on.
            logger.info("meta webhook: channel %s refused its token", channel.pk)
            refused.append(network_problem(exc).dumps())
            continue
        except RateLimited as exc:
            return Outcome(
                S.received,
                at=exc.reset_at,
                delay=None if exc.reset_at else 60.0,
                retry=True,
                error=f"RateLimited ({exc.code}): {exc.message}",
                fields={"problem": network_problem(exc).dumps(), "stored": change.stored + stored},
            )
        except Permanent as exc:
            return Outcome(
                S.failed,
                fields={"problem": network_problem(exc).dumps(), "stored": change.stored + stored},
            )
        except NetworkError as exc:
            # Graph cannot answer now: the row stays, retried after the state's back-off.
            return Outcome(
                S.received,
                retry=True,
                error=f"{type(exc).__name__} ({exc.network} {exc.code}): {exc.message}",
                fields={"problem": network_problem(exc).dumps(), "stored": change.stored + stored},
            )
        if item is not None:
            stored += ingest.ingest(channel, [item])
    if refused and not stored:
        return Outcome(S.failed, fields={"problem": refused[0], "stored": change.stored})
    return Outcome(S.done, fields={"problem": "", "stored": change.stored + stored})


__all__ = ["changes_of", "handle_received", "meta_webhook", "store_changes"]
