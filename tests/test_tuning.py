"""Chat LoRA fine-tuning (``train chat``) and adapters, on tiny random models the tests build:
the examples and their labels, the loss against transformers' own, training that changes the
replies, resuming after Ctrl-C, merging at load, and the adapter found from the settings."""

from __future__ import annotations

import json

import pytest
import torch

from stickerbot.backbones.adapters import META_FILE, apply_adapter, is_adapter, weights_fingerprint
from stickerbot.backbones.base import BackboneError
from stickerbot.backbones.transformers_chat import TransformersChatBackbone
from stickerbot.errors import UserError
from stickerbot.memory.dialogues import Exchange
from stickerbot.tuning.data import IGNORE, ChatExample, chat_examples, encode, split_examples
from stickerbot.tuning.train import ChatTuneConfig, ChatTuner, lr_at
from tests.helpers_models import save_tiny_model, tiny_llama, tiny_llava_and_processor, tiny_tokenizer

WORDS = ["hello there", "good day", "sad day", "happy cat", "lol dog", "wow yes", "ok no", "hi cat"]


def tiny_lm():
    tokenizer = tiny_tokenizer()
    return TransformersChatBackbone(tiny_llama(len(tokenizer)), tokenizer, name="tiny", languages=("en",))


def examples(n=16):
    out = []
    for i in range(n):
        message = WORDS[i % len(WORDS)]
        out.append(
            ChatExample(
                f"t:s{i}:1",
                "en",
                ({"role": "system", "content": "hi"}, {"role": "user", "content": message}),
                "yes happy day" if "sad" not in message else "no sad day",
                f"t:s{i}",
            )
        )
    return out


def test_examples_use_the_chat_prompt_and_skip_other_languages():
    exchanges = [
        Exchange("m:s1:1", "I got the job!!", "Congrats!!", "en", "Happiness", "achievement"),
        Exchange(
            "m:s1:2",
            "thanks!",
            "Anytime.",
            "en",
            "Happiness",
            "gratitude",
            history=(("I got the job!!", "Congrats!!"),),
        ),
        Exchange("m:z1:1", "我考上了", "恭喜！", "zh", "Happiness", "achievement"),
        Exchange("m:s2:1", "hm", "Hm?", "en", None, "not-an-intent"),
    ]
    made = chat_examples(exchanges, ("en",))
    assert [x.id for x in made] == ["m:s1:1", "m:s1:2", "m:s2:1"]
    system = made[0].messages[0]["content"]
    assert "Congratulate" in system  # the intent's strategy, as the chat tells it
    assert [m["role"] for m in made[1].messages] == ["system", "user", "assistant", "user"]
    assert made[2].messages[0]["content"].endswith("about what they said.")  # unknown intent: persona only
    train, held = split_examples(made * 1, heldout=0.5, seed=3)
    assert {x.group for x in train}.isdisjoint({x.group for x in held})


def test_labels_cover_the_reply_and_history_goes_first_when_too_long():
    lm = tiny_lm().local_lm()
    x = examples(1)[0]
    enc = encode(x, lm.render, lm.tokenizer, max_tokens=64)
    prompt_len = len(lm.tokenizer(lm.render(list(x.messages), True), add_special_tokens=False)["input_ids"])
    assert all(label == IGNORE for label in enc.labels[:prompt_len])
    reply = [t for t in enc.labels if t != IGNORE]
    assert lm.tokenizer.decode(reply, skip_special_tokens=True).strip() == x.reply
    assert lm.tokenizer.convert_tokens_to_ids("<|im_end|>") in reply  # the model learns to stop
    long = ChatExample(
        "t:l:1",
        "en",
        (
            {"role": "system", "content": "hi"},
            {"role": "user", "content": "hello " * 30},
            {"role": "assistant", "content": "ok " * 30},
            {"role": "user", "content": "sad day"},
        ),
        "no",
        "t:l",
    )
    shortened = encode(long, lm.render, lm.tokenizer, max_tokens=40)
    assert shortened is not None and len(shortened.input_ids) <= 40
    assert encode(long, lm.render, lm.tokenizer, max_tokens=5) is None


