"""The training loop: AdamW on the new rows, W_t and W_c; checkpoints as it goes; resumable.

    python -m stickerbot train ret             # the default CPU backbone (16 min on 2 cores)
    python -m stickerbot train ret --steps 10  # a quick CPU-sized run

Three phases: W_t fitted on cached <ret> states (retrieval_tokens.heads); gradient steps of
LM loss + lambda x InfoNCE through the frozen model, which train the input rows and W_c
(W_t at a small rate); then W_t and the output rows refitted on states cached with the
trained input side.

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
from stickerbot.errors import UserError
from stickerbot.retrieval_tokens.batching import Encoded, collate, distinct_target_batches, encode
from stickerbot.retrieval_tokens.checkpoint import read_checkpoint, save_checkpoint
from stickerbot.retrieval_tokens.data import Example
from stickerbot.retrieval_tokens.heads import HeadCache, collect, fit_out_rows, fit_w_t
from stickerbot.retrieval_tokens.model import RetModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    # Gradient steps through the frozen model (they train the input rows and W_c, which
    # nothing cheaper can reach): ~6 s each at batch 8 on 2 CPU cores.
    steps: int = 50
    batch_size: int = 8
    lr: float = 2e-3
    # W_t moves at lr x this during the steps: with ~5 pairs per step, full-rate AdamW
    # undid the fitted map (held-out English MR 26.0 -> 2.1 after 200 steps). W_t is
    # refitted on cached states at the end anyway.
    w_t_lr_scale: float = 0.05
    # Share of examples whose user message starts with <pret>.
    pret_probability: float = 0.5
    checkpoint_every: int = 25
    seed: int = 0
    # Before the steps, W_t is fitted on the cached <ret> states of this many examples, so the
    # steps' InfoNCE pushes the input rows in a meaningful direction from the first step.
    probe_examples: int = 1000
    # After the steps, W_t and the output rows are refitted on cached states, with the trained
    # input side (see retrieval_tokens.heads): W_t on up to w_t_examples examples of
    # w_t_kinds, the output rows on refit_examples examples of every kind.
    refit_examples: int = 3000
    w_t_examples: int = 3000
    # The examples W_t is fitted on. Text requests only: W_t is one linear map, and states of
    # image requests and of dialogue turns (whose sticker was a person's free choice) pulled
    # it away from what a typed request means (see the README's measurements).
    w_t_kinds: tuple[str, ...] = ("text_to_sticker",)
    # InfoNCE epochs on the cached states after W_t's ridge start (heads.fit_w_t). Off: on
    # the dev queries they lowered English MR 20.0 -> 12.6 and Chinese 14.6 -> 5.6; they fit
    # the training requests' wording, and people phrase queries otherwise.
    head_epochs: int = 0
    # Weight of the class-balanced send-decision loss in the output rows' refit (heads.py).
    decision_weight: float = 1.0


@dataclass
class TrainResult:
    steps_done: int
    resumed_from: int
    losses: list[tuple[float, float]]  # (lm, contrastive) per step run now
    checkpoint: Path
    heads: dict | None = None  # the final refit's report, when it ran now


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
            encode(
                e,
                model.tokenizer,
                model.ids,
                pret=rng.random() < self.config.pret_probability,
                render=model.render,
            )
            for e in examples
        ]
        cfg = self.config
        others = [p for p in model.trainable_parameters() if all(p is not q for q in model.w_t.parameters())]
        self.optimizer = torch.optim.AdamW(
            [
                {"params": others, "lr": cfg.lr},
                {"params": list(model.w_t.parameters()), "lr": cfg.lr * cfg.w_t_lr_scale},
            ],
            weight_decay=0.0,
        )

    def _resume(self) -> tuple[int, bool]:
        """(the step to continue from, whether the heads were already refitted after the steps)."""
        if not self.checkpoint.exists():
            return 0, False
        config, tensors, extra = read_checkpoint(self.checkpoint)
        if (
            config.token_ids != self.model.config.token_ids
            or config.fingerprint != self.model.config.fingerprint
        ):
            raise UserError(f"{self.checkpoint} belongs to another model; move it away to start afresh")
        self.model.load_trained_state(tensors)
        optimizer_path = _optimizer_path(self.checkpoint)
        step = int(extra.get("step", 0))
        if optimizer_path.exists() and extra.get("optimizer_step") == step:
            try:
                self.optimizer.load_state_dict(torch.load(optimizer_path, weights_only=True))
            except ValueError as exc:  # saved by a version with other trained parts
                log.warning(
                    "%s does not fit this model (%s): continuing with a fresh optimizer", optimizer_path, exc
                )
        log.info("resuming %s at step %d", self.checkpoint, step)
        return step, bool(extra.get("refitted", False))

    def save(self, step: int, *, refitted: bool = False, heads: dict | None = None) -> None:
        extra = {"step": step, "optimizer_step": step, "refitted": refitted, "train": asdict(self.config)}
        if heads:
            extra["heads"] = heads
        # Optimizer first: a crash between the two leaves a checkpoint whose optimizer_step
        # does not match, and a resume then starts a fresh optimizer rather than a wrong one.
        _save_optimizer(self.optimizer, _optimizer_path(self.checkpoint))
        save_checkpoint(self.model, self.checkpoint, extra=extra)

    def _sample(self, n: int, *, for_w_t: bool, text_only: bool = False) -> list[Encoded]:
        """A seeded sample of ``n`` training examples: of every kind, or those W_t is fitted on
        (``w_t_kinds``; without images, if ``text_only``)."""
        pool = list(self.encoded)
        if for_w_t:
            kinds = set(self.config.w_t_kinds)
            pool = [e for e in pool if e.targets and e.kind in kinds and not (text_only and e.images)]
        rng = random.Random(self.config.seed + 1)
        return pool if len(pool) <= n else rng.sample(pool, n)

    def _cache(self, items: Sequence[Encoded], progress: bool, *, lm_positions: bool = True) -> HeadCache:
        return collect(
            self.model,
            items,
            pad_id=self.pad_id,
            vectors=self.vectors,
            image_features=self.image_features,
            batch_size=2 * self.config.batch_size,
            progress=progress,
            lm_positions=lm_positions,
        )

    def _fit_w_t(self, items: Sequence[Encoded], progress: bool) -> dict:
        """W_t fitted on the cached <ret> states of ``items`` (a ``_sample(for_w_t=True)``)."""
        report: dict = {"kinds": sorted(self.config.w_t_kinds), "pairs": 0}
        if items:
            cache = self._cache(items, progress, lm_positions=False)
            report.update(
                fit_w_t(
                    self.model, cache, self.vectors, epochs=self.config.head_epochs, seed=self.config.seed
                )
            )
        return report

    def fit_w_t(self, *, progress: bool = False) -> dict:
        """W_t fitted on the cached <ret> states of ``probe_examples`` examples without images
        (the image slots are not trained yet); returns the fit's report."""
        return self._fit_w_t(self._sample(self.config.probe_examples, for_w_t=True, text_only=True), progress)

    def refit_heads(self, *, progress: bool = False) -> dict:
        """W_t and the output rows refitted on cached states of the trained input side."""
        report = self._fit_w_t(self._sample(self.config.w_t_examples, for_w_t=True), progress)
        cache = self._cache(self._sample(self.config.refit_examples, for_w_t=False), progress)
        report["output_rows"] = fit_out_rows(self.model, cache, decision_weight=self.config.decision_weight)
        return report

    def run(self, *, progress: bool = True) -> TrainResult:
        from tqdm.auto import tqdm

        start, refitted = self._resume()
        refitted = refitted and start >= self.config.steps  # more steps make the refit stale
        if start == 0 and self.config.probe_examples > 0:
            log.info("W_t before the steps: %s", self.fit_w_t(progress=progress))
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
        heads = None
        if not refitted:
            self.save(step)  # the steps are kept even if the refit is interrupted
            heads = self.refit_heads(progress=progress)
            log.info("heads refitted: %s", heads)
            self.save(step, refitted=True, heads=heads)
        self.model.eval()
        return TrainResult(step, start, losses, self.checkpoint, heads)
