"""``policytrack serve``: the read-only web view and JSON API (package ``web``) under uvicorn.

Binds 127.0.0.1 by default: the database may hold what a user did not mean to publish. ``--host`` exposes
it; on a loopback address the server also answers only to loopback host names (no DNS rebinding).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import Callable

from policytrack.commands.common import EXIT_OK, open_db

LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from web import create_app

    database = open_db(args)
    allowed = LOOPBACK_NAMES + [args.host] if _is_loopback(args.host) else None
    app = create_app(database, allowed_hosts=allowed)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"policytrack: serving {database.display_url} at http://{shown}:{args.port}/ (Ctrl-C to stop)",
          file=sys.stderr, flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, server_header=False)
    finally:
        database.dispose()
    return EXIT_OK


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("serve", cmd_serve, "serve a read-only web view and JSON API of the database")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"),
                   help="uvicorn's log level (default warning)")
