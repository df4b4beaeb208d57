"""Continuous batching on the CPU fast loop: one batched step equals each sequence's own step,
requests that arrive together or midway decode together and get what they would alone, and
concurrent callers of the backbone share the batch."""

from __future__ import annotations

import os
import threading

import pytest
import torch

from stickerbot.backbones.batching import OWNER_PROBE_TOKENS, ContinuousBatcher
from stickerbot.backbones.fast_llama import FastLlamaBackbone
from stickerbot.backbones.llama_decoder import FastLlamaDecoder, KVSlab, Sampling, int8_matmul_available
from tests.helpers_models import tiny_llama, tiny_tokenizer

PROMPTS = [[1, 4, 9, 10, 11], [1, 4, 9, 12, 13, 14, 15, 16], [1, 17, 18]]


@pytest.fixture(scope="module")
def tiny():
    tokenizer = tiny_tokenizer()
    return tokenizer, tiny_llama(len(tokenizer), hidden=64)


def alone(model, prompt, n: int) -> list[int]:
    """Greedy tokens for ``prompt`` decoded by itself."""
    batcher = ContinuousBatcher(FastLlamaDecoder(model, int8=False), threaded=False)
    request = batcher.submit(prompt, max_new_tokens=n, sampling=Sampling(), eos_ids=set())
    batcher.run_until_idle()
    return list(request.tokens())


@pytest.mark.parametrize("int8", [False, True])
def test_a_batched_step_equals_each_sequence_stepped_alone(tiny, int8):
    if int8 and not int8_matmul_available():
        pytest.skip("no CPU int8 weight-only kernel in this torch")
    _, model = tiny
    decoder = FastLlamaDecoder(model, int8=int8)
    caches = [decoder.new_cache() for _ in PROMPTS]
    for prompt, cache in zip(PROMPTS, caches, strict=True):
        decoder.prefill(prompt, cache)
    batched = decoder.step_many([5, 6, 7], caches)
    for prompt, token, row in zip(PROMPTS, [5, 6, 7], batched, strict=True):
        reference = FastLlamaDecoder(model, int8=int8)
        reference.prefill(prompt)
        # The int8 kernel takes a few rows at once (INT8_MAX_ROWS) and rounds each row alike.
        assert torch.allclose(row, reference.step(token), atol=1e-4)
    assert [len(c.ids) for c in caches] == [len(p) + 1 for p in PROMPTS]


def test_slots_of_a_slab_attend_together_and_equal_each_sequence_alone(tiny):
    """Stepping slots 0, 2 and 3 of a slab (slot 1 free, every length different), in one
    attention product per layer, gives each sequence's own step; the slab that grows its room
    in the middle of a conversation keeps what every slot held."""
    _, model = tiny
    decoder = FastLlamaDecoder(model, int8=False)
    slab = KVSlab(decoder.shape, max_slots=4, tokens=8)
    caches = [slab.new_cache() for _ in range(4)]
    prompts = [PROMPTS[0], [1, 20, 21], PROMPTS[1], PROMPTS[2]]
    for prompt, cache in zip(prompts, caches, strict=True):
        decoder.prefill(prompt, cache)
    stepping = [caches[0], caches[2], caches[3]]
    references = []
    for prompt in (prompts[0], prompts[2], prompts[3]):
        reference = FastLlamaDecoder(model, int8=False)
        reference.prefill(prompt)
        references.append(reference)
    for token in (5, 6, 7, 8):  # PROMPTS[1] (8 tokens) outgrows the slab's 8 on the first step
        batched = decoder.step_many([token] * 3, stepping)
        for row, reference in zip(batched, references, strict=True):
            assert torch.allclose(row, reference.step(token), atol=1e-4)
    assert slab.keys.shape[3] == 16 and slab.keys.shape[1] == 4
    assert caches[1].ids == [1, 20, 21]  # the free slot's prompt is still there to be reused
    again = FastLlamaDecoder(model, int8=False)
    assert torch.allclose(
        decoder.prefill([1, 20, 21, 22], caches[1]), again.prefill([1, 20, 21, 22]), atol=1e-4
    )


def test_prompts_prefilled_together_equal_each_prefilled_alone(tiny):
    """Three prompts in one pass, one cache already holding the start of its prompt (only the
    rest is computed) and one prompt a single new token: each gets the logits and the cache
    that prefilling it alone gives."""
    _, model = tiny
    decoder = FastLlamaDecoder(model, int8=False)
    slab = KVSlab(decoder.shape, max_slots=3)
    caches = [slab.new_cache() for _ in range(3)]
    decoder.prefill(PROMPTS[1][:5], caches[1])  # a cached beginning, as a system prompt is
    prompts = [PROMPTS[0], PROMPTS[1], [7]]
    together = decoder.prefill_many(prompts, caches)
    for prompt, cache, logits in zip(prompts, caches, together, strict=True):
        alone = FastLlamaDecoder(model, int8=False)
        assert torch.allclose(logits, alone.prefill(prompt), atol=1e-4)
        n = len(prompt)
        assert cache.ids == prompt
        assert torch.allclose(cache.keys[:, :, :n], alone.cache.keys[:, :, :n], atol=1e-5)
    with pytest.raises(ValueError, match="one cache per prompt"):
        decoder.prefill_many(prompts, caches[:2])


