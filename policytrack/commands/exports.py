"""Export subcommands: the corpus as a git repository, JSON lines, and the raw snapshots as a WARC.

``export pllcpp DIR`` lays versions out as the Princeton-Leuven corpus does
(``{c1}/{c1c2}/{c1c2c3}/{hostname}.md``, e.g. ``i/im/img/imgur.com.md``) in a git repository with one
commit per version in time order, dated at the capture, its metadata as JSON in the message body and a
``Policytrack-Version: ID`` trailer. Commits are written through ``git fast-import`` (one process, not
two per version). Re-running appends only versions not exported yet; which ones were exported is read
from the trailers (cached in ``.git/policytrack-export.json`` and checked against HEAD, so a reset or an
amended repository is re-read, never trusted blindly). A version discovered later than newer ones
(an older capture found by a rerun) is still committed on its own, then a "restore" commit puts the
page's latest version back, so the tree always shows the current policy.

A site's first-added page is ``{hostname}.md``; further pages are ``{hostname}~{page id}.md`` (``~``
cannot occur in a hostname). Every path is checked to stay inside DIR: hostnames are re-validated, and
paths resolved through symlinks must not leave the directory.
"""

from __future__ import annotations

import argparse
import calendar
import http
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Callable

from policytrack.commands.common import EXIT_OK, open_db
from core.errors import ConfigurationError, InvalidSite

AUTHOR = "policytrack <policytrack@localhost>"
TRAILER = "Policytrack-Version"
RESTORE_TRAILER = "Policytrack-Restore"
STATE_FILE = "policytrack-export.json"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


# --- paths ---------------------------------------------------------------------------------------------


