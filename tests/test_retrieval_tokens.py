"""Retrieval tokens on tiny random models (Llama, and through the LLaVA and GLM backbones):
shapes, gradient masking, checkpoints, learning, device and dtype."""

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
    assert torch.allclose(logits[..., model.ids.ret], hidden @ model.out_rows[0] + model.out_bias[0])
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


# --- data, batching, the training loop -------------------------------------------------------------


def toy_library():
    from stickerbot.stickers.record import StickerRecord

    words = ["happy dog", "sad cat", "good night", "wow lol", "yes ok", "no sad"]
    emotions = ["Happiness", "Sadness", "Neutral", "Surprise", "Happiness", "Sadness"]
    return [
        StickerRecord(
            id=f"toy:{i}",
            image=f"{i}.png",
            pack="toy",
            name=w,
            keywords_en=w.split(),
            keywords_zh=["开心"],
            queries=[w],
            emotion=e,
        )
        for i, (w, e) in enumerate(zip(words, emotions, strict=True))
    ]


def toy_exchanges():
    from stickerbot.memory.dialogues import Exchange

    sticker = {"id": "toy:1", "description": "sad cat"}
    return [
        Exchange("d:s1:1", "sad day", "hug for you", "en", "Sadness", system_sticker=sticker),
        Exchange("d:s2:1", "hello there", "hi there", "en", "Neutral"),
        Exchange("d:s3:1", "dog day", "nice", "en", "Happiness", system_sticker={"id": "gone:9"}),
    ]


def test_examples_follow_the_task_mix_and_split_by_sticker():
    from stickerbot.retrieval_tokens.data import RET, STICKER_TASKS, build_examples

    records = toy_library() * 1
    examples = build_examples(records, toy_exchanges(), sticker_requests=800, heldout_share=0.34, seed=1)
    requests = [e for e in examples.train + examples.heldout if e.kind in STICKER_TASKS]
    assert len(requests) == 800
    for kind, share in STICKER_TASKS.items():
        assert abs(sum(e.kind == kind for e in requests) / 800 - share) < 0.06
    assert all(e.wants_sticker and e.target for e in requests)
    assert all((e.image is not None) == (e.kind != "text_to_sticker") for e in requests)
    train_ids = {e.target for e in examples.train if e.kind in STICKER_TASKS}
    held_ids = {e.target for e in examples.heldout if e.kind in STICKER_TASKS}
    assert train_ids and held_ids and not train_ids & held_ids
    dialogues = {e.prompt: e for e in examples.train + examples.heldout if e.kind not in STICKER_TASKS}
    assert dialogues["sad day"].reply == f"{RET} hug for you" and dialogues["sad day"].target == "toy:1"
    assert not dialogues["hello there"].wants_sticker and dialogues["hello there"].kind == "instruction"
    assert "dog day" not in dialogues  # its sticker is not in this library


def test_encoding_labels_the_reply_and_places_image_slots():
    from stickerbot.retrieval_tokens.batching import encode
    from stickerbot.retrieval_tokens.data import IMAGE_MARK, Example

    model, tokenizer = make_model()
    example = Example("image_to_sticker", "en", f"{IMAGE_MARK} hello cat", "ok <ret>", "toy:1", "toy:2")
    encoded = encode(example, tokenizer, model.ids, pret=True)
    ids = encoded.input_ids
    assert ids[ids.index(model.ids.img) + 1] == IMAGE_SLOT and ids.count(IMAGE_SLOT) == 1
    assert model.ids.pret in ids and encoded.images == ["toy:2"] and encoded.targets == ["toy:1"]
    labelled = [t for t, label in zip(ids, encoded.labels, strict=True) if label != -100]
    assert labelled[-3:-1] == [tokenizer.convert_tokens_to_ids("ok"), model.ids.ret]
    assert model.ids.pret not in labelled and IMAGE_SLOT not in labelled


def test_batches_never_repeat_a_target():
    import random

    from stickerbot.retrieval_tokens.batching import Encoded, distinct_target_batches

    encoded = [Encoded([1], [1], [], [f"s{i % 5}"] if i % 3 else [], "text_to_sticker") for i in range(40)]
    batches = distinct_target_batches(encoded, 4, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(40))
    for b in batches:
        targets = [t for i in b for t in encoded[i].targets]
        assert len(targets) == len(set(targets))


