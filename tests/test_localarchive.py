"""The local archive against a real pywb: WARCs in, CDX rows and raw ``id_`` replays out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from core.errors import ArchiveError, ConfigurationError
from policytrack.localarchive import (
    LocalArchive,
    WarcCapture,
    build_sample_collection,
    find_pywb_bin,
    payload_digest,
    sample_captures,
    sample_dir,
    sample_sites,
    write_warc,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # archived redirects are data: never follow them
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def get(url: str) -> tuple[int, Message, bytes]:
    try:
        with _OPENER.open(url, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def base(spec: str) -> str:
    assert spec.startswith("pywb:http://127.0.0.1:")
    return spec.removeprefix("pywb:")


def cdx(spec: str, url: str) -> list[dict]:
    status, _, body = get(f"{base(spec)}/cdx?url={url}&output=json")
    assert status == 200, body[:300]
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def replay(spec: str, timestamp: str, url: str) -> tuple[int, Message, bytes]:
    return get(f"{base(spec)}/{timestamp}id_/{url}")


def memento(headers: Message) -> str:
    return parsedate_to_datetime(headers["Memento-Datetime"]).strftime("%Y%m%d%H%M%S")


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a dead child not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until_dead(pid: int, limit: float = 20.0) -> bool:
    """Poll for a process's end (a bound on waiting, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return not alive(pid)


PAGE = "https://site.example/privacy"
OLD = "https://site.example/privacy.html"
V1 = b"<html><head><title>P</title></head><body><p>First policy.</p></body></html>"
V2 = "<html><body><p>Second policy \u2014 caf\u00e9 \u20ac.</p></body></html>".encode("cp1252")


# ---------------------------------------------------------------------------------------------
# WARC files
# ---------------------------------------------------------------------------------------------


