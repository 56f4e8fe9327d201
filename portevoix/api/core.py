"""The API's plumbing: token authentication, scopes, rate limits, ``Idempotency-Key``, the one
error shape, and cursor pagination. Endpoints are in :mod:`portevoix.api.endpoints`.

Every error answers ``{"error": {"code", "message", "field", "details"}}`` with a stable
``code`` (the list is in docs/api.md); ``message`` is for a person, in the request's language.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from portevoix.api.actions import PREFIX, hash_secret
from portevoix.api.models import ApiToken, IdempotentAnswer
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member

logger = logging.getLogger(__name__)

#: How long an answer is kept for its ``Idempotency-Key``.
IDEMPOTENCY_TTL = dt.timedelta(hours=24)
RATE_WINDOW = dt.timedelta(minutes=1)


class ErrorBody(Schema):
    code: str
    message: str
    field: str | None = None
    details: list[dict[str, Any]] = []


class ErrorOut(Schema):
    error: ErrorBody


class ApiError(Exception):
    """An answer other than success, with its HTTP status and stable code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details or []
        self.headers = headers or {}


class Replay(Exception):
    def __init__(self, answer: IdempotentAnswer):
        super().__init__("replay")
        self.answer = answer


# --- authentication ---------------------------------------------------------------------


class TokenAuth(HttpBearer):
    """``Authorization: Bearer pvk_...``: the token's member, if the token and member are
    still good; counts the call against the token's rate limit and opens its
    ``Idempotency-Key`` record."""

    def authenticate(self, request: HttpRequest, token: str) -> Member | None:
        if not token.startswith(PREFIX):
            return None
        row = (
            ApiToken.objects.select_related("member__user", "member__workspace", "workspace")
            .filter(token_hash=hash_secret(token))
            .first()
        )
        now = timezone.now()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        member: Member = row.member
        if not member.is_active or not member.user.is_active:
            return None
        if member.workspace.archived_at is not None:
            raise ApiError(403, "archived", _("This workspace is archived."))
        _count_call(row, now)
        request.member = member  # type: ignore[attr-defined]
        request.api_token = row  # type: ignore[attr-defined]
        if request.method == "POST":
            _open_idempotency(request, row, now)
        return member


def _count_call(token: ApiToken, now: dt.datetime) -> None:
    window = now.replace(second=0, microsecond=0)
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.window_start != window:
            locked.window_start = window
            locked.window_calls = 0
        if locked.window_calls >= locked.rate_limit:
            wait = max(1, math.ceil((window + RATE_WINDOW - now).total_seconds()))
            raise ApiError(
                429,
                "rate_limited",
                _("Too many calls with this token: wait %(seconds)s seconds.") % {"seconds": wait},
                headers={"Retry-After": str(wait)},
            )
        locked.window_calls += 1
        locked.last_used_at = now
        locked.save(update_fields=["window_start", "window_calls", "last_used_at"])


def _open_idempotency(request: HttpRequest, token: ApiToken, now: dt.datetime) -> None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return
    key = key.strip()
    if not key or len(key) > 255:
        raise ApiError(
            400,
            "invalid_idempotency_key",
            _("An Idempotency-Key has 1 to 255 characters."),
            field="Idempotency-Key",
        )
    body_hash = hashlib.sha256(
        (request.method or "").encode() + b" " + request.path.encode() + b"\n" + request.body
    ).hexdigest()
    IdempotentAnswer.objects.filter(token=token, created_at__lt=now - IDEMPOTENCY_TTL).delete()
    try:
        with transaction.atomic():
            answer = IdempotentAnswer.objects.create(
                token=token,
                key=key,
                method=request.method or "",
                path=request.path[:500],
                body_hash=body_hash,
                created_at=now,
            )
    except IntegrityError:
        earlier = IdempotentAnswer.objects.get(token=token, key=key)
        if earlier.body_hash != body_hash:
            raise ApiError(
                422,
                "idempotency_key_reused",
                _(
                    "This Idempotency-Key was used for another request in the last 24 hours: "
                    "use a new key for a new request."
                ),
                field="Idempotency-Key",
            ) from None
        if earlier.status is None:
            raise ApiError(
                409,
                "idempotency_in_progress",
                _("The first request with this Idempotency-Key is still running."),
                field="Idempotency-Key",
            ) from None
        raise Replay(earlier) from None
    request.idempotent_answer = answer  # type: ignore[attr-defined]


