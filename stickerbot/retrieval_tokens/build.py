"""From Settings to a retrieval-token model, its data, and where its checkpoint lives.

python -m stickerbot train ret                       # -> data/ret/ret-<backbone>.safetensors
python -m stickerbot train ret --steps 20            # a quick CPU-sized run
python -m stickerbot train ret --out assets/checkpoints/ret-smollm2-135m.safetensors
                                                     # what a shipped checkpoint is made with
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import replace
from pathlib import Path

from stickerbot.backbones.base import LocalLM, local_lm_of
from stickerbot.config import ASSETS_DIR, Settings
from stickerbot.retrieval_tokens.data import ExampleSet, build_examples
from stickerbot.retrieval_tokens.features import image_features, sticker_vectors
from stickerbot.retrieval_tokens.model import RetModel
from stickerbot.retrieval_tokens.train import RetTrainer, TrainConfig, TrainResult

log = logging.getLogger(__name__)

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


def training_examples(services, settings: Settings, *, sticker_requests: int, seed: int) -> ExampleSet:
    from stickerbot.memory.store import read_folders

    exchanges = read_folders([settings.bundled_dialogues_dir, settings.dialogues_dir])
    return build_examples(services.library.records, exchanges, sticker_requests=sticker_requests, seed=seed)


def train_ret(
    settings: Settings,
    *,
    config: TrainConfig,
    sticker_requests: int = 3000,
    out: Path | None = None,
    progress: bool = True,
) -> TrainResult:
    from stickerbot.services import open_backbone, open_library

    # The backbone first: one without weights here is refused before the library is indexed.
    lm = local_lm_for_ret(open_backbone(settings))
    services = open_library(settings, progress=progress)
    targets, images = sticker_vectors(services), image_features(services)
    examples = training_examples(services, settings, sticker_requests=sticker_requests, seed=config.seed)
    log.info(
        "retrieval-token data: %d training, %d held-out examples", len(examples.train), len(examples.heldout)
    )
    model = RetModel.create(
        lm.model,
        lm.tokenizer,
        render=lm.render,
        backbone=settings.backbone,
        sticker_embedder=targets.name,
        sticker_dim=targets.dim,
        image_features=images.name,
        image_dim=images.dim,
        seed=config.seed,
    )
    trainer = RetTrainer(
        model,
        examples.train,
        vectors=targets.for_ids,
        image_features=images.for_ids,
        checkpoint=out or trained_checkpoint_path(settings),
        config=config,
    )
    return trainer.run(progress=progress)


def open_ret_model(settings: Settings, backbone, *, sticker_embedder: str, path: Path | None = None):
    """The retrieval-token model for ``backbone`` from its checkpoint, or None when there is none.

    CheckpointMismatch when the checkpoint found was trained on something else.
    """
    from stickerbot.retrieval_tokens.checkpoint import load_checkpoint

    path = path or find_checkpoint(settings)
    if path is None:
        return None
    lm = local_lm_for_ret(backbone)
    return load_checkpoint(
        path,
        lm.model,
        lm.tokenizer,
        render=lm.render,
        backbone=settings.backbone,
        sticker_embedder=sticker_embedder,
    )
