"""The training loop: AdamW on the new rows, W_t and W_c; checkpoints as it goes; resumable.

    python -m stickerbot train ret        # the default CPU backbone: W_t fit on 2,000 states, then 200 steps (~25 min on 2 cores)

A checkpoint is written every ``checkpoint_every`` steps (atomically, with the step and the
optimizer's state beside it), on Ctrl-C, and at the end; running the same command again
continues from the last one.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from stickerbot.atomic import atomic_path
from stickerbot.retrieval_tokens.batching import Encoded, collate, distinct_target_batches, encode
from stickerbot.retrieval_tokens.checkpoint import read_checkpoint, save_checkpoint
from stickerbot.retrieval_tokens.data import Example
from stickerbot.retrieval_tokens.model import RetModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200
    batch_size: int = 8
    lr: float = 2e-3
    # Share of examples whose user message starts with <pret>.
    pret_probability: float = 0.5
    checkpoint_every: int = 25
    seed: int = 0
    # W_t starts as the ridge-regression map from <ret> hidden states to the stickers'
    # vectors over this many examples (forward passes only): with ~5 pairs per step, SGD
    # alone sees too few pairs in a CPU-sized run to learn a 576 x 384 map from scratch.
    # Measured on SmolLM2 before any step (held-out queries, English MR): 512 states with
    # ridge 1 gave 9.0, 2,000 with ridge 10 gave 26.0; in-batch InfoNCE alone was at
    # chance (1.9) after 50 steps.
    probe_examples: int = 2000
    ridge: float = 10.0


@dataclass
class TrainResult:
    steps_done: int
    resumed_from: int
    losses: list[tuple[float, float]]  # (lm, contrastive) per step run now
    checkpoint: Path


def _optimizer_path(checkpoint: Path) -> Path:
    return checkpoint.with_suffix(".optimizer.pt")


def _save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(optimizer.state_dict(), tmp)


class RetTrainer:
    def __init__(
        self,
        model: RetModel,
        examples: Sequence[Example],
        *,
        vectors: Callable[[Sequence[str]], np.ndarray],
        image_features: Callable[[Sequence[str]], np.ndarray],
        checkpoint: str | Path,
        config: TrainConfig | None = None,
    ):
        self.model = model
        self.config = config or TrainConfig()
        self.vectors = vectors
        self.image_features = image_features
        self.checkpoint = Path(checkpoint)
        rng = random.Random(self.config.seed)
        pad = model.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else model.tokenizer.eos_token_id
        self.encoded: list[Encoded] = [
            encode(e, model.tokenizer, model.ids, pret=rng.random() < self.config.pret_probability)
            for e in examples
        ]
        self.optimizer = torch.optim.AdamW(model.trainable_parameters(), lr=self.config.lr, weight_decay=0.0)

    def _resume(self) -> int:
        if not self.checkpoint.exists():
            return 0
        config, tensors, extra = read_checkpoint(self.checkpoint)
        if (
            config.token_ids != self.model.config.token_ids
            or config.fingerprint != self.model.config.fingerprint
        ):
            raise ValueError(f"{self.checkpoint} belongs to another model; move it away to start afresh")
        self.model.load_trained_state(tensors)
        optimizer_path = _optimizer_path(self.checkpoint)
        step = int(extra.get("step", 0))
        if optimizer_path.exists() and extra.get("optimizer_step") == step:
            self.optimizer.load_state_dict(torch.load(optimizer_path, weights_only=True))
        log.info("resuming %s at step %d", self.checkpoint, step)
        return step

    def save(self, step: int) -> None:
        extra = {"step": step, "optimizer_step": step, "train": asdict(self.config)}
        # Optimizer first: a crash between the two leaves a checkpoint whose optimizer_step
        # does not match, and a resume then starts a fresh optimizer rather than a wrong one.
        _save_optimizer(self.optimizer, _optimizer_path(self.checkpoint))
        save_checkpoint(self.model, self.checkpoint, extra=extra)

    @torch.no_grad()
    def fit_w_t(self, *, progress: bool = False) -> int:
        """Set W_t to the ridge solution on <ret> hidden states; returns the pairs used."""
        from tqdm.auto import tqdm

        cfg = self.config
        chosen = [e for e in self.encoded if e.targets][: cfg.probe_examples]
        if not chosen:
            return 0
        hidden_rows, target_rows = [], []
        step = 2 * cfg.batch_size
        for i in tqdm(range(0, len(chosen), step), desc="fitting W_t", unit="batch", disable=not progress):
            batch = collate(chosen[i : i + step], self.pad_id, self.vectors, self.image_features)
            hidden = self.model.hidden_states(batch.input_ids, batch.attention_mask, batch.image_features)
            at_ret = (batch.input_ids == self.model.ids.ret) & (batch.labels != -100)
            hidden_rows.append(hidden[at_ret])
            target_rows.append(torch.nn.functional.normalize(batch.sticker_targets, dim=-1))
        h = torch.cat(hidden_rows).double()
        t = torch.cat(target_rows).double()
        h = torch.cat([h, torch.ones(len(h), 1, dtype=h.dtype)], dim=1)  # the bias column
        gram = h.T @ h + cfg.ridge * torch.eye(h.shape[1], dtype=h.dtype)
        solution = torch.linalg.solve(gram, h.T @ t)
        self.model.w_t.weight.copy_(solution[:-1].T.float())
        self.model.w_t.bias.copy_(solution[-1].float())
        return len(h)

    def run(self, *, progress: bool = True) -> TrainResult:
        from tqdm.auto import tqdm

        start = self._resume()
        if start == 0 and self.config.probe_examples > 0:
            pairs = self.fit_w_t(progress=progress)
            log.info("W_t initialised by ridge regression on %d <ret> states", pairs)
        cfg = self.config
        rng = random.Random(cfg.seed)
        order: list[list[int]] = []
        # The batch order is a function of the seed alone, so a resumed run sees the same batches.
        while len(order) < cfg.steps:
            order.extend(distinct_target_batches(self.encoded, cfg.batch_size, rng))
        losses: list[tuple[float, float]] = []
        step = start
        bar = tqdm(total=cfg.steps, initial=start, desc="training <ret>", unit="step", disable=not progress)
        self.model.train()
        self.model.lm.eval()  # frozen: no dropout in the base model
        try:
            for step in range(start, cfg.steps):
                batch = collate(
                    [self.encoded[i] for i in order[step]], self.pad_id, self.vectors, self.image_features
                )
                out = self.model(
                    batch.input_ids,
                    batch.attention_mask,
                    batch.labels,
                    batch.image_features,
                    batch.sticker_targets,
                )
                self.optimizer.zero_grad(set_to_none=True)
                out.loss.backward()
                self.optimizer.step()
                losses.append((out.lm_loss.item(), out.contrastive_loss.item()))
                bar.update(1)
                bar.set_postfix(lm=f"{losses[-1][0]:.3f}", nce=f"{losses[-1][1]:.3f}")
                if (step + 1) % cfg.checkpoint_every == 0:
                    self.save(step + 1)
            step = cfg.steps
        except KeyboardInterrupt:
            log.warning("interrupted: saving the checkpoint at step %d; run again to continue", step)
            self.save(step)
            bar.close()
            raise
        bar.close()
        self.save(step)
        self.model.eval()
        return TrainResult(step, start, losses, self.checkpoint)
