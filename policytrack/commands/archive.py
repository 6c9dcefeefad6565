"""Archive subcommands: serve WARC files with pywb on loopback, and import WARCs into a pywb folder.

A user with their own WARC files can crawl them without setting pywb up by hand::

    policytrack archive serve my-crawl/*.warc.gz          # prints the --archive value, serves until Ctrl-C
    policytrack archive import my-crawl/*.warc.gz --root archive   # keep them in a pywb folder ...
    policytrack archive serve archive                      # ... and serve that folder later

Both are thin over :class:`policytrack.localarchive.LocalArchive` (pywb in its own virtualenv).
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from core.errors import ConfigurationError
from policytrack.commands.common import EXIT_OK

DEFAULT_COLLECTION = "local"
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")


def _warcs(paths: list[str]) -> list[Path]:
    files = []
    for name in paths:
        path = Path(name).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.name.endswith(WARC_SUFFIXES) and p.is_file())
            if not found:
                raise ConfigurationError(f"{name!r} holds no WARC files (*.warc, *.warc.gz, *.arc, *.arc.gz)")
            files.extend(found)
        elif path.is_file():
            if not path.name.endswith(WARC_SUFFIXES):
                raise ConfigurationError(f"{name!r} is not a WARC file (expected .warc, .warc.gz, .arc or .arc.gz)")
            files.append(path)
        else:
            raise ConfigurationError(f"no such file or folder: {name!r}")
    return files


def _is_pywb_root(path: Path) -> bool:
    return (path / "collections").is_dir()


def cmd_archive_import(args: argparse.Namespace) -> int:
    from policytrack.localarchive import LocalArchive

    files = _warcs(args.warcs)
    root = Path(args.root).expanduser()
    archive = LocalArchive(root)  # not started: only wb-manager runs
    archive.add_collection(args.collection, warcs=files)
    print(f"imported {len(files)} WARC file(s) into collection {args.collection!r} of {root}; "
          f"serve it with: policytrack archive serve {root}")
    return EXIT_OK


def cmd_archive_serve(args: argparse.Namespace) -> int:
    from policytrack.localarchive import LocalArchive

    sources = [Path(p).expanduser() for p in args.sources]
    with tempfile.TemporaryDirectory(prefix="policytrack-archive-") as scratch:
        if len(sources) == 1 and _is_pywb_root(sources[0]):
            root = sources[0]
            archive = LocalArchive(root, port=args.port)
        else:  # WARC files, or folders of them: a throwaway pywb folder for this session
            archive = LocalArchive(Path(scratch), port=args.port)
            archive.add_collection(args.collection, warcs=_warcs(args.sources))
        collections = sorted(p.name for p in (archive.root / "collections").iterdir()
                             if p.is_dir() and not p.name.startswith("."))
        if not collections:
            raise ConfigurationError(f"{str(archive.root)!r} has no collections: add WARCs with 'policytrack archive import'")
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        with archive:
            for name in collections:
                print(f"serving collection {name!r}: crawl it with --archive {archive.archive_spec(name)}", flush=True)
            print("stop with Ctrl-C", flush=True)
            while not stop.wait(1.0):
                if not archive.running:
                    raise ConfigurationError(f"pywb stopped unexpectedly; see {archive.log_path}")
    return EXIT_OK


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("archive", lambda args: args.archive_func(args), "serve WARC files with pywb on loopback, or import them")
    sub = p.add_subparsers(dest="archive_command", required=True, metavar="ACTION")
    q = sub.add_parser("serve", help="serve WARC files, folders of them, or a pywb folder until Ctrl-C",
                       description="Serve WARC files (or folders of them, or a folder made by 'archive import' or "
                                   "'demo') with pywb on loopback, and print the --archive value to crawl them with.")
    q.add_argument("sources", nargs="+", metavar="WARC|DIR")
    q.add_argument("--collection", default=DEFAULT_COLLECTION, help=f"collection name for WARC files (default: {DEFAULT_COLLECTION})")
    q.add_argument("--port", type=int, help="loopback port (default: a free one)")
    q.set_defaults(archive_func=cmd_archive_serve)
    q = sub.add_parser("import", help="add WARC files to a pywb folder (to serve later)",
                       description="Add WARC files to a collection in a pywb folder; 'archive serve DIR' serves it.")
    q.add_argument("warcs", nargs="+", metavar="WARC")
    q.add_argument("--root", default="policytrack-archive", help="the pywb folder (default: ./policytrack-archive)")
    q.add_argument("--collection", default=DEFAULT_COLLECTION, help=f"collection name (default: {DEFAULT_COLLECTION})")
    q.set_defaults(archive_func=cmd_archive_import)
