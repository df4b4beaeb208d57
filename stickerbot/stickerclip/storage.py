"""How a checkpoint's weights are stored: float16, or int8 with a scale per output channel.

int8 halves a file again, which is what lets a larger expression head (a branch of two stages)
stay inside the encoder's 10 MB budget beside it. Only the products' weights (convolutions and
linear maps, two dimensions or more) are quantized: a scale per output channel keeps a
channel's small weights from being rounded to zero by another channel's large ones. Norms and
biases are a few hundred numbers each and stay float16. Loading gives float32 weights, so the
modules and their ONNX export are the same whichever way the file was stored.
"""

from __future__ import annotations

import torch

STORAGES = ("float16", "int8")
SCALE_SUFFIX = ".int8_scale"
# Smaller tensors gain nothing from int8 and are stored float16.
MIN_QUANTIZED = 1024


def quantize_state(state: dict[str, torch.Tensor], storage: str) -> dict[str, torch.Tensor]:
    """A module's state as the tensors to write: float16, or int8 weights with their scales."""
    if storage not in STORAGES:
        raise ValueError(f"unknown weight storage {storage!r}: one of {', '.join(STORAGES)}")
    out: dict[str, torch.Tensor] = {}
    for name, value in state.items():
        value = value.detach()
        if (
            storage == "int8"
            and value.is_floating_point()
            and value.dim() >= 2
            and value.numel() >= MIN_QUANTIZED
        ):
            flat = value.float().reshape(value.shape[0], -1)
            scale = (flat.abs().amax(dim=1) / 127.0).clamp_min(1e-12)
            quantized = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8)
            out[name] = quantized.reshape(value.shape).contiguous()
            out[name + SCALE_SUFFIX] = scale.float()
        else:
            out[name] = value.to(torch.float16).contiguous()
    return out


def dequantize_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float32 state from tensors written by :func:`quantize_state` (either storage)."""
    state = {}
    for name, value in tensors.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        scale = tensors.get(name + SCALE_SUFFIX)
        if scale is not None:
            shape = (-1,) + (1,) * (value.dim() - 1)
            state[name] = value.float() * scale.float().view(shape)
        else:
            state[name] = value.float()
    return state
