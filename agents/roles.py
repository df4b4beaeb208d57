"""The two agents: a user who plays a profile, and an empathetic assistant. Both write their
messages with the model and can send stickers, through the same plan per message:

    is a sticker wanted, and why (emotional expression / enhancing empathy / reaction
    intensity / none) -> a search query -> candidates from the sticker library -> pick one
    or none.

One question per model call, answers parsed leniently (keywords, the first number). When an
answer is unusable after its retries, a rule decides instead and the plan records it
(``*_source: rule``): the message's emotion cues (or the profile's emotion) for the intent,
the feeling's search words for the query, the best search hit for the pick. The library
search does the heavy lifting: candidates always include hits for the rule's query too, so
even a weak model chooses among fitting stickers.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.config import GenerationConfig
from agents.llm import AgentLLM, parse_choice, parse_number, parse_yes_no
from agents.memory import ActionStep, AgentMemory, ObservationStep, PlanStep, SummaryStep
from agents.profiles import Profile
from agents.prompting import Prompts
from agents.reviewer import describe_sticker, message_emotion
from stickerbot.backbones.base import Message
from stickerbot.chat.emotion import load_cues
from stickerbot.chat.text import clean_reply, enough_sentences, is_in_language, split_sentences
from stickerbot.stickers.labels import FINE_TO_EMOTION, sticker_fits
from stickerbot.stickers.record import StickerRecord

INTENTS = ("expression", "empathy", "intensity", "none")
INTENT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "expression": ("expression", "express", "expressing", "表达"),
    "empathy": ("empathy", "empathetic", "empathise", "empathize", "comfort", "共情", "安慰"),
    "intensity": ("intensity", "intense", "intensify", "stronger", "强度", "加强"),
    "none": ("none", "no sticker", "nothing", "不需要", "不用", "无"),
}
SUMMARY_TOKENS = 40
CLOSE_TOKENS = 4


class SessionFailed(RuntimeError):
    """The backend gave no answer for a message after every retry: the session cannot go on.
    It is recorded as a retryable reject, and a resumed run generates it again."""


class SearchLike(Protocol):
    """What the agents need from :class:`stickerbot.retrieval.search.StickerSearch`."""

    def search(self, query: str | None = None, *, k: int = 10, lang: str | None = None) -> list[Any]: ...


@dataclass
class SessionContext:
    """What both agents of one session share."""

    index: int
    config: GenerationConfig
    llm: AgentLLM
    prompts: Prompts
    search: SearchLike
    profile: Profile
    rng: random.Random
    used_stickers: set[str] = field(default_factory=set)
    used_fallbacks: set[str] = field(default_factory=set)

    @property
    def lang(self) -> str:
        return self.config.lang


@dataclass(frozen=True)
class Written:
    text: str
    fallback: str | None  # why fallback text was used, or None
    raw: str = ""


@dataclass(frozen=True)
class PlanOutcome:
    step: PlanStep
    sticker: StickerRecord | None
    candidates: tuple[StickerRecord, ...] = ()


_ROLE_LABEL = re.compile(
    r"^\s*[\"'“]?(?:me|you|user|assistant|friend|my friend|human|ai|bot|system|them|i|我|朋友|用户|助手)\s*[:：]\s*",
    re.IGNORECASE,
)
_NEXT_SPEAKER = re.compile(
    r"\n\s*(?:me|you|user|assistant|friend|my friend|human|ai|bot|them|我|朋友|用户|助手)\s*[:：]",
    re.IGNORECASE,
)
_BRACKETED = re.compile(r"\[[^\]]*\]?|【[^】]*】?")
# Echoes of the prompt's own instructions mean the model did not answer.
_ECHOES = ("text back as yourself", "one or two short sentences", "answer with", "do not repeat")
# Assistant-speak, which neither a person nor a friend texts (small chat models slip into it).
_ASSISTANT_SPEAK = re.compile(
    r"\b(?:as an ai|i'?m an ai|creative ai|ai (?:language )?model|language model|how (?:can|may) i (?:help|assist) you)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[^,;，；.!?。！？]+[,;，；.!?。！？]*")


def drop_repeated_clauses(text: str) -> str:
    """Each clause once: "so sorry to hear, so sorry to hear." -> "so sorry to hear." (small
    models loop on a phrase)."""
    seen: set[str] = set()
    kept = []
    for clause in _CLAUSE.findall(text):
        key = re.sub(r"\W+", "", clause.lower())
        if key and key in seen:
            end = re.search(r"[.!?。！？]+\s*$", clause)
            if end and kept and not re.search(r"[.!?。！？]\s*$", kept[-1]):
                # The dropped clause ended a sentence: the kept one before it does now.
                kept[-1] = re.sub(r"[,;，；]?\s*$", "", kept[-1]) + end.group().rstrip() + " "
            continue
        seen.add(key)
        kept.append(clause)
    out = "".join(kept).strip()
    return re.sub(r"[,;，；]\s*$", ".", out) if out != text.strip() else out


def looks_like_gibberish(text: str) -> bool:
    """Hashtags, handles, letter-digit mixes or endless words in more than a fifth of the words."""
    words = text.split()
    if not words:
        return True
    odd = sum(1 for w in words if re.search(r"[#@]|https?:|[a-z][0-9]|[0-9][a-z]|[a-z]{19,}", w.lower()))
    return odd / len(words) > 0.2


def parse_utterance(text: str, lang: str) -> str | None:
    """A chat message from the model's answer, or None when there is no usable one: role
    labels, quotes and a continued dialogue cut off; at most two sentences; in ``lang``."""
    text = text.strip()
    cut = _NEXT_SPEAKER.search(text)
    if cut:
        text = text[: cut.start()]
    text = _ROLE_LABEL.sub("", text, count=1).strip()
    text = _BRACKETED.sub(" ", text)  # a sticker note copied from the chat: "[sticker: ...]"
    text = " ".join(text.split())
    if len(text) >= 2 and text[0] in "\"“'" and text[-1] in "\"”'":
        text = text[1:-1].strip()
    if any(echo in text.lower() for echo in _ECHOES) or _ASSISTANT_SPEAK.search(text):
        return None
    if lang == "en" and looks_like_gibberish(text):
        return None
    text = clean_reply(drop_repeated_clauses(text), max_sentences=2, max_chars=240)
    if len(re.findall(r"\w", text)) < 2 or not is_in_language(text, lang):
        return None
    return text


def parse_query(text: str) -> str | None:
    """Search words from the model's answer: its first line, unquoted, at most six words."""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(
        r"^\s*(?:search|query|words|keywords|搜索|关键词)\s*[:：]\s*", "", line, flags=re.IGNORECASE
    )
    line = line.strip().strip("\"'“”.。").strip()
    words = line.split()
    if not words or len(words) > 6 or not re.search(r"\w", line) or len(line) > 60:
        return None
    return line


