"""A lean CPU decoding loop for Llama-architecture chat models (the offline default, SmolLM2).

``model.generate`` on a 135M model spends most of each step outside the matrix products
(hooks, cache objects, logits processors, the streamer thread): about 14 tokens/s on 2
cores. This module runs the same forward pass with

- int8 weight-only matrix products (``torch._weight_int8pack_mm``, one scale per output
  row), which halves the bytes read per token again after fp32 -> int8; the head's, whose
  output only ranks the candidates rescored in fp32, with int8 activations too
  (:class:`Int8Ranker`);
- q/k/v and gate/up fused into one product each;
- a preallocated KV cache, and reuse of the cached prefix between calls: the system
  prompt is computed once, so the first token waits only for the new part of a prompt;
- no thread: the caller's loop gets each token id as it is chosen.

``int8=False`` runs the identical loop on the fp32 weights; its logits equal transformers'
(a test checks), which is how the arithmetic of this file is verified.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from stickerbot.backbones.base import (
    BackboneError,
)

# KV-cache rows allocated up front; the cache doubles when a prompt needs more.
INITIAL_CACHE_TOKENS = 1024
# Up to this many rows (a batched step of that many conversations) a product runs on the int8
# kernel; above, on the fp32 weights. Measured on 2 AVX2 cores for SmolLM2's shapes: the int8
# kernel's time grows with the rows (33 -> 113 -> 217 us for 1, 8, 16 rows of q/k/v) and fp32's
# barely (58 -> 169 -> 197 us): int8 wins up to 8 rows, they tie at 16.
INT8_MAX_ROWS = 8
# Next-token candidates whose logits are recomputed in fp32 after the int8 head.
EXACT_HEAD_CANDIDATES = 16


class UnsupportedModel(BackboneError):
    """The model is not a plain Llama this loop reproduces exactly."""


@dataclass(frozen=True)
class LlamaShape:
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    eps: float
    rope_theta: float
    max_positions: int

    @classmethod
    def from_config(cls, config) -> LlamaShape:
        """Read a transformers LlamaConfig; UnsupportedModel for any variant this loop does not do."""
        if getattr(config, "model_type", None) != "llama":
            raise UnsupportedModel(f"the fast CPU loop runs Llama models, not {config.model_type!r}")
        rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
        if rope.get("rope_type", rope.get("type", "default")) != "default":
            raise UnsupportedModel(
                f"rope scaling {rope.get('rope_type')!r} is not supported by the fast loop"
            )
        theta = rope.get("rope_theta", getattr(config, "rope_theta", None))
        if theta is None:
            raise UnsupportedModel("the config names no rope_theta")
        if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
            raise UnsupportedModel("biased attention/MLP projections are not supported by the fast loop")
        if getattr(config, "hidden_act", "silu") != "silu":
            raise UnsupportedModel(f"activation {config.hidden_act!r} is not supported by the fast loop")
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        return cls(
            layers=config.num_hidden_layers,
            hidden=config.hidden_size,
            heads=config.num_attention_heads,
            kv_heads=config.num_key_value_heads or config.num_attention_heads,
            head_dim=head_dim,
            vocab=config.vocab_size,
            eps=config.rms_norm_eps,
            rope_theta=float(theta),
            max_positions=config.max_position_embeddings,
        )


def int8_matmul_available() -> bool:
    """True when this torch build has the CPU int8 weight-only kernel (checked by running it)."""
    try:
        x = torch.ones(1, 64, dtype=torch.bfloat16)
        w = torch.ones(8, 64, dtype=torch.int8)
        out = torch._weight_int8pack_mm(x, w, torch.ones(8, dtype=torch.bfloat16))
        return bool(torch.allclose(out.float(), torch.full((1, 8), 64.0)))
    except (RuntimeError, AttributeError, NotImplementedError):
        return False


def bf16_matmul_native() -> bool:
    """True when the CPU multiplies bf16 natively (AVX512-BF16 or AMX); there a bf16 product
    of many rows takes half the time of fp32's, elsewhere bf16 is emulated and slower."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    try:
        return bool(probe and probe())
    except RuntimeError:
        return False


