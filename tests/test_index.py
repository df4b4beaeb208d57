import pytest

from stickerbot.index.store import EmbedderMismatchError, StickerIndex
from tests.conftest import FakeEmbedder


def items():
    return [
        ("a", "crying cat in the rain"),
        ("b", "party popper celebration confetti"),
        ("c", "sleepy face good night"),
    ]


def test_sync_is_incremental_and_idempotent(tmp_path, fake_embedder):
    index = StickerIndex(tmp_path / "idx", fake_embedder)
    assert index.sync(items()) == 3
    assert len(index) == 3
    calls = fake_embedder.calls
    assert index.sync(items()) == 0  # nothing new: nothing embedded, nothing added twice
    assert fake_embedder.calls == calls
    assert len(index) == 3
    changed = items()[:2] + [("c", "sleepy face, zzz")]
    assert index.sync(changed) == 1  # only the changed text is re-embedded
    assert len(index) == 3


def test_query_finds_the_matching_text(tmp_path, fake_embedder):
    index = StickerIndex(tmp_path / "idx", fake_embedder)
    index.sync(items())
    hits = index.query_texts(["confetti party"], k=2)[0]
    assert hits[0].id == "b"
    assert hits[0].score > hits[1].score


def test_index_persists_across_processes_and_refuses_another_embedder(tmp_path):
    path = tmp_path / "idx"
    StickerIndex(path, FakeEmbedder("fake-a", 64)).sync(items())
    reopened = StickerIndex(path, FakeEmbedder("fake-a", 64))
    assert len(reopened) == 3
    with pytest.raises(EmbedderMismatchError, match="fake-a"):
        StickerIndex(path, FakeEmbedder("fake-b", 64))
    with pytest.raises(EmbedderMismatchError, match="STICKERBOT_EMBEDDER"):
        StickerIndex(path, FakeEmbedder("fake-a", 32))


def test_delete_and_empty_query(tmp_path, fake_embedder):
    index = StickerIndex(tmp_path / "idx", fake_embedder)
    assert index.query_texts(["anything"], k=5) == [[]]
    index.sync(items())
    index.delete(["a"])
    assert set(index.stored_hashes()) == {"b", "c"}
    # more asked for than there are: what there is
    assert sorted(h.id for h in index.query_texts(["anything"], k=10)[0]) == ["b", "c"]


def test_precomputed_vectors_are_used_only_where_the_text_matches(tmp_path, fake_embedder):
    from stickerbot.index.store import text_hash
    from stickerbot.index.vector_cache import load_vectors, save_vectors

    texts = dict(items())
    vectors = fake_embedder.encode_documents(list(texts.values()))
    hashes = [text_hash(t) for t in texts.values()]
    hashes[2] = "stale"  # the text of "c" changed since the cache was made
    path = tmp_path / "vectors" / "fake-64.npz"
    save_vectors(path, list(texts), hashes, vectors)
    cached = load_vectors(path, fake_embedder.dim)
    assert load_vectors(path, 32) == {}  # another dimension: unusable, ignored
    fake_embedder.calls = 0
    index = StickerIndex(tmp_path / "idx", fake_embedder)
    assert index.sync(items(), precomputed=cached) == 3
    assert fake_embedder.calls == 1  # only the stale one was embedded
    stored = index.get_vectors(["a", "c"])
    assert stored["a"] @ vectors[0] > 0.999  # float16 round trip, renormalised
    assert index.query_texts(["confetti party"], k=1)[0][0].id == "b"
