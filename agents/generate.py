"""`python -m agents.generate`: empathetic sticker dialogues in the StickerConv format, written by
two LLM agents (a user who plays a profile, an empathetic friend), both sending stickers
from the sticker library.

    # CPU-sized: two short sessions on the offline default backbone (a few minutes on 2 cores)
    python -m agents.generate --n 2 --max-turns 3 --out data/agents/smoke.jsonl
    # the offline default (smollm2-135m), 20 sessions, per-turn training records too
    python -m agents.generate --n 20 --out data/agents/en.jsonl --format turns
    # any OpenAI-compatible server (vLLM, llama.cpp, Ollama); model and key from the environment
    STICKERBOT_OPENAI_MODEL=qwen2.5-7b-instruct STICKERBOT_OPENAI_API_KEY=... \\
        python -m agents.generate --n 5000 --out data/agents/zh.jsonl --lang zh \\
        --backend openai:http://localhost:8000/v1 --workers 8
    # any transformers chat model on disk
    python -m agents.generate --n 50 --out x.jsonl --backend hf:/models/Qwen2.5-0.5B-Instruct
    # what a file holds
    python -m agents.generate --stats data/agents/en.jsonl

Sessions are appended and fsynced one by one; running the same command again resumes
(finished sessions are kept, never duplicated; a session the backend failed is retried).
Ctrl-C stops after the calls in progress; what was written stays. Rejected sessions go to
``FILE.rejects.jsonl`` with the reason. ``--backend`` defaults to STICKERBOT_BACKBONE.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from agents.config import CallPolicy, GenerationConfig
from agents.filters import Rejection, check_session
from agents.llm import AgentLLM, BackendDown, Cancelled
from agents.manager import SessionManager
from agents.profiles import ProfilePool, ProfileStore
from agents.prompting import Prompts, load_prompts
from agents.records import count_stickers, session_id, turn_records
from agents.roles import SearchLike, SessionFailed
from agents.writer import OutputPaths, SessionWriter

log = logging.getLogger("agents.generate")


@dataclass
class RunReport:
    out: str
    target: int
    # Accepted sessions in the output file, from earlier runs and this one.
    accepted: int = 0
    resumed_with: int = 0
    # This run only:
    written: int = 0
    stickers: int = 0
    rejected: Counter = field(default_factory=Counter)
    failed: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    exhausted: bool = False
    error: str | None = None
    profile_fallbacks: int = 0
    turns_added_on_resume: int = 0
    llm: dict[str, Any] = field(default_factory=dict)

    @property
    def sessions_per_minute(self) -> float:
        return 60.0 * self.written / self.seconds if self.seconds > 0 else 0.0

    @property
    def stickers_per_session(self) -> float:
        return self.stickers / self.written if self.written else 0.0

    @property
    def done(self) -> bool:
        return self.accepted >= self.target

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected"] = dict(self.rejected)
        data["sessions_per_minute"] = round(self.sessions_per_minute, 3)
        data["stickers_per_session"] = round(self.stickers_per_session, 3)
        data["seconds"] = round(self.seconds, 2)
        return data

    def summary(self) -> str:
        rejects = ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items())) or "none"
        lines = [
            f"{self.out}: {self.accepted}/{self.target} sessions"
            + (f" ({self.resumed_with} from an earlier run)" if self.resumed_with else ""),
            f"this run: {self.written} written in {self.seconds:.1f} s ({self.sessions_per_minute:.2f} sessions/min, "
            f"{self.stickers_per_session:.2f} stickers/session); rejected: {rejects}; "
            f"failed (retried on resume): {self.failed}",
        ]
        if self.llm:
            lines.append(
                f"model calls: {self.llm.get('calls', 0)} ({self.llm.get('failed_attempts', 0)} failed attempts, "
                f"{self.llm.get('timeouts', 0)} timeouts, {self.llm.get('unparsed', 0)} unparseable answers); "
                f"profile fallbacks: {self.profile_fallbacks}"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class Outcome:
    kind: str  # accepted | rejected | failed | cancelled
    stickers: int = 0
    reason: str | None = None


class Generator:
    """One run: schedules session indexes on the workers, writes what they produce."""

    def __init__(
        self,
        config: GenerationConfig,
        *,
        llm: AgentLLM,
        search: SearchLike,
        out: Path,
        prompts: Prompts | None = None,
    ):
        self.config = config
        self.llm = llm
        self.prompts = prompts or load_prompts()
        self.paths = OutputPaths.for_out(out)
        self.writer = SessionWriter(self.paths, turns=config.format == "turns", turn_records=turn_records)
        self.manager = SessionManager(config, llm, self.prompts, search)

    def _one(self, profiles: ProfilePool, index: int) -> Outcome:
        config = self.config
        sid = session_id(config.lang, config.seed, index)
        try:
            record = self.manager.run(index, profiles.get(index))
        except SessionFailed as err:
            self._reject(sid, index, Rejection("backend_error", str(err)[:500]), None, retryable=True)
            return Outcome("failed", reason="backend_error")
        except Cancelled:
            return Outcome("cancelled")
        rejection = check_session(record, config)
        if rejection is None:
            try:
                self.writer.write_session(record)
                return Outcome("accepted", stickers=sum(count_stickers(record)))
            except ValueError as err:  # DialogueFormatError is one; should never happen
                log.error("session %s does not validate: %s", sid, err)
                rejection = Rejection("invalid", str(err)[:500])
        self._reject(sid, index, rejection, record, retryable=False)
        return Outcome("rejected", reason=rejection.reason)

    def _reject(self, sid: str, index: int, rejection: Rejection, record, *, retryable: bool) -> None:
        line = {
            "id": sid,
            "index": index,
            "reason": rejection.reason,
            "detail": rejection.detail,
            "retryable": retryable,
            "session": record,
        }
        try:
            self.writer.write_reject(line)
        except ValueError:
            self.writer.write_reject({**line, "session": None})

    def run(self, *, progress: bool = True) -> RunReport:
        config = self.config
        report = RunReport(out=str(self.paths.out), target=config.n)
        self.writer.check_run({"config": config.resume_view(), "backend": self.llm.name})
        state = self.writer.resume()
        report.accepted = report.resumed_with = len(state.accepted)
        report.turns_added_on_resume = state.turns_added
        if report.done:
            return report
        if config.lang not in self.llm.languages:
            log.warning(
                "%s does not write %s well: expect fallback text and rejects (choose another --backend)",
                self.llm.name,
                config.lang,
            )
        from tqdm.auto import tqdm

        start = time.perf_counter()
        session_pool = ThreadPoolExecutor(config.workers, thread_name_prefix="agents-session")
        profile_pool = ThreadPoolExecutor(config.workers, thread_name_prefix="agents-profile")
        profiles = ProfilePool(
            self.llm, self.prompts, config, store=ProfileStore(self.paths.profiles), executor=profile_pool
        )
        bar = tqdm(
            total=config.n,
            initial=report.accepted,
            desc="sessions",
            unit="session",
            disable=not progress,
            dynamic_ncols=True,
        )
        in_flight: dict[Future, int] = {}
        index = 0
        limit = config.attempts_limit
        try:
            while True:
                while (
                    len(in_flight) < config.workers
                    and report.accepted + len(in_flight) < config.n
                    and index < limit
                ):
                    if session_id(config.lang, config.seed, index) not in state.finished:
                        if not profiles.has(index):
                            bar.set_description("profiles")
                            profiles.ensure(index)
                            bar.set_description("sessions")
                        in_flight[session_pool.submit(self._one, profiles, index)] = index
                    index += 1
                if not in_flight:
                    break
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    in_flight.pop(future)
                    outcome = future.result()  # BackendDown ends the run
                    self._count(report, outcome, bar, start)
            report.exhausted = not report.done
        except KeyboardInterrupt:
            report.interrupted = True
        except BackendDown as err:
            report.error = str(err)
        except BaseException:
            self.llm.cancel.set()  # a bug: stop the workers before the error surfaces
            raise
        finally:
            if report.interrupted or report.error:
                self.llm.cancel.set()
            # Sessions in progress notice the cancel at their next call and are dropped unwritten.
            session_pool.shutdown(wait=True, cancel_futures=True)
            profile_pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
            report.seconds = time.perf_counter() - start
            report.profile_fallbacks = profiles.fallbacks
            report.llm = self.llm.stats.to_dict()
        return report

    def _count(self, report: RunReport, outcome: Outcome, bar, start: float) -> None:
        if outcome.kind == "accepted":
            report.accepted += 1
            report.written += 1
            report.stickers += outcome.stickers
            bar.update(1)
        elif outcome.kind == "rejected":
            report.rejected[outcome.reason] += 1
        elif outcome.kind == "failed":
            report.failed += 1
        minutes = (time.perf_counter() - start) / 60
        bar.set_postfix(
            {
                "sessions/min": f"{report.written / minutes:.2f}" if minutes > 0 else "-",
                "stickers/session": f"{report.stickers_per_session:.2f}",
                "rejects": sum(report.rejected.values()) + report.failed,
            },
            refresh=True,
        )


def run(
    config: GenerationConfig,
    *,
    llm: AgentLLM,
    search: SearchLike,
    out: str | Path,
    prompts: Prompts | None = None,
    progress: bool = True,
) -> RunReport:
    """Generate until ``out`` holds ``config.n`` accepted sessions (or the attempts run out)."""
    return Generator(config, llm=llm, search=search, out=Path(out), prompts=prompts).run(progress=progress)


# --- command line ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    defaults, call = GenerationConfig(), CallPolicy()
    p = argparse.ArgumentParser(
        prog="python -m agents.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--n", type=int, help="accepted sessions to write")
    p.add_argument("--out", help="the sessions file (JSONL); rejects, profiles and settings go beside it")
    p.add_argument("--stats", metavar="FILE", help="print what a sessions file holds, then exit")
    p.add_argument(
        "--backend", help="a backbone name (python -m stickerbot backbones); default STICKERBOT_BACKBONE"
    )
    p.add_argument("--model", help="model name sent to an openai: server (default STICKERBOT_OPENAI_MODEL)")
    p.add_argument("--lang", choices=["en", "zh"], default=defaults.lang)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--workers", type=int, default=defaults.workers, help="sessions generated at once")
    p.add_argument("--format", choices=["sessions", "turns"], default=defaults.format,
                   help="turns: also write FILE.turns.jsonl, the per-turn training format")  # fmt: skip
    p.add_argument("--max-turns", type=int, default=defaults.max_turns)
    p.add_argument(
        "--min-turns", type=int, default=defaults.min_turns, help="the closing decision starts here"
    )
    p.add_argument("--sticker-gap", type=int, default=defaults.sticker_gap,
                   help="messages without a sticker after one (0: no spacing)")  # fmt: skip
    p.add_argument("--max-stickers-per-side", type=int, default=defaults.max_stickers_per_side,
                   help="stickers each side sends at most per session (0: no limit)")  # fmt: skip
    p.add_argument("--candidates", type=int, default=defaults.candidates, help="stickers offered per pick")
    p.add_argument("--dedup-threshold", type=float, default=defaults.dedup_threshold,
                   help="ROUGE-L F1 at which a new profile duplicates an earlier one")  # fmt: skip
    p.add_argument("--repeat-threshold", type=float, default=defaults.repeat_threshold,
                   help="ROUGE-L F1 at which a message repeats an earlier one")  # fmt: skip
    p.add_argument("--profile-chunk", type=int, default=defaults.profile_chunk,
                   help="profiles generated and de-duplicated together, before their sessions")  # fmt: skip
    p.add_argument("--reviewer", choices=["rule", "llm", "both", "off"], default=defaults.reviewer)
    p.add_argument("--temperature", type=float, default=defaults.temperature)
    p.add_argument("--summary-every", type=int, default=defaults.summary_every)
    p.add_argument("--max-attempts", type=int, help="session indexes tried at most (default 3 n + 10)")
    p.add_argument("--timeout", type=float, default=call.timeout, help="seconds per model call")
    p.add_argument("--retries", type=int, default=call.retries, help="extra attempts per failed call")
    p.add_argument("--backoff", type=float, default=call.backoff, help="first retry delay (doubles)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the run's report (or --stats) as JSON")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def cmd_stats(path: str, *, json_out: bool) -> int:
    from agents.stats import format_stats, read_sessions, session_stats

    sessions, skipped = read_sessions(path)
    stats = session_stats(sessions)
    if json_out:
        print(json.dumps({**stats, "file": path, "skipped_lines": skipped}, ensure_ascii=False, indent=2))
    else:
        print(format_stats(stats, path=path, skipped=skipped))
    return 0


def _sigterm_as_interrupt() -> None:
    if threading.current_thread() is threading.main_thread():

        def handler(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.stats:
        try:
            return cmd_stats(args.stats, json_out=args.json)
        except OSError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if args.n is None or not args.out:
        parser.error("give --n N and --out FILE (or --stats FILE)")

    from stickerbot.config import Settings
    from stickerbot.errors import UserError
    from stickerbot.services import open_backbone, open_library

    _sigterm_as_interrupt()
    try:
        config = GenerationConfig(
            n=args.n,
            lang=args.lang,
            seed=args.seed,
            workers=args.workers,
            format=args.format,
            max_turns=args.max_turns,
            min_turns=args.min_turns,
            sticker_gap=args.sticker_gap,
            max_stickers_per_side=args.max_stickers_per_side,
            candidates=args.candidates,
            dedup_threshold=args.dedup_threshold,
            profile_chunk=args.profile_chunk,
            repeat_threshold=args.repeat_threshold,
            reviewer=args.reviewer,
            temperature=args.temperature,
            summary_every=args.summary_every,
            max_attempts=args.max_attempts,
        )
        policy = CallPolicy(timeout=args.timeout, retries=args.retries, backoff=args.backoff)
        settings = Settings.from_env()
        if args.backend:
            settings = replace(settings, backbone=args.backend)
        if args.model:
            settings = replace(settings, openai_model=args.model)
        services = open_library(settings, progress=not args.quiet)
        llm = AgentLLM(open_backbone(settings, call_timeout=policy.timeout), policy)
        report = run(config, llm=llm, search=services.search, out=args.out, progress=not args.quiet)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted before generation started; nothing was written", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.summary())
    if report.interrupted:
        print(
            f"interrupted: {report.accepted} sessions are saved in {report.out}; run the same command to continue",
            file=sys.stderr,
        )
        return 130
    if report.error:
        print(f"error: {report.error}", file=sys.stderr)
        return 2
    if report.exhausted:
        print(
            f"error: tried {config.attempts_limit} sessions and kept {report.accepted} of {config.n}; see the "
            f"rejects file, or raise --max-attempts",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