class Linear:
    """``x @ W.T`` for W given as row blocks (e.g. q, k and v), fused for one-token steps.

    With ``int8`` the fused W is kept as int8 rows with one scale per row and a one-token
    step runs ``torch._weight_int8pack_mm`` on bf16 activations: measured on 2 AVX2 cores,
    that kernel is 2-3x faster than an fp32 product at one row, but 50x slower with fp32
    activations, and slower than fp32 once there are many rows. So prompts (many rows)
    use the original fp32 blocks, which are the model's own tensors, not copies.

    Symmetric per-row scales keep the error of each weight within 0.4% of its row's
    largest; SmolLM2's greedy replies stay fluent (they drift from fp32's after a few
    dozen tokens, as any change in rounding would).

    ``wide``: where the CPU multiplies bf16 natively (``bf16_matmul_native``), the int8 mode
    also keeps the fused W in bf16 for many rows (prompts, and batched steps of more than
    INT8_MAX_ROWS conversations): measured on 2 such cores for SmolLM2's layer shapes, 16 to
    256 rows take 1.9-2.1x less time than fp32, and 16 rows of a step 2-3x less than int8.

    ``ranks``: the product's output of a ``step`` only ranks candidates that are then
    recomputed exactly (the head: EXACT_HEAD_CANDIDATES), so its activations may be int8 too
    (:class:`Int8Ranker`).
    """

    def __init__(
        self, blocks: Sequence[torch.Tensor], *, int8: bool, wide: bool = False, ranks: bool = False
    ):
        self.blocks = [block.detach() for block in blocks]
        self.int8 = int8
        self.weight = self.scale = self.wide = self.ranker = None
        if int8:
            weight = torch.cat([block.float() for block in self.blocks])
            scale = weight.abs().amax(dim=1).clamp(min=1e-8) / 127.0
            self.weight = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
            self.scale = scale.to(torch.bfloat16)
            if wide:
                self.wide = weight.to(torch.bfloat16).contiguous()
            if ranks:
                self.ranker = Int8Ranker.build(self.weight, scale)

    def __call__(self, x: torch.Tensor, *, step: bool = False) -> torch.Tensor:
        """Many rows: fp32, or bf16 where ``wide`` is kept. One row, and the rows of a batched
        one-token ``step`` of up to INT8_MAX_ROWS conversations: the int8 kernel (a ranking
        product's ``step``: its :class:`Int8Ranker`, at any number of rows)."""
        rows = x.shape[0]
        if step and self.ranker is not None:
            return self.ranker(x)
        # Without bf16 copies every step stays on int8: at 16 rows it still beats fp32 (785 against
        # 1,077 us for a layer's q/k/v, gate/up and down products).
        if self.int8 and (rows == 1 or (step and (rows <= INT8_MAX_ROWS or self.wide is None))):
            return torch._weight_int8pack_mm(x.to(torch.bfloat16), self.weight, self.scale)
        if self.wide is not None:
            return F.linear(x.to(torch.bfloat16), self.wide)
        if len(self.blocks) == 1:
            return F.linear(x, self.blocks[0])
        return torch.cat([F.linear(x, block) for block in self.blocks], dim=-1)


