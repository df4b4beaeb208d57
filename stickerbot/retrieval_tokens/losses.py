"""Losses of retrieval-token training (pure functions of tensors)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def info_nce(queries: torch.Tensor, targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP's loss; van den Oord et al. 2018, Radford et al. 2021).

    Row i of ``queries`` (the ``<ret>`` embeddings) should match row i of ``targets`` (the
    stickers' embeddings) better than every other row in the batch, and the other way
    round: the mean of the text->sticker and sticker->text cross-entropies over cosine
    similarities divided by ``temperature``. Rows must be distinct stickers.
    """
    if queries.shape != targets.shape:
        raise ValueError(f"queries {tuple(queries.shape)} and targets {tuple(targets.shape)} differ")
    q = F.normalize(queries, dim=-1)
    t = F.normalize(targets, dim=-1)
    logits = q @ t.T / temperature
    labels = torch.arange(len(q), device=q.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def shifted_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy: position t predicts labels[t + 1]; -100 is ignored."""
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100
    )
