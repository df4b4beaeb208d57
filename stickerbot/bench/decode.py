"""`python -m stickerbot bench decode`: the configured backbone's decoding when several
conversations generate at once (continuous batching on the CPU fast loop).

For each N of ``--streams`` (default 1, 4, 8, 16), N threads each ask, one after another, for
``--replies`` replies of at most ``--tokens`` new tokens to different chat messages, all
starting at once (a stream's next reply joins the batch as soon as its last one ends, as a
user's next turn would). Reported: the new tokens per second over all streams (replies that
end early count what they made), its ratio to one stream alone, and the p50 / p95 time a reply
takes.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np

from stickerbot.bench.app import run_together
from stickerbot.config import Settings

MESSAGES = [
    "I got the job!!!",
    "ugh my train is late again",
    "lol my cat just knocked my coffee over",
    "I miss my grandma so much",
    "thank you for listening yesterday",
    "what's the capital of Peru?",
    "so tired today",
    "my best friend forgot my birthday",
]


def _round(backbone, streams: int, tokens: int, replies: int) -> dict:
    seconds: list[float] = []
    made: list[int] = []
    errors: list[str] = []
    barrier = threading.Barrier(streams)

    def stream(n: int) -> None:
        barrier.wait()
        for r in range(replies):
            try:
                text = MESSAGES[(n + r * streams) % len(MESSAGES)] + f" ({n}.{r})"
                start = time.perf_counter()
                result = backbone.generate([{"role": "user", "content": text}], max_new_tokens=tokens)
                seconds.append(time.perf_counter() - start)
                made.append(result.new_tokens)
            except Exception as err:  # reported, the other streams go on
                errors.append(f"{type(err).__name__}: {err}")

    wall = run_together(stream, streams)
    return {
        "streams": streams,
        "replies": len(made),
        "new_tokens": int(sum(made)),
        "tokens_per_s": round(sum(made) / wall, 1),
        "reply_s_p50": round(float(np.median(seconds)), 2) if seconds else None,
        "reply_s_p95": round(float(np.percentile(seconds, 95)), 2) if seconds else None,
        "errors": errors,
    }


def run_decode_benchmark(
    settings: Settings,
    *,
    streams: tuple[int, ...] = (1, 4, 8, 16),
    tokens: int = 48,
    replies: int = 4,
    json_out: bool = False,
) -> dict:
    from stickerbot.services import open_backbone

    backbone = open_backbone(settings)
    backbone.generate([{"role": "user", "content": "hi"}], max_new_tokens=4)  # warm-up
    rounds = [_round(backbone, n, tokens, replies) for n in streams]
    single = next((r["tokens_per_s"] for r in rounds if r["streams"] == 1), None)
    for r in rounds:
        r["speedup_vs_1"] = round(r["tokens_per_s"] / single, 2) if single else None
    result = {
        "backbone": settings.backbone,
        "tokens_per_reply": tokens,
        "replies_per_stream": replies,
        "rounds": rounds,
    }
    if json_out:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"decode ({settings.backbone}): {replies} replies per stream, one after another, up to {tokens} "
            "new tokens each; streams started together"
        )
        print("  streams   tokens/s   vs 1   reply p50   reply p95   errors")
        for r in rounds:
            print(
                f"  {r['streams']:>7}   {r['tokens_per_s']:>8.1f}   {r['speedup_vs_1'] or 0:>4.1f}x"
                f"   {r['reply_s_p50'] or 0:>7.2f} s   {r['reply_s_p95'] or 0:>7.2f} s   {len(r['errors']):>6}"
            )
    return result
