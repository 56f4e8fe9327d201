"""A database migrated once per test run, copied wherever a test needs a database of its own.

A fresh ``migrate`` of the project costs about 25 s of CPU (96 migrations, each re-rendering
the models related to the one it changes). The tests whose subprocesses need their own
database (the worker's process tests, ``portevoix demo``, ``portevoix serve``) used to pay it
once each; they now copy a database migrated once for the whole run, shared by the xdist
workers through a lock file:

* SQLite: a file, copied into the test's data directory (``sqlite_into``);
* PostgreSQL: a template database, cloned by ``CREATE DATABASE ... TEMPLATE``
  (``postgres_clone``), dropped when the run ends.

pytest-django's own test database starts from the same copy (``test_databases``): each xdist
worker of each run used to migrate it from nothing, 25 s of CPU at the start of every run.
``./dev test`` builds the copies while the linters run (``python -m tests.migrated``) and
hands their folder to the runs in ``PV_TEST_MIGRATED``.

Migrating from an empty database is still exercised by every run: ``tests/core/test_config.py``
runs ``portevoix migrate`` on an empty data directory, and ``portevoix demo`` is run on an
empty one as the README says. A process given a copy still runs ``migrate``, which then finds
nothing to apply: a copy that lags behind the code is migrated forward, never used as is.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
SQLITE_NAME = "portevoix.sqlite3"  # the file name the settings give the embedded database
PG_TEMPLATE_FILE = "pg-template"


#: The folder of migrated databases ``./dev test`` built before the runs, if any.
PREBUILT = "PV_TEST_MIGRATED"


def run_root(basetemp: Path) -> Path:
    """The folder shared by every process of the run: the one ``./dev test`` prepared, else
    the controller's base temp folder (an xdist worker's is one level below it)."""
    if os.environ.get(PREBUILT):
        return Path(os.environ[PREBUILT])
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTEVOIX_", "PYTEST_"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**env, **extra}


def _migrate(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "portevoix.cli", "migrate"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")


def sqlite_template(root: Path) -> Path:
    """The migrated SQLite file of the run (made by the first process that asks)."""
    folder = root / "migrated-sqlite"
    done = folder / SQLITE_NAME
    with _locked(root / "migrated-sqlite.lock"):
        if not done.exists():
            work = root / f"migrated-sqlite-{uuid.uuid4().hex[:8]}"
            work.mkdir()
            _migrate(_env(PORTEVOIX_DATA_DIR=str(work)))
            work.rename(folder)
    return done


def sqlite_into(root: Path, data_dir: Path) -> Path:
    """Put a copy of the migrated database where ``portevoix`` looks for it in ``data_dir``
    (only the database: the data directory's keys are the subprocess's own)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / SQLITE_NAME
    # The backup API, not a file copy: it reads through SQLite, journal and all.
    with (
        closing(sqlite3.connect(sqlite_template(root))) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)
    return target


def _on(url: str, name: str) -> str:
    """``url`` pointed at database ``name`` of the same server."""
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def postgres_template(root: Path, url: str) -> str:
    """The name of the run's migrated template database on the server of ``url``."""
    import psycopg

    marker = root / PG_TEMPLATE_FILE
    with (
        _locked(root / "pg-template.lock"),
        psycopg.connect(_on(url, "postgres"), autocommit=True) as conn,
    ):
        if marker.exists():
            name = marker.read_text().strip()
            # A marker left by a run on another cluster names nothing here: build it again.
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return name
        name = f"portevoix_tpl_{uuid.uuid4().hex[:12]}"
        conn.execute(f'CREATE DATABASE "{name}"')
        marker.write_text(name)  # written first, so that the run drops it even if migrate fails
        data = root / "pg-template-data"
        data.mkdir(exist_ok=True)
        _migrate(_env(PORTEVOIX_DATA_DIR=str(data), PORTEVOIX_DATABASE_URL=_on(url, name)))
        return name


def postgres_clone(root: Path, url: str, name: str) -> str:
    """Create database ``name`` as a copy of the run's template; its URL."""
    import psycopg

    template = postgres_template(root, url)
    # PostgreSQL refuses to copy a template another session is connected to: one at a time.
    with (
        _locked(root / "pg-template.lock"),
        psycopg.connect(_on(url, "postgres"), autocommit=True) as conn,
    ):
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _on(url, name)


def drop_postgres(url: str, name: str) -> None:
    """Drop database ``name`` of the server of ``url``, connections and all."""
    import psycopg

    with psycopg.connect(_on(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_postgres_template(root: Path, url: str) -> None:
    marker = root / PG_TEMPLATE_FILE
    if not url.startswith("postgres") or not marker.exists():
        return
    drop_postgres(url, marker.read_text().strip())
    marker.unlink()


@contextmanager
def test_databases(root: Path) -> Iterator[None]:
    """While Django makes the test databases (``setup_databases``), start each from the run's
    migrated copy instead of an empty one; Django's ``migrate`` then finds nothing to apply.

    SQLite: the copy is written into the empty test database (in memory, or the browser tests'
    file) with the backup API just before ``migrate``. PostgreSQL: the test database is
    created with the template as its ``TEST["TEMPLATE"]``, one process at a time (PostgreSQL
    refuses to copy a template another session is connected to).
    """
    from django.core import management
    from django.db import connections

    if connections["default"].vendor == "postgresql":
        template = postgres_template(root, os.environ.get("PORTEVOIX_DATABASE_URL", ""))
        # What Django's creation reads (its connection's settings; TEST is always there).
        connections["default"].settings_dict["TEST"]["TEMPLATE"] = template
        with _locked(root / "pg-template.lock"):
            yield
        return
    real = management.call_command

    def call_command(name: str, *args: object, **options: object) -> object:
        if name == "migrate":
            connection = connections[str(options.get("database", "default"))]
            connection.ensure_connection()
            with closing(sqlite3.connect(sqlite_template(root))) as source:
                source.backup(connection.connection)
        return real(name, *args, **options)

    management.call_command = call_command  # type: ignore[assignment]
    try:
        yield
    finally:
        management.call_command = real


def end_stray_sessions() -> list[str]:
    """Before the test databases are dropped (PostgreSQL): end any other session still
    connected to them, and say which.

    A thread that used the ORM and ended without ``connection.close()`` leaves its connection
    open until the garbage collector frees it (Django's connection objects hold reference
    cycles), so ``DROP DATABASE`` at the end of a worker's session could fail at random with
    "being accessed by other users". Collected first; whatever is still open is ended, as
    ``DROP DATABASE ... WITH (FORCE)`` would, and reported for the caller to warn about.
    """
    import gc

    from django.db import connections

    gc.collect()
    ended: list[str] = []
    for conn in connections.all(initialized_only=True):
        if conn.vendor != "postgresql":
            continue
        name = conn.settings_dict["NAME"]
        conn.close()
        with conn._nodb_cursor() as cursor:
            cursor.execute(
                "SELECT pid, left(query, 120), pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            ended += [f"{name} pid {pid}: {query!r}" for pid, query, _ in cursor.fetchall()]
    return ended


def _main() -> None:
    """``python -m tests.migrated FOLDER [POSTGRES_URL]``: build the run's migrated copies in
    FOLDER ahead of the tests (``./dev test`` runs it beside the linters)."""
    root = Path(sys.argv[1])
    root.mkdir(parents=True, exist_ok=True)
    sqlite_template(root)
    if len(sys.argv) > 2:
        postgres_template(root, sys.argv[2])


if __name__ == "__main__":
    _main()
