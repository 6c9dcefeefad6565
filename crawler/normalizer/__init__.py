"""Normalizer: one raw archived capture -> the Princeton-Leuven corpus markdown document, byte for byte.

Pure with respect to the project: no database, no network. Readability.js runs in a pool of Node.js
worker processes owned by :class:`Normalizer`; see ``normalizer.py`` for the pipeline.
"""

from crawler.normalizer.model import CaptureMeta, Normalized
from crawler.normalizer.normalizer import NORMALIZER_VERSION, Normalizer, normalize

__all__ = ["NORMALIZER_VERSION", "CaptureMeta", "Normalized", "Normalizer", "normalize"]
