"""Small text classifiers learned from the dialogue memory at start-up: the intent of a user's
message, and the register of a reply (which polarity of message it answers).

Softmax regression over a text's sentence embeddings and its hashed word / character unigrams
and bigrams (every language). The embeddings come from one or more views: the memory's own
embedder (MiniLM offline, English only; its vectors of user messages are already in the index)
and a multilingual one (USE) that also reads Chinese. Labels come from the dialogues (each
turn's hand-labelled intent); later turns of a conversation count less, rare labels more.
Training takes seconds; the weights are cached under a hash of everything they depend on, and
``memory add`` data is used on the next start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stickerbot.atomic import atomic_path
from stickerbot.embeddings.base import cached_queries
from stickerbot.text import tokenize

log = logging.getLogger(__name__)

HASH_DIM = 4096
# The embedding view is scaled up against the sparse view (both are unit vectors).
EMBEDDING_SCALE = 2.0
LATER_TURN_WEIGHT = 0.4
# Fewer labelled exchanges than this teach a classifier only its examples' quirks; the
# perceiver then votes with the nearest neighbours instead.
MIN_EXAMPLES = 50
# Bump when the features or the training change, so cached weights are not reused.
CACHE_VERSION = 3


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


@dataclass(frozen=True)
class LabelledText:
    """A training text with no dialogue around it (an intent example)."""

    id: str
    text: str
    lang: str
    label: str


@dataclass(frozen=True)
class DenseView:
    """One sentence embedder that a model reads texts with, for the languages it covers."""

    name: str
    embed: Callable[[list[str]], np.ndarray]
    dim: int
    languages: tuple[str, ...]


def views_of(embedder, extra=None, *, extra_languages: Sequence[str] | None = None) -> list[DenseView]:
    """[the memory's embedder] plus ``extra`` (a multilingual TextEmbedder) for ``extra_languages``
    (default: every language it covers)."""
    views = [DenseView(embedder.name, cached_queries(embedder), embedder.dim, tuple(embedder.languages))]
    if extra is not None:
        langs = tuple(extra_languages) if extra_languages is not None else tuple(extra.languages)
        if langs:
            views.append(DenseView(extra.name, cached_queries(extra), extra.dim, langs))
    return views


def dense_block(
    texts: Sequence[str], langs: Sequence[str], views: Sequence[DenseView], first=None, scale: float = 1.0
) -> np.ndarray:
    """(n, sum of view dims): each text's vector from every view that covers its language (zeros
    elsewhere), times ``scale``. ``first``: the texts already embedded by the first view (rows may
    be None), so a vector computed once per turn is not computed again."""
    n = len(texts)
    offsets = np.cumsum([0] + [v.dim for v in views])
    out = np.zeros((n, int(offsets[-1])), np.float32)
    for k, view in enumerate(views):
        given = list(first) if (first is not None and k == 0) else [None] * n
        covered = [i for i in range(n) if langs[i] in view.languages]
        todo = [i for i in covered if given[i] is None]
        if todo:
            for row, i in zip(view.embed([texts[i] for i in todo]), todo, strict=True):
                given[i] = row
        for i in covered:
            out[i, offsets[k] : offsets[k + 1]] = given[i]
    return out * scale


class TextClassifier:
    """Softmax regression over a text's sentence embeddings (one block per view) and hashed
    n-grams, for any label set."""

    def __init__(self, weights: np.ndarray, views: Sequence[DenseView], labels: Sequence[str]):
        self.weights = weights
        self.views = tuple(views)
        self.labels = tuple(labels)
        if weights.shape[1] != len(self.labels):
            raise ValueError(f"{weights.shape[1]} weight columns for {len(self.labels)} labels")

    @property
    def embedding_dim(self) -> int:
        return sum(v.dim for v in self.views)

    def _logits(self, texts: Sequence[str], langs: Sequence[str], first) -> np.ndarray:
        dense = dense_block(texts, langs, self.views, first, EMBEDDING_SCALE)
        e = dense.shape[1]
        z = dense @ self.weights[:e] + self.weights[-1]
        for row, text in enumerate(texts):
            ids, values = hashed_ngram_ids(text)
            if len(ids):
                z[row] += values @ self.weights[e + ids]
        return z

    def probabilities(self, text: str, lang: str, vector: np.ndarray | None = None) -> dict[str, float]:
        """``vector``: ``text`` already embedded by the first view (the memory's embedder), or None."""
        p = softmax(self._logits([text], [lang], [vector]))[0]
        return {label: float(p[i]) for i, label in enumerate(self.labels)}

    def probabilities_many(
        self, texts: Sequence[str], langs: Sequence[str], vectors: Sequence[np.ndarray | None] | None = None
    ) -> np.ndarray:
        """(n, labels) probabilities of many texts at once."""
        return softmax(self._logits(list(texts), list(langs), vectors))

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        langs: Sequence[str],
        labels: Sequence[str],
        sample_weights: Sequence[float],
        *,
        views: Sequence[DenseView],
        label_set: Sequence[str],
        vectors: Sequence[np.ndarray | None] | None = None,
        l2: float = 1e-3,
    ) -> TextClassifier:
        label_set = tuple(label_set)
        dense = dense_block(texts, langs, views, vectors, EMBEDDING_SCALE)
        y = np.array([label_set.index(label) for label in labels])
        w = fit_softmax_sparse(
            dense,
            [hashed_ngram_ids(t) for t in texts],
            y,
            np.asarray(sample_weights, dtype=np.float32),
            classes=len(label_set),
            l2=l2,
        )
        return cls(w, views, label_set)


