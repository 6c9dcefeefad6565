"""A throwaway Redis server for tests: Debian's ``redis-server`` on a free loopback port, its files in a
temporary directory; stopped (and waited for) when the test ends.

By default nothing is saved to disk. ``persistent=True`` writes an append-only file fsynced on every
write (as a production queue should run), so :meth:`RedisServer.restart` -- even after a kill -9 --
brings the same data back on the same port: a real Redis restart for the fault tests.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisUnavailable(RuntimeError):
    pass


class RedisServer:
    def __init__(self, directory: Path, *, persistent: bool = False):
        self.binary = REDIS_SERVER if Path(REDIS_SERVER).exists() else shutil.which("redis-server")
        if not self.binary:
            raise RedisUnavailable("redis-server not found (apt-get install redis-server)")
        self.directory = directory
        self.persistent = persistent
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        import redis

        saving = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", *saving, "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except (redis.ConnectionError, redis.BusyLoadingError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop(signal.SIGKILL)
                    raise RedisUnavailable("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self, down_seconds: float = 0.0, sig: int = signal.SIGKILL) -> None:
        """Stop the server (kill -9 by default), stay away ``down_seconds``, start it on the same port."""
        self.stop(sig)
        time.sleep(down_seconds)
        self.start()


@contextmanager
def redis_server(directory: Path, *, persistent: bool = False) -> Iterator[str]:
    """Yield the URL of a fresh Redis listening on 127.0.0.1 only."""
    server = RedisServer(directory, persistent=persistent).start()
    try:
        yield server.url
    finally:
        server.stop()
