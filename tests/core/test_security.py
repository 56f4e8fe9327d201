"""Login, throttling and two-factor authentication (allauth), seen from the pages."""

from __future__ import annotations

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from portevoix.core import actions
from portevoix.core.models import AuditEntry
from tests.conftest import PASSWORD
from tests.totp import current_code


def _login(client: Client, email: str, password: str = PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_login_with_email_lands_in_the_workspace(team) -> None:
    client = Client()
    response = _login(client, "content@acme.test")
    assert response.status_code == 302
    home = client.get(response["Location"])
    assert home.status_code == 302 and home["Location"] == "/w/acme/"
    assert AuditEntry.objects.filter(action="user.login", workspace=team.workspace).exists()


def test_wrong_password_is_refused_and_logged(team) -> None:
    client = Client()
    response = _login(client, "content@acme.test", "wrong-password")
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="user.login_failed", workspace=team.workspace).exists()


def test_login_is_throttled_after_repeated_failures(team) -> None:
    cache.clear()
    client = Client()
    for _ in range(5):
        _login(client, "manager@acme.test", "nope-nope-nope")
    response = _login(client, "manager@acme.test")  # even the right password waits now
    assert "_auth_user_id" not in client.session
    assert response.status_code in {200, 429}
    cache.clear()


def test_too_many_logins_from_one_address_get_the_products_429_page(team) -> None:
    """allauth throttles logins per address ("login": 30 a minute); the refusal is a page of
    the product (translated, with the reason and what to do), not a bare status."""
    cache.clear()
    statuses = [_login(Client(), f"nobody-{n}@acme.test", "nope").status_code for n in range(30)]
    assert statuses == [200] * 30  # each one the form again, with its error
    response = _login(Client(), "content@acme.test")  # even the right password waits now
    assert response.status_code == 429
    page = response.content.decode()
    assert 'data-status="429"' in page
    assert "Trop de tentatives" in page  # French, the product's default language
    assert 'rel="icon"' in page  # the product's layout, not a bare status line
    cache.clear()


def test_signup_is_closed_once_a_first_account_exists(team) -> None:
    response = Client().get(reverse("account_signup"))
    assert b"invitation" in response.content.lower()
    assert b'name="password1"' not in response.content


def test_workspace_can_require_two_factor(team, client_for) -> None:
    admin = team["admin"]
    actions.update_workspace(team.workspace, by=admin, require_two_factor=True)
    client = client_for(team["content"])
    response = client.get(reverse("team", kwargs={"ws": "acme"}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    # Once an authenticator is set up, the member gets in.
    TOTP.activate(team["content"].user, generate_totp_secret())
    assert client.get(reverse("team", kwargs={"ws": "acme"})).status_code == 200


def test_login_asks_for_the_code_when_totp_is_on(team) -> None:
    secret = generate_totp_secret()
    TOTP.activate(team["viewer"].user, secret)
    client = Client()
    response = _login(client, "viewer@acme.test")
    assert response.status_code == 302 and "2fa" in response["Location"]
    assert "_auth_user_id" not in client.session
    code = current_code(secret)
    response = client.post(response["Location"], {"code": code})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(team["viewer"].user.pk)


def test_a_code_from_the_window_before_works_once_and_an_older_one_never(team) -> None:
    """One step of tolerance (a code typed as its window ends), no replay, nothing older."""
    secret = generate_totp_secret()
    TOTP.activate(team["viewer"].user, secret)

    def attempt(code: str) -> bool:
        client = Client()
        response = _login(client, "viewer@acme.test")
        client.post(response["Location"], {"code": code})
        return client.session.get("_auth_user_id") == str(team["viewer"].user.pk)

    assert not attempt(current_code(secret, step=-2))
    previous = current_code(secret, step=-1)
    assert attempt(previous)
    assert not attempt(previous)  # a used code is spent


def test_first_run_offers_to_create_the_first_account(db) -> None:
    client = Client()
    assert b"/accounts/signup/" in client.get(reverse("account_login")).content
    response = client.post(
        reverse("account_signup"),
        {"email": "first@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    # No workspace yet: the newcomer is asked to create one.
    assert client.get("/").headers["Location"] == reverse("workspace_create")
    response = client.post(
        reverse("workspace_create"),
        {"name": "Ma Marque", "slug": "", "time_zone": "Europe/Paris", "language": "fr"},
    )
    assert response.status_code == 302 and response["Location"] == "/w/ma-marque/"
    assert b"/accounts/signup/" not in Client().get(reverse("account_login")).content
