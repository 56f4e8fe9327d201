"""Secrets at rest and on the way out: two-factor secrets encrypted and rotated, e-mail never
printed in production, the demo's public password advertised only while it is the password."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from cryptography.fernet import Fernet
from django.apps import apps as django_apps
from django.test import Client
from django.urls import reverse

from portevoix import config
from portevoix.channels import actions as channel_actions
from portevoix.core import crypto
from tests.conftest import CHEAP_HASHERS, PASSWORD
from tests.totp import current_code

pytestmark = pytest.mark.django_db


# --- TOTP secrets -----------------------------------------------------------------------


def _stored(user) -> dict:
    return {
        a.type: dict(Authenticator.objects.filter(pk=a.pk).values_list("data", flat=True)[0])
        for a in Authenticator.objects.filter(user=user)
    }


def test_totp_secrets_and_recovery_seeds_are_encrypted_at_rest(team) -> None:
    user = team["viewer"].user
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user)
    stored = _stored(user)
    assert stored["totp"]["secret"] != secret and crypto.is_encrypted(stored["totp"]["secret"])
    assert crypto.decrypt_text(stored["totp"]["secret"]) == secret
    assert crypto.is_encrypted(stored["recovery_codes"]["seed"])
    assert len(codes.generate_codes()) > 0
    # ...and the login with a code still works.
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    code = current_code(secret)
    client.post(response["Location"], {"code": code})
    assert client.session.get("_auth_user_id") == str(user.pk)


def test_the_migration_encrypts_secrets_stored_in_clear(team) -> None:
    user = team["viewer"].user
    secret = generate_totp_secret()
    authenticator = Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": secret}
    )
    migration = importlib.import_module("portevoix.core.migrations.0004_encrypt_two_factor_secrets")
    migration.encrypt(django_apps, None)
    authenticator.refresh_from_db()
    assert authenticator.data["secret"] != secret
    assert TOTP(authenticator).validate_code(current_code(secret))
    migration.encrypt(django_apps, None)  # twice changes nothing
    again = Authenticator.objects.get(pk=authenticator.pk)
    assert crypto.decrypt_text(again.data["secret"]) == secret


def test_rotate_keys_covers_two_factor_secrets(settings, team) -> None:
    user = team["viewer"].user
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    old = tuple(settings.PORTEVOIX_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.PORTEVOIX_ENCRYPTION_KEYS = (new_key, *old)
    # No channel; a TOTP and recovery codes.
    assert channel_actions.rotate_keys() == {"two_factor": 2}
    settings.PORTEVOIX_ENCRYPTION_KEYS = (new_key,)  # the old key is gone
    stored = _stored(user)
    assert crypto.decrypt_text(stored["totp"]["secret"]) == secret
    crypto.decrypt_text(stored["recovery_codes"]["seed"])
    settings.PORTEVOIX_ENCRYPTION_KEYS = old
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt_text(_stored(user)["totp"]["secret"])


def test_rotate_keys_covers_every_secret_at_rest(settings, team) -> None:
    """A webhook's signing secret and a credential custody's recovery address and notes are
    re-encrypted too: after rotation the old key can go, and every secret still reads."""
    from portevoix.api import actions as api_actions
    from portevoix.crisis import lockdown
    from portevoix.sandbox import service

    labels = {model._meta.label for model, _names in channel_actions.encrypted_columns()}
    # Every model that keeps a secret (a new one is covered by its column's name alone).
    assert {
        "channels.Channel",
        "api.WebhookSubscription",
        "api.CrmIntegration",
        "listening.ListeningSource",
        "crisis.ChannelCustody",
    } <= labels
    account = service.create_account("acme-keys", workspace=team.workspace)
    channel = channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
    )
    subscription, secret = api_actions.create_subscription(
        team.workspace,
        by=team["admin"],
        url="https://hooks.example.org/pv",
        events=["post.published"],
    )
    custody = lockdown.save_custody(
        channel, by=team["admin"], recovery="ops@acme.test", notes="codes in the safe"
    )
    old = tuple(settings.PORTEVOIX_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.PORTEVOIX_ENCRYPTION_KEYS = (new_key, *old)
    assert channel_actions.rotate_keys() == {
        "api.WebhookSubscription": 1,
        "channels.Channel": 1,
        "crisis.ChannelCustody": 1,
    }
    settings.PORTEVOIX_ENCRYPTION_KEYS = (new_key,)  # the old key is gone
    subscription.refresh_from_db()
    custody.refresh_from_db()
    channel.refresh_from_db()
    assert crypto.decrypt_text(subscription.secret_encrypted) == secret
    assert crypto.decrypt_text(custody.recovery_encrypted) == "ops@acme.test"
    assert crypto.decrypt_text(custody.notes_encrypted) == "codes in the safe"
    assert channel.get_credentials().get("token") == account.token


def test_rotate_keys_changes_nothing_when_a_secret_cannot_be_read(settings, team) -> None:
    from portevoix.api import actions as api_actions
    from portevoix.api.models import WebhookSubscription
    from portevoix.channels import cli

    api_actions.create_subscription(
        team.workspace,
        by=team["admin"],
        url="https://hooks.example.org/a",
        events=["post.published"],
    )
    first, _ = api_actions.create_subscription(
        team.workspace,
        by=team["admin"],
        url="https://hooks.example.org/b",
        events=["post.published"],
    )
    # One secret written with a key that is no longer configured.
    lost = Fernet(Fernet.generate_key()).encrypt(b"whsec_lost").decode()
    WebhookSubscription.objects.filter(pk=first.pk).update(secret_encrypted=lost)
    before = dict(WebhookSubscription.objects.values_list("pk", "secret_encrypted"))
    settings.PORTEVOIX_ENCRYPTION_KEYS = (
        Fernet.generate_key().decode(),
        *settings.PORTEVOIX_ENCRYPTION_KEYS,
    )
    import io

    out, err = io.StringIO(), io.StringIO()
    code = cli.cmd_rotate_keys(None, out, err)  # type: ignore[arg-type]
    assert code == 1 and "nothing was re-encrypted" in err.getvalue()
    assert dict(WebhookSubscription.objects.values_list("pk", "secret_encrypted")) == before


# --- e-mail in production ---------------------------------------------------------------


def _production(tmp_path, **extra: str) -> config.Config:
    env = {
        "PORTEVOIX_MODE": "production",
        "PORTEVOIX_SECRET_KEY": "s" * 40,
        "PORTEVOIX_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        **{f"PORTEVOIX_{k}": v for k, v in extra.items()},
    }
    return config.load(env, base_dir=tmp_path)


def test_production_refuses_to_start_without_an_email_url(tmp_path) -> None:
    with pytest.raises(config.ConfigError, match="EMAIL_URL is required in production"):
        _production(tmp_path)
    with pytest.raises(config.ConfigError, match="refused in production"):
        _production(tmp_path, EMAIL_URL="console:")
    assert _production(tmp_path, EMAIL_URL="smtp://mail.example.org").email.host
    written = _production(tmp_path, EMAIL_URL=f"file:{tmp_path / 'mail'}")
    assert written.email.file_path == str(tmp_path / "mail")


def test_production_says_at_start_that_email_goes_to_files(tmp_path, settings, caplog) -> None:
    settings.CONFIG = _production(tmp_path, EMAIL_URL=f"file:{tmp_path / 'mail'}")
    django_apps.get_app_config("core").ready()
    assert any(
        "not sent" in r.getMessage() and str(tmp_path / "mail") in r.getMessage()
        for r in caplog.records
    )


# --- the demo's accounts on the login page ----------------------------------------------


@pytest.fixture(scope="module")
def _demo_loaded(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The demo, loaded once for the tests of this module (20 s a load) in a transaction
    rolled back after the last of them; each test's own changes are rolled back to it (the
    ``db`` fixture's transaction is then a savepoint), as with ``TestCase.setUpTestData``."""
    from django.db import transaction
    from django.test import override_settings

    from portevoix.core import demo as demo_data

    with django_db_blocker.unblock(), transaction.atomic():
        try:
            # The tests' hasher, which the tests check the demo's hashes with.
            with override_settings(PASSWORD_HASHERS=CHEAP_HASHERS):
                demo_data.load()
            yield
        finally:
            transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_loaded: None, db: None, settings: Any) -> Any:
    from portevoix.core import demo as demo_data

    settings.CONFIG = config.load(
        {"PORTEVOIX_DATA_DIR": str(settings.PORTEVOIX_DATA_DIR)}, base_dir=None
    )
    return demo_data