def test_loss_on_reply_positions_equals_transformers_loss():
    backbone = tiny_lm()
    lm = backbone.local_lm()
    batch = [encode(x, lm.render, lm.tokenizer, max_tokens=64) for x in examples(3)]
    batch[1] = encode(
        ChatExample("t:x:1", "en", ({"role": "user", "content": "wow " * 9},), "yes ok cat dog", "t:x"),
        lm.render,
        lm.tokenizer,
        max_tokens=64,
    )
    tuner = ChatTuner(lm, examples(2), [], backbone="tiny", out="unused", state_dir="unused")
    with torch.no_grad():
        mine = float(tuner._loss(lm.model, batch))
        total = count = 0.0
        for e in batch:  # one row at a time, no padding: transformers' own shifted loss
            out = lm.model(input_ids=torch.tensor([e.input_ids]), labels=torch.tensor([e.labels]))
            k = sum(label != IGNORE for label in e.labels[1:])
            total, count = total + float(out.loss) * k, count + k
    assert mine == pytest.approx(total / count, rel=1e-5)


def test_learning_rate_warms_up_and_decays():
    c = ChatTuneConfig(steps=100, lr=1.0, warmup_steps=10, final_lr_share=0.1)
    assert lr_at(0, c) == pytest.approx(0.1) and lr_at(9, c) == pytest.approx(1.0)
    assert lr_at(10, c) == pytest.approx(1.0) and lr_at(100, c) == pytest.approx(0.1)
    assert lr_at(55, c) == pytest.approx(0.55)


def _run(tmp_path, steps, *, interrupt_at=None, name="run"):
    backbone = tiny_lm()
    lm = backbone.local_lm()
    config = ChatTuneConfig(steps=steps, batch_size=4, lr=5e-2, warmup_steps=1, save_every=2, rank=4)
    tuner = ChatTuner(
        lm,
        examples(),
        examples(4),
        backbone="tiny",
        out=tmp_path / name,
        state_dir=tmp_path / f"{name}.train",
        config=config,
    )
    if interrupt_at is not None:
        calls = {"n": 0}
        real = tuner._loss

        def stop_then_loss(model, items):
            calls["n"] += 1
            if calls["n"] > interrupt_at:
                raise KeyboardInterrupt
            return real(model, items)

        tuner._loss = stop_then_loss
    return backbone, tuner.run(progress=False)


def test_training_writes_an_adapter_that_changes_the_replies(tmp_path):
    base = tiny_lm()
    _, result = _run(tmp_path, 8)
    assert result.steps_done == 8 and len(result.losses) == 8 and result.heldout_loss is not None
    assert result.losses[-1] < result.losses[0]
    out = tmp_path / "run"
    assert is_adapter(out)
    meta = json.loads((out / META_FILE).read_text())
    assert (
        meta["complete"]
        and meta["backbone"] == "tiny"
        and meta["base_fingerprint"] == weights_fingerprint(base.model)
    )
    # Half precision on disk.
    from safetensors.torch import load_file

    assert {t.dtype for t in load_file(str(out / "adapter_model.safetensors")).values()} == {torch.float16}

    prompt = base.tokenizer(
        "<|im_start|>user\nsad day<|im_end|>\n<|im_start|>assistant\n", return_tensors="pt"
    )
    with torch.no_grad():
        before = base.model(**prompt).logits
        merged = apply_adapter(tiny_lm().model, out, merge=True, name="tiny")
        after = merged(**prompt).logits
        wrapped = apply_adapter(tiny_lm().model, out, merge=False, name="tiny")
        unmerged = wrapped(**prompt).logits
    assert not torch.allclose(before, after, atol=1e-4)
    assert torch.allclose(after, unmerged, atol=1e-4)  # merging computes what the adapter computes
    assert not any("lora" in name for name, _ in merged.named_parameters())


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    _, straight = _run(tmp_path, 6, name="straight")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, 6, interrupt_at=3, name="resumed")
    state = json.loads((tmp_path / "resumed.train" / "state.json").read_text())
    assert state["step"] == 3 and not (tmp_path / "resumed").exists()
    _, resumed = _run(tmp_path, 6, name="resumed")
    assert resumed.resumed_from == 3 and resumed.steps_done == 6
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "straight" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k].float(), b[k].float(), atol=1e-3) for k in a)
    # Another config on the same state is refused, not mixed in.
    backbone = tiny_lm()
    other = ChatTuner(
        backbone.local_lm(),
        examples(),
        examples(4),
        backbone="tiny",
        out=tmp_path / "resumed",
        state_dir=tmp_path / "resumed.train",
        config=ChatTuneConfig(steps=9, batch_size=4),
    )
    with pytest.raises(UserError, match="other settings"):
        other.run(progress=False)


