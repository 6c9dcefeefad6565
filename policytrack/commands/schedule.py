"""Scheduling subcommands: schedule add/list/remove, scheduler, notify, announce, feed, live."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timezone
from typing import Any

from policytrack.commands.common import EXIT_ERROR, EXIT_OK, archive_option, db_url, open_db, setting_overrides
from policytrack.commands.distributed import REDIS_ENV, configured_redis
from core.errors import ConfigurationError


def _when(value: Any) -> str:
    """A moment in one labelled zone, UTC, whatever zone APScheduler computed it in (a cron's own)."""
    return f"{value.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC" if value else "-"


# --- schedules --------------------------------------------------------------------------------------
def cmd_schedule_add(args: argparse.Namespace) -> int:
    from scheduler.schedules import add_schedule, grace_from
    from storage.live import set_live

    if bool(args.sites) == bool(args.all):
        raise ConfigurationError("name the sites to crawl, or give --all for every tracked site")
    db = open_db(args)
    try:
        info = add_schedule(db, None if args.all else args.sites, every=args.every, cron=args.cron, tz=args.timezone,
                            grace=grace_from(args.grace), run_now=args.now)
        if args.live:
            if args.all:
                raise ConfigurationError("--live needs the sites named (or use 'policytrack live SITE ...')")
            with db.session(immediate=True) as session:
                set_live(session, args.sites, True)
    finally:
        db.dispose()
    sites = ", ".join(info.sites) if info.sites else "all sites"
    print(f"schedule {info.id}: crawl {sites} {info.trigger}; next run {_when(info.next_run_at)}"
          f"{'; live checks on' if args.live else ''}")
    return EXIT_OK


def cmd_schedule_list(args: argparse.Namespace) -> int:
    from scheduler.schedules import format_duration, list_schedules

    db = open_db(args)
    try:
        schedules = list_schedules(db)
    finally:
        db.dispose()
    if args.json:
        print(json.dumps([s.as_dict() for s in schedules], indent=2))
        return EXIT_OK
    if not schedules:
        print("no schedules: policytrack schedule add SITE --every 1d")
    for s in schedules:
        last = f"last run {s.last_run_id} {s.last_run_status} at {_when(s.last_run_at)}" if s.last_run_id else "never run"
        grace = f"grace {format_duration(s.grace_seconds)}" if s.grace_seconds else "no grace limit"
        print(f"{s.id}\t{', '.join(s.sites) if s.sites else 'all sites'}\t{s.trigger}\t"
              f"next {_when(s.next_run_at)}\t{grace}\t{last}")
    return EXIT_OK


def cmd_schedule_remove(args: argparse.Namespace) -> int:
    from scheduler.schedules import remove_schedule

    db = open_db(args)
    try:
        info = remove_schedule(db, args.id)
    finally:
        db.dispose()
    print(f"removed schedule {info.id} ({', '.join(info.sites) if info.sites else 'all sites'} {info.trigger})")
    return EXIT_OK


def cmd_schedule(args: argparse.Namespace) -> int:
    args.parser.print_help(sys.stderr)
    return EXIT_ERROR


# --- the scheduler process --------------------------------------------------------------------------
def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides = setting_overrides(args)
    if args.workers:
        overrides["POLICYTRACK_NORMALIZER_WORKERS"] = args.workers
    if args.exhaustive:
        overrides["POLICYTRACK_EXHAUSTIVE"] = True
    return overrides


def cmd_scheduler(args: argparse.Namespace) -> int:
    from scheduler.service import SchedulerService

    if args.poll <= 0:
        raise ConfigurationError("--poll must be a positive number of seconds")
    service = SchedulerService(
        db_url(args), archive=archive_option(args), overrides=_overrides(args),
        poll_seconds=args.poll, announce=not args.no_announce, redis_url=configured_redis(args),
    )
    return service.run()


# --- announcements ----------------------------------------------------------------------------------
def cmd_notify_add(args: argparse.Namespace) -> int:
    from storage.announcements import add_channel

    target = args.target
    if args.kind == "webhook" and not target.startswith(("http://", "https://")):
        raise ConfigurationError(f"invalid webhook URL (starting {target[:8]!r}): expected http(s)://...")
    if args.kind == "feed":
        target = os.path.abspath(os.path.expanduser(target))
        if not os.path.isdir(os.path.dirname(target)):
            raise ConfigurationError(f"cannot write a feed to {target!r}: its directory does not exist")
    if args.kind == "apprise":
        _check_apprise(target)
    db = open_db(args)
    try:
        with db.session() as session:
            channel = add_channel(session, args.kind, target, backlog=args.backlog)
    finally:
        db.dispose()
    print(f"channel {channel.id}: {channel.kind} {channel.shown}"
          f"{' (with the backlog of unannounced changes)' if channel.since is None else ''}")
    return EXIT_OK


def _check_apprise(url: str) -> None:
    try:
        import apprise
    except ImportError:
        raise ConfigurationError("Apprise channels need the apprise package: pip install apprise") from None
    if not apprise.Apprise().add(url):
        raise ConfigurationError(f"invalid or unsupported Apprise URL {url.split('://', 1)[0]}://... "
                                 "(see https://github.com/caronc/apprise/wiki)")


def cmd_notify_list(args: argparse.Namespace) -> int:
    from storage.announcements import list_channels

    db = open_db(args)
    try:
        with db.session() as session:
            channels = list_channels(session)
    finally:
        db.dispose()
    if args.json:
        print(json.dumps([{**c.__dict__, "target": c.shown, "since": c.since.isoformat() if c.since else None,
                           "created_at": c.created_at.isoformat()} for c in channels], indent=2))
        return EXIT_OK
    if not channels:
        print("no announcement channels: policytrack notify add webhook https://...")
    for c in channels:
        counts = "" if c.kind == "feed" else f"\tdelivered={c.delivered} pending={c.pending} failed={c.failed}"
        print(f"{c.id}\t{c.kind}\t{c.shown}{counts}")
    return EXIT_OK


def cmd_notify_remove(args: argparse.Namespace) -> int:
    from storage.announcements import remove_channel

    db = open_db(args)
    try:
        with db.session(immediate=True) as session:
            channel = remove_channel(session, args.id)
    finally:
        db.dispose()
    print(f"removed channel {channel.id}: {channel.kind} {channel.shown}")
    return EXIT_OK


def cmd_announce(args: argparse.Namespace) -> int:
    from scheduler.announce import SendPolicy, announce_pending

    db = open_db(args)
    try:
        report = announce_pending(db, SendPolicy(retries=args.retries, timeout=args.timeout))
    finally:
        db.dispose()
    print(f"announcements: {report.describe()}")
    if report.busy:
        return EXIT_OK
    if report.failed or report.errors:
        first = report.errors[0] if report.errors else "see above"
        print(f"policytrack: {report.failed} announcement(s) failed (retried next time); first: {first}",
              file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def cmd_feed(args: argparse.Namespace) -> int:
    from scheduler.feed import feed_bytes, write_feed

    if args.limit < 1:
        raise ConfigurationError("--limit must be at least 1")
    db = open_db(args)
    try:
        if args.output in (None, "-"):
            sys.stdout.buffer.write(feed_bytes(db, limit=args.limit, site=args.site,
                                               include_technical=args.technical))
            sys.stdout.flush()
        else:
            size = write_feed(db, args.output, limit=args.limit, site=args.site, include_technical=args.technical)
            print(f"wrote {args.output} ({size} bytes)")
    finally:
        db.dispose()
    return EXIT_OK


def cmd_live(args: argparse.Namespace) -> int:
    from storage.live import live_sites, set_live

    db = open_db(args)
    try:
        with db.session(immediate=True) as session:
            if args.sites:
                hosts = set_live(session, args.sites, not args.off)
                print(f"live checks {'off' if args.off else 'on'}: {', '.join(hosts)}")
                return EXIT_OK
            hosts = live_sites(session)
    finally:
        db.dispose()
    print("\n".join(hosts) if hosts else "no site has live checks on: policytrack live SITE")
    return EXIT_OK


# --- registration -----------------------------------------------------------------------------------
def _group(command, name: str, help: str) -> Any:
    """A command with subcommands; each subcommand takes --db too (wherever it is written)."""
    parser = command(name, cmd_schedule, help)
    parser.set_defaults(parser=parser)
    sub = parser.add_subparsers(dest=f"{name}_command", metavar="ACTION")

    def action(action_name: str, func, action_help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(action_name, help=action_help, description=action_help)
        p.add_argument("--db", default=argparse.SUPPRESS,
                       help="SQLAlchemy database URL or SQLite path (default: $POLICYTRACK_DB or ./policytrack.db)")
        p.set_defaults(func=func)
        return p

    return action


def _crawl_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--archive", help="https://web.archive.org (default) or pywb:http://HOST:PORT/COLLECTION")
    p.add_argument("--workers", type=int, help="normalizer worker processes per crawl (default: one per core)")
    p.add_argument("--exhaustive", action="store_true", help="fetch every distinct capture instead of bisecting")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a Scrapy/policytrack setting for every crawl (repeatable)")


def register(command) -> None:
    action = _group(command, "schedule", "manage recurring crawls (run by 'policytrack scheduler')")
    p = action("add", cmd_schedule_add, "add a recurring crawl of some sites, or of all sites")
    p.add_argument("sites", nargs="*", metavar="SITE")
    p.add_argument("--all", action="store_true", help="crawl every tracked site (including ones added later)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", metavar="DURATION", help="interval, e.g. 30m, 12h, 1d, 1w")
    when.add_argument("--cron", metavar="EXPR", help="crontab expression, e.g. '0 3 * * *'")
    p.add_argument("--timezone", help="time zone of --cron (default: the machine's)")
    p.add_argument("--grace", metavar="DURATION",
                   help="run a missed fire time (once) if the scheduler is back within this long (default: 1d)")
    p.add_argument("--now", action="store_true", help="also run once as soon as the scheduler sees it")
    p.add_argument("--live", action="store_true", help="turn live checks on for these sites (see 'policytrack live')")
    p = action("list", cmd_schedule_list, "list schedules with their next and last runs")
    p.add_argument("--json", action="store_true")
    p = action("remove", cmd_schedule_remove, "remove a schedule")
    p.add_argument("id", help="schedule id, as shown by 'schedule list' (e.g. s1)")

    p = command("scheduler", cmd_scheduler, "run the schedules: the long-running process (stop with SIGTERM)")
    _crawl_options(p)
    p.add_argument("--poll", type=float, default=10.0, metavar="SECONDS",
                   help="how often to look for schedules added or removed by other commands (default: 10)")
    p.add_argument("--no-announce", action="store_true", help="do not announce changes after runs")
    p.add_argument("--redis", metavar="URL", help=f"queue each schedule's pages for `policytrack worker`s in this "
                                                  f"Redis instead of crawling here (default: ${REDIS_ENV}, if set)")

    action = _group(command, "notify", "manage where changes are announced")
    p = action("add", cmd_notify_add, "announce changes on a webhook, an Apprise URL, or in an Atom feed file")
    p.add_argument("kind", choices=["webhook", "apprise", "feed"])
    p.add_argument("target", help="webhook URL, Apprise URL (mailto://, slack://, json://, ...), or feed file path")
    p.add_argument("--backlog", action="store_true",
                   help="also announce changes detected before now that were never announced")
    p = action("list", cmd_notify_list, "list announcement channels and their delivery counts")
    p.add_argument("--json", action="store_true")
    p = action("remove", cmd_notify_remove, "remove an announcement channel")
    p.add_argument("id", type=int)

    p = command("announce", cmd_announce, "announce unannounced changes now (the scheduler does this after each run)")
    p.add_argument("--retries", type=int, default=3, help="retries per delivery (default: 3)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per HTTP attempt (default: 10)")

    p = command("feed", cmd_feed, "write the Atom feed of recent changes")
    p.add_argument("-o", "--output", help="file to write (atomically); default: standard output")
    p.add_argument("--limit", type=int, default=50, help="number of changes (default: 50)")
    p.add_argument("--site", help="only this site's changes")
    p.add_argument("--technical", action="store_true", help="include changes that may only be normalizer changes")

    p = command("live", cmd_live, "turn live checks (fetching the live page on every run) on or off; list them")
    p.add_argument("sites", nargs="*", metavar="SITE")
    p.add_argument("--off", action="store_true", help="turn live checks off for these sites")