def need(request: HttpRequest, scope: str) -> Member:
    """The calling member, if the token has ``scope``."""
    token: ApiToken = request.api_token  # type: ignore[attr-defined]
    if scope not in token.scopes:
        raise ApiError(
            403,
            "insufficient_scope",
            _("This token lacks the scope %(scope)s.") % {"scope": scope},
        )
    member: Member = request.member  # type: ignore[attr-defined]
    return member


# --- the API object and its error handlers ------------------------------------------------


class PorteVoixAPI(NinjaAPI):
    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        _keep_answer(request, response)
        return response


def _keep_answer(request: HttpRequest, response: HttpResponse) -> None:
    answer: IdempotentAnswer | None = getattr(request, "idempotent_answer", None)
    if answer is None:
        return
    request.idempotent_answer = None  # type: ignore[attr-defined]
    if response.status_code >= 500 or response.status_code == 429:
        answer.delete()  # nothing happened, or we cannot tell: the client may try again
        return
    answer.status = response.status_code
    answer.body = bytes(response.content)
    answer.save(update_fields=["status", "body"])


def error_response(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "field": field, "details": details or []}}
    response = api.create_response(request, body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def install_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(
            api,
            request,
            exc.status,
            exc.code,
            exc.message,
            field=exc.field,
            details=exc.details,
            headers=exc.headers,
        )

    @api.exception_handler(Replay)
    def _replay(request: HttpRequest, exc: Replay) -> HttpResponse:
        response = HttpResponse(
            bytes(exc.answer.body), status=exc.answer.status, content_type="application/json"
        )
        response["Idempotent-Replayed"] = "true"
        return response

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
        response = error_response(
            api,
            request,
            401,
            "invalid_token",
            _("Give a valid API token: Authorization: Bearer pvk_…"),
        )
        response["WWW-Authenticate"] = 'Bearer realm="porte-voix"'
        return response

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(api, request, 404, "not_found", _("Not found."))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
        message = str(exc) or _("Your role does not allow this.")
        return error_response(api, request, 403, "forbidden", message)

    @api.exception_handler(ActionRefused)
    def _refused(request: HttpRequest, exc: ActionRefused) -> HttpResponse:
        status = 409 if exc.code in {"state", "busy", "changed"} else 400
        return error_response(api, request, status, exc.code, str(exc.message), field=exc.field)

    @api.exception_handler(NinjaValidationError)
    def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        details = [
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "message": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
            for error in exc.errors
        ]
        first = details[0]["loc"][-1] if details and details[0]["loc"] else None
        return error_response(
            api,
            request,
            422,
            "invalid_request",
            _("The request does not match the API's schema: see details."),
            field=first,
            details=details,
        )

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {400: "bad_request", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "error"
        )
        return error_response(api, request, exc.status_code, code, str(exc))

    @api.exception_handler(Exception)
    def _crash(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API call failed: %s %s", request.method, request.path)
        return error_response(
            api, request, 500, "server_error", _("Something went wrong on our side.")
        )


# --- cursor pagination --------------------------------------------------------------------

MAX_LIMIT = 100


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _sep, value = raw.partition(":")
        if kind != "id":
            raise ValueError(raw)
        number = int(value)
        if number < 1:
            raise ValueError(raw)
        return number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(
            400, "invalid_cursor", _("This cursor is not one the API gave."), field="cursor"
        ) from None


def _encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"id:{pk}".encode()).decode().rstrip("=")


def paginate(queryset: Any, cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """Newest first by id: the rows after ``cursor`` and the cursor of the next page (None at
    the end). Stable while rows are added (new rows go before the first page)."""
    queryset = queryset.order_by("-pk")
    if cursor:
        queryset = queryset.filter(pk__lt=_decode_cursor(cursor))
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode_cursor(rows[-1].pk) if more and rows else None)
