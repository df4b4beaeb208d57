"""A small emotion classifier learned from the dialogue memory at start-up.

Softmax regression over two views of a message: its sentence embedding (for languages
the embedder understands; the vectors are already in the memory's index, so training
embeds nothing) and hashed word / character unigrams and bigrams (every language). The
labels are the dialogues' session emotions; a session's opening message counts fully,
later turns less, since a conversation drifts from its opening feeling.

It generalises past the cue lists: on the openers of the second bundled dialogue batch,
trained on the first, it was right on 55% of English openers against 37% for cue words
alone (the openers carry their emotion in the situation: "i smell gas in my flat").
Training takes well under a second for a thousand exchanges; ``memory add`` data is
used on the next start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stickerbot.atomic import atomic_path
from stickerbot.retrieval.text import tokenize

log = logging.getLogger(__name__)

HASH_DIM = 4096
# The embedding view is scaled up against the sparse view (both are unit vectors).
EMBEDDING_SCALE = 2.0
LATER_TURN_WEIGHT = 0.4
# Fewer labelled exchanges than this teach a classifier only its examples' quirks; the
# perceiver then votes with the nearest neighbours instead.
MIN_EXAMPLES = 50
# Bump when the features or the training change, so cached weights are not reused.
CACHE_VERSION = 2


def hashed_ngram_ids(text: str, dim: int = HASH_DIM) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero entries of :func:`hashed_ngrams`: (bucket ids, values), a unit vector."""
    tokens = tokenize(text)
    grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    counts: dict[int, float] = {}
    for gram in grams:
        bucket = zlib.crc32(gram.encode("utf-8")) % dim
        counts[bucket] = counts.get(bucket, 0.0) + 1.0
    ids = np.fromiter(counts, dtype=np.int64, count=len(counts))
    values = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
    n = float(np.linalg.norm(values))
    return ids, (values / n if n else values)


def hashed_ngrams(text: str, dim: int = HASH_DIM) -> np.ndarray:
    """Unit vector of hashed unigrams and bigrams of ``text``'s tokens (crc32: stable across runs)."""
    ids, values = hashed_ngram_ids(text, dim)
    v = np.zeros(dim, dtype=np.float32)
    v[ids] = values
    return v


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def fit_softmax(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    *,
    classes: int,
    l2: float = 1e-3,
    steps: int = 400,
    lr: float = 2.0,
) -> np.ndarray:
    """Weighted multinomial logistic regression by full-batch gradient descent (pure numpy)."""
    w = np.zeros((x.shape[1], classes), dtype=np.float32)
    target = np.eye(classes, dtype=np.float32)[y]
    norm = float(weights.sum())
    for _ in range(steps):
        grad = x.T @ ((softmax(x @ w) - target) * weights[:, None]) / norm + l2 * w
        w -= lr * grad
    return w