def test_an_adapter_for_other_weights_is_refused(tmp_path):
    _run(tmp_path, 2)
    other = tiny_llama(len(tiny_tokenizer()), hidden=48)
    with pytest.raises(BackboneError, match="other weights"):
        apply_adapter(other, tmp_path / "run")
    with pytest.raises(BackboneError, match="not a LoRA adapter"):
        apply_adapter(other, tmp_path)


def _tune_a_few_steps(lm, tmp_path, steps=4):
    config = ChatTuneConfig(steps=steps, batch_size=4, lr=5e-2, warmup_steps=1, rank=4)
    out = tmp_path / "run"
    tuner = ChatTuner(
        lm, examples(), examples(4), backbone="tiny", out=out, state_dir=tmp_path / "run.train", config=config
    )
    return tuner.run(progress=False)


def test_lora_over_a_bfloat16_model_trains_float32_adapters_beside_it(tmp_path):
    import math

    from stickerbot.backbones.base import local_lm_of

    tokenizer = tiny_tokenizer()
    model = tiny_llama(len(tokenizer)).to(torch.bfloat16)
    backbone = TransformersChatBackbone(model, tokenizer, name="tiny-bf16", languages=("en",))
    result = _tune_a_few_steps(local_lm_of(backbone, purpose="LoRA training"), tmp_path)
    assert all(math.isfinite(loss) for loss in result.losses) and result.losses[-1] < result.losses[0]
    # peft keeps the adapter in float32 on the model's device; the base weights stay bfloat16.
    lora = [p for name, p in model.named_parameters() if "lora" in name]
    assert lora and all(p.dtype == torch.float32 and p.device == model.device for p in lora)
    assert {p.dtype for name, p in model.named_parameters() if "lora" not in name} == {torch.bfloat16}
    # The chat merges the adapter into the same bfloat16 weights at load, and it changes them.
    fresh = tiny_llama(len(tokenizer)).to(torch.bfloat16)
    merged = apply_adapter(tiny_llama(len(tokenizer)).to(torch.bfloat16), result.out, merge=True, name="tiny")
    assert merged.dtype == torch.bfloat16
    prompt = tokenizer("<|im_start|>user\nsad day<|im_end|>\n<|im_start|>assistant\n", return_tensors="pt")
    with torch.no_grad():
        assert not torch.allclose(fresh(**prompt).logits, merged(**prompt).logits)


@pytest.mark.gpu
def test_lora_training_runs_on_a_gpu(tmp_path):
    from stickerbot.backbones import create_backbone
    from stickerbot.backbones.base import local_lm_of

    backbone = create_backbone(f"hf:{save_tiny_model(tmp_path / 'tiny')}", device="cuda")
    lm = local_lm_of(backbone)
    result = _tune_a_few_steps(lm, tmp_path)
    assert result.steps_done == 4 and is_adapter(result.out)
    lora = [p for name, p in lm.model.named_parameters() if "lora" in name]
    assert lora and all(p.device.type == "cuda" for p in lora)


