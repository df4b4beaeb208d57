"""Fitting W_t and the output rows on cached hidden states of the frozen model.

With the input rows and W_c held fixed, the hidden states no longer depend on anything
being trained: one forward pass per example caches them, and then

- W_t is the ridge-regression map of the states to the stickers' vectors, optionally
  followed by epochs of the same symmetric InfoNCE as the gradient steps, over batches of
  hundreds of distinct stickers instead of the ~5 a CPU-sized step holds, keeping the epoch
  (0 is the ridge map) that best retrieves a split of training stickers kept aside. The
  ridge start matters: the final hidden states have a few dimensions of huge magnitude, and
  AdamW from a random map ended far below the ridge map (dev English MR 5.2 vs 18.5). The
  training run uses no epochs (TrainConfig.head_epochs says why);
- the output rows and their bias are trained with the exact LM loss (the new tokens' logits
  are ``hidden @ out_rows.T + out_bias``, and the frozen head's part of the softmax is
  cached as one log-sum-exp per position) plus a class-balanced logistic loss on the send
  decision: the ``<ret>`` logit minus the best other one at a reply's first position. The LM
  loss alone, on a mix where ~70% of replies send, made ``<ret>`` the first choice on nearly
  every message: a flat first-word distribution loses to a modest ``<ret>`` probability.

Both take seconds, so every example is used, where a backward pass through the whole model
costs ~0.8 s per example on 2 CPU cores.
"""

from __future__ import annotations

import logging
import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from stickerbot.retrieval_tokens.batching import Encoded, collate, distinct_batches
from stickerbot.retrieval_tokens.losses import info_nce
from stickerbot.retrieval_tokens.model import RetModel

log = logging.getLogger(__name__)


@dataclass
class HeadCache:
    """What the heads see, computed once with the input side frozen."""

    ret_hidden: torch.Tensor  # (n <ret> labels, hidden): the states W_t maps
    ret_targets: list[str]  # the sticker each of them must retrieve
    hidden: torch.Tensor  # (n labelled positions, hidden): states that predict a reply token
    frozen_lse: torch.Tensor  # (n,): log-sum-exp of the frozen head's logits there (new ids left out)
    frozen_target: torch.Tensor  # (n,): the frozen logit of the next token, or -inf when it is new
    new_target: torch.Tensor  # (n,): the next token's row among the new tokens, or -1
    frozen_max: torch.Tensor  # (n,): the best frozen logit there (new ids left out)
    # (n,): at a reply's first position, +1 if it should open with <ret>, -1 if not (see
    # data.decision_of); 0 elsewhere.
    decision: torch.Tensor


@torch.no_grad()
def collect(
    model: RetModel,
    encoded: Sequence[Encoded],
    *,
    pad_id: int,
    vectors: Callable[[Sequence[str]], np.ndarray],
    image_features: Callable[[Sequence[str]], np.ndarray],
    batch_size: int = 16,
    progress: bool = False,
    lm_positions: bool = True,
) -> HeadCache:
    """``lm_positions=False`` caches the ``<ret>`` states only (enough for W_t), skipping the
    frozen head over every reply position."""
    from tqdm.auto import tqdm

    # Shortest first: a batch is padded to its longest member, and the forward passes are
    # nearly all of the time. The order does not matter to anything fitted on the cache.
    encoded = sorted(encoded, key=lambda e: len(e.input_ids))
    # The forward passes run on the model's device; the cache is kept in CPU memory (thousands
    # of examples' states would crowd a GPU holding a 7B model) and the heads are fitted there.
    new_ids = model._new_ids.cpu()
    ret_hidden, ret_targets = [], []
    hidden_rows, lse_rows, frozen_rows, new_rows, max_rows, decision_rows = [], [], [], [], [], []
    head = model.lm.get_output_embeddings()
    vocab = head.weight.shape[0]
    in_base = new_ids[new_ids < vocab]
    for i in tqdm(
        range(0, len(encoded), batch_size), desc="caching states", unit="batch", disable=not progress
    ):
        items = encoded[i : i + batch_size]
        batch = collate(items, pad_id, vectors, image_features)
        hidden = model.hidden_states(batch.input_ids, batch.attention_mask, batch.image_features)
        at_ret = (batch.input_ids == model.ids.ret) & (batch.labels != -100)
        ret_hidden.append(hidden[at_ret.to(hidden.device)].cpu())
        ret_targets.extend(t for e in items for t in e.targets)
        if not lm_positions:
            continue
        # Position t predicts labels[t + 1]; the first of them chooses whether to send.
        predicts = batch.labels[:, 1:] != -100
        first = predicts & ~F.pad(predicts[:, :-1], (1, 0), value=False)
        decides = torch.tensor([e.decision for e in items])[:, None] * first
        # A sticker-sending dialogue turn's first token teaches nothing about sending (see
        # data.decision_of): it is left out of the LM loss too.
        keep = predicts & ~(first & (decides == 0))
        h = hidden[:, :-1][keep.to(hidden.device)]
        nxt = batch.labels[:, 1:][keep]
        decision_rows.append(decides[keep])
        logits = head(h.to(head.weight.dtype)).float().cpu()
        h = h.cpu()
        if len(in_base):
            logits[:, in_base] = float("-inf")  # a new id inside the table is scored by out_rows
        is_new = torch.isin(nxt, new_ids)
        frozen = torch.full((len(nxt),), float("-inf"))
        frozen[~is_new] = logits[~is_new].gather(1, nxt[~is_new, None]).squeeze(1)
        row = torch.full((len(nxt),), -1, dtype=torch.long)
        row[is_new] = (nxt[is_new, None] == new_ids).float().argmax(1)
        hidden_rows.append(h)
        lse_rows.append(torch.logsumexp(logits, dim=-1))
        max_rows.append(logits.max(dim=-1).values)
        frozen_rows.append(frozen)
        new_rows.append(row)
    return HeadCache(
        torch.cat(ret_hidden) if ret_hidden else torch.zeros(0, model.config.hidden),
        ret_targets,
        torch.cat(hidden_rows) if hidden_rows else torch.zeros(0, model.config.hidden),
        torch.cat(lse_rows) if lse_rows else torch.zeros(0),
        torch.cat(frozen_rows) if frozen_rows else torch.zeros(0),
        torch.cat(new_rows) if new_rows else torch.zeros(0, dtype=torch.long),
        torch.cat(max_rows) if max_rows else torch.zeros(0),
        torch.cat(decision_rows) if decision_rows else torch.zeros(0, dtype=torch.long),
    )


