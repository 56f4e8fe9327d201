"""Signed, expiring public addresses of a post's media, for networks that fetch them.

Instagram does not take an upload: it fetches ``image_url`` itself, from the public internet,
while the container is created. Porte-voix gives it ``/public/media/<token>/<name>``: the
token is signed with ``PORTEVOIX_SECRET_KEY`` (Django's ``TimestampSigner``, its own salt),
names one file of one post (``PostMedia``) and the network whose rendition goes out, and
expires after :data:`LIFETIME`. No login: the signature is the permission. A token that was
tampered with, or whose file is gone, answers 404; an expired one 410. The address starts with
``PORTEVOIX_BASE_URL``, which production must expose publicly (docs/deployment.md).
"""

from __future__ import annotations

import mimetypes
import os
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

if TYPE_CHECKING:
    from portevoix.publishing.models import PostMedia

#: How long a media address works after it was made (the network fetches it at once).
LIFETIME = 3600
_SALT = "portevoix.media.public"


def media_url(item: PostMedia, network: str = "") -> str:
    """The public, signed address of ``item`` as it goes out on ``network``."""
    token = signing.dumps({"m": item.pk, "n": network}, salt=_SALT, compress=True)
    name = os.path.basename(item.file.name or "media") or "media"
    path = reverse("public_media", kwargs={"token": token, "name": name})
    return settings.PORTEVOIX_BASE_URL.rstrip("/") + path


def _gone(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "errors/error.html",
        {
            "status": 410,
            "title": _("This link has expired"),
            "reason": _("Links to media for networks work for an hour."),
            "hint": _("Porte-voix makes a new one each time it publishes."),
        },
        status=410,
    )


@require_safe
def serve(request: HttpRequest, token: str, name: str) -> HttpResponse | FileResponse:
    from portevoix.publishing.models import PostMedia

    try:
        data = signing.loads(token, salt=_SALT, max_age=LIFETIME)
    except signing.SignatureExpired:
        return _gone(request)
    except signing.BadSignature as exc:
        raise Http404("bad media token") from exc
    if not isinstance(data, dict) or not isinstance(data.get("m"), int):
        raise Http404("bad media token")
    item = PostMedia.objects.select_related("asset").filter(pk=data["m"]).first()
    if item is None:
        raise Http404("media gone")
    target, mime = item.file, item.mime_type
    network = data.get("n") if isinstance(data.get("n"), str) else ""
    rendition = item.asset.rendition_for(network) if item.asset and network else None
    if rendition is not None:
        target, mime = rendition.file, rendition.mime_type
    try:
        handle = target.open("rb")
    except FileNotFoundError as exc:
        raise Http404("file missing") from exc
    filename = os.path.basename(target.name or "media")
    response = FileResponse(
        handle, content_type=mime or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    )
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
