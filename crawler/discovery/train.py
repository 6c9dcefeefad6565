"""Fit the policy check's logistic model and write ``policycheck_model.json``.

    .venv/bin/python -m crawler.discovery.train [--shared ../shared]

Plain batch gradient descent on the L2-regularized log loss, classes weighted so the few corpus policies
count as much as the many real non-policy pages; features are standardized first, so each weight reads as
"log-odds per standard deviation" and the weights compare with each other. Deterministic: the same data
gives the same file. The held-out share (``policycheck.split``) is not trained on; ``bench/discovery.py``
reports the model on it.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from crawler.discovery.policycheck import FEATURES, MODEL_PATH, Example, Model, evaluate, features, load_examples, split

L2 = 0.05
STEPS = 4000
LEARNING_RATE = 0.5


def feature_rows(examples: list[Example]) -> np.ndarray:
    """The examples' feature values, one row each, in :data:`FEATURES` order (the slow part: computed once)."""
    return np.array([[features(example.document)[name] for name in FEATURES] for example in examples])


def fit(examples: list[Example], x: np.ndarray | None = None) -> Model:
    """``x``: the examples' :func:`feature_rows`, if already computed."""
    x = feature_rows(examples) if x is None else x
    y = np.array([1.0 if example.is_policy else 0.0 for example in examples])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    positives = y.sum()
    sample_weight = np.where(y == 1, len(y) / (2 * positives), len(y) / (2 * (len(y) - positives)))
    weights = np.zeros(len(FEATURES))
    bias = 0.0
    for _ in range(STEPS):
        p = 1 / (1 + np.exp(-(z @ weights + bias)))
        error = (p - y) * sample_weight
        weights -= LEARNING_RATE * (z.T @ error / len(y) + L2 * weights)
        bias -= LEARNING_RATE * error.mean()
    sources = ("corpus", "realpages", "handwritten")
    counts = {source: sum(1 for example in examples if example.source == source) for source in sources}
    return Model(FEATURES, tuple(mean.tolist()), tuple(scale.tolist()), tuple(weights.tolist()), float(bias),
                 {"examples": counts, "l2": L2, "steps": STEPS})


def cross_validate(examples: list[Example], site_of: Callable[[Example], str], folds: int = 5) -> dict:
    """Held-out figures of the whole training procedure, k-fold by site: every site's examples (a corpus
    domain's snapshots, a real page's host) are held out together, the model is trained again on the other
    folds' examples (hand-written negatives always train), and the held-out verdicts of all folds are pooled.
    Unlike :func:`policycheck.split` (by example name), no site is ever on both sides."""
    x = feature_rows(examples)
    fold_of = [-1 if e.source == "handwritten" else
               int(hashlib.sha256(site_of(e).encode()).hexdigest()[:8], 16) % folds for e in examples]
    pooled = {"tp": 0, "fp": 0, "fn": 0, "positives": 0, "negatives": 0}
    for fold in range(folds):
        train = [i for i, f in enumerate(fold_of) if f != fold]
        model = fit([examples[i] for i in train], x[train])
        result = evaluate([e for e, f in zip(examples, fold_of) if f == fold], model)
        for name in pooled:
            pooled[name] += result[name]
    tp, fp = pooled["tp"], pooled["fp"]
    pooled["precision"] = tp / (tp + fp) if tp + fp else 1.0
    pooled["recall"] = tp / pooled["positives"] if pooled["positives"] else 1.0
    pooled["sites"] = len({site_of(e) for e in examples if e.source != "handwritten"})
    return pooled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2].parent / "shared")
    parser.add_argument("--output", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    corpus, realpages = args.shared / "corpus" / "pllcpp", args.shared / "realpages"
    if not (corpus / "index.tsv").exists() or not (realpages / "index.tsv").exists():
        print(f"error: training needs {corpus} and {realpages}", file=sys.stderr)
        return 2
    train, held_out = split(load_examples(corpus, realpages))
    model = fit(train)
    args.output.write_text(model.to_json(), encoding="utf-8")
    print(model.describe())
    result = evaluate(held_out, model)
    print(f"held out: precision {result['precision']:.3f} recall {result['recall']:.3f} "
          f"({result['positives']} policies, {result['negatives']} other pages)")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