def parse_intent(text: str) -> str | None:
    return parse_choice(text, INTENT_KEYWORDS)


class Agent:
    role = "agent"
    # How the plan prompts name the writer.
    speaker = "someone"

    def __init__(self, ctx: SessionContext):
        self.ctx = ctx
        self.memory = AgentMemory()

    # --- prompts ---------------------------------------------------------------------------

    def variables(self) -> dict[str, Any]:
        return {"language": self.ctx.prompts.data("common.language_names")[self.ctx.lang]}

    def _latest_observation(self) -> ObservationStep | None:
        for step in reversed(self.memory.messages):
            if isinstance(step, ObservationStep):
                return step
        return None

    def message_prompt(self, *, again: str | None = None) -> list[Message]:
        prompts = self.ctx.prompts
        latest = self._latest_observation()
        memories = self.memory.recall(latest.text if latest else "", self.ctx.config.recall)
        system = prompts.render(
            f"{self.role}.system", **self.variables(), summary=self.memory.summary, memories=memories
        )
        chat = self.memory.recent_chat()
        if chat and chat[-1]["role"] == "user":
            final = prompts.render(f"{self.role}.next", message=chat[-1]["content"])
            chat = chat[:-1]
        else:
            final = prompts.render("user.first")
        if again:
            final = f"{final}\n\n{prompts.render(f'{self.role}.again', previous=again)}"
        while chat and chat[0]["role"] != "user":
            chat = chat[1:]  # strict chat templates want a user turn first
        return [{"role": "system", "content": system}, *chat, {"role": "user", "content": final}]

    # --- writing ---------------------------------------------------------------------------

    def write(self, *, again: str | None = None, temperature: float | None = None) -> Written:
        """The next message. SessionFailed when the backend gave no answer at all."""
        ctx = self.ctx
        answer = ctx.llm.ask(
            self.message_prompt(again=again),
            lambda text: parse_utterance(text, ctx.lang),
            max_new_tokens=ctx.config.utterance_tokens,
            temperature=ctx.config.temperature if temperature is None else temperature,
            parse_retries=ctx.llm.policy.parse_retries,
            stop=_utterance_done,
        )
        if answer.error:
            raise SessionFailed(f"{self.role} message: {answer.error}")
        if answer.value is not None:
            return Written(answer.value, None, answer.text)
        return Written(self._fallback_text(), f"unusable answer {answer.text[:80]!r}", answer.text)

    def _fallback_text(self) -> str:
        pool = self.ctx.prompts.data("fallbacks.utterances")[self.ctx.lang][self.role]
        unused = [t for t in pool if t not in self.ctx.used_fallbacks] or list(pool)
        text = self.ctx.rng.choice(unused)
        self.ctx.used_fallbacks.add(text)
        return text

    # --- the sticker plan ------------------------------------------------------------------

    def rule_emotion(self, text: str) -> str:
        """The emotion the rules act on: the message's cues, else the session's emotion."""
        return message_emotion(text) or self.ctx.profile.emotion

    def rule_intent(self, text: str) -> str:
        raise NotImplementedError

    def _plan_messages(self, name: str, **variables: Any) -> list[Message]:
        prompts = self.ctx.prompts
        return [
            {"role": "system", "content": prompts.render("plan.system")},
            {"role": "user", "content": prompts.render(f"plan.{name}", **variables)},
        ]

    def rule_query(self, intent: str, text: str) -> str:
        emotion = self.rule_emotion(text)
        if intent == "empathy":
            _, responses = load_cues()
            table = responses[emotion]
            return table.get(self.ctx.lang) or table["en"]
        return self.ctx.prompts.data("plan.feeling_queries")[self.ctx.lang][emotion]

    def plan(self, text: str, *, allowed: bool) -> PlanOutcome:
        if not allowed:
            return PlanOutcome(PlanStep("none", "spacing"), None)
        ctx = self.ctx
        answers: dict[str, str] = {}

        intent_answer = ctx.llm.ask(
            self._plan_messages("intent", message=text, speaker=self.speaker.capitalize()),
            parse_intent,
            max_new_tokens=6,
        )
        if intent_answer.value is not None:
            intent, intent_source = intent_answer.value, "model"
        else:
            intent, intent_source = self.rule_intent(text), "rule"
            answers["intent"] = intent_answer.error or intent_answer.text[:80]
        if intent == "none":
            return PlanOutcome(PlanStep("none", intent_source, answers=answers), None)

        intent_text = ctx.prompts.data("plan.intent_texts")[intent]
        query_answer = ctx.llm.ask(
            self._plan_messages("query", message=text, intent_text=intent_text),
            parse_query,
            max_new_tokens=12,
        )
        rule_query = self.rule_query(intent, text)
        if query_answer.value is not None:
            query, query_source = query_answer.value, "model"
        else:
            query, query_source = rule_query, "rule"
            answers["query"] = query_answer.error or query_answer.text[:80]
        emotion = self.target_emotion(intent, text)
        candidates = self.candidates([query, rule_query], intent=intent, emotion=emotion)
        if not candidates:
            step = PlanStep(
                intent,
                intent_source,
                query,
                query_source,
                emotion,
                pick_source="no candidates",
                answers=answers,
            )
            return PlanOutcome(step, None)

        pick_answer = ctx.llm.ask(
            self._plan_messages("pick", message=text, candidates=[describe_sticker(c) for c in candidates]),
            lambda t: parse_number(t, 0, len(candidates)),
            max_new_tokens=4,
        )
        if pick_answer.value is not None:
            chosen = candidates[pick_answer.value - 1] if pick_answer.value else None
            pick_source = "model"
        else:
            chosen, pick_source = candidates[0], "rule"
            answers["pick"] = pick_answer.error or pick_answer.text[:80]
        step = PlanStep(
            intent,
            intent_source,
            query,
            query_source,
            emotion,
            tuple(c.id for c in candidates),
            chosen.id if chosen else None,
            pick_source,
            answers=answers,
        )
        return PlanOutcome(step, chosen, tuple(candidates))

    def target_emotion(self, intent: str, text: str) -> str:
        """The feeling a sticker for this message should carry: the message's own for expression
        and intensity; for empathy, what the other side feels (the assistant's view)."""
        return self.rule_emotion(text)

    def candidates(self, queries: list[str], *, intent: str, emotion: str | None) -> list[StickerRecord]:
        """Hits of each query, interleaved (the model's first), without stickers already sent;
        those that fit ``emotion`` for ``intent`` first (so a junk query from a small model still
        leaves fitting stickers on top), the rest after them."""
        k = self.ctx.config.candidates
        lists = []
        for query in dict.fromkeys(q for q in queries if q):
            lists.append([h.record for h in self.ctx.search.search(query, k=2 * k, lang=self.ctx.lang)])
        out: list[StickerRecord] = []
        seen = set(self.ctx.used_stickers)
        for rank in range(2 * k):
            for hits in lists:
                if rank < len(hits) and hits[rank].id not in seen:
                    seen.add(hits[rank].id)
                    out.append(hits[rank])
        out.sort(key=lambda record: not fits(intent, emotion, record))  # stable: search order kept
        return out[:k]

    # --- memory ----------------------------------------------------------------------------

    def sticker_note(self, record: StickerRecord | None) -> str | None:
        if record is None:
            return None
        return self.ctx.prompts.data("common.sticker_note")[self.ctx.lang].format(name=record.name)

    def observe(self, turn: int, text: str, sticker: StickerRecord | None) -> None:
        self.memory.add(ObservationStep(turn, text, self.sticker_note(sticker)))

    def act(self, turn: int, written: Written, sticker: StickerRecord | None, plan: PlanStep) -> None:
        self.memory.add(ActionStep(turn, written.text, self.sticker_note(sticker), plan, written.fallback))

    def update_summary(self, turn: int) -> SummaryStep:
        ctx = self.ctx
        transcript = self.memory.transcript("Me", "Friend" if self.role == "user" else "They", last=8)
        prompt = ctx.prompts.render(
            "memory.summary", who=self.speaker, summary=self.memory.summary, transcript=transcript
        )
        answer = ctx.llm.ask(
            [{"role": "user", "content": prompt}],
            lambda text: _parse_summary(text, ctx.lang),
            max_new_tokens=SUMMARY_TOKENS,
        )
        if answer.value is not None:
            step = SummaryStep(turn, answer.value, "model")
        else:
            step = SummaryStep(turn, self.memory.extractive_summary(), "extractive")
        self.memory.add(step)
        return step


