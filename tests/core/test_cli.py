"""The portevoix command: demo set-up, and the production server serving real pages."""

from __future__ import annotations

import email
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import migrated

BIN = [sys.executable, "-m", "portevoix.cli"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTEVOIX_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**env, "PORTEVOIX_DATA_DIR": str(data_dir), **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_sets_up_once_and_prints_the_logins(tmp_path: Path) -> None:
    """The README's first command on an empty data directory (migrations and all)."""
    for _ in range(2):  # idempotent: a second run reuses the data
        result = subprocess.run(
            [*BIN, "demo", "--no-serve"],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            # A guard against a hang, not a speed goal: a month of posts, a day of messages,
            # four weeks of listening and a crisis take minutes on a loaded two-core machine.
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert "sophie@lumiere.demo" in result.stdout and "porte-voix-demo" in result.stdout
    assert (tmp_path / "portevoix.sqlite3").exists()
    count = subprocess.run(
        [
            *BIN,
            "manage",
            "shell",
            "--no-imports",
            "-c",
            "from portevoix.core.models import Workspace; print(Workspace.objects.count())",
        ],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert count.stdout.strip().splitlines()[-1] == "2"


def test_serve_runs_gunicorn_with_static_files(tmp_path: Path, run_root: Path) -> None:
    migrated.sqlite_into(run_root, tmp_path)  # --migrate then finds nothing to apply
    port = _free_port()
    proc = subprocess.Popen(
        [*BIN, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--migrate"],
        env=_env(tmp_path, PORTEVOIX_ALLOWED_HOSTS="127.0.0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
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
        login = httpx.get(f"{base}/accounts/login/", timeout=5)
        assert login.status_code == 200 and 'lang="fr"' in login.text
        css = httpx.get(f"{base}/static/css/portevoix.css", timeout=5)
        assert css.status_code == 200 and "--primary" in css.text
        assert httpx.get(f"{base}/w/nothing/", timeout=5).status_code == 302
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- links in e-mails follow the address the server listens on ---------------------------


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1:8101", "http://127.0.0.1:8101"),
        ("0.0.0.0:8000", "http://localhost:8000"),
        ("[::]:8000", "http://localhost:8000"),
        ("[::1]:8101", "http://[::1]:8101"),
        ("::1:8101", "http://[::1]:8101"),
        ("social.example.com:80", "http://social.example.com"),
        ("unix:/run/portevoix.sock", None),
        ("8000", None),
    ],
)
def test_base_url_for_a_bind_address(bind: str, url: str | None) -> None:
    from portevoix.cli import base_url_for

    assert base_url_for(bind) == url


def test_an_explicit_base_url_wins_over_the_bind(monkeypatch: pytest.MonkeyPatch) -> None:
    from portevoix.cli import _follow_bind

    monkeypatch.setenv("PORTEVOIX_BASE_URL", "https://social.example.com")
    assert _follow_bind("127.0.0.1:8101") is None
    assert os.environ["PORTEVOIX_BASE_URL"] == "https://social.example.com"
    monkeypatch.delenv("PORTEVOIX_BASE_URL")
    assert _follow_bind("127.0.0.1:8101") == "http://127.0.0.1:8101"
    assert os.environ["PORTEVOIX_BASE_URL"] == "http://127.0.0.1:8101"


def _mail_bodies(path: Path) -> list[str]:
    """The decoded messages of one of Django's file-backend e-mail logs (one backend may
    append several messages to the same file)."""
    bodies = []
    for raw in path.read_text(encoding="utf-8").split("\n" + "-" * 79 + "\n"):
        if not raw.strip():
            continue
        message = email.message_from_string(raw)
        # A message with attachments (the demo's scheduled reports) is multipart: its text
        # is the first text/plain part.
        part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        bodies.append(f"To: {message['To']}\n" + payload.decode("utf-8"))
    return bodies


def test_demo_invitation_links_reach_the_server_it_runs(tmp_path: Path, run_root: Path) -> None:
    """``portevoix demo --bind 127.0.0.1:PORT``: the pending invitation's e-mail links to
    that server, and the link opens the invitation there."""
    # Migrated already (the test above sets the demo up from nothing).
    migrated.sqlite_into(run_root, tmp_path)
    port = _free_port()
    proc = subprocess.Popen(
        [*BIN, "demo", "--bind", f"127.0.0.1:{port}"],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"demo did not start: {out[-3000:]}")
            time.sleep(0.5)
        mails = [body for p in (tmp_path / "mail").glob("*") for body in _mail_bodies(p)]
        pending = [m for m in mails if "lea.fontaine@freelance.demo" in m]
        assert pending, "the demo's pending invitation was e-mailed"
        links = re.findall(r"https?://\S+/invitations/\S+/", pending[0])
        assert links and all(link.startswith(f"{base}/") for link in links), links
        assert not any("localhost:8000" in m for m in mails)
        page = httpx.get(links[0], timeout=10)
        assert page.status_code == 200 and "lea.fontaine@freelance.demo" in page.text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
