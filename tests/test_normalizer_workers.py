"""The Readability worker pool under failure: hung and crashing workers, concurrency, configuration.

Hangs and crashes are real: ``POLICYTRACK_NORMALIZER_DEBUG=1`` (documented in extract_worker.js) makes a
worker spin forever or exit abruptly on a marked document, and a tiny timeout with a huge document
times out a worker doing genuine work.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from crawler.normalizer import CaptureMeta, Normalizer
from crawler.normalizer import pool as pool_module
from core.errors import ConfigurationError, NotNormalizable, PolicytrackError

FIXTURES = Path(__file__).parent / "fixtures" / "normalizer"
META = CaptureMeta(site="example.com", original_url="http://www.example.com/privacy", timestamp="20100101000000",
                   headers=(("Content-Type", "text/html; charset=utf-8"),))
HANG = b"<html><head><title>x</title></head><body><!--policytrack-debug:hang--><p>text</p></body></html>"
CRASH = b"<html><head><title>x</title></head><body><!--policytrack-debug:crash--><p>text</p></body></html>"


@pytest.fixture()
def policy() -> bytes:
    return (FIXTURES / "policy.html").read_bytes()


@pytest.fixture()
def debug_env(monkeypatch):
    monkeypatch.setenv("POLICYTRACK_NORMALIZER_DEBUG", "1")


def reason_of(normalizer: Normalizer, payload: bytes) -> str:
    with pytest.raises(NotNormalizable) as caught:
        normalizer.normalize(payload, META)
    return caught.value.reason


def test_hung_worker_is_killed_and_replaced(debug_env, policy):
    with Normalizer(workers=1, timeout=3) as normalizer:
        expected = normalizer.normalize(policy, META)
        assert reason_of(normalizer, HANG) == "extractor-timeout"
        # The only worker was replaced: the pool still works, with identical output.
        assert normalizer.normalize(policy, META) == expected


def test_crashed_worker_is_replaced(debug_env, policy):
    with Normalizer(workers=1, timeout=30) as normalizer:
        assert reason_of(normalizer, CRASH) == "extractor-crash"
        assert reason_of(normalizer, CRASH) == "extractor-crash"
        assert normalizer.normalize(policy, META).extraction == "readability"


def test_one_bad_document_does_not_disturb_concurrent_ones(debug_env, policy):
    with Normalizer(workers=2, timeout=5) as normalizer:
        expected = normalizer.normalize(policy, META)
        payloads = [policy, HANG, policy, CRASH, policy, policy, policy, policy]

        def run(payload: bytes):
            try:
                return normalizer.normalize(payload, META)
            except NotNormalizable as exc:
                return exc.reason

        with ThreadPoolExecutor(len(payloads)) as executor:
            outcomes = list(executor.map(run, payloads))
    assert outcomes[1] == "extractor-timeout"
    assert outcomes[3] == "extractor-crash"
    assert all(outcome == expected for i, outcome in enumerate(outcomes) if i not in (1, 3))


def test_genuinely_slow_document_times_out_without_debug_hooks(monkeypatch, policy):
    monkeypatch.delenv("POLICYTRACK_NORMALIZER_DEBUG", raising=False)
    paragraph = b"<p>" + b"We collect data, and we keep it safe. " * 40 + b"</p>\n"
    huge = b"<html><head><title>Huge</title></head><body><div>" + paragraph * 4000 + b"</div></body></html>"
    with Normalizer(workers=1, timeout=0.05) as normalizer:
        assert reason_of(normalizer, huge) == "extractor-timeout"


def test_debug_markers_are_inert_without_the_debug_variable(monkeypatch):
    monkeypatch.delenv("POLICYTRACK_NORMALIZER_DEBUG", raising=False)
    with Normalizer(workers=1, timeout=30) as normalizer:
        assert normalizer.normalize(HANG, META).title == "x"
        assert normalizer.normalize(CRASH, META).title == "x"


def extract_times(policy: bytes, times: int) -> tuple[pool_module.WorkerPool, list[dict]]:
    """One worker, ``times`` extractions of the policy page; the pool (closed) and the responses."""
    pool = pool_module.WorkerPool(1, 30)
    try:
        responses = [pool.extract(policy.decode("utf-8"), "http://www.example.com/privacy") for _ in range(times)]
    finally:
        pool.close()
    return pool, responses


def article(response: dict) -> tuple:
    return response["title"], response["content"], response["extraction"]


def test_workers_are_recycled_after_many_documents(monkeypatch, policy):
    monkeypatch.setattr(pool_module, "MAX_DOCUMENTS_PER_WORKER", 2)
    pool, responses = extract_times(policy, 5)
    assert pool.started == 3  # the first worker, then a new one after the 2nd and the 4th document
    assert all(article(response) == article(responses[0]) for response in responses)
    with Normalizer(workers=1, timeout=30) as normalizer:  # the same through the normalizer
        results = [normalizer.normalize(policy, META) for _ in range(5)]
    assert all(result == results[0] for result in results)


def test_a_worker_over_the_memory_limit_is_recycled(monkeypatch, policy):
    monkeypatch.setattr(pool_module, "RECYCLE_AT_RSS_MB", 1)  # any Node process is larger
    pool, responses = extract_times(policy, 3)
    assert pool.started == 4  # replaced after every document
    assert all(article(response) == article(responses[0]) for response in responses)


def test_a_worker_is_kept_for_many_documents_by_default(policy):
    # Workers get faster over their first thousand documents: recycling them early wastes that warm-up.
    pool, responses = extract_times(policy, 25)
    assert pool.started == 1
    rss = [response["rss"] for response in responses]
    assert all(isinstance(value, int) and 0 < value < pool_module.RECYCLE_AT_RSS_MB * 2 ** 20 for value in rss)


def test_closed_normalizer_refuses_work(policy):
    normalizer = Normalizer(workers=1)
    normalizer.close()
    normalizer.close()  # idempotent
    with pytest.raises(PolicytrackError, match="closed"):
        normalizer.normalize(policy, META)


def test_missing_node_modules_is_a_configuration_error(monkeypatch, tmp_path):
    monkeypatch.setenv("POLICYTRACK_NODE_MODULES", str(tmp_path))
    with pytest.raises(ConfigurationError, match="make install"):
        Normalizer(workers=1)


def test_missing_node_is_a_configuration_error(monkeypatch, tmp_path):
    monkeypatch.setenv("POLICYTRACK_NODE", str(tmp_path / "no-such-node"))
    with pytest.raises(ConfigurationError, match="make install"):
        Normalizer(workers=1)


def test_wrong_readability_version_is_a_configuration_error(monkeypatch, tmp_path):
    modules = tmp_path / "node_modules"
    (modules / "jsdom").mkdir(parents=True)
    (modules / "jsdom" / "package.json").write_text('{"name": "jsdom", "version": "29.1.1"}')
    (modules / "@mozilla" / "readability").mkdir(parents=True)
    (modules / "@mozilla" / "readability" / "package.json").write_text(
        '{"name": "@mozilla/readability", "version": "0.6.0"}')
    monkeypatch.setenv("POLICYTRACK_NODE_MODULES", str(modules))
    with pytest.raises(ConfigurationError, match="0.3.0"):
        Normalizer(workers=1)


def test_invalid_pool_settings(policy):
    with pytest.raises(ConfigurationError):
        Normalizer(workers=0)
    with pytest.raises(ConfigurationError):
        Normalizer(workers=1, timeout=0)


def test_worker_that_cannot_load_its_modules_is_a_configuration_error(monkeypatch, tmp_path, policy):
    # Right version on paper, no code: the worker itself reports the failure at startup.
    modules = tmp_path / "node_modules"
    for name, version in (("jsdom", "29.1.1"), ("@mozilla/readability", "0.3.0")):
        (modules / name).mkdir(parents=True)
        (modules / name / "package.json").write_text(f'{{"name": "{name}", "version": "{version}"}}')
    monkeypatch.setenv("POLICYTRACK_NODE_MODULES", str(modules))
    with Normalizer(workers=1) as normalizer:
        for _ in range(2):  # and keeps saying so, rather than hanging or shrinking the pool
            with pytest.raises(ConfigurationError, match="make install"):
                normalizer.normalize(policy, META)
