"""StickerCLIP-lite: the encoder, its augmentation, training (resumable), and reading pictures.

Trained here on pictures the tests draw (coloured shapes) toward made-up text vectors, with a
tiny configuration; the shipped encoder is only loaded in the slow tier.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from stickerbot.retrieval.reading import NeighbourReader, ReadWeights, vote
from stickerbot.stickerclip.augment import AugmentConfig, StickerAugment
from stickerbot.stickerclip.data import PictureSet, held_out_emoji
from stickerbot.stickerclip.model import (
    EncoderLoadError,
    StickerEncoder,
    load_encoder,
    save_encoder,
    to_pixels,
)
from stickerbot.stickerclip.train import ClipTrainConfig, ClipTrainer, rank_metrics
from stickerbot.stickers.record import StickerRecord
from tests.helpers_stickerclip import COLOURS, TINY, shape, shapes_set


def test_encoder_gives_unit_vectors_and_round_trips(tmp_path):
    model = StickerEncoder(TINY).eval()
    pixels = to_pixels([shape(0, COLOURS[0]), shape(1, COLOURS[1]).convert("RGB")], TINY)
    assert pixels.shape == (2, 3, 32, 32) and float(pixels.min()) >= 0 and float(pixels.max()) <= 1
    with torch.inference_mode():
        vectors = model(pixels)
    assert vectors.shape == (2, 16) and torch.allclose(vectors.norm(dim=1), torch.ones(2), atol=1e-5)
    path = save_encoder(model, tmp_path / "enc.safetensors", {"steps": 3})
    again, metadata = load_encoder(path)
    assert again.config == TINY and metadata["steps"] == "3"
    with torch.inference_mode():
        assert torch.allclose(again(pixels), vectors, atol=2e-2)  # stored as float16
    # Transparent pixels are the white background, whatever colour they carry.
    clear_red = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    assert torch.allclose(to_pixels([clear_red], TINY), torch.ones(1, 3, 32, 32))


def test_a_dev_stand_in_style_must_be_one_the_encoder_never_trained_on(tmp_path):
    from types import SimpleNamespace

    from stickerbot.errors import UserError
    from stickerbot.stickerclip.evaluate import _check_unseen, trained_styles

    path = save_encoder(
        StickerEncoder(TINY), tmp_path / "enc.safetensors", {"train_styles": ["library", "noto-blob"]}
    )
    assert trained_styles(path) == ["library", "noto-blob"]
    encoder = SimpleNamespace(path=path, name="stickerclip-lite")
    _check_unseen(encoder, ("streamline",))  # never trained on: a fair stand-in
    with pytest.raises(UserError, match="trained on noto-blob"):
        _check_unseen(encoder, ("streamline", "noto-blob"))
    with pytest.raises(UserError, match="unknown art styles comic-sans"):
        _check_unseen(encoder, ("comic-sans",))
    with pytest.raises(UserError, match="the test's held-out styles"):
        _check_unseen(encoder, ("twemoji",))
    untold = save_encoder(StickerEncoder(TINY), tmp_path / "old.safetensors")
    with pytest.raises(UserError, match="does not say"):
        _check_unseen(SimpleNamespace(path=untold, name="old"), ("streamline",))


def test_loading_fails_with_a_clear_message(tmp_path):
    with pytest.raises(EncoderLoadError, match="train clip"):
        load_encoder(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(EncoderLoadError, match="cannot load"):
        load_encoder(tmp_path / "junk.safetensors")


def test_augmentation_keeps_shape_and_range_and_follows_the_generator():
    data, _ = shapes_set()
    augment = StickerAugment(AugmentConfig(size=32, jpeg=0.5, words=0.5))
    a = augment(data.pixels[:8], torch.Generator().manual_seed(1))
    b = augment(data.pixels[:8], torch.Generator().manual_seed(1))
    c = augment(data.pixels[:8], torch.Generator().manual_seed(2))
    assert a.shape == (8, 3, 32, 32) and float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)


def _only(size: int = 32, **on) -> AugmentConfig:
    """A configuration that applies nothing but ``on`` (and keeps the picture where it is)."""
    off = dict(
        scale=(1.0, 1.0),
        rotation=0.0,
        shift=0.0,
        outline=0.0,
        lines=0.0,
        colour=0.0,
        background=0.0,
        words=0.0,
        jpeg=0.0,
        blur=0.0,
    )
    return AugmentConfig(size=size, **{**off, **on})


def test_hue_turns_only_the_pictures_allowed_it():
    data, _ = shapes_set()
    red = data.pixels[[16, 16]]  # the red square twice (4 offsets of each of 8 stickers)
    augment = StickerAugment(_only(hue=1.0))
    plain = StickerAugment(_only())(red, torch.Generator().manual_seed(0))
    out = augment(red, torch.Generator().manual_seed(0), free_hue=np.array([True, False]))
    centre = (slice(None), slice(12, 20), slice(12, 20))
    assert torch.equal(out[1], plain[1])  # not allowed: still red
    turned, kept = out[0][centre].mean((1, 2)), plain[0][centre].mean((1, 2))
    assert (turned - kept).abs().max() > 0.15  # another colour (at least 30 degrees round)
    assert abs(float(turned.mean() - kept.mean())) < 0.1  # about as light


def test_line_art_inks_the_edges_over_a_flat_fill():
    data, _ = shapes_set()
    square = data.pixels[[16]]
    out = StickerAugment(_only(line_art=1.0))(square, torch.Generator().manual_seed(3))[0]
    grey = out.mean(0)
    edge, inside = grey[3:5, 12:20], grey[14:18, 14:18]  # the square's border is at 10/80 -> 4/32
    assert float(edge.max()) < 0.35  # dark ink along the edge
    assert float(grey[0].min()) > 0.9  # and none round the frame
    assert float(inside.std()) < 0.02  # one flat colour inside
    assert float(inside.mean()) > float(edge.min()) + 0.2


def test_a_random_convolution_changes_texture_and_palette_but_keeps_the_shape():
    data, _ = shapes_set()
    pictures = data.pixels[:6]
    plain = StickerAugment(_only())(pictures, torch.Generator().manual_seed(0))
    mixed = StickerAugment(_only(random_conv=1.0))(pictures, torch.Generator().manual_seed(0))
    assert mixed.shape == plain.shape and float(mixed.min()) >= 0 and float(mixed.max()) <= 1
    assert not torch.allclose(mixed, plain, atol=0.02)
    # The shape stays where it was: the changed picture follows the plain one's edges.
    for a, b in zip(plain, mixed, strict=True):
        ga, gb = a.mean(0), b.mean(0)
        ea = (ga[1:, :] - ga[:-1, :]).abs() > 0.05
        eb = (gb[1:, :] - gb[:-1, :]).abs() > 0.01
        if ea.any():
            assert (ea & eb).float().sum() / ea.float().sum() > 0.6
    # Off (the default), nothing changes.
    assert torch.equal(
        StickerAugment(_only(random_conv=0.0))(pictures, torch.Generator().manual_seed(0)), plain
    )


def test_grey_pictures_have_no_colour():
    data, _ = shapes_set()
    out = StickerAugment(_only(grey=1.0))(data.pixels[:4], torch.Generator().manual_seed(0))
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 1], out[:, 2])


def test_held_out_emoji_are_a_stable_tenth():
    keys = [f"1F{n:03X}" for n in range(2000)]
    out = [k for k in keys if held_out_emoji(k)]
    assert 0.07 < len(out) / len(keys) < 0.13
    assert out == [k for k in keys if held_out_emoji(k)]


def test_rank_metrics():
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.1, 0.8]])
    m = rank_metrics(scores, np.array([0, 1]))
    assert m["R@1"] == 50.0 and m["R@5"] == 100.0 and m["MR"] == pytest.approx((50 + 100 + 100) / 3)


def test_training_learns_the_pictures_and_resumes(tmp_path):
    train, text = shapes_set()
    config = ClipTrainConfig(
        steps=40, batch_size=16, lr=5e-3, warmup=5, save_every=10, eval_every=20, threads=1
    )
    trainer = ClipTrainer(
        train,
        text,
        out=tmp_path / "enc.safetensors",
        state_path=tmp_path / "state.pt",
        config=config,
        encoder=TINY,
        dev=train,
    )
    before = trainer.evaluate_dev()["R@1"]
    result = trainer.run(progress=False)
    assert result.steps == 40 and result.resumed_from == 0 and result.path.exists()
    assert result.dev["R@1"] > max(before, 12.5) + 25  # 8 stickers: chance is 12.5%
    # The same command again resumes from the saved state (here: already at its last step).
    again = ClipTrainer(
        train,
        text,
        out=tmp_path / "enc.safetensors",
        state_path=tmp_path / "state.pt",
        config=config,
        encoder=TINY,
    )
    assert again.run(progress=False).resumed_from == 40
    # Another schedule does not resume a state written for this one.
    other = ClipTrainer(
        train,
        text,
        out=tmp_path / "enc.safetensors",
        state_path=tmp_path / "state.pt",
        config=ClipTrainConfig(steps=2, batch_size=16, threads=1),
        encoder=TINY,
    )
    assert other.run(progress=False).resumed_from == 0


def test_drawn_faces_join_only_in_the_drawing_phase_under_a_restarted_schedule(tmp_path):
    base, text = shapes_set()
    # The last 8 pictures play the drawn faces.
    train = PictureSet(base.pixels, base.targets, ["test"] * 24 + ["drawn"] * 8, base.keys)
    config = ClipTrainConfig(
        steps=10, batch_size=16, lr=5e-3, warmup=2, drawn_steps=4, drawn_lr=1e-3, drawn_warmup=2, threads=1
    )
    trainer = ClipTrainer(
        train,
        text,
        out=tmp_path / "enc.safetensors",
        state_path=tmp_path / "state.pt",
        config=config,
        encoder=TINY,
    )
    assert trainer.drawing_from == 6
    # The first phase warms up to lr and decays; the second warms up again to drawn_lr.
    assert trainer.lr_at(1) == pytest.approx(5e-3) and trainer.lr_at(5) < 5e-3
    assert trainer.lr_at(6) == pytest.approx(5e-4) and trainer.lr_at(7) == pytest.approx(1e-3)
    assert trainer.lr_at(9) < 1e-3
    first = np.concatenate([trainer.sample(step)[0] for step in range(6) for _ in range(5)])
    second = np.concatenate([trainer.sample(6)[0] for _ in range(20)])
    assert first.max() < 24  # no drawn face before the drawing phase
    assert (second >= 24).any()  # and drawn faces in it
    # The drawing augmentation: none before the phase; in it every picture by default, or only
    # the drawn faces and a share of the others.
    idx = np.arange(32)
    assert not trainer.drawing_mask(5, idx).any() and trainer.drawing_mask(6, idx).all()
    only_drawn = ClipTrainer(
        train,
        text,
        out=tmp_path / "d.safetensors",
        state_path=tmp_path / "d.pt",
        config=dataclasses.replace(config, drawn_emoji_share=0.0),
        encoder=TINY,
    )
    assert (only_drawn.drawing_mask(6, idx) == (idx >= 24)).all()
    half = dataclasses.replace(config, drawn_emoji_share=0.5)
    mixed = ClipTrainer(
        train, text, out=tmp_path / "h.safetensors", state_path=tmp_path / "h.pt", config=half, encoder=TINY
    )
    mask = np.concatenate([mixed.drawing_mask(6, idx) for _ in range(50)]).reshape(50, 32)
    assert mask[:, 24:].all() and 0.35 < mask[:, :24].mean() < 0.65
    _, pixels = only_drawn.sample(6)  # both augmentations in one batch, one picture size
    assert pixels.shape[0] == config.batch_size and torch.isfinite(pixels).all()
    # Without a drawing phase, every picture is sampled from the start.
    plain = ClipTrainer(
        train,
        text,
        out=tmp_path / "p.safetensors",
        state_path=tmp_path / "p.pt",
        config=dataclasses.replace(config, drawn_steps=0),
        encoder=TINY,
    )
    assert plain.drawing_from == 10 and (np.concatenate([plain.sample(0)[0] for _ in range(20)]) >= 24).any()


def record(i: int, emotion: str, fine: str | None = None, name: str = "") -> StickerRecord:
    return StickerRecord(
        id=f"t:{i}", image="x.png", pack="t", name=name or f"sticker {i}", emotion=emotion, fine_emotion=fine
    )


def test_vote_weighs_neighbours_by_score():
    assert vote(["Sadness", "Happiness", "Happiness"], np.array([0.9, 0.7, 0.7]), 0.05)[0] == "Sadness"
    label, share = vote(["Sadness", "Happiness", "Happiness"], np.array([0.9, 0.9, 0.9]), 0.05)
    assert label == "Happiness" and share == pytest.approx(2 / 3)
    assert vote([None, None], np.array([0.5, 0.4]), 0.05) == (None, 0.0)


def test_a_picture_is_read_from_its_nearest_stickers():
    records = [
        record(0, "Sadness", "crying", "loudly crying face"),
        record(1, "Sadness", None),
        record(2, "Happiness", "smiling"),
        record(3, "Anger"),
    ]
    text = np.eye(4, 8, dtype=np.float32)
    reader = NeighbourReader(records, text, None, ReadWeights(k=3))
    query = np.array([0.8, 0.6, 0, 0, 0, 0, 0, 0], dtype=np.float32)
    reading = reader.read(query)
    assert (
        reading.emotion == "Sadness"
        and reading.fine_emotion == "crying"
        and reading.confidence > 0.9
        and reading.sure
    )
    assert reading.record.id == "t:0" and reading.phrase() == "a loudly crying face (crying)"
    unsure = reader.read(np.array([0.5, 0, 0.5, 0.5, 0, 0, 0, 0], dtype=np.float32))
    assert unsure.confidence < 0.5 and not unsure.sure
    # With picture vectors too, a neighbour's score mixes both.
    images = np.roll(np.eye(4, 8, dtype=np.float32), 1, axis=0)
    both = NeighbourReader(records, text, images, ReadWeights(image=0.5)).scores(text[0])
    assert both[0, 0] == pytest.approx(0.5) and both[0, 1] == pytest.approx(0.5)


def test_the_side_that_picks_one_sticker_more_clearly_weighs_more():
    from stickerbot.retrieval.reading import margin_share, top_margin

    assert top_margin(np.array([[0.9, 0.2, 0.5], [0.3, 0.3, 0.1]])) == pytest.approx([0.4, 0.0])
    assert margin_share(np.array([0.3, 0.0]), np.array([0.1, 0.0]), 0.5) == pytest.approx([0.75, 0.5])
    records = [record(n, "Neutral") for n in range(3)]
    # The text side hesitates between stickers 0 and 2 (margin 0.01); the picture side picks
    # sticker 1 by 0.15. The fixed half-and-half share picks 0.
    text = np.eye(3, 8, dtype=np.float32)
    images = np.eye(3, 8, k=3, dtype=np.float32)
    query = np.array([0.8, 0.6, 0.79, 0.3, 0.45, 0, 0, 0], dtype=np.float32)
    fixed = NeighbourReader(records, text, images, ReadWeights(image=0.5)).scores(query)[0]
    weighted = NeighbourReader(records, text, images, ReadWeights(image_by_margin=True)).scores(query)[0]
    assert np.argmax(fixed) == 0 and np.argmax(weighted) == 1
    # Shifted so that the best score is the fixed share's: the head's gate stays where it was set.
    assert weighted.max() == pytest.approx(fixed.max())
    # w = 0.15 / (0.15 + 0.01): nearly all picture side, shifted by a constant.
    w = 0.15 / 0.16
    raw = (1 - w) * (text @ query) + w * (images @ query)
    assert weighted - raw == pytest.approx(np.full(3, weighted[0] - raw[0]), abs=1e-6)


def test_reader_weights_are_changed_by_name_with_clear_errors():
    from stickerbot.retrieval.reading import read_weights_with

    weights = read_weights_with(["k=5", "image_by_margin=true", "temperature=0.1"])
    assert (weights.k, weights.image_by_margin, weights.temperature) == (5, True, 0.1)
    assert read_weights_with([]) == ReadWeights()
    for bad, says in (
        ("kk=3", "ReadWeights field"),
        ("k", "FIELD=VALUE"),
        ("k=many", "number"),
        ("image_by_margin=maybe", "true or false"),
    ):
        with pytest.raises(ValueError, match=says):
            read_weights_with([bad])


def test_an_unknown_sticker_is_described_by_what_it_looks_like_only_when_sure():
    from stickerbot.chat.upload import UploadedSticker
    from stickerbot.retrieval.reading import StickerReading
    from stickerbot.stickers.images import load_image
    from tests.helpers_images import png_bytes

    image = load_image(png_bytes(0, 64))
    crying = record(0, "Sadness", "crying", "loudly crying face")
    sure = StickerReading("loudly crying face", "Sadness", "crying", 0.8, crying, sure=True)
    unsure = StickerReading("loudly crying face", "Sadness", "crying", 0.4, crying, sure=False)
    seen = UploadedSticker(image, None, None, "", sure)
    assert seen.describe() == "a sticker that looks like a loudly crying face (crying)"
    assert seen.emotion == "Sadness" and seen.looks_like is crying and seen.to_dict()["reading"]["used"]
    unseen = UploadedSticker(image, None, None, "", unsure)
    assert unseen.describe() == "a sticker" and unseen.emotion is None and unseen.looks_like is None
    worded = UploadedSticker(image, None, None, "NOOO", sure)
    assert worded.describe() == 'a sticker with the words "NOOO", looks like a loudly crying face (crying)'


def test_the_shipped_encoder_sees_from_an_empty_data_directory(bundled_services):
    """The default settings on an empty data directory: the shipped encoder, the bundled
    pictures' vectors taken from the pack (not re-embedded), and an unknown picture read."""
    from stickerbot.services import bundled_image_vectors_path
    from stickerbot.stickers.images import load_image
    from tests.helpers_images import encode

    image_index = bundled_services.image_index
    assert image_index is not None and image_index.embedder.name == "stickerclip-lite"
    # Its expression head ships beside it and was trained on it.
    from stickerbot.stickers.labels import EMOTIONS

    assert image_index.embedder.expression_labels == EMOTIONS
    assert image_index.embedder.text_embedder == bundled_services.index.embedder.name
    library = bundled_services.library
    shipped = np.load(bundled_image_vectors_path(library.pack_dirs["bundled"], image_index.embedder))
    first = str(shipped["ids"][0])
    stored = image_index.get_vectors([first])[first]
    assert np.allclose(stored, shipped["vectors"][0].astype(np.float32), atol=1e-3)
    # A library picture changed the way chat apps change stickers (smaller, tilted, on a
    # coloured ground, saved as JPEG) is no longer a perceptual-hash duplicate, but is read.
    crying = library.by_id["emoji:1F62D"]
    with Image.open(library.path_of(crying)) as picture:
        tilted = picture.convert("RGBA").resize((90, 90)).rotate(20, expand=True)
    ground = Image.new("RGBA", (140, 140), (120, 200, 250, 255))
    ground.alpha_composite(tilted, (15, 10))
    reading = bundled_services.search.read_picture(
        load_image(encode(ground.convert("RGB"), "JPEG", quality=60))
    )
    assert reading is not None and reading.emotion == "Sadness" and reading.sure