def test_a_slab_hands_out_at_most_its_slots(tiny):
    _, model = tiny
    slab = KVSlab(FastLlamaDecoder(model, int8=False).shape, max_slots=3)
    assert [slab.new_cache().slot for _ in range(3)] == [0, 1, 2] and slab.full
    assert slab.keys.shape[1] == 3  # grown 1 -> 2 -> 3, never past max_slots
    with pytest.raises(ValueError, match="slots"):
        slab.new_cache()


def test_requests_arriving_together_and_midway_decode_together(tiny):
    _, model = tiny
    expected = [alone(model, p, 10) for p in PROMPTS]
    batcher = ContinuousBatcher(FastLlamaDecoder(model, int8=False), threaded=False)
    first = [batcher.submit(p, max_new_tokens=10, sampling=Sampling(), eos_ids=set()) for p in PROMPTS[:2]]
    for _ in range(3):
        batcher.iterate()
    late = batcher.submit(PROMPTS[2], max_new_tokens=10, sampling=Sampling(), eos_ids=set())  # joins midway
    batcher.run_until_idle()
    assert [list(r.tokens()) for r in [*first, late]] == expected
    assert batcher.widest_step == 3
    assert batcher.widest_prefill == 2  # the first two arrived together: one prefill pass


def test_a_cancelled_request_leaves_and_its_cache_is_reused(tiny, monkeypatch):
    _, model = tiny
    batcher = ContinuousBatcher(FastLlamaDecoder(model, int8=False), threaded=False)
    kept = batcher.submit(PROMPTS[0], max_new_tokens=8, sampling=Sampling(), eos_ids=set())
    dropped = batcher.submit(PROMPTS[1], max_new_tokens=50, sampling=Sampling(), eos_ids=set())
    batcher.iterate()
    dropped.cancel()
    batcher.run_until_idle()
    assert len(list(kept.tokens())) == 8 and len(list(dropped.tokens())) <= 2
    # The next prompt that starts like the first one takes its cache: only its new token is
    # computed at admission.
    computed: list[int] = []
    forward = batcher.decoder._forward
    monkeypatch.setattr(
        batcher.decoder, "_forward", lambda ids, cache=None: computed.append(len(ids)) or forward(ids, cache)
    )
    again = batcher.submit(PROMPTS[0] + [20], max_new_tokens=1, sampling=Sampling(), eos_ids=set())
    batcher.run_until_idle()
    assert computed == [1] and len(list(again.tokens())) == 1


def _computed(batcher, monkeypatch) -> list[int]:
    """The number of tokens each admitted prompt computes, from now on."""
    computed: list[int] = []
    uncached = batcher.decoder._uncached

    def counting(prompt, cache):
        new = uncached(prompt, cache)
        computed.append(len(new))
        return new

    monkeypatch.setattr(batcher.decoder, "_uncached", counting)
    return computed


def _turn(batcher, prompt, n: int = 2) -> list[int]:
    request = batcher.submit(prompt, max_new_tokens=n, sampling=Sampling(), eos_ids=set())
    batcher.run_until_idle()
    return list(request.tokens())


SYSTEM = [1, 2, 3, 4, 5, 6]


def test_a_moved_window_takes_its_own_slot_not_another_conversations(tiny, monkeypatch):
    """Two conversations share the system prompt; when one's history window moves (its prompt
    now shares only the system prompt with every slot) it takes back its own slot, found by the
    turns that slot holds further on, and the other conversation's next turn still computes only
    its new tokens."""
    _, model = tiny
    batcher = ContinuousBatcher(FastLlamaDecoder(model, int8=False), threaded=False)
    a_turns, b_turns = list(range(7, 7 + OWNER_PROBE_TOKENS)), [15, 16, 17, 18]
    b_first = SYSTEM + b_turns
    a_first = SYSTEM + [19, 20] + a_turns  # A's first exchange, then the turns its window keeps
    for prompt in (b_first, a_first):  # at once: B in slot 0, A in slot 1
        batcher.submit(prompt, max_new_tokens=2, sampling=Sampling(), eos_ids=set())
    batcher.run_until_idle()
    computed = _computed(batcher, monkeypatch)
    _turn(batcher, SYSTEM + a_turns + [21])  # A's window moved past [19, 20]
    b_reply = _turn(batcher, b_first + [22])
    assert computed == [len(a_turns) + 1, 1]
    assert b_reply == alone(model, b_first + [22], 2)