class Int8Ranker:
    """``x @ W.T`` with W and x both int8 (fbgemm's dynamic int8 product, VNNI where the CPU has
    it), for a product whose output only ranks: the head, whose best candidates are rescored in
    fp32. Measured for SmolLM2's head (49,152 x 576) on 2 cores: 8 rows of a batched step take
    1.3 ms against 7.3 ms on the weight-only int8 kernel, one row 0.3 against 2.4 ms; in the
    decoder a step of 8 conversations 41-59 -> 35-37 ms, greedy agreement with fp32 unchanged.

    Each row is scaled to a peak of 1 and a fixed row holding +1 and -1 joins them, so the
    activations' int8 range is [-1, 1] whatever else the batch holds: a row's result does not
    depend on the rows beside it (a batched step still equals each conversation's own).
    """

    def __init__(self, packed, inputs: int):
        self.packed = packed
        self._anchor = torch.zeros(1, inputs)
        self._anchor[0, :2] = torch.tensor([1.0, -1.0])

    @classmethod
    def build(cls, weight: torch.Tensor, scale: torch.Tensor) -> Int8Ranker | None:
        """From int8 rows and their fp32 scales; None where this torch has no such kernel."""
        try:
            per_row = scale.double()
            with warnings.catch_warnings():
                # torch deprecates quantized tensors; the pinned torch has them, a later one
                # without them gets the weight-only kernel (the except below).
                warnings.simplefilter("ignore", UserWarning)
                quantized = torch._make_per_channel_quantized_tensor(
                    weight, per_row, torch.zeros(len(per_row), dtype=torch.long), 0
                )
            ranker = cls(torch.ops.quantized.linear_prepack(quantized, None), weight.shape[1])
            ranker(torch.ones(1, weight.shape[1]))
            return ranker
        except (RuntimeError, AttributeError, NotImplementedError):
            return None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        peak = x.abs().amax(dim=1, keepdim=True).clamp(min=1e-12)
        # reduce_range: 7-bit activations, safe from the int16 saturation of non-VNNI kernels.
        out = torch.ops.quantized.linear_dynamic(torch.cat([x / peak, self._anchor]), self.packed, True)
        return out[:-1] * peak


@dataclass
class _Layer:
    attn_norm: torch.Tensor
    qkv: Linear
    out: Linear
    mlp_norm: torch.Tensor
    gate_up: Linear
    down: Linear


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return F.rms_norm(x, weight.shape, weight, eps)


def _interleave_rope_rows(weight: torch.Tensor, heads: int, head_dim: int) -> torch.Tensor:
    """Reorder each head's output rows from transformers' half-split rotary layout (pairs i and
    i + d/2) to adjacent pairs (2i, 2i + 1), so rotary embedding is one complex product.

    Queries and keys get the same order, so their dot products, and attention, are unchanged.
    """
    half = head_dim // 2
    order = torch.stack([torch.arange(half), torch.arange(half) + half], dim=1).reshape(-1)
    return weight.view(heads, head_dim, -1)[:, order].reshape(heads * head_dim, -1).contiguous()


class KVCache:
    """One sequence's keys and values, and the token ids they were computed for.

    Preallocated for ``INITIAL_CACHE_TOKENS`` and doubled when a conversation needs more; a
    cache is reused for the next request whose prompt starts with the same tokens (the system
    prompt), so only the new part of a prompt is computed. A cache either owns its tensors or
    is one slot of a :class:`KVSlab`, where it sits beside the sequences it steps with.
    """

    def __init__(
        self, shape: LlamaShape, tokens: int | None = None, *, slab: KVSlab | None = None, slot: int = 0
    ):
        self.shape = shape
        self.ids: list[int] = []
        self.slab = slab
        self.slot = slot
        self._keys: torch.Tensor | None = None
        self._values: torch.Tensor | None = None
        if slab is None:
            self._allocate(min(tokens or INITIAL_CACHE_TOKENS, shape.max_positions))

    def _allocate(self, tokens: int) -> None:
        s = self.shape
        shape = (s.layers, s.kv_heads, tokens, s.head_dim)
        keys, values = torch.zeros(shape), torch.zeros(shape)
        if self._keys is not None:
            n = len(self.ids)
            keys[:, :, :n] = self._keys[:, :, :n]
            values[:, :, :n] = self._values[:, :, :n]
        self._keys, self._values = keys, values

    @property
    def keys(self) -> torch.Tensor:
        """(layers, kv_heads, capacity, head_dim); a view into the slab for a slab's slot."""
        return self._keys if self.slab is None else self.slab.keys[:, self.slot]

    @property
    def values(self) -> torch.Tensor:
        return self._values if self.slab is None else self.slab.values[:, self.slot]

    @property
    def capacity(self) -> int:
        return self.keys.shape[2]

    def ensure(self, tokens: int) -> None:
        """Room for ``tokens`` positions (BackboneError past the model's context)."""
        if tokens > self.shape.max_positions:
            raise BackboneError(
                f"the conversation is {tokens} tokens, longer than the model's {self.shape.max_positions}; "
                "start a new chat or lower STICKERBOT_MAX_NEW_TOKENS"
            )
        capacity = self.capacity
        if tokens > capacity:
            while capacity < tokens:
                capacity *= 2
            capacity = min(capacity, self.shape.max_positions)
            if self.slab is None:
                self._allocate(capacity)
            else:
                self.slab.resize(tokens=capacity)

    def copy_prefix(self, other: KVCache, tokens: int) -> None:
        """Hold the first ``tokens`` positions of ``other`` (its keys, values and ids)."""
        self.ensure(tokens)
        self.keys[:, :, :tokens] = other.keys[:, :, :tokens]
        self.values[:, :, :tokens] = other.values[:, :, :tokens]
        self.ids = list(other.ids[:tokens])

    def common_prefix(self, ids: Sequence[int]) -> int:
        n = 0
        for cached, new in zip(self.ids, ids, strict=False):
            if cached != new:
                break
            n += 1
        return n


