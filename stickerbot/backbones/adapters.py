"""LoRA adapters for chat backbones: where one is found, and how it is put on a model.

An adapter is a peft folder (``adapter_config.json``, ``adapter_model.safetensors``) plus
``stickerbot_adapter.json``: the backbone it was trained for, a fingerprint of the base
weights, and how it was trained. ``python -m stickerbot train chat`` writes one; one for
the default backbone ships in ``assets/checkpoints/``.

On full-precision weights the adapter is merged (W + B A x scale), so decoding costs nothing
more than the base model (the CPU fast loop then quantizes the merged weights); on 4-bit
weights it stays a peft wrapper, as merging into nf4 would round the update away.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

from stickerbot.backbones.base import BackboneError

log = logging.getLogger(__name__)

META_FILE = "stickerbot_adapter.json"
# STICKERBOT_ADAPTER values that mean "no adapter, even if one is found".
OFF = ("off", "none")


def adapter_dir_name(backbone: str) -> str:
    return "chat-" + re.sub(r"[^A-Za-z0-9._-]+", "_", backbone)


def weights_fingerprint(model) -> str:
    """A short hash of a model's base weights (input embeddings and the first linear layer's
    weight, sampled): an adapter only fits the weights it was trained on."""
    import torch

    parts = [model.get_input_embeddings().weight.detach()]
    for module in model.modules():
        if isinstance(module, torch.nn.Linear) and "lora" not in type(module).__module__:
            parts.append(module.weight.detach())
            break
    digest = hashlib.sha256()
    for table in parts:
        sample = table[:: max(1, table.shape[0] // 64)].float().contiguous()
        digest.update(str(tuple(table.shape)).encode() + sample.cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def read_meta(path: Path) -> dict:
    meta = Path(path) / META_FILE
    return json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {}


def is_adapter(path: Path) -> bool:
    path = Path(path)
    return (path / "adapter_config.json").is_file() and any(
        (path / name).is_file() for name in ("adapter_model.safetensors", "adapter_model.bin")
    )


def apply_adapter(model, path: str | Path, *, merge: bool = True, name: str = "the backbone"):
    """``model`` with the LoRA adapter at ``path``: merged into its weights (``merge``), or wrapped.

    BackboneError when the folder is not an adapter or was trained on other weights."""
    from peft import PeftModel

    path = Path(path)
    if not is_adapter(path):
        raise BackboneError(
            f"{str(path)!r} is not a LoRA adapter folder (adapter_config.json + adapter_model.safetensors); "
            "fix STICKERBOT_ADAPTER, or set it to off"
        )
    meta = read_meta(path)
    expected = meta.get("base_fingerprint")
    if expected and expected != weights_fingerprint(model):
        raise BackboneError(
            f"the adapter at {str(path)!r} was trained for other weights than {name}'s "
            f"(trained for {meta.get('backbone', '?')}); train one with `python -m stickerbot train chat`, "
            "or set STICKERBOT_ADAPTER=off"
        )
    wrapped = PeftModel.from_pretrained(model, str(path))
    if not merge:
        wrapped.eval()
        return wrapped
    merged = wrapped.merge_and_unload()
    merged.eval()
    log.info("merged the LoRA adapter %s into %s", path, name)
    return merged