def test_an_unlabelled_import_takes_its_feeling_from_its_picture(tmp_path, minilm):
    """A pack of pictures named IMG_0042.png, no sidecar: the crying one is found by meaning."""
    from stickerbot.config import Settings
    from stickerbot.services import open_library

    services = open_library(
        Settings.from_env({}, data_dir=tmp_path / "data", ocr=False), progress=False, embedder=minilm
    )
    library = services.library
    source = tmp_path / "drawings"
    source.mkdir()
    for n, key in enumerate(("1F62D", "1F602")):
        with Image.open(library.path_of(library.by_id[f"emoji:{key}"])) as picture:
            moved = picture.convert("RGBA").resize((100, 100)).rotate(-15, expand=True)
        ground = Image.new("RGBA", (150, 150), (250, 240, 200, 255))
        ground.alpha_composite(moved, (10, 20))
        ground.convert("RGB").save(source / f"IMG_{42 + n:04d}.png")
    report = services.import_pack(source, pack="drawings", ocr=None)
    records = {o.file: services.library.by_id[o.sticker_id] for o in report.imported}
    crying, laughing = records["IMG_0042.png"], records["IMG_0043.png"]
    assert crying.emotion == "Sadness" and "looks like" in crying.description and crying.queries
    assert laughing.emotion == "Happiness"
    hits = services.search.search("so sad, crying my eyes out", k=10)
    assert crying.id in [h.record.id for h in hits]


