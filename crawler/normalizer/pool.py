"""A pool of long-lived Node.js processes running Readability.js (``extract_worker.js``).

Why processes and not one Node per document: starting Node and loading jsdom costs about half a
second, tens of times more than one extraction. Why blocking calls: the crawler already runs item
processing in Twisted's thread pool (``deferToThread``), so each calling thread borrows an idle worker,
talks to it over pipes, and gives it back; calls beyond the worker count wait in a queue. A worker
that exceeds the timeout or dies is killed and replaced, and only its document fails.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import selectors
import shutil
import subprocess
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError, NotNormalizable, PolicytrackError

WORKER_SCRIPT = Path(__file__).with_name("extract_worker.js")
# The corpus was produced with Readability.js 0.3.0: later releases change which headings and table
# rows are kept on some pages, so any other version would silently break byte-exactness.
READABILITY_VERSION = "0.3.0"
# When a worker is replaced. A worker gets faster for its first thousand documents or so (V8 compiles
# the hot code as it meets it: on the corpus 45 ms per document over the first pass, 16 by the fourth,
# 13 after 1,000) while its memory stays flat (one window reused: 350-390 MB resident over 3,300 corpus
# documents or 2,000 real pages of many languages). So a worker is kept until its resident memory after a
# document passes RECYCLE_AT_RSS_MB (a huge page leaves V8's heap grown: recycling gives it back), or
# until MAX_DOCUMENTS_PER_WORKER, a bound on anything the memory figure would not show; a new worker's
# warm-up is then well under 1% of its life. (Recycling every 1,000 documents, as
# before, cost 6-13% more time per document: a mix of corpus and real pages, one worker, two runs.)
RECYCLE_AT_RSS_MB = 768
MAX_DOCUMENTS_PER_WORKER = 20_000
# V8 heap limit of a worker: a worker reusing one window stays near 200 MB over 700+ corpus documents,
# and documents are at most oversize.MAX_DOCUMENT_CHARS; one that still needs more fails alone.
WORKER_HEAP_MB = 1024
# V8 young generation (semi-space) of a worker. Each document's DOM is garbage once it is extracted, but
# with the default 16 MB semi-space much of it survives a scavenge or two and is copied each time:
# scavenges were ~12% of a worker's CPU on the corpus. 128 MB makes most of it die young (scavenge time
# halved, the worker's CPU per document ~3-7% lower) for ~200 MB more peak resident memory per worker.
WORKER_SEMI_SPACE_MB = 128
STARTUP_TIMEOUT = 60.0
_INSTALL_HINT = "run 'make install' in the repository root"


def find_node() -> str:
    """The ``node`` executable: ``POLICYTRACK_NODE`` if set, else ``node`` on PATH."""
    configured = os.environ.get("POLICYTRACK_NODE")
    node = shutil.which(configured) if configured else shutil.which("node")
    if not node:
        shown = configured or "node"
        raise ConfigurationError(f"Node.js executable {shown!r} not found: the normalizer needs Node.js; "
                                 f"install it, then {_INSTALL_HINT}")
    return node


def _has_modules(directory: Path) -> bool:
    return ((directory / "jsdom" / "package.json").is_file()
            and (directory / "@mozilla" / "readability" / "package.json").is_file())


def find_node_modules() -> Path:
    """The node_modules directory holding jsdom and @mozilla/readability.

    ``POLICYTRACK_NODE_MODULES`` if set (and then it must be right), else the nearest node_modules
    upward from the worker script (what Node itself would find), else entries of ``NODE_PATH``.
    """
    configured = os.environ.get("POLICYTRACK_NODE_MODULES")
    if configured:
        directory = Path(configured)
        if not _has_modules(directory):
            raise ConfigurationError(f"POLICYTRACK_NODE_MODULES={configured} does not contain jsdom and "
                                     f"@mozilla/readability: fix it or unset it and {_INSTALL_HINT}")
        return directory.resolve()
    for parent in WORKER_SCRIPT.resolve().parents:
        if _has_modules(parent / "node_modules"):
            return parent / "node_modules"
    for entry in os.environ.get("NODE_PATH", "").split(os.pathsep):
        if entry and _has_modules(Path(entry)):
            return Path(entry).resolve()
    raise ConfigurationError(f"jsdom and @mozilla/readability are not installed for the normalizer: {_INSTALL_HINT}")


def installed_version(node_modules: Path, package: str) -> str | None:
    try:
        return json.loads((node_modules / package / "package.json").read_text("utf-8")).get("version")
    except (OSError, ValueError):
        return None


class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


class _Worker:
    """One Node process; used by one thread at a time (the pool guarantees it)."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            # Own session: a Ctrl-C meant for the crawler must not kill extractions mid-flight; the
            # worker still exits by itself when our end of its stdin closes.
            start_new_session=True,
        )
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        self._buffer = bytearray()
        self.ready = False
        self.info: dict[str, Any] = {}
        self.documents = 0
        self.rss = 0  # bytes resident, as the worker reported after its last document
        self._stderr: collections.deque[str] = collections.deque(maxlen=30)
        self._drain = threading.Thread(target=self._drain_stderr, name="normalizer-worker-stderr", daemon=True)
        self._drain.start()

    def _drain_stderr(self) -> None:
        # Without a reader a chatty worker would fill the pipe and block forever.
        assert self.proc.stderr
        with self.proc.stderr:
            for raw in self.proc.stderr:
                self._stderr.append(raw.decode("utf-8", "replace").rstrip())

    def stderr_tail(self) -> str:
        return " | ".join(line for line in list(self._stderr)[-5:] if line)[-1000:]

    def wait_ready(self, timeout: float) -> None:
        try:
            message = json.loads(self._read_line(time.monotonic() + timeout))
        except _Timeout:
            self.kill()
            raise ConfigurationError(f"normalizer worker did not start within {timeout:.0f}s") from None
        except (_Died, ValueError):
            self.kill()
            detail = self.stderr_tail() or f"exit code {self.proc.returncode}"
            raise ConfigurationError(f"normalizer worker failed to start ({detail}); {_INSTALL_HINT}") from None
        if "fatal" in message:
            self.kill()
            raise ConfigurationError(f"normalizer worker: {message['fatal']}; {_INSTALL_HINT}")
        if message.get("readability") != READABILITY_VERSION:
            self.kill()
            raise ConfigurationError(
                f"Readability.js {message.get('readability')} found but the corpus form needs "
                f"{READABILITY_VERSION}; {_INSTALL_HINT}")
        self.info = message
        self.ready = True

    def call(self, request: bytes, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        self._write(request, deadline)
        line = self._read_line(deadline)
        self.documents += 1
        response = json.loads(line)
        if isinstance(response, dict) and isinstance(response.get("rss"), int):
            self.rss = response["rss"]
        return response

    def _write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        with selectors.DefaultSelector() as selector:
            selector.register(self._in, selectors.EVENT_WRITE)
            while view:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Timeout()
                if not selector.select(remaining):
                    continue
                try:
                    written = os.write(self._in, view)
                except BlockingIOError:
                    continue
                except OSError:  # broken pipe: the worker is gone
                    raise _Died() from None
                view = view[written:]

    def _read_line(self, deadline: float) -> bytes:
        with selectors.DefaultSelector() as selector:
            selector.register(self._out, selectors.EVENT_READ)
            while True:
                end = self._buffer.find(b"\n")
                if end >= 0:
                    line = bytes(self._buffer[:end])
                    del self._buffer[:end + 1]
                    return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Timeout()
                if not selector.select(remaining):
                    continue
                try:
                    chunk = os.read(self._out, 1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    raise _Died() from None
                if not chunk:
                    try:
                        self.proc.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        pass
                    raise _Died()
                self._buffer += chunk

    def close(self) -> None:
        """Ask the worker to exit (end of input), kill it if it does not."""
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_pipes()

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        self._close_pipes()
        self._drain.join(timeout=1)  # so that stderr_tail() has the last words

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()  # type: ignore[union-attr]
            except OSError:
                pass


def _shutdown(workers: set[_Worker]) -> None:
    for worker in list(workers):
        worker.kill()
    workers.clear()


class WorkerPool:
    """``size`` workers shared by any number of threads; ``extract`` blocks until one is free."""

    def __init__(self, size: int, timeout: float):
        if size < 1:
            raise ConfigurationError(f"normalizer workers must be at least 1, not {size}")
        if not timeout > 0:
            raise ConfigurationError(f"normalizer timeout must be positive, not {timeout}")
        node = find_node()
        node_modules = find_node_modules()
        version = installed_version(node_modules, "@mozilla/readability")
        if version != READABILITY_VERSION:
            raise ConfigurationError(f"Readability.js {version} is installed in {node_modules} but the corpus "
                                     f"form needs {READABILITY_VERSION}; {_INSTALL_HINT}")
        self.timeout = timeout
        self._argv = [node, f"--max-old-space-size={WORKER_HEAP_MB}", f"--max-semi-space-size={WORKER_SEMI_SPACE_MB}",
                      str(WORKER_SCRIPT)]
        self._env = {**os.environ, "POLICYTRACK_NODE_MODULES": str(node_modules)}
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._closed = False
        self._ids = 0
        self.started = 0  # workers started over the pool's life: the first ones, recycled and replaced ones
        # Kill the processes even if close() is never called (they would exit on EOF anyway).
        self._finalizer = weakref.finalize(self, _shutdown, self._all)
        for _ in range(size):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        worker = _Worker(self._argv, self._env)
        with self._lock:
            self._all.add(worker)
            self.started += 1
        return worker

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        with self._lock:
            self._all.discard(worker)
        if kill:
            worker.kill()
        else:
            worker.close()

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            closed = self._closed
        if closed:
            self._retire(worker, kill=True)
            return
        if worker.documents >= MAX_DOCUMENTS_PER_WORKER or worker.rss > RECYCLE_AT_RSS_MB * 2 ** 20:
            self._retire(worker, kill=False)
            worker = self._spawn()
        self._idle.put(worker)

    def extract(self, html: str, url: str, *, readability: bool = True) -> dict[str, Any]:
        """Run Readability on one decoded document; returns the worker's response (``ok`` is true).

        ``readability=False``: skip Readability and extract the whole body (oversize documents).

        Raises NotNormalizable with reason 'extractor-timeout', 'extractor-crash', 'extractor-error' or
        'no-text' for this document only.
        """
        worker = self._idle.get()
        if worker is None:
            self._idle.put(None)  # wake the next waiter too
            raise PolicytrackError("the normalizer is closed")
        healthy = False  # unless the exchange completes, the worker's state is unknown: replace it
        try:
            if not worker.ready:
                worker.wait_ready(max(STARTUP_TIMEOUT, self.timeout))
            with self._lock:
                self._ids += 1
                request_id = self._ids
            message = {"id": request_id, "html": html, "url": url}
            if not readability:
                message["whole"] = True
            request = json.dumps(message, ensure_ascii=False)
            try:
                response = worker.call(request.encode("utf-8", "surrogatepass") + b"\n", self.timeout)
            except _Timeout:
                raise NotNormalizable(f"Readability did not finish within {self.timeout:g}s; worker restarted",
                                      reason="extractor-timeout") from None
            except (_Died, ValueError):
                worker.kill()
                detail = worker.stderr_tail() or f"exit code {worker.proc.returncode}"
                raise NotNormalizable(f"extraction worker crashed ({detail}); worker restarted",
                                      reason="extractor-crash") from None
            healthy = response.get("id") == request_id
        finally:
            if healthy:
                self._give_back(worker)
            else:
                self._retire(worker, kill=True)
                with self._lock:
                    closed = self._closed
                if not closed:
                    self._idle.put(self._spawn())
        if not healthy:
            raise NotNormalizable("extraction worker answered out of turn; worker restarted",
                                  reason="extractor-error")
        if not response.get("ok"):
            reason = response.get("reason") or "extractor-error"
            raise NotNormalizable(f"extraction failed: {response.get('error', reason)}", reason=reason)
        return response

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker is not None:
                self._retire(worker, kill=False)
        self._idle.put(None)
        # Workers busy in other threads are killed when those threads give them back.
