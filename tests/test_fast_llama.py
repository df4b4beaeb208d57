"""The CPU fast loop reproduces transformers' Llama exactly in fp32 and closely in int8."""

from __future__ import annotations

import pytest
import torch

from stickerbot.backbones import create_backbone, llama_decoder
from stickerbot.backbones.base import prime
from stickerbot.backbones.fast_llama import (
    FastLlamaBackbone,
    FastLlamaDecoder,
    IncrementalDetokenizer,
    LlamaShape,
    Sampling,
    UnsupportedModel,
    choose_token,
    int8_matmul_available,
)
from stickerbot.backbones.transformers_chat import TransformersChatBackbone
from tests.helpers_models import tiny_llama, tiny_tokenizer

HELLO = [{"role": "user", "content": "hello cat"}]
IDS = [1, 4, 9, 10, 11, 5, 12, 13, 4, 8, 17, 18, 19, 20]


@pytest.fixture(scope="module")
def tiny():
    tokenizer = tiny_tokenizer()
    # hidden 64: the int8 kernel wants whole 32-wide blocks of the inner dimension.
    return tokenizer, tiny_llama(len(tokenizer), hidden=64)


def hf_logits(model, ids):
    with torch.inference_mode():
        return model(torch.tensor([ids])).logits[0]


def test_fp32_loop_equals_transformers(tiny):
    _, model = tiny
    decoder = FastLlamaDecoder(model, int8=False)
    assert torch.allclose(decoder.logits(IDS), hf_logits(model, IDS), atol=1e-4)


def test_cached_prefix_is_reused_and_gives_the_same_logits(tiny, monkeypatch):
    _, model = tiny
    decoder = FastLlamaDecoder(model, int8=False)
    computed: list[int] = []
    forward = decoder._forward
    monkeypatch.setattr(
        decoder, "_forward", lambda ids, cache=None: computed.append(len(ids)) or forward(ids, cache)
    )
    decoder.prefill(IDS[:10])
    extended = decoder.prefill(IDS)  # same first 10 tokens: only the last 4 are computed
    assert computed == [10, 4] and decoder.cached_tokens == len(IDS)
    assert torch.allclose(extended, hf_logits(model, IDS)[-1], atol=1e-4)
    changed = IDS[:6] + [16, 15]
    logits = decoder.prefill(changed)  # diverges after 6: the rest of the cache is dropped
    assert computed[-1] == 2 and decoder.cached_tokens == len(changed)
    assert torch.allclose(logits, hf_logits(model, changed)[-1], atol=1e-4)
    decoder.prefill(changed)  # identical prompt: the last token is recomputed for its logits
    assert computed[-1] == 1


def test_cache_grows_past_its_first_allocation(tiny, monkeypatch):
    _, model = tiny
    monkeypatch.setattr(llama_decoder, "INITIAL_CACHE_TOKENS", 4)
    decoder = FastLlamaDecoder(model, int8=False)
    assert decoder._keys.shape[2] == 4
    assert torch.allclose(decoder.logits(IDS), hf_logits(model, IDS), atol=1e-4)
    assert decoder._keys.shape[2] >= len(IDS)
    with pytest.raises(Exception, match="longer than the model"):
        decoder.prefill(list(range(8, 20)) * 20)  # 240 tokens > 128 positions


@pytest.mark.skipif(not int8_matmul_available(), reason="no CPU int8 weight-only kernel in this torch")
def test_int8_logits_stay_close_to_fp32(tiny):
    _, model = tiny
    reference = hf_logits(model, IDS)
    quantized = FastLlamaDecoder(model, int8=True).logits(IDS)
    error = (quantized - reference).norm(dim=-1) / reference.norm(dim=-1)
    assert float(error.max()) < 0.05
    # The one-token steps go through the int8 kernel (the first position is a prompt of one).
    assert FastLlamaDecoder(model, int8=True).layers[0].qkv.weight.dtype == torch.int8


