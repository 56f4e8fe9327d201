"""A throwaway PostgreSQL for benchmarks, started like ``./dev pg`` does (shared by bench/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlparse, urlunparse


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary directory, started like ``./dev pg`` does."""

    def __init__(self, port: int) -> None:
        bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
        if not bindirs:
            raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bindir = bindirs[-1]
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="portevoix-bench-pg."))
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []

    def start(self) -> str:
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        run = subprocess.run
        run([*self.as_user, str(self.bindir / "initdb"), "-D", str(self.dir / "data"),
             "-U", "portevoix", "--auth=trust", "-E", "UTF8"], check=True,
            capture_output=True)  # fmt: skip
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-w",
             "-l", str(self.dir / "pg.log"), "-o", opts, "start"], check=True,
            capture_output=True)  # fmt: skip
        return f"postgresql://portevoix@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"),
                        "-m", "immediate", "stop"], capture_output=True)  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)


def fresh_pg_database(server_url: str, name: str = "portevoix_bench") -> str:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(urlparse(server_url)._replace(path=f"/{name}"))


def drop_pg_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    server = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')
