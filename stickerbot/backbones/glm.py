"""GLM-4-9B-Chat (the transformers-native ``-hf`` checkpoint) in 4-bit on a GPU."""

from __future__ import annotations

from pathlib import Path

from stickerbot.backbones.transformers_chat import TransformersChatBackbone, require_gpu

NAME = "glm-4bit"
HUB_ID = "THUDM/glm-4-9b-chat-hf"


def create_glm(
    *,
    path: str | Path | None = None,
    adapter_path: str | Path | None = None,
    device: str = "auto",
    allow_cpu: bool = False,
) -> TransformersChatBackbone:
    """nf4 on a GPU; ``allow_cpu`` loads ``path`` unquantized on CPU (tiny test models only);
    ``adapter_path`` a LoRA adapter (``train chat``)."""
    device = require_gpu(NAME, device, allow_cpu=allow_cpu)
    return TransformersChatBackbone.load(
        path or HUB_ID, name=NAME, device=device, quantize_4bit=device != "cpu", adapter_path=adapter_path
    )
