"""The production server as it runs (``portevoix serve``, gunicorn): its access log masks the
secrets that travel in URLs, and its data directory is private to its user."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from portevoix import config
from portevoix.core.logs import mask
from tests import migrated

SECRETS = {
    "invitation": "INVITEsecret0123456789abcdefXYZ",
    "code": "OAUTHcode0123456789",
    "state": "OAUTHstate0123456789",
    "reset": "RESETkey0123456789",
    "access": "pvt.ACCESSsecret0123456789_-ab.SIGNATURE0123456789",
}


def test_mask_hides_secrets_in_urls_and_keeps_the_rest() -> None:
    line = (
        '127.0.0.1 - - [01/Dec/2026] "GET /invitations/abc-DEF_123/ HTTP/1.1" 404 10 '
        '"https://social.example.com/w/acme/settings/channels/oauth/callback/?state=S1&code=C1" '
        '"Mozilla"'
    )
    masked = mask(line)
    assert "abc-DEF_123" not in masked and "S1" not in masked and "C1" not in masked
    assert "/invitations/[hidden]/" in masked and "?state=[hidden]&code=[hidden]" in masked
    assert '" 404 10 "https://social.example.com/w/acme/settings' in masked
    # A page that merely lists invitations keeps its id; an access token is hidden anywhere.
    assert (
        mask("GET /w/acme/team/invitations/5/revoke/") == "GET /w/acme/team/invitations/5/revoke/"
    )
    assert mask("Not Found: /calendar/pvt.abc.def.ics") == "Not Found: /calendar/[hidden].ics"
    assert mask("/accounts/password/reset/key/1-abc/") == "/accounts/password/reset/key/[hidden]/"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTEVOIX_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**env, "PORTEVOIX_DATA_DIR": str(data_dir), **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _form(client: httpx.Client, url: str, data: dict[str, str]) -> httpx.Response:
    page = client.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return client.post(url, data={**data, "csrfmiddlewaretoken": token.group(1)})


def test_the_served_access_log_masks_secrets_and_the_data_dir_is_private(
    tmp_path, run_root
) -> None:
    data = tmp_path / "data"
    # Migrated already (--migrate then finds nothing to apply), and left readable by all as
    # an older install's would be: the server must close it; what it creates is checked too.
    migrated.sqlite_into(run_root, data).chmod(0o644)
    data.chmod(0o755)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "portevoix.cli",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--migrate",
        ],
        env=_env(data, PORTEVOIX_ALLOWED_HOSTS="127.0.0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # The usual umask, not this test process's (Porte-voix's settings already set 077).
        preexec_fn=lambda: os.umask(0o022),
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                # Stopped first: reading the output of a server still running never ends.
                proc.terminate()
                out = proc.communicate(timeout=30)[0].decode() if proc.stdout else ""
                pytest.fail(f"server did not start: {out[-3000:]}")
            time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=10, follow_redirects=False) as web:
            assert web.get(f"/invitations/{SECRETS['invitation']}/").status_code == 404
            web.get(
                f"/w/acme/settings/channels/oauth/callback/?code={SECRETS['code']}"
                f"&state={SECRETS['state']}"
            )
            web.get(f"/accounts/password/reset/key/1-{SECRETS['reset']}/")
            web.get(f"/healthz?token={SECRETS['access']}")
            # The first account, then a password reset: an e-mail written into the data dir.
            signup = _form(
                web,
                "/accounts/signup/",
                {
                    "email": "first@example.test",
                    "password1": "a-long-pass-1234",
                    "password2": "a-long-pass-1234",
                },
            )
            assert signup.status_code == 302, signup.text[:500]
            web.cookies.clear()
            _form(web, "/accounts/password/reset/", {"email": "first@example.test"})
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode()
    assert '"GET /invitations/[hidden]/ HTTP/1.1" 404' in output, output[-3000:]
    assert "code=[hidden]&state=[hidden]" in output
    for name, secret in SECRETS.items():
        assert secret not in output, f"the {name} secret is in the server's output"

    mails = list((data / "mail").iterdir())
    assert mails, "the password reset was not written to the data directory"
    for path in [data, *data.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        expected = config.PRIVATE_DIR if path.is_dir() else config.PRIVATE_FILE
        assert mode == expected, f"{path} is {oct(mode)}, not {oct(expected)}"


def test_an_older_data_dir_is_closed_at_start(tmp_path) -> None:
    data = tmp_path / "old"
    (data / "media" / "posts").mkdir(parents=True)
    for path in (data, data / "media", data / "media" / "posts"):
        path.chmod(0o755)
    database = data / "portevoix.sqlite3"
    database.write_bytes(b"")
    (data / "portevoix.sqlite3-wal").write_bytes(b"")
    for path in (database, data / "portevoix.sqlite3-wal"):
        path.chmod(0o644)
    cfg = config.load({"PORTEVOIX_DATA_DIR": str(data)}, base_dir=tmp_path)
    config.prepare_data_dir(cfg)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "media").stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "portevoix.sqlite3-wal").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    # A new install starts private, database file included.
    fresh = config.load({"PORTEVOIX_DATA_DIR": str(tmp_path / "new")}, base_dir=tmp_path)
    config.prepare_data_dir(fresh)
    assert stat.S_IMODE((tmp_path / "new" / "portevoix.sqlite3").stat().st_mode) == 0o600
