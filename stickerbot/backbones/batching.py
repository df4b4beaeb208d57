"""Continuous batching for the CPU fast loop: turns that arrive together decode together.

One scheduler thread owns the decoder. Requests wait in a queue; at every step the scheduler
admits the waiting ones (their prompts prefilled together, in one pass, each into its own KV
cache), picks the next
token of every active sequence, hands each token to its request, and then runs all the
sequences that go on through one batched forward pass (``FastLlamaDecoder.step_many``). A new
turn joins at the next step, a finished or cancelled one leaves, as vLLM and TGI schedule on
GPUs. On a CPU a one-token step is bound by reading the weights, so eight sequences step in
little more time than one.

Caches are the slots of one :class:`~stickerbot.backbones.llama_decoder.KVSlab`, so the
sequences of a step attend in one product per layer. They are pooled: a finished sequence's
slot keeps its tokens, and the next request takes the free slot that shares the longest prefix
with its prompt, so a conversation's next turn computes only its new tokens. A prompt that
shares no more with any free slot than the others do (only the system prompt: a new
conversation, or one whose history window moved) takes its own conversation's old slot when
one holds the tokens that follow, else the slot freed longest ago, never another
conversation's between two of its turns (that cost every turn after it a whole prompt: 12 of
69 prompts at 8 sessions). A slot then gets the longest prefix any slot holds copied into it
(a new slot need not compute the system prompt again).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch

from stickerbot.backbones.llama_decoder import FastLlamaDecoder, KVCache, KVSlab, Sampling, choose_token
from stickerbot.backbones.threads import widen_this_thread

log = logging.getLogger(__name__)

# Sequences decoded together at most; more wait for a place.
MAX_BATCH = 16
# Tokens of a prompt, after the prefix all free slots share with it, looked for in a slot to
# tell its own conversation's (a moved window starts with turns that slot holds further on;
# a user turn's first 8 tokens are its role header and the start of its words).
OWNER_PROBE_TOKENS = 8
_DONE = object()


@dataclass(eq=False)
class Request:
    """One generation: its tokens arrive on ``tokens()`` as the scheduler picks them."""

    prompt: list[int]
    max_new_tokens: int
    sampling: Sampling
    eos_ids: frozenset[int]
    _out: queue.Queue = field(default_factory=queue.Queue)
    _cancelled: threading.Event = field(default_factory=threading.Event)
    # The scheduler's side.
    cache: KVCache | None = None
    logits: torch.Tensor | None = None
    generated: list[int] = field(default_factory=list)
    generator: torch.Generator | None = None

    def cancel(self) -> None:
        """Stop generating (the caller has what it needs); the sequence leaves at the next step."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def tokens(self) -> Iterator[int]:
        """The generated token ids, as they come; raises what failed in the scheduler."""
        while True:
            item = self._out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