def test_import_search_reports_the_pack_found_by_feeling(tmp_path, minilm):
    """`eval images --imports` on a small pack: pictures named like a camera roll are found by
    the feeling they show once the encoder reads them, and not without it."""
    import json

    from stickerbot.config import Settings
    from stickerbot.stickerclip.evaluate import IMPORT_QUERIES, import_search
    from stickerbot.stickers.library import Library

    settings = Settings.from_env({}, data_dir=tmp_path / "data", ocr=False)
    library = Library.load(settings.bundled_pack_dir)
    drawn = tmp_path / "drawn"
    drawn.mkdir()
    rows = []
    for key, emotion in (
        ("1F62D", "Sadness"),
        ("1F622", "Sadness"),
        ("1F602", "Happiness"),
        ("1F621", "Anger"),
    ):
        with Image.open(library.path_of(library.by_id[f"emoji:{key}"])) as picture:
            tilted = picture.convert("RGBA").resize((100, 100)).rotate(12, expand=True)
        name = f"{key}.png"
        tilted.save(drawn / name)
        rows.append({"image": name, "emotion": emotion})
    (drawn / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = import_search(settings, drawn, k=2)
    assert report["pictures"] == 4 and set(report["with encoder"]["precision"]) == set(IMPORT_QUERIES)
    assert report["with encoder"]["precision"]["Sadness"] == 100.0  # both crying faces first
    assert report["with encoder"]["mean"] > report["without encoder"]["mean"]


def test_eval_images_scores_a_set_of_drawn_stickers_alone(tmp_path, minilm):
    """`eval images --drawn DIR`: the drawn set only (no emoji art needed), each gallery and
    pHash + OCR judged by emotion; library faces moved about are read by their feeling."""
    import json

    from stickerbot.config import Settings
    from stickerbot.stickerclip.evaluate import evaluate_images, format_report
    from stickerbot.stickers.library import Library

    settings = Settings.from_env({}, data_dir=tmp_path / "data", ocr=False)
    library = Library.load(settings.bundled_pack_dir)
    drawn = tmp_path / "drawn"
    drawn.mkdir()
    rows = []
    for key, emotion in (("1F62D", "Sadness"), ("1F602", "Happiness"), ("1F621", "Anger")):
        with Image.open(library.path_of(library.by_id[f"emoji:{key}"])) as picture:
            moved = picture.convert("RGBA").resize((96, 96)).rotate(-10, expand=True)
        ground = Image.new("RGBA", (128, 128), (255, 250, 230, 255))
        ground.alpha_composite(moved, (8, 8))
        ground.save(drawn / f"{key}.png")
        rows.append({"image": f"{key}.png", "emotion": emotion, "kind": "face"})
    (drawn / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = evaluate_images(settings, drawn_dir=drawn, styles=False, progress=False)
    # No held-out style, and no dev emoji table without the fetched emoji art.
    assert report["styles"] == {} and "dev" not in report
    assert report["drawn"]["pictures"] == 3 and report["drawn"]["both"]["emotion"] == 100.0
    assert "phash+ocr" in report["drawn"] and "drawn stickers (drawn): 3" in format_report(report)
