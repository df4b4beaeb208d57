"""LLaVA-1.5 (image + text in, text out) as a :class:`ChatBackbone`, 4-bit on a GPU, with an
optional PEFT LoRA adapter trained on its language model."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stickerbot.backbones.base import (
    BackboneError,
    Capabilities,
    GenerationResult,
    LocalLM,
    Message,
    StopCondition,
    TokenCallback,
    check_messages,
)
from stickerbot.backbones.transformers_chat import (
    keep_4bit_trainable_on_cpu,
    plan_load,
    require_gpu,
    stream_generate,
    use_all_cores,
)

log = logging.getLogger(__name__)

NAME = "llava-1.5-7b-4bit"
HUB_ID = "llava-hf/llava-1.5-7b-hf"

# LoRA on the language model's attention only: a bare ["q_proj", "v_proj"] also matches the
# CLIP vision tower's layers, which StickerLLM-style tuning leaves frozen.
LANGUAGE_MODEL_LORA_TARGETS = r".*language_model.*\.(q_proj|v_proj)"


def language_model_lora_config(r: int = 8, alpha: int = 16, dropout: float = 0.05):
    """A peft LoraConfig that adapts only the language model's q/v projections."""
    from peft import LoraConfig

    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=LANGUAGE_MODEL_LORA_TARGETS)


def to_llava_conversation(messages: list[Message], n_images: int) -> list[dict]:
    """OpenAI-style text messages -> the processor's typed-content form, with the images placed
    before the text of the last user message (where LLaVA-1.5 was trained to see them)."""
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if n_images and last_user is None:
        raise ValueError("images need a user message to go with")
    conversation = []
    for i, message in enumerate(messages):
        content = message["content"]
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
        if i == last_user:
            parts = [{"type": "image"} for _ in range(n_images)] + parts
        conversation.append({"role": message["role"], "content": parts})
    return conversation


def _open_image(image: Any):
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    with Image.open(image) as opened:
        return opened.convert("RGB")


class LlavaBackbone:
    supports_images = True
    languages: tuple[str, ...] = ("en", "zh")
    # local_lm: the whole LLaVA model (its language model decodes; LoRA targets only that part)
    # and the processor's tokenizer, rendering prompts with the processor's chat template.
    capabilities = Capabilities(local_lm=True)

    def __init__(self, model, processor, *, name: str = NAME):
        if not getattr(processor, "chat_template", None):
            raise BackboneError(f"the processor of {name!r} has no chat template")
        self.name = name
        self.model = model
        self.processor = processor
        self._lock = threading.Lock()

    @property
    def device(self):
        return next(self.model.parameters()).device

    def local_lm(self) -> LocalLM:
        def render(messages: list[Message], add_generation_prompt: bool) -> str:
            conversation = to_llava_conversation(messages, 0)
            return self.processor.apply_chat_template(
                conversation, add_generation_prompt=add_generation_prompt, tokenize=False
            )

        quantized = getattr(self.model, "hf_quantizer", None) is not None
        # The vision tower stays frozen, as StickerLLM-style tuning leaves it.
        return LocalLM(
            self.model,
            self.processor.tokenizer,
            render,
            quantized=quantized,
            lora_targets=LANGUAGE_MODEL_LORA_TARGETS,
        )

    def generate(
        self,
        messages: list[Message],
        *,
        max_new_tokens: int = 96,
        temperature: float = 0.0,
        images: Sequence[Any] | None = None,
        on_token: TokenCallback | None = None,
        stop: StopCondition | None = None,
    ) -> GenerationResult:
        check_messages(messages)
        pictures = [_open_image(image) for image in images or []]
        conversation = to_llava_conversation(messages, len(pictures))
        prompt = self.processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        inputs = self.processor(images=pictures or None, text=prompt, return_tensors="pt")
        dtype = next(p.dtype for p in self.model.parameters() if p.is_floating_point())
        inputs = {
            key: value.to(self.device, dtype=dtype) if value.is_floating_point() else value.to(self.device)
            for key, value in inputs.items()
        }
        return stream_generate(
            self.model,
            self.processor.tokenizer,
            inputs,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            on_token=on_token,
            stop=stop,
            lock=self._lock,
        )


def load_llava(
    location: str | Path,
    *,
    name: str = NAME,
    adapter_path: str | Path | None = None,
    device: str = "auto",
    quantize_4bit: bool = True,
    allow_cpu: bool = False,
) -> LlavaBackbone:
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    device = require_gpu(name, device, allow_cpu=allow_cpu)
    plan = plan_load(device, quantize_4bit=quantize_4bit)
    use_all_cores()
    kwargs: dict[str, Any] = {"dtype": plan.dtype}
    if plan.quantized:
        kwargs.update(quantization_config=plan.quantization_config, device_map={"": plan.device})
    t0 = time.perf_counter()
    try:
        processor = AutoProcessor.from_pretrained(str(location))
        model = LlavaForConditionalGeneration.from_pretrained(str(location), **kwargs)
    except OSError as err:
        raise BackboneError(
            f"could not load {name!r} from {str(location)!r} ({err}). Offline, the weights must be on disk "
            "(pass path=<local folder>), or set STICKERBOT_BACKBONE=smollm2-135m"
        ) from err
    if not plan.quantized:
        model.to(plan.device)
    keep_4bit_trainable_on_cpu(model, plan)
    if adapter_path is not None:
        from stickerbot.backbones.adapters import apply_adapter

        model = apply_adapter(model, adapter_path, merge=not plan.quantized, name=name)
    model.eval()
    log.info("loaded %s from %s on %s in %.1f s", name, location, plan.device, time.perf_counter() - t0)
    return LlavaBackbone(model, processor, name=name)


def create_llava(
    *,
    path: str | Path | None = None,
    adapter_path: str | Path | None = None,
    device: str = "auto",
    allow_cpu: bool = False,
) -> LlavaBackbone:
    """``llava-1.5-7b-4bit``: the Hub model (or ``path``), nf4 on a GPU; ``allow_cpu`` loads unquantized
    on CPU (tiny test models only)."""
    device = require_gpu(NAME, device, allow_cpu=allow_cpu)
    return load_llava(
        path or HUB_ID,
        adapter_path=adapter_path,
        device=device,
        quantize_4bit=device != "cpu",
        allow_cpu=allow_cpu,
    )