def balanced(labels: Sequence[str]) -> np.ndarray:
    """Per-example weights 1/sqrt(count of its label), scaled to average 1: rare intents (apology,
    40 examples) count more against small talk (574). Chosen on the reply dev set: intent
    accuracy 74.3% / 71.4% (English / Chinese) with it, 60.8% / 64.9% without, 70.3% / 71.4%
    with full 1/count weights (with the USE view; see the README)."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    w = np.array([1.0 / np.sqrt(counts[label]) for label in labels], np.float32)
    return w * (len(w) / w.sum())


def train_cached(
    name: str,
    fit: Callable[[], TextClassifier],
    key: object,
    *,
    cache_dir: Path | None,
    views: Sequence[DenseView],
    labels: Sequence[str],
) -> TextClassifier:
    """``fit()``, or its weights from ``cache_dir`` when they were trained on the same ``key``
    (everything training depends on: texts, labels, embedders, hyper-parameters). Training takes
    seconds on 2 cores for a few thousand texts, loading the file a millisecond."""
    cache = None
    if cache_dir is not None:
        blob = [
            CACHE_VERSION,
            HASH_DIM,
            EMBEDDING_SCALE,
            list(labels),
            [[v.name, v.dim, v.languages] for v in views],
            key,
        ]
        digest = hashlib.sha256(json.dumps(blob, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]
        cache = Path(cache_dir) / f"{name}-{digest}.npy"
        if cache.is_file():
            return TextClassifier(np.load(cache), views, labels)
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
    extra=None,
    more: Sequence[LabelledText] = (),
) -> TextClassifier | None:
    """A classifier of user messages trained on the memory's exchanges that ``label_of`` labels
    (class-balanced, later turns of a conversation weighted down) and on ``more`` labelled
    messages with no dialogue around them (weighted as first turns); ``extra`` a multilingual
    embedder read beside the memory's; None when there are too few examples to learn from."""
    labelled = [(e, label_of(e)) for e in memory.exchanges]
    labelled = [(e, label) for e, label in labelled if label]
    known = set(label_set)
    more = [m for m in more if m.label in known]
    if (
        len(labelled) + len(more) < MIN_EXAMPLES
        or len({label for _, label in labelled} | {m.label for m in more}) < 2
    ):
        return None
    views = views_of(memory.index.embedder, extra)
    key = [LATER_TURN_WEIGHT, "balanced"] + [
        [e.id, e.user_message, e.lang, label, bool(e.history)] for e, label in labelled
    ]
    if more:  # (the key of a memory-only classifier stays what it was: its cache is reused)
        key.append([[m.id, m.text, m.lang, m.label] for m in more])

    def fit() -> TextClassifier:
        vectors = memory.vectors([e.id for e, _ in labelled])
        labels = [label for _, label in labelled] + [m.label for m in more]
        later = np.array(
            [1.0 if not e.history else LATER_TURN_WEIGHT for e, _ in labelled] + [1.0] * len(more), np.float32
        )
        return TextClassifier.fit(
            [e.user_message for e, _ in labelled] + [m.text for m in more],
            [e.lang for e, _ in labelled] + [m.lang for m in more],
            labels,
            later * balanced(labels),
            views=views,
            label_set=label_set,
            vectors=[vectors.get(e.id) for e, _ in labelled] + [None] * len(more),
        )

    return train_cached(name, fit, key, cache_dir=cache_dir, views=views, labels=tuple(label_set))
