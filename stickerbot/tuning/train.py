"""LoRA supervised fine-tuning of the chat backbone on the dialogue memory.

    python -m stickerbot train chat                  # the default backbone: about 25 min on 2 cores
    python -m stickerbot train chat --steps 10       # a quick CPU-sized run
    python -m stickerbot train chat --out assets/checkpoints/chat-smollm2-135m   # how the shipped one is made
    STICKERBOT_BACKBONE=hf:/models/Qwen2.5-7B-Instruct python -m stickerbot train chat   # any local model
    STICKERBOT_BACKBONE=llava-1.5-7b-4bit python -m stickerbot train chat               # QLoRA on a GPU

peft LoRA on the linear layers (of the language model only, for LLaVA), trained on the
chat's own prompts (the intent and its strategy in the system prompt) with the loss on the
reply's tokens. A 4-bit backbone trains as QLoRA (peft's k-bit preparation). The run keeps
its state in ``<out>.train/`` (adapter, optimizer, step, losses) every ``save_every`` steps
and on Ctrl-C; running the same command again continues from there. When it finishes, the
adapter is written to ``<out>`` (default ``data/adapters/chat-<backbone>/``), where the chat
finds it and merges it into the weights at load.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from stickerbot.backbones.adapters import META_FILE, weights_fingerprint
from stickerbot.backbones.base import LocalLM
from stickerbot.errors import UserError
from stickerbot.tuning.data import (
    IGNORE,
    ChatExample,
    Encoded,
    batches,
    collate,
    data_hash,
    encode,
    reply_span,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatTuneConfig:
    # Measured on 2 CPU cores with SmolLM2-135M (fp32, batch 8, r 8 on every linear layer):
    # 13-14 s a step through all 30 layers; with the top 20 only, see the README for the time
    # of the shipped run. 130 steps (1,040 replies, about two thirds of an epoch of the English
    # exchanges) fit the 30-minute budget.
    steps: int = 130
    batch_size: int = 8
    lr: float = 1e-3
    warmup_steps: int = 10
    # The learning rate decays linearly to this share of lr by the last step.
    final_lr_share: float = 0.1
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    # Layers adapted (peft target_modules): every linear layer but the output head; a backbone
    # may narrow it (LLaVA: the language model only, by a regex).
    target_modules: tuple[str, ...] | str = "all-linear"
    # Only the top this many decoder layers get LoRA (None: all), so the backward pass stops
    # there: with 20 of SmolLM2's 30 layers a step costs about a quarter less, which buys more
    # steps in the time budget; the register of a reply is a matter of the upper layers.
    top_layers: int | None = 20
    # Longer examples lose their oldest history first.
    max_tokens: int = 192
    # Earlier exchanges of its conversation each example shows.
    max_history_pairs: int = 1
    save_every: int = 25
    # Share of conversations held out for the validation loss.
    heldout: float = 0.05
    seed: int = 0


@dataclass
class TuneResult:
    out: Path
    steps_done: int
    resumed_from: int
    losses: list[float] = field(default_factory=list)
    heldout_loss: float | None = None
    seconds: float = 0.0


def lr_at(step: int, config: ChatTuneConfig) -> float:
    """Linear warm-up, then linear decay to ``final_lr_share`` (pure)."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    done = min(1.0, (step - config.warmup_steps) / span)
    return config.lr * (1.0 - (1.0 - config.final_lr_share) * done)


def _replace_dir(tmp: Path, target: Path) -> None:
    """Move the finished folder ``tmp`` onto ``target``: a reader sees the old or the new one whole."""
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


