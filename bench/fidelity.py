#!/usr/bin/env python3
"""Fidelity and throughput of the normalizer on the paired corpus (raw capture -> corpus markdown).

    .venv/bin/python bench/fidelity.py [CORPUS_DIR] [--workers N] [--threads N] [--rounds N] [--no-reference]

CORPUS_DIR defaults to ../shared/corpus/pllcpp relative to the repository root; an absolute path works
too. Prints one line per document (exact, difflib similarity, extraction, encoding), then

    exact=N/M mean_similarity=S docs_per_s=R
    reference_exact=N/M reference_docs_per_s=R speedup=X

The reference is the plain pipeline run in the same invocation: one fresh Node process with jsdom +
Readability.js per document, html2text afterwards, one document at a time. Our throughput includes
starting the worker pool.

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
import subprocess
import sys
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

# The plain reference pipeline, as a fresh Node process per document.
REFERENCE_JS = r"""
const path = require('path');
const dir = process.env.POLICYTRACK_NODE_MODULES;
const { JSDOM, VirtualConsole } = require(path.join(dir, 'jsdom'));
const { Readability } = require(path.join(dir, '@mozilla/readability'));
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const dom = new JSDOM(input.html, { url: input.url, virtualConsole: new VirtualConsole() });
  const title = dom.window.document.title;
  const article = new Readability(dom.window.document).parse();
  process.stdout.write(JSON.stringify({ title, content: article ? article.content : null }));
});
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


def run_normalizer(pairs: list[Pair], workers: int | None, threads: int, rounds: int) -> tuple[list, float]:
    def one(pair: Pair):
        meta = CaptureMeta(pair.site, pair.original_url, pair.timestamp, headers=STORED_AS)
        try:
            result = normalizer.normalize(pair.payload, meta)
        except PolicytrackError as exc:
            return None, f"{type(exc).__name__}({getattr(exc, 'reason', '')}): {exc}"
        return result, None

    started = time.perf_counter()
    with Normalizer(workers=workers) as normalizer:
        with ThreadPoolExecutor(threads) as executor:
            for _ in range(rounds):
                outcomes = list(executor.map(one, pairs))
    return outcomes, time.perf_counter() - started


def run_reference(pairs: list[Pair]) -> tuple[list[str | None], float]:
    node = find_node()
    env = {**os.environ, "POLICYTRACK_NODE_MODULES": str(find_node_modules())}
    documents: list[str | None] = []
    started = time.perf_counter()
    for pair in pairs:
        url = snapshot_url(pair.timestamp, pair.original_url)
        html = pair.payload.decode("utf-8")
        done = subprocess.run([node, "-e", REFERENCE_JS], input=json.dumps({"html": html, "url": url}).encode(),
                              capture_output=True, env=env)
        if done.returncode != 0:
            documents.append(None)
            continue
        out = json.loads(done.stdout)
        body = to_markdown(out["content"]) if out["content"] is not None else ""
        documents.append(render_document(pair.site, pair.original_url, pair.timestamp, out["title"], body))
    return documents, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", default="../shared/corpus/pllcpp",
                        help="corpus directory (relative paths are relative to the repository root)")
    parser.add_argument("--workers", type=int, default=None, help="normalizer workers (default: one per core)")
    parser.add_argument("--threads", type=int, default=8, help="calling threads, like the crawler's pool")
    parser.add_argument("--rounds", type=int, default=1, help="run the corpus this many times (throughput)")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference pipeline")
    args = parser.parse_args(argv)
    corpus = Path(args.corpus)
    if not corpus.is_absolute():
        corpus = (REPO / corpus).resolve()
    if not (corpus / "index.tsv").is_file():
        print(f"corpus not found: {corpus} (expected index.tsv and the .html/.md pairs)", file=sys.stderr)
        return 2
    pairs = load_pairs(corpus)

    outcomes, elapsed = run_normalizer(pairs, args.workers, args.threads, args.rounds)
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
    docs_per_s = len(pairs) * args.rounds / elapsed
    print(f"exact={exact}/{len(pairs)} mean_similarity={total_similarity / len(pairs):.4f} "
          f"docs_per_s={docs_per_s:.2f}")
    if args.no_reference:
        return 0 if exact == len(pairs) else 1

    references, reference_elapsed = run_reference(pairs)
    reference_exact = sum(doc == pair.expected for doc, pair in zip(references, pairs))
    reference_docs_per_s = len(pairs) / reference_elapsed
    print(f"reference_exact={reference_exact}/{len(pairs)} reference_docs_per_s={reference_docs_per_s:.2f} "
          f"speedup={docs_per_s / reference_docs_per_s:.1f}")
    return 0 if exact == len(pairs) else 1


if __name__ == "__main__":
    sys.exit(main())