class UserAgent(Agent):
    role = "user"
    speaker = "the user"

    def variables(self) -> dict[str, Any]:
        p = self.ctx.profile
        feeling = self.ctx.prompts.data("common.feelings")[self.ctx.lang][p.emotion]
        return {**super().variables(), "persona": p.persona, "situation": p.situation, "feeling": feeling}

    def rule_intent(self, text: str) -> str:
        # A person in the grip of a feeling shows it; a calm one mostly does not.
        return "expression" if self.rule_emotion(text) != "Neutral" else "none"

    def wants_to_end(self) -> tuple[bool, str]:
        """The closing decision: (end now?, who decided)."""
        ctx = self.ctx
        prompt = ctx.prompts.render(
            "user.close",
            persona=ctx.profile.persona,
            transcript=self.memory.transcript("Me", "Friend", last=6),
        )
        answer = ctx.llm.ask([{"role": "user", "content": prompt}], parse_yes_no, max_new_tokens=CLOSE_TOKENS)
        if answer.value is None:
            return False, "rule (no usable answer: go on)"
        return answer.value, "model"


class AssistantAgent(Agent):
    role = "assistant"
    speaker = "the friend"

    def target_emotion(self, intent: str, text: str) -> str:
        if intent == "empathy":
            latest = self._latest_observation()
            return (message_emotion(latest.text) if latest else None) or self.ctx.profile.emotion
        return self.rule_emotion(text)

    def rule_intent(self, text: str) -> str:
        latest = self._latest_observation()
        heard = message_emotion(latest.text) if latest else None
        return "empathy" if (heard or self.ctx.profile.emotion) != "Neutral" else "none"


def fits(intent: str, emotion: str | None, record: StickerRecord) -> bool:
    """Whether a sticker carries ``emotion`` the way ``intent`` needs (pure): its own emotion for
    expression and intensity; for empathy, an answer a friend would give (``RESPONSE_FIT``).
    Anything fits a Neutral or unknown emotion."""
    if not emotion or emotion == "Neutral":
        return True
    if intent == "empathy":
        return sticker_fits(emotion, record.emotion, record.fine_emotion)
    return record.emotion == emotion or FINE_TO_EMOTION.get(record.fine_emotion or "") == emotion


def _utterance_done(text: str) -> bool:
    stripped = text.lstrip()
    return enough_sentences(stripped, 2) or ("\n" in stripped.strip() and len(stripped.strip()) > 8)


def _parse_summary(text: str, lang: str) -> str | None:
    sentences = split_sentences(" ".join(text.split()))
    if not sentences:
        return None
    first = _ROLE_LABEL.sub("", sentences[0]).strip()
    if not (8 <= len(first) <= 240) or not is_in_language(first, lang):
        return None
    return first
