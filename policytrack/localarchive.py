"""A local Wayback-compatible archive: WARCs built with warcio, served by a real pywb process.

Tests, the demo and the benchmarks need an archive that behaves like the Internet Archive's CDX API
and raw ``id_`` replay without any network. pywb provides exactly that, but it pins an old redis
client that conflicts with our environment, so it lives in its own virtualenv (``.venv-pywb``) and
policytrack only ever runs it as a subprocess and talks HTTP to it.

Facts about pywb 2.10 this module relies on (checked against its source and by the tests):

* ``wayback`` discovers collections dynamically (``os.listdir`` of ``collections/`` per request),
  so collections added after the server started are served without a restart.
* It caches each collection's *list of index files* keyed on the ``indexes/`` directory's
  ``os.stat`` at one-second resolution. An index file that appears within the same second as a
  query that saw none would stay invisible. We therefore build every new collection with an
  (empty) ``index.cdxj`` in a staging directory and rename it into place: the list of index files
  never changes afterwards, and ``wb-manager`` replaces the file's *content* atomically (rename),
  which pywb re-reads on every query.
* ``id_`` replay returns the archived status, body and headers (3xx with their original, possibly
  path-only ``Location``; revisit records resolved to the original payload), except that ``Date``,
  ``Server``, ``Cache-Control`` and a few others come back as ``X-Archive-Orig-*``, as on the
  Wayback Machine. ``Memento-Datetime`` names the capture actually replayed (the nearest one).
"""

from __future__ import annotations

import base64
import ctypes
import filecmp
import functools
import hashlib
import http
import http.client
import io
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from core.errors import ArchiveError, ConfigurationError

REPO_ROOT = Path(__file__).resolve().parents[1]
PYWB_BIN_ENV = "POLICYTRACK_PYWB_BIN"
LOG_NAME = "pywb.log"

_TIMESTAMP_RE = re.compile(r"[0-9]{14}")
_COLLECTION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
# Top-level routes of pywb's frontend that a collection name would shadow.
_RESERVED_COLLECTIONS = frozenset({"static", "collinfo.json"})
_WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
_DEFAULT_HEADERS = (("Content-Type", "text/html; charset=utf-8"),)


# --------------------------------------------------------------------------------------------
# WARC building
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarcCapture:
    """One archived HTTP response.

    ``timestamp`` (14 digits, UTC) becomes the record's WARC-Date and hence the CDX timestamp.
    ``revisit=True`` writes a revisit record (identical-payload-digest profile) pointing at the
    most recent *earlier* response for the same URL in the same :func:`write_warc` call, as the
    Internet Archive does for unchanged pages; pywb replays it with this capture's status and
    headers and the original's payload. ``body`` must then be empty (meaning "the same") or
    equal to the original body.
    """

    url: str
    timestamp: str
    body: bytes = b""
    status: int = 200
    headers: Sequence[tuple[str, str]] = _DEFAULT_HEADERS
    revisit: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not re.match(r"^https?://[^/\s]+", self.url):
            raise ConfigurationError(f"capture URL must be an absolute http(s) URL: {self.url!r}")
        if not isinstance(self.timestamp, str) or not _TIMESTAMP_RE.fullmatch(self.timestamp):
            raise ConfigurationError(f"capture timestamp must be 14 digits: {self.timestamp!r}")
        try:
            datetime.strptime(self.timestamp, "%Y%m%d%H%M%S")
        except ValueError:
            raise ConfigurationError(f"capture timestamp is not a valid date: {self.timestamp!r}") from None
        if not isinstance(self.body, bytes):
            raise ConfigurationError(f"capture body must be bytes, not {type(self.body).__name__}")
        if not isinstance(self.status, int) or not 100 <= self.status <= 599:
            raise ConfigurationError(f"capture status must be an HTTP status code: {self.status!r}")
        headers = tuple((name, value) for name, value in self.headers)
        for name, value in headers:
            if not isinstance(name, str) or not isinstance(value, str) or not name:
                raise ConfigurationError(f"capture header must be (str, str): {(name, value)!r}")
            if re.search(r"[\r\n:]", name) or re.search(r"[\r\n]", value):
                raise ConfigurationError(f"capture header contains a line break or colon: {(name, value)!r}")
        # Tuples keep the frozen dataclass hashable even when a list was passed.
        object.__setattr__(self, "headers", headers)

    @property
    def warc_date(self) -> str:
        ts = self.timestamp
        return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}Z"


