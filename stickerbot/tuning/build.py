"""From Settings to a chat LoRA run: the backbone's base weights, the dialogue memory as
examples, and where the run and its adapter live.

    python -m stickerbot train chat            # -> data/adapters/chat-<backbone>/
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from stickerbot.backbones.adapters import adapter_dir_name
from stickerbot.config import Settings
from stickerbot.tuning.data import chat_examples, split_examples
from stickerbot.tuning.train import ChatTuneConfig, ChatTuner, TuneResult

log = logging.getLogger(__name__)


def trained_adapter_path(settings: Settings) -> Path:
    return settings.adapters_dir / adapter_dir_name(settings.backbone)


def train_chat(
    settings: Settings,
    *,
    config: ChatTuneConfig | None = None,
    out: Path | None = None,
    progress: bool = True,
) -> TuneResult:
    """Train (or continue training) a LoRA adapter for ``settings.backbone`` on the memory's dialogues."""
    from stickerbot.backbones.base import local_lm_of
    from stickerbot.memory.store import read_folders
    from stickerbot.services import open_backbone

    config = config or ChatTuneConfig()
    # Training starts from the base weights: no adapter merged in.
    backbone = open_backbone(replace(settings, adapter_path="off"))
    lm = local_lm_of(backbone, purpose="LoRA training (train chat)")
    if lm.lora_targets is not None:
        config = replace(config, target_modules=lm.lora_targets)
    exchanges = read_folders([settings.bundled_dialogues_dir, settings.dialogues_dir])
    examples = chat_examples(exchanges, backbone.languages, max_history_pairs=config.max_history_pairs)
    train, heldout = split_examples(examples, config.heldout, config.seed)
    log.info("chat LoRA: %d training and %d held-out exchanges", len(train), len(heldout))
    tuner = ChatTuner(
        lm,
        train,
        heldout,
        backbone=settings.backbone,
        out=out or trained_adapter_path(settings),
        state_dir=settings.adapters_dir / (adapter_dir_name(settings.backbone) + ".train"),
        config=config,
        quantized=lm.quantized,
    )
    return tuner.run(progress=progress)
