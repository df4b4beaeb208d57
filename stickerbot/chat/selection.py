"""Response selection: a dual encoder that scores how well a reply answers a message.

Each side is a linear map from a text's features (its sentence embeddings: the memory's
embedder for the languages it understands and a multilingual one (USE) for English and
Chinese; and hashed word / character n-grams for every language) into a shared 256-d space;
the score is the cosine of the two. Trained on the dialogue memory's (user
message, reply) pairs with in-batch negatives (symmetric InfoNCE, as in ConveRT / dual-encoder
response selection): the reply that was given must beat every other reply of the batch.

The chat ranks its candidate replies with it (the model's, the memory's, the strategy
replies), and ``eval replies`` uses it to flag replies about another situation. Its quality is
recall@1 of the true reply among 10 on sessions held out of training (:func:`recall_at_1`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from stickerbot.atomic import atomic_path
from stickerbot.chat.classifier import HASH_DIM, DenseView, dense_block, hashed_ngram_ids, views_of

log = logging.getLogger(__name__)

# Bump when the features or the training change, so cached weights are not reused.
CACHE_VERSION = 1


@dataclass(frozen=True)
class SelectorConfig:
    dim: int = 256
    # Cosine / temperature are the InfoNCE logits.
    temperature: float = 0.05
    epochs: int = 40
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    # The sentence-embedding view is scaled against the hashed n-grams (both unit vectors).
    embedding_scale: float = 2.0
    # Share of sessions held out to measure recall@1 of 10.
    heldout: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class Pair:
    message: str
    reply: str
    lang: str
    group: str  # the session: held-out splits never cut one


Embed = Callable[[list[str]], np.ndarray]


@dataclass
class Features:
    """A batch of texts as [scaled sentence embedding | hashed n-grams], the n-gram part sparse."""

    dense: np.ndarray  # (n, embedding dim); zero rows for languages the embedder does not cover
    ids: list[np.ndarray]  # per text: hashed n-gram buckets
    values: list[np.ndarray]  # per text: their values (a unit vector)


class Featurizer:
    """Text -> [scaled sentence embeddings of each view that covers its language | hashed n-grams]
    (the views: the memory's embedder, and a multilingual one that also reads Chinese)."""

    def __init__(self, views: Sequence[DenseView], scale: float):
        self.views = tuple(views)
        self.scale = scale

    @property
    def embedding_dim(self) -> int:
        return sum(v.dim for v in self.views)

    @property
    def dim(self) -> int:
        return self.embedding_dim + HASH_DIM

    def __call__(self, texts: Sequence[str], langs: Sequence[str], vectors=None) -> Features:
        """``vectors``: the texts already embedded by the first view (rows may be None)."""
        dense = dense_block(texts, langs, self.views, vectors, self.scale)
        sparse = [hashed_ngram_ids(t) for t in texts]
        return Features(dense, [ids for ids, _ in sparse], [values for _, values in sparse])


def project(features: Features, weights: np.ndarray) -> np.ndarray:
    """Unit rows of features @ weights (the sparse part as a weighted sum of weight rows)."""
    e = features.dense.shape[1]
    z = features.dense @ weights[:e] if e else np.zeros((len(features.ids), weights.shape[1]), np.float32)
    for row, (ids, values) in enumerate(zip(features.ids, features.values, strict=True)):
        if len(ids):
            z[row] += values @ weights[e + ids]
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-8)


