"""Where webhooks and CRM integrations may send (server-side request forgery).

An admin types a receiver's address, and the worker then posts the workspace's data to it:
without a check, that address could be the machine's own services (``127.0.0.1:5432``), the
office network (``10.0.0.0/8``) or the cloud's metadata service (``169.254.169.254``, which
hands out credentials). Two checks, both needed:

* **when the address is saved** (:func:`check_url`): an IP literal that is not public, or a
  name that is local by definition (``localhost``, ``*.internal``, ``metadata.google.internal``),
  is refused with a form error that says why;
* **when sending** (:func:`client`): the name is resolved and *every* address it gives must be
  public; the connection goes to the very address that was checked (``networks.http``'s
  ``AddressGuard``), so a name that resolves to ``127.0.0.1``, or that changes its answer
  between the check and the connection (DNS rebinding), is refused too.

``PORTEVOIX_WEBHOOKS_ALLOW_LOOPBACK`` (true in embedded mode, false in production) allows
loopback only, for tests and a receiver on the same machine; private, link-local and metadata
addresses stay refused whatever it says.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from portevoix.core.actions import ActionRefused
from portevoix.networks.http import (
    UNREACHABLE,
    AddressGuard,
    AddressRefused,
    GuardedTransport,
    Resolver,
    is_public_address,
)

#: Names that never reach a public server.
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "metadata", "ip6-localhost"})
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")

__all__ = ["UNREACHABLE", "check_url", "client", "loopback_allowed"]


def loopback_allowed() -> bool:
    return bool(getattr(settings, "PORTEVOIX_WEBHOOKS_ALLOW_LOOPBACK", False))


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    return is_public_address(address) or (allow_loopback and _is_loopback(address))


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%", 1)[0]))
    except ValueError:
        pass
    # Forms that resolvers read as IPv4 although they are not dotted quads (2130706433,
    # 0x7f.1, 0177.0.0.1): refused outright, no receiver has such an address.
    parts = host.split(".")
    if all(p and (p.isdigit() or p.lower().startswith("0x")) for p in parts) and len(parts) <= 4:
        return "0.0.0.0"  # noqa: S104 - a marker for "not public", never bound
    return None


def check_url(url: str, *, field: str = "url") -> str:
    """``url``, stripped, if it may be saved as a receiver; else :class:`ActionRefused` on
    ``field`` with a message that says why."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        host = ""
    if parts.scheme not in {"http", "https"} or not host:
        raise ActionRefused(_("Give the address of the receiver (https://…)."), field=field)
    if parts.username or parts.password:
        raise ActionRefused(
            _("Put no user name or password in the address: use the integration's credentials."),
            field=field,
        )
    allow_loopback = loopback_allowed()
    literal = _literal(host)
    local_name = host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES)
    if literal is not None:
        refused = not address_allowed(literal, allow_loopback=allow_loopback)
    else:
        refused = local_name and not (allow_loopback and host in {"localhost", "ip6-localhost"})
    if refused:
        raise ActionRefused(
            _(
                "This address is on a private, loopback or link-local network, or is a cloud "
                "metadata service: Porte-voix sends only to public addresses. Give the "
                "receiver's public address."
            ),
            field=field,
            code="private_address",
        )
    return url


class OutboundGuard(AddressGuard):
    """Every resolved address public (or loopback, when allowed); pinned for the client's
    life so the connection goes where the check looked."""

    def __init__(self, *, allow_loopback: bool, resolver: Resolver | None = None) -> None:
        super().__init__(allow_private=True, resolver=resolver)
        self.allow_loopback = allow_loopback

    def addresses(self, host: str, port: int) -> tuple[str, ...]:
        found = super().addresses(host, port)
        if not all(address_allowed(a, allow_loopback=self.allow_loopback) for a in found):
            raise AddressRefused()
        return found


def client(*, timeout: float = 10.0, resolver: Resolver | None = None) -> httpx.Client:
    """An ``httpx`` client whose every connection is checked after DNS resolution. Proxies
    from the environment are ignored: they would resolve names themselves."""
    guard = OutboundGuard(allow_loopback=loopback_allowed(), resolver=resolver)
    return httpx.Client(
        transport=GuardedTransport(guard),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
