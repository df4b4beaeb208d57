"""`python -m stickerbot bench chat`: how fast a chat turn is on the configured backbone.

Runs N English messages of the chat dev set (varied emotions, factual questions too)
through ``ChatService.reply`` and reports time to first token (from the start of the
turn, so perception, memory lookup and the check of the first sentence are inside it; also
over the turns the model's words answered alone), decode tokens/s (the backbone's own
clock), full-turn p50/p95 and the share of a turn spent outside the backbone's generation
(perception, memory, reply checks and selection, sticker choice). Then
the same prompts go through the backbone's bare ``generate()`` for the same number of
new tokens, so the pipeline's cost shows as a ratio. Peak RSS is the process's.
"""

from __future__ import annotations

import json
import resource
import time

import numpy as np

from stickerbot.chat.policy import Frequency
from stickerbot.chat.types import ChatOptions
from stickerbot.config import EVAL_DIR, Settings
from stickerbot.errors import UserError
from stickerbot.evaluation.chat import load_chat_messages
from stickerbot.services import open_backbone, open_chat, open_library

WARMUP = 2


def bench_messages(n: int, lang: str = "en") -> list[str]:
    items = [m.message for m in load_chat_messages(EVAL_DIR / "chat_dev.jsonl") if m.lang == lang]
    if n > len(items):
        items = (items * (n // len(items) + 1))[:n]
    return items[:n]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_chat_benchmark(settings: Settings, *, n: int = 40, json_out: bool = False) -> dict:
    if n < 1:
        raise UserError("bench chat needs at least one message")
    t0 = time.perf_counter()
    services = open_library(settings, progress=not json_out)
    t1 = time.perf_counter()
    backbone = open_backbone(settings)
    t2 = time.perf_counter()
    chat = open_chat(settings, services, backbone=backbone, progress=not json_out)
    t3 = time.perf_counter()
    options = ChatOptions(
        frequency=Frequency.OCCASIONAL, max_new_tokens=settings.max_new_tokens, language=settings.language
    )
    messages = bench_messages(n + WARMUP)
    turns = []
    for i, message in enumerate(messages):
        reply = chat.reply([], message, options=options)
        plan = chat.plan([], message, options=options)
        if i < WARMUP:
            continue
        turns.append((message, reply, chat.messages_for(plan, [], message)))
    # The bare backbone: the same prompts, the same number of new tokens, nothing around it.
    bare = []
    for _, reply, prompt in turns:
        new = reply.tokens.get("new", 0)
        if new < 1:
            continue
        result = backbone.generate(prompt, max_new_tokens=new, temperature=0.0)
        bare.append((reply, result))

    total = np.array([r.timings["total"] for _, r, _ in turns])
    first = np.array([r.timings["first_token"] for _, r, _ in turns])
    # Turns answered by the model's own words: their first piece waited for a checked sentence.
    first_model = np.array([r.timings["first_token"] for _, r, _ in turns if r.source == "model"])
    # The share of a turn spent outside generation, over the turns the backbone ran in (a
    # backbone trusted only with some intents, like the offline default, is not run for the
    # rest: those turns are all overhead and are timed in full above).
    ran = [r for _, r, _ in turns if r.timings.get("model", 0.0) > 0]
    overhead = np.array([r.timings["overhead"] / r.timings["total"] for r in ran]) if ran else np.zeros(0)
    decode = [
        (r.tokens["new"] - 1) / ((r.tokens["model_ms_total"] - r.tokens["model_ms_to_first_token"]) / 1000)
        for _, r, _ in turns
        if r.tokens.get("new", 0) > 1 and r.tokens["model_ms_total"] > r.tokens["model_ms_to_first_token"]
    ]
    pipeline_s = sum(r.timings["total"] for r, _ in bare)
    bare_s = sum(res.seconds_total for _, res in bare)
    result = {
        "backbone": backbone.name,
        "turns": len(turns),
        "stickers_sent": sum(r.sticker is not None for _, r, _ in turns),
        "new_tokens_mean": round(float(np.mean([r.tokens.get("new", 0) for _, r, _ in turns])), 1),
        "first_token_s": {
            "p50": round(float(np.median(first)), 3),
            "p95": round(float(np.percentile(first, 95)), 3),
        },
        "first_token_model_replies_s": {
            "n": len(first_model),
            "p50": round(float(np.median(first_model)), 3) if len(first_model) else None,
            "p95": round(float(np.percentile(first_model, 95)), 3) if len(first_model) else None,
        },
        "sources": {s: sum(r.source == s for _, r, _ in turns) for s in ("model", "memory", "strategy")},
        "decode_tokens_per_s": round(float(np.median(decode)), 1) if decode else None,
        "turn_s": {
            "p50": round(float(np.median(total)), 3),
            "p95": round(float(np.percentile(total, 95)), 3),
        },
        "non_generation_share": {
            "turns": len(ran),
            "mean": round(float(overhead.mean()), 3) if len(ran) else None,
            "p95": round(float(np.percentile(overhead, 95)), 3) if len(ran) else None,
        },
        "bare_generate": {
            "turns": len(bare),
            "seconds": round(bare_s, 2),
            "pipeline_seconds": round(pipeline_s, 2),
            "pipeline_over_bare": round(pipeline_s / bare_s, 3) if bare_s else None,
            "decode_tokens_per_s": round(
                float(np.median([res.tokens_per_second for _, res in bare if res.new_tokens > 1])), 1
            )
            if bare
            else None,
        },
        "startup_s": {
            "library": round(t1 - t0, 2),
            "backbone": round(t2 - t1, 2),
            "memory": round(t3 - t2, 2),
        },
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if json_out:
        print(json.dumps(result, indent=2))
    else:
        b = result["bare_generate"]
        print(f"chat turns on {result['backbone']}: {result['turns']} English messages (+{WARMUP} warm-up)")
        print(
            f"  first token      p50 {result['first_token_s']['p50']:.3f} s   p95 {result['first_token_s']['p95']:.3f} s"
        )
        fm = result["first_token_model_replies_s"]
        if fm["n"]:
            print(f"    model's words  p50 {fm['p50']:.3f} s   p95 {fm['p95']:.3f} s ({fm['n']} turns)")
        print(f"  reply from       {result['sources']}")
        print(
            f"  decode           {result['decode_tokens_per_s']} tokens/s (mean {result['new_tokens_mean']} new tokens)"
        )
        print(f"  full turn        p50 {result['turn_s']['p50']:.3f} s   p95 {result['turn_s']['p95']:.3f} s")
        ng = result["non_generation_share"]
        if ng["turns"]:
            print(
                f"  not generation   mean {100 * ng['mean']:.1f}% of a turn "
                f"(p95 {100 * ng['p95']:.1f}%) over the {ng['turns']} turns the backbone ran in"
            )
        else:
            print("  not generation   the backbone ran in none of the turns")
        print(
            f"  bare generate()  {b['seconds']:.2f} s for the same tokens vs {b['pipeline_seconds']:.2f} s "
            f"through the pipeline (x{b['pipeline_over_bare']}); {b['decode_tokens_per_s']} tokens/s"
        )
        print(f"  stickers sent    {result['stickers_sent']} of {result['turns']} turns")
        s = result["startup_s"]
        print(
            f"  startup          library {s['library']} s, backbone {s['backbone']} s, memory {s['memory']} s"
        )
        print(f"  peak RSS         {result['peak_rss_mb']:.0f} MB")
    return result
