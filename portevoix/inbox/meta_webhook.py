"""Meta's webhooks for Instagram: captions and comments that @mention an account without
tagging it, which no poll can find (docs/inbox.md, docs/ways-in.md).

- ``GET /hooks/meta/``: Meta's subscription check. It answers ``hub.challenge`` only when
  ``hub.verify_token`` is the operator's ``PORTEVOIX_META_WEBHOOK_TOKEN``; otherwise 403.
- ``POST /hooks/meta/``: a batch of changes, signed by Meta (``X-Hub-Signature-256``, the
  HMAC-SHA256 of the raw body under the app secret). Unsigned, wrongly signed, or while the
  webhooks are closed (no token, no app secret): 403, nothing read. For each ``mentions``
  change of an Instagram account that is a connected channel (in any workspace), the mention
  is read from Graph by its id and stored in the inbox through ``ingest`` (idempotent on the
  item's id: a delivery Meta repeats stores nothing twice). When Graph cannot answer now, the
  answer is 503 and Meta delivers again (at least once); the regular sync still reads tags,
  comments and messages whatever a webhook missed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from portevoix.channels.models import Channel, ChannelStates
from portevoix.networks import meta
from portevoix.networks.errors import AuthExpired, NetworkError
from portevoix.networks.instagram import InstagramNetwork

from . import ingest

logger = logging.getLogger(__name__)


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
    try:
        stored = sum(_entry(entry) for entry in payload.get("entry") or [])
    except NetworkError as error:
        logger.info("meta webhook: Graph could not answer (%s); Meta will retry", error.code)
        return HttpResponse("retry later", status=503, content_type="text/plain")
    return HttpResponse(f"stored {stored}", content_type="text/plain")


def _entry(entry: Any) -> int:
    if not isinstance(entry, dict) or not entry.get("id"):
        return 0
    mentions: list[dict[str, Any]] = [
        change["value"]
        for change in entry.get("changes") or []
        if isinstance(change, dict)
        and change.get("field") == "mentions"
        and isinstance(change.get("value"), dict)
    ]
    if not mentions:
        return 0
    channels = Channel.objects.filter(network="instagram", account_id=str(entry["id"])).exclude(
        state=ChannelStates.disconnected.name
    )
    stored = 0
    for channel in channels:
        network = channel.client(verify=False)
        try:
            assert isinstance(network, InstagramNetwork)
            items = []
            for value in mentions:
                try:
                    item = network.fetch_mention(
                        str(value.get("media_id") or ""), str(value.get("comment_id") or "")
                    )
                except AuthExpired:
                    # This channel must be reconnected (its page says so); the others go on.
                    logger.info("meta webhook: channel %s refused its token", channel.pk)
                    break
                if item is not None:
                    items.append(item)
            stored += ingest.ingest(channel, items) if items else 0
        finally:
            network.close()
    return stored


__all__ = ["meta_webhook"]
