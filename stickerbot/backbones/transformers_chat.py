"""Any causal LM with a chat template (a Hub id or a local folder) as a :class:`ChatBackbone`."""

from __future__ import annotations

import copy
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
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
    chat_template_render,
    check_messages,
    check_text_only,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadPlan:
    """Where and how weights are loaded; decided once by :func:`plan_load`."""

    device: str  # "cpu" or "cuda[:n]"
    dtype: Any  # a torch.dtype
    quantization_config: Any = None  # a transformers BitsAndBytesConfig, or None

    @property
    def quantized(self) -> bool:
        return self.quantization_config is not None


def plan_load(device: str = "auto", *, quantize_4bit: bool = False, quantize_8bit: bool = False) -> LoadPlan:
    """The one place that decides device, dtype and quantization.

    ``device="auto"`` takes the first GPU when there is one, else the CPU. bf16 on GPUs
    that support it, fp32 on CPU (CPU half precision is slow and lossy). 4-bit is nf4 via
    bitsandbytes, which has a CPU backend; 8-bit is refused on CPU because bitsandbytes'
    CPU int8 path produces garbage text (measured, see ENVIRONMENT.md).
    """
    import torch

    if quantize_4bit and quantize_8bit:
        raise BackboneError("choose at most one of quantize_4bit and quantize_8bit")
    device = resolve_device(device)
    on_gpu = device.startswith("cuda")
    if on_gpu:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.float32
    if quantize_8bit and not on_gpu:
        raise BackboneError(
            "8-bit quantization is not offered on CPU (bitsandbytes' CPU int8 path gives garbage text); "
            "use quantize_4bit, or no quantization"
        )
    quantization_config = None
    if quantize_4bit or quantize_8bit:
        if importlib.util.find_spec("bitsandbytes") is None:
            raise BackboneError(
                "quantized loading needs bitsandbytes: pip install bitsandbytes==0.50.2, or pick a "
                "STICKERBOT_BACKBONE without quantization"
            )
        from transformers import BitsAndBytesConfig

        if quantize_4bit:
            quantization_config = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype
            )
        else:
            quantization_config = BitsAndBytesConfig(load_in_8bit=True)
    return LoadPlan(device=device, dtype=dtype, quantization_config=quantization_config)


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> the first GPU if torch sees one, else ``cpu``; a named GPU must exist."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackboneError(
            f"device {device!r} was asked for but torch sees no GPU; use device 'cpu' or a CPU-sized "
            "STICKERBOT_BACKBONE such as smollm2-135m"
        )
    return device


def require_gpu(name: str, device: str, *, allow_cpu: bool = False) -> str:
    """The device for a model too large for a CPU; BackboneError naming the setting when there is no GPU.

    ``allow_cpu`` is for tiny stand-in models in tests and for the very patient.
    """
    asked = device
    device = resolve_device(device)
    if device == "cpu" and not allow_cpu:
        why = "device 'cpu' was asked for" if asked == "cpu" else "torch sees none"
        raise BackboneError(
            f"backbone {name!r} needs a CUDA GPU (it is a multi-billion-parameter model loaded in 4-bit), "
            f"and {why}. Set STICKERBOT_BACKBONE=smollm2-135m for the CPU default, or "
            "openai:<base url> to use a model served elsewhere"
        )
    return device


def use_all_cores() -> None:
    # torch defaults to the physical core count, which under-counts on small VMs; generation
    # speed on 2 cores is what the app is sized for. Not where the process was started with a
    # thread count (the app: one per thread, the decoder's thread widens its own, threads.py).
    import torch

    from stickerbot.backbones.threads import threads_pinned_by_environment

    if threads_pinned_by_environment():
        return
    torch.set_num_threads(os.cpu_count() or 1)


