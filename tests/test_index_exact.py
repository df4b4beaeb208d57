"""The exact in-memory copy that answers an embedded collection's queries (index/exact.py)."""

import numpy as np

from stickerbot.embeddings.base import normalise
from stickerbot.index.exact import ExactCopy, top_k
from stickerbot.index.store import StickerIndex
from tests.conftest import FakeEmbedder


def random_index(tmp_path, n=60, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    vectors = normalise(rng.normal(size=(n, dim)).astype(np.float32))
    index = StickerIndex(tmp_path / "idx", FakeEmbedder("fake", dim))
    ids = [f"s{i}" for i in range(n)]
    index.add_vectors(ids, vectors, [f"text {i}" for i in range(n)])
    return index, ids, vectors, rng


def test_top_k_is_the_k_largest_best_first():
    scores = np.array([0.1, 0.9, -0.3, 0.5, 0.9, 0.2], dtype=np.float32)
    assert list(top_k(scores, 3)) == [1, 4, 3]  # ties keep their order
    assert list(top_k(scores, 10)) == list(np.argsort(-scores, kind="stable"))
    assert list(top_k(scores, 0)) == []


def test_exact_answers_as_chroma_does(tmp_path):
    index, ids, vectors, rng = random_index(tmp_path)
    queries = normalise(rng.normal(size=(8, vectors.shape[1])).astype(np.float32))
    exact = index.query_vectors(queries, k=10)
    chroma = index.query_chroma(queries, k=10)
    for mine, theirs, q in zip(exact, chroma, queries, strict=True):
        assert [h.id for h in mine] == [h.id for h in theirs]
        assert np.allclose([h.score for h in mine], [h.score for h in theirs], atol=1e-4)
        best = ids[int(np.argmax(vectors @ q))]
        assert mine[0].id == best


def test_writes_make_the_copy_stale(tmp_path):
    index, ids, vectors, rng = random_index(tmp_path)
    q = normalise(rng.normal(size=(1, vectors.shape[1])).astype(np.float32))
    assert index.query_vectors(q, k=3)[0][0].id != "new"  # the copy is read now
    index.add_vectors(["new"], q, ["the query itself"])
    hit = index.query_vectors(q, k=3)[0][0]
    assert hit.id == "new" and hit.score > 0.999
    index.delete(["new"])
    assert "new" not in {h.id for h in index.query_vectors(q, k=100)[0]}
    # more asked for than there are: what there is
    assert len(index.query_vectors(q, k=1000)[0]) == len(ids)


def test_sync_makes_the_copy_stale(tmp_path, fake_embedder):
    index = StickerIndex(tmp_path / "idx", fake_embedder)
    assert index.query_texts(["confetti"], k=5) == [[]]  # empty, and the empty copy is kept
    index.sync([("b", "party popper celebration confetti"), ("c", "sleepy face good night")])
    assert index.query_texts(["party popper celebration confetti"], k=1)[0][0].id == "b"


def test_over_the_limit_chroma_answers_and_nothing_is_copied(tmp_path):
    index, ids, vectors, rng = random_index(tmp_path, n=30)
    index._exact.limit = 10
    reads = []
    real = index._exact._read_all
    index._exact._read_all = lambda: reads.append(1) or real()
    q = normalise(rng.normal(size=(2, vectors.shape[1])).astype(np.float32))
    assert index.query_vectors(q, k=5) == index.query_chroma(q, k=5)
    assert reads == []


def test_a_write_during_the_read_is_not_lost():
    data = {"ids": ["a"], "vectors": np.array([[1.0, 0.0]], np.float32)}
    copy = None

    def read_all():
        ids, vectors = list(data["ids"]), data["vectors"].copy()
        # a writer lands while this read is under way
        data["ids"].append("b")
        data["vectors"] = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
        copy.stale()
        return ids, vectors

    copy = ExactCopy(read_all, lambda: len(data["ids"]))
    first = copy.snapshot()
    assert first.ids == ("a",)  # the query under way gets what it read
    copy._read_all = lambda: (list(data["ids"]), data["vectors"])
    assert copy.snapshot().ids == ("a", "b")  # the next one reads again