class KVSlab:
    """The caches of up to ``max_slots`` sequences side by side, one tensor for all:
    (layers, slots, kv_heads, tokens, head_dim) for keys and for values.

    So the sequences of a batched step attend in one product per layer over a range of slots
    (a view, nothing copied), where separate caches cost a few small products per sequence
    per layer (8 conversations of SmolLM2: 2,400 small products a step, a quarter of its
    time). Slots are made as they are first needed (the slab doubles, up to ``max_slots``),
    and every slot has the same room: one conversation that outgrows it doubles the room of
    all. Whoever owns the slab (the batcher) hands out its slots; each slot is a
    :class:`KVCache`.
    """

    def __init__(self, shape: LlamaShape, max_slots: int, tokens: int | None = None):
        self.shape = shape
        self.max_slots = max(1, max_slots)
        self.caches: list[KVCache] = []
        self.keys = self.values = torch.zeros(0)
        self._tokens = min(tokens or INITIAL_CACHE_TOKENS, shape.max_positions)
        self._slots = 0

    @property
    def full(self) -> bool:
        return len(self.caches) >= self.max_slots

    def new_cache(self) -> KVCache:
        """The next unused slot as a cache (ValueError when all ``max_slots`` are in use)."""
        if self.full:
            raise ValueError(f"all {self.max_slots} slots of the KV slab are taken")
        n = len(self.caches)
        if n >= self._slots:
            self.resize(slots=min(max(1, 2 * self._slots), self.max_slots))
        cache = KVCache(self.shape, slab=self, slot=n)
        self.caches.append(cache)
        return cache

    def resize(self, *, slots: int | None = None, tokens: int | None = None) -> None:
        """Reallocate with room for ``slots`` sequences of ``tokens`` positions, keeping what
        each slot holds."""
        slots, tokens = max(slots or self._slots, self._slots), max(tokens or self._tokens, self._tokens)
        s = self.shape
        shape = (s.layers, slots, s.kv_heads, tokens, s.head_dim)
        keys, values = torch.zeros(shape), torch.zeros(shape)
        if self._slots:
            keys[:, : self._slots, :, : self._tokens] = self.keys
            values[:, : self._slots, :, : self._tokens] = self.values
        self.keys, self.values = keys, values
        self._slots, self._tokens = slots, tokens