def payload_digest(body: bytes) -> str:
    """The WARC/CDX payload digest: base32 SHA-1, as in ``WARC-Payload-Digest`` and CDX ``digest``."""
    return base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def warc_record_id(*parts: str) -> str:
    # Deterministic ids make a WARC a pure function of its captures (reproducible sample builds).
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(parts))}>"


def _http_headers(capture: WarcCapture, content_length: int) -> StatusAndHeaders:
    try:
        reason = http.HTTPStatus(capture.status).phrase
    except ValueError:
        reason = "Unknown"
    headers = list(capture.headers)
    if not any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers):
        headers.append(("Content-Length", str(content_length)))
    return StatusAndHeaders(f"{capture.status} {reason}", headers, protocol="HTTP/1.1")


def _revisit_targets(captures: Sequence[WarcCapture]) -> dict[int, WarcCapture]:
    """Map each revisit's position to the response it repeats (latest earlier one, same URL)."""
    targets: dict[int, WarcCapture] = {}
    for i, cap in enumerate(captures):
        if not cap.revisit:
            continue
        earlier = [c for c in captures if not c.revisit and c.url == cap.url and c.timestamp < cap.timestamp]
        if not earlier:
            raise ConfigurationError(
                f"revisit of {cap.url} at {cap.timestamp} has no earlier response for that URL in the same WARC"
            )
        original = max(earlier, key=lambda c: c.timestamp)
        if cap.body and cap.body != original.body:
            raise ConfigurationError(
                f"revisit of {cap.url} at {cap.timestamp} has a body different from the "
                f"{original.timestamp} response it revisits"
            )
        targets[i] = original
    return targets


def write_warc(path: Path, captures: Iterable[WarcCapture]) -> Path:
    """Write ``captures`` as a gzip WARC 1.0 (warcinfo + one record per capture) and return ``path``.

    The bytes are a function of the captures (in order) alone: record ids are derived from them,
    gzip members carry no mtime, the file name is not recorded. The file appears atomically.
    """
    path = Path(path)
    if not path.name.endswith(".warc.gz"):
        raise ConfigurationError(f"WARC path must end in .warc.gz: {path}")
    caps = list(captures)
    for cap in caps:
        if not isinstance(cap, WarcCapture):
            raise ConfigurationError(f"expected WarcCapture, got {type(cap).__name__}")
    targets = _revisit_targets(caps)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with partial.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.0")
        first = min(caps, key=lambda c: c.timestamp, default=None)
        info = "software: policytrack localarchive\r\nformat: WARC File Format 1.0\r\n".encode()
        writer.write_record(
            writer.create_warc_record(
                "",
                "warcinfo",
                payload=io.BytesIO(info),
                length=len(info),
                warc_content_type="application/warc-fields",
                warc_headers_dict={
                    # No WARC-Filename: the bytes depend on the captures only, not on the name.
                    "WARC-Record-ID": warc_record_id("warcinfo", *(f"{c.url} {c.timestamp}" for c in caps)),
                    "WARC-Date": first.warc_date if first else "1996-01-01T00:00:00Z",
                },
            )
        )
        for i, cap in enumerate(caps):
            rec_id = warc_record_id("revisit" if cap.revisit else "response", cap.url, cap.timestamp, str(i))
            warc_headers = {"WARC-Record-ID": rec_id, "WARC-Date": cap.warc_date}
            if cap.revisit:
                original = targets[i]
                record = writer.create_revisit_record(
                    cap.url,
                    digest=f"sha1:{payload_digest(original.body)}",
                    refers_to_uri=original.url,
                    refers_to_date=original.warc_date,
                    http_headers=_http_headers(cap, len(original.body)),
                    warc_headers_dict=warc_headers,
                )
            else:
                record = writer.create_warc_record(
                    cap.url,
                    "response",
                    payload=io.BytesIO(cap.body),
                    length=len(cap.body),
                    http_headers=_http_headers(cap, len(cap.body)),
                    warc_headers_dict=warc_headers,
                )
            writer.write_record(record)
    partial.replace(path)
    return path


# --------------------------------------------------------------------------------------------
# pywb process
# --------------------------------------------------------------------------------------------