def corpus_path(hostname: str, page_id: int, first_page: bool) -> str:
    """The corpus-relative path of a site's page: ``i/im/img/imgur.com.md``; refuses non-hostnames."""
    from storage import normalize_hostname

    try:
        valid = normalize_hostname(hostname) == hostname
    except InvalidSite:
        valid = False
    if not valid or "/" in hostname or hostname.startswith("."):
        raise InvalidSite(f"refusing to export site {hostname!r}: not a plain hostname, it could escape the directory")
    name = f"{hostname}.md" if first_page else f"{hostname}~{page_id}.md"
    return f"{hostname[:1]}/{hostname[:2]}/{hostname[:3]}/{name}"


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing anything that resolves (through ``..`` or symlinks) outside ``root``."""
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or target == base:
        raise InvalidSite(f"refusing to write {relative!r}: it resolves outside {str(root)!r}")
    return target


# --- git -----------------------------------------------------------------------------------------------


def _git_env() -> dict[str, str]:
    # The export repository only: never a GIT_DIR/GIT_WORK_TREE inherited from a hook or a shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    return env


def git(repo: Path, *args: str, check: bool = True) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=_git_env())
    except FileNotFoundError:
        raise ConfigurationError("export pllcpp needs git, which is not installed") from None
    if check and result.returncode != 0:
        raise ConfigurationError(f"git {args[0]} failed in {repo}: {(result.stderr or result.stdout).strip()[:500]}")
    return result.stdout.strip() if result.returncode == 0 else ""


def _ranges(ids: Iterable[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in sorted(set(ids)):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def exported_versions(repo: Path, head: str | None) -> set[int]:
    """Version ids already committed: from the state cache if it matches HEAD, else from the trailers."""
    if head is None:
        return set()
    state = repo / ".git" / STATE_FILE
    try:
        cached = json.loads(state.read_text())
        if cached.get("head") == head:
            return {i for a, b in cached["versions"] for i in range(a, b + 1)}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    values = git(repo, "log", f"--format=%(trailers:key={TRAILER},valueonly,separator=%x2C)", head)
    return {int(v) for line in values.splitlines() for v in line.split(",") if v.strip().isdigit()}


def _prepare_repository(directory: Path) -> str | None:
    """Create or check the export repository; returns its HEAD commit (None when it has none)."""
    if directory.exists() and not directory.is_dir():
        raise ConfigurationError(f"cannot export to {directory}: it is not a directory")
    if not (directory / ".git").is_dir():
        if directory.exists() and any(directory.iterdir()):
            raise ConfigurationError(
                f"cannot export to {directory}: it is not empty and not a repository made by policytrack export"
            )
        directory.mkdir(parents=True, exist_ok=True)
        git(directory, "init", "-q", "-b", "main")
        return None
    head = git(directory, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False) or None
    if head is not None:
        trailers = git(directory, "log", "-1", f"--format=%(trailers:key={TRAILER})%(trailers:key={RESTORE_TRAILER})")
        if not trailers:
            raise ConfigurationError(f"cannot export to {directory}: its last commit was not made by policytrack export")
    if git(directory, "status", "--porcelain"):
        raise ConfigurationError(
            f"cannot export to {directory}: the working tree has changes (commit or remove them first; "
            "nothing was written)"
        )
    return head


def _data(text: bytes) -> bytes:
    return b"data %d\n" % len(text) + text + b"\n"


def _epoch(timestamp: str) -> int:
    return calendar.timegm(datetime.strptime(timestamp, "%Y%m%d%H%M%S").timetuple())


@dataclass(frozen=True)
class PllcppResult:
    directory: Path
    versions: int  # commits for new versions
    restored: int  # commits putting a page's latest version back after older ones found late
    already: int  # versions exported by earlier runs
    head: str | None


def export_pllcpp(database: Any, directory: Path) -> PllcppResult:
    """Append every version not exported yet to the corpus repository in ``directory``."""
    from storage.exports import iter_versions, latest_versions, load_versions

    directory = Path(directory)
    head = _prepare_repository(directory)
    done = exported_versions(directory, head)
    branch = git(directory, "symbolic-ref", "-q", "HEAD", check=False)
    if not branch:
        raise ConfigurationError(f"cannot export to {directory}: HEAD is detached (check out a branch first)")
    process = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done", "--date-format=raw"],
        cwd=directory, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_git_env(),
    )
    assert process.stdin is not None
    parent = head
    written: dict[str, tuple[int, int]] = {}  # path -> (page id, version id) last written this run
    exported: list[int] = []
    restored = 0

    def commit(path: str, subject: str, meta: dict[str, Any], trailer: str, when: str, document: str) -> None:
        nonlocal parent
        inside(directory, path)
        message = f"{subject}\n\n{json.dumps(meta, indent=2, ensure_ascii=False)}\n\n{trailer}\n".encode()
        stamp = f"{_epoch(when)} +0000"
        chunk = (
            f"commit {branch}\nauthor {AUTHOR} {stamp}\ncommitter {AUTHOR} {stamp}\n".encode() + _data(message)
            + (f"from {parent}\n".encode() if parent else b"")
            + f"M 100644 inline {path}\n".encode() + _data(document.encode("utf-8")) + b"\n"
        )
        process.stdin.write(chunk)  # type: ignore[union-attr]
        parent = None  # fast-import continues the branch from its own last commit

    try:
        with database.session() as session:
            for v in iter_versions(session, skip=done):
                path = corpus_path(v.site, v.page_id, v.is_first_page)
                commit(path, f"{v.site}: version {v.version_id} ({v.first_seen[:4]}-{v.first_seen[4:6]}-{v.first_seen[6:8]})",
                       v.metadata(), f"{TRAILER}: {v.version_id}", v.timestamp, v.document)
                written[path] = (v.page_id, v.version_id)
                exported.append(v.version_id)
            latest = latest_versions(session, {page for page, _ in written.values()})
            stale = {path: latest[page] for path, (page, vid) in written.items() if latest.get(page, vid) != vid}
            by_id = {v.version_id: v for v in load_versions(session, sorted(set(stale.values())))}
            for path, vid in sorted(stale.items()):
                v = by_id[vid]
                commit(path, f"{v.site}: back to the latest version {vid} after older versions found later",
                       v.metadata(), f"{RESTORE_TRAILER}: {vid}", v.timestamp, v.document)
                restored += 1
        process.stdin.write(b"done\n")
        process.stdin.close()
    except BrokenPipeError:
        pass  # fast-import stopped early: its own message is reported below
    except BaseException:
        process.kill()
        process.wait()
        raise
    error = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.wait() != 0:
        raise ConfigurationError(f"git fast-import failed in {directory}: {error.strip()[:500]}")
    new_head = git(directory, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False) or None
    if new_head and new_head != head:
        git(directory, "read-tree", "-m", "-u", head or EMPTY_TREE, new_head)
    if new_head:
        state = {"head": new_head, "versions": _ranges(done | set(exported))}
        (directory / ".git" / STATE_FILE).write_text(json.dumps(state))
    return PllcppResult(directory, len(exported), restored, len(done), new_head)


# --- files written atomically -----------------------------------------------------------------------


@contextmanager
def atomic_output(target: str, mode: str = "w") -> Iterator[IO[Any]]:
    """A file that appears at ``target`` only once complete (``-`` is standard output, text mode only)."""
    if target == "-":
        if "b" in mode:
            raise ConfigurationError("this export cannot be written to standard output: give a file name")
        yield sys.stdout
        return
    path = Path(target)
    if path.is_dir():
        raise ConfigurationError(f"cannot write {target!r}: it is a directory")
    if not path.parent.resolve().is_dir():
        raise ConfigurationError(f"cannot write {target!r}: directory {str(path.parent)!r} does not exist")
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def export_jsonl(database: Any, target: str, sites: list[str] | None = None) -> int:
    """One JSON object per version (metadata, title, markdown body), in time order; returns the count."""
    from storage.exports import iter_versions

    count = 0
    with database.session() as session, atomic_output(target) as out:
        for v in iter_versions(session, sites):
            out.write(json.dumps({**v.metadata(), "title": v.title, "body": v.body}, ensure_ascii=False) + "\n")
            count += 1
    return count


# --- WARC ------------------------------------------------------------------------------------------------

# Headers an archive adds when it replays a capture, or that described the transfer rather than the
# payload (stored payloads are decoded and whole): not part of the archived response.
_TRANSFER_HEADERS = {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"}
_PASSTHROUGH = {"content-type", "content-language", "content-disposition", "location"}
_ORIG_PREFIX = "x-archive-orig-"


def archived_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The response headers as captured, from those the archive replayed.

    Wayback-style archives return the captured headers prefixed ``X-Archive-Orig-`` and pass a few
    (Content-Type...) through; their own (Memento-Datetime, Link, Date, Content-Location...) go.
    """
    kept = []
    for name, value in headers:
        lower = name.lower()
        if lower.startswith(_ORIG_PREFIX):
            name, lower = name[len(_ORIG_PREFIX):], lower[len(_ORIG_PREFIX):]
        elif lower not in _PASSTHROUGH:
            continue
        if lower in _TRANSFER_HEADERS or not name or any(c in name for c in ":\r\n") or any(c in value for c in "\r\n"):
            continue
        kept.append((name, value))
    return kept


