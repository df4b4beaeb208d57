"""The manager runs one session: turns of (user message, assistant reply) between the two agents.

Around each message it enforces what a single agent cannot see:
- sticker spacing: after a sticker, the next ``sticker_gap`` messages (either side) carry
  none, so the two sides never both send one in consecutive messages; and each side sends
  at most ``max_stickers_per_side`` per session;
- the reviewer: a chosen sticker that contradicts its message is replaced by the next
  candidate the rule accepts, or dropped;
- the repetition guard: a message whose ROUGE-L F1 with an earlier one of the session
  reaches ``repeat_threshold`` is written again (the agent is told what not to repeat);
- the closing decision: from ``min_turns`` on the user agent is asked whether the chat is
  over; it ends at ``max_turns`` (default 6) in any case.
Everything decided, and who decided it, goes into the session's ``meta``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from agents.config import GenerationConfig
from agents.llm import AgentLLM
from agents.memory import PlanStep
from agents.metrics import max_rouge_l
from agents.profiles import Profile, session_rng
from agents.prompting import Prompts
from agents.records import session_id
from agents.reviewer import Reviewer
from agents.roles import Agent, AssistantAgent, PlanOutcome, SearchLike, SessionContext, UserAgent, Written
from stickerbot.stickers.record import StickerRecord

log = logging.getLogger(__name__)


class SpacingRule:
    """Whether the next message may carry a sticker, given the messages since the last one."""

    def __init__(self, gap: int):
        self.gap = gap
        self.since: int | None = None  # messages after the last sticker; None before any

    def allowed(self) -> bool:
        return self.gap == 0 or self.since is None or self.since >= self.gap

    def record(self, sent: bool) -> None:
        if sent:
            self.since = 0
        elif self.since is not None:
            self.since += 1


class RepetitionGuard:
    def __init__(self, threshold: float):
        self.threshold = threshold

    def repeated(self, text: str, earlier: list[str]) -> str | None:
        """The earlier utterance ``text`` repeats, or None."""
        if text in earlier:
            return text
        score, which = max_rouge_l(text, earlier)
        return which if score >= self.threshold else None


class SessionManager:
    """Stateless between sessions: one instance runs every session of a run, from any thread."""

    def __init__(
        self,
        config: GenerationConfig,
        llm: AgentLLM,
        prompts: Prompts,
        search: SearchLike,
        reviewer: Reviewer | None = None,
    ):
        self.config = config
        self.llm = llm
        self.prompts = prompts
        self.search = search
        self.reviewer = reviewer or Reviewer(config.reviewer, llm, prompts)
        self.guard = RepetitionGuard(config.repeat_threshold)

    def run(self, index: int, profile: Profile) -> dict[str, Any]:
        """The session record of session ``index`` (SessionFailed, Cancelled or BackendDown
        propagate: nothing of an unfinished session is kept)."""
        config = self.config
        ctx = SessionContext(
            index=index,
            config=config,
            llm=self.llm,
            prompts=self.prompts,
            search=self.search,
            profile=profile,
            rng=session_rng(config.seed, "session", index),
        )
        user, assistant = UserAgent(ctx), AssistantAgent(ctx)
        spacing = SpacingRule(config.sticker_gap)
        sent = {"user": 0, "assistant": 0}
        conversation: list[dict[str, Any]] = []
        turns_meta: list[dict[str, Any]] = []
        summaries: list[dict[str, Any]] = []
        said: list[str] = []
        closing = f"max_turns ({config.max_turns})"
        for turn in range(1, config.max_turns + 1):
            self.llm.check_cancel()
            user_text, user_meta = self._say(user, said)
            user_sticker, user_plan = self._sticker(ctx, user, user_text.text, spacing, sent)
            user.act(turn, user_text, user_sticker, user_plan)
            assistant.observe(turn, user_text.text, user_sticker)

            system_text, system_meta = self._say(assistant, said)
            system_sticker, system_plan = self._sticker(ctx, assistant, system_text.text, spacing, sent)
            assistant.act(turn, system_text, system_sticker, system_plan)
            user.observe(turn, system_text.text, system_sticker)

            conversation.append(
                {
                    "turn": turn,
                    "user_message": user_text.text,
                    "system_message": system_text.text,
                    "user_sticker": user_sticker.to_dict() if user_sticker else None,
                    "system_sticker": system_sticker.to_dict() if system_sticker else None,
                }
            )
            turns_meta.append(
                {
                    "turn": turn,
                    "user": {**user_meta, "plan": user_plan.to_dict()},
                    "system": {**system_meta, "plan": system_plan.to_dict()},
                }
            )
            if turn >= config.max_turns:
                break
            if turn >= config.min_turns:
                end, who = user.wants_to_end()
                turns_meta[-1]["close"] = who
                if end:
                    closing = f"user ended after turn {turn}"
                    break
            if config.summary_every and turn % config.summary_every == 0:
                for agent in (user, assistant):
                    step = agent.update_summary(turn)
                    summaries.append({"agent": agent.role, "turn": turn, "source": step.source})

        fallbacks = sum(
            1 for t in turns_meta for side in ("user", "system") if t[side].get("fallback") is not None
        )
        return {
            "id": session_id(config.lang, config.seed, index),
            "language": config.lang,
            "emotion": profile.emotion,
            "user_persona": profile.persona,
            "user_status": profile.situation,
            "conversation": conversation,
            "meta": {
                "generator": "agents.generate",
                "backend": self.llm.name,
                "seed": config.seed,
                "index": index,
                "profile": {"source": profile.source, "max_rouge_l": profile.max_rouge_l},
                "closing": closing,
                "fallback_utterances": fallbacks,
                "summaries": summaries,
                "turns": turns_meta,
            },
        }

    def _say(self, agent: Agent, said: list[str]) -> tuple[Written, dict[str, Any]]:
        """The agent's next message, written again while it repeats an earlier one."""
        written = agent.write()
        retries = 0
        while retries < self.config.repeat_retries:
            previous = self.guard.repeated(written.text, said)
            if previous is None:
                break
            retries += 1
            # Hotter each time: a small model asked not to repeat itself often still does.
            hotter = min(1.3, self.config.temperature + 0.3 * retries)
            written = agent.write(again=previous, temperature=hotter)
        said.append(written.text)
        meta: dict[str, Any] = {}
        if retries:
            meta["repeat_retries"] = retries
        if written.fallback:
            meta["fallback"] = written.fallback
        return written, meta

    def _sticker(
        self, ctx: SessionContext, agent: Agent, text: str, spacing: SpacingRule, sent: dict[str, int]
    ) -> tuple[StickerRecord | None, PlanStep]:
        cap = self.config.max_stickers_per_side
        if cap and sent[agent.role] >= cap:
            outcome = PlanOutcome(PlanStep("none", "budget"), None)
        else:
            outcome = agent.plan(text, allowed=spacing.allowed())
        sticker, step = self._review(text, outcome)
        spacing.record(sticker is not None)
        if sticker is not None:
            ctx.used_stickers.add(sticker.id)
            sent[agent.role] += 1
        return sticker, step

    def _review(self, text: str, outcome: PlanOutcome) -> tuple[StickerRecord | None, PlanStep]:
        step, sticker = outcome.step, outcome.sticker
        if sticker is None:
            return None, step
        verdict = self.reviewer.review(text, sticker)
        if verdict.ok:
            return sticker, replace(step, review=verdict.describe())
        for other in outcome.candidates:
            if other.id != sticker.id and self.reviewer.rule(text, other).ok:
                note = f"{verdict.describe()}; replaced by {other.id}"
                return other, replace(step, pick=other.id, pick_source="reviewer", review=note)
        return None, replace(step, pick=None, pick_source="reviewer", review=verdict.describe())