def test_write_warc_is_deterministic_and_standard(tmp_path):
    captures = [
        WarcCapture(PAGE, "20100101000000", V1, headers=[("Content-Type", "text/html"), ("X-Test", "a")]),
        WarcCapture(PAGE, "20110101000000", revisit=True),
        WarcCapture(OLD, "20120101000000", status=301, headers=(("Location", "/privacy"),)),
    ]
    first = write_warc(tmp_path / "a.warc.gz", captures)
    second = write_warc(tmp_path / "sub" / "b.warc.gz", captures)
    assert first.read_bytes() == second.read_bytes()
    assert not list(tmp_path.glob("*.part"))

    with first.open("rb") as fh:
        records = list(ArchiveIterator(fh))
    assert [r.rec_type for r in records] == ["warcinfo", "response", "revisit", "response"]
    response, revisit, redirect = records[1:]
    assert response.rec_headers["WARC-Date"] == "2010-01-01T00:00:00Z"
    assert response.rec_headers["WARC-Target-URI"] == PAGE
    assert response.rec_headers["WARC-Payload-Digest"] == f"sha1:{payload_digest(V1)}"
    assert response.http_headers.get_statuscode() == "200"
    assert response.http_headers["X-Test"] == "a"
    assert response.http_headers["Content-Length"] == str(len(V1))
    assert revisit.rec_headers["WARC-Payload-Digest"] == f"sha1:{payload_digest(V1)}"
    assert revisit.rec_headers["WARC-Refers-To-Date"] == "2010-01-01T00:00:00Z"
    assert redirect.http_headers.get_statuscode() == "301"
    assert redirect.http_headers.protocol == "HTTP/1.1"
    assert redirect.http_headers.statusline == "301 Moved Permanently"
    ids = [r.rec_headers["WARC-Record-ID"] for r in records]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(url="ftp://x.example/p", timestamp="20100101000000"), r"http\(s\) URL"),
        (dict(url="x.example/p", timestamp="20100101000000"), r"http\(s\) URL"),
        (dict(url=PAGE, timestamp="2010"), "14 digits"),
        (dict(url=PAGE, timestamp="20101301000000"), "not a valid date"),
        (dict(url=PAGE, timestamp="20100101000000", body="text"), "bytes"),
        (dict(url=PAGE, timestamp="20100101000000", status=99), "status"),
        (dict(url=PAGE, timestamp="20100101000000", headers=[("X", "a\r\nInjected: 1")]), "line break"),
    ],
)
def test_invalid_capture_is_rejected_with_a_clear_error(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        WarcCapture(**kwargs)


def test_revisit_needs_an_earlier_response_with_the_same_body(tmp_path):
    with pytest.raises(ConfigurationError, match="no earlier response"):
        write_warc(tmp_path / "a.warc.gz", [WarcCapture(PAGE, "20100101000000", revisit=True)])
    later_original = [WarcCapture(PAGE, "20100101000000", revisit=True), WarcCapture(PAGE, "20110101000000", V1)]
    with pytest.raises(ConfigurationError, match="no earlier response"):
        write_warc(tmp_path / "a.warc.gz", later_original)
    different = [WarcCapture(PAGE, "20100101000000", V1), WarcCapture(PAGE, "20110101000000", V2, revisit=True)]
    with pytest.raises(ConfigurationError, match="different"):
        write_warc(tmp_path / "a.warc.gz", different)
    assert not (tmp_path / "a.warc.gz").exists()


# ---------------------------------------------------------------------------------------------
# Served by pywb
# ---------------------------------------------------------------------------------------------


def test_warc_round_trip_through_cdx_and_id_replay(archive_factory):
    spec = archive_factory([
        WarcCapture(PAGE, "20100101000000", V1, headers=[("Content-Type", "text/html"), ("X-Test", "kept")]),
        WarcCapture(PAGE, "20120101000000", V2, headers=[("Content-Type", "text/html")]),
        WarcCapture("https://site.example/other", "20110101000000", b"other"),
    ])
    rows = cdx(spec, PAGE)
    assert [(r["timestamp"], r["status"], r["mime"], r["digest"]) for r in rows] == [
        ("20100101000000", "200", "text/html", payload_digest(V1)),
        ("20120101000000", "200", "text/html", payload_digest(V2)),
    ]

    status, headers, body = replay(spec, "20100101000000", PAGE)
    assert (status, body, memento(headers)) == (200, V1, "20100101000000")
    assert headers["X-Test"] == "kept" and headers["Content-Type"] == "text/html"

    # Raw bytes, not re-encoded: the windows-1252 payload comes back byte for byte.
    status, headers, body = replay(spec, "20120101000000", PAGE)
    assert (status, body, memento(headers)) == (200, V2, "20120101000000")

    # id_ replays the nearest capture, and says which one through Memento-Datetime.
    _, headers, body = replay(spec, "20111231000000", PAGE)
    assert (body, memento(headers)) == (V2, "20120101000000")

    status, headers, _ = replay(spec, "20100101000000", "https://site.example/never-captured")
    assert status == 404 and "Memento-Datetime" not in headers


def test_redirect_capture_is_replayed_with_its_original_location(archive_factory):
    spec = archive_factory([
        WarcCapture(OLD, "20140101000000", b"<p>Moved</p>", status=301,
                    headers=[("Location", "/privacy"), ("Content-Type", "text/html")]),
        WarcCapture(PAGE, "20140101000005", V1),
    ])
    assert [(r["status"], r["timestamp"]) for r in cdx(spec, OLD)] == [("301", "20140101000000")]
    status, headers, body = replay(spec, "20140101000000", OLD)
    assert status == 301
    assert headers["Location"] == "/privacy"  # path-only, exactly as captured
    assert memento(headers) == "20140101000000" and body == b"<p>Moved</p>"


def test_archived_error_status_is_replayed_as_captured(archive_factory):
    spec = archive_factory([WarcCapture(PAGE, "20100101000000", b"Not Found", status=404)])
    assert cdx(spec, PAGE)[0]["status"] == "404"
    status, headers, body = replay(spec, "20100101000000", PAGE)
    assert (status, body, memento(headers)) == (404, b"Not Found", "20100101000000")


def test_revisit_replays_the_original_payload_with_its_own_headers(archive_factory):
    spec = archive_factory([
        WarcCapture(PAGE, "20100101000000", V1, headers=[("Content-Type", "text/html"), ("X-Seen", "first")]),
        WarcCapture(PAGE, "20150101000000", V2),
        WarcCapture(PAGE, "20160101000000", V2, revisit=True,
                    headers=[("Content-Type", "text/html"), ("X-Seen", "second")]),
    ])
    rows = cdx(spec, PAGE)
    assert rows[-1]["mime"] == "warc/revisit" and rows[-1]["digest"] == payload_digest(V2)
    status, headers, body = replay(spec, "20160101000000", PAGE)
    assert (status, body, memento(headers)) == (200, V2, "20160101000000")
    assert headers["X-Seen"] == "second"


def test_collection_added_and_extended_after_start_is_served(local_archive):
    spec = local_archive.archive_spec("late-collection")
    status, _, _ = get(f"{base(spec)}/cdx?url={PAGE}&output=json")
    assert status in (200, 404)  # asked about before it exists: pywb must not cache that answer

    # An empty collection, queried, then filled at once: pywb caches each collection's list of
    # index files by directory mtime (1 s resolution), so the index must exist from the start.
    assert local_archive.add_collection("late-collection") == spec
    assert cdx(spec, PAGE) == []
    local_archive.add_collection("late-collection", [WarcCapture(PAGE, "20100101000000", V1)])
    assert [r["timestamp"] for r in cdx(spec, PAGE)] == ["20100101000000"]

    # More captures for the same collection, after it has been queried.
    local_archive.add_collection("late-collection", [WarcCapture(PAGE, "20110101000000", V2)])
    assert [r["timestamp"] for r in cdx(spec, PAGE)] == ["20100101000000", "20110101000000"]
    assert replay(spec, "20110101000000", PAGE)[2] == V2

    # Adding the same WARC content again is a no-op, not a second copy of every row.
    local_archive.add_collection("late-collection", [WarcCapture(PAGE, "20110101000000", V2)])
    assert len(cdx(spec, PAGE)) == 2


def test_existing_warc_files_are_indexed(archive_factory, tmp_path):
    warc = write_warc(tmp_path / "external.warc.gz", [WarcCapture(PAGE, "20100101000000", V1)])
    spec = archive_factory(warcs=[warc])
    assert replay(spec, "20100101000000", PAGE)[2] == V1
    assert warc.exists()  # copied into the collection, the original is left alone


def test_bad_collection_input_is_rejected(local_archive, tmp_path):
    for name in ("../escape", "", "static", "has space", "-dash-first"):
        with pytest.raises(ConfigurationError, match="invalid collection name"):
            local_archive.add_collection(name, [WarcCapture(PAGE, "20100101000000", V1)])
    with pytest.raises(ConfigurationError, match="not found"):
        local_archive.add_collection("ok-name", warcs=[tmp_path / "missing.warc.gz"])
    not_warc = tmp_path / "notes.txt"
    not_warc.write_text("x")
    with pytest.raises(ConfigurationError, match="not a WARC"):
        local_archive.add_collection("ok-name", warcs=[not_warc])


def test_only_loopback_binding_is_allowed(tmp_path):
    with pytest.raises(ConfigurationError, match="loopback"):
        LocalArchive(tmp_path, host="0.0.0.0")
    assert LocalArchive(tmp_path, host="::1").url.startswith("http://[::1]:")


# ---------------------------------------------------------------------------------------------
# Process lifetime
# ---------------------------------------------------------------------------------------------


def test_stop_leaves_no_process_and_frees_the_port(tmp_path):
    archive = LocalArchive(tmp_path / "own")
    spec = archive.add_collection("c", [WarcCapture(PAGE, "20100101000000", V1)])  # before start
    with archive:
        pid = archive.pid
        assert pid is not None and alive(pid)
        assert archive.start() is archive and archive.pid == pid  # idempotent while running
        assert replay(spec, "20100101000000", PAGE)[2] == V1
    assert not alive(pid)
    assert archive.pid is None and not archive.running
    with pytest.raises(urllib.error.URLError):
        _OPENER.open(f"{archive.url}/", timeout=5)
    archive.stop()  # idempotent
    assert "starting" in (tmp_path / "own" / "pywb.log").read_text()


def test_port_in_use_is_refused_before_spawning(local_archive, tmp_path):
    clash = LocalArchive(tmp_path / "clash", port=local_archive.port)
    with pytest.raises(ArchiveError, match=f"port {local_archive.port} .* already in use"):
        clash.start()
    assert clash.pid is None and not clash.log_path.exists()


def _stand_in_wayback(directory: Path, script: str) -> Path:
    """A fake ``wayback`` for the failure paths a real pywb cannot be made to take on demand."""
    directory.mkdir()
    exe = directory / "wayback"
    exe.write_text(f"#!/bin/sh\n{script}\n")
    exe.chmod(0o755)
    return directory


def test_server_that_dies_while_starting_fails_with_its_log(tmp_path, monkeypatch):
    bindir = _stand_in_wayback(tmp_path / "bin", "echo 'boom: cannot load collections' >&2; exit 3")
    monkeypatch.setenv("POLICYTRACK_PYWB_BIN", str(bindir))
    archive = LocalArchive(tmp_path / "root")
    with pytest.raises(ArchiveError) as excinfo:
        archive.start()
    message = str(excinfo.value)
    assert "exited with code 3" in message and "boom: cannot load collections" in message
    assert str(archive.log_path) in message and archive.pid is None


def test_server_that_never_answers_is_killed(tmp_path, monkeypatch):
    bindir = _stand_in_wayback(tmp_path / "bin", "echo $$ > \"$(dirname \"$0\")/pid\"; exec sleep 300")
    monkeypatch.setenv("POLICYTRACK_PYWB_BIN", str(bindir))
    archive = LocalArchive(tmp_path / "root")
    with pytest.raises(ArchiveError, match="did not answer"):
        archive.start(timeout=1)
    pid = int((bindir / "pid").read_text())
    assert not alive(pid) and archive.pid is None


def _owner(root: Path, script: str) -> subprocess.Popen:
    prelude = "import sys, threading, time\nfrom pathlib import Path\nfrom policytrack.localarchive import LocalArchive\n"
    return subprocess.Popen([sys.executable, "-c", prelude + script, str(root)], stdout=subprocess.PIPE, text=True)


def test_server_dies_with_an_owner_killed_by_sigkill(tmp_path):
    owner = _owner(tmp_path, "a = LocalArchive(Path(sys.argv[1])).start()\nprint(a.pid, flush=True)\ntime.sleep(600)\n")
    try:
        pid = int(owner.stdout.readline())
        assert alive(pid)
        os.kill(owner.pid, signal.SIGKILL)  # no atexit, no finalizer: the kernel's parent-death signal
        owner.wait(timeout=60)
        assert wait_until_dead(pid), f"pywb (pid {pid}) outlived its SIGKILLed owner"
    finally:
        owner.kill()
        owner.wait()


def test_server_started_in_a_thread_outlives_the_thread_but_not_the_process(tmp_path):
    script = (
        "box = []\n"
        "t = threading.Thread(target=lambda: box.append(LocalArchive(Path(sys.argv[1])).start()))\n"
        "t.start(); t.join()\n"
        "import urllib.request\n"
        "opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
        "print(box[0].pid, opener.open(box[0].url + '/').status, flush=True)\n"
        # exits without stop(): the exit-time finalizer must kill the server
    )
    owner = _owner(tmp_path, script)
    try:
        pid, status = map(int, owner.stdout.readline().split())
        assert status == 200  # still serving after the thread that started it ended
        assert owner.wait(timeout=60) == 0
        assert wait_until_dead(pid), f"pywb (pid {pid}) outlived its owner, which exited without stop()"
    finally:
        owner.kill()
        owner.wait()


# ---------------------------------------------------------------------------------------------
# pywb discovery
# ---------------------------------------------------------------------------------------------


def test_find_pywb_bin_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("POLICYTRACK_PYWB_BIN", raising=False)
    default = find_pywb_bin()
    assert default == REPO_ROOT / ".venv-pywb" / "bin" / "wayback"
    assert find_pywb_bin("wb-manager").name == "wb-manager"

    monkeypatch.setenv("POLICYTRACK_PYWB_BIN", str(default.parent))
    assert find_pywb_bin() == default

    monkeypatch.setenv("POLICYTRACK_PYWB_BIN", str(tmp_path))
    with pytest.raises(ConfigurationError, match="POLICYTRACK_PYWB_BIN"):
        find_pywb_bin()
    with pytest.raises(ConfigurationError, match="pywb not found"):
        LocalArchive(tmp_path / "x").start()


# ---------------------------------------------------------------------------------------------
# The bundled sample archive
# ---------------------------------------------------------------------------------------------

MANIFEST = json.loads((sample_dir() / "manifest.json").read_text("utf-8"))


def test_sample_collection_serves_every_manifest_capture(sample_archive):
    for entry in MANIFEST["captures"]:
        status, headers, body = replay(sample_archive, entry["timestamp"], entry["url"])
        where = f"{entry['url']} at {entry['timestamp']}"
        assert status == entry["status"], where
        assert memento(headers) == entry["timestamp"], where
        assert body == (sample_dir() / "pages" / entry["file"]).read_bytes(), where
        for name, value in entry["headers"]:
            # Like the Wayback Machine, pywb replays these under an X-Archive-Orig- prefix.
            if name.lower() in {"date", "server", "cache-control", "strict-transport-security"}:
                name = f"X-Archive-Orig-{name}"
            assert headers[name] == value, f"{where}: {name}"

    for url in {entry["url"] for entry in MANIFEST["captures"]}:
        expected = sorted(e["timestamp"] for e in MANIFEST["captures"] if e["url"] == url)
        assert [r["timestamp"] for r in cdx(sample_archive, url)] == expected


def test_sample_collection_build_is_idempotent(local_archive, sample_archive):
    rows = cdx(sample_archive, sample_sites()[0][1])
    assert build_sample_collection(local_archive, "sample") == sample_archive
    assert cdx(sample_archive, sample_sites()[0][1]) == rows


def test_sample_contains_the_documented_cases():
    sites = sample_sites()
    assert [host for host, _ in sites] == ["acme.example", "birdwatch.example", "photoshare.example.org"]
    assert all(urlsplit(url).hostname == host for host, url in sites)
    entries = MANIFEST["captures"]
    assert len(sample_captures()) == len(entries)
    assert {e["expect"] for e in entries} == {"new-version", "same-text", "duplicate", "redirect", "http-404"}
    page = lambda e: (sample_dir() / "pages" / e["file"]).read_bytes()  # noqa: E731
    by_key = {(e["url"], e["timestamp"]): e for e in entries}

    for e in entries:
        if e["expect"] == "duplicate":
            original = by_key[(e["url"], e["duplicate_of"])]
            assert page(e) == page(original) and original["timestamp"] < e["timestamp"]
        if e["expect"] == "same-text":
            earlier = [o for o in entries if o["url"] == e["url"] and o.get("version") == e["version"]
                       and o["timestamp"] < e["timestamp"]]
            assert earlier and all(page(o) != page(e) for o in earlier)
        if e["expect"] == "redirect":
            assert e["status"] == 301 and dict(e["headers"])["Location"].startswith("/")
            target = by_key[(e["redirect_to"]["url"], e["redirect_to"]["timestamp"])]
            gap = (datetime.strptime(target["timestamp"], "%Y%m%d%H%M%S")
                   - datetime.strptime(e["timestamp"], "%Y%m%d%H%M%S")).total_seconds()
            assert 0 <= gap <= 60 and target["expect"] == "new-version"
            assert urlsplit(target["url"]).path == dict(e["headers"])["Location"]

    cp1252 = [e for e in entries if e["file"].endswith("-cp1252.html")]
    assert cp1252
    for e in cp1252:
        raw = page(e)
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert b'charset=windows-1252"' in raw
        assert "charset" not in dict(e["headers"])["Content-Type"]  # the <meta> is the only declaration
        assert "\u20ac" in raw.decode("cp1252")  # the euro sign: 0x80 in windows-1252, not latin-1

    readme = (sample_dir() / "README.md").read_text("utf-8")
    for e in entries:
        assert e["timestamp"] in readme, f"README.md does not document capture {e['timestamp']}"


def test_sample_pages_are_what_the_generator_makes(tmp_path):
    subprocess.run([sys.executable, str(sample_dir() / "src" / "generate.py"), str(tmp_path)],
                   check=True, capture_output=True)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(sample_dir()) for p in (sample_dir() / "pages").rglob("*") if p.is_file())
    assert made == sorted([Path("manifest.json"), *committed])
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (sample_dir() / rel).read_bytes(), rel
