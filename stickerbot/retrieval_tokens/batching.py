"""Examples -> token ids with labels on the reply, image slots, and sticker targets per <ret>."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from stickerbot.backbones.base import chat_template_render
from stickerbot.retrieval_tokens.data import Example, decision_of, load_templates, with_pret
from stickerbot.retrieval_tokens.tokens import IMAGE_SLOT, TokenIds

# Longer prompts are cut from the left of the user's message; replies are short.
MAX_TOKENS = 160


def conversation(prompt: str) -> list[dict]:
    """The messages a request is rendered from, in training and at inference alike. A short
    system line of our own: templates that add a default one otherwise (SmolLM2's is ~20
    tokens) would spend a third of every forward pass on it."""
    return [{"role": "system", "content": load_templates()["system"]}, {"role": "user", "content": prompt}]


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    images: list[str]  # sticker ids whose features fill the image slots, in order
    targets: list[str]  # sticker ids the labelled <ret> tokens retrieve, in order
    kind: str  # the Example's kind

    @property
    def decision(self) -> int:
        return decision_of(self.kind)


def encode(
    example: Example,
    tokenizer,
    ids: TokenIds,
    *,
    pret: bool,
    render: Callable[[list, bool], str] | None = None,
) -> Encoded:
    """The chat-template rendering of (user: prompt, assistant: reply); labels on the reply only.

    ``render``: the backbone's prompt text (``LocalLM.render``); by default ``tokenizer``'s chat template."""
    render = render or chat_template_render(tokenizer)
    prompt = with_pret(example.prompt, random.Random(0), 1.0) if pret else example.prompt
    user = conversation(prompt)
    head = render(user, True)
    full = render(user + [{"role": "assistant", "content": example.reply}], False)
    if not full.startswith(head):
        raise ValueError("the chat template renders the prompt differently inside a full conversation")
    head_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
    reply_ids = tokenizer(full[len(head) :], add_special_tokens=False)["input_ids"]
    # The image goes between <img> and </img>: one slot per image.
    expanded: list[int] = []
    for token in head_ids:
        expanded.append(token)
        if token == ids.img:
            expanded.append(IMAGE_SLOT)
    head_ids = (
        expanded[-(MAX_TOKENS - len(reply_ids)) :]
        if len(expanded) + len(reply_ids) > MAX_TOKENS
        else expanded
    )
    images = [example.image] * head_ids.count(IMAGE_SLOT) if example.image else []
    if head_ids.count(IMAGE_SLOT) and not example.image:
        raise ValueError(f"{example.kind} example has an image mark but no image: {example.prompt!r}")
    targets = [example.target] * reply_ids.count(ids.ret) if example.target else []
    return Encoded(head_ids + reply_ids, [-100] * len(head_ids) + reply_ids, images, targets, example.kind)


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    image_features: torch.Tensor | None
    sticker_targets: torch.Tensor | None


def collate(
    items: Sequence[Encoded],
    pad_id: int,
    vectors: Callable[[Sequence[str]], np.ndarray],
    image_features: Callable[[Sequence[str]], np.ndarray],
) -> Batch:
    """Right-pad a batch; look up the sticker vectors of the targets and the image features."""
    width = max(len(e.input_ids) for e in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    for i, e in enumerate(items):
        n = len(e.input_ids)
        ids[i, :n] = torch.tensor(e.input_ids)
        mask[i, :n] = 1
        labels[i, :n] = torch.tensor(e.labels)
    images = [s for e in items for s in e.images]
    targets = [s for e in items for s in e.targets]
    return Batch(
        ids,
        mask,
        labels,
        torch.from_numpy(np.asarray(image_features(images), dtype=np.float32)) if images else None,
        torch.from_numpy(np.asarray(vectors(targets), dtype=np.float32)) if targets else None,
    )


def distinct_target_batches(
    encoded: Sequence[Encoded], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Index batches in which no sticker is the target twice (InfoNCE treats every other row
    as a negative, so a repeated sticker would be pushed away from itself)."""
    return distinct_batches([set(e.targets) for e in encoded], batch_size, rng)


def distinct_batches(keys: Sequence[set[str]], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled index batches of at most ``batch_size`` whose ``keys`` never overlap."""
    order = list(range(len(keys)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    open_batches: list[tuple[list[int], set[str]]] = []
    for i in order:
        targets = keys[i]
        for batch, seen in open_batches:
            if len(batch) < batch_size and not (targets & seen):
                batch.append(i)
                seen |= targets
                break
        else:
            open_batches.append(([i], set(targets)))
        full = [b for b in open_batches if len(b[0]) == batch_size]
        for b in full:
            batches.append(b[0])
            open_batches.remove(b)
    batches.extend(b for b, _ in open_batches)
    return batches
