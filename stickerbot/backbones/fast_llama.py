"""The CPU fast loop as a chat backbone: SmolLM2 (and other plain Llama models) through
:class:`~stickerbot.backbones.llama_decoder.FastLlamaDecoder`, with continuous batching
(``backbones/batching.py``) so that calls from many threads decode together.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from stickerbot.backbones.base import (
    Capabilities,
    GenerationResult,
    Message,
    StopCondition,
    TokenCallback,
    check_messages,
    check_text_only,
)
from stickerbot.backbones.batching import MAX_BATCH, ContinuousBatcher
from stickerbot.backbones.llama_decoder import (  # noqa: F401 (re-exported: the loop's public names)
    FastLlamaDecoder,
    KVCache,
    LlamaShape,
    Sampling,
    UnsupportedModel,
    bf16_matmul_native,
    choose_token,
    int8_matmul_available,
)
from stickerbot.backbones.transformers_chat import TransformersChatBackbone


class IncrementalDetokenizer:
    """Turns a growing list of token ids into new text pieces, holding back split UTF-8 characters."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.text = ""

    def add(self, token: int) -> str:
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        # A byte-level token may end inside a multi-byte character; wait for the rest of it.
        if text.endswith("\ufffd"):
            return ""
        piece, self.text = text[len(self.text) :], text
        return piece


class FastLlamaBackbone(TransformersChatBackbone):
    """A Llama chat model on CPU through :class:`FastLlamaDecoder` (same prompts, same tokenizer).

    ``prime(messages)`` computes a prompt's keys and values ahead of the first request, so
    the first reply too starts from a cached system prompt. Generation goes through a
    :class:`~stickerbot.backbones.batching.ContinuousBatcher`: calls from many threads at once
    decode together, one batched step for all of them.
    """

    # Calls at once decode together (backbones/batching.py), up to a batch.
    capabilities = Capabilities(prime=True, local_lm=True, concurrent_calls=MAX_BATCH)

    def __init__(
        self,
        model,
        tokenizer,
        *,
        name: str,
        languages: tuple[str, ...] = ("en", "zh"),
        int8: bool = True,
        repetition_penalty: float = 1.0,
        seed: int = 0,
        wide: bool = False,
    ):
        """``wide``: bf16 copies of the weights for many rows (``llama_decoder.Linear``)."""
        super().__init__(model, tokenizer, name=name, languages=languages)
        if str(self.device) != "cpu":
            raise UnsupportedModel("the fast loop is for CPU; on a GPU transformers' generate is used")
        self.decoder = FastLlamaDecoder(model, int8=int8, wide=wide)
        self.repetition_penalty = repetition_penalty
        self.batcher = ContinuousBatcher(self.decoder, seed=seed)
        eos = model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        self.eos_ids = {int(t) for t in eos if t is not None} | (
            {int(tokenizer.eos_token_id)} if tokenizer.eos_token_id is not None else set()
        )

    def prompt_token_ids(self, messages: list[Message]) -> list[int]:
        return self._prompt_ids(messages)["input_ids"][0].tolist()

    def prime(self, messages: list[Message]) -> int:
        """Fill the cache with the prompt of ``messages`` (no reply); returns its length in tokens."""
        check_messages(messages)
        ids = self.prompt_token_ids(messages)
        request = self.batcher.submit(ids, max_new_tokens=0, sampling=Sampling(), eos_ids=self.eos_ids)
        for _ in request.tokens():  # none: waits until the prompt is in a cache
            pass
        return len(ids)

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
        prompt = self.prompt_token_ids(messages)
        sampling = Sampling(temperature=temperature, repetition_penalty=self.repetition_penalty)
        detokenizer = IncrementalDetokenizer(self.tokenizer)
        new_tokens = 0
        first: float | None = None
        start = time.perf_counter()
        request = self.batcher.submit(
            prompt, max_new_tokens=max_new_tokens, sampling=sampling, eos_ids=self.eos_ids
        )
        try:
            for token in request.tokens():
                new_tokens += 1
                piece = detokenizer.add(token)
                if not piece:
                    continue
                if first is None:
                    first = time.perf_counter() - start
                if on_token is not None:
                    on_token(piece)
                if stop is not None and stop(detokenizer.text):
                    break
        finally:
            # Stopped early, or the caller failed: the sequence leaves the batch at its next step.
            request.cancel()
        total = time.perf_counter() - start
        return GenerationResult(
            text=detokenizer.text,
            prompt_tokens=len(prompt),
            new_tokens=new_tokens,
            seconds_to_first_token=total if first is None else first,
            seconds_total=total,
        )
