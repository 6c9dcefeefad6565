"""Scrapy settings for policytrack. Every policytrack-specific knob is a ``POLICYTRACK_*`` setting.

The defaults keep a crawl of the Internet Archive inside its published limits: CDX/timemap endpoints
allow about 30 requests a minute per IP, mementos about 8 a second, and ignoring 429 answers gets the
IP firewalled for an hour, doubling each time.
"""

BOT_NAME = "policytrack"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "policytrack/0.1 (privacy-policy history research; Scrapy)"
ROBOTSTXT_OBEY = False  # we read an archive's API, not the sites themselves

# --- policytrack ---------------------------------------------------------------------------------
POLICYTRACK_ARCHIVE = "https://web.archive.org"
POLICYTRACK_DB = None                          # SQLAlchemy URL; None = storage's default resolution
POLICYTRACK_RUN_ID = None                      # CrawlRun row this crawl reports into (set by the runner)
POLICYTRACK_CDX_RATE_PER_MINUTE = 24           # CDX + timemap share one pool; the archive allows ~30/min
POLICYTRACK_CAPTURE_RATE_PER_SECOND = 8        # raw captures (mementos); the archive allows ~8/s
POLICYTRACK_RETRY_AFTER_DEFAULT = 60           # seconds to pause an endpoint after a 429 without Retry-After
POLICYTRACK_BACKOFF_BASE = 2.0                # seconds before the first retry of a 5xx/timeout; doubles each retry
POLICYTRACK_BACKOFF_MAX = 300.0
POLICYTRACK_MAX_RATE_LIMIT_RETRIES = 6         # 429s tolerated for one request before giving up on it
POLICYTRACK_EXHAUSTIVE = False                # True: fetch every distinct digest instead of bisecting
POLICYTRACK_INCREMENTAL = True                # list only captures from each page's watermark on (False: `crawl --full`)
POLICYTRACK_MAX_REDIRECTS = 5                  # archived redirects followed per capture
POLICYTRACK_REDIRECT_WINDOW = 24 * 3600        # seconds: a redirect target captured further away is not followed
# Days before a discovered page's first policy period its captures are listed from: of those earlier
# captures only the last is fetched, the version in force when the page became the site's policy page.
POLICYTRACK_PERIOD_MARGIN_DAYS = 365
POLICYTRACK_NORMALIZER_WORKERS = None          # Readability worker processes; None = one per core
POLICYTRACK_NORMALIZER_KEEP = False           # True: one Readability pool for every crawl of the process (workers)
POLICYTRACK_NORMALIZER_TIMEOUT = 60            # seconds per document before its worker is restarted
POLICYTRACK_MAX_CAPTURE_BYTES = 50 * 1024 * 1024  # larger captures are recorded as skipped ('too-large')
POLICYTRACK_CONNECT_RETRIES = 2               # retries of a refused/unresolvable connection (each logged), then the page fails
POLICYTRACK_PAGES_IN_FLIGHT = 16               # pages crawled at once; the others wait (memory stays flat)
POLICYTRACK_REDIS_URL = None                   # set (redis://HOST:PORT/DB): every worker shares one politeness budget
POLICYTRACK_WORKER = None                      # the `policytrack worker` (HOST:PID) running the crawl: its runs name it
POLICYTRACK_LEASE_TTL = 300.0                  # seconds a run's leases outlive their last renewal (storage.leases)

# --- Scrapy --------------------------------------------------------------------------------------
CONCURRENT_REQUESTS = 8
# Outputs of one callback processed at once. Scrapy starts this many asyncio tasks for EVERY callback; its
# default (100) made ~100 idle tasks per response -- a seventh of a worker's reactor time in a profile --
# while a callback yields a few items whose writes one lock serializes anyway (StoragePipeline).
CONCURRENT_ITEMS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0                             # pacing is done per endpoint kind by ArchivePolitenessMiddleware
DOWNLOAD_TIMEOUT = 90
DOWNLOAD_MAXSIZE = POLICYTRACK_MAX_CAPTURE_BYTES
DOWNLOAD_WARNSIZE = 10 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]   # 429 is the politeness middleware's
REDIRECT_ENABLED = False                       # archived redirects are data: the spider follows them itself
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False                  # no control endpoints on a crawl (and no token files left behind)
REMOTE_CONTROL_ENABLED = False
HTTPCACHE_ENABLED = False
LOG_LEVEL = "INFO"                             # the scheduler's log; `policytrack crawl` shows WARNING unless asked
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
REACTOR_THREADPOOL_MAXSIZE = 10

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.ArchivePolitenessMiddleware": 560,   # before RetryMiddleware (550) sees responses
    # Last to see a response (after retries and decompression): attaches what the capture normalizes to.
    "crawler.middlewares.NormalizerMiddleware": 50,
}
ITEM_PIPELINES = {
    "crawler.pipelines.StoragePipeline": 300,
}