class FastLlamaDecoder:
    """Holds the weights; ``prefill`` then ``step`` produce next-token logits for one sequence
    (its own :class:`KVCache`, by default ``self.cache``), ``step_many`` for several at once.

    Not thread-safe: one thread drives it (the backbone's scheduler, ``backbones/batching.py``).
    """

    def __init__(self, model, *, int8: bool = True, wide: bool = False):
        """``wide``: bf16 copies of the weights for many rows in the int8 mode (for a CPU that
        multiplies bf16 natively, ``bf16_matmul_native``; +2 bytes a weight, 270 MB for
        SmolLM2-135M)."""
        if int8 and not int8_matmul_available():
            raise UnsupportedModel(
                "this torch build has no CPU int8 weight-only kernel (_weight_int8pack_mm)"
            )
        shape = LlamaShape.from_config(model.config)
        self.shape = shape
        self.int8 = int8
        wide = int8 and wide
        inner = model.model
        self.embed = inner.embed_tokens.weight.detach().float()
        self.final_norm = inner.norm.weight.detach().float()
        self.lm_head = Linear([model.lm_head.weight], int8=int8, wide=wide, ranks=True)
        self.layers: list[_Layer] = []
        for block in inner.layers:
            attn, mlp = block.self_attn, block.mlp
            self.layers.append(
                _Layer(
                    attn_norm=block.input_layernorm.weight.detach().float(),
                    qkv=Linear(
                        [
                            # The softmax scale 1/sqrt(d) is folded into the query rows.
                            _interleave_rope_rows(
                                attn.q_proj.weight.detach().float(), shape.heads, shape.head_dim
                            )
                            / math.sqrt(shape.head_dim),
                            _interleave_rope_rows(
                                attn.k_proj.weight.detach().float(), shape.kv_heads, shape.head_dim
                            ),
                            attn.v_proj.weight,
                        ],
                        int8=int8,
                        wide=wide,
                    ),
                    out=Linear([attn.o_proj.weight], int8=int8, wide=wide),
                    mlp_norm=block.post_attention_layernorm.weight.detach().float(),
                    gate_up=Linear([mlp.gate_proj.weight, mlp.up_proj.weight], int8=int8, wide=wide),
                    down=Linear([mlp.down_proj.weight], int8=int8, wide=wide),
                )
            )
        self._q_size = shape.heads * shape.head_dim
        self._kv_size = shape.kv_heads * shape.head_dim
        inv_freq = 1.0 / (
            shape.rope_theta ** (torch.arange(0, shape.head_dim, 2, dtype=torch.float32) / shape.head_dim)
        )
        angles = torch.outer(torch.arange(shape.max_positions, dtype=torch.float32), inv_freq)
        self._rotation = torch.polar(torch.ones_like(angles), angles)  # (positions, head_dim / 2), complex
        self._cache: KVCache | None = None

    def new_cache(self) -> KVCache:
        return KVCache(self.shape)

    # --- the default cache (one conversation at a time) ---------------------------------------

    @property
    def cache(self) -> KVCache:
        """The cache of calls that name none (made on first use: the batcher has its own)."""
        if self._cache is None:
            self._cache = self.new_cache()
        return self._cache

    @property
    def _keys(self) -> torch.Tensor:
        return self.cache.keys

    @property
    def cached_tokens(self) -> int:
        return len(self.cache.ids)

    def reset(self) -> None:
        self.cache.ids = []

    # --- forward ----------------------------------------------------------------------------

    def _rotate(self, qkv: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
        """Queries and keys of ``qkv`` (rows, q+k+v) rotated together: adjacent pairs as complex
        numbers; (rows, heads + kv_heads, head_dim)."""
        s = self.shape
        rows = qkv.shape[0]
        qk = qkv[:, : self._q_size + self._kv_size].reshape(rows, s.heads + s.kv_heads, s.head_dim // 2, 2)
        return torch.view_as_real(torch.view_as_complex(qk) * rotation).reshape(
            rows, s.heads + s.kv_heads, s.head_dim
        )

    def _logits(self, last: torch.Tensor, exact: bool) -> torch.Tensor:
        """Next-token logits of the normalised last hidden states (rows, hidden); ``exact``: rows
        of one-token steps, whose best candidates are rescored in fp32."""
        logits = self.lm_head(last, step=exact).float()
        if self.lm_head.int8 and exact:
            # The int8 head ranks the vocabulary; the few best are recomputed exactly from
            # the fp32 rows, so the choice among close candidates is not left to rounding
            # (measured: greedy agreement with fp32 96.4% -> see README, for 16 rows' work).
            top = logits.topk(EXACT_HEAD_CANDIDATES, dim=-1).indices
            rows = self.lm_head.blocks[0][top]  # (rows, candidates, hidden)
            logits.scatter_(1, top, torch.einsum("bh,bkh->bk", last, rows.float()))
        return logits

    def _forward(self, ids: Sequence[int], cache: KVCache | None = None) -> torch.Tensor:
        """Run ``ids`` at the positions after ``cache``; append their keys/values; last logits."""
        return self._forward_many([(list(ids), cache or self.cache)])[0]

    def _forward_many(self, segments: Sequence[tuple[list[int], KVCache]]) -> list[torch.Tensor]:
        """Run each segment's ids at the positions after its cache, all segments' rows through the
        matrix products at once and attention per segment; append their keys/values; the last
        logits of each. Each cache is grown to hold its segment (``KVCache.ensure``)."""
        s = self.shape
        bounds, starts, positions = [], [], []
        row = 0
        for ids, cache in segments:
            start = len(cache.ids)
            cache.ensure(start + len(ids))
            bounds.append((row, row + len(ids)))
            starts.append(start)
            positions.extend(range(start, start + len(ids)))
            row += len(ids)
        rows = row
        rotation = self._rotation[torch.as_tensor(positions)][:, None, :]
        h = self.embed[torch.as_tensor([t for ids, _ in segments for t in ids], dtype=torch.long)]
        for i, layer in enumerate(self.layers):
            x = _rms_norm(h, layer.attn_norm, s.eps)
            qkv = layer.qkv(x).float()
            qk = self._rotate(qkv, rotation)
            v_all = qkv[:, self._q_size + self._kv_size :].view(rows, s.kv_heads, s.head_dim)
            attended = []
            for (_ids, cache), (a, b), start in zip(segments, bounds, starts, strict=True):
                count = b - a
                end = start + count
                q = qk[a:b, : s.heads].transpose(0, 1)
                cache.keys[i, :, start:end] = qk[a:b, s.heads :].transpose(0, 1)
                cache.values[i, :, start:end] = v_all[a:b].transpose(0, 1)
                keys, values = cache.keys[i, :, :end], cache.values[i, :, :end]
                if count == 1:
                    out = self._attend_one(q, keys, values)
                else:
                    # New tokens see the whole cache and the new tokens before them.
                    out = F.scaled_dot_product_attention(
                        q.unsqueeze(0),
                        keys.unsqueeze(0),
                        values.unsqueeze(0),
                        attn_mask=torch.ones(count, end, dtype=torch.bool).tril(diagonal=start),
                        scale=1.0,  # folded into the query rows
                        enable_gqa=s.heads != s.kv_heads,
                    )[0]
                attended.append(out.transpose(0, 1).reshape(count, self._q_size))
            # h stays fp32; adding a bf16 product promotes inside the add.
            h = h + layer.out(attended[0] if len(attended) == 1 else torch.cat(attended))
            x = _rms_norm(h, layer.mlp_norm, s.eps)
            gate, up = layer.gate_up(x).chunk(2, dim=-1)
            h = h + layer.down(F.silu(gate) * up)
        logits = []
        for (ids, cache), (a, b) in zip(segments, bounds, strict=True):
            cache.ids.extend(ids)
            # Each segment's head as for that segment alone (one row: the int8 kernel).
            last = _rms_norm(h[b - 1 : b], self.final_norm, s.eps)
            logits.append(self._logits(last, exact=b - a == 1)[0])
        return logits

    def _attend_one(self, q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """One query position over the cache: three small products, about 5x faster than the
        fused SDPA kernel's set-up at this size. Query heads are grouped by the key/value head
        they share (head h uses kv head h // group, as transformers' repeat_kv has it)."""
        s = self.shape
        grouped = q.reshape(s.kv_heads, s.heads // s.kv_heads, s.head_dim)
        weights = torch.softmax(grouped @ keys.transpose(1, 2), dim=-1)
        return (weights @ values).reshape(s.heads, 1, s.head_dim)

    @staticmethod
    def _uncached(prompt: Sequence[int], cache: KVCache) -> list[int]:
        """The tokens of ``prompt`` that ``cache`` does not already hold, its ids cut back to the
        prefix they share."""
        ids = [int(t) for t in prompt]
        if not ids:
            raise ValueError("prefill needs at least one token")
        # At least one token is recomputed: its logits are the ones asked for.
        common = min(cache.common_prefix(ids), len(ids) - 1)
        del cache.ids[common:]
        return ids[common:]

    @torch.inference_mode()
    def prefill(self, ids: Sequence[int], cache: KVCache | None = None) -> torch.Tensor:
        """Logits after ``ids``, reusing whatever prefix of them ``cache`` already holds."""
        cache = cache or self.cache
        return self._forward(self._uncached(ids, cache), cache)

    @torch.inference_mode()
    def prefill_many(self, prompts: Sequence[Sequence[int]], caches: Sequence[KVCache]) -> list[torch.Tensor]:
        """``prefill`` of several prompts, each into its own cache, in one pass: the new tokens of
        all go through the matrix products together (a prompt's few new tokens after its cached
        system prompt use the weights little more than a batched step does). Each prompt's
        logits are those of ``prefill`` on it alone, up to rounding."""
        if len(prompts) != len(caches) or not prompts:
            raise ValueError("prefill_many needs one cache per prompt, and at least one")
        if len(prompts) == 1:
            return [self.prefill(prompts[0], caches[0])]
        segments = [(self._uncached(p, c), c) for p, c in zip(prompts, caches, strict=True)]
        return self._forward_many(segments)

    @torch.inference_mode()
    def step(self, token: int, cache: KVCache | None = None) -> torch.Tensor:
        """Logits after appending one token."""
        return self._forward([int(token)], cache)

    @torch.inference_mode()
    def step_many(self, tokens: Sequence[int], caches: Sequence[KVCache]) -> torch.Tensor:
        """One token for each of several sequences in one pass: (len(tokens), vocab) logits.

        The matrix products (nearly all the work of a step, and bound by reading the weights)
        run once for all rows. Attention runs in one product per layer when the caches are
        slots of one :class:`KVSlab` (each slot masked to its own length), else per sequence
        over its own cache. A row's logits equal ``step`` on its sequence alone.
        """
        if len(tokens) != len(caches) or not tokens:
            raise ValueError("step_many needs one cache per token, and at least one")
        if len(tokens) == 1:
            return self._forward([int(tokens[0])], caches[0]).unsqueeze(0)
        s = self.shape
        rows = len(tokens)
        positions = [len(c.ids) for c in caches]
        for cache, position in zip(caches, positions, strict=True):
            cache.ensure(position + 1)
        slab = caches[0].slab
        together = (
            slab is not None and all(c.slab is slab for c in caches) and len({c.slot for c in caches}) == rows
        )
        attend = (
            self._slab_attention(slab, caches, positions)
            if together
            else self._each_attention(caches, positions)
        )
        rotation = self._rotation[torch.as_tensor(positions)][:, None, :]
        h = self.embed[torch.as_tensor([int(t) for t in tokens], dtype=torch.long)]
        for i, layer in enumerate(self.layers):
            x = _rms_norm(h, layer.attn_norm, s.eps)
            qkv = layer.qkv(x, step=True).float()
            qk = self._rotate(qkv, rotation)
            v = qkv[:, self._q_size + self._kv_size :].view(rows, s.kv_heads, s.head_dim)
            h = h + layer.out(attend(i, qk, v), step=True)
            x = _rms_norm(h, layer.mlp_norm, s.eps)
            gate, up = layer.gate_up(x, step=True).chunk(2, dim=-1)
            h = h + layer.down(F.silu(gate) * up, step=True)
        for cache, token in zip(caches, tokens, strict=True):
            cache.ids.append(int(token))
        return self._logits(_rms_norm(h, self.final_norm, s.eps), exact=True)

    def _each_attention(self, caches: Sequence[KVCache], positions: Sequence[int]):
        """Layer ``i``'s attention of a batched step, sequence by sequence over separate caches:
        a function of (i, rotated q/k rows, v rows) -> (rows, heads * head_dim)."""
        s = self.shape

        def attend(i: int, qk: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            attended = []
            for b, (cache, position) in enumerate(zip(caches, positions, strict=True)):
                cache.keys[i, :, position] = qk[b, s.heads :]
                cache.values[i, :, position] = v[b]
                end = position + 1
                q = qk[b, : s.heads].unsqueeze(1)  # (heads, 1, head_dim)
                attended.append(self._attend_one(q, cache.keys[i, :, :end], cache.values[i, :, :end]))
            return torch.stack(attended).reshape(len(caches), self._q_size)

        return attend

    def _slab_attention(self, slab: KVSlab, caches: Sequence[KVCache], positions: Sequence[int]):
        """Layer ``i``'s attention of a batched step over the slots of one slab, in one product:
        the span of slots from the lowest to the highest stepping one (a view of the slab), up to
        the longest sequence's position, each slot masked to its own length. A slot inside the
        span that is not stepping gets a zero query and its output is dropped."""
        s = self.shape
        rows = len(caches)
        group = s.heads // s.kv_heads
        slots = torch.as_tensor([c.slot for c in caches])
        pos = torch.as_tensor(list(positions))
        lo, hi = int(slots.min()), int(slots.max()) + 1
        span, length = hi - lo, max(positions) + 1
        rel = slots - lo
        in_order = span == rows and bool((rel == torch.arange(rows)).all())
        ends = torch.full((span,), length)
        ends[rel] = pos + 1
        hidden = torch.arange(length)[None, :] >= ends[:, None]  # (span, length): not this slot's yet
        bias = torch.zeros(span, 1, 1, length).masked_fill(hidden[:, None, None, :], float("-inf"))

        def attend(i: int, qk: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            keys, values = slab.keys[i], slab.values[i]  # read now: ensure() may have grown the slab
            keys[slots, :, pos] = qk[:, s.heads :]
            values[slots, :, pos] = v
            # Query head h uses key/value head h // group, as in _attend_one.
            q = qk[:, : s.heads].reshape(rows, s.kv_heads, group, s.head_dim)
            if not in_order:
                q = q.new_zeros(span, s.kv_heads, group, s.head_dim).index_copy_(0, rel, q)
            scores = q @ keys[lo:hi, :, :length].transpose(-1, -2) + bias
            out = torch.softmax(scores, dim=-1) @ values[lo:hi, :, :length]
            if not in_order:
                out = out[rel]
            return out.reshape(rows, self._q_size)

        return attend

    @torch.inference_mode()
    def logits(self, ids: Sequence[int]) -> torch.Tensor:
        """Logits at every position of ``ids`` from an empty cache (for checks against transformers)."""
        self.reset()
        rows = []
        for i in range(len(ids)):
            rows.append(self._forward([int(ids[i])]) if i else self.prefill(ids[:1]))
        return torch.stack(rows)


@dataclass(frozen=True)
class Sampling:
    """How the next token is picked. ``temperature=0`` is greedy.

    ``repetition_penalty`` divides (or, for negative logits, multiplies) the logits of tokens
    already generated in this reply, not of the prompt: penalising the prompt would push a
    small model away from the very words the user wrote.
    """

    temperature: float = 0.0
    top_p: float = 0.9
    repetition_penalty: float = 1.0


def choose_token(
    logits: torch.Tensor,
    generated: Sequence[int],
    sampling: Sampling,
    generator: torch.Generator | None = None,
) -> int:
    """The next token id from one row of logits (pure apart from the random generator)."""
    if sampling.repetition_penalty != 1.0 and generated:
        logits = logits.clone()
        seen = torch.as_tensor(sorted(set(generated)), dtype=torch.long)
        picked = logits[seen]
        logits[seen] = torch.where(
            picked > 0, picked / sampling.repetition_penalty, picked * sampling.repetition_penalty
        )
    if sampling.temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / sampling.temperature, dim=-1)
    ordered, order = probs.sort(descending=True)
    # Keep the smallest set whose mass reaches top_p (the first token always stays).
    keep = (ordered.cumsum(0) - ordered) < sampling.top_p
    ordered = ordered * keep
    pick = torch.multinomial(ordered / ordered.sum(), 1, generator=generator)
    return int(order[pick])
