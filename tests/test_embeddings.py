"""The embedder registry and the loading code, on the real offline model and a tiny random bge."""

import numpy as np
import pytest

from stickerbot.embeddings import create_text_embedder, get_spec, list_embedders
from stickerbot.errors import UserError


def test_registry_lists_offline_default_and_bge():
    assert {"all-MiniLM-L6-v2", "bge-large-en-v1.5"} <= set(list_embedders())
    with pytest.raises(UserError, match="STICKERBOT_EMBEDDER"):
        get_spec("no-such-model")


def test_offline_minilm_from_the_wheel(minilm):
    assert minilm.dim == 384
    v = minilm.encode_documents(["a crying cat", "a sobbing kitten", "tax return forms"])
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]  # it is a real sentence model


@pytest.fixture(scope="module")
def tiny_bge_dir(tmp_path_factory):
    """A random 32-d BERT saved in sentence-transformers format with CLS pooling, like bge."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    root = tmp_path_factory.mktemp("tiny-bge")
    words = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "represent",
        "this",
        "sentence",
        "for",
        "searching",
    ]
    words += ["relevant", "passages", ":", "cat", "dog", "happy", "sad", "party"]
    (root / "vocab.txt").write_text("\n".join(words))
    tokenizer = BertTokenizerFast(vocab_file=str(root / "vocab.txt"))
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    bert_dir = root / "bert"
    BertModel(config).save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    transformer = models.Transformer(str(bert_dir))
    pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="cls")
    st_dir = root / "st"
    SentenceTransformer(modules=[transformer, pooling, models.Normalize()]).save(str(st_dir))
    return st_dir


def test_bge_loading_code_on_a_tiny_random_model(tiny_bge_dir):
    embedder = create_text_embedder("bge-large-en-v1.5", path=tiny_bge_dir)
    assert embedder.name == "bge-large-en-v1.5"
    assert embedder.dim == 32
    docs = embedder.encode_documents(["happy cat"])
    queries = embedder.encode_queries(["happy cat"])
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    # bge prepends its retrieval instruction to queries only.
    assert embedder.query_prefix.startswith("Represent this sentence")
    assert not np.allclose(docs, queries)


def test_missing_weights_name_the_setting(tmp_path):
    from stickerbot.embeddings.sentence_transformer import EmbedderLoadError

    with pytest.raises(EmbedderLoadError, match="STICKERBOT_EMBEDDER"):
        create_text_embedder("bge-large-en-v1.5", path=tmp_path / "nothing-here")


class CountingEmbedder:
    """A deterministic embedder that records which texts it was asked to encode."""

    name = "counting"
    dim = 4
    languages = ("en",)

    def __init__(self):
        self.calls: list[list[str]] = []

    def encode_queries(self, texts):
        self.calls.append(list(texts))
        rows = np.array([[len(t), t.count("a"), t.count("e"), 1.0] for t in texts], np.float32)
        return (
            rows / np.linalg.norm(rows, axis=1, keepdims=True) if len(rows) else np.zeros((0, 4), np.float32)
        )

    def encode_documents(self, texts, *, batch_size=64, progress=False):
        return self.encode_queries(texts)


def test_query_cache_encodes_each_text_once_and_returns_the_same_vectors():
    from stickerbot.embeddings.base import QueryCache, cached_queries

    embedder = CountingEmbedder()
    cache = cached_queries(embedder)
    assert cached_queries(embedder) is cache  # one cache per embedder
    first = cache(["a cat", "hello there", "a cat"])
    assert embedder.calls == [["a cat", "hello there"]]  # a text asked twice is encoded once
    again = cache(["hello there", "banana"])
    assert embedder.calls[-1] == ["banana"]  # only what is new
    assert np.array_equal(again[0], first[1])
    assert np.allclose(again, embedder.encode_queries(["hello there", "banana"]))
    assert cache([]).shape == (0, 4)

    small = QueryCache(embedder.encode_queries, size=2)
    small(["one", "two", "three"])
    assert list(small._rows) == ["two", "three"]  # bounded: the oldest goes
    out = small(["three"])
    out[0] = 0.0  # a caller's array is its own: the cached row is untouched
    assert np.allclose(small(["three"]), embedder.encode_queries(["three"]))


def test_concurrent_queries_are_encoded_together_and_each_caller_gets_its_own_rows():
    import threading
    import time

    from stickerbot.embeddings.base import CoalescingEncoder

    embedder = CountingEmbedder()
    started = threading.Event()

    def slow(texts):
        started.set()
        time.sleep(0.2)  # the encode in flight while the others arrive
        return embedder.encode_queries(texts)

    encode = CoalescingEncoder(slow)
    # Alone: encoded at once, nothing else.
    alone = encode(["solo"])
    assert embedder.calls == [["solo"]] and np.allclose(alone, embedder.encode_queries(["solo"]))
    embedder.calls.clear()
    started.clear()

    texts = [[f"text {n}", "shared"] for n in range(8)]
    results: dict[int, np.ndarray] = {}
    first = threading.Thread(target=lambda: results.__setitem__(0, encode(texts[0])))
    first.start()
    started.wait()  # the first encode runs; the other seven arrive during it
    others = [
        threading.Thread(target=lambda n=n: results.__setitem__(n, encode(texts[n]))) for n in range(1, 8)
    ]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join()
    calls = [c for c in embedder.calls if c != ["solo"]]
    # Two encodes instead of eight: the first caller's, then the seven queued during it, each
    # text once ("shared" too).
    assert len([c for c in calls if "shared" in c]) == 2
    assert sorted(len(c) for c in calls if "shared" in c) == [2, 8]
    for n in range(8):
        assert np.allclose(results[n], embedder.encode_queries(texts[n]))


def test_a_failed_batch_fails_its_callers_only():
    from stickerbot.embeddings.base import CoalescingEncoder

    embedder = CountingEmbedder()

    def flaky(texts):
        if "boom" in texts:
            raise RuntimeError("model crashed")
        return embedder.encode_queries(texts)

    encode = CoalescingEncoder(flaky)
    with pytest.raises(RuntimeError, match="model crashed"):
        encode(["boom"])
    assert np.allclose(encode(["fine"]), embedder.encode_queries(["fine"]))  # not stuck
    assert encode([]).shape == (0, 4)
