"""Retrieval metrics as pure functions.

Recall@K here is the share of queries with at least one relevant sticker among
the top K results; with one relevant item per query (the published
Sticker820K setting) it is exactly the usual Recall@K. Mean recall (MR) is
(R@1 + R@5 + R@10) / 3 x 100, as in StickerCLIP and StickerLLM.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_KS = (1, 5, 10)


def hits_at_k(ranked: Sequence[Sequence[str]], relevant: Sequence[set[str]], k: int) -> np.ndarray:
    """1.0 where a query's top ``k`` holds a relevant id, else 0.0."""
    if len(ranked) != len(relevant):
        raise ValueError(f"{len(ranked)} rankings for {len(relevant)} relevance sets")
    if k < 1:
        raise ValueError("k must be at least 1")
    return np.array(
        [
            1.0 if any(r in rel for r in ranks[:k]) else 0.0
            for ranks, rel in zip(ranked, relevant, strict=True)
        ]
    )


def recall_at_k(ranked: Sequence[Sequence[str]], relevant: Sequence[set[str]], k: int) -> float:
    if not ranked:
        return 0.0
    return float(hits_at_k(ranked, relevant, k).mean())


def recall_at_ks(
    ranked: Sequence[Sequence[str]], relevant: Sequence[set[str]], ks: Sequence[int] = DEFAULT_KS
) -> dict[str, float]:
    return {f"R@{k}": recall_at_k(ranked, relevant, k) for k in ks}


def mean_recall(recalls: dict[str, float], ks: Sequence[int] = DEFAULT_KS) -> float:
    """MR = mean of R@K over ``ks``, x 100."""
    return float(np.mean([recalls[f"R@{k}"] for k in ks]) * 100.0)


def recall_from_scores(scores: np.ndarray, positives: np.ndarray, k: int) -> float:
    """Recall@K for a score matrix: ``scores[q, i]`` of item i for query q; ``positives[q]`` the one right item.

    The rank of the positive is the number of items scoring strictly higher.
    """
    pos_scores = scores[np.arange(len(scores)), positives]
    ranks = (scores > pos_scores[:, None]).sum(axis=1)
    return float((ranks < k).mean())


def overlap_at_k(found: Sequence[Sequence[str]], exact: Sequence[Sequence[str]], k: int) -> float:
    """Share of the exact top ``k`` that an approximate search also returned (ANN recall@k)."""
    total = 0.0
    for f, e in zip(found, exact, strict=True):
        want = set(e[:k])
        total += len(want & set(f[:k])) / max(1, len(want))
    return total / max(1, len(exact))


# --- chat metrics --------------------------------------------------------------------------------


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of positions where ``predicted`` equals ``gold`` (0.0 for no items)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels for {len(predicted)} predictions")
    if not gold:
        return 0.0
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def share(flags: Sequence[bool]) -> float:
    """Share of True in ``flags`` (0.0 for none)."""
    return sum(bool(f) for f in flags) / len(flags) if flags else 0.0


def when_to_send_accuracy(should_send: Sequence[bool], sent: Sequence[bool]) -> float:
    """StickerLLM's "tool selection" accuracy: turns where sending (or not) was the right call."""
    if len(should_send) != len(sent):
        raise ValueError(f"{len(should_send)} gold decisions for {len(sent)} predictions")
    return share([a == b for a, b in zip(should_send, sent, strict=True)])
