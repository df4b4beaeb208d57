"""Retrieval tokens on a tiny random Llama: shapes, gradient masking, checkpoints, learning."""

from __future__ import annotations

import pytest
import torch

from stickerbot.retrieval_tokens import IMAGE_SLOT, SPECIAL_TOKENS, add_special_tokens
from stickerbot.retrieval_tokens.checkpoint import (
    CheckpointMismatch,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from stickerbot.retrieval_tokens.losses import info_nce
from stickerbot.retrieval_tokens.model import RetModel
from tests.helpers_models import tiny_llama, tiny_tokenizer

STICKER_DIM, IMAGE_DIM = 16, 12


def make_model(seed: int = 0):
    tokenizer = tiny_tokenizer()
    lm = tiny_llama(len(tokenizer), hidden=32)
    model = RetModel.create(
        lm,
        tokenizer,
        backbone="tiny",
        sticker_embedder="fake",
        sticker_dim=STICKER_DIM,
        image_features="fake",
        image_dim=IMAGE_DIM,
        seed=seed,
    )
    return model, tokenizer


def batch(model, tokenizer, texts, *, with_image=False):
    """Prompt 'user: <text>' answered 'assistant: ok <ret>' (labels on the answer)."""
    rows, labels = [], []
    for text in texts:
        prompt = tokenizer(f"user {text} assistant", add_special_tokens=False)["input_ids"]
        if with_image:
            prompt = [model.ids.img, IMAGE_SLOT, model.ids.img_end, *prompt]
        answer = [*tokenizer("ok", add_special_tokens=False)["input_ids"], model.ids.ret]
        rows.append(prompt + answer)
        labels.append([-100] * len(prompt) + answer)
    width = max(map(len, rows))
    pad = tokenizer.pad_token_id
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    lab = torch.tensor([r + [-100] * (width - len(r)) for r in labels])
    return ids, mask, lab


def test_each_special_token_is_one_new_id():
    tokenizer = tiny_tokenizer()
    before = len(tokenizer)
    ids = add_special_tokens(tokenizer)
    assert len(set(ids.all)) == 5 and min(ids.all) >= before
    for token, token_id in zip(SPECIAL_TOKENS, ids.all, strict=True):
        assert tokenizer(f"hello {token} cat", add_special_tokens=False)["input_ids"].count(token_id) == 1
    assert add_special_tokens(tokenizer) == ids  # idempotent


def test_shapes_and_logits_cover_the_new_tokens():
    model, tokenizer = make_model()
    ids, mask, labels = batch(model, tokenizer, ["hello cat", "sad day"], with_image=True)
    feats = torch.randn(2, IMAGE_DIM)
    hidden = model.hidden_states(ids, mask, feats)
    assert hidden.shape == (2, ids.shape[1], 32)
    logits = model.logits(hidden)
    assert logits.shape[-1] == max(model.config.token_ids) + 1
    assert torch.allclose(logits[..., model.ids.ret], hidden @ model.out_rows[0])
    out = model(ids, mask, labels, feats, torch.randn(2, STICKER_DIM))
    assert out.ret_embeddings.shape == (2, STICKER_DIM) and out.contrastive_loss > 0
    with pytest.raises(ValueError, match="image slots"):
        model.hidden_states(ids, mask, None)


def test_info_nce_matches_a_naive_reference():
    torch.manual_seed(1)
    q, t = torch.randn(4, 8), torch.randn(4, 8)
    qn, tn = q / q.norm(dim=1, keepdim=True), t / t.norm(dim=1, keepdim=True)
    expected = 0.0
    for i in range(4):
        row = [(qn[i] @ tn[j]).item() / 0.1 for j in range(4)]
        col = [(qn[j] @ tn[i]).item() / 0.1 for j in range(4)]
        expected += -row[i] + torch.logsumexp(torch.tensor(row), 0).item()
        expected += -col[i] + torch.logsumexp(torch.tensor(col), 0).item()
    assert info_nce(q, t, 0.1).item() == pytest.approx(expected / 8, rel=1e-5)


def test_training_moves_only_the_new_parts_and_lowers_the_loss():
    model, tokenizer = make_model()
    frozen = {name: p.detach().clone() for name, p in model.lm.named_parameters()}
    trained_before = {k: v.clone() for k, v in model.trained_state().items()}
    ids, mask, labels = batch(
        model, tokenizer, ["hello cat", "sad day", "happy dog", "good night"], with_image=True
    )
    feats = torch.randn(4, IMAGE_DIM)
    targets = torch.randn(4, STICKER_DIM)
    optimizer = torch.optim.AdamW(model.trainable_parameters(), lr=5e-2)
    history = []
    for _ in range(40):
        out = model(ids, mask, labels, feats, targets)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        history.append((out.lm_loss.item(), out.contrastive_loss.item()))
    # The LM loss keeps the frozen model's part (predicting "ok"); the <ret> part and the
    # contrastive loss are what the new parameters can learn.
    assert history[-1][0] < history[0][0] - 1.0
    assert history[-1][1] < 0.75 * history[0][1]
    for name, p in model.lm.named_parameters():
        assert torch.equal(p, frozen[name]), f"{name} changed"
        assert p.grad is None
    after = model.trained_state()
    assert all(not torch.equal(after[k], trained_before[k]) for k in after)
    # What was learned: <ret> is now the likeliest token after "ok".
    logits = model.logits(model.hidden_states(ids, mask, feats))
    ok_positions = (labels != -100).float().argmax(1)  # the "ok" label: next is <ret>
    assert all(int(logits[i, ok_positions[i]].argmax()) == model.ids.ret for i in range(4))


def test_checkpoint_round_trip_and_mismatch(tmp_path):
    model, tokenizer = make_model()
    with torch.no_grad():
        model.in_rows.add_(1.0)
        model.w_t.weight.mul_(3.0)
    path = save_checkpoint(model, tmp_path / "ret.safetensors", extra={"step": 7})
    assert path.stat().st_size < 200_000  # only the trained parts
    config, _, extra = read_checkpoint(path)
    assert config == model.config and extra == {"step": 7}
    loaded = load_checkpoint(path, model.lm, tiny_tokenizer(), backbone="tiny", sticker_embedder="fake")
    for key, value in model.trained_state().items():
        assert torch.equal(loaded.trained_state()[key], value)
    with pytest.raises(CheckpointMismatch, match="trained on backbone 'tiny'"):
        load_checkpoint(path, model.lm, tiny_tokenizer(), backbone="other")
    other_lm = tiny_llama(len(tokenizer), hidden=32)
    with torch.no_grad():
        other_lm.get_input_embeddings().weight.add_(0.1)
    with pytest.raises(CheckpointMismatch, match="weights differ"):
        load_checkpoint(path, other_lm, tiny_tokenizer(), backbone="tiny")
    with pytest.raises(CheckpointMismatch, match="sticker vectors"):
        load_checkpoint(path, model.lm, tiny_tokenizer(), backbone="tiny", sticker_embedder="bge")