def export_warc(database: Any, target: str, sites: list[str] | None = None) -> int:
    """Every capture as a WARC response record at its URL and time, with its archived status and headers
    (redirects and archived errors included: see :class:`storage.exports.ArchivedResponse`); returns the
    count. Crawling the export gives the same history as the database it came from.

    A payload already written for the same URL becomes a revisit record (identical-payload-digest), as
    the Internet Archive stores unchanged pages. Written gzip-compressed per record (``.warc.gz``).
    """
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from policytrack.localarchive import WarcCapture, warc_record_id, payload_digest
    from storage.exports import iter_snapshots

    if not target.endswith(".warc.gz"):
        raise ConfigurationError(f"WARC file name must end in .warc.gz: {target!r}")
    count = 0
    originals: dict[tuple[str, str], WarcCapture] = {}  # (url, payload sha256) -> first response written
    with database.session() as session, atomic_output(target, "wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="1.0")
        info = b"software: policytrack export warc\r\nformat: WARC File Format 1.0\r\n"
        writer.write_record(writer.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(info), length=len(info), warc_content_type="application/warc-fields",
        ))
        for snap in iter_snapshots(session, sites):
            capture = WarcCapture(url=snap.url, timestamp=snap.timestamp, body=snap.payload,
                                  status=snap.http_status or 200, headers=archived_headers(snap.headers))
            try:
                reason = http.HTTPStatus(capture.status).phrase
            except ValueError:
                reason = "Unknown"
            http_headers = StatusAndHeaders(
                f"{capture.status} {reason}", [*capture.headers, ("Content-Length", str(len(snap.payload)))],
                protocol="HTTP/1.1",
            )
            warc_headers = {"WARC-Record-ID": warc_record_id(snap.url, snap.timestamp, snap.sha256),
                            "WARC-Date": capture.warc_date}
            original = originals.get((snap.url, snap.sha256))
            if original is not None and snap.payload and original.timestamp <= capture.timestamp:
                record = writer.create_revisit_record(
                    snap.url, digest=f"sha1:{payload_digest(snap.payload)}", refers_to_uri=original.url,
                    refers_to_date=original.warc_date, http_headers=http_headers, warc_headers_dict=warc_headers,
                )
            else:
                originals.setdefault((snap.url, snap.sha256), capture)
                record = writer.create_warc_record(
                    snap.url, "response", payload=io.BytesIO(snap.payload), length=len(snap.payload),
                    http_headers=http_headers, warc_headers_dict=warc_headers,
                )
            writer.write_record(record)
            count += 1
    return count


