"""A frozen causal LM with the five new token rows, W_t and W_c (the only trained parts).

Input: the new tokens' embeddings come from ``in_rows`` and an ``IMAGE_SLOT`` position from
W_c(image features); everything else from the frozen embedding table. Output: the frozen
head's logits, with the new tokens' columns computed from ``out_rows`` plus ``out_bias``
(the frozen head has no bias; without one the ``<ret>`` column cannot set its threshold,
and fired on nearly every reply). The last hidden
state at an input ``<ret>`` goes through W_t into the sticker-embedding space.

The trained parts live on the frozen model's device, so do the batches (moved here, in one
place); what enters the frozen model is cast to its dtype (bf16 on a GPU).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from stickerbot.backbones.base import chat_template_render
from stickerbot.retrieval_tokens.losses import info_nce, shifted_lm_loss
from stickerbot.retrieval_tokens.tokens import (
    IMAGE_SLOT,
    INIT_WORDS,
    SPECIAL_TOKENS,
    TokenIds,
    add_special_tokens,
)


@dataclass(frozen=True)
class RetConfig:
    """Saved with every checkpoint and checked on load."""

    backbone: str  # the backbone's registry name
    fingerprint: str  # of the frozen weights: a checkpoint only fits the model it was trained on
    hidden: int
    vocab: int  # rows of the frozen embedding table
    token_ids: tuple[int, ...]
    sticker_embedder: str  # the space W_t maps into (the sticker index's embedder)
    sticker_dim: int
    image_features: str  # what W_c reads (see retrieval_tokens.features)
    image_dim: int
    # Weight of the contrastive loss against the LM loss.
    lam: float = 1.0
    temperature: float = 0.05
    tokens: tuple[str, ...] = field(default=SPECIAL_TOKENS)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RetConfig:
        data = dict(data)
        data["token_ids"] = tuple(data["token_ids"])
        data["tokens"] = tuple(data["tokens"])
        return cls(**data)


def fingerprint(lm) -> str:
    """A short hash of the frozen input embeddings (shape and a slice of rows)."""
    table = lm.get_input_embeddings().weight.detach()
    sample = table[:: max(1, table.shape[0] // 64)].float().contiguous()
    digest = hashlib.sha256(str(tuple(table.shape)).encode() + sample.cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass
class RetOutput:
    loss: torch.Tensor
    lm_loss: torch.Tensor
    contrastive_loss: torch.Tensor
    ret_embeddings: torch.Tensor  # (n <ret> positions, sticker_dim), not normalised


class RetModel(nn.Module):
    def __init__(
        self, lm, tokenizer, config: RetConfig, *, render: Callable[[list, bool], str] | None = None
    ):
        """``render(messages, add_generation_prompt)``: the backbone's prompt text (``LocalLM.render``);
        by default ``tokenizer``'s chat template."""
        super().__init__()
        self.lm = lm
        lm.requires_grad_(False)
        lm.eval()
        self.tokenizer = tokenizer
        self.render = render or chat_template_render(tokenizer)
        self.config = config
        self.ids = TokenIds(*config.token_ids)
        # On the frozen model's device, but float32 whatever its dtype: these are master weights,
        # as peft keeps LoRA weights over a bf16 model, since bf16's 8-bit mantissa would round
        # small AdamW steps away.
        device = lm.get_input_embeddings().weight.device
        self.register_buffer("_new_ids", torch.tensor(config.token_ids, device=device), persistent=False)
        self.in_rows = nn.Parameter(torch.zeros(len(SPECIAL_TOKENS), config.hidden, device=device))
        self.out_rows = nn.Parameter(torch.zeros(len(SPECIAL_TOKENS), config.hidden, device=device))
        self.out_bias = nn.Parameter(torch.zeros(len(SPECIAL_TOKENS), device=device))
        self.w_t = nn.Linear(config.hidden, config.sticker_dim, device=device)
        self.w_c = nn.Linear(config.image_dim, config.hidden, device=device)

    @property
    def device(self) -> torch.device:
        """The frozen model's device, where the trained parts and every batch go."""
        return self._new_ids.device

    @property
    def lm_dtype(self) -> torch.dtype:
        """What the frozen model computes in (its input embeddings' dtype; also under 4-bit)."""
        return self.lm.get_input_embeddings().weight.dtype

    @classmethod
    def create(
        cls,
        lm,
        tokenizer,
        *,
        backbone: str,
        sticker_embedder: str,
        sticker_dim: int,
        image_features: str,
        image_dim: int,
        lam: float = 1.0,
        temperature: float = 0.05,
        seed: int = 0,
        render: Callable[[list, bool], str] | None = None,
    ) -> RetModel:
        """A fresh model: adds the tokens to ``tokenizer``, rows initialised from related words."""
        token_ids = add_special_tokens(tokenizer)
        hidden = lm.get_input_embeddings().weight.shape[1]
        config = RetConfig(
            backbone=backbone,
            fingerprint=fingerprint(lm),
            hidden=hidden,
            vocab=lm.get_input_embeddings().weight.shape[0],
            token_ids=token_ids.all,
            sticker_embedder=sticker_embedder,
            sticker_dim=sticker_dim,
            image_features=image_features,
            image_dim=image_dim,
            lam=lam,
            temperature=temperature,
        )
        torch.manual_seed(seed)
        model = cls(lm, tokenizer, config, render=render)
        model.init_rows()
        return model

    @torch.no_grad()
    def init_rows(self) -> None:
        table = self.lm.get_input_embeddings().weight
        head = self.lm.get_output_embeddings().weight
        for i, token in enumerate(SPECIAL_TOKENS):
            words = self.tokenizer(INIT_WORDS[token], add_special_tokens=False)["input_ids"]
            words = [w for w in words if w < table.shape[0]] or [0]
            self.in_rows[i] = table[words].float().mean(0)
            self.out_rows[i] = head[words].float().mean(0)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [self.in_rows, self.out_rows, self.out_bias, *self.w_t.parameters(), *self.w_c.parameters()]

    def trained_state(self) -> dict[str, torch.Tensor]:
        """The trained parts only (what a checkpoint holds)."""
        return {
            "in_rows": self.in_rows.detach().cpu(),
            "out_rows": self.out_rows.detach().cpu(),
            "out_bias": self.out_bias.detach().cpu(),
            "w_t.weight": self.w_t.weight.detach().cpu(),
            "w_t.bias": self.w_t.bias.detach().cpu(),
            "w_c.weight": self.w_c.weight.detach().cpu(),
            "w_c.bias": self.w_c.bias.detach().cpu(),
        }

    @torch.no_grad()
    def load_trained_state(self, state: dict[str, torch.Tensor]) -> None:
        self.in_rows.copy_(state["in_rows"])
        self.out_rows.copy_(state["out_rows"])
        # Checkpoints written before the bias existed had none: zero is what they computed.
        self.out_bias.copy_(state.get("out_bias", torch.zeros_like(self.out_bias)))
        self.w_t.weight.copy_(state["w_t.weight"])
        self.w_t.bias.copy_(state["w_t.bias"])
        self.w_c.weight.copy_(state["w_c.weight"])
        self.w_c.bias.copy_(state["w_c.bias"])

    # --- forward ----------------------------------------------------------------------------

    def embed(self, input_ids: torch.Tensor, image_features: torch.Tensor | None = None) -> torch.Tensor:
        """The input embeddings of ``input_ids`` (on any device), on the model's device in its dtype."""
        table = self.lm.get_input_embeddings()
        input_ids = input_ids.to(self.device)
        real = input_ids.clamp(min=0)
        embeds = table(real.clamp(max=self.config.vocab - 1)).float()
        is_new = torch.isin(real, self._new_ids) & (input_ids >= 0)
        if is_new.any():
            rows = (real.unsqueeze(-1) == self._new_ids).float().argmax(-1)
            embeds = torch.where(is_new.unsqueeze(-1), self.in_rows[rows], embeds)
        slots = input_ids == IMAGE_SLOT
        if slots.any():
            if image_features is None or len(image_features) != int(slots.sum()):
                raise ValueError(
                    f"{int(slots.sum())} image slots but {0 if image_features is None else len(image_features)} image features"
                )
            projected = self.w_c(image_features.to(self.device, torch.float32))
            embeds = embeds.masked_scatter(slots.unsqueeze(-1), projected)
        return embeds.to(self.lm_dtype)

    def hidden_states(self, input_ids, attention_mask=None, image_features=None) -> torch.Tensor:
        """The frozen decoder's last hidden states, in float32 on the model's device."""
        decoder = self.lm.get_decoder()
        if attention_mask is not None:
            attention_mask = attention_mask.to(self.device)
        out = decoder(inputs_embeds=self.embed(input_ids, image_features), attention_mask=attention_mask)
        return out.last_hidden_state.float()

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Frozen head logits, widened to cover the new ids, with the new tokens' columns from out_rows."""
        base = self.lm.get_output_embeddings()(
            hidden.to(self.lm.get_output_embeddings().weight.dtype)
        ).float()
        width = max(base.shape[-1], max(self.config.token_ids) + 1)
        if width > base.shape[-1]:
            base = F.pad(base, (0, width - base.shape[-1]), value=float("-inf"))
        return base.index_copy(-1, self._new_ids, self.new_logits(hidden))

    def new_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The new tokens' logits (columns in SPECIAL_TOKENS order)."""
        return hidden @ self.out_rows.T + self.out_bias

    @property
    def ret_column(self) -> int:
        """Where ``<ret>`` is among ``new_logits``' columns."""
        return self.config.token_ids.index(self.ids.ret)

    def ret_embedding(self, hidden_at_ret: torch.Tensor) -> torch.Tensor:
        """The sticker-space query of ``<ret>`` hidden states (not normalised)."""
        return self.w_t(hidden_at_ret)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor,
        image_features: torch.Tensor | None = None,
        sticker_targets: torch.Tensor | None = None,
    ) -> RetOutput:
        """``sticker_targets``: one sticker embedding per ``<ret>`` that is a label (in order)."""
        input_ids, labels = input_ids.to(self.device), labels.to(self.device)
        hidden = self.hidden_states(input_ids, attention_mask, image_features)
        lm_loss = shifted_lm_loss(self.logits(hidden), labels)
        at_ret = (input_ids == self.ids.ret) & (labels != -100)
        queries = self.ret_embedding(hidden[at_ret])
        contrastive = torch.zeros((), device=hidden.device)
        if len(queries) > 1 and sticker_targets is not None:
            if len(sticker_targets) != len(queries):
                raise ValueError(f"{len(queries)} <ret> labels but {len(sticker_targets)} sticker targets")
            contrastive = info_nce(
                queries, sticker_targets.to(self.device, torch.float32), self.config.temperature
            )
        return RetOutput(lm_loss + self.config.lam * contrastive, lm_loss, contrastive, queries)
