"""Generation with retrieval tokens: greedy decoding with a KV cache, the ``<ret>`` query, and
the sticker it retrieves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from stickerbot.retrieval_tokens.batching import conversation
from stickerbot.retrieval_tokens.data import IMAGE_MARK
from stickerbot.retrieval_tokens.model import RetModel
from stickerbot.retrieval_tokens.tokens import IMAGE_SLOT, PRET, RET, SPECIAL_TOKENS


@dataclass
class RetGeneration:
    text: str  # special tokens removed
    token_ids: list[int]
    sent_ret: bool
    query: np.ndarray | None  # W_t(hidden at <ret>), L2-normalised, when <ret> was generated


def prompt_ids(model: RetModel, prompt: str, *, pret: bool = False, reply_prefix: str = "") -> list[int]:
    """The chat-template prompt (user message, then the assistant's turn opened), image slots placed."""
    text = f"{PRET}{prompt}" if pret else prompt
    rendered = model.render(conversation(text), True)
    ids = model.tokenizer(rendered + reply_prefix, add_special_tokens=False)["input_ids"]
    out: list[int] = []
    for token in ids:
        out.append(token)
        if token == model.ids.img:
            out.append(IMAGE_SLOT)
    return out


def end_of_turn_ids(model: RetModel) -> set[int]:
    """Tokens that end the reply: the tokenizer's EOS, the model's own end ids (GLM-4 ends a turn
    at ``<|user|>``), and ChatML's ``<|im_end|>`` where the vocabulary has it (SmolLM2)."""
    tokenizer = model.tokenizer
    ids = {tokenizer.eos_token_id}
    configured = model.lm.generation_config.eos_token_id
    ids |= set(configured) if isinstance(configured, list) else {configured}
    if "<|im_end|>" in tokenizer.get_vocab():
        ids.add(tokenizer.convert_tokens_to_ids("<|im_end|>"))
    return ids - {None}


def strip_special(text: str) -> str:
    """Reply text for a person: the retrieval tokens never show (even if the model spells them)."""
    for token in SPECIAL_TOKENS:
        text = text.replace(token, "")
    return " ".join(text.split())


@torch.inference_mode()
def generate(
    model: RetModel,
    prompt: str,
    *,
    image_features: np.ndarray | None = None,
    pret: bool = False,
    max_new_tokens: int = 32,
) -> RetGeneration:
    """Greedy reply to ``prompt`` (IMAGE_MARK where ``image_features`` go); stops at end of turn."""
    if IMAGE_MARK in prompt and image_features is None:
        raise ValueError("the prompt has an image mark but no image features were given")
    ids = prompt_ids(model, prompt, pret=pret)
    feats = (
        torch.as_tensor(np.asarray(image_features, dtype=np.float32)).reshape(-1, model.config.image_dim)
        if image_features is not None
        else None
    )
    decoder = model.lm.get_decoder()
    stop = end_of_turn_ids(model)
    out = decoder(inputs_embeds=model.embed(torch.tensor([ids]), feats), use_cache=True)
    past, hidden = out.past_key_values, out.last_hidden_state[:, -1].float()
    generated: list[int] = []
    query = None
    for _ in range(max_new_tokens):
        token = int(model.logits(hidden)[0].argmax())
        if token in stop:
            break
        generated.append(token)
        out = decoder(
            inputs_embeds=model.embed(torch.tensor([[token]])), past_key_values=past, use_cache=True
        )
        past, hidden = out.past_key_values, out.last_hidden_state[:, -1].float()
        if token == model.ids.ret and query is None:
            # The hidden state after reading <ret> is the retrieval query (as in training).
            query = F.normalize(model.ret_embedding(hidden), dim=-1)[0].detach().float().cpu().numpy()
    text = model.tokenizer.decode(generated, skip_special_tokens=False)
    return RetGeneration(strip_special(text), generated, model.ids.ret in generated, query)


@torch.inference_mode()
def ret_query(
    model: RetModel, prompt: str, *, reply: str = RET, image_features: np.ndarray | None = None
) -> np.ndarray:
    """The ``<ret>`` query when the reply is given (teacher-forced up to and including ``<ret>``):
    measures retrieval by itself, whether or not the model would have chosen to send."""
    ids = prompt_ids(model, prompt, reply_prefix=reply)
    if ids[-1] != model.ids.ret:
        raise ValueError(f"the reply must end with <ret>: {reply!r}")
    feats = (
        torch.as_tensor(np.asarray(image_features, dtype=np.float32)).reshape(-1, model.config.image_dim)
        if image_features is not None
        else None
    )
    hidden = model.hidden_states(torch.tensor([ids]), None, feats)[0, -1]
    return F.normalize(model.ret_embedding(hidden), dim=-1).detach().float().cpu().numpy()


def rank_stickers(query: np.ndarray, sticker_ids: list[str], vectors: np.ndarray, k: int = 10) -> list[str]:
    """Sticker ids by cosine to ``query`` (rows of ``vectors`` are L2-normalised)."""
    scores = vectors @ query
    top = np.argsort(-scores)[:k]
    return [sticker_ids[i] for i in top]
