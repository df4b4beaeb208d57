import numpy as np
import pytest

from stickerbot.evaluation.metrics import (
    hits_at_k,
    mean_recall,
    overlap_at_k,
    recall_at_k,
    recall_at_ks,
    recall_from_scores,
)


def naive_recall(ranked, relevant, k):
    hits = 0
    for ranks, rel in zip(ranked, relevant, strict=True):
        for r in ranks[:k]:
            if r in rel:
                hits += 1
                break
    return hits / len(ranked)


def test_recall_matches_naive_reference_on_random_rankings():
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(50)]
    ranked = [list(rng.permutation(ids)[:20]) for _ in range(200)]
    relevant = [set(rng.choice(ids, size=rng.integers(1, 4), replace=False)) for _ in range(200)]
    for k in (1, 5, 10, 20):
        assert recall_at_k(ranked, relevant, k) == pytest.approx(naive_recall(ranked, relevant, k))


def test_recall_is_monotone_in_k_and_mr_is_mean_times_100():
    ranked = [["a", "b", "c"], ["x", "y", "a"], ["q", "r", "s"]]
    relevant = [{"a"}, {"a"}, {"zzz"}]
    r = recall_at_ks(ranked, relevant, ks=(1, 3))
    assert r == {"R@1": pytest.approx(1 / 3), "R@3": pytest.approx(2 / 3)}
    full = recall_at_ks(ranked, relevant)
    assert mean_recall(full) == pytest.approx((1 / 3 + 2 / 3 + 2 / 3) / 3 * 100)


def test_hits_at_k_rejects_mismatched_inputs():
    with pytest.raises(ValueError):
        hits_at_k([["a"]], [], 1)
    with pytest.raises(ValueError):
        hits_at_k([["a"]], [{"a"}], 0)


def test_recall_from_scores_matches_naive_ranking():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(100, 30))
    positives = rng.integers(0, 30, size=100)
    for k in (1, 5, 10):
        naive = np.mean([positives[q] in np.argsort(-scores[q])[:k] for q in range(100)])
        assert recall_from_scores(scores, positives, k) == pytest.approx(naive)


def test_overlap_at_k():
    assert overlap_at_k([["a", "b"], ["c", "d"]], [["a", "b"], ["c", "e"]], 2) == pytest.approx(0.75)