def fit_softmax_sparse(
    dense: np.ndarray,
    sparse: Sequence[tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    weights: np.ndarray,
    *,
    classes: int,
    l2: float = 1e-3,
    steps: int = 400,
    lr: float = 2.0,
) -> np.ndarray:
    """:func:`fit_softmax` on features [dense | hashed n-grams (sparse) | 1], the same
    objective and steps, computed with torch's embedding_bag over the few non-zero n-grams of
    each text instead of a dense matrix."""
    import torch

    n, e = dense.shape
    d = e + HASH_DIM + 1
    flat = torch.from_numpy(np.concatenate([ids for ids, _ in sparse]).astype(np.int64) + e)
    values = torch.from_numpy(np.concatenate([v for _, v in sparse]).astype(np.float32))
    offsets = torch.tensor([0] + [len(ids) for ids, _ in sparse[:-1]]).cumsum(0)
    dense_t = torch.from_numpy(np.ascontiguousarray(dense, dtype=np.float32))
    target = torch.from_numpy(np.asarray(y, dtype=np.int64))
    w_t = torch.from_numpy(np.asarray(weights, dtype=np.float32))
    norm = float(w_t.sum())
    w = torch.zeros(d, classes, requires_grad=True)
    for _ in range(steps):
        logits = torch.nn.functional.embedding_bag(flat, w, offsets, mode="sum", per_sample_weights=values)
        logits = logits + dense_t @ w[:e] + w[-1]
        loss = (torch.nn.functional.cross_entropy(logits, target, reduction="none") * w_t).sum() / norm
        loss = loss + 0.5 * l2 * (w * w).sum()
        (grad,) = torch.autograd.grad(loss, w)
        with torch.no_grad():
            w -= lr * grad
    return w.detach().numpy()


class TextClassifier:
    """Softmax regression over a message's sentence embedding and hashed n-grams, for any label set."""

    def __init__(
        self, weights: np.ndarray, embedding_dim: int, languages: tuple[str, ...], labels: Sequence[str]
    ):
        self.weights = weights
        self.embedding_dim = embedding_dim
        self.languages = languages
        self.labels = tuple(labels)
        if weights.shape[1] != len(self.labels):
            raise ValueError(f"{weights.shape[1]} weight columns for {len(self.labels)} labels")

    def features(self, text: str, lang: str, vector: np.ndarray | None) -> np.ndarray:
        dense = np.zeros(self.embedding_dim, dtype=np.float32)
        if vector is not None and lang in self.languages:
            dense = EMBEDDING_SCALE * np.asarray(vector, dtype=np.float32)
        return np.concatenate([dense, hashed_ngrams(text), np.ones(1, dtype=np.float32)])

    def probabilities(self, text: str, lang: str, vector: np.ndarray | None = None) -> dict[str, float]:
        p = softmax(self.features(text, lang, vector) @ self.weights)
        return {label: float(p[i]) for i, label in enumerate(self.labels)}

    def probabilities_many(
        self, texts: Sequence[str], langs: Sequence[str], vectors: Sequence[np.ndarray | None]
    ) -> np.ndarray:
        """(n, labels) probabilities of many texts at once."""
        x = np.stack([self.features(t, lg, v) for t, lg, v in zip(texts, langs, vectors, strict=True)])
        return softmax(x @ self.weights)

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        langs: Sequence[str],
        labels: Sequence[str],
        vectors: Sequence[np.ndarray | None],
        sample_weights: Sequence[float],
        *,
        embedding_dim: int,
        languages: tuple[str, ...],
        label_set: Sequence[str],
        l2: float = 1e-3,
    ) -> TextClassifier:
        label_set = tuple(label_set)
        dense = np.zeros((len(texts), embedding_dim), np.float32)
        for i, (lang, v) in enumerate(zip(langs, vectors, strict=True)):
            if v is not None and lang in languages:
                dense[i] = EMBEDDING_SCALE * np.asarray(v, dtype=np.float32)
        y = np.array([label_set.index(label) for label in labels])
        w = fit_softmax_sparse(
            dense,
            [hashed_ngram_ids(t) for t in texts],
            y,
            np.asarray(sample_weights, dtype=np.float32),
            classes=len(label_set),
            l2=l2,
        )
        return cls(w, embedding_dim, languages, label_set)


def train_cached(
    name: str,
    fit: Callable[[], TextClassifier],
    key: object,
    *,
    cache_dir: Path | None,
    embedding_dim: int,
    languages: tuple[str, ...],
    labels: Sequence[str],
) -> TextClassifier:
    """``fit()``, or its weights from ``cache_dir`` when they were trained on the same ``key``
    (everything training depends on: texts, labels, embedder, hyper-parameters). Training takes
    seconds on 2 cores for a few thousand texts, loading the file a millisecond."""
    cache = None
    if cache_dir is not None:
        digest = hashlib.sha256(
            json.dumps(
                [CACHE_VERSION, HASH_DIM, EMBEDDING_SCALE, list(labels), key], ensure_ascii=False
            ).encode("utf-8")
        ).hexdigest()[:16]
        cache = Path(cache_dir) / f"{name}-{digest}.npy"
        if cache.is_file():
            return TextClassifier(np.load(cache), embedding_dim, languages, labels)
    t0 = time.perf_counter()
    model = fit()
    log.info("%s: trained in %.2f s", name, time.perf_counter() - t0)
    if cache is not None:
        # A crash never leaves a half-written cache to load.
        with atomic_path(cache, suffix=".npy") as tmp:
            np.save(tmp, model.weights)
    return model


def classifier_from_memory(
    memory,
    name: str,
    label_of: Callable[[Any], str | None],
    label_set: Sequence[str],
    *,
    cache_dir: Path | None = None,
) -> TextClassifier | None:
    """A classifier of user messages trained on the memory's exchanges that ``label_of`` labels;
    None when there are too few to learn from."""
    labelled = [(e, label_of(e)) for e in memory.exchanges]
    labelled = [(e, label) for e, label in labelled if label]
    if len(labelled) < MIN_EXAMPLES or len({label for _, label in labelled}) < 2:
        return None
    embedder = memory.index.embedder
    languages = tuple(embedder.languages)
    key = [embedder.name, embedder.dim, LATER_TURN_WEIGHT] + [
        [e.id, e.user_message, e.lang, label, bool(e.history)] for e, label in labelled
    ]

    def fit() -> TextClassifier:
        vectors = memory.vectors([e.id for e, _ in labelled])
        return TextClassifier.fit(
            [e.user_message for e, _ in labelled],
            [e.lang for e, _ in labelled],
            [label for _, label in labelled],
            [vectors.get(e.id) for e, _ in labelled],
            [1.0 if not e.history else LATER_TURN_WEIGHT for e, _ in labelled],
            embedding_dim=embedder.dim,
            languages=languages,
            label_set=label_set,
        )

    return train_cached(
        name,
        fit,
        key,
        cache_dir=cache_dir,
        embedding_dim=embedder.dim,
        languages=languages,
        labels=tuple(label_set),
    )