def _trainer(model, examples, path, steps):
    import numpy as np

    from stickerbot.retrieval_tokens.train import RetTrainer, TrainConfig

    rng = np.random.default_rng(0)
    table = {f"toy:{i}": rng.normal(size=STICKER_DIM) for i in range(6)}
    images = {f"toy:{i}": rng.normal(size=IMAGE_DIM) for i in range(6)}
    return RetTrainer(
        model,
        examples,
        vectors=lambda ids: np.stack([table[i] for i in ids]),
        image_features=lambda ids: np.stack([images[i] for i in ids]),
        checkpoint=path,
        config=TrainConfig(steps=steps, batch_size=4, checkpoint_every=2, lr=1e-2),
    )


def test_training_resumes_where_it_was_interrupted(tmp_path):
    from stickerbot.retrieval_tokens.data import build_examples

    examples = build_examples(toy_library(), toy_exchanges(), sticker_requests=24, seed=0).train
    whole, _ = make_model()
    straight = _trainer(whole, examples, tmp_path / "a" / "ret.safetensors", 6).run(progress=False)
    assert straight.steps_done == 6 and straight.resumed_from == 0 and straight.checkpoint.exists()
    assert straight.heads["pairs"] > 0 and read_checkpoint(straight.checkpoint)[2]["refitted"]

    first, _ = make_model()
    interrupted = _trainer(first, examples, tmp_path / "b" / "ret.safetensors", 6)
    apply_step = interrupted.optimizer.step
    calls = []

    def step_then_stop():  # Ctrl-C arrives before the 4th update is applied
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        apply_step()

    interrupted.optimizer.step = step_then_stop
    with pytest.raises(KeyboardInterrupt):
        interrupted.run(progress=False)
    assert read_checkpoint(tmp_path / "b" / "ret.safetensors")[2]["step"] == 3

    second, _ = make_model()  # a new process: fresh model, same checkpoint path
    resumed = _trainer(second, examples, tmp_path / "b" / "ret.safetensors", 6).run(progress=False)
    assert resumed.resumed_from == 3 and resumed.steps_done == 6 and len(resumed.losses) == 3
    for key, value in whole.trained_state().items():
        assert torch.allclose(second.trained_state()[key], value, atol=1e-5), key

    # Run again when finished: nothing to do, nothing changes.
    third, _ = make_model()
    again = _trainer(third, examples, tmp_path / "b" / "ret.safetensors", 6).run(progress=False)
    assert again.losses == [] and again.heads is None
    for key, value in whole.trained_state().items():
        assert torch.allclose(third.trained_state()[key], value, atol=1e-5), key


