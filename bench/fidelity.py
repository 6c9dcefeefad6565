#!/usr/bin/env python3
"""Fidelity and throughput of the normalizer on the paired corpus (raw capture -> corpus markdown).

    .venv/bin/python bench/fidelity.py [CORPUS_DIR] [--repeats N] [--rounds N] [--warmup N] [--workers N]
                                       [--reference-node-modules DIR] [--no-reference]

CORPUS_DIR defaults to ../shared/corpus/pllcpp relative to the repository root. Prints one line per
document (exact, difflib similarity, extraction, encoding) and ``exact=N/M``, then throughput, measured
``--repeats`` times, the three sides interleaved so that load from other processes falls on all of them:

    reference_1core   the plain reference pipeline, warm: ONE long-lived Node process with jsdom and
                      Readability.js extracting every document in turn (documents already in memory, no
                      IPC), then html2text on each result; pinned to one core
    ours_1core        the project's normalizer with one worker, the whole process tree pinned to one core
    ours_all          the project's normalizer with its default workers (one per core), no pinning

Each side warms up with ``--warmup`` untimed passes over the corpus *per Node process* (ours on all cores:
that many passes per worker), then times ``--rounds`` passes. A Node process gets faster over its first
hundred or so documents (V8 compiles the hot code, its young generation grows to its set size): the plain
reference took 56, 40 and 32 ms per document over its first three passes and stays at ~33; one of our
workers 45, 24, 21, then ~16. With one warm-up pass in all, each of two workers had seen only half the
corpus and was timed while still warming: that showed as two workers needing ~18% more CPU per document
than one. Equal warm-up per process is the fair comparison, and it is what a crawl sees: its workers live
for thousands of documents (``pool.MAX_DOCUMENTS_PER_WORKER``). Figures are
documents per second; the ratios (``ours_1core/reference``, ``ours_all/reference``, ``all/1core``
scaling) are computed per repeat and summarised as min/median/max. Each side also reports CPU
milliseconds per document over the timed passes (user + system of the measuring process and its Node
workers, read from Linux ``/proc``; the reference's Node process reports its own): load from other
processes changes it far less than throughput, so ``cpu_ratio_reference_over_ours_all`` tells whether
ours does less work, and ``cpu_bound_all_cores_over_reference`` what that allows on every core. Ours
also shows how much of its CPU the Node workers used (``of_which_node_workers``; the rest is the Python
parent: decoding, html2text, pipes).

No caches: the normalizer keeps no content cache, so every timed round redoes every document in full.
A crawl does skip the DOM for a capture whose payload digest its page already normalized (storage's
digest reuse, state ``reused``); that is a crawl-level saving and is not, and must not be, counted here. The reference uses the same
node_modules as the normalizer unless ``--reference-node-modules`` points elsewhere (for example a
jsdom 22 install, the version the issue's figures were taken with).

About the inputs: each ``.html`` file is the dataset's *saved* copy of the capture, one added comment
line first (stripped here). The dataset stored every page as UTF-8 text, whatever its original
encoding, while the pages' own ``<meta charset>`` still names the original one (often iso-8859-1). So
each file is given to the normalizer with ``Content-Type: text/html; charset=utf-8``: the truthful
description of the bytes we hand over, and what an archive serving these files would have to send.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.normalizer import CaptureMeta, Normalizer  # noqa: E402
from crawler.normalizer.markdown import to_markdown  # noqa: E402
from crawler.normalizer.pool import find_node, find_node_modules  # noqa: E402
from core.document import render_document, snapshot_url  # noqa: E402
from core.errors import PolicytrackError  # noqa: E402

STORED_AS = (("Content-Type", "text/html; charset=utf-8"),)

# The plain reference pipeline as one long-lived process: load every document, extract each in turn
# WARMUP times to warm up, then ROUNDS timed passes. Prints {"seconds": s, "results": [...]} (last pass).
REFERENCE_JS = r"""
const path = require('path');
const fs = require('fs');
const dir = process.env.REFERENCE_NODE_MODULES;
const { JSDOM, VirtualConsole } = require(path.join(dir, 'jsdom'));
const { Readability } = require(path.join(dir, '@mozilla/readability'));
const docs = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
const rounds = Number(process.argv[2]);
const warmup = Number(process.argv[3]);
function pass() {
  return docs.map((doc) => {
    const dom = new JSDOM(doc.html, { url: doc.url, virtualConsole: new VirtualConsole() });
    const title = dom.window.document.title;
    const article = new Readability(dom.window.document).parse();
    dom.window.close();
    return { title, content: article ? article.content : null };
  });
}
for (let i = 0; i < warmup; i += 1) pass();
const started = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
let results;
for (let i = 0; i < rounds; i += 1) results = pass();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const used = process.cpuUsage(cpuStart);
process.stdout.write(JSON.stringify({ seconds, cpu: (used.user + used.system) / 1e6, results }));
"""


@dataclass(frozen=True)
class Pair:
    name: str
    site: str
    original_url: str
    timestamp: str
    payload: bytes
    expected: str


def strip_added_comment(raw: bytes) -> bytes:
    """Drop the dataset's ``<!--The following is the downloaded HTML source ...-->`` line."""
    if not raw.lstrip().startswith(b"<!--"):
        return raw
    end = raw.index(b"-->") + 3
    if raw[end:end + 2] == b"\r\n":
        return raw[end + 2:]
    return raw[end + 1:] if raw[end:end + 1] == b"\n" else raw[end:]


