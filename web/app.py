"""The ASGI application: HTML pages (:mod:`web.pages`) and the JSON API (:mod:`web.api`) over one database.

Read-only by construction: every route is a GET over a ``storage`` read function. The one write a request
can cause is the search index catching up with texts a crawl queued (as the CLI's ``search`` does), an
internal index, never user data. Every response carries a strict Content-Security-Policy: scripts and
styles only from this server's ``/static/``, no inline script, no plugins, no framing, no third-party
requests -- so even a markup bug could not run what an archived page carries.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session
from starlette.middleware.trustedhost import TrustedHostMiddleware

import storage
from core.errors import ConfigurationError, NoVersion, PolicytrackError, UnknownSite

HERE = Path(__file__).resolve().parent
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class BadRequest(PolicytrackError):
    """A request the app cannot answer as asked (a malformed cursor, say): 400 with the message."""


def encode_cursor(key: tuple[Any, ...] | None) -> str | None:
    """An opaque cursor for the next page: the last row's sort key, as URL-safe base64 of JSON."""
    if key is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, types: tuple[type, ...]) -> tuple[Any, ...] | None:
    """The key in a cursor made by :func:`encode_cursor`, checked against the expected item types."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest("invalid cursor: pass back the next_cursor of a previous page") from None
    if (not isinstance(key, list) or len(key) != len(types)
            or not all(isinstance(k, t) and not isinstance(k, bool) for k, t in zip(key, types))):
        raise BadRequest("invalid cursor: pass back the next_cursor of a previous page")
    if any(isinstance(k, int) and not -2**63 <= k < 2**63 for k in key):
        raise BadRequest("invalid cursor: pass back the next_cursor of a previous page")
    return tuple(key)


def clean(value: str | None) -> str | None:
    """Request text as storage takes it: NUL characters (which PostgreSQL text refuses) are a bad request."""
    if value is not None and "\x00" in value:
        raise BadRequest("text parameters cannot contain NUL characters")
    return value


def create_app(database: storage.Database, *, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The app over ``database``; ``allowed_hosts`` (Host header values) guards a loopback server against
    DNS rebinding: a page on another site cannot read it through a name that resolves to 127.0.0.1."""
    from web import api, pages

    app = FastAPI(
        title="policytrack", version="1",
        description="Read-only history of websites' privacy policies. Field names are those of the CLI's --json.",
        docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
    )
    app.state.database = database
    # Autoescaping on for every template, whatever its name: nothing archived reaches a page unescaped.
    environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined)
    environment.filters["ts"] = pages.fmt_ts
    app.state.templates = Jinja2Templates(env=environment)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def _error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message}, status_code=status)
        return pages.error_page(request, status, message)

    @app.exception_handler(UnknownSite)
    @app.exception_handler(NoVersion)
    async def not_found(request: Request, exc: PolicytrackError) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(ConfigurationError)
    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: PolicytrackError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": jsonable_errors(exc)}, status_code=422)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:])
        return pages.error_page(request, 400, f"invalid {where or 'request'}: {first.get('msg', 'bad value')}")

    return app


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()]


def database_of(request: Request) -> storage.Database:
    return request.app.state.database


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    """A session for one request's reads."""
    with database_of(request).session() as session:
        yield session


def catch_up_search(request: Request) -> None:
    """Index texts a crawl queued, in a short write transaction of its own (as the CLI's ``search`` does)."""
    with database_of(request).session(immediate=True) as session:
        storage.catch_up(session)