class ResponseSelector:
    """Scores (message, reply) pairs; read-only after training, shared by every session."""

    def __init__(self, featurize: Featurizer, w_message: np.ndarray, w_reply: np.ndarray):
        self.featurize = featurize
        self.w_message = w_message
        self.w_reply = w_reply

    def encode_messages(self, texts: Sequence[str], langs: Sequence[str], vectors=None) -> np.ndarray:
        return project(self.featurize(texts, langs, vectors), self.w_message)

    def encode_replies(self, texts: Sequence[str], langs: Sequence[str], vectors=None) -> np.ndarray:
        return project(self.featurize(texts, langs, vectors), self.w_reply)

    def scores(
        self, message: str, replies: Sequence[str], lang: str, *, message_vector: np.ndarray | None = None
    ) -> np.ndarray:
        """Cosine of the message with each reply, in [-1, 1]."""
        if not replies:
            return np.zeros(0, np.float32)
        m = self.encode_messages([message], [lang], [message_vector])[0]
        r = self.encode_replies(list(replies), [lang] * len(replies))
        return r @ m

    # --- training -----------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        pairs: Sequence[Pair],
        featurize: Featurizer,
        config: SelectorConfig | None = None,
        *,
        message_vectors: Sequence[np.ndarray | None] | None = None,
    ) -> ResponseSelector:
        """Symmetric InfoNCE over in-batch negatives (torch, CPU; seconds for thousands of pairs)."""
        import torch

        config = config or SelectorConfig()
        torch.manual_seed(config.seed)
        fm = featurize([p.message for p in pairs], [p.lang for p in pairs], message_vectors)
        fr = featurize([p.reply for p in pairs], [p.lang for p in pairs])
        e, d = featurize.embedding_dim, featurize.dim
        w_m = torch.nn.Parameter(torch.randn(d, config.dim) / d**0.5)
        w_r = torch.nn.Parameter(torch.randn(d, config.dim) / d**0.5)
        opt = torch.optim.AdamW([w_m, w_r], lr=config.lr, weight_decay=config.weight_decay)
        dense_m, dense_r = torch.from_numpy(fm.dense), torch.from_numpy(fr.dense)

        def encode(features: Features, dense: torch.Tensor, idx: torch.Tensor, w: torch.Tensor):
            rows = idx.tolist()
            ids = [features.ids[i] for i in rows]
            flat = torch.from_numpy(np.concatenate(ids) + e) if ids else torch.zeros(0, dtype=torch.long)
            values = torch.from_numpy(np.concatenate([features.values[i] for i in rows]))
            offsets = torch.tensor([0] + [len(x) for x in ids[:-1]]).cumsum(0)
            z = torch.nn.functional.embedding_bag(flat, w, offsets, mode="sum", per_sample_weights=values)
            if e:
                z = z + dense[idx] @ w[:e]
            return torch.nn.functional.normalize(z, dim=1)

        n = len(pairs)
        gen = torch.Generator().manual_seed(config.seed)
        for _ in range(config.epochs):
            order = torch.randperm(n, generator=gen)
            for start in range(0, n, config.batch_size):
                idx = order[start : start + config.batch_size]
                if len(idx) < 2:
                    continue
                m = encode(fm, dense_m, idx, w_m)
                r = encode(fr, dense_r, idx, w_r)
                logits = m @ r.T / config.temperature
                target = torch.arange(len(idx))
                loss = (
                    torch.nn.functional.cross_entropy(logits, target)
                    + torch.nn.functional.cross_entropy(logits.T, target)
                ) / 2
                opt.zero_grad()
                loss.backward()
                opt.step()
        return cls(featurize, w_m.detach().numpy(), w_r.detach().numpy())


def split_pairs(pairs: Sequence[Pair], heldout: float, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out) by session, stable across runs."""

    def held(group: str) -> bool:
        h = int(hashlib.sha1(f"{seed}:{group}".encode()).hexdigest()[:8], 16)
        return h / 0xFFFFFFFF < heldout

    train = [p for p in pairs if not held(p.group)]
    test = [p for p in pairs if held(p.group)]
    return train, test


def recall_at_1(
    score: Callable[[str, Sequence[str], str], np.ndarray],
    pairs: Sequence[Pair],
    *,
    candidates: int = 10,
    draws: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Per language: share of messages whose true reply scores above ``candidates - 1`` other
    replies of the same language drawn at random (ties count against), averaged over draws."""
    rng = random.Random(seed)
    out: dict[str, float] = {}
    for lang in sorted({p.lang for p in pairs}):
        group = [p for p in pairs if p.lang == lang]
        if len(group) < candidates:
            continue
        hits = total = 0
        for _ in range(draws):
            for i, pair in enumerate(group):
                others = rng.sample([j for j in range(len(group)) if j != i], candidates - 1)
                replies = [pair.reply] + [group[j].reply for j in others]
                s = score(pair.message, replies, lang)
                hits += int(s[0] > np.max(s[1:]))
                total += 1
        out[lang] = hits / total
    return out


def pairs_from_memory(memory) -> list[Pair]:
    """(user message, reply) of every exchange of the dialogue memory, grouped by session."""
    return [
        Pair(e.index_text, e.system_message, e.lang, e.id.rsplit(":", 1)[0])
        for e in memory.exchanges
        if e.user_message.strip() and e.system_message.strip()
    ]


def selector_from_memory(
    memory, *, cache_dir: Path | None = None, config: SelectorConfig | None = None, extra=None
) -> ResponseSelector | None:
    """Trained on every exchange of the memory (weights cached under a hash of the data);
    ``extra``: a multilingual embedder for the languages the memory's embedder does not cover."""
    config = config or SelectorConfig()
    pairs = pairs_from_memory(memory)
    if len(pairs) < 50:
        return None
    embedder = memory.index.embedder
    views = views_of(embedder, extra)
    featurize = Featurizer(views, config.embedding_scale)
    cache = None
    if cache_dir is not None:
        key = json.dumps(
            [
                CACHE_VERSION,
                asdict(config),
                embedder.name,
                embedder.dim,
                extra.name if extra is not None else None,
                [asdict(p) for p in pairs],
            ],
            ensure_ascii=False,
        )
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        cache = Path(cache_dir) / f"response-selector-{digest}.npz"
        if cache.is_file():
            data = np.load(cache)
            return ResponseSelector(featurize, data["w_message"], data["w_reply"])
    t0 = time.perf_counter()
    vectors = memory.vectors([e.id for e in memory.exchanges])
    by_text = {e.index_text: vectors.get(e.id) for e in memory.exchanges}
    selector = ResponseSelector.train(
        pairs, featurize, config, message_vectors=[by_text.get(p.message) for p in pairs]
    )
    log.info("response selector: %d pairs in %.1f s", len(pairs), time.perf_counter() - t0)
    if cache is not None:
        with atomic_path(cache, suffix=".npz") as tmp:
            np.savez(tmp, w_message=selector.w_message, w_reply=selector.w_reply)
    return selector
