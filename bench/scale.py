#!/usr/bin/env python3
"""Does a crawl stay flat as the number of pages grows? Time and peak memory per process, by size.

    .venv/bin/python bench/scale.py [--pages 50,200,800,3200] [--captures 40] [--changes 3] [--workers 2]

For each size it builds a synthetic archive (warcio) of that many pages -- ``--captures`` captures a
page spread over ten years, every capture with different bytes (a footer timestamp, as real pages
have), ``--changes`` text changes a page -- serves it with a real pywb on loopback, and crawls it into a
fresh SQLite file through the real CLI (``policytrack crawl``, bisection mode, rate limits lifted).
While the crawl runs, every process of its tree (the crawl itself and its Node.js Readability workers)
is sampled from /proc twice a second. Prints, per size:

    pages, captures listed and fetched, seconds, captures listed per second, Python peak RSS (MB),
    Node workers seen, the largest Node worker's peak RSS and the Node workers' peak RSS together (MB),
    and whether the history is right (every page has changes+1 versions, the run succeeded and says
    every page is complete);

then ``python_peak_growth`` and ``node_peak_growth``: the peak at the largest size divided by the peak
at the smallest (1.0 = flat). Memory is the target: it must not grow with the number of pages.
Time is only informative here (the machine may be shared); it should grow linearly.

Scale-out (``--distributed 1,2,4``, regime a: no archive limit, CPU-bound): the same archive of
``--pages`` pages (the first size) is queued in a throwaway Redis and crawled by 1, 2 and 4
``policytrack worker`` processes into a throwaway PostgreSQL (both from Debian, started here). Prints per
worker count: seconds, pages/min, captures fetched/s (each fetched capture is one normalization),
peak RSS per worker (Python + its Node workers) and the speed-up over one worker; and whether every page
was completed exactly once with the right history.

Regime b (``--ia-limits SCALE``, after regime a): the Internet Archive's limits (24 CDX/min, 8 captures/s)
times SCALE, enforced by a proxy in front of pywb that answers 429 over them and given to every worker as
its rates; per worker count: pages/min, CDX/min and captures/s achieved, the time the limits allow for the
requests made, measured/predicted (~1: the workers run at the limits) and the proxy's 429 count (must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from fetch_efficiency import policy_html  # noqa: E402
from policytrack.localarchive import LocalArchive, WarcCapture  # noqa: E402

LIFTED = ["-s", "POLICYTRACK_CDX_RATE_PER_MINUTE=60000", "-s", "POLICYTRACK_CAPTURE_RATE_PER_SECOND=2000"]


def build_archive(pages: int, captures: int, changes: int, years: int = 10) -> tuple[list[tuple[str, str]], list[WarcCapture]]:
    """``pages`` synthetic sites ((hostname, url) each) and all their captures, spread over ``years`` years
    (ending in 2022 for 10 years; ten more years start ten years earlier)."""
    sites, records = [], []
    start = datetime(2022 - years, 1, 1)
    step = timedelta(days=365 * years // captures)
    for n in range(pages):
        site = f"site{n:05d}.example"
        url = f"https://{site}/privacy"
        sites.append((site, url))
        for i in range(captures):
            version = i * (changes + 1) // captures
            stamp = (start + step * i + timedelta(minutes=n)).strftime("%Y%m%d%H%M%S")
            records.append(WarcCapture(url, stamp, policy_html(site, version, stamp)))
    return sites, records


@dataclass
class Sampled:
    """Peak resident memory of each process of a tree, from /proc."""

    root: int
    peak: dict[int, int] = field(default_factory=dict)        # pid -> peak RSS (bytes)
    names: dict[int, str] = field(default_factory=dict)
    node_total_peak: int = 0
    total_peak: int = 0                                       # the whole tree at once
    cpu: dict[int, float] = field(default_factory=dict)       # pid -> CPU seconds used (user + system), last seen

    def cpu_seconds(self, name: str | None = None) -> float:
        """CPU used by the tree's processes (those called ``name`` only), up to the last sample."""
        return sum(t for pid, t in self.cpu.items() if name is None or self.names.get(pid) == name)

    def sample(self) -> None:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
        tree, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        node_total = total = 0
        for pid in tree:
            rss = _rss(pid)
            if rss is None:
                continue
            self.peak[pid] = max(self.peak.get(pid, 0), rss)
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), _cpu(pid))
            total += rss
            self.names.setdefault(pid, _name(pid))
            if self.names[pid] == "node":
                node_total += rss
        self.node_total_peak = max(self.node_total_peak, node_total)
        self.total_peak = max(self.total_peak, total)

    def of(self, name: str) -> list[int]:
        return [peak for pid, peak in self.peak.items() if self.names.get(pid) == name]