@pytest.mark.slow
def test_train_ret_cli_on_a_local_model_trains_resumes_and_checks_the_backbone(tmp_path, monkeypatch, capsys):
    import json

    from stickerbot.cli import main
    from stickerbot.config import Settings
    from stickerbot.retrieval_tokens.checkpoint import find_checkpoint, trained_checkpoint_path

    tokenizer = tiny_tokenizer()
    folder = tmp_path / "tiny-model"
    tiny_llama(len(tokenizer), hidden=32).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    monkeypatch.setenv("STICKERBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STICKERBOT_BACKBONE", f"hf:{folder}")

    assert main(["train", "ret", "--steps", "2", "--requests", "40", "--batch-size", "4", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    settings = Settings.from_env()
    path = trained_checkpoint_path(settings)
    assert first["steps"] == 2 and first["resumed_from"] == 0 and first["checkpoint"] == str(path)
    assert find_checkpoint(settings) == path and path.stat().st_size < 1_000_000

    assert main(["train", "ret", "--steps", "3", "--requests", "40", "--batch-size", "4", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["resumed_from"] == 2 and second["steps"] == 3

    config, _, extra = read_checkpoint(path)
    assert config.backbone == f"hf:{folder}" and config.sticker_dim == 384 and extra["step"] == 3


def test_generation_reports_ret_and_its_query_and_hides_special_tokens():
    import numpy as np

    from stickerbot.retrieval_tokens.inference import generate, rank_stickers, ret_query, strip_special

    model, tokenizer = make_model()
    # A model that always wants <ret> next: its logits get a large bonus on that column.
    logits = model.logits

    def ret_first(hidden):
        out = logits(hidden)
        out[..., model.ids.ret] += 1e4
        return out

    model.logits = ret_first
    out = generate(model, "hello cat", max_new_tokens=3)
    assert out.sent_ret and out.token_ids[0] == model.ids.ret
    assert out.query.shape == (STICKER_DIM,) and np.linalg.norm(out.query) == pytest.approx(1.0, abs=1e-5)
    assert "<ret>" not in out.text
    image = generate(model, "<img></img> hello", image_features=np.ones(IMAGE_DIM), max_new_tokens=2)
    assert image.sent_ret
    with pytest.raises(ValueError, match="image"):
        generate(model, "<img></img> hello")
    q = ret_query(model, "hello cat", reply="ok <ret>")
    vectors = np.eye(STICKER_DIM, dtype=np.float32)[:4]
    ranked = rank_stickers(q, ["a", "b", "c", "d"], vectors, k=2)
    assert ranked == [["a", "b", "c", "d"][i] for i in np.argsort(-(vectors @ q))[:2]]
    assert strip_special("Here <ret> you </ret>go<pret>") == "Here you go"


def test_tools_evaluator_counts_both_kinds_with_and_without_pret():
    from stickerbot.evaluation.tools import ToolsEvaluator
    from stickerbot.retrieval_tokens.data import Example

    examples = [Example("instruction", "en", f"q{i}", "a") for i in range(4)] + [
        Example("text_to_sticker", "en", f"s{i}", "ok <ret>", f"t{i}") for i in range(2)
    ]
    # A model that sends on requests, and on one ordinary instruction only when <pret> is there.
    results = ToolsEvaluator(examples)(lambda e, pret: e.kind != "instruction" or (pret and e.prompt == "q0"))
    plain, prefixed = (r.to_dict() for r in results)
    assert plain == {
        "pret": False,
        "ordinary_n": 4,
        "ordinary_without_ret": 100.0,
        "requests_n": 2,
        "requests_with_ret": 100.0,
    }
    assert prefixed["ordinary_without_ret"] == 75.0


def test_cached_lm_loss_equals_the_model_loss_and_fitting_rows_learns_to_send():
    from stickerbot.retrieval_tokens.batching import Encoded
    from stickerbot.retrieval_tokens.heads import cached_lm_loss, collect, fit_out_rows
    from stickerbot.retrieval_tokens.losses import shifted_lm_loss

    model, tokenizer = make_model()
    ids, mask, labels = batch(model, tokenizer, ["hello cat", "sad day", "so happy now", "ugh"])
    items = [
        # Ordinary: the replies open with "ok", not <ret>, and every position is cached.
        Encoded(row[m.bool()].tolist(), lab[m.bool()].tolist(), [], ["toy:0"], "instruction")
        for row, m, lab in zip(ids, mask, labels, strict=True)
    ]
    pad = tokenizer.pad_token_id
    cache = collect(model, items, pad_id=pad, vectors=lambda s: None, image_features=lambda s: None)
    with torch.no_grad():
        model.out_bias.fill_(0.5)  # the bias is part of both
        expected = shifted_lm_loss(model.logits(model.hidden_states(ids, mask)), labels)
        assert torch.allclose(cached_lm_loss(model.out_rows, model.out_bias, cache), expected, atol=1e-5)
    assert len(cache.ret_hidden) == 4 and cache.ret_targets == ["toy:0"] * 4

    before = float(cached_lm_loss(model.out_rows.detach(), model.out_bias.detach(), cache))
    after = fit_out_rows(model, cache, steps=200, lr=5e-2, decision_weight=0.0)["lm_loss"]
    assert after < before
    with torch.no_grad():
        logits = model.logits(model.hidden_states(ids, mask))
    ok_positions = (labels != -100).float().argmax(1)  # the "ok" label: next is <ret>
    assert all(int(logits[i, ok_positions[i]].argmax()) == model.ids.ret for i in range(4))


def test_balanced_decision_fit_sends_on_requests_only_when_requests_dominate():
    """80% of the replies open with <ret>; the fitted rows and bias must still keep ordinary
    messages from sending, and a sticker-sending dialogue turn (decision 0) teaches nothing
    about sending: its first position is not cached."""
    from stickerbot.retrieval_tokens.batching import Encoded
    from stickerbot.retrieval_tokens.heads import collect, decision_accuracy, fit_out_rows, send_margin

    model, tokenizer = make_model()
    words = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    ok = words("ok")

    def item(prompt: str, kind: str) -> Encoded:
        head = words(f"user {prompt} assistant")
        sends = kind != "instruction"
        reply = [model.ids.ret, *ok] if sends else ok
        return Encoded(head + reply, [-100] * len(head) + reply, [], ["toy:0"] if sends else [], kind)

    requests = [
        item(f"sticker {w} please", "text_to_sticker")
        for w in ("cat", "dog", "sad", "happy", "day", "hello", "ugh", "so")
    ]
    ordinary = [item("hello", "instruction"), item("so sad", "instruction")]
    cache = collect(
        model,
        [*requests, *ordinary],
        pad_id=tokenizer.pad_token_id,
        vectors=lambda s: None,
        image_features=lambda s: None,
    )
    assert int((cache.decision == 1).sum()) == 8 and int((cache.decision == -1).sum()) == 2
    with_turn = collect(
        model,
        [*requests, *ordinary, item("sad day", "dialogue_sticker")],
        pad_id=tokenizer.pad_token_id,
        vectors=lambda s: None,
        image_features=lambda s: None,
    )
    assert len(with_turn.hidden) == len(cache.hidden) + len(ok)  # its <ret> position is left out
    assert len(with_turn.ret_hidden) == len(cache.ret_hidden) + 1  # but it still trains W_t

    report = fit_out_rows(model, cache, steps=300, lr=5e-2, decision_weight=1.0, aside_every=0)
    assert report["fit"] == {
        "ordinary_n": 2,
        "ordinary_without_ret": 1.0,
        "requests_n": 8,
        "requests_with_ret": 1.0,
    }
    # The margin is what greedy decoding does with the fitted model.
    first = torch.nonzero(cache.decision != 0).squeeze(1)
    margin = send_margin(model.out_rows, model.out_bias, cache, first, model.ret_column)
    assert decision_accuracy(margin, cache.decision[first]) == report["fit"]
    for encoded in [*requests, *ordinary]:
        start = encoded.labels.index(next(t for t in encoded.labels if t != -100))
        with torch.no_grad():
            hidden = model.hidden_states(torch.tensor([encoded.input_ids[:start]]))
            choice = int(model.logits(hidden[:, -1])[0].argmax())
        assert (choice == model.ids.ret) == (encoded.decision == 1)


def test_w_t_fitted_on_cached_states_retrieves_the_training_stickers(tmp_path):
    from stickerbot.retrieval_tokens.data import build_examples
    from stickerbot.retrieval_tokens.heads import _recall_at_10, fit_w_t, ridge_map

    examples = build_examples(toy_library(), toy_exchanges(), sticker_requests=40, seed=0).train
    model, _ = make_model()
    trainer = _trainer(model, examples, tmp_path / "ret.safetensors", 1)
    cache = trainer._cache([e for e in trainer.encoded if e.targets], progress=False)
    stickers = sorted(set(cache.ret_targets))
    library = torch.nn.functional.normalize(
        torch.tensor(trainer.vectors(stickers), dtype=torch.float32), dim=-1
    )

    def recall_at_1() -> float:
        with torch.no_grad():
            scores = torch.nn.functional.normalize(model.w_t(cache.ret_hidden), dim=-1) @ library.T
        best = [stickers[i] for i in scores.argmax(1).tolist()]
        return sum(b == t for b, t in zip(best, cache.ret_targets, strict=True)) / len(best)

    before = recall_at_1()
    report = fit_w_t(model, cache, trainer.vectors, epochs=80, lr=1e-2, validation_share=0.0)
    assert report["pairs"] == len(cache.ret_targets) > 10
    assert recall_at_1() > max(0.5, before + 0.2)
    assert _recall_at_10(model.w_t(cache.ret_hidden), cache.ret_targets, stickers, library) == 1.0

    # The trainer fits W_t on its w_t_kinds (text requests) only: the ridge map of those states alone.
    text_items = trainer._sample(10_000, for_w_t=True)
    text = [e for e in trainer.encoded if e.targets and e.kind == "text_to_sticker"]
    assert {e.kind for e in text_items} == {"text_to_sticker"} and len(text_items) == len(text)
    assert 2 < len(text) < len(cache.ret_targets)
    text_cache = trainer._cache(text_items, progress=False, lm_positions=False)
    report = fit_w_t(model, text_cache, trainer.vectors, validation_share=0.0)
    assert report["pairs"] == len(text)
    goals = library[[stickers.index(t) for t in text_cache.ret_targets]]
    weight, bias = ridge_map(text_cache.ret_hidden, goals, 10.0)
    assert torch.allclose(model.w_t.weight, weight, atol=1e-5) and torch.allclose(
        model.w_t.bias, bias, atol=1e-5
    )

    assert trainer._fit_w_t(text_items, progress=False)["kinds"] == ["text_to_sticker"]


# --- through the chat backbones, on their device and in their dtype ----------------------------


def train_and_query_through(backbone, tmp_path, *, steps: int = 3):
    """What `train ret` and then the chat do with ``backbone``: take its in-process LM, train <ret>
    on the toy library, load the checkpoint onto the same weights, and query with and without an
    image. Returns the trained RetModel."""
    import math

    import numpy as np

    from stickerbot.backbones.base import local_lm_of
    from stickerbot.retrieval_tokens.build import local_lm_for_ret
    from stickerbot.retrieval_tokens.data import build_examples
    from stickerbot.retrieval_tokens.query import RetQuerier

    lm = local_lm_for_ret(backbone)
    frozen = {name: p.detach().clone() for name, p in lm.model.named_parameters()}
    model = RetModel.create(
        lm.model,
        lm.tokenizer,
        render=lm.render,
        backbone=backbone.name,
        sticker_embedder="fake",
        sticker_dim=STICKER_DIM,
        image_features="fake",
        image_dim=IMAGE_DIM,
    )
    start = {k: v.clone() for k, v in model.trained_state().items()}
    examples = build_examples(toy_library(), toy_exchanges(), sticker_requests=24, seed=0).train
    trainer = _trainer(model, examples, tmp_path / "ret.safetensors", steps)
    result = trainer.run(progress=False)
    assert result.steps_done == steps and result.heads["pairs"] > 0
    assert all(math.isfinite(lm_loss) and math.isfinite(nce) for lm_loss, nce in result.losses)
    trained = model.trained_state()
    assert all(
        not torch.equal(start[k], trained[k]) for k in ("in_rows", "out_rows", "w_c.weight", "w_t.weight")
    )
    # The backbone's own weights and tokenizer are as they were: the chat goes on unchanged.
    assert all(torch.equal(p, frozen[name]) for name, p in lm.model.named_parameters())
    assert "<ret>" not in local_lm_of(backbone).tokenizer.get_vocab()

    reloaded = load_checkpoint(
        result.checkpoint,
        lm.model,
        local_lm_for_ret(backbone).tokenizer,
        render=lm.render,
        backbone=backbone.name,
        sticker_embedder="fake",
    )
    ask = RetQuerier(reloaded, image_features=trainer.image_features)
    query = ask("hello cat")
    assert query.vector.dtype == np.float32 and query.vector.shape == (STICKER_DIM,)
    assert np.linalg.norm(query.vector) == pytest.approx(1.0, abs=1e-4)
    assert np.allclose(query.vector, RetQuerier(model)("hello cat").vector, atol=1e-5)
    with_image = ask("hello cat", image_id="toy:2")
    assert with_image.vector.shape == (STICKER_DIM,) and not np.allclose(with_image.vector, query.vector)
    return model


@pytest.mark.slow  # 6-12 s on 2 cores, most of it the heads' refit
def test_ret_trains_and_queries_through_the_llava_backbone(tmp_path):
    from stickerbot.backbones import create_backbone
    from stickerbot.retrieval_tokens.batching import conversation
    from tests.helpers_models import tiny_llava_and_processor

    llava, processor = tiny_llava_and_processor()
    llava.save_pretrained(tmp_path / "llava")
    processor.save_pretrained(tmp_path / "llava")
    backbone = create_backbone("llava-1.5-7b-4bit", path=tmp_path / "llava", device="cpu", allow_cpu=True)
    model = train_and_query_through(backbone, tmp_path)
    # The <ret> pass runs LLaVA's own language model on prompts in LLaVA's format (the processor's
    # template, not the tokenizer's ChatML one).
    assert model.lm is backbone.model
    assert model.render(conversation("hello"), True).endswith("assistant: ")
    assert backbone.generate([{"role": "user", "content": "hi"}], max_new_tokens=2).new_tokens == 2


@pytest.mark.slow  # about 5 s
def test_ret_trains_and_queries_through_the_glm_backbone(tmp_path):
    from stickerbot.backbones import create_backbone
    from stickerbot.backbones.base import local_lm_of
    from stickerbot.retrieval_tokens.batching import conversation
    from tests.helpers_models import save_tiny_glm

    folder = save_tiny_glm(tmp_path / "glm")
    backbone = create_backbone("glm-4bit", path=folder, device="cpu", allow_cpu=True)
    # On a CPU the glm-4bit path loads unquantized (its nf4 is for a GPU); a GLM, not a stand-in.
    assert type(backbone.model).__name__ == "GlmForCausalLM" and not local_lm_of(backbone).quantized
    model = train_and_query_through(backbone, tmp_path)
    assert model.render(conversation("hello"), True).startswith("[gMASK]<sop><|system|>")
    # A reply ends where GLM-4 ends a turn (its checkpoint lists these ids), not at ChatML's
    # <|im_end|>, which its vocabulary lacks (looked up, it would be the unknown token).
    from stickerbot.retrieval_tokens.inference import end_of_turn_ids

    model.lm.generation_config.eos_token_id = model.lm.config.eos_token_id
    ids = model.tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|user|>", "<|observation|>"])
    assert end_of_turn_ids(model) == set(ids)


def test_ret_over_a_bfloat16_model_feeds_it_bfloat16_and_trains_float32(tmp_path):
    from stickerbot.backbones.transformers_chat import TransformersChatBackbone
    from stickerbot.retrieval_tokens.inference import prompt_ids
    from stickerbot.retrieval_tokens.tokens import RET

    tokenizer = tiny_tokenizer()
    lm = tiny_llama(len(tokenizer)).to(torch.bfloat16)
    model = train_and_query_through(TransformersChatBackbone(lm, tokenizer, name="tiny-bf16"), tmp_path)
    # The trained parts are float32 master weights beside the model; what enters it is bfloat16.
    assert model.device == lm.device and model.lm_dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 and p.device == lm.device for p in model.trainable_parameters())
    ids = torch.tensor([prompt_ids(model, "<img></img> hello", reply_prefix=RET)])
    assert model.embed(ids, torch.ones(1, IMAGE_DIM)).dtype == torch.bfloat16
    assert {p.dtype for p in lm.parameters()} == {torch.bfloat16}  # nothing upcast the frozen model


@pytest.mark.slow  # about 7 s
def test_ret_over_an_nf4_quantized_glm(tmp_path):
    """The GPU's glm-4bit loading (nf4 via bitsandbytes), here on bitsandbytes' CPU backend."""
    import bitsandbytes as bnb

    from stickerbot.backbones.transformers_chat import TransformersChatBackbone
    from tests.helpers_models import save_tiny_glm

    # nf4 quantizes in blocks of 64 values: layers must be at least that wide.
    folder = save_tiny_glm(tmp_path / "glm", hidden=64)
    backbone = TransformersChatBackbone.load(folder, name="glm-4bit", device="cpu", quantize_4bit=True)
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in backbone.model.modules())
    train_and_query_through(backbone, tmp_path)


@pytest.mark.gpu
def test_ret_on_a_gpu_in_bfloat16(tmp_path):
    from stickerbot.backbones import create_backbone
    from tests.helpers_models import save_tiny_model

    backbone = create_backbone(f"hf:{save_tiny_model(tmp_path / 'tiny')}", device="cuda")
    model = train_and_query_through(backbone, tmp_path)
    assert model.device.type == "cuda" and model.lm_dtype in (torch.bfloat16, torch.float16)
    assert all(p.device.type == "cuda" for p in model.trainable_parameters())


@pytest.mark.gpu
def test_ret_through_glm_4bit_on_a_gpu(tmp_path):
    from stickerbot.backbones import create_backbone
    from stickerbot.backbones.base import local_lm_of
    from tests.helpers_models import save_tiny_glm

    backbone = create_backbone("glm-4bit", path=save_tiny_glm(tmp_path / "glm", hidden=64))
    assert local_lm_of(backbone).quantized
    model = train_and_query_through(backbone, tmp_path)
    assert model.device.type == "cuda"