def cached_lm_loss(
    out_rows: torch.Tensor, out_bias: torch.Tensor, cache: HeadCache, index: torch.Tensor | None = None
) -> torch.Tensor:
    """The shifted LM cross-entropy of ``RetModel.forward`` on the cached positions."""
    sel = slice(None) if index is None else index
    h, lse, frozen, row = (
        cache.hidden[sel],
        cache.frozen_lse[sel],
        cache.frozen_target[sel],
        cache.new_target[sel],
    )
    new = h @ out_rows.T + out_bias
    total = torch.logaddexp(lse, torch.logsumexp(new, dim=-1))
    target = torch.where(row >= 0, new.gather(1, row.clamp(min=0)[:, None]).squeeze(1), frozen)
    return (total - target).mean()


def send_margin(
    out_rows: torch.Tensor, out_bias: torch.Tensor, cache: HeadCache, index: torch.Tensor, ret_column: int
) -> torch.Tensor:
    """The ``<ret>`` logit minus the best other token's at the cached positions ``index``:
    positive where greedy decoding emits ``<ret>``."""
    new = cache.hidden[index] @ out_rows.T + out_bias
    ret = new[:, ret_column]
    others = new.index_fill(1, torch.tensor([ret_column]), float("-inf")).max(dim=1).values
    return ret - torch.maximum(others, cache.frozen_max[index])


def balanced_decision_loss(margin: torch.Tensor, decision: torch.Tensor) -> torch.Tensor:
    """Logistic loss on the send margin, the two classes weighted equally."""
    losses = []
    for sign in (1, -1):
        chosen = margin[decision == sign]
        if len(chosen):
            losses.append(F.softplus(-sign * chosen).mean())
    return torch.stack(losses).mean() if losses else margin.sum() * 0.0


def decision_accuracy(margin: torch.Tensor, decision: torch.Tensor) -> dict:
    """The when-to-send shares (as ``eval tools`` reports them) of first positions."""
    ordinary, requests = margin[decision == -1], margin[decision == 1]
    return {
        "ordinary_n": len(ordinary),
        "ordinary_without_ret": round(float((ordinary <= 0).float().mean()), 4) if len(ordinary) else None,
        "requests_n": len(requests),
        "requests_with_ret": round(float((requests > 0).float().mean()), 4) if len(requests) else None,
    }


def fit_out_rows(
    model: RetModel,
    cache: HeadCache,
    *,
    steps: int = 300,
    lr: float = 5e-3,
    batch: int = 4096,
    decision_weight: float = 1.0,
    aside_every: int = 10,
) -> dict:
    """Adam on the output rows and bias: cached LM loss + ``decision_weight`` x the balanced
    send-decision loss. Every ``aside_every``-th first position is kept out of both and
    reports the when-to-send shares the fit reaches on examples it did not see."""
    # Fitted on the CPU, beside the cache; copy_ puts the result on the model's device.
    rows = model.out_rows.detach().cpu().clone().requires_grad_(True)
    bias = model.out_bias.detach().cpu().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([rows, bias], lr=lr)
    generator = torch.Generator().manual_seed(0)
    deciding = torch.nonzero(cache.decision != 0).squeeze(1)
    aside = deciding[::aside_every] if aside_every and len(deciding) >= 2 * aside_every else deciding[:0]
    used = torch.ones(len(cache.hidden), dtype=torch.bool)
    used[aside] = False
    lm_pool = torch.nonzero(used).squeeze(1)
    fit_deciding = deciding[used[deciding]]
    column = model.ret_column
    for _ in range(steps):
        index = lm_pool[torch.randint(len(lm_pool), (min(batch, len(lm_pool)),), generator=generator)]
        loss = cached_lm_loss(rows, bias, cache, index)
        if decision_weight and len(fit_deciding):
            margin = send_margin(rows, bias, cache, fit_deciding, column)
            loss = loss + decision_weight * balanced_decision_loss(margin, cache.decision[fit_deciding])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        model.out_rows.copy_(rows)
        model.out_bias.copy_(bias)
        report = {"lm_loss": round(float(cached_lm_loss(rows, bias, cache, lm_pool)), 4)}
        report["fit"] = decision_accuracy(
            send_margin(rows, bias, cache, fit_deciding, column), cache.decision[fit_deciding]
        )
        if len(aside):
            report["aside"] = decision_accuracy(
                send_margin(rows, bias, cache, aside, column), cache.decision[aside]
            )
    log.info("output rows: %s", report)
    return report


