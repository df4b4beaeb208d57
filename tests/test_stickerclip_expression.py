"""The expression head: trained on a frozen encoder, saved beside it, read only for pictures
unlike every library sticker. On a tiny encoder and pictures the tests draw."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stickerbot.retrieval.reading import NeighbourReader, ReadWeights
from stickerbot.stickerclip.data import PictureSet
from stickerbot.stickerclip.embedder import LiteImageEmbedder, file_fingerprint
from stickerbot.stickerclip.expression import (
    ExpressionHead,
    ExpressionModel,
    HeadConfig,
    drawn_box,
    face_crop,
    load_head,
    save_head,
)
from stickerbot.stickerclip.model import EncoderLoadError, StickerEncoder, save_encoder
from stickerbot.stickerclip.paths import expression_head_path
from stickerbot.stickerclip.train import ClipTrainConfig, ExpressionTrainer, class_weights
from stickerbot.stickers.record import StickerRecord
from tests.helpers_stickerclip import TINY, shapes_set

LABELS = ("Anger", "Sadness")


def tiny_encoder(tmp_path, seed: int = 0):
    torch.manual_seed(seed)
    encoder = StickerEncoder(TINY).eval()
    path = save_encoder(encoder, tmp_path / f"enc{seed}.safetensors")
    return encoder, path


def test_class_weights_balance_the_classes():
    weights = class_weights(np.array([0, 0, 0, 1]), 3)
    assert weights[1] == pytest.approx(3 * weights[0])  # the rarer class counts more
    assert torch.isfinite(weights).all()  # an absent class divides by nothing
    assert class_weights(np.array([0] * 99 + [1]), 2)[1] == pytest.approx(5.0)  # capped


def test_the_head_learns_emotions_and_leaves_the_encoder_alone(tmp_path):
    train, _ = shapes_set()
    # Red and green stickers (targets t % 4 in 0, 1) are "Anger", blue and yellow ones "Sadness".
    emotions = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    encoder, enc_path = tiny_encoder(tmp_path)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    fingerprint = file_fingerprint(enc_path)
    head = ExpressionHead(encoder, HeadConfig(from_block=1, labels=LABELS))
    model = ExpressionModel(encoder, head, fingerprint)
    out = expression_head_path(enc_path)
    config = ClipTrainConfig(
        steps=40, batch_size=16, lr=5e-3, warmup=5, save_every=10, eval_every=20, threads=1
    )
    trainer = ExpressionTrainer(
        train,
        emotions,
        classes=2,
        dev=train,
        out=out,
        state_path=tmp_path / "s.pt",
        model=model,
        config=config,
    )
    result = trainer.run(progress=False)
    assert result.path == out and out.exists()
    assert result.dev["emotion"] >= 90.0
    after = encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # batch-norm statistics included
    # The same run again resumes (already at its last step).
    again = ExpressionTrainer(
        train,
        emotions,
        classes=2,
        out=out,
        state_path=tmp_path / "s.pt",
        model=ExpressionModel(encoder, ExpressionHead(encoder, HeadConfig(1, LABELS)), fingerprint),
        config=config,
    )
    assert again.run(progress=False).resumed_from == 40

    # Beside its encoder, the embedder finds the head and reads from one pass of the trunk.
    embedder = LiteImageEmbedder("stickerclip-lite", enc_path)
    assert embedder.expression_labels == LABELS
    from PIL import Image

    pictures = [Image.fromarray(train.pixels[i], "RGBA") for i in range(0, len(train), 4)]
    vectors, probs = embedder.encode_with_expressions(pictures)
    assert np.allclose(vectors, embedder.encode_images(pictures), atol=1e-5)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    truth = emotions[train.targets[::4]]
    assert (probs.argmax(axis=1) == truth).mean() >= 0.75


def test_a_head_of_another_encoder_is_not_used(tmp_path, caplog):
    encoder, enc_path = tiny_encoder(tmp_path, seed=0)
    other, other_path = tiny_encoder(tmp_path, seed=1)
    head = ExpressionModel(
        encoder, ExpressionHead(encoder, HeadConfig(1, LABELS)), file_fingerprint(enc_path)
    )
    head.save(expression_head_path(other_path))
    assert load_head(expression_head_path(other_path), other, file_fingerprint(other_path)) is None
    assert "another image encoder" in caplog.text
    assert LiteImageEmbedder("stickerclip-lite", other_path).expression_labels is None
    # No head file: none, quietly; a damaged one: a clear error.
    assert load_head(tmp_path / "none.safetensors", encoder, "x") is None
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(EncoderLoadError, match="cannot load the expression head"):
        load_head(bad, encoder, file_fingerprint(enc_path))


def test_an_int8_head_reads_as_its_float16_file_and_is_smaller(tmp_path):
    encoder, enc_path = tiny_encoder(tmp_path)
    fingerprint = file_fingerprint(enc_path)
    torch.manual_seed(3)
    head = ExpressionHead(encoder, HeadConfig(from_block=1, labels=LABELS)).eval()
    with torch.no_grad():  # trained-looking weights: channels of very different sizes
        for p in head.parameters():
            p.mul_(torch.linspace(0.1, 3.0, p.shape[0]).view(-1, *([1] * (p.dim() - 1))))
    f16 = save_head(head, tmp_path / "f16.safetensors", fingerprint)
    i8 = save_head(head, tmp_path / "i8.safetensors", fingerprint, storage="int8")
    assert i8.stat().st_size < 0.7 * f16.stat().st_size
    pixels = torch.rand(16, 3, TINY.image_size, TINY.image_size)
    with torch.no_grad():
        features = encoder.trunk(pixels, 1)
        exact = head(features)
        read = {
            name: load_head(path, encoder, fingerprint)(features) for name, path in (("f16", f16), ("i8", i8))
        }
    scale = exact.abs().max()
    assert (read["f16"] - exact).abs().max() < 0.01 * scale
    assert (read["i8"] - exact).abs().max() < 0.03 * scale
    assert torch.equal(read["i8"].argmax(-1), exact.argmax(-1))
    # Each output channel has its own scale: a channel a hundred times smaller than the
    # largest is not rounded to zero.
    from stickerbot.stickerclip.storage import dequantize_state, quantize_state

    w = torch.randn(4, 300)
    w[0] *= 0.01
    back = dequantize_state(quantize_state({"w": w}, "int8"))["w"]
    assert (back[0] - w[0]).abs().max() < 0.01 * w[0].abs().max()
    with pytest.raises(ValueError, match="unknown weight storage"):
        quantize_state({"w": w}, "int4")


def test_a_head_branch_outside_the_encoder_is_a_clear_error():
    from stickerbot.errors import UserError

    encoder = StickerEncoder(TINY)
    with pytest.raises(UserError, match="residual blocks"):
        ExpressionHead(encoder, HeadConfig(from_block=len(encoder.blocks), labels=LABELS))


def record(i: int, emotion: str, fine: str | None = None, name: str = "") -> StickerRecord:
    return StickerRecord(
        id=f"t:{i}", image="x.png", pack="t", name=name or f"sticker {i}", emotion=emotion, fine_emotion=fine
    )


def test_the_head_reads_only_pictures_unlike_every_sticker():
    records = [
        record(0, "Neutral", None, "soccer ball"),
        record(1, "Neutral", None, "raccoon"),
        record(2, "Sadness", "crying", "loudly crying face"),
        record(3, "Happiness", "smiling"),
    ]
    text = np.eye(4, 8, dtype=np.float32)
    reader = NeighbourReader(records, text, None, ReadWeights(k=3, expression_below=0.45))
    head = {"Sadness": 0.8, "Neutral": 0.1, "Happiness": 0.1}
    # Close to the soccer ball: the neighbours decide, whatever the head says.
    near = reader.read(np.array([0.9, 0.1, 0, 0, 0, 0, 0, 0], np.float32), head)
    assert near.by == "neighbours" and near.emotion == "Neutral"
    # Far from all of them (a drawing no emoji looks like): the head's emotion, said to look like
    # the best-scored sticker that carries it.
    far = reader.read(np.array([0.4, 0.3, 0.1, 0, 0.5, 0.5, 0.4, 0.2], np.float32), head)
    assert far.by == "expression" and far.emotion == "Sadness" and far.fine_emotion == "crying"
    # Only for such a picture is the head worth running (a head with its own pass costs more).
    assert reader.needs_expression(np.array([0.4, 0.3, 0.1, 0, 0.5, 0.5, 0.4, 0.2], np.float32))
    assert not reader.needs_expression(np.array([0.9, 0.1, 0, 0, 0, 0, 0, 0], np.float32))
    assert far.record.id == "t:2" and far.confidence == pytest.approx(0.8) and far.sure
    assert far.phrase() == "a loudly crying face (crying)"
    # The head not sure of it, and no feeling at feeling_over_object: the neighbours read it,
    # as without a head.
    far_vector = np.array([0.4, 0.3, 0.1, 0, 0.5, 0.5, 0.4, 0.2], np.float32)
    unsure = reader.read(far_vector, {"Sadness": 0.35, "Happiness": 0.3, "Neutral": 0.35})
    assert unsure.by == "neighbours" and unsure.emotion == "Neutral"
    assert unsure == reader.read(far_vector)
    # Next to objects only (soccer ball, raccoon) while the head gives a feeling at least
    # feeling_over_object: that feeling, said as sure, since the neighbours cannot see one.
    felt = reader.read(far_vector, {"Sadness": 0.45, "Neutral": 0.4, "Happiness": 0.15})
    assert felt.by == "expression" and felt.emotion == "Sadness" and felt.sure
    assert felt.confidence == pytest.approx(0.45) and felt.record.id == "t:2"
    # Neighbours that see a feeling keep it when the head is unsure.
    sad_vector = np.array([0.1, 0, 0.42, 0.3, 0.5, 0.5, 0.4, 0.2], np.float32)
    kept = reader.read(sad_vector, {"Happiness": 0.5, "Neutral": 0.5})
    assert kept.by == "neighbours" and kept.emotion == "Sadness"


def test_a_picture_set_without_drawn_faces_still_trains(tmp_path):
    """The head's run puts the drawn faces in from its first step (``drawn_steps == steps``);
    a set with none of them trains on what it has."""
    base, _ = shapes_set()
    train = PictureSet(base.pixels, base.targets, ["test"] * len(base), base.keys)
    encoder, enc_path = tiny_encoder(tmp_path)
    model = ExpressionModel(
        encoder, ExpressionHead(encoder, HeadConfig(1, LABELS)), file_fingerprint(enc_path)
    )
    config = ClipTrainConfig(
        steps=3, batch_size=8, threads=1, drawn_steps=3, drawn_warmup=1, drawn_emoji_share=0.5
    )
    trainer = ExpressionTrainer(
        train,
        np.array([0, 0, 0, 0, 1, 1, 1, 1]),
        classes=2,
        out=tmp_path / "h.safetensors",
        state_path=tmp_path / "s.pt",
        model=model,
        config=config,
    )
    assert trainer.run(progress=False).steps == 3


def test_a_head_reads_its_own_larger_pass_of_the_trunk(tmp_path):
    """A head with its own ``image_size`` trains on pictures of that size and is read from a pass
    of the trunk at that size; the vectors stay the encoder's own (its size, its pass)."""
    from PIL import Image

    from stickerbot.stickerclip.model import to_pixels

    train, _ = shapes_set()
    emotions = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    encoder, enc_path = tiny_encoder(tmp_path)
    head = ExpressionHead(encoder, HeadConfig(from_block=1, labels=LABELS, image_size=48))
    model = ExpressionModel(encoder, head, file_fingerprint(enc_path))
    assert model.config.image_size == 48 and encoder.config.image_size == 32
    config = ClipTrainConfig(steps=40, batch_size=16, lr=5e-3, warmup=5, eval_every=20, threads=1)
    trainer = ExpressionTrainer(
        train,
        emotions,
        classes=2,
        dev=train,
        out=expression_head_path(enc_path),
        state_path=tmp_path / "s.pt",
        model=model,
        config=config,
    )
    _, batch = trainer.sample(0)
    assert batch.shape[-2:] == (48, 48)  # augmented at the head's size, not the encoder's
    assert trainer.run(progress=False).dev["emotion"] >= 90.0

    embedder = LiteImageEmbedder("stickerclip-lite", enc_path)
    pictures = [Image.fromarray(train.pixels[i], "RGBA") for i in range(0, len(train), 4)]
    vectors, probs = embedder.encode_with_expressions(pictures)
    assert np.allclose(vectors, embedder.encode_images(pictures), atol=1e-5)
    loaded = embedder._head
    assert loaded.config.image_size == 48
    with torch.inference_mode():
        own = torch.softmax(loaded(encoder.trunk(to_pixels(pictures, model.config), 1)), -1).numpy()
        shared = torch.softmax(loaded(encoder.trunk(to_pixels(pictures, encoder.config), 1)), -1).numpy()
    # the surer of the whole picture's reading and of its face crop (a test below)
    whole = np.isclose(probs, own, atol=1e-4).all(axis=1)
    assert whole.any() and (probs.max(axis=1) >= own.max(axis=1) - 1e-4).all()
    assert not np.allclose(probs[whole], shared[whole], atol=1e-4)
    assert (probs.argmax(axis=1) == emotions[train.targets[::4]]).mean() >= 0.75

    # A sticker's reading runs the head only when the caller wants it, and then reads the same.
    import io

    from stickerbot.embeddings.image import embed_sticker_with_expression
    from stickerbot.stickers.images import load_image

    buffer = io.BytesIO()
    pictures[0].save(buffer, format="PNG")
    sticker = load_image(buffer.getvalue())
    eager_vector, eager = embed_sticker_with_expression(embedder, sticker)
    vector, skipped = embed_sticker_with_expression(embedder, sticker, lambda v: False)
    assert skipped is None and np.allclose(vector, eager_vector, atol=1e-5)
    asked = []
    vector, lazy = embed_sticker_with_expression(embedder, sticker, lambda v: asked.append(v) or True)
    assert len(asked) == 1 and np.allclose(asked[0], eager_vector, atol=1e-5)
    assert lazy.keys() == eager.keys() and all(abs(lazy[k] - eager[k]) < 1e-4 for k in eager)