def test_the_heads_int8_ranker_ranks_like_fp32_and_each_row_alone():
    """The head's int8-activation product: close to fp32, its best candidates hold fp32's best,
    and a row's result does not depend on the rows beside it (a row a thousand times larger
    in the same batch changes nothing)."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(500, 64, generator=generator)
    head = llama_decoder.Linear([weight], int8=True, ranks=True)
    if head.ranker is None:
        pytest.skip("no dynamic int8 product in this torch")
    x = torch.randn(3, 64, generator=generator)
    exact = x @ weight.T
    alone = head(x[:1], step=True)
    assert float((alone - exact[:1]).norm() / exact[:1].norm()) < 0.05
    top = alone.topk(llama_decoder.EXACT_HEAD_CANDIDATES).indices[0]
    assert int(exact[0].argmax()) in top.tolist()
    batch = torch.cat([x[:1], 1000 * x[1:]])
    assert torch.equal(head(batch, step=True)[:1], alone)
    # Outside a step (a prompt's rows) the head is the weight-only product, not the ranker.
    assert not torch.equal(head(x[:1]), alone)
    assert llama_decoder.Linear([weight], int8=True).ranker is None


@pytest.mark.skipif(not int8_matmul_available(), reason="no CPU int8 weight-only kernel in this torch")
def test_wide_bf16_products_for_prompts_stay_close_to_fp32(tiny):
    """With ``wide`` a prompt's many rows go through bf16 copies of the weights: the prompt's
    keys and logits stay close to fp32's. Without, the prompt's keys are fp32's exactly, so the
    difference shows which path was taken."""
    _, model = tiny
    fp32 = FastLlamaDecoder(model, int8=False)
    reference = fp32.prefill(IDS)
    wide = FastLlamaDecoder(model, int8=True, wide=True)
    narrow = FastLlamaDecoder(model, int8=True, wide=False)
    assert wide.layers[0].gate_up.wide.dtype == torch.bfloat16 and narrow.layers[0].gate_up.wide is None
    got = wide.prefill(IDS)
    narrow.prefill(IDS)
    n = len(IDS)
    keys = fp32.cache.keys[:, :, :n]
    assert torch.equal(narrow.cache.keys[:, :, :n], keys)
    assert not torch.equal(wide.cache.keys[:, :, :n], keys)
    assert float((wide.cache.keys[:, :, :n] - keys).norm() / keys.norm()) < 0.02
    assert float((got - reference).norm() / reference.norm()) < 0.05


def test_backbone_generates_what_transformers_generates(tiny):
    tokenizer, model = tiny
    fast = FastLlamaBackbone(model, tokenizer, name="tiny", int8=False)
    slow = TransformersChatBackbone(model, tokenizer, name="tiny")
    pieces: list[str] = []
    result = fast.generate(HELLO, max_new_tokens=8, on_token=pieces.append)
    expected = slow.generate(HELLO, max_new_tokens=8)
    assert result.text == expected.text and result.new_tokens == expected.new_tokens == 8
    assert "".join(pieces) == result.text and result.prompt_tokens == expected.prompt_tokens
    assert 0 < result.seconds_to_first_token <= result.seconds_total


def test_stop_eos_and_priming(tiny):
    tokenizer, model = tiny
    fast = FastLlamaBackbone(model, tokenizer, name="tiny", int8=False)
    stopped = fast.generate(HELLO, max_new_tokens=12, stop=lambda text: len(text.split()) >= 3)
    assert len(stopped.text.split()) == 3 and stopped.new_tokens == 3
    # Make the first generated word an end-of-sequence token: nothing is generated.
    first_id = tokenizer(stopped.text.split()[0], add_special_tokens=False)["input_ids"][0]
    fast.eos_ids = {first_id}
    assert fast.generate(HELLO, max_new_tokens=12).new_tokens == 0
    system = [{"role": "system", "content": "be good"}]
    length = fast.prime(system)
    assert fast.batcher.cached(fast.prompt_token_ids(system)) == length
    # What the chat's warm-up calls: the fast loop declares it can keep a primed prompt.
    longer = [{"role": "system", "content": "be good and kind"}]
    assert fast.capabilities.prime and prime(fast, longer)
    assert fast.batcher.cached(fast.prompt_token_ids(longer)) == len(fast.prompt_token_ids(longer))


def test_choose_token_greedy_penalty_and_sampling():
    logits = torch.tensor([1.0, 3.0, 2.9, -1.0])
    assert choose_token(logits, [], Sampling()) == 1
    # Token 1 was already generated: a 1.1 penalty makes 3.0 -> 2.73, below 2.9.
    assert choose_token(logits, [1], Sampling(repetition_penalty=1.1)) == 2
    assert logits[1] == 3.0  # the caller's logits are not changed
    generator = torch.Generator().manual_seed(0)
    picks = {choose_token(logits, [], Sampling(temperature=1.0, top_p=0.5), generator) for _ in range(50)}
    assert picks == {1, 2}  # top_p 0.5 keeps the two best (3.0 alone has under half the mass)


def test_incremental_detokenizer_joins_to_the_full_text(tiny):
    tokenizer, _ = tiny
    ids = tokenizer("hello there cat", add_special_tokens=False)["input_ids"]
    detokenizer = IncrementalDetokenizer(tokenizer)
    assert "".join(detokenizer.add(i) for i in ids) == tokenizer.decode(ids) == detokenizer.text


def test_unsupported_models_are_refused(tiny):
    _, model = tiny
    config = model.config.to_dict()
    from transformers import LlamaConfig, MistralConfig

    with pytest.raises(UnsupportedModel, match="mistral"):
        LlamaShape.from_config(MistralConfig())
    scaled = LlamaConfig(**{**config, "rope_scaling": {"rope_type": "linear", "factor": 2.0}})
    with pytest.raises(UnsupportedModel, match="rope"):
        LlamaShape.from_config(scaled)
    biased = LlamaConfig(**{**config, "attention_bias": True})
    with pytest.raises(UnsupportedModel, match="bias"):
        LlamaShape.from_config(biased)


def test_smollm2_on_cpu_uses_the_fast_loop_unless_told_not_to(monkeypatch, tmp_path, tiny):
    from stickerbot.backbones import smollm2

    tokenizer, model = tiny
    cache = tmp_path / "smollm2"
    model.save_pretrained(cache)
    tokenizer.save_pretrained(cache)
    (cache / smollm2._DONE_MARKER).write_text("test\n")
    monkeypatch.setattr(smollm2, "wheel_gguf_path", lambda: tmp_path / "fake.gguf")
    fast = create_backbone("smollm2-135m", cache_dir=cache, device="cpu")
    assert isinstance(fast, FastLlamaBackbone) == int8_matmul_available()
    plain = create_backbone("smollm2-135m", cache_dir=cache, device="cpu", fast=False)
    assert type(plain) is TransformersChatBackbone
    with pytest.raises(Exception, match="quantize_4bit"):
        create_backbone("smollm2-135m", cache_dir=cache, device="cpu", fast=True, quantize_4bit=True)
