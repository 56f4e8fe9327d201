"""Sentences for people, from typed network errors, in the reader's language.

``portevoix/networks/`` is plain Python and speaks English: its messages are written for
logs and support. What a person reads is chosen here, from the error's type and its
``code``, and translated; the network's own words are kept as a quoted detail where they
add something (a refused post's reason), never as the sentence itself.

``network_problem(exc)`` gives a :class:`~portevoix.core.sentences.Sentence` to store on a row
(rendered when a page shows it, in that reader's language); ``network_message(exc)`` gives
the sentence now, for an answer to the person who is waiting for it.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from portevoix.core.sentences import Sentence
from portevoix.networks.errors import (
    Ambiguous,
    AuthExpired,
    InvalidInput,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
    Unsupported,
)
from portevoix.networks.i18n import Text

_DETAIL_MAX = 300


def _label(exc: NetworkError) -> str:
    from portevoix.networks import registry

    if exc.network:
        try:
            return registry.get(exc.network).label
        except NetworkError:
            return exc.network
    return "?"


def _status(code: str) -> int | None:
    return int(code) if code.isdigit() else None


def _sentence(text: Text) -> Sentence:
    return Sentence(
        text.msgid,
        {
            k: _sentence(v).dumps() if isinstance(v, Text) else str(v)
            for k, v in text.params.items()
        },
    )


def _detail(message: str) -> str:
    """The module's own sentence: its message id and parameters when it kept them (rendered
    in each reader's language), else its text, shortened."""
    if isinstance(message, Text) and message.msgid:
        return _sentence(message).dumps()
    return message if len(message) <= _DETAIL_MAX else message[:_DETAIL_MAX] + "…"


def network_problem(exc: NetworkError) -> Sentence:
    """What a person should read about ``exc``, to store and render later."""
    network = _label(exc)
    detail = _detail(exc.message)
    code = exc.code or ""
    status = _status(code)
    both = {"network": network, "detail": detail}
    only = {"network": network}
    if isinstance(exc, AuthExpired):
        if code == "not_connected":
            return Sentence(gettext_noop("This %(network)s account is not connected."), only)
        if code in {"missing", "missing_credentials"}:
            return Sentence(
                gettext_noop("Some of the credentials %(network)s needs are missing."), only
            )
        return Sentence(
            gettext_noop(
                "%(network)s refused the account's credentials (revoked, expired or wrong): "
                "reconnect the account."
            ),
            only,
        )
    if isinstance(exc, RateLimited):
        return Sentence(
            gettext_noop(
                "%(network)s asks us to slow down; Porte-voix tries again once its limit resets."
            ),
            only,
        )
    if isinstance(exc, OutcomeUnknown):
        return Sentence(
            gettext_noop(
                "%(network)s did not confirm in time; the post may exist. Porte-voix checks "
                "with %(network)s before trying again."
            ),
            only,
        )
    if isinstance(exc, Ambiguous):
        return Sentence(
            gettext_noop(
                "Porte-voix cannot tell for sure whether the post exists on %(network)s: "
                "a person must check (“%(detail)s”)."
            ),
            both,
        )
    if isinstance(exc, Transient):
        if code == "connection":
            return Sentence(
                gettext_noop(
                    "Could not reach the %(network)s server: check its address, or try later."
                ),
                only,
            )
        if code == "timeout":
            return Sentence(
                gettext_noop("%(network)s did not answer in time; try again later."), only
            )
        if code == "malformed":
            return Sentence(
                gettext_noop(
                    "The server answered something that is not %(network)s's API: check the "
                    "address."
                ),
                only,
            )
        if status is not None and status >= 500:
            return Sentence(
                gettext_noop(
                    "%(network)s is unavailable for the moment (HTTP %(status)s); try again "
                    "later. Its answer: “%(detail)s”"
                ),
                {**both, "status": str(status)},
            )
        return Sentence(
            gettext_noop(
                "%(network)s cannot answer right now; try again later. Its answer: “%(detail)s”"
            ),
            both,
        )
    if isinstance(exc, Unsupported):
        return Sentence(gettext_noop("%(network)s does not offer this."), only)
    if isinstance(exc, InvalidInput):
        if code == "bad_url":
            return Sentence(
                gettext_noop("Enter the server's address in full, starting with https://."), only
            )
        if code == "no_app":
            return Sentence(
                gettext_noop("Enter the Client ID and Client secret of your %(network)s app."),
                only,
            )
        if code == "bad_organization":
            return Sentence(
                gettext_noop(
                    "Enter the company page’s number, from its admin address "
                    "(linkedin.com/company/12345678/admin)."
                ),
                only,
            )
        if code in {"413", "BlobTooLarge"}:
            return Sentence(gettext_noop("The file is too large for %(network)s."), only)
        return Sentence(
            gettext_noop("%(network)s does not accept this content: “%(detail)s”"), both
        )
    if isinstance(exc, NotFound):
        if code == "unknown_network":
            return Sentence(
                gettext_noop("Porte-voix does not know the network “%(network)s”."), only
            )
        return Sentence(
            gettext_noop(
                "%(network)s could not find it; check the address. Its answer: “%(detail)s”"
            ),
            both,
        )
    if isinstance(exc, Permanent):
        if code == "malformed":
            return Sentence(
                gettext_noop(
                    "The server answered something that is not %(network)s's API: check the "
                    "address."
                ),
                only,
            )
        if code == "duplicate":
            return Sentence(
                gettext_noop(
                    "%(network)s refuses this post as a duplicate of one already on the account."
                ),
                only,
            )
        if code == "version":
            return Sentence(
                gettext_noop(
                    "%(network)s no longer serves the API version this Porte-voix uses: "
                    "update Porte-voix."
                ),
                only,
            )
        if code == "paid_access":
            return Sentence(
                gettext_noop(
                    "%(network)s refuses this call for the app’s API plan: the developer "
                    "account that owns the app must buy this access (X’s API is paid). "
                    "Its answer: “%(detail)s”"
                ),
                both,
            )
        if code == "unaudited_client_can_only_post_to_private_accounts":
            return Sentence(
                gettext_noop(
                    "%(network)s has not audited the app: it only takes its posts from a private "
                    "account, seen by the account alone. Make the account private, or have the "
                    "app audited, then sign in again and tick “audited”."
                ),
                only,
            )
        if code == "app_not_allowed":
            return Sentence(
                gettext_noop(
                    "%(network)s does not let the app do this: the app lacks a product or a "
                    "permission the network must grant, or the account is not an administrator "
                    "of the page. Its answer: “%(detail)s”"
                ),
                both,
            )
        if status == 403:
            return Sentence(
                gettext_noop(
                    "%(network)s forbids this: the account's access may lack a permission; "
                    "reconnect it with read and write access. Its answer: “%(detail)s”"
                ),
                both,
            )
        return Sentence(gettext_noop("%(network)s refused it: “%(detail)s”"), both)
    return Sentence(gettext_noop("%(network)s failed: “%(detail)s”"), both)


def network_message(exc: NetworkError) -> str:
    """A sentence for the person waiting for an answer, in the active language."""
    return network_problem(exc).render()
