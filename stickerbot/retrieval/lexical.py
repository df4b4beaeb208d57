"""BM25 over sticker annotation text.

The offline embedder (all-MiniLM-L6-v2) is English-only; BM25 over character
n-grams is what lets a Chinese query find 累 in 好累. It also catches exact
words (names, OCR text) that a small dense model blurs.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from stickerbot.text import tokenize


class BM25Index:
    def __init__(self, ids: list[str], texts: list[str], *, k1: float = 1.2, b: float = 0.75):
        self.ids = list(ids)
        self.k1, self.b = k1, b
        doc_tokens = [tokenize(t) for t in texts]
        lengths = np.array([len(t) for t in doc_tokens], dtype=np.float32)
        self.avg_len = float(lengths.mean()) if len(lengths) else 1.0
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for doc, tokens in enumerate(doc_tokens):
            for term, tf in Counter(tokens).items():
                postings[term].append((doc, tf))
        n = len(texts)
        self._n = n
        self._idf: dict[str, float] = {}
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, plist in postings.items():
            docs = np.array([d for d, _ in plist], dtype=np.int64)
            tf = np.array([f for _, f in plist], dtype=np.float32)
            df = len(plist)
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            self._idf[term] = idf
            norm = tf + k1 * (1 - b + b * lengths[docs] / self.avg_len)
            # Precompute each posting's full BM25 contribution: queries are then sums.
            self._postings[term] = (docs, (idf * tf * (k1 + 1) / norm).astype(np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def self_score(self, query: str) -> float:
        """The score a document identical to ``query`` would get: a per-query scale that turns
        :meth:`scores` into an absolute similarity (about 1 for the same words) rather than a
        rank-relative one. Terms no document has count with the rarest term's idf."""
        tokens = tokenize(query)
        if not tokens:
            return 0.0
        unseen = math.log(1.0 + (self._n + 0.5) / 0.5)
        norm = self.k1 * (1 - self.b + self.b * len(tokens) / self.avg_len)
        return sum(
            self._idf.get(term, unseen) * tf * (self.k1 + 1) / (tf + norm)
            for term, tf in Counter(tokens).items()
        )

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (zeros where nothing matches)."""
        out = np.zeros(len(self.ids), dtype=np.float32)
        for term in tokenize(query):
            hit = self._postings.get(term)
            if hit is not None:
                out[hit[0]] += hit[1]
        return out
