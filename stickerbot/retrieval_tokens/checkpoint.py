"""Checkpoints hold only the trained parts (a few MB) plus the RetConfig that made them; where they
live (the data directory, else the shipped one) and the backbone parts they attach to."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from stickerbot.atomic import atomic_path
from stickerbot.backbones.base import BackboneError, LocalLM, local_lm_of
from stickerbot.config import ASSETS_DIR, Settings
from stickerbot.retrieval_tokens.model import RetConfig, RetModel, fingerprint
from stickerbot.retrieval_tokens.tokens import add_special_tokens

BUNDLED_CHECKPOINTS = ASSETS_DIR / "checkpoints"


def checkpoint_name(backbone: str) -> str:
    return "ret-" + re.sub(r"[^A-Za-z0-9._-]+", "_", backbone) + ".safetensors"


def trained_checkpoint_path(settings: Settings) -> Path:
    """Where `train ret` writes by default (the data directory; never the shipped one)."""
    return settings.data_dir / "ret" / checkpoint_name(settings.backbone)


def find_checkpoint(settings: Settings) -> Path | None:
    """The user's own checkpoint for the configured backbone, else the shipped one, else None."""
    for path in (trained_checkpoint_path(settings), BUNDLED_CHECKPOINTS / checkpoint_name(settings.backbone)):
        if path.is_file():
            return path
    return None


def local_lm_for_ret(backbone) -> LocalLM:
    """The backbone's in-process LM (``Capabilities.local_lm``), with a tokenizer of its own: the
    chat backbone's tokenizer must not learn tokens a user could then type. BackboneError naming
    the setting for a backbone without weights here."""
    lm = local_lm_of(backbone, purpose="retrieval tokens (<ret>)")
    return replace(lm, tokenizer=copy.deepcopy(lm.tokenizer))


class CheckpointMismatch(BackboneError):
    """A checkpoint trained on another backbone (or another sticker space)."""


def save_checkpoint(model: RetModel, path: str | Path, *, extra: dict | None = None) -> Path:
    """Write atomically: a crash mid-write leaves the previous checkpoint in place."""
    from safetensors.torch import save_file

    path = Path(path)
    metadata = {"config": json.dumps(model.config.to_dict()), "extra": json.dumps(extra or {})}
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in model.trained_state().items()}, str(tmp), metadata=metadata)
    return path


def read_checkpoint(path: str | Path) -> tuple[RetConfig, dict, dict]:
    """(config, trained tensors, extra metadata such as the training step)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if "config" not in metadata:
        raise CheckpointMismatch(f"{path} is not a retrieval-token checkpoint (no config)")
    return (
        RetConfig.from_dict(json.loads(metadata["config"])),
        tensors,
        json.loads(metadata.get("extra", "{}")),
    )


def load_checkpoint(
    path: str | Path,
    lm,
    tokenizer,
    *,
    backbone: str,
    sticker_embedder: str | None = None,
    render: Callable[[list, bool], str] | None = None,
) -> RetModel:
    """The checkpoint on top of ``lm`` (``render``: the backbone's prompt text, see RetModel);
    CheckpointMismatch when it was trained on something else."""
    config, tensors, _ = read_checkpoint(path)
    problems = []
    if config.backbone != backbone:
        problems.append(f"it was trained on backbone {config.backbone!r}, this is {backbone!r}")
    elif config.fingerprint != fingerprint(lm):
        problems.append("the backbone's weights differ from the ones it was trained on")
    if sticker_embedder is not None and config.sticker_embedder != sticker_embedder:
        problems.append(
            f"it maps into {config.sticker_embedder!r} sticker vectors, the index uses {sticker_embedder!r}"
        )
    if problems:
        raise CheckpointMismatch(
            f"retrieval-token checkpoint {path} does not fit: {'; '.join(problems)}. Train one for this "
            "backbone with `python -m stickerbot train ret`, or remove the file to use plain retrieval"
        )
    ids = add_special_tokens(tokenizer)
    if ids.all != config.token_ids:
        raise CheckpointMismatch(
            f"the tokenizer gives the special tokens ids {ids.all}, not {config.token_ids}"
        )
    model = RetModel(lm, tokenizer, config, render=render)
    model.load_trained_state(tensors)
    return model
