"""The tables, as typed SQLAlchemy 2.0 models.

The chain of custody is Site → Page → Capture (one per CDX row seen) → Snapshot (the raw bytes fetched,
shared by identical payloads) → Version (a run of consecutive captures whose normalized content is the
same) → Change (between consecutive versions). Timestamps of captures are kept as the archive's 14-digit
strings: they sort correctly as text and are what every archive URL is built from.

``migrations/versions/0001_initial.py`` must describe exactly these tables; a test compares the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import COMPRESSION, UTCDateTime, utcnow

# Deterministic constraint names: Alembic's batch mode on SQLite can only alter what it can name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CAPTURE_STATES = ("pending", "fetched", "reused", "inferred", "failed", "skipped")
# States whose capture has a text (its content_sha256): what versions are built from.
NORMALIZED_STATES = ("fetched", "reused", "inferred")
RUN_STATUSES = ("running", "succeeded", "failed", "interrupted")
RUN_TRIGGERS = ("manual", "schedule", "worker")  # worker: one page crawled by `policytrack worker`
# What the archive said the last time a page's captures were listed (storage.sites.record_listing).
LISTING_STATES = ("listed", "blocked", "failed")
RUN_COUNTS = (
    "captures_seen",
    "captures_new",
    "captures_fetched",
    "captures_reused",
    "captures_inferred",
    "captures_skipped",
    "captures_failed",
    "snapshots_new",
    "versions_new",
    "changes_new",
    "pages_failed",
    "errors_count",
    "pages_complete",
    "pages_blocked",
    "rate_limited",
)

Timestamp14 = String(14)
Sha256 = String(64)
# Long enough for real policy URLs, short enough for a PostgreSQL btree entry in the (site_id, url) index.
MAX_URL_LENGTH = 2048


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by `sites remove --keep-history`: no longer crawled, its history still queryable. None: tracked.
    removed_at: Mapped[Optional[datetime]]
    # Kept by the functions that write versions (storage.versions.refresh_site_totals, storage.bulkload;
    # migration 0011_change_summaries), so the sites list sorts and pages 10,000+ sites by an index:
    # how many versions the site's pages have, and when its newest change was seen (its after_timestamp;
    # '' while it has none, so that one descending index orders every site on both backends).
    version_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_change: Mapped[str] = mapped_column(Timestamp14, default="", server_default="")

    pages: Mapped[list["Page"]] = relationship(back_populates="site", order_by="Page.id")


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("site_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(MAX_URL_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship(back_populates="pages")


class CrawlRun(Base):
    __tablename__ = "crawl_runs"
    __table_args__ = (
        CheckConstraint(_one_of("status", RUN_STATUSES), name="status"),
        CheckConstraint(_one_of("trigger", RUN_TRIGGERS), name="trigger"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[Optional[datetime]]
    status: Mapped[str] = mapped_column(String(16), default="running")
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    archive: Mapped[str] = mapped_column(Text)
    # Hostnames the run was limited to; NULL means every tracked site.
    sites: Mapped[Optional[list[str]]] = mapped_column(JSON(none_as_null=True))
    captures_seen: Mapped[int] = mapped_column(default=0)
    captures_new: Mapped[int] = mapped_column(default=0)
    captures_fetched: Mapped[int] = mapped_column(default=0)
    captures_reused: Mapped[int] = mapped_column(default=0)
    captures_inferred: Mapped[int] = mapped_column(default=0)
    captures_skipped: Mapped[int] = mapped_column(default=0)
    captures_failed: Mapped[int] = mapped_column(default=0)
    snapshots_new: Mapped[int] = mapped_column(default=0)
    versions_new: Mapped[int] = mapped_column(default=0)
    changes_new: Mapped[int] = mapped_column(default=0)
    pages_failed: Mapped[int] = mapped_column(default=0)
    errors_count: Mapped[int] = mapped_column(default=0)
    # The first errors of the run (bounded; see repository.MAX_RUN_ERRORS), for `policytrack runs`.
    errors: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Pages whose crawl ended without error (the others' history is provisional: see PageListing),
    # pages the archive refuses to list, and 429 answers met (migration 0005_truthful_runs).
    pages_complete: Mapped[int] = mapped_column(default=0, server_default="0")
    pages_blocked: Mapped[int] = mapped_column(default=0, server_default="0")
    rate_limited: Mapped[int] = mapped_column(default=0, server_default="0")
    # The `policytrack worker` (HOST:PID) that ran it; NULL for runs of the crawl command and the
    # scheduler (migration 0013_distributed).
    worker: Mapped[Optional[str]] = mapped_column(String(200))


class Snapshot(Base):
    """Raw bytes as fetched from the archive, stored once per distinct payload (keyed by its SHA-256)."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(Sha256, unique=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    compression: Mapped[str] = mapped_column(String(16), default=COMPRESSION)
    size: Mapped[int] = mapped_column(BigInteger)
    http_status: Mapped[Optional[int]]
    # [[name, value], ...] in received order: a list, not a dict, because headers repeat.
    headers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    url: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class Capture(Base):
    """One CDX row seen for a page, and what became of it.

    ``failed`` is transient (retried on the next run); ``skipped`` is a final, recorded outcome with a
    reason that yields no version. ``fetched``, ``reused`` (same payload digest as a fetched one) and
    ``inferred`` (never fetched: bisection found the same content on both sides of it) captures carry
    the normalized ``content_sha256`` and make up versions.
    """

    __tablename__ = "captures"
    __table_args__ = (
        UniqueConstraint("page_id", "timestamp"),
        Index(None, "page_id", "digest"),
        CheckConstraint(_one_of("state", CAPTURE_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    timestamp: Mapped[str] = mapped_column(Timestamp14)
    original_url: Mapped[str] = mapped_column(Text)
    status: Mapped[Optional[int]]
    mimetype: Mapped[Optional[str]] = mapped_column(String(255))
    digest: Mapped[Optional[str]] = mapped_column(String(128))
    length: Mapped[Optional[int]] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[Optional[str]] = mapped_column(Text)
    snapshot_id: Mapped[Optional[int]] = mapped_column(ForeignKey("snapshots.id", ondelete="SET NULL"))
    final_url: Mapped[Optional[str]] = mapped_column(Text)
    final_timestamp: Mapped[Optional[str]] = mapped_column(Timestamp14)
    content_sha256: Mapped[Optional[str]] = mapped_column(Sha256)
    extraction: Mapped[Optional[str]] = mapped_column(String(64))
    normalizer_version: Mapped[Optional[str]] = mapped_column(String(64))
    first_run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class VersionText(Base):
    """A normalized document in comparable form, stored once however many versions share it."""

    __tablename__ = "version_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(Sha256, unique=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    compression: Mapped[str] = mapped_column(String(16), default=COMPRESSION)
    chars: Mapped[int]
    words: Mapped[int]


class Version(Base):
    """A maximal run of consecutive normalized captures of a page with the same content.

    A revert (A→B→A) is three versions: the history is a sequence in time, not a set of texts.
    """

    __tablename__ = "versions"
    # AUTOINCREMENT: SQLite would otherwise hand a deleted version's id to the next one, and version ids
    # are shown to users and kept in announcements.
    __table_args__ = (UniqueConstraint("page_id", "first_seen"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    text_id: Mapped[int] = mapped_column(ForeignKey("version_texts.id"))
    content_sha256: Mapped[str] = mapped_column(Sha256)
    first_seen: Mapped[str] = mapped_column(Timestamp14)
    last_seen: Mapped[str] = mapped_column(Timestamp14)
    first_capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"))
    last_capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"))
    capture_count: Mapped[int]
    extraction: Mapped[str] = mapped_column(String(64))
    normalizer_version: Mapped[str] = mapped_column(String(64))
    created_run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    text: Mapped[VersionText] = relationship(lazy="joined")

    @property
    def title(self) -> str:
        return self.text.title


class Change(Base):
    """The step from one version of a page to the next, bracketed by the two captures around it.

    ``technical`` marks a change whose two sides were normalized by different normalizer versions, or one
    that re-normalizing made appear (a ``TechnicalBoundary``): it may exist only because the extractor
    changed, so it is not announced and not counted as a policy change by default.
    """

    __tablename__ = "changes"
    __table_args__ = (
        UniqueConstraint("page_id", "to_version_id"),
        # Deleting a version cascades to the changes that start from it; PostgreSQL needs this index for that.
        Index(None, "from_version_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    from_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    before_timestamp: Mapped[str] = mapped_column(Timestamp14)
    after_timestamp: Mapped[str] = mapped_column(Timestamp14)
    lines_added: Mapped[int]
    lines_removed: Mapped[int]
    technical: Mapped[bool] = mapped_column(Boolean, default=False)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    announced_at: Mapped[Optional[datetime]]
    # The rest of the change's summary (storage.summary), stored when the change is (re)built so that feeds
    # and timelines never diff two texts to describe it (migration 0011_change_summaries).
    similarity: Mapped[Optional[float]] = mapped_column(Float)
    sections: Mapped[Optional[list[str]]] = mapped_column(JSON(none_as_null=True))


# --- scheduling, leases, live checks and announcements ----------------------------------------------
# (storage.leases, storage.scheduling, storage.live, storage.announcements; migration 0003_scheduler.)
# APScheduler keeps its own job table (storage.scheduling.JOBS_TABLE): it has no model on purpose.

CHANNEL_KINDS = ("webhook", "apprise", "feed")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


class Lease(Base):
    """An exclusive, crash-safe claim on a named resource: ``site:HOST``, ``run:ID``, ``scheduler``, ...

    A holder renews ``expires_at`` while it works and deletes the row when done. A claim whose holder
    died is taken over: at once when the holder was a process on this host that no longer exists, after
    ``expires_at`` otherwise. This is what keeps two processes (a scheduler and a cron crawl, say) from
    crawling one site at the same time, and what tells a dead run from a running one.
    """

    __tablename__ = "leases"
    __table_args__ = (Index(None, "owner"),)

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    hostname: Mapped[str] = mapped_column(String(253))
    pid: Mapped[int]
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class ScheduledRun(Base):
    """Which schedule started a crawl run, and for which of its fire times (a coalesced run: the latest)."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (Index(None, "schedule_id"),)

    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"), primary_key=True)
    schedule_id: Mapped[str] = mapped_column(String(191))
    scheduled_for: Mapped[Optional[datetime]]


class IssuedScheduleId(Base):
    """Every schedule id ever issued, so a removed schedule's id (and its runs) never pass to a new one."""

    __tablename__ = "issued_schedule_ids"

    id: Mapped[str] = mapped_column(String(191), primary_key=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveSite(Base):
    """A site whose pages are also fetched live, straight from the site, on every crawl run."""

    __tablename__ = "live_sites"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    enabled_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveCapture(Base):
    """Provenance of a capture fetched from the live site rather than listed by the archive.

    The capture itself is an ordinary ``captures`` row (so it takes part in versions and changes the day
    it is fetched); ``matched_capture_id`` is the archive's first capture of the same text in the same
    version, once the archive has one.
    """

    __tablename__ = "live_captures"
    __table_args__ = (Index(None, "matched_capture_id"),)

    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id", ondelete="CASCADE"), primary_key=True)
    requested_url: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    matched_capture_id: Mapped[Optional[int]] = mapped_column(ForeignKey("captures.id", ondelete="SET NULL"))
    matched_at: Mapped[Optional[datetime]]


class Channel(Base):
    """Where changes are announced: a webhook URL, an Apprise URL, or an Atom feed file to keep written.

    ``since``: changes detected before it are not announced on this channel (a new channel does not
    replay years of history); NULL announces every change not announced yet.
    """

    __tablename__ = "announce_channels"
    __table_args__ = (
        UniqueConstraint("kind", "target"),
        CheckConstraint(_one_of("kind", CHANNEL_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(MAX_URL_LENGTH))
    since: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """The announcement of one change on one push channel: delivered once, retried until then."""

    __tablename__ = "announce_deliveries"
    __table_args__ = (
        Index(None, "channel_id"),
        CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
    )

    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("announce_channels.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[Optional[datetime]]


class PageListing(Base):
    """What the archive answered the last time this page's captures were listed (CDX), and since when.

    Without it a page the archive refuses to list (robots.txt, an exclusion request) or could not list
    would look "not crawled yet" to every query; with it they can say "blocked by the archive since ...".
    ``since``: when the page entered this state (kept while the state stays the same, the reason may vary).
    """

    __tablename__ = "page_listings"
    __table_args__ = (CheckConstraint(_one_of("state", LISTING_STATES), name="state"),)

    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    # The run that last crawled this page to the end without an error. While it is not ``run_id`` (the
    # run that last listed it), the page's last crawl did not complete and its history is provisional.
    complete_run_id: Mapped[Optional[int]]
    # The listing watermark (storage.watermark; migration 0014_listing_watermark): the newest capture of
    # the last listing whose crawl completed, and the policy periods that listing was cut to ([] for a page
    # tracked by URL). The next crawl lists only the captures from there on (CDX ``from``). NULL: list whole.
    listed_until: Mapped[Optional[str]] = mapped_column(Timestamp14)
    listed_windows: Mapped[Optional[list[Any]]] = mapped_column(JSON)


class Renormalization(Base):
    """One page re-normalized to one normalizer version (``policytrack renormalize``), for resuming.

    ``before`` is the page's history as it stood before the first capture was redone: its changes'
    ``[before_timestamp, after_timestamp, from_version_id, to_version_id]``. Kept so that a run cut short and
    resumed still compares against the history the *old* normalizer made; ``finished_at`` is set when the
    page's versions have been rebuilt and its technical changes recorded.
    """

    __tablename__ = "renormalizations"
    __table_args__ = (UniqueConstraint("page_id", "normalizer_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    normalizer_version: Mapped[str] = mapped_column(String(64))
    before: Mapped[list[Any]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[Optional[datetime]]


class TechnicalBoundary(Base):
    """A version boundary that exists, or no longer exists, only because the normalizer changed.

    ``appeared``: re-normalizing made the page's text change between ``before_timestamp`` and
    ``after_timestamp`` where it did not before; every rebuild flags the change found inside that bracket as
    technical. ``disappeared``: a change the old normalizer saw there is gone (its versions merged); the
    row is the record of it, since its Change and Version rows are deleted with the rebuild.
    """

    __tablename__ = "technical_boundaries"
    __table_args__ = (
        UniqueConstraint("page_id", "kind", "after_timestamp"),
        CheckConstraint("kind IN ('appeared', 'disappeared')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    before_timestamp: Mapped[str] = mapped_column(Timestamp14)
    after_timestamp: Mapped[str] = mapped_column(Timestamp14)
    normalizer_version: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- indexes for the research queries (storage.queries.list_changes, storage.search; migration 0002_search)
# `changes --since` reads the newest changes across all sites; a search maps matching texts to versions.
Index(None, Change.after_timestamp)
Index(None, Version.text_id)

# --- indexes for the web view (migration 0008_web_indexes): covering reads at a million versions ------
# A change listing reads both texts' word counts (stored after the body); a search maps texts to sites;
# the Atom feeds list the most recently detected changes.
Index(None, VersionText.id, VersionText.words, VersionText.chars)
Index(None, Version.text_id, Version.page_id, Version.first_seen)
Index(None, Change.created_at)

# --- per-site totals (migration 0011_change_summaries): the sites list sorted by versions or last change,
# most first, paged by keyset, reads these indexes in order.
Index("ix_sites_version_count_hostname", Site.version_count.desc(), Site.hostname)
Index("ix_sites_last_change_hostname", Site.last_change.desc(), Site.hostname)


# --- discovery (storage.discovery; migration 0009_discovery) ----------------------------------------


class DiscoverySite(Base):
    """A site tracked by discovery: given as a domain alone, its privacy page is found on its homepage."""

    __tablename__ = "discovery_sites"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The newest homepage capture the last complete discovery read (NULL: never discovered). A crawl lists
    # only the homepage captures from here on, and re-discovers only if there is a new one.
    homepage_seen_until: Mapped[Optional[str]] = mapped_column(Timestamp14)


class PolicyPeriod(Base):
    """When a page was its site's privacy policy, as discovered on the site's archived homepage.

    ``valid_from``: the first homepage capture linking to it; ``valid_until``: the first homepage capture
    that no longer did (NULL: still the policy page at the last capture). ``found_on``: the homepage capture
    the link was discovered on; ``cross_site``: the policy lives on another site (a group site, a host).
    A site's periods never overlap; a page may have several (the link moved away and back).
    """

    __tablename__ = "policy_periods"
    __table_args__ = (UniqueConstraint("site_id", "valid_from"), Index(None, "page_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    valid_from: Mapped[str] = mapped_column(Timestamp14)
    valid_until: Mapped[Optional[str]] = mapped_column(Timestamp14)
    found_on: Mapped[str] = mapped_column(Timestamp14)
    cross_site: Mapped[bool] = mapped_column(Boolean, default=False)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