def load_pairs(corpus: Path) -> list[Pair]:
    with open(corpus / "index.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        Pair(
            name=Path(row["md_file"]).stem,
            site=row["domain"],
            original_url=row["original_url"],
            timestamp=row["timestamp"],
            payload=strip_added_comment((corpus / row["html_file"]).read_bytes()),
            expected=(corpus / row["md_file"]).read_text(encoding="utf-8"),
        )
        for row in rows
    ]


def similarity(a: str, b: str) -> float:
    return 1.0 if a == b else difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def normalize_all(normalizer: Normalizer, pairs: list[Pair], threads: int) -> list:
    def one(pair: Pair):
        meta = CaptureMeta(pair.site, pair.original_url, pair.timestamp, headers=STORED_AS)
        try:
            return normalizer.normalize(pair.payload, meta), None
        except PolicytrackError as exc:
            return None, f"{type(exc).__name__}({getattr(exc, 'reason', '')}): {exc}"

    with ThreadPoolExecutor(threads) as executor:
        return list(executor.map(one, pairs))


# --- one measurement, run in a child process (so that pinning covers the Node workers it starts) -------

def tree_cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user + system) used so far by this process, and by its live children (the Node workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    children = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == os.getpid():  # fields[1] is the parent pid; [11], [12]: utime, stime in ticks
            children += (int(fields[11]) + int(fields[12])) / tick
    return time.process_time(), children


def measure_ours(pairs: list[Pair], workers: int | None, rounds: int, warmup: int) -> dict:
    with Normalizer(workers=workers) as normalizer:
        threads = 2 * normalizer.workers  # enough callers to keep every worker busy
        for _ in range(warmup * normalizer.workers):  # warm-up: each worker sees ~warmup passes' worth
            normalize_all(normalizer, pairs, threads)
        parent_started, workers_started = tree_cpu_seconds()
        started = time.perf_counter()
        for _ in range(rounds):
            outcomes = normalize_all(normalizer, pairs, threads)
        seconds = time.perf_counter() - started
        parent, workers = tree_cpu_seconds()  # before close: the workers are still there to be read
    exact = sum(result is not None and result.document == pair.expected
                for pair, (result, _) in zip(pairs, outcomes))
    return {"docs": len(pairs) * rounds, "seconds": seconds, "cpu": parent - parent_started + workers - workers_started,
            "worker_cpu": workers - workers_started, "exact": exact, "workers": normalizer.workers}


def measure_reference(pairs: list[Pair], rounds: int, warmup: int, node_modules: str) -> dict:
    docs = [{"html": pair.payload.decode("utf-8"), "url": snapshot_url(pair.timestamp, pair.original_url)}
            for pair in pairs]
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as handle:
        json.dump(docs, handle)
        handle.flush()
        env = {**os.environ, "REFERENCE_NODE_MODULES": node_modules}
        done = subprocess.run([find_node(), "-e", REFERENCE_JS, handle.name, str(rounds), str(warmup)],
                              capture_output=True, env=env, check=True)
    out = json.loads(done.stdout)
    started = time.perf_counter()
    cpu_started = time.process_time()
    documents = []
    for _ in range(rounds):  # html2text after it, on the same core, for every pass
        documents = [
            render_document(pair.site, pair.original_url, pair.timestamp, result["title"],
                            to_markdown(result["content"]) if result["content"] is not None else "")
            for pair, result in zip(pairs, out["results"])
        ]
    seconds = out["seconds"] + time.perf_counter() - started
    cpu = out["cpu"] + time.process_time() - cpu_started
    exact = sum(doc == pair.expected for doc, pair in zip(documents, pairs))
    return {"docs": len(pairs) * rounds, "seconds": seconds, "cpu": cpu, "exact": exact, "workers": 1}


def run_child(corpus: Path, side: str, rounds: int, warmup: int, workers: int | None, cpu: int | None,
              node_modules: str) -> dict:
    argv = [sys.executable, __file__, str(corpus), "--measure", side, "--rounds", str(rounds), "--warmup", str(warmup),
            "--reference-node-modules", node_modules]
    if workers is not None:
        argv += ["--workers", str(workers)]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{side} measurement failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(values: list[float]) -> str:
    return f"min={min(values):.2f} median={statistics.median(values):.2f} max={max(values):.2f}"


def throughput(corpus: Path, args: argparse.Namespace, node_modules: str) -> None:
    cpu = sorted(os.sched_getaffinity(0))[0]
    cores = len(os.sched_getaffinity(0))
    rates: dict[str, list[float]] = {"reference_1core": [], "ours_1core": [], "ours_all": []}
    cpu_ms: dict[str, list[float]] = {side: [] for side in rates}
    for repeat in range(1, args.repeats + 1):
        measured = {}
        if not args.no_reference:
            measured["reference_1core"] = run_child(corpus, "reference", args.rounds, args.warmup, None, cpu,
                                                    node_modules)
        measured["ours_1core"] = run_child(corpus, "ours", args.rounds, args.warmup, 1, cpu, node_modules)
        measured["ours_all"] = run_child(corpus, "ours", args.rounds, args.warmup, args.workers, None,
                                        node_modules)
        for side, figures in measured.items():
            rate = figures["docs"] / figures["seconds"]
            rates[side].append(rate)
            cpu_ms[side].append(1000 * figures["cpu"] / figures["docs"])
            split = (f" of_which_node_workers={1000 * figures['worker_cpu'] / figures['docs']:.1f}"
                     if "worker_cpu" in figures else "")
            print(f"repeat={repeat} {side}_docs_per_s={rate:.2f} cpu_ms_per_doc={cpu_ms[side][-1]:.1f}{split} "
                  f"exact={figures['exact']}/{figures['docs'] // args.rounds} workers={figures['workers']}")
    print(f"cores={cores} rounds={args.rounds} warmup={args.warmup} repeats={args.repeats}")
    for side, values in rates.items():
        if values:
            print(f"{side}_docs_per_s {summary(values)}")
            print(f"{side}_cpu_ms_per_doc {summary(cpu_ms[side])}")
    scaling = [a / b for a, b in zip(rates["ours_all"], rates["ours_1core"])]
    print(f"scaling_all_over_1core {summary(scaling)}")
    if rates["reference_1core"]:
        for side in ("ours_1core", "ours_all"):
            ratios = [a / b for a, b in zip(rates[side], rates["reference_1core"])]
            print(f"ratio_{side}_over_reference {summary(ratios)}")
        # Work per document, whatever else the machine runs: reference CPU / ours CPU (> 1: ours cheaper),
        # and the all-cores throughput that work allows: that ratio times the cores.
        ratios = [a / b for a, b in zip(cpu_ms["reference_1core"], cpu_ms["ours_all"])]
        print(f"cpu_ratio_reference_over_ours_all {summary(ratios)}")
        print(f"cpu_bound_all_cores_over_reference {summary([r * cores for r in ratios])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", default="../shared/corpus/pllcpp",
                        help="corpus directory (relative paths are relative to the repository root)")
    parser.add_argument("--workers", type=int, default=None, help="workers of ours_all (default: one per core)")
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the corpus per measurement")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed passes over the corpus per Node process before timing (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements of each side, interleaved")
    parser.add_argument("--reference-node-modules", default=None,
                        help="node_modules for the reference (default: the normalizer's)")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference pipeline")
    parser.add_argument("--no-throughput", action="store_true", help="fidelity only")
    parser.add_argument("--measure", choices=("ours", "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    corpus = Path(args.corpus)
    if not corpus.is_absolute():
        corpus = (REPO / corpus).resolve()
    if not (corpus / "index.tsv").is_file():
        print(f"corpus not found: {corpus} (expected index.tsv and the .html/.md pairs)", file=sys.stderr)
        return 2
    pairs = load_pairs(corpus)
    node_modules = args.reference_node_modules or str(find_node_modules())

    if args.measure:  # child process: pin (inherited by the Node workers it starts), measure, report
        if args.cpu is not None:
            os.sched_setaffinity(0, {args.cpu})
        figures = (measure_ours(pairs, args.workers, args.rounds, args.warmup) if args.measure == "ours"
                   else measure_reference(pairs, args.rounds, args.warmup, node_modules))
        print(json.dumps(figures))
        return 0

    with Normalizer(workers=args.workers) as normalizer:
        outcomes = normalize_all(normalizer, pairs, 8)
    exact = 0
    total_similarity = 0.0
    for pair, (result, error) in zip(pairs, outcomes):
        if result is None:
            print(f"{pair.name}\texact=no\tsimilarity=0.0000\terror={error}")
            continue
        ratio = similarity(result.document, pair.expected)
        exact += result.document == pair.expected
        total_similarity += ratio
        print(f"{pair.name}\texact={'yes' if result.document == pair.expected else 'no'}\t"
              f"similarity={ratio:.4f}\textraction={result.extraction}\tencoding={result.encoding}")
    print(f"exact={exact}/{len(pairs)} mean_similarity={total_similarity / len(pairs):.4f}")
    if not args.no_throughput:
        throughput(corpus, args, node_modules)
    return 0 if exact == len(pairs) else 1


if __name__ == "__main__":
    sys.exit(main())