def test_llava_lora_trains_only_the_language_model():
    from stickerbot.backbones.llava import LlavaBackbone

    model, processor = tiny_llava_and_processor()
    lm = LlavaBackbone(model, processor, name="tiny-llava").local_lm()
    assert lm.lora_targets and not lm.quantized
    config = ChatTuneConfig(steps=1, batch_size=2, target_modules=lm.lora_targets)
    tuner = ChatTuner(
        lm, examples(4), [], backbone="tiny-llava", out="unused", state_dir="unused", config=config
    )
    peft_model = tuner._peft_model()
    trainable = [name for name, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("language_model" in name for name in trainable)
    assert not any("vision" in name for name in trainable)


def test_the_adapter_is_found_from_the_settings(tmp_path):
    from stickerbot.config import Settings
    from stickerbot.services import backbone_options, find_adapter

    settings = Settings.from_env({"STICKERBOT_DATA_DIR": str(tmp_path / "data")})
    shipped = find_adapter(settings)
    # With nothing trained, the shipped adapter for the default backbone (when one ships).
    assert shipped is None or shipped.parent.name == "checkpoints"
    trained = tmp_path / "data" / "adapters" / "chat-smollm2-135m"
    trained.mkdir(parents=True)
    (trained / "adapter_config.json").write_text("{}")
    (trained / "adapter_model.safetensors").write_bytes(b"x")
    (trained / META_FILE).write_text(json.dumps({"complete": False}))
    assert find_adapter(settings) == shipped  # an unfinished run is not used
    (trained / META_FILE).write_text(json.dumps({"complete": True}))
    assert find_adapter(settings) == trained
    assert backbone_options(settings)["adapter_path"] == trained
    off = Settings.from_env({"STICKERBOT_DATA_DIR": str(tmp_path / "data"), "STICKERBOT_ADAPTER": "off"})
    assert "adapter_path" not in backbone_options(off)
    chosen = Settings.from_env(
        {"STICKERBOT_DATA_DIR": str(tmp_path / "data"), "STICKERBOT_ADAPTER": "/my/adapter"}
    )
    assert backbone_options(chosen)["adapter_path"] == "/my/adapter"
    spelled_out = Settings.from_env(
        {"STICKERBOT_DATA_DIR": str(tmp_path / "data"), "STICKERBOT_ADAPTER": "auto"}
    )
    assert backbone_options(spelled_out)["adapter_path"] == trained
    served = Settings.from_env(
        {"STICKERBOT_BACKBONE": "openai:http://127.0.0.1:1/v1", "STICKERBOT_ADAPTER": "/a"}
    )
    with pytest.raises(UserError, match="STICKERBOT_ADAPTER"):
        backbone_options(served)


@pytest.mark.parametrize("task", ["chat", "ret"])
def test_training_a_served_backbone_names_the_setting(task, tmp_path):
    """A model behind an openai: URL has no weights here: both trainers say which setting to change,
    before any indexing or loading."""
    from stickerbot.config import Settings
    from stickerbot.retrieval_tokens.build import train_ret
    from stickerbot.retrieval_tokens.train import TrainConfig
    from stickerbot.tuning.build import train_chat

    settings = Settings.from_env(
        {"STICKERBOT_DATA_DIR": str(tmp_path / "data"), "STICKERBOT_BACKBONE": "openai:http://127.0.0.1:1/v1"}
    )
    run = {"chat": lambda: train_chat(settings), "ret": lambda: train_ret(settings, config=TrainConfig())}
    with pytest.raises(BackboneError, match="weights in this process.*STICKERBOT_BACKBONE"):
        run[task]()
    data = tmp_path / "data"
    assert not data.exists() or not any(data.iterdir())  # nothing indexed or converted first


@pytest.mark.slow
def test_train_chat_command_on_a_local_model_folder(tmp_path, monkeypatch, capsys):
    """`train chat` on an hf: folder: writes the adapter the chat then loads, merged."""
    from stickerbot.cli import main
    from stickerbot.config import Settings
    from stickerbot.services import open_backbone

    folder = save_tiny_model(tmp_path / "tiny-model")
    monkeypatch.setenv("STICKERBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STICKERBOT_BACKBONE", f"hf:{folder}")
    assert main(["train", "chat", "--steps", "2", "--batch-size", "4", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    adapter = tmp_path / "data" / "adapters" / summary["adapter"].rsplit("/", 1)[-1]
    assert summary["steps"] == 2 and is_adapter(adapter)
    backbone = open_backbone(Settings.from_env())
    assert not any("lora" in name for name, _ in backbone.model.named_parameters())
    plain = open_backbone(Settings.from_env({**dict(__import__("os").environ), "STICKERBOT_ADAPTER": "off"}))
    a, b = (
        backbone.model.model.layers[0].self_attn.q_proj.weight,
        plain.model.model.layers[0].self_attn.q_proj.weight,
    )
    assert not torch.allclose(a, b)  # the update is in the weights: decoding costs nothing more
    assert main(["train", "chat", "--steps", "2", "--batch-size", "4", "--json"]) == 0  # done: nothing to do
    assert json.loads(capsys.readouterr().out)["resumed_from"] == 2
