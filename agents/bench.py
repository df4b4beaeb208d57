"""`python -m agents.bench`: how the dialogue agents scale with --workers.

    python -m agents.bench                          # 32 sessions, 0.1 s per model call
    python -m agents.bench --sessions 8 --delay 0.05 --json

Starts the fake OpenAI-compatible server (``agents/fake_server.py``) with a fixed delay per
call, as a remote model would have, and generates the same sessions with 1 worker and with
8 (fresh output files, the same seed), through the real openai: backbone, the real sticker
library search and the whole pipeline. Reports sessions/s for each and the ratio: with the
model's latency dominating, 8 workers should come close to 8x.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from agents.config import CallPolicy, GenerationConfig
from agents.fake_server import FakeChatServer
from agents.generate import run
from agents.llm import AgentLLM
from stickerbot.backbones import create_backbone
from stickerbot.config import Settings
from stickerbot.errors import UserError
from stickerbot.services import open_library


def run_agents_benchmark(
    settings: Settings,
    *,
    sessions: int = 32,
    delay: float = 0.1,
    workers: tuple[int, ...] = (1, 8),
    json_out: bool = False,
) -> dict:
    if sessions < 1:
        raise UserError("the agents benchmark needs at least one session")
    t0 = time.perf_counter()
    services = open_library(settings, progress=not json_out)
    library_s = time.perf_counter() - t0
    runs = {}
    with FakeChatServer(delay=delay) as server, tempfile.TemporaryDirectory(prefix="bench-agents-") as tmp:
        for w in workers:
            policy = CallPolicy(timeout=30.0, retries=2, backoff=0.05)
            backbone = create_backbone(f"openai:{server.url}", model="scripted", read_timeout=policy.timeout)
            llm = AgentLLM(backbone, policy)
            before = server.requests
            start = time.perf_counter()
            report = run(
                GenerationConfig(n=sessions, workers=w, seed=0),
                llm=llm,
                search=services.search,
                out=Path(tmp) / f"workers{w}.jsonl",
                progress=False,
            )
            seconds = time.perf_counter() - start
            calls = server.requests - before
            runs[w] = {
                "workers": w,
                "sessions": report.written,
                "rejected": sum(report.rejected.values()),
                "seconds": round(seconds, 2),
                "sessions_per_s": round(report.written / seconds, 3),
                "model_calls": calls,
                "calls_per_session": round(calls / max(1, report.written + sum(report.rejected.values())), 1),
                "max_concurrent_calls": server.max_in_flight,
                "stickers_per_session": round(report.stickers_per_session, 2),
            }
            server.max_in_flight = 0
    low, high = min(workers), max(workers)
    ratio = (
        runs[high]["sessions_per_s"] / runs[low]["sessions_per_s"] if runs[low]["sessions_per_s"] else None
    )
    result = {
        "server_delay_s": delay,
        "sessions": sessions,
        "library_open_s": round(library_s, 2),
        "runs": list(runs.values()),
        "speedup": round(ratio, 2) if ratio else None,
        "target": ">= 5x with 8 workers",
    }
    if json_out:
        print(json.dumps(result, indent=2))
        return result
    print(
        f"agents.generate against the fake OpenAI-compatible server ({delay:g} s per call), {sessions} sessions"
    )
    for r in result["runs"]:
        print(
            f"  --workers {r['workers']:<2d} {r['sessions_per_s']:7.3f} sessions/s  ({r['seconds']:.1f} s, "
            f"{r['model_calls']} calls, {r['calls_per_session']} per session, at most "
            f"{r['max_concurrent_calls']} at once; {r['rejected']} rejected)"
        )
    print(f"  speedup x{result['speedup']} with {high} workers over {low} (target >= 5x)")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agents.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sessions", type=int, default=32, help="dialogue sessions per worker count")
    parser.add_argument("--delay", type=float, default=0.1, help="fake server seconds per model call")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        run_agents_benchmark(
            Settings.from_env(), sessions=args.sessions, delay=args.delay, json_out=args.json
        )
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