# --- commands --------------------------------------------------------------------------------------------


def cmd_export_pllcpp(args: argparse.Namespace) -> int:
    result = export_pllcpp(open_db(args), Path(args.directory))
    restored = f", {result.restored} restore commit(s)" if result.restored else ""
    print(f"{result.directory}: {result.versions} new version(s) committed{restored}; "
          f"{result.already} exported before")
    return EXIT_OK


def cmd_export_jsonl(args: argparse.Namespace) -> int:
    count = export_jsonl(open_db(args), args.file, args.sites)
    if args.file != "-":
        print(f"{args.file}: {count} version(s)")
    return EXIT_OK


def cmd_export_warc(args: argparse.Namespace) -> int:
    count = export_warc(open_db(args), args.file, args.sites)
    print(f"{args.file}: {count} record(s)")
    return EXIT_OK


PLLCPP_HELP = """\
Lay versions out as the Princeton-Leuven corpus does, in a git repository in DIR:
  {c1}/{c1c2}/{c1c2c3}/{hostname}.md, e.g. i/im/img/imgur.com.md
One commit per version in time order, dated at the capture, with the version's metadata
as JSON in the message and a Policytrack-Version: ID trailer. Running it again appends
only the versions not exported yet."""


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("export", lambda args: args.export_func(args), "export versions: pllcpp (git corpus), jsonl, warc")
    sub = p.add_subparsers(dest="export_format", required=True, metavar="FORMAT")

    def add_format(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, **kwargs)
        # Also accepted after the format (export pllcpp DIR --db URL); SUPPRESS keeps the parent's value.
        parser.add_argument("--db", default=argparse.SUPPRESS, help="database URL or SQLite path")
        return parser

    q = add_format("pllcpp", help="the corpus layout as a git repository, one commit per version",
                   description=PLLCPP_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("directory", metavar="DIR")
    q.set_defaults(export_func=cmd_export_pllcpp)
    q = add_format("jsonl", help="one JSON object per version (metadata, title, body), in time order")
    q.add_argument("file", metavar="FILE", help="output file, or - for standard output")
    q.add_argument("--site", dest="sites", action="append", metavar="SITE", help="only this site (repeatable)")
    q.set_defaults(export_func=cmd_export_jsonl)
    q = add_format("warc", help="the stored raw snapshots as WARC records (.warc.gz), replayable by pywb")
    q.add_argument("file", metavar="FILE")
    q.add_argument("--site", dest="sites", action="append", metavar="SITE", help="only this site (repeatable)")
    q.set_defaults(export_func=cmd_export_warc)
