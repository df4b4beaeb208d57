"""The optional image embedder (CLIP), its index and its part in search, on a tiny random CLIP."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stickerbot.config import Settings
from stickerbot.embeddings import (
    EmbedderLoadError,
    create_image_embedder,
    embed_sticker,
    get_image_spec,
    list_image_embedders,
)
from stickerbot.errors import UserError
from stickerbot.importer import PackImporter
from stickerbot.index.collection import EmbedderMismatchError
from stickerbot.index.images import StickerImageIndex
from stickerbot.index.store import StickerIndex
from stickerbot.retrieval.search import SearchWeights, StickerSearch
from stickerbot.services import open_library, sync_image_index, sync_index
from stickerbot.stickers.images import load_image
from stickerbot.stickers.library import Library
from stickerbot.stickers.manifest import MANIFEST, read_manifest
from tests.conftest import FakeEmbedder
from tests.helpers_images import (
    animated_gif_bytes,
    png_bytes,
    reencoded_jpeg,
    sticker,
    webp_bytes,
    write_bundled_pack,
)

CLIP = "clip-vit-base-patch32"
# Seeds of the test library's stickers; write_bundled_pack names them in this order.
SEEDS = (100, 101, 102, 103)
TARGET_SEED, TARGET_ID = 102, "bundled:angry_bird"  # not the first record, so ties cannot pass for a hit


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory) -> Path:
    """A random CLIP (32-px images, 16-d projection) saved with its image processor; no tokenizer.

    Random weights make every image look much alike (cosines near 0.99), but the nearest
    sticker is still the right one, by about 0.005, for any initialisation tried; the seed
    keeps the test deterministic all the same.
    """
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-clip")
    small = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
    config = CLIPConfig(
        text_config={
            **small,
            "vocab_size": 64,
            "max_position_embeddings": 16,
            "bos_token_id": 0,
            "eos_token_id": 1,
        },
        vision_config={**small, "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )
    return folder


@pytest.fixture(scope="module")
def clip(tiny_clip_dir):
    return create_image_embedder(CLIP, path=tiny_clip_dir)


class CountingEmbedder:
    """Wraps an image embedder: counts the images it encodes and the threads it runs on."""

    def __init__(self, inner, name: str | None = None):
        self.inner = inner
        self.name = name or inner.name
        self.dim = inner.dim
        self.images = 0
        self.threads: set[str] = set()

    def encode_images(self, images):
        self.images += len(images)
        self.threads.add(threading.current_thread().name)
        return self.inner.encode_images(images)


@pytest.fixture()
def library(tmp_path) -> Library:
    folder = tmp_path / "bundled"
    write_bundled_pack(folder, SEEDS)
    return Library.load(folder, tmp_path / "packs")


# --- registry, settings, loading ---------------------------------------------------------------


def test_registry_and_settings():
    assert CLIP in list_image_embedders()
    assert get_image_spec(CLIP).hub_id == "openai/clip-vit-base-patch32"
    assert get_image_spec(CLIP).dim == 512
    with pytest.raises(UserError, match="STICKERBOT_IMAGE_EMBEDDER"):
        create_image_embedder("no-such-model")

    # On by default with the shipped StickerCLIP-lite encoder; empty or "none" switches it off.
    assert Settings.from_env({}).image_embedder == "stickerclip-lite" in list_image_embedders()
    assert Settings.from_env({"STICKERBOT_IMAGE_EMBEDDER": ""}).image_embedder is None
    assert Settings.from_env({"STICKERBOT_IMAGE_EMBEDDER": "none"}).image_embedder is None
    on = Settings.from_env({"STICKERBOT_IMAGE_EMBEDDER": CLIP, "STICKERBOT_IMAGE_EMBEDDER_PATH": "/m/clip"})
    assert (on.image_embedder, on.image_embedder_path) == (CLIP, "/m/clip")


def test_bad_path_raises_a_clear_error(tmp_path):
    with pytest.raises(EmbedderLoadError, match="STICKERBOT_IMAGE_EMBEDDER_PATH"):
        create_image_embedder(CLIP, path=tmp_path / "nothing-here")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmbedderLoadError, match="STICKERBOT_IMAGE_EMBEDDER"):
        create_image_embedder(CLIP, path=tmp_path / "empty")


def test_the_model_is_loaded_once_per_process(tiny_clip_dir, clip):
    again = create_image_embedder(CLIP, path=tiny_clip_dir)
    assert again._model is clip._model


# --- vectors ---------------------------------------------------------------------------------------


def test_dim_and_normalisation(clip):
    assert clip.name == CLIP
    assert clip.dim == 16
    vectors = clip.encode_images([sticker(1), sticker(2), sticker(3, size=300)])
    assert vectors.shape == (3, 16) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)  # different pictures, different vectors
    assert clip.encode_images([]).shape == (0, 16)


def test_transparent_pixels_are_seen_as_white(clip):
    # Fully transparent pixels whose colour channels hold garbage: chat apps show white.
    garbage = Image.new("RGBA", (64, 64), (200, 30, 90, 0))
    white = Image.new("RGB", (64, 64), (255, 255, 255))
    a, b = clip.encode_images([garbage, white])
    assert np.allclose(a, b, atol=1e-5)


def test_an_animated_sticker_is_the_mean_of_first_middle_and_last_frame(clip):
    animation = load_image(animated_gif_bytes(7))
    assert len(animation.frames) == 3
    frames = clip.encode_images(animation.frames)
    mean = frames.mean(axis=0)
    expected = mean / np.linalg.norm(mean)

    vector = embed_sticker(clip, animation)

    assert vector.shape == (16,)
    assert np.allclose(vector, expected, atol=1e-5)
    assert not np.allclose(vector, frames[0], atol=1e-3)  # not just the first frame
    still = load_image(png_bytes(5))
    assert np.allclose(embed_sticker(clip, still), clip.encode_images(still.frames)[0], atol=1e-5)


# --- the image index --------------------------------------------------------------------------------


def test_image_index_sync_is_incremental_and_idempotent(tmp_path, clip, library):
    counting = CountingEmbedder(clip)
    index = StickerImageIndex(tmp_path / "idx", counting)

    assert sync_image_index(index, library, progress=False) == len(SEEDS)
    assert index.stored_hashes() == {r.id: r.sha256 for r in library.records}
    embedded = counting.images
    assert embedded == len(SEEDS)  # still stickers: one frame each

    assert sync_image_index(index, library, progress=False) == 0  # nothing new: nothing embedded
    assert counting.images == embedded

    # A changed image (new sha256) is re-embedded; a sticker gone from the library is dropped.
    changed = library.records[0]
    changed.sha256 = "0" * 64
    smaller = Library(library.records[:-1], library.pack_dirs)
    assert sync_image_index(index, smaller, progress=False) == 1
    assert counting.images == embedded + 1
    assert set(index.stored_hashes()) == {r.id for r in smaller.records}
    assert index.stored_hashes()[changed.id] == "0" * 64


def test_image_index_shares_the_folder_but_refuses_another_embedder(tmp_path, clip, library):
    path = tmp_path / "idx"
    text_index = StickerIndex(path, FakeEmbedder())
    sync_index(text_index, library, progress=False)
    image_index = StickerImageIndex(path, clip)
    sync_image_index(image_index, library, progress=False)
    assert len(text_index) == len(image_index) == len(SEEDS)
    assert sorted(p.name for p in path.iterdir() if p.is_file()) == ["chroma.sqlite3"]  # one database

    assert len(StickerImageIndex(path, clip)) == len(SEEDS)  # reopened with the same embedder
    with pytest.raises(EmbedderMismatchError, match=f"STICKERBOT_IMAGE_EMBEDDER={CLIP}"):
        StickerImageIndex(path, CountingEmbedder(clip, name="another-clip"))
    wider = CountingEmbedder(clip)
    wider.dim = 32
    with pytest.raises(EmbedderMismatchError, match="16-d"):
        StickerImageIndex(path, wider)
    # The text index is not affected by the image collection's embedder.
    assert len(StickerIndex(path, FakeEmbedder())) == len(SEEDS)


# --- search ----------------------------------------------------------------------------------------


def test_a_reencoded_copy_finds_its_sticker_by_image_embedding(tmp_path, clip, library):
    text_index = StickerIndex(tmp_path / "idx", FakeEmbedder())
    sync_index(text_index, library, progress=False)
    image_index = StickerImageIndex(tmp_path / "idx", clip)
    sync_image_index(image_index, library, progress=False)
    query = load_image(reencoded_jpeg(TARGET_SEED))  # resized, JPEG, flattened: not the same bytes
    # Perceptual hash off: only the image embedding can tell the stickers apart.
    no_hash = SearchWeights(image=0.0)

    hits = StickerSearch(library, text_index, weights=no_hash, image_index=image_index).search(
        image=query, k=4
    )
    assert hits[0].record.id == TARGET_ID
    assert hits[0].score > hits[1].score
    reason = next(r for r in hits[0].reasons if "image embedding" in r)
    assert re.fullmatch(r"looks alike \(image embedding [01]\.\d\d\)", reason)

    blind = StickerSearch(library, text_index, weights=no_hash).search(image=query, k=4)
    assert blind[0].record.id != TARGET_ID  # without the image index every sticker ties
    assert not any("image embedding" in r for h in blind for r in h.reasons)

    # With the default weights, the embedding adds to the perceptual hash's score.
    both = StickerSearch(library, text_index, image_index=image_index).search(image=query, k=4)
    hash_only = StickerSearch(library, text_index).search(image=query, k=4)
    assert both[0].record.id == hash_only[0].record.id == TARGET_ID
    assert both[0].score == pytest.approx(hash_only[0].score + hits[0].score, abs=1e-5)


def test_open_library_builds_and_uses_the_image_index_only_when_configured(
    tmp_path, tiny_clip_dir, monkeypatch
):
    bundled = tmp_path / "bundled"
    write_bundled_pack(bundled, SEEDS)
    monkeypatch.setattr(Settings, "bundled_pack_dir", property(lambda self: bundled))
    base = Settings.from_env({"STICKERBOT_IMAGE_EMBEDDER": "none"}, data_dir=tmp_path / "data", ocr=False)
    query = load_image(reencoded_jpeg(TARGET_SEED))

    off = open_library(base, progress=False, embedder=FakeEmbedder())
    assert off.image_index is None and off.search.image_index is None
    assert not any("image embedding" in r for r in off.search.search(image=query, k=1)[0].reasons)

    settings = Settings.from_env(
        {"STICKERBOT_IMAGE_EMBEDDER": CLIP, "STICKERBOT_IMAGE_EMBEDDER_PATH": str(tiny_clip_dir)},
        data_dir=tmp_path / "data",
        ocr=False,
    )
    on = open_library(settings, progress=False, embedder=FakeEmbedder())
    assert on.image_index is not None and on.search.image_index is on.image_index
    assert on.image_index.path == settings.index_dir
    assert set(on.image_index.stored_hashes()) == set(on.library.by_id)
    hit = on.search.search(image=query, k=1)[0]
    assert hit.record.id == TARGET_ID
    assert any("image embedding" in r for r in hit.reasons)
    assert sync_image_index(on.image_index, on.library, progress=False) == 0  # already up to date


# --- import ----------------------------------------------------------------------------------------


def test_import_embeds_new_stickers_in_the_workers_and_indexes_them(tmp_path, clip, library):
    files = {"one.png": png_bytes(1), "dance.gif": animated_gif_bytes(6), "three.webp": webp_bytes(3)}
    source = tmp_path / "src"
    source.mkdir()
    for name, data in files.items():
        (source / name).write_bytes(data)
    packs_dir = tmp_path / "packs"
    counting = CountingEmbedder(clip)
    image_index = StickerImageIndex(tmp_path / "idx", counting)
    importer = PackImporter(library, None, packs_dir, ocr=None, image_index=image_index)

    report = importer.run(source, pack="mine", progress=False)

    assert len(report.imported) == len(files)
    records = read_manifest(packs_dir / "mine" / MANIFEST)
    assert image_index.stored_hashes() == {r.id: r.sha256 for r in records}
    stored = image_index.get_vectors([r.id for r in records])
    by_sha = {r.sha256: r.id for r in records}
    for data in files.values():
        sticker_id = by_sha[hashlib.sha256(data).hexdigest()]
        assert np.allclose(stored[sticker_id], embed_sticker(clip, load_image(data)), atol=1e-5)
    assert threading.current_thread().name not in counting.threads  # embedded in the worker threads

    # Vectors lost (an import killed before its batch was indexed): the next run restores them
    # from the pack's images, without importing anything twice.
    image_index.delete([records[0].id])
    again = importer.run(source, pack="mine", progress=False)
    assert again.counts() == {"already imported": len(files)}
    assert image_index.stored_hashes() == {r.id: r.sha256 for r in records}


# --- StickerCLIP: fine-tuning a Hub CLIP into the text space ------------------------------------


def test_train_clip_fine_tunes_a_hub_clip_and_the_registry_loads_it(tmp_path, tiny_clip_dir):
    import torch
    from transformers import CLIPModel

    from stickerbot.stickerclip.hub import HubClipEncoder
    from stickerbot.stickerclip.train import ClipTrainConfig, ClipTrainer
    from tests.helpers_stickerclip import TINY, shapes_set

    train, text = shapes_set()
    model = HubClipEncoder.from_pretrained(tiny_clip_dir, dim=TINY.dim, text_embedder="fake")
    assert model.config.image_size == 32 and model.config.base == str(tiny_clip_dir)
    config = ClipTrainConfig(
        steps=30, batch_size=16, lr=3e-3, warmup=3, save_every=10, eval_every=30, threads=1
    )
    out = tmp_path / "stickerclip-hub"
    trainer = ClipTrainer(
        train, text, out=out, state_path=tmp_path / "state.pt", config=config, dev=train, model=model
    )
    before = trainer.evaluate_dev()["R@1"]
    result = trainer.run(progress=False)
    assert result.dev["R@1"] > before and (out / "head.safetensors").exists()
    # The vision tower itself was trained, not only the new head.
    original = CLIPModel.from_pretrained(tiny_clip_dir).vision_model.embeddings.patch_embedding.weight
    assert not torch.allclose(model.vision.embeddings.patch_embedding.weight, original)

    embedder = create_image_embedder("stickerclip", path=out)
    assert embedder.dim == TINY.dim and embedder.text_embedder == "fake"
    vectors = embedder.encode_images([sticker(1), sticker(2)])
    assert vectors.shape == (2, TINY.dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    with pytest.raises(EmbedderLoadError, match="train clip"):
        create_image_embedder("stickerclip", data_dir=tmp_path / "empty")