def test_a_new_slot_copies_the_system_prompt_another_slot_holds(tiny, monkeypatch):
    """Two conversations at once need two slots; the second slot is new and empty, but the
    prefix the first holds is copied into it, not computed again, and the reply is the same."""
    _, model = tiny
    batcher = ContinuousBatcher(FastLlamaDecoder(model, int8=False), threaded=False)
    _turn(batcher, SYSTEM + [20])  # the system prompt in slot 0
    computed = _computed(batcher, monkeypatch)
    first = batcher.submit(SYSTEM + [21, 22], max_new_tokens=6, sampling=Sampling(), eos_ids=set())
    batcher.iterate()  # slot 0 taken and stepping
    second = batcher.submit(SYSTEM + [23, 24, 25], max_new_tokens=6, sampling=Sampling(), eos_ids=set())
    batcher.run_until_idle()
    assert computed == [2, 3]  # only what follows the system prompt, in both slots
    assert len(batcher.slab.caches) == 2
    assert list(first.tokens()) == alone(model, SYSTEM + [21, 22], 6)
    assert list(second.tokens()) == alone(model, SYSTEM + [23, 24, 25], 6)
    assert batcher.cached(SYSTEM + [23, 24, 25, 7]) == len(SYSTEM) + 3  # its prompt, in its slot


def test_a_sampled_reply_depends_on_its_prompt_not_on_what_decodes_beside_it(tiny):
    """Sampling draws from a generator seeded by the request's prompt: the same prompt samples
    the same tokens alone, after other sampled requests, or beside them in one batch."""
    _, model = tiny
    hot = Sampling(temperature=1.5, top_p=1.0)

    def sample(batcher, prompt):
        return batcher.submit(prompt, max_new_tokens=12, sampling=hot, eos_ids=set())

    lone = ContinuousBatcher(FastLlamaDecoder(model, int8=False), threaded=False)
    alone_request = sample(lone, PROMPTS[0])
    lone.run_until_idle()
    crowded = ContinuousBatcher(FastLlamaDecoder(model, int8=False), threaded=False)
    for prompt in (PROMPTS[1], PROMPTS[2]):  # earlier sampled turns of other sessions
        sample(crowded, prompt)
    crowded.run_until_idle()
    beside = [sample(crowded, PROMPTS[2]), sample(crowded, PROMPTS[0]), sample(crowded, PROMPTS[1])]
    crowded.run_until_idle()
    tokens = list(alone_request.tokens())
    assert len(tokens) == 12 and list(beside[1].tokens()) == tokens


def test_a_request_too_long_for_the_model_fails_alone(tiny):
    _, model = tiny
    batcher = ContinuousBatcher(FastLlamaDecoder(model, int8=False), threaded=False)
    ok = batcher.submit(PROMPTS[0], max_new_tokens=4, sampling=Sampling(), eos_ids=set())
    too_long = batcher.submit(list(range(8, 20)) * 20, max_new_tokens=4, sampling=Sampling(), eos_ids=set())
    batcher.run_until_idle()
    assert len(list(ok.tokens())) == 4
    with pytest.raises(Exception, match="longer than the model"):
        list(too_long.tokens())


def test_concurrent_callers_share_the_batch_and_get_their_own_replies(tiny):
    tokenizer, model = tiny
    fast = FastLlamaBackbone(model, tokenizer, name="tiny", int8=False)
    messages = [
        [{"role": "user", "content": text}] for text in ("hello cat", "the dog", "a cat and a dog", "hi")
    ]
    expected = [fast.generate(m, max_new_tokens=24).text for m in messages]
    got: dict[int, str] = {}
    barrier = threading.Barrier(len(messages))

    def call(i: int) -> None:
        barrier.wait()
        got[i] = fast.generate(messages[i], max_new_tokens=24).text

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(messages))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [got[i] for i in range(len(messages))] == expected


def test_the_decoding_thread_widens_only_its_own_torch_threads():
    """The batcher's thread takes the cores for itself; other threads, and threads made after
    it, keep their own count (else they would make parallel teams too: backbones/threads.py)."""
    from stickerbot.backbones.threads import widen_this_thread

    before = torch.get_num_threads()
    wide = before + 1
    seen: dict[str, int] = {}

    def decoder_thread() -> None:
        seen["decoder"] = widen_this_thread(wide)

    def later_thread() -> None:
        seen["later"] = torch.get_num_threads()

    for target in (decoder_thread, later_thread):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    assert seen["decoder"] == wide
    assert torch.get_num_threads() == before and seen["later"] != wide


def test_start_up_work_runs_with_every_core_in_a_thread_that_ends():
    from stickerbot.backbones.threads import run_with_all_cores

    before = torch.get_num_threads()
    ran: dict[str, object] = {}

    def work() -> int:
        ran["thread"] = threading.current_thread()
        ran["threads"] = torch.get_num_threads()
        return 7

    assert run_with_all_cores(work) == 7
    assert ran["thread"] is not threading.current_thread() and not ran["thread"].is_alive()
    assert ran["threads"] == (os.cpu_count() or 1) and torch.get_num_threads() == before

    def broken() -> None:
        raise RuntimeError("no model here")

    with pytest.raises(RuntimeError, match="no model here"):
        run_with_all_cores(broken)
