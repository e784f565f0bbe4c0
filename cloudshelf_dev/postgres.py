"""A throwaway local PostgreSQL server (Debian's binaries) on loopback, for `make dev PHASE=2` and tests.

initdb and pg_ctl refuse to run as root, so as root they run as the ``postgres`` user
through ``runuser``. Data lives in a temporary directory that is removed on stop.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess  # nosec B404 - subprocess runs fixed argv lists of our own tools (no shell)
import tempfile
from pathlib import Path

FAST_TEST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def find_bin(name: str) -> str:
    """The path of a PostgreSQL program (PATH first, then Debian's versioned folders)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not candidates:
        raise FileNotFoundError(f"{name} not found: install PostgreSQL (apt-get install -y postgresql)")
    return candidates[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalPostgres:
    """One PostgreSQL server in a temporary data directory, listening on 127.0.0.1 only."""

    def __init__(
        self,
        port: int = 0,
        *,
        fast: bool = True,
        user: str = "cloudshelf",
        database: str = "cloudshelf",
        password_auth: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.fast = fast
        self.user = user
        self.database = database
        self.password_auth = password_auth  # TCP logins need a password (as on RDS); the socket stays trusted
        self.root = Path(tempfile.mkdtemp(prefix="cloudshelf-pg-"))
        self.data = self.root / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    @property
    def dsn(self) -> str:
        """A libpq connection string for the server's database."""
        return f"host=127.0.0.1 port={self.port} dbname={self.database} user={self.user}"

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)  # noqa: S603 # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input

    def start(self) -> LocalPostgres:
        """initdb, start, create the role and database; returns self."""
        host_auth = "scram-sha-256" if self.password_auth else "trust"
        # UTF-8 like RDS, whatever this machine's locale: search folds non-ASCII text in SQL.
        self._run(find_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                  f"--auth-host={host_auth}", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        self.restart()
        self._admin(f"CREATE ROLE {self.user} LOGIN")
        self._admin(f"CREATE DATABASE {self.database} OWNER {self.user}")
        return self

    def _admin(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(
            host=str(self.root), port=self.port, dbname="postgres", user="postgres", connect_timeout=10
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def admin(self, sql: str) -> None:
        """Run one statement as the superuser (over the local socket)."""
        self._admin(sql)

    def is_running(self) -> bool:
        """Whether the server answers."""
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self, *, remove: bool = True) -> None:
        """Stop the server (fast shutdown) and, by default, remove its data."""
        if (self.data / "postmaster.pid").exists():
            self._run(find_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        """Start the (stopped) server on its port and data directory."""
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.root}", "-c max_connections=200"]
        if self.fast:
            options += [f"-c {setting}" for setting in FAST_TEST_SETTINGS]
        self._run(find_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                  "-o", " ".join(options), "start")  # fmt: skip
