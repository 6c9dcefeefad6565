"""A throwaway PostgreSQL server for tests, so the storage suite runs against a real PostgreSQL too.

The cluster is built with Debian's binaries (``/usr/lib/postgresql/*/bin``) in a temporary directory,
listens on a free loopback port (and a unix socket in that directory), trusts local connections, and runs
with fsync off: it holds nothing worth keeping. PostgreSQL refuses to run as root, so under root it runs
as the ``postgres`` user via ``runuser``. One cluster serves the whole test process (started on first use,
stopped at exit); each test gets its own database, cloned from a migrated template for speed.

``POLICYTRACK_TEST_POSTGRES`` set to a URL (with rights to create databases) uses an existing server
instead; set to ``off`` it skips the PostgreSQL runs.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from storage.db import Database

ENV_VAR = "POLICYTRACK_TEST_POSTGRES"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL can be started here; the message says why (tests skip with it)."""


def _bin_dir() -> Path:
    candidates = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise PostgresUnavailable("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin")
    return candidates[-1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A server reachable at ``admin_url``; owns (and on ``stop`` removes) the cluster if it built one."""

    def __init__(self, admin_url: str, base: Path | None = None, pg_ctl: list[str] | None = None,
                 start_args: list[str] | None = None):
        self.admin_url = admin_url
        self._base = base
        self._pg_ctl = pg_ctl
        self._start_args = start_args  # pg_ctl's arguments that start the cluster again (see resume)
        self._counter = 0
        self._lock = threading.Lock()
        self._template: str | None = None
        self._template_lock = threading.Lock()
        self._idle: list[str] = []  # migrated databases emptied after use, ready for the next test
        self._template_tables: set[str] = set()

    @classmethod
    def start(cls) -> "PostgresServer":
        existing = os.environ.get(ENV_VAR)
        if existing == "off":
            raise PostgresUnavailable(f"disabled by {ENV_VAR}=off")
        if existing:
            return cls(str(make_url(existing).set(drivername="postgresql+psycopg")))
        bin_dir = _bin_dir()
        prefix: list[str] = []
        base = Path(tempfile.mkdtemp(prefix="policytrack-pg-"))
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(base, ignore_errors=True)
                raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server") from None
            os.chown(base, user.pw_uid, user.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"]
        data = base / "data"

        def run(*args: str) -> None:
            result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                raise PostgresUnavailable(f"{Path(args[0]).name} failed: {(result.stderr or result.stdout).strip()[-500:]}")

        try:
            run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--locale=C", "--no-sync")
            port = _free_port()
            options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -F "
                       "-c full_page_writes=off -c synchronous_commit=off")
            pg_ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data)]
            start_args = ["-l", str(base / "server.log"), "-w", "-t", "60", "-o", options, "start"]
            run(*pg_ctl[len(prefix):], *start_args)
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise
        return cls(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", base, pg_ctl, start_args)

    def halt(self) -> None:
        """Shut the server down, keeping its cluster: PostgreSQL away, for fault tests (see :meth:`resume`)."""
        if self._pg_ctl is None:
            raise PostgresUnavailable(f"not our cluster ({ENV_VAR} names an existing server): cannot halt it")
        subprocess.run([*self._pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True, timeout=60, check=True)

    def resume(self) -> None:
        """Start a halted cluster again, on the same port."""
        assert self._pg_ctl is not None and self._start_args is not None
        subprocess.run([*self._pg_ctl, *self._start_args], capture_output=True, timeout=120, check=True)

    def _admin(self, sql: str, url_string: str | None = None) -> None:
        import psycopg

        url = make_url(url_string or self.admin_url)
        with psycopg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database,
            autocommit=True,
        ) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def _tables(self, url_string: str) -> set[str]:
        """The tables of a database's public schema (models, the search index's tables, anything else)."""
        import psycopg

        url = make_url(url_string)
        with psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                             dbname=url.database, autocommit=True) as connection:
            rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        return {row[0] for row in rows}

    def create_database(self, template: str | None = None) -> str:
        """A new, empty (or cloned from ``template``) database; returns its URL."""
        with self._lock:
            self._counter += 1
            name = f"policytrack_test_{os.getpid()}_{self._counter}"
        clause = f' TEMPLATE "{template}"' if template else ""
        self._admin(f'CREATE DATABASE "{name}"{clause}')
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def migrated_template(self) -> str:
        """Name of a database migrated to head, made once; cloning it is much faster than migrating."""
        from storage.db import open_database

        with self._template_lock:
            if self._template is None:
                url = self.create_database()
                open_database(url).dispose()  # no connection may stay open on a template
                self._template = make_url(url).database
                self._template_tables = self._tables(url)
            assert self._template is not None
            return self._template

    def checkout_database(self) -> str:
        """URL of an empty database at the latest schema, reused across tests (emptying beats cloning)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self.create_database(template=self.migrated_template())

    def checkin_database(self, url: str) -> None:
        """Empty a database from :meth:`checkout_database` for reuse, or drop it if that fails.

        A database that gained tables a test made outside the migrations (APScheduler's job store, say)
        is dropped rather than reused, so no test sees what an earlier one left behind."""
        try:
            tables = self._tables(url)
            if tables != self._template_tables:
                raise LookupError(f"tables beyond the migrated schema: {sorted(tables - self._template_tables)}")
            emptied = ", ".join(f'"{name}"' for name in sorted(tables - {"alembic_version"}))
            self._admin(f"TRUNCATE {emptied} RESTART IDENTITY CASCADE", url)
        except Exception:
            self.drop_database(url)
            return
        with self._lock:
            self._idle.append(url)

    def stop(self) -> None:
        if self._pg_ctl is not None:
            subprocess.run([*self._pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)
            self._pg_ctl = None
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None


_shared: PostgresServer | None = None
_shared_error: PostgresUnavailable | None = None
_shared_lock = threading.Lock()


def shared_server() -> PostgresServer:
    """The process-wide test server, started on first call; raises PostgresUnavailable (every time) if it cannot."""
    global _shared, _shared_error
    with _shared_lock:
        if _shared_error is not None:
            raise _shared_error
        if _shared is None:
            try:
                _shared = PostgresServer.start()
            except PostgresUnavailable as exc:
                _shared_error = exc
                raise
            atexit.register(_shared.stop)
        return _shared


@contextmanager
def temporary_database(backend: str, directory: Path) -> Iterator["Database"]:
    """A fresh, migrated database on ``backend`` ('sqlite' in ``directory``, or 'postgresql'), removed after."""
    from storage.db import open_database

    if backend == "sqlite":
        database = open_database(str(Path(directory) / "policytrack-test.db"))
        try:
            yield database
        finally:
            database.dispose()
    elif backend == "postgresql":
        server = shared_server()
        url = server.checkout_database()
        database = open_database(url, migrate=False)
        try:
            yield database
        finally:
            database.dispose()
            server.checkin_database(url)
    else:
        raise ValueError(f"unknown backend {backend!r}")
