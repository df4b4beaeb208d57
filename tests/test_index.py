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