def test_a_head_file_without_a_size_reads_the_encoders_pass():
    # Heads written before HeadConfig.image_size existed share the encoder's pass.
    old = HeadConfig.from_json('{"from_block": 6, "labels": ["Anger", "Sadness"]}')
    assert old.image_size == 0 and not old.reads_own_pass(64)
    assert HeadConfig(image_size=96).reads_own_pass(64) and not HeadConfig(image_size=64).reads_own_pass(64)


def test_training_pictures_are_kept_a_quarter_larger_than_read():
    from stickerbot.stickerclip.data import STORE_SIZE, store_size

    assert store_size(64) == STORE_SIZE == 80
    assert store_size(96) == 120 and store_size(100) == 125


def test_the_drawn_part_and_the_face_crop():
    from PIL import Image

    picture = Image.new("RGBA", (100, 80), (0, 0, 0, 0))
    picture.paste((200, 40, 40, 255), (20, 10, 60, 70))  # a 40 x 60 drawing on transparency
    assert drawn_box(picture) == (20, 10, 60, 70)
    assert face_crop(picture).size == (32, 39)  # 10% off the sides, the top 5% to 70%
    assert drawn_box(Image.new("RGB", (50, 40), "white")) == (0, 0, 50, 40)  # opaque: all of it
    tiny = face_crop(Image.new("RGBA", (3, 3)))
    assert tiny.size[0] >= 1 and tiny.size[1] >= 1


