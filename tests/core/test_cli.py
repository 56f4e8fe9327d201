"""The portevoix command: demo set-up, and the production server serving real pages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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
    for _ in range(2):  # idempotent: a second run reuses the data
        result = subprocess.run(
            [*BIN, "demo", "--no-serve"],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=180,
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


def test_serve_runs_gunicorn_with_static_files(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [*BIN, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--migrate"],
        env=_env(tmp_path, PORTEVOIX_ALLOWED_HOSTS="127.0.0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
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
