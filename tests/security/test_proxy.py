"""Behind a reverse proxy, throttling and the audit log see the person, not the proxy."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse

from portevoix import config
from portevoix.core.middleware import client_ip
from portevoix.core.models import AuditEntry
from tests.conftest import PASSWORD

PROXY = "10.0.0.5"


@pytest.fixture
def behind_proxy(settings):
    settings.PORTEVOIX_TRUSTED_PROXIES = (
        ipaddress.ip_network("10.0.0.0/24"),
        ipaddress.ip_network("fd00::/8"),
    )


def _ip(remote: str, forwarded: str | None = None) -> str | None:
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **headers))


def test_without_trusted_proxies_the_header_is_ignored(settings) -> None:
    settings.PORTEVOIX_TRUSTED_PROXIES = ()
    assert _ip("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_through_a_trusted_proxy_the_client_is_the_last_untrusted_hop(behind_proxy) -> None:
    assert _ip(PROXY, "198.51.100.1") == "198.51.100.1"
    # Two trusted proxies in a row (a CDN, then the balancer).
    assert _ip(PROXY, "198.51.100.1, 10.0.0.7") == "198.51.100.1"
    # What the client wrote itself is left of its real address: never read.
    assert _ip(PROXY, "1.2.3.4, 198.51.100.1") == "198.51.100.1"
    assert _ip(PROXY, "[2001:db8::1]:443") == "2001:db8::1"
    assert _ip(PROXY, "198.51.100.1:51234") == "198.51.100.1"
    assert _ip("fd00::1", "198.51.100.1") == "198.51.100.1"
    # No header, or nothing usable: the proxy's own address, never a made-up one.
    assert _ip(PROXY) == PROXY
    assert _ip(PROXY, "garbage") == PROXY


def test_a_client_that_bypasses_the_proxy_cannot_choose_its_address(behind_proxy) -> None:
    assert _ip("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_one_person_cannot_lock_everyone_out(behind_proxy, team) -> None:
    """Every request comes from the proxy: throttling by REMOTE_ADDR would throttle them all."""
    cache.clear()
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.66")
    for n in range(25):  # the per-address limit is 20 failures in 5 minutes
        attacker.post(
            reverse("account_login"), {"login": f"nobody{n}@acme.test", "password": "x" * 12}
        )
    colleague = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.20")
    colleague.post(reverse("account_login"), {"login": "content@acme.test", "password": PASSWORD})
    assert colleague.session.get("_auth_user_id") == str(team["content"].user.pk)
    # ...while the attacker's own address is throttled.
    attacker.post(reverse("account_login"), {"login": "viewer@acme.test", "password": PASSWORD})
    assert "_auth_user_id" not in attacker.session
    cache.clear()


def test_the_audit_log_records_the_persons_address(behind_proxy, team) -> None:
    cache.clear()
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.20")
    client.post(reverse("account_login"), {"login": "content@acme.test", "password": PASSWORD})
    entry = AuditEntry.objects.filter(action="user.login").latest("id")
    assert entry.ip_address == "198.51.100.20"
    from allauth.usersessions.models import UserSession

    assert UserSession.objects.get(user=team["content"].user).ip == "198.51.100.20"


def test_the_setting_is_read_and_checked(tmp_path) -> None:
    cfg = config.load({"PORTEVOIX_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7"}, base_dir=tmp_path)
    assert [str(n) for n in cfg.trusted_proxies] == ["10.0.0.0/8", "192.0.2.7/32"]
    with pytest.raises(config.ConfigError, match="TRUSTED_PROXIES"):
        config.load({"PORTEVOIX_TRUSTED_PROXIES": "balancer.internal"}, base_dir=tmp_path)