def _listed(demo) -> list[str]:
    html = Client().get(reverse("account_login")).content.decode()
    return [email for email, _ in demo.logins() if email in html]


def test_demo_accounts_are_listed_while_their_password_is_the_demos(demo) -> None:
    from portevoix.core.models import User

    assert len(_listed(demo)) == len(demo.PEOPLE)
    sophie = User.objects.get(email="sophie@lumiere.demo")
    sophie.set_password("a-real-password-now")
    sophie.save()
    listed = _listed(demo)
    assert "sophie@lumiere.demo" not in listed and len(listed) == len(demo.PEOPLE) - 1
    for user in User.objects.filter(email__endswith="@lumiere.demo"):
        user.set_password("changed-everywhere")
        user.save()
    page = Client().get(reverse("account_login")).content.decode()
    assert "porte-voix-demo" not in page and not _listed(demo)


def test_demo_accounts_are_never_listed_in_production(demo, settings, tmp_path) -> None:
    settings.CONFIG = _production(tmp_path, EMAIL_URL="smtp://mail.example.org")
    page = Client().get(reverse("account_login")).content.decode()
    assert "porte-voix-demo" not in page and not _listed(demo)


def test_every_demo_account_still_logs_in_with_the_demo_password(demo) -> None:
    client = Client()
    client.post(
        reverse("account_login"), {"login": "philippe@lumiere.demo", "password": demo.PASSWORD}
    )
    assert "_auth_user_id" in client.session