def test_the_head_keeps_the_surer_of_the_whole_and_the_face(tmp_path, monkeypatch):
    """Each picture is read whole and closer (its face crop), both in one pass of the head, and
    keeps the surer reading."""
    from PIL import Image

    encoder, enc_path = tiny_encoder(tmp_path)
    head = ExpressionHead(encoder, HeadConfig(from_block=1, labels=LABELS, image_size=48))
    ExpressionModel(encoder, head, file_fingerprint(enc_path)).save(expression_head_path(enc_path))
    embedder = LiteImageEmbedder("stickerclip-lite", enc_path)
    assert embedder.head_has_own_pass
    pictures = [Image.new("RGBA", (40, 40), c) for c in ("red", "blue", "green")]
    readings = np.array(
        [[0.9, 0.1], [0.3, 0.7]]  # red: whole, face
        + [[0.55, 0.45], [0.2, 0.8]]  # blue
        + [[0.5, 0.5], [0.49, 0.51]],  # green
        np.float32,
    )
    calls = []

    def head_pass(images):
        calls.append([im.size for im in images])
        return readings.copy()

    monkeypatch.setattr(embedder, "_head_pass", head_pass)
    probs = embedder.expressions(pictures)
    assert calls == [[(40, 40), (32, 26)] * 3]  # one pass
    assert np.allclose(probs, readings[[0, 3, 5]])  # the whole, the face, the face
    # the same reading when the vector is read with it
    _, eager = embedder.encode_with_expressions(pictures)
    assert np.allclose(eager, probs)
