"""Sentences for people, from typed network errors."""

from __future__ import annotations

from django.utils.translation import gettext as _

from portevoix.networks.errors import AuthExpired, NetworkError, NotFound, RateLimited, Transient


def network_message(exc: NetworkError) -> str:
    """A sentence for the person, from a typed network error."""
    if isinstance(exc, AuthExpired):
        return _("The network refused these credentials: %(detail)s") % {"detail": exc.message}
    if isinstance(exc, RateLimited):
        return _("The network asks us to wait before trying again: %(detail)s") % {
            "detail": exc.message
        }
    if isinstance(exc, NotFound):
        return _("Not found on the network: %(detail)s") % {"detail": exc.message}
    if isinstance(exc, Transient):
        return _("The network cannot answer right now: %(detail)s") % {"detail": exc.message}
    return exc.message