def load_causal_lm(
    location: str | Path,
    plan: LoadPlan,
    *,
    gguf_file: str | None = None,
    setting_hint: str = "STICKERBOT_BACKBONE",
):
    """Load (tokenizer, model) from a Hub id or folder according to ``plan``; BackboneError if absent."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    use_all_cores()
    kwargs: dict[str, Any] = {"dtype": plan.dtype}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    if plan.quantized:
        kwargs["quantization_config"] = plan.quantization_config
        kwargs["device_map"] = {"": plan.device}
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            str(location), **({"gguf_file": gguf_file} if gguf_file else {})
        )
        model = AutoModelForCausalLM.from_pretrained(str(location), **kwargs)
    except OSError as err:
        raise BackboneError(
            f"could not load the language model {str(location)!r} ({err}). Offline, the weights must be on "
            f"disk: point {setting_hint} at a local folder (hf:/path/to/model), or use the offline default "
            f"{setting_hint}=smollm2-135m"
        ) from err
    if not plan.quantized:
        model.to(plan.device)
    keep_4bit_trainable_on_cpu(model, plan)
    model.eval()
    return tokenizer, model


def keep_4bit_trainable_on_cpu(model, plan: LoadPlan) -> None:
    """Stop bitsandbytes repacking nf4 weights for AVX512-BF16 CPUs at the first no-grad forward.

    The repacked layout has no backward: a later forward with gradients (training the <ret>
    rows or a LoRA through the frozen model) fails in bitsandbytes 0.50 with "a view of a
    leaf Variable that requires grad is being used in an in-place operation". Only CPUs with
    AVX512-BF16 repack, so the same code passed on others. A 4-bit model on a CPU is a test
    stand-in (the real ones run on a GPU), so the faster packed kernel is not missed.
    """
    if not plan.quantized or plan.device != "cpu":
        return
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False


class TransformersChatBackbone:
    """A transformers causal LM driven through its tokenizer's chat template.

    Build it from a loaded ``model`` and ``tokenizer`` (tests, converted caches) or with
    :meth:`load` from a Hub id or a local folder.
    """

    supports_images = False
    # One copy of the weights, whose calls take turns (the lock below).
    capabilities = Capabilities(local_lm=True)

    def __init__(self, model, tokenizer, *, name: str, languages: tuple[str, ...] = ("en", "zh")):
        if not getattr(tokenizer, "chat_template", None):
            raise BackboneError(
                f"the tokenizer of {name!r} has no chat template, so it cannot hold a conversation; "
                "choose an instruction-tuned model for STICKERBOT_BACKBONE"
            )
        self.name = name
        self.languages = tuple(languages)
        self.model = model
        self.tokenizer = tokenizer
        # model.generate is not re-entrant on one set of weights in a useful way; Gradio may
        # call from several threads, so requests take turns.
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        location: str | Path,
        *,
        name: str | None = None,
        device: str = "auto",
        quantize_4bit: bool = False,
        quantize_8bit: bool = False,
        adapter_path: str | Path | None = None,
    ) -> TransformersChatBackbone:
        """``adapter_path``: a LoRA adapter, merged into full-precision weights (kept as a peft
        wrapper on quantized ones)."""
        from stickerbot.backbones.adapters import apply_adapter

        plan = plan_load(device, quantize_4bit=quantize_4bit, quantize_8bit=quantize_8bit)
        t0 = time.perf_counter()
        tokenizer, model = load_causal_lm(location, plan)
        if adapter_path is not None:
            model = apply_adapter(model, adapter_path, merge=not plan.quantized, name=name or str(location))
        log.info("loaded %s on %s in %.1f s", location, plan.device, time.perf_counter() - t0)
        return cls(model, tokenizer, name=name or f"hf:{location}")

    @property
    def device(self):
        return next(self.model.parameters()).device

    def local_lm(self) -> LocalLM:
        quantized = getattr(self.model, "hf_quantizer", None) is not None
        return LocalLM(self.model, self.tokenizer, chat_template_render(self.tokenizer), quantized=quantized)

    def _prompt_ids(self, messages: list[Message]):
        prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # The template already writes BOS and the role markers.
        return self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)

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
        check_text_only(self.name, images)
        inputs = self._prompt_ids(messages)
        return stream_generate(
            self.model,
            self.tokenizer,
            inputs,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            on_token=on_token,
            stop=stop,
            lock=self._lock,
        )


def stream_generate(
    model,
    tokenizer,
    inputs,
    *,
    max_new_tokens: int,
    temperature: float,
    on_token: TokenCallback | None,
    lock: threading.Lock,
    stop: StopCondition | None = None,
) -> GenerationResult:
    """Run ``model.generate`` in a worker thread and hand decoded pieces to ``on_token`` as they come.

    ``tokenizer`` may be a processor (LLaVA); the streamer only needs its ``decode``. When
    ``stop`` says so, an event tells the worker's stopping criterion to end after the current step.
    """
    from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

    stop_requested = threading.Event()

    class _StopWhenAsked(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            import torch

            return torch.full((input_ids.shape[0],), stop_requested.is_set(), dtype=torch.bool)

    prompt_tokens = int(inputs["input_ids"].shape[1])
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    config = copy.deepcopy(model.generation_config)
    sampling = temperature > 0
    config.update(
        max_new_tokens=max_new_tokens,
        do_sample=sampling,
        temperature=temperature if sampling else 1.0,
        top_p=config.top_p if sampling else 1.0,
        top_k=config.top_k if sampling else 50,
    )
    if config.pad_token_id is None:
        pad = tokenizer.pad_token_id if hasattr(tokenizer, "pad_token_id") else None
        config.pad_token_id = pad if pad is not None else config.eos_token_id
    outcome: dict[str, Any] = {}

    def work() -> None:
        from stickerbot.backbones.threads import widen_this_thread

        try:
            # The model's thread takes the cores (calls take turns on the lock), see threads.py.
            widen_this_thread()
            outcome["ids"] = model.generate(
                **inputs,
                generation_config=config,
                streamer=streamer,
                stopping_criteria=StoppingCriteriaList([_StopWhenAsked()]),
            )
        except BaseException as err:  # re-raised in the caller's thread
            outcome["error"] = err
            streamer.end()

    pieces: list[str] = []
    with lock:
        start = time.perf_counter()
        first: float | None = None
        worker = threading.Thread(target=work, name="backbone-generate", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if not piece:
                    continue
                if first is None:
                    first = time.perf_counter() - start
                pieces.append(piece)
                if on_token is not None:
                    on_token(piece)
                if stop is not None and not stop_requested.is_set() and stop("".join(pieces)):
                    stop_requested.set()
        finally:
            # Even when on_token raises, the weights stay locked until this generation ends
            # (asked to end now: nobody reads the rest).
            stop_requested.set()
            worker.join()
        total = time.perf_counter() - start
    if "error" in outcome:
        raise outcome["error"]
    new_tokens = int(outcome["ids"].shape[1]) - prompt_tokens
    return GenerationResult(
        text="".join(pieces),
        prompt_tokens=prompt_tokens,
        new_tokens=new_tokens,
        seconds_to_first_token=total if first is None else first,
        seconds_total=total,
    )