def _prompt_seed(prompt: Sequence[int], seed: int) -> int:
    """A 63-bit seed from the prompt's token ids and the batcher's seed (stable across runs)."""
    digest = hashlib.blake2b(repr((seed, list(prompt))).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _holds(ids: list[int], probe: list[int], *, after: int) -> bool:
    """Whether ``probe`` occurs in ``ids`` at a position past ``after``."""
    if not probe:
        return False
    first, n = probe[0], len(probe)
    for start in range(after, len(ids) - n + 1):
        if ids[start] == first and ids[start : start + n] == probe:
            return True
    return False


class ContinuousBatcher:
    """Schedules requests on one :class:`FastLlamaDecoder` (see the module docstring)."""

    def __init__(
        self, decoder: FastLlamaDecoder, *, max_batch: int = MAX_BATCH, seed: int = 0, threaded: bool = True
    ):
        """``threaded=False``: no scheduler thread; the caller drives it with :meth:`iterate`
        (tests that need a given order of arrivals)."""
        self.decoder = decoder
        self.threaded = threaded
        self._active: list[Request] = []
        self.max_batch = max(1, max_batch)
        self._waiting: queue.Queue[Request] = queue.Queue()
        self.slab = KVSlab(decoder.shape, self.max_batch)
        self._free: list[KVCache] = []
        self.seed = seed
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        # Largest number of sequences stepped, and of prompts prefilled, together so far (for
        # benchmarks and tests).
        self.widest_step = 0
        self.widest_prefill = 0

    def submit(
        self, prompt: Sequence[int], *, max_new_tokens: int, sampling: Sampling, eos_ids: set[int]
    ) -> Request:
        """Queue a generation; ``max_new_tokens=0`` only prefills (primes a cache)."""
        if not prompt:
            raise ValueError("a request needs a prompt")
        request = Request([int(t) for t in prompt], max_new_tokens, sampling, frozenset(eos_ids))
        if sampling.temperature > 0:
            # Each sampled request draws from its own generator, seeded by its prompt: the same
            # prompt samples the same reply whatever else is decoding beside it (a shared
            # generator made a sampled retry depend on the other sessions' turns).
            request.generator = torch.Generator().manual_seed(_prompt_seed(request.prompt, self.seed))
        if self.threaded:
            self._ensure_running()
        self._waiting.put(request)
        return request

    def cached(self, prompt: Sequence[int]) -> int:
        """How many leading tokens of ``prompt`` a slot holds (what a request for it would not
        compute again: a free slot is taken, or the prefix copied)."""
        return max((cache.common_prefix(prompt) for cache in list(self.slab.caches)), default=0)

    def _ensure_running(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fast-llama-batcher", daemon=True)
                self._thread.start()

    # --- the scheduler thread ---------------------------------------------------------------

    def _take_cache(self, prompt: list[int]) -> KVCache:
        """The free slot for ``prompt`` (see the module docstring); ``_free`` is in the order the
        slots were freed, so the first of a tie is the one freed longest ago."""
        # At most max_batch are active, so when every slot is made one of them is free.
        if not self._free:
            return self.slab.new_cache()
        shared = [cache.common_prefix(prompt) for cache in self._free]
        best = max(shared)
        tied = [i for i, n in enumerate(shared) if n == best]
        if len(tied) > 1:
            probe = prompt[best : best + OWNER_PROBE_TOKENS]
            owned = [i for i in tied if _holds(self._free[i].ids, probe, after=best)]
            tied = owned or tied
        return self._free.pop(tied[0])

    def _seed(self, cache: KVCache, prompt: list[int]) -> None:
        """Copy into ``cache`` the longest prefix of ``prompt`` that any slot holds (free or
        active: only this thread writes them, and an active one only past its prompt)."""
        donor = max(self.slab.caches, key=lambda other: other.common_prefix(prompt))
        # One token is always computed: its logits are the request's first.
        tokens = min(donor.common_prefix(prompt), len(prompt) - 1)
        if donor is not cache and tokens > cache.common_prefix(prompt):
            cache.copy_prefix(donor, tokens)

    def _finish(self, request: Request, error: BaseException | None = None) -> None:
        if request.cache is not None:
            # Kept for a later prompt with the same beginning.
            self._free.append(request.cache)
            request.cache = None
        request.logits = None
        request._out.put(error if error is not None else _DONE)

    def _admit(self, active: list[Request], block: bool) -> None:
        """Take the waiting requests (as many as there is room for) and prefill their prompts
        together, each into its own cache."""
        admitted: list[Request] = []
        while len(active) + len(admitted) < self.max_batch:
            try:
                request = self._waiting.get(block=block and not active and not admitted)
            except queue.Empty:
                break
            if request.cancelled:
                self._finish(request)
                continue
            request.cache = self._take_cache(request.prompt)
            try:
                request.cache.ensure(len(request.prompt))
            except Exception as err:  # this request fails (too long); the others go on
                self._finish(request, err)
                continue
            self._seed(request.cache, request.prompt)
            admitted.append(request)
        if not admitted:
            return
        try:
            logits = self.decoder.prefill_many([r.prompt for r in admitted], [r.cache for r in admitted])
        except Exception as err:  # a bug, not an input: every prompt of the pass gets it
            log.exception("prefill failed")
            for request in admitted:
                request.cache.ids = []  # its keys and values may be half written
                self._finish(request, err)
            return
        for request, row in zip(admitted, logits, strict=True):
            request.logits = row
            active.append(request)
        self.widest_prefill = max(self.widest_prefill, len(admitted))

    def _run(self) -> None:
        # The decoder's thread owns the cores' parallel team (backbones/threads.py).
        widen_this_thread()
        while True:
            self.iterate(block=True)

    def iterate(self, *, block: bool = False) -> int:
        """One scheduling step: admit waiting requests, pick every active sequence's next token,
        step those that go on together. Returns how many sequences are still active."""
        active = self._active
        self._admit(active, block)
        stepping: list[tuple[Request, int]] = []
        for request in active:
            if request.cancelled or len(request.generated) >= request.max_new_tokens:
                self._finish(request)
                continue
            token = choose_token(request.logits, request.generated, request.sampling, request.generator)
            if token in request.eos_ids:
                self._finish(request)
                continue
            request.generated.append(token)
            request._out.put(token)
            if len(request.generated) >= request.max_new_tokens:
                self._finish(request)
                continue
            stepping.append((request, token))
        # A conversation that would outgrow the model's context ends alone, with its error.
        for request, _ in list(stepping):
            try:
                request.cache.ensure(len(request.cache.ids) + 1)
            except Exception as err:
                stepping.remove((request, _))
                self._finish(request, err)
        active = self._active = [request for request, _ in stepping]
        if not stepping:
            return 0
        self.widest_step = max(self.widest_step, len(stepping))
        try:
            logits = self.decoder.step_many([t for _, t in stepping], [r.cache for r, _ in stepping])
        except Exception as err:  # a bug, not an input: every turn in the step gets it
            log.exception("batched decoding step failed")
            for request in active:
                request.cache.ids = []  # its keys and values may be half written
                self._finish(request, err)
            self._active = []
            return 0
        for (request, _), row in zip(stepping, logits, strict=True):
            request.logits = row
        return len(active)

    def run_until_idle(self) -> None:
        """Drive an unthreaded batcher until every submitted request is finished."""
        while self.iterate() or not self._waiting.empty():
            pass
