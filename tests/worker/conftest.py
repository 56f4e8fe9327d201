"""Fixtures of the worker tests: jobs swapped in the registry, a staff user, and a real
database on disk (or a fresh PostgreSQL database) that separate worker processes share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from portevoix.worker import housekeeping
from portevoix.worker.models import Housekeeping
from tests import migrated

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("worker_script.py")


@pytest.fixture
def job(db: None) -> Iterator[Callable[..., Housekeeping]]:
    """``job(name, func, interval=60)``: register a housekeeping job and create its row."""
    added: list[str] = []

    def make(name: str, func: Callable[[Housekeeping], str], interval: float = 60) -> Housekeeping:
        housekeeping.register(name, interval, func)
        added.append(name)
        return Housekeeping.objects.create(name=name)

    yield make
    for name in added:
        housekeeping.JOBS.pop(name, None)


@dataclass
class FileDb:
    """A database outside pytest-django's test database, for worker subprocesses."""

    env: dict[str, str]
    vendor: str

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(SCRIPT), *args],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def inspect(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.run("inspect").stdout)
        return data


@pytest.fixture(scope="module")
def file_db(tmp_path_factory: pytest.TempPathFactory, run_root: Path) -> Iterator[FileDb]:
    """A copy of the run's migrated database (``tests/migrated.py``), on the run's engine."""
    base = tmp_path_factory.mktemp("workerdb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PORTEVOIX_DATA_DIR"] = str(base)
    env["DJANGO_SETTINGS_MODULE"] = "portevoix.settings"
    pg_url = os.environ.get("PORTEVOIX_DATABASE_URL", "")
    dbname = ""
    if pg_url.startswith("postgres"):
        dbname = f"portevoix_worker_{uuid.uuid4().hex[:12]}"
        env["PORTEVOIX_DATABASE_URL"] = migrated.postgres_clone(run_root, pg_url, dbname)
        vendor = "postgresql"
    else:
        copy = migrated.sqlite_into(run_root, base)
        env["PORTEVOIX_DATABASE_URL"] = f"sqlite:///{copy}"
        vendor = "sqlite"
    yield FileDb(env=env, vendor=vendor)
    if dbname:
        migrated.drop_postgres(pg_url, dbname)
