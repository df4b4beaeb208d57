"""The Protocol every chat backbone follows, the capabilities it declares, its result type, and
the error it raises on load."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast, runtime_checkable

from stickerbot.errors import UserError

# An OpenAI-style chat message: {"role": "system" | "user" | "assistant", "content": str}.
Message = dict[str, Any]
TokenCallback = Callable[[str], None]
# Called with the text generated so far; True ends generation early (e.g. after three sentences).
StopCondition = Callable[[str], bool]


class BackboneError(UserError, RuntimeError):
    """A backbone could not be loaded or reached; the message names the setting to change."""


@dataclass(frozen=True)
class GenerationResult:
    text: str
    prompt_tokens: int
    new_tokens: int
    # From the call to the first decoded piece of text; equals seconds_total when nothing was produced.
    seconds_to_first_token: float
    seconds_total: float

    @property
    def tokens_per_second(self) -> float:
        """Decoding speed after the first token (the prompt's prefill is left out)."""
        decoding = self.seconds_total - self.seconds_to_first_token
        if self.new_tokens <= 1 or decoding <= 0:
            return 0.0
        return (self.new_tokens - 1) / decoding


@dataclass(frozen=True)
class Capabilities:
    """What a backbone can do beyond ``generate``, declared by each backbone class, so that
    callers ask for a capability by name instead of probing for attributes."""

    # ``prime(messages)``: it keeps a prompt prefix's keys and values between calls, so the
    # persona prompt can be computed before the first user arrives (the CPU fast loop).
    prime: bool = False
    # ``local_lm()``: its causal LM and tokenizer live in this process, which retrieval tokens
    # and LoRA training need (a model served elsewhere has no weights here).
    local_lm: bool = False
    # How many ``generate`` calls it serves at once; None: no limit of ours (a server queues or
    # batches them itself). A model in this process has one copy of its weights and one KV
    # cache, so its calls take turns.
    concurrent_calls: int | None = 1


def chat_template_render(tokenizer) -> Callable[[list[Message], bool], str]:
    """``LocalLM.render`` for a model whose tokenizer carries its chat template."""

    def render(messages: list[Message], add_generation_prompt: bool) -> str:
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    return render


@dataclass(frozen=True)
class LocalLM:
    """A backbone's causal LM in this process, for what needs its weights (retrieval tokens,
    LoRA training).

    ``render(messages, add_generation_prompt)`` is the prompt text the backbone itself builds
    (its chat template, which LLaVA keeps on its processor); ``tokenizer`` turns that text into
    ids. Whatever is trained on top goes on the model's device and meets its dtype there."""

    model: Any
    tokenizer: Any
    render: Callable[[list[Message], bool], str]
    # Loaded in 4-bit: LoRA trains as QLoRA, and an adapter stays unmerged.
    quantized: bool = False
    # Which layers a LoRA may adapt (peft target_modules); None: every linear layer.
    lora_targets: str | None = None


@runtime_checkable
class ChatBackbone(Protocol):
    """Turns a conversation into the assistant's next message.

    ``on_token`` receives each piece of text as soon as it is decoded; the pieces joined
    equal ``GenerationResult.text``. ``temperature=0`` is greedy decoding. ``stop`` sees the
    text so far after each piece and ends generation when it returns True (a piece or two
    more may arrive before a local model notices).
    """

    name: str
    supports_images: bool
    # Languages it writes well ("en", "zh"); the chat answers others from its dialogue memory.
    languages: tuple[str, ...]
    # Priming, weights in this process, calls at once: see Capabilities, and the functions
    # below that use them.
    capabilities: Capabilities

    def generate(
        self,
        messages: list[Message],
        *,
        max_new_tokens: int = 96,
        temperature: float = 0.0,
        images: Sequence[Any] | None = None,
        on_token: TokenCallback | None = None,
        stop: StopCondition | None = None,
    ) -> GenerationResult: ...


class Primable(Protocol):
    """What ``Capabilities.prime`` promises."""

    def prime(self, messages: list[Message]) -> int:
        """Compute the prompt of ``messages`` ahead (no reply); returns its length in tokens."""
        ...


class HasLocalLM(Protocol):
    """What ``Capabilities.local_lm`` promises."""

    def local_lm(self) -> LocalLM: ...


def prime(backbone: ChatBackbone, messages: list[Message]) -> bool:
    """Compute ``messages``' prompt ahead on a backbone that can keep it; False, with nothing
    done, on one that cannot (priming only saves time, so its absence is no error)."""
    if not backbone.capabilities.prime:
        return False
    cast(Primable, backbone).prime(messages)
    return True


def local_lm_of(backbone: ChatBackbone, *, purpose: str = "this task") -> LocalLM:
    """``backbone``'s in-process LM, or a BackboneError naming the setting that gives one.

    ``purpose`` says what needed it ("retrieval tokens", "LoRA training")."""
    if not backbone.capabilities.local_lm:
        raise BackboneError(
            f"{purpose} needs the model's weights in this process, and backbone {backbone.name!r} has "
            "none here; set STICKERBOT_BACKBONE to smollm2-135m, an hf: model, glm-4bit or llava-1.5-7b-4bit"
        )
    return cast(HasLocalLM, backbone).local_lm()


def check_messages(messages: list[Message]) -> None:
    """Reject malformed conversations early, with a message that says what is wrong."""
    if not messages:
        raise ValueError("messages is empty: give at least one {'role', 'content'} message")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ValueError(f"messages[{i}] must be a dict with 'role' and 'content', got {message!r}")


def check_text_only(name: str, images: Sequence[Any] | None) -> None:
    """A backbone without ``supports_images`` refuses images rather than silently ignoring them."""
    if images:
        raise ValueError(f"{name} reads text only; use an image-capable STICKERBOT_BACKBONE")
