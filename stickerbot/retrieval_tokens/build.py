"""From Settings to a retrieval-token training run: its data, its model and its checkpoint.

python -m stickerbot train ret                       # -> data/ret/ret-<backbone>.safetensors
python -m stickerbot train ret --steps 20            # a quick CPU-sized run
python -m stickerbot train ret --out assets/checkpoints/ret-smollm2-135m.safetensors
                                                     # what a shipped checkpoint is made with
"""

from __future__ import annotations

import logging
from pathlib import Path

from stickerbot.config import Settings
from stickerbot.retrieval_tokens.checkpoint import local_lm_for_ret, trained_checkpoint_path
from stickerbot.retrieval_tokens.data import ExampleSet, build_examples
from stickerbot.retrieval_tokens.features import image_features, sticker_vectors
from stickerbot.retrieval_tokens.model import RetModel
from stickerbot.retrieval_tokens.train import RetTrainer, TrainConfig, TrainResult

log = logging.getLogger(__name__)


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
