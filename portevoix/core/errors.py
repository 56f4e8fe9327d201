"""Error pages that are pages of the product, and refusals logged in one line.

* ``handler400/403/404/429/500`` (wired in :mod:`portevoix.urls`; allauth calls ``handler429``
  when it throttles logins, sign-ups and password resets) render ``errors/error.html``, which
  extends the base layout: translated, with the navigation when the person is logged in, and
  with the reason when there is one to give (the message of ``PermissionDenied("...")``, of a
  :class:`~portevoix.core.query.BadQuery`, of an :class:`~portevoix.core.actions.ActionRefused`).
* The 500 page makes no database query: it is rendered without the request's context
  processors, so it still renders when the database is what failed.
* :class:`RefusalMiddleware` turns an ``ActionRefused`` that a view let through into the 400
  page with its reason, and :class:`BodySizeLimitMiddleware` refuses a request body larger than
  ``PORTEVOIX_MAX_REQUEST_BYTES`` with 413 before anything reads it.
* A refusal is logged in one line with its reason (:mod:`portevoix.core.logs`), not a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from portevoix.core.actions import ActionRefused
from portevoix.core.logs import one_line
from portevoix.core.query import BadQuery

log = logging.getLogger("portevoix.refusals")


def _page(
    request: HttpRequest, status: int, title: str, reason: str, hint: str = ""
) -> HttpResponse:
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "reason": reason, "hint": hint},
        status=status,
    )


def _reason(exception: BaseException | None) -> str:
    """The message meant for the person, when the exception carries one we wrote."""
    if isinstance(exception, (BadQuery, ActionRefused)):
        return exception.message
    if isinstance(exception, PermissionDenied) and exception.args and exception.args[0]:
        return str(exception.args[0])
    return ""


def bad_request(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    reason = _reason(exception)
    if not reason and isinstance(exception, (RequestDataTooBig, TooManyFieldsSent)):
        reason = _("The form sent more data than Porte-voix accepts at once.")
    return _page(
        request,
        400,
        _("This request cannot be handled"),
        reason or _("Something in the address or the form is not valid."),
        _("Nothing was changed. Go back, correct it and try again."),
    )


def permission_denied(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    return _page(
        request,
        403,
        _("You cannot do this here"),
        _reason(exception) or _("Your role does not allow this page."),
        _("If you need it, ask an administrator of the workspace."),
    )


def page_not_found(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    # Never the exception's text: it may name what exists elsewhere.
    return _page(
        request,
        404,
        _("Page not found"),
        _("This page does not exist, or it is not shared with you."),
        _("Check the address, or start again from the home page."),
    )


def too_many_requests(request: HttpRequest) -> HttpResponse:
    """allauth's throttle (``ACCOUNT_RATE_LIMITS``): too many attempts from this address."""
    return _page(
        request,
        429,
        _("Too many attempts"),
        _(
            "Porte-voix received too many attempts from this address in a short time, so it "
            "refuses more for a few minutes. This protects the accounts against password "
            "guessing."
        ),
        _("Nothing was changed. Wait a few minutes, then try again."),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, with no database query: no context processors, no session, no user."""
    context = {
        "status": 500,
        "title": _("Something went wrong on our side"),
        "reason": _("The error is recorded in the server log for the administrators."),
        "hint": _(
            "Try again in a moment. If it happens again, tell your administrator what you "
            "were doing and at what time."
        ),
    }
    try:
        html = loader.get_template("errors/500.html").render(context)
    except Exception:  # the last resort must not fail in turn
        log.exception("the 500 page could not be rendered")
        return HttpResponseServerError(
            "500: something went wrong on our side.", content_type="text/plain"
        )
    return HttpResponseServerError(html)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a form sent without its token (expired, or from another site)."""
    return _page(
        request,
        403,
        _("This form has expired"),
        _(
            "The form was open for too long, or it was sent from another site, so Porte-voix "
            "did not accept it."
        ),
        _("Reload the page and send it again."),
    )


def request_too_large(request: HttpRequest, limit: int) -> HttpResponse:
    megabytes = f"{limit / 1_000_000:.0f}"
    return _page(
        request,
        413,
        _("This is too large"),
        _("Porte-voix accepts at most %(mb)s MB in one request.") % {"mb": megabytes},
        _("Nothing was saved. Send a smaller file."),
    )


class RefusalMiddleware:
    """An ``ActionRefused`` a view did not catch becomes the 400 page with its reason."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ActionRefused):
            return None
        log.warning(
            "Refused (%s): %s: %s",
            exception.code,
            request.path,
            one_line(exception.message),
            extra={"status_code": 400, "request": request},
        )
        response = bad_request(request, exception)
        response._has_been_logged = True  # type: ignore[attr-defined]  # one line is enough
        return response


class BodySizeLimitMiddleware:
    """Refuse a body larger than the limit with 413, from its Content-Length, unread.

    Django bounds form fields (``DATA_UPLOAD_MAX_MEMORY_SIZE``) but not uploaded files, which
    it streams to disk: without this, a 10 GB upload would fill the disk before any view ran.
    A body without a Content-Length is not read at all by Django's WSGI request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int = settings.PORTEVOIX_MAX_REQUEST_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            log.warning(
                "Refused (too large): %s: %s bytes, the limit is %s",
                request.path,
                length,
                limit,
                extra={"status_code": 413, "request": request},
            )
            response = request_too_large(request, limit)
            response._has_been_logged = True  # type: ignore[attr-defined]  # one line is enough
            return response
        return self.get_response(request)