class ChatTuner:
    def __init__(
        self,
        lm: LocalLM,
        train: Sequence[ChatExample],
        heldout: Sequence[ChatExample],
        *,
        backbone: str,
        out: Path,
        state_dir: Path,
        config: ChatTuneConfig | None = None,
        quantized: bool = False,
    ):
        """``out``: where the finished adapter goes; ``state_dir``: the run's resumable state."""
        self.lm = lm
        self.config = config or ChatTuneConfig()
        self.backbone = backbone
        self.out = Path(out)
        self.state_dir = Path(state_dir)
        self.quantized = quantized
        self.data_hash = data_hash(list(train) + list(heldout))
        self.base_fingerprint = weights_fingerprint(lm.model)
        self.train = self._encode(train)
        self.heldout = self._encode(heldout)
        if not self.train:
            raise UserError("no training examples fit in max_tokens; is the dialogue memory empty?")

    def _encode(self, examples: Sequence[ChatExample]) -> list[Encoded]:
        out = [
            encode(x, self.lm.render, self.lm.tokenizer, max_tokens=self.config.max_tokens) for x in examples
        ]
        return [x for x in out if x is not None]

    # --- model and state ----------------------------------------------------------------------

    def _peft_model(self):
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        c = self.config
        model = self.lm.model
        if self.quantized:
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        targets = c.target_modules if isinstance(c.target_modules, str) else list(c.target_modules)
        layers = None
        depth = getattr(model.config.get_text_config(), "num_hidden_layers", None)
        if c.top_layers and depth and c.top_layers < depth and targets == "all-linear":
            # peft takes a layer range only with module names, not "all-linear": name them.
            targets = linear_names(model)
            layers = list(range(depth - c.top_layers, depth))
        lora = LoraConfig(
            r=c.rank,
            lora_alpha=c.alpha,
            lora_dropout=c.dropout,
            target_modules=targets,
            layers_to_transform=layers,
            task_type="CAUSAL_LM",
        )
        return get_peft_model(model, lora)

    def _state(self) -> dict | None:
        path = self.state_dir / "state.json"
        if not path.is_file():
            return None
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("config") != _jsonable(asdict(self.config)) or state.get("data") != self.data_hash:
            raise UserError(
                f"{self.state_dir} holds a run with other settings or data; delete it to start again, "
                "or run with the same options"
            )
        if state.get("base_fingerprint") != self.base_fingerprint:
            raise UserError(f"{self.state_dir} holds a run on other base weights; delete it to start again")
        return state

    def _save_state(self, model, optimizer, step: int, losses: list[float]) -> None:
        import torch

        tmp = self.state_dir.with_name(f".{self.state_dir.name}.tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        model.save_pretrained(str(tmp / "adapter"))
        # The random state too: dropout masks after a resume are those of an uninterrupted run.
        torch.save({"optimizer": optimizer.state_dict(), "rng": torch.get_rng_state()}, tmp / "optimizer.pt")
        state = {
            "step": step,
            "losses": losses,
            "config": _jsonable(asdict(self.config)),
            "data": self.data_hash,
            "base_fingerprint": self.base_fingerprint,
            "backbone": self.backbone,
        }
        (tmp / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
        _replace_dir(tmp, self.state_dir)

    def _write_adapter(self, model, steps: int, heldout_loss: float | None, seconds: float) -> None:
        from safetensors.torch import load_file, save_file

        tmp = self.out.with_name(f".{self.out.name}.tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        model.save_pretrained(str(tmp))
        # peft's model-card template and the local path of the base weights say nothing true
        # about where the adapter will be used: the meta file below does.
        (tmp / "README.md").unlink(missing_ok=True)
        config_path = tmp / "adapter_config.json"
        adapter_config = json.loads(config_path.read_text(encoding="utf-8"))
        adapter_config["base_model_name_or_path"] = self.backbone
        config_path.write_text(json.dumps(adapter_config, indent=2), encoding="utf-8")
        # Half precision halves the file (a few MB to ship); the update is merged into fp32 weights.
        weights = tmp / "adapter_model.safetensors"
        save_file({k: v.half().contiguous() for k, v in load_file(str(weights)).items()}, str(weights))
        meta = {
            "backbone": self.backbone,
            "base_fingerprint": self.base_fingerprint,
            "steps": steps,
            "examples": len(self.train),
            "heldout_loss": heldout_loss,
            "train_seconds": round(seconds, 1),
            "config": _jsonable(asdict(self.config)),
            "data": self.data_hash,
            "complete": True,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        _replace_dir(tmp, self.out)

    # --- the loop ---------------------------------------------------------------------------

    def _loss(self, model, items: Sequence[Encoded]):
        """Mean cross-entropy over the reply tokens. The output head (a fifth of SmolLM2's weights,
        49k x 576) runs only on the positions that predict a reply token: most of each example
        is prompt, and logits there would be computed only to be thrown away."""
        import torch

        ids, mask, positions, labels = collate(items, self.pad_id)
        span = reply_span(labels)
        device = next(model.parameters()).device
        logits = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            logits_to_keep=span + 1,
        ).logits
        # The logit at position t predicts token t + 1: the kept positions but the last predict
        # the last ``span`` tokens.
        target = labels[:, -span:].to(device)
        return torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]).float(), target.reshape(-1), ignore_index=IGNORE
        )

    @property
    def pad_id(self) -> int:
        tok = self.lm.tokenizer
        return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def heldout_loss(self, model, limit: int = 64) -> float | None:
        import torch

        items = self.heldout[:limit]
        if not items:
            return None
        model.eval()
        with torch.no_grad():
            losses = [
                float(self._loss(model, items[i : i + self.config.batch_size]))
                for i in range(0, len(items), self.config.batch_size)
            ]
        model.train()
        return sum(losses) / len(losses)

    def run(self, *, progress: bool = True) -> TuneResult:
        import torch

        c = self.config
        start_time = time.perf_counter()
        torch.manual_seed(c.seed)
        state = self._state()
        model = self._peft_model()
        if state is not None:
            from peft import set_peft_model_state_dict
            from safetensors.torch import load_file

            set_peft_model_state_dict(
                model, load_file(str(self.state_dir / "adapter" / "adapter_model.safetensors"))
            )
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=c.lr, weight_decay=0.0)
        step = 0
        losses: list[float] = []
        if state is not None:
            saved = torch.load(self.state_dir / "optimizer.pt", weights_only=True)
            optimizer.load_state_dict(saved["optimizer"])
            torch.set_rng_state(saved["rng"])
            step, losses = state["step"], list(state["losses"])
        resumed_from = step
        per_epoch = math.ceil(len(self.train) / c.batch_size)
        model.train()
        bar = tqdm(total=c.steps, initial=step, desc="train chat (LoRA)", unit="step", disable=not progress)
        try:
            while step < c.steps:
                epoch, index = divmod(step, per_epoch)
                batch = [self.train[i] for i in batches(self.train, c.batch_size, epoch, c.seed)[index]]
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, c)
                loss = self._loss(model, batch)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                step += 1
                losses.append(round(float(loss.detach()), 4))
                bar.update(1)
                bar.set_postfix(loss=f"{sum(losses[-10:]) / len(losses[-10:]):.3f}")
                if step % c.save_every == 0 and step < c.steps:
                    self._save_state(model, optimizer, step, losses)
        except KeyboardInterrupt:
            self._save_state(model, optimizer, step, losses)
            bar.close()
            raise
        bar.close()
        self._save_state(model, optimizer, step, losses)
        heldout = self.heldout_loss(model)
        seconds = time.perf_counter() - start_time
        self._write_adapter(model, step, heldout, seconds)
        return TuneResult(self.out, step, resumed_from, losses[resumed_from:], heldout, seconds)


def linear_names(model) -> list[str]:
    """The names (last part) of the model's linear layers, but the output head's."""
    import torch

    output = model.get_output_embeddings()
    return sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and module is not output
        }
    )


def _jsonable(value):
    """Tuples as lists, so a config compares equal to itself after a JSON round trip."""
    return json.loads(json.dumps(value))