def find_pywb_bin(name: str = "wayback") -> Path:
    """Locate a pywb console script: $POLICYTRACK_PYWB_BIN > <repo>/.venv-pywb/bin > PATH.

    An explicitly set environment variable that does not contain the script is an error rather
    than a silent fallback, so a misconfigured CI fails with a message that names the variable.
    """
    configured = os.environ.get(PYWB_BIN_ENV)
    if configured:
        candidate = Path(configured) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
        raise ConfigurationError(f"pywb not found: {PYWB_BIN_ENV}={configured} has no executable {name!r}")
    candidate = REPO_ROOT / ".venv-pywb" / "bin" / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ConfigurationError(
        f"pywb not found: run 'make install' (creates .venv-pywb with pywb 2.10.0) "
        f"or set {PYWB_BIN_ENV} to the directory containing {name!r}"
    )


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_is_free(host: str, port: int) -> bool:
    # SO_REUSEADDR like gevent's listener, so a port in TIME_WAIT counts as free.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigurationError(f"the local archive binds loopback only, not {host!r}")


def _child_env() -> dict[str, str]:
    # pywb must import from its own venv only: a PYTHONPATH/PYTHONHOME meant for the main
    # environment would pull in the conflicting redis client.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _parent_death_signal(parent: int) -> None:
    """Runs in the child before exec: SIGTERM it if the parent dies (even by SIGKILL)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _terminate(proc: subprocess.Popen) -> None:
    """Kill the server's process group and reap it; safe to call repeatedly and at exit.

    Nothing is signalled once the leader has been reaped: its group id may then belong to
    someone else's processes.
    """
    if proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LocalArchive:
    """A pywb root directory with collections, and a running pywb server over it (context manager).

    The server binds loopback only, logs to ``root/pywb.log``, runs in its own process group and
    never outlives its owner: :meth:`stop` kills the group, a finalizer does the same at garbage
    collection and interpreter exit, and on Linux the child gets SIGTERM if the owning process
    dies (when started from the main thread: the kernel ties that signal to the starting thread).
    """

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int | None = None):
        _check_loopback(host)
        self.root = Path(root).resolve()
        self.host = host
        # The port is fixed now so that specs handed out before start() stay valid.
        self.port = port if port is not None else _free_port(host)
        self.log_path = self.root / LOG_NAME
        self._proc: subprocess.Popen | None = None
        self._finalizer: weakref.finalize | None = None
        self._lock = threading.Lock()
        (self.root / "collections").mkdir(parents=True, exist_ok=True)

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def archive_spec(self, collection: str) -> str:
        """The archive argument policytrack takes for this collection: ``pywb:http://HOST:PORT/COLL``."""
        return f"pywb:{self.url}/{collection}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    # -- collections -------------------------------------------------------------------------

    def collection_dir(self, name: str) -> Path:
        return self.root / "collections" / name

    def add_collection(
        self, name: str, captures: Iterable[WarcCapture] | None = None, warcs: Iterable[Path] = ()
    ) -> str:
        """Create collection ``name`` (or add to it if it exists) and index the given WARCs.

        ``captures`` are written to a new WARC first. Works before or after :meth:`start`; a
        running server serves the new records as soon as this returns. A WARC whose bytes are
        already in the collection is skipped. Returns the archive spec.
        """
        if not isinstance(name, str) or not _COLLECTION_RE.fullmatch(name) or name in _RESERVED_COLLECTIONS:
            raise ConfigurationError(
                f"invalid collection name {name!r}: use letters, digits, '-' and '_' (not 'static')"
            )
        files = [Path(w).resolve() for w in warcs]
        for warc in files:
            if not warc.is_file():
                raise ConfigurationError(f"WARC file not found: {warc}")
            if not warc.name.endswith(_WARC_SUFFIXES):
                raise ConfigurationError(f"not a WARC/ARC file name (pywb would skip it): {warc}")
        with self._lock:
            self._ensure_collection(name)
            with tempfile.TemporaryDirectory(dir=self.root, prefix=".incoming-") as tmp:
                if captures is not None:
                    seq = len(list((self.collection_dir(name) / "archive").iterdir())) + 1
                    files.insert(0, write_warc(Path(tmp) / f"{name}-{seq:05d}.warc.gz", captures))
                files = [f for f in files if not self._already_archived(name, f)]
                if files:
                    self._wb_manager("add", name, *map(str, files))
        return self.archive_spec(name)

    def _ensure_collection(self, name: str) -> None:
        final = self.collection_dir(name)
        if final.is_dir():
            return
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".staging-"))
        try:
            (staging / "archive").mkdir()
            (staging / "indexes").mkdir()
            (staging / "indexes" / "index.cdxj").touch()
            staging.chmod(0o755)  # mkdtemp makes it private
            staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _already_archived(self, name: str, warc: Path) -> bool:
        # Re-adding identical bytes would only duplicate every CDX row (pywb merges indexes by
        # line, and the copy gets a new file name), so adding the same WARC twice is a no-op.
        # WARCs are deterministic, which makes this what re-running a demo build wants.
        return any(
            filecmp.cmp(existing, warc, shallow=False)
            for existing in (self.collection_dir(name) / "archive").iterdir()
            if existing.stat().st_size == warc.stat().st_size
        )

    def _wb_manager(self, *args: str) -> None:
        cmd = [str(find_pywb_bin("wb-manager")), *args]
        result = subprocess.run(cmd, cwd=self.root, env=_child_env(), capture_output=True, text=True)
        if result.returncode != 0:
            raise ArchiveError(
                f"wb-manager {' '.join(args[:2])} failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )

    # -- server ------------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> "LocalArchive":
        """Spawn ``wayback`` and wait until it answers HTTP. Idempotent while running."""
        if self.running:
            return self
        wayback = find_pywb_bin("wayback")
        # Checked first because the readiness probe below cannot tell our server from another
        # one already answering on the port.
        if not _port_is_free(self.host, self.port):
            raise ArchiveError(f"cannot start pywb: port {self.port} on {self.host} is already in use")
        cmd = [str(wayback), "-p", str(self.port), "-b", self.host]
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"\n=== policytrack: starting {' '.join(cmd)} in {self.root} at {time.ctime()}\n")
            log.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=self.root,
                env=_child_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=functools.partial(_parent_death_signal, os.getpid())
                if sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread()
                else None,
            )
        self._proc = proc
        self._finalizer = weakref.finalize(self, _terminate, proc)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                self.stop()
                raise ArchiveError(
                    f"pywb exited with code {proc.returncode} while starting on {self.url}; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            if self._answers() and proc.poll() is None:
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise ArchiveError(
                    f"pywb did not answer on {self.url} within {timeout:g}s; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            with _NO_PROXY_OPENER.open(f"{self.url}/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer means the server is up
        except (OSError, http.client.HTTPException):
            return False

    def stop(self) -> None:
        """Kill the server (its whole process group) and wait for it. Idempotent."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self._proc = None

    def __enter__(self) -> "LocalArchive":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"LocalArchive({str(self.root)!r}, {self.url}, {state})"


# --------------------------------------------------------------------------------------------
# The bundled sample archive
# --------------------------------------------------------------------------------------------


def sample_dir() -> Path:
    """``sample/`` in the source tree: manifest.json, pages/, README.md."""
    return REPO_ROOT / "sample"


def _load_manifest() -> tuple[list[tuple[str, str]], list[WarcCapture]]:
    base = sample_dir()
    path = base / "manifest.json"
    try:
        data = json.loads(path.read_text("utf-8"))
        sites = [(s["hostname"], s["privacy_url"]) for s in data["sites"]]
        captures = []
        for entry in data["captures"]:
            page = base / "pages" / entry["file"]
            captures.append(
                WarcCapture(
                    url=entry["url"],
                    timestamp=entry["timestamp"],
                    body=page.read_bytes(),
                    status=int(entry.get("status", 200)),
                    headers=tuple((str(k), str(v)) for k, v in entry.get("headers", _DEFAULT_HEADERS)),
                )
            )
    except (OSError, ValueError, KeyError, TypeError, ConfigurationError) as exc:
        raise ConfigurationError(f"sample manifest {path} is unusable: {exc}") from exc
    return sites, captures


def sample_sites() -> list[tuple[str, str]]:
    """(hostname, privacy URL) of each sample site, as to be registered with policytrack."""
    return _load_manifest()[0]


def sample_captures() -> list[WarcCapture]:
    """Every capture of the sample archive, in manifest order."""
    return _load_manifest()[1]


def build_sample_collection(archive: LocalArchive, name: str = "sample") -> str:
    """Add the sample archive to ``archive`` as collection ``name``; returns its archive spec."""
    return archive.add_collection(name, sample_captures())
