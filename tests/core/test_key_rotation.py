"""Rotating the secret key (PORTEVOIX_SECRET_KEY_FALLBACKS): what the old key signed or
digested still holds while it stays a fallback, and nothing does once it is dropped."""

from __future__ import annotations

import pytest
from django.core import signing
from django.urls import reverse

from portevoix.config import ConfigError, load
from portevoix.core import access, audit
from portevoix.privacy import actions as privacy
from portevoix.privacy import tombstones

pytestmark = pytest.mark.django_db


def test_after_a_rotation_the_old_keys_work_holds_while_it_is_a_fallback(
    team, client_for, settings
) -> None:
    ws = team.workspace
    old = settings.SECRET_KEY
    # Made under the old key: a signed-in session, an access token (a calendar feed's link),
    # a signed link, an erased message's tombstone and an erasure's audit fingerprint.
    client = client_for(team["admin"])
    idle = client_for(team["manager"])  # not used while the old key is a fallback
    page = reverse("team", kwargs={"ws": ws.slug})
    assert client.get(page).status_code == 200
    assert idle.get(page).status_code == 200
    token, _stored = access.new_token("calendar_feed")
    link = signing.dumps({"m": 1}, salt="portevoix.test")
    tombstones.bury(ws.pk, [(tombstones.inbox_scope(1), "msg-erased")])
    audit.record(
        "privacy.erase",
        workspace=ws,
        actor=None,
        after={"person": privacy.fingerprint("sandbox", "clara"), "reference": "R-1"},
    )

    settings.SECRET_KEY = "n" * 50
    settings.SECRET_KEY_FALLBACKS = [old]
    assert client.get(page).status_code == 200  # still signed in
    assert access.signed_secret(token, "calendar_feed") is not None
    assert signing.loads(link, salt="portevoix.test") == {"m": 1}
    assert tombstones.buried(ws.pk, tombstones.inbox_scope(1), ["msg-erased", "other"]) == {
        "msg-erased"
    }
    assert len(privacy.past_erasures(ws, "sandbox", "Clara")) == 1
    # New ones are made with the new key: they hold without any fallback.
    fresh, _ = access.new_token("calendar_feed")
    tombstones.bury(ws.pk, [(tombstones.inbox_scope(1), "msg-later")])

    settings.SECRET_KEY_FALLBACKS = []
    assert access.signed_secret(token, "calendar_feed") is None
    assert access.signed_secret(fresh, "calendar_feed") is not None
    with pytest.raises(signing.BadSignature):
        signing.loads(link, salt="portevoix.test")
    assert tombstones.buried(ws.pk, tombstones.inbox_scope(1), ["msg-erased", "msg-later"]) == {
        "msg-later"
    }
    assert privacy.past_erasures(ws, "sandbox", "clara") == []
    # A session used while the old key was a fallback was moved to the new key; one left
    # idle through the whole rotation is over.
    assert client.get(page).status_code == 200
    assert idle.get(page).status_code == 302


def test_the_fallbacks_are_read_from_the_environment(tmp_path) -> None:
    env = {
        "PORTEVOIX_DATA_DIR": str(tmp_path),
        "PORTEVOIX_SECRET_KEY": "k" * 40,
        "PORTEVOIX_SECRET_KEY_FALLBACKS": "o" * 40 + ", " + "p" * 40,
    }
    assert load(env).secret_key_fallbacks == ("o" * 40, "p" * 40)
    secret = tmp_path / "fallbacks"
    secret.write_text("q" * 40)
    env.pop("PORTEVOIX_SECRET_KEY_FALLBACKS")
    env["PORTEVOIX_SECRET_KEY_FALLBACKS_FILE"] = str(secret)
    assert load(env).secret_key_fallbacks == ("q" * 40,)
    env["PORTEVOIX_SECRET_KEY_FALLBACKS"] = "x" * 40
    with pytest.raises(ConfigError):
        load(env)