def _rss(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _postmaster(port: int) -> int:
    """The pid of the PostgreSQL server listening on ``port`` (its backends are its children)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"/postgres") and b"-p" in argv and str(port).encode() in argv:
                return int(entry)
    raise SystemExit(f"no PostgreSQL server found on port {port}")


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def add_sites(db_url: str, sites: list[tuple[str, str]]) -> None:
    """Track the sites (in one transaction: ``policytrack add`` per site would dominate the setup)."""
    import storage

    database = storage.open_database(db_url)
    try:
        with database.session() as session:
            for site, url in sites:
                storage.add_site(session, site, url)
    finally:
        database.dispose()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "policytrack.cli", *args], capture_output=True, text=True, cwd=REPO)


def measure(db: str, spec: str, workers: int, extra: tuple[str, ...] = ()) -> tuple[float, Sampled, dict]:
    """Crawl ``spec`` into ``db`` (sites already added); seconds, memory samples and the run record."""
    argv = [sys.executable, "-m", "policytrack.cli", "crawl", "--archive", spec, "--db", db,
            "--workers", str(workers), *LIFTED, *extra]
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampled = Sampled(proc.pid)
    while proc.poll() is None:
        sampled.sample()
        time.sleep(0.5)
    seconds = time.monotonic() - started
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}): {err.strip()[-2000:]}")
    run = json.loads(cli("runs", "--json", "--db", db).stdout)[0]
    return seconds, sampled, run


@dataclass
class CpuShares:
    """CPU seconds used during one distributed run, by component (the whole machine's load on the crawl)."""

    worker_python: float
    worker_node: float
    archive: float       # pywb: on a real deployment the archive is another machine
    postgres: float
    redis: float
    bench: float         # this process: the queue polls and the samples

    @property
    def total(self) -> float:
        return self.worker_python + self.worker_node + self.archive + self.postgres + self.redis + self.bench


def measure_distributed(spec: str, archive_pid: int, sites: list[tuple[str, str]], workers: int, changes: int,
                        tmp: Path, pin: bool, pages_at_once: int, profile: Path | None = None,
                        rates: list[str] = LIFTED) -> tuple[float, dict, list[int], bool, CpuShares]:
    """Queue every page and let ``workers`` worker processes crawl them; seconds, summed run counts,
    peak RSS of each worker's process tree, whether every page is done once and right, and the CPU used.

    ``pin``: worker i (with its Node worker) may run only on core i mod the cores, so one worker is at
    most one core -- the fair baseline for a speed-up on N cores. ``profile``: the first worker runs under
    cProfile, its statistics written there when it stops (its CPU figures then include the profiler's).
    ``rates``: the workers' rate settings (default: lifted)."""
    from sqlalchemy.engine import make_url

    import storage
    from crawler.distributed.queue import PageQueue, connect, enqueue_sites
    from storage.testing import shared_server
    from tests.redisserver import RedisServer

    server = shared_server()
    db = server.create_database()
    cores = os.cpu_count() or 1
    try:
        add_sites(db, sites)
        redis_server = RedisServer(tmp).start()
        try:
            redis = redis_server.url
            queue = PageQueue(connect(redis))
            profiled = ["-m", "cProfile", "-o", str(profile)] if profile else []
            procs = [subprocess.Popen([sys.executable, *(profiled if i == 0 else []),
                                       "-m", "policytrack.cli", "worker", "--redis", redis, "--db", db,
                                       "--archive", spec, "--workers", "1", "--pages", str(pages_at_once), *rates],
                                      cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      preexec_fn=(lambda core=i % cores: os.sched_setaffinity(0, {core})) if pin else None)
                     for i in range(workers)]
            samples = [Sampled(p.pid) for p in procs]
            try:
                # The clock starts once every worker is up (a process start is not crawling) and the pages
                # are queued in-process (so is the queueing command's start).
                while len(queue.status().workers) < workers:
                    assert all(p.poll() is None for p in procs), "a worker exited while starting"
                    time.sleep(0.2)
                others = {name: Sampled(pid) for name, pid in (("archive", archive_pid),
                                                               ("postgres", _postmaster(make_url(db).port)),
                                                               ("redis", redis_server.proc.pid))}
                for sampled in (*samples, *others.values()):
                    sampled.sample()
                before = {name: sampled.cpu_seconds() for name, sampled in others.items()}
                workers_before = [(s.cpu_seconds(), s.cpu_seconds("node")) for s in samples]
                bench_before = time.process_time()
                started = time.monotonic()
                database = storage.open_database(db)
                try:
                    enqueue_sites(queue, database, None)
                finally:
                    database.dispose()
                while True:
                    for sampled in (*samples, *others.values()):
                        sampled.sample()
                    status = queue.status()  # in-process: a CLI call per poll would eat the CPU measured
                    if status.pending == 0 and status.in_flight == 0:
                        break
                    time.sleep(0.5)
                seconds = time.monotonic() - started
                cpu = CpuShares(sum(s.cpu_seconds() - s.cpu_seconds("node") - (b[0] - b[1])
                                    for s, b in zip(samples, workers_before)),
                                sum(s.cpu_seconds("node") - b[1] for s, b in zip(samples, workers_before)),
                                *(others[name].cpu_seconds() - before[name] for name in ("archive", "postgres", "redis")),
                                time.process_time() - bench_before)
                _wait_for_runs_closed(db)  # after the clock: a worker closes its run once the queue is empty
            finally:
                for proc in procs:
                    proc.terminate()
                for proc in procs:
                    proc.wait(timeout=60)
        finally:
            redis_server.stop()
        runs = json.loads(cli("runs", "--json", "--limit", "1000000", "--db", db).stdout)
    finally:
        server.drop_database(db)
    counts: dict[str, int] = {}
    for run in runs:  # every run: a page given back part-way stored some versions before its redo
        for name, value in run["counts"].items():
            counts[name] = counts.get(name, 0) + value
    cut_short = [r for r in runs if r["status"] != "succeeded"]
    if cut_short:
        print(f"  runs not succeeded: {[(r['status'], r['errors'][:1]) for r in cut_short][:3]}", flush=True)
    # A worker's run takes many pages: each page completed once in all the runs together, no failed run.
    right = (not status.failed and counts.get("pages_complete") == len(sites)
             and not [r for r in runs if r["status"] == "failed"]
             and counts.get("versions_new") == len(sites) * (changes + 1))
    peaks = [s.total_peak for s in samples]
    return seconds, counts, peaks, right, cpu


def _wait_for_runs_closed(db: str, timeout: float = 15.0) -> None:
    """Wait (a little) until no run is running, so stopping the workers interrupts nothing."""
    import storage

    database = storage.open_database(db)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with database.session() as session:
                if not storage.list_runs(session, None, status="running"):
                    return
            time.sleep(0.2)
    finally:
        database.dispose()


def main_distributed(args: argparse.Namespace) -> int:
    size = int(args.pages.split(",")[0])
    counts_of_workers = [int(n) for n in args.distributed.split(",")]
    cores = os.cpu_count() or 1
    print(f"regime a (no archive limit): {size} pages, {args.captures} captures each, {cores} cores, workers "
          f"{'pinned one core each' if args.pin else 'not pinned'}; CPU columns: CPU seconds per page", flush=True)
    print(f"{'workers':>7} {'seconds':>8} {'pages/min':>9} {'fetched/s':>9} {'worker_peak_MB':>14} "
          f"{'speed-up':>8} {'history':>7} {'py':>5} {'node':>5} {'pywb':>5} {'pg':>5} {'redis':>5} {'bench':>5} "
          f"{'load':>5}", flush=True)
    ok, baseline, first = True, None, None
    with tempfile.TemporaryDirectory() as tmp, LocalArchive(Path(tmp) / "archive") as archive:
        sites, records = build_archive(size, args.captures, args.changes)
        spec = archive.add_collection(f"scale{size}", records)
        # Warm-up (not shown): pywb loads its index, the OS caches the code, PostgreSQL its template.
        measure_distributed(spec, archive.pid, sites[:8], 1, args.changes, Path(tmp), args.pin, args.pages_at_once)
        for workers in counts_of_workers:
            profile = args.profile if args.profile and workers == counts_of_workers[0] else None
            seconds, counts, peaks, right, cpu = measure_distributed(spec, archive.pid, sites, workers, args.changes,
                                                                     Path(tmp), args.pin, args.pages_at_once, profile)
            ok &= right
            rate = size / seconds * 60
            baseline = baseline or rate
            per_page = [c / size for c in (cpu.worker_python, cpu.worker_node, cpu.archive, cpu.postgres, cpu.redis,
                                           cpu.bench)]
            print(f"{workers:>7} {seconds:>8.1f} {rate:>9.1f} {counts.get('captures_fetched', 0) / seconds:>9.1f} "
                  f"{max(peaks) / 2**20:>14.0f} {rate / baseline:>8.2f} {'right' if right else 'WRONG':>7} "
                  + " ".join(f"{c:>5.3f}" for c in per_page) + f" {cpu.total / (seconds * cores):>5.0%}", flush=True)
            first = first or (workers, cpu, size)
    print("load: CPU used by everything above / (seconds x cores); the rest of the machine is other programs")
    if args.profile:
        import pstats

        print(f"profile of the first worker of the {counts_of_workers[0]}-worker run ({args.profile}), "
              "top functions by own time:")
        pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(25)
    # What the CPU per page allows on this machine with nothing else running: a worker is at most one core
    # (its Python and its Node worker), and everything -- pywb, PostgreSQL, Redis -- shares the cores.
    n1, cpu1, pages1 = first
    worker_seconds, all_seconds = (cpu1.worker_python + cpu1.worker_node) / pages1, cpu1.total / pages1
    alone = min(1.0, cores / n1) / worker_seconds if n1 == 1 else None
    for workers in counts_of_workers:
        rate = min(workers / worker_seconds, cores / all_seconds)
        print(f"ceiling from CPU per page ({workers} worker(s), {cores} cores, nothing else running): "
              f"{rate * 60:.0f} pages/min" + (f", speed-up {rate / alone:.2f}" if alone else ""))
    if args.ia_limits:
        ok &= regime_b(args, size, counts_of_workers)
    return 0 if ok else 1


def regime_b(args: argparse.Namespace, size: int, counts_of_workers: list[int]) -> bool:
    """Regime b: the Internet Archive's per-IP limits, time-scaled by ``--ia-limits``, enforced by a proxy in
    front of pywb that answers 429 over them (as the archive does) and given to every worker as its rates.
    The workers share one budget (Redis), so together they must never exceed the limits (0 answers 429)
    and the crawl must take what the limits allow: measured/predicted ~1 whatever the number of workers."""
    from crawler import settings as defaults
    from tests.faultproxy import RateLimitingProxy

    cdx_rate = defaults.POLICYTRACK_CDX_RATE_PER_MINUTE * args.ia_limits
    capture_rate = defaults.POLICYTRACK_CAPTURE_RATE_PER_SECOND * args.ia_limits
    window = 5.0  # seconds: the proxy counts each kind's requests in any window this long (+1 for the wire's jitter)
    limits = {"cdx": (int(cdx_rate / 60 * window) + 1, window), "capture": (int(capture_rate * window) + 1, window)}
    rates = ["-s", f"POLICYTRACK_CDX_RATE_PER_MINUTE={cdx_rate:g}", "-s", f"POLICYTRACK_CAPTURE_RATE_PER_SECOND={capture_rate:g}",
             "-s", "POLICYTRACK_RETRY_AFTER_DEFAULT=1"]
    print(f"regime b (the Internet Archive's limits x {args.ia_limits:g}: {cdx_rate:g} CDX/min and {capture_rate:g} "
          f"captures/s for all workers together, enforced by a proxy answering 429 over them): {size} pages", flush=True)
    print(f"{'workers':>7} {'seconds':>8} {'pages/min':>9} {'CDX/min':>8} {'captures/s':>10} {'predicted_s':>11} "
          f"{'measured/predicted':>18} {'429s':>5} {'history':>7}", flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as tmp, LocalArchive(Path(tmp) / "archive") as archive:
        sites, records = build_archive(size, args.captures, args.changes)
        collection = archive.add_collection(f"limited{size}", records).rsplit("/", 1)[1]
        for workers in counts_of_workers:
            with RateLimitingProxy(archive.url, limits) as proxy:
                seconds, _, _, right, _ = measure_distributed(
                    f"pywb:{proxy.url}/{collection}", archive.pid, sites, workers, args.changes, Path(tmp), args.pin,
                    args.pages_at_once, rates=rates)
                cdx, captures = proxy.count("cdx"), proxy.count("capture")
                # 429s are also counted as hits of their kind; what the limits allow is the granted requests.
                predicted = max(cdx / (cdx_rate / 60), captures / capture_rate)
                print(f"{workers:>7} {seconds:>8.1f} {size / seconds * 60:>9.1f} {cdx / seconds * 60:>8.1f} "
                      f"{captures / seconds:>10.1f} {predicted:>11.1f} {seconds / predicted:>18.2f} {proxy.rejected:>5} "
                      f"{'right' if right else 'WRONG':>7}", flush=True)
                ok &= right and proxy.rejected == 0
    print("predicted: the time the limits allow for the requests made (max of CDX requests / CDX rate and "
          "fetches / capture rate); 429s must be 0 -- the workers together never exceed the limits")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", default="50,200,800,3200", help="sizes to crawl, comma-separated")
    parser.add_argument("--captures", type=int, default=40, help="captures per page")
    parser.add_argument("--changes", type=int, default=3, help="text changes per page")
    parser.add_argument("--workers", type=int, default=2, help="normalizer (Node) workers")
    parser.add_argument("--distributed", metavar="N,N,...",
                        help="scale-out instead: crawl the first size with N worker processes each (e.g. 1,2,4)")
    parser.add_argument("--pages-at-once", type=int, default=4,
                        help="scale-out: pages each worker crawls at once (its --pages; default 4)")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="scale-out: run the first worker of the first count under cProfile, statistics to FILE")
    parser.add_argument("--ia-limits", type=float, metavar="SCALE",
                        help="scale-out: also regime b, the Internet Archive's limits x SCALE enforced by a proxy "
                             "(e.g. 10: 240 CDX/min and 80 captures/s for all workers together)")
    parser.add_argument("--pin", action="store_true",
                        help="scale-out: pin worker i (and its Node worker) to core i mod cores: 1 worker = 1 core")
    args = parser.parse_args()
    if args.distributed:
        return main_distributed(args)
    sizes = [int(n) for n in args.pages.split(",")]
    print(f"{'pages':>6} {'listed':>8} {'fetched':>8} {'seconds':>8} {'listed/s':>8} {'py_peak_MB':>10} "
          f"{'nodes':>5} {'node_max_MB':>11} {'node_sum_MB':>11} {'history':>7}", flush=True)
    peaks: dict[int, tuple[int, int]] = {}
    ok = True
    with tempfile.TemporaryDirectory() as tmp, LocalArchive(Path(tmp) / "archive") as archive:
        for size in sizes:
            sites, records = build_archive(size, args.captures, args.changes)
            spec = archive.add_collection(f"scale{size}", records)
            db = f"sqlite:///{tmp}/scale{size}.db"
            add_sites(db, sites)
            seconds, sampled, run = measure(db, spec, args.workers)
            counts = run["counts"]
            right = (run["status"] == "succeeded" and counts["pages_complete"] == size
                     and counts["versions_new"] == size * (args.changes + 1))
            ok &= right
            python = sampled.peak.get(sampled.root, 0)
            nodes = sampled.of("node")
            peaks[size] = (python, sampled.node_total_peak)
            mb = lambda b: b / 2**20  # noqa: E731
            print(f"{size:>6} {counts['captures_seen']:>8} {counts['captures_fetched']:>8} {seconds:>8.1f} "
                  f"{counts['captures_seen'] / seconds:>8.1f} {mb(python):>10.0f} {len(nodes):>5} "
                  f"{mb(max(nodes, default=0)):>11.0f} {mb(sampled.node_total_peak):>11.0f} "
                  f"{'right' if right else 'WRONG':>7}", flush=True)
    first, last = peaks[sizes[0]], peaks[sizes[-1]]
    print(f"python_peak_growth={last[0] / max(1, first[0]):.2f} node_peak_growth={last[1] / max(1, first[1]):.2f} "
          f"(peak at {sizes[-1]} pages / peak at {sizes[0]} pages) history={'right' if ok else 'WRONG'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