def _kept_aside(sticker_id: str, share: float) -> bool:
    return zlib.crc32(("heads:" + sticker_id).encode("utf-8")) % 1000 < share * 1000


def _recall_at_10(queries: torch.Tensor, targets: list[str], ids: list[str], library: torch.Tensor) -> float:
    position = {s: i for i, s in enumerate(ids)}
    top = (F.normalize(queries, dim=-1) @ library.T).topk(min(10, len(ids)), dim=-1).indices
    want = torch.tensor([position[t] for t in targets])
    return float((top == want[:, None]).any(1).float().mean())


def ridge_map(hidden: torch.Tensor, targets: torch.Tensor, ridge: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) minimising |W h + b - t|^2 + ridge |W|^2, solved in float64."""
    h = torch.cat([hidden.double(), torch.ones(len(hidden), 1, dtype=torch.float64)], dim=1)
    penalty = ridge * torch.eye(h.shape[1], dtype=torch.float64)
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    solution = torch.linalg.solve(h.T @ h + penalty, h.T @ targets.double())
    return solution[:-1].T.float(), solution[-1].float()


def fit_w_t(
    model: RetModel,
    cache: HeadCache,
    vectors: Callable[[Sequence[str]], np.ndarray],
    *,
    epochs: int = 0,
    batch: int = 256,
    lr: float = 1e-4,
    weight_decay: float = 0.0,
    ridge: float = 10.0,
    validation_share: float = 0.1,
    seed: int = 0,
) -> dict:
    """The ridge map, then symmetric InfoNCE on the cached ``<ret>`` states; keeps the epoch
    whose held-aside stickers are best retrieved (recall@10 among all the training stickers)."""
    targets, states = cache.ret_targets, cache.ret_hidden
    if len(targets) < 2:
        return {"pairs": len(targets)}
    distinct = sorted(set(targets))
    library = F.normalize(torch.from_numpy(np.asarray(vectors(distinct), dtype=np.float32)), dim=-1)
    row_of = {s: i for i, s in enumerate(distinct)}
    aside = [i for i, t in enumerate(targets) if _kept_aside(t, validation_share)]
    train = [i for i, t in enumerate(targets) if not _kept_aside(t, validation_share)]
    if not aside or len(train) < 2:
        aside, train = [], list(range(len(targets)))
    w_t = torch.nn.Linear(model.w_t.in_features, model.w_t.out_features)
    goals = library[torch.tensor([row_of[targets[i]] for i in train])]
    weight, bias = ridge_map(states[train], goals, ridge)
    with torch.no_grad():
        w_t.weight.copy_(weight)
        w_t.bias.copy_(bias)
    optimizer = torch.optim.AdamW(w_t.parameters(), lr=lr, weight_decay=weight_decay)
    rng = random.Random(seed)
    train_targets = [targets[i] for i in train]

    def score() -> float:
        if not aside:
            return 0.0
        with torch.no_grad():
            return _recall_at_10(w_t(states[aside]), [targets[i] for i in aside], distinct, library)

    best, best_state, best_epoch = score(), {k: v.clone() for k, v in w_t.state_dict().items()}, 0
    for epoch in range(1, epochs + 1):
        for rows in distinct_batches([{t} for t in train_targets], batch, rng):
            if len(rows) < 2:
                continue  # one pair has no negative
            index = torch.tensor([train[r] for r in rows])
            goal = library[torch.tensor([row_of[targets[i]] for i in index.tolist()])]
            loss = info_nce(w_t(states[index]), goal, model.config.temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        current = score()
        if current > best or not aside:
            best, best_state, best_epoch = current, {k: v.clone() for k, v in w_t.state_dict().items()}, epoch
    with torch.no_grad():
        model.w_t.load_state_dict(best_state)
    log.info(
        "W_t: %d pairs, best epoch %d, recall@10 of held-aside stickers %.3f", len(targets), best_epoch, best
    )
    return {
        "pairs": len(targets),
        "epoch": best_epoch,
        "aside_recall_at_10": round(best, 4),
        "aside": len(aside),
    }
