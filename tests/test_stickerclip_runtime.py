"""Where the lite encoder runs: ONNX Runtime by default, reading what the torch modules read,
and torch when the export is not possible. On a tiny random encoder and head."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image

from stickerbot.stickerclip import runtime
from stickerbot.stickerclip.embedder import HeadPass, LiteImageEmbedder, SharedPass, file_fingerprint
from stickerbot.stickerclip.expression import ExpressionHead, ExpressionModel, HeadConfig
from stickerbot.stickerclip.model import StickerEncoder, save_encoder, to_pixels
from stickerbot.stickerclip.paths import expression_head_path
from tests.helpers_stickerclip import COLOURS, TINY, shape


def tiny(tmp_path, head_size: int | None):
    torch.manual_seed(3)
    encoder = StickerEncoder(TINY).eval()
    path = save_encoder(encoder, tmp_path / "enc.safetensors")
    if head_size is not None:
        head = ExpressionHead(
            encoder, HeadConfig(from_block=1, labels=("Anger", "Sadness"), image_size=head_size)
        )
        torch.nn.init.normal_(head.classify.weight, std=2.0)  # readings far from 50/50
        ExpressionModel(encoder, head, file_fingerprint(path)).save(expression_head_path(path))
    return path


def pictures():
    return [shape(n % 2, COLOURS[n % 4], jitter=n) for n in range(5)]


@pytest.mark.parametrize("head_size", [None, 0, 48])
def test_onnx_reads_what_torch_reads(tmp_path, head_size):
    """The same vectors and readings from both runtimes: no head, a head sharing the encoder's
    pass, a head reading its own larger pass."""
    path = tiny(tmp_path, head_size)
    onnx = LiteImageEmbedder("stickerclip-lite", path)
    plain = LiteImageEmbedder("stickerclip-lite", path, runtime="torch")
    assert onnx.runtime == "onnx" and plain.runtime == "torch"
    images = pictures()
    vectors, probs = onnx.encode_with_expressions(images)
    want_vectors, want_probs = plain.encode_with_expressions(images)
    assert vectors.dtype == np.float32 and vectors.shape == (5, TINY.dim)
    assert np.allclose(vectors, want_vectors, atol=1e-5)
    if head_size is None:
        assert probs is None and want_probs is None
    else:
        assert probs.shape == (5, 2) and np.allclose(probs, want_probs, atol=1e-5)
        assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        assert probs.max() > 0.7  # a reading, not a flat 50/50 that would match by accident


def test_a_program_takes_any_batch_size(tmp_path):
    path = tiny(tmp_path, 48)
    embedder = LiteImageEmbedder("stickerclip-lite", path)
    model, head = embedder._model, embedder._head
    pixels = to_pixels(pictures(), model.config)
    for module, size, x in [
        (SharedPass(model, head), TINY.image_size, pixels),
        (HeadPass(model, head), 48, torch.rand(7, 3, 48, 48)),
    ]:
        program = runtime.compile_program(module, size, threads=1)
        assert program.runtime == "onnx"
        with torch.inference_mode():
            want = module(x)
        want = want if isinstance(want, tuple) else (want,)
        for n in (1, len(x)):
            got = program(x[:n])
            assert len(got) == len(want)
            assert all(np.allclose(g, w[:n].numpy(), atol=1e-5) for g, w in zip(got, want, strict=True))


def test_a_module_onnx_cannot_take_runs_in_torch(tmp_path, monkeypatch, caplog):
    def broken(module, image_size, threads, cache):
        raise RuntimeError("Module onnx is not installed!")

    monkeypatch.setitem(runtime.RUNTIMES, "onnx", broken)
    path = tiny(tmp_path, None)
    with caplog.at_level(logging.WARNING, logger="stickerbot.stickerclip.runtime"):
        embedder = LiteImageEmbedder("stickerclip-lite", path, runtime="onnx", batch_size=3)
    assert embedder.runtime == "torch"
    assert "runs in torch" in caplog.text and "not installed" in caplog.text
    images = [Image.new("RGBA", (40, 40), c) for c in ("red", "blue", "green", "white")]
    assert embedder.encode_images(images).shape == (4, TINY.dim)  # two batches


def test_an_unknown_runtime_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown image runtime 'tpu'"):
        runtime.compile_program(torch.nn.Identity(), 8, runtime="tpu")


def test_the_exported_graph_is_kept_and_reused(tmp_path, monkeypatch, caplog):
    """A later start opens the kept graph instead of exporting again; a damaged one is exported
    again and replaced."""
    torch.manual_seed(0)
    encoder = StickerEncoder(TINY).eval()
    pixels = torch.rand(2, 3, TINY.image_size, TINY.image_size)
    with torch.inference_mode():
        want = encoder(pixels).numpy()
    cache = tmp_path / "cache" / "enc-vectors.onnx"
    first = runtime.compile_program(encoder, TINY.image_size, threads=1, cache=cache)
    assert cache.is_file() and np.allclose(first(pixels)[0], want, atol=1e-5)

    exports = []
    export = runtime.export_onnx
    monkeypatch.setattr(runtime, "export_onnx", lambda *a: exports.append(a) or export(*a))
    again = runtime.compile_program(encoder, TINY.image_size, threads=1, cache=cache)
    assert exports == [] and again.runtime == "onnx"
    assert np.allclose(again(pixels)[0], want, atol=1e-5)

    cache.write_bytes(b"not a graph")
    with caplog.at_level(logging.WARNING, logger="stickerbot.stickerclip.runtime"):
        mended = runtime.compile_program(encoder, TINY.image_size, threads=1, cache=cache)
    assert len(exports) == 1 and "exporting it again" in caplog.text
    assert mended.runtime == "onnx" and np.allclose(mended(pixels)[0], want, atol=1e-5)
    assert cache.read_bytes() != b"not a graph"


def test_the_registry_keeps_the_graphs_in_the_data_directory(tmp_path):
    from stickerbot.embeddings import create_image_embedder
    from stickerbot.stickerclip.paths import onnx_cache_dir

    path = tiny(tmp_path, 48)
    embedder = create_image_embedder("stickerclip-lite", path=path, data_dir=tmp_path / "data")
    assert embedder.runtime == "onnx"
    kept = sorted(p.name for p in onnx_cache_dir(tmp_path / "data").glob("*.onnx"))
    assert len(kept) == 2 and kept[0].endswith("-head48.onnx") and kept[1].endswith("-vectors.onnx")
