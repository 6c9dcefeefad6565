"""policytrack as a recurring job: schedules, the scheduler process, live checks, change announcements.

* :mod:`scheduler.schedules` -- ``policytrack schedule add/list/remove``: APScheduler jobs in the
  database's own job store (``storage.scheduling``), editable while no scheduler runs.
* :mod:`scheduler.service` -- ``policytrack scheduler``: the long-running process.
* :mod:`scheduler.jobs` -- the job every schedule runs, and the executor that runs it on the event loop.
* live checks (a page fetched straight from its site on every run) are a fetch, so they live with the
  crawler (:mod:`crawler.live`); the crawl runner calls them.
* :mod:`scheduler.announce`, :mod:`scheduler.feed` -- webhooks, Apprise, the Atom feed.

Design, and why:

**One reactor.** Scrapy runs on Twisted's asyncio reactor, which drives an asyncio event loop;
APScheduler's ``AsyncIOScheduler`` runs on that same loop, and crawls run in it through Scrapy's
``AsyncCrawlerRunner`` (``crawler.runner.LoopCrawl``). A job is a coroutine that awaits its crawl, so no
thread is parked per crawl (a ``TwistedScheduler`` runs jobs in the reactor's thread pool, where a job
blocking on its crawl would hold a thread the storage pipeline needs), the reactor is started once
and never restarted, and APScheduler counts a job as running exactly as long as its crawl lasts:
``max_instances=1`` is "a schedule never runs twice at once" with no extra bookkeeping.

**Turns in the process, leases across processes.** The scheduler runs one crawl at a time (a due
schedule waits its turn): SQLite has a single writer and the archive's rate limits are per process,
so parallel crawls would only contend, and Scrapy already parallelizes inside a crawl. Across
processes a site is leased for the length of a run (``storage.leases``): a cron ``policytrack crawl``
or a scheduler on another host leaves it out of its own run meanwhile. A ``run:ID`` lease tells a live run from one whose process was killed; a killed
holder's leases are taken over at once on the same host (its pid is gone) or after expiry elsewhere.

**Interruptions.** SIGTERM/SIGINT stop the scheduler from starting runs, stop crawls gracefully (stored
captures stay, versions are rebuilt from them, the run is ``interrupted``) and exit 0. After a
``kill -9`` the next process marks the abandoned run ``interrupted``. Either way the next start
resumes each schedule whose last run was interrupted at once, and because every capture is committed on
its own and versions are rebuilt from all captures, the resumed run completes the work without
losing or duplicating anything.

**Announcements exactly once.** Delivery state per (change, channel) is committed after each send;
``Change.announced_at`` is set when no channel is owed the change. A new channel gets only changes
detected after it was added (unless ``--backlog``), so adding one does not replay years of history.
"""
