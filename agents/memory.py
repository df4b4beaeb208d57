"""An agent's memory: a list of typed steps, a running summary, and retrieval of past
observations by similarity.

Each agent keeps its own: what it observed (the other side's messages and stickers), what it
did (its messages, with the sticker plan behind each), and its summaries. Prompts get the
summary, the last few messages as chat turns, and older observations that resemble the
latest one (so a long session still "remembers" the detail that matters now).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from agents.metrics import cosine_bow
from stickerbot.backbones.base import Message
from stickerbot.chat.text import split_sentences

# Messages shown verbatim in prompts; older ones are reached through the summary and recall.
RECENT_MESSAGES = 4
MIN_RECALL_SIMILARITY = 0.15


@dataclass(frozen=True)
class PlanStep:
    """The sticker plan of one message: intent -> query -> candidates -> pick (or none).

    Each ``*_source`` says who decided: ``model``, ``rule`` (the model's answer was unusable,
    see ``*_answer``), ``spacing`` (the manager allowed no sticker), ``reviewer``.
    """

    intent: str  # expression | empathy | intensity | none
    intent_source: str
    query: str | None = None
    query_source: str | None = None
    # The feeling the sticker should carry; candidates that fit it are offered first.
    emotion: str | None = None
    candidates: tuple[str, ...] = ()
    pick: str | None = None  # a sticker id
    pick_source: str | None = None
    review: str | None = None  # what the reviewer said, when it saw a sticker
    answers: dict[str, str] = field(default_factory=dict)  # unusable raw answers, for the record

    def to_dict(self) -> dict:
        data = asdict(self)
        data["candidates"] = list(self.candidates)
        return {k: v for k, v in data.items() if v not in (None, {}, [])}


@dataclass(frozen=True)
class ObservationStep:
    turn: int
    text: str
    sticker: str | None = None  # how the sticker was shown ("[sticker: crying face]")

    @property
    def shown(self) -> str:
        return f"{self.text} {self.sticker}".strip() if self.sticker else self.text


@dataclass(frozen=True)
class ActionStep:
    turn: int
    text: str
    sticker: str | None = None
    plan: PlanStep | None = None
    fallback: str | None = None  # why the text is fallback text, when it is

    @property
    def shown(self) -> str:
        return f"{self.text} {self.sticker}".strip() if self.sticker else self.text


@dataclass(frozen=True)
class SummaryStep:
    turn: int
    text: str
    source: str  # model | extractive


Step = ObservationStep | ActionStep | SummaryStep


class AgentMemory:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, step: Step) -> None:
        self.steps.append(step)

    @property
    def messages(self) -> list[ObservationStep | ActionStep]:
        return [s for s in self.steps if isinstance(s, ObservationStep | ActionStep)]

    @property
    def summary(self) -> str:
        for step in reversed(self.steps):
            if isinstance(step, SummaryStep):
                return step.text
        return ""

    def recent_chat(self, n: int = RECENT_MESSAGES) -> list[Message]:
        """The last ``n`` messages as chat turns from this agent's side: its own are
        ``assistant`` turns, the other side's ``user`` turns."""
        out = []
        for step in self.messages[-n:]:
            role = "assistant" if isinstance(step, ActionStep) else "user"
            out.append({"role": role, "content": step.shown})
        return out

    def recall(self, query: str, k: int, *, skip_recent: int = RECENT_MESSAGES) -> list[str]:
        """Up to ``k`` past observations most similar to ``query`` (bag-of-words cosine), older
        than the recent messages the prompt shows anyway; oldest first."""
        if k <= 0:
            return []
        older = self.messages[:-skip_recent] if skip_recent else self.messages
        scored = [
            (cosine_bow(query, step.text), i, step)
            for i, step in enumerate(older)
            if isinstance(step, ObservationStep)
        ]
        best = sorted((s for s in scored if s[0] >= MIN_RECALL_SIMILARITY), key=lambda s: (-s[0], s[1]))[:k]
        return [step.shown for _, _, step in sorted(best, key=lambda s: s[1])]

    def transcript(self, me: str, other: str, *, last: int | None = None) -> str:
        steps = self.messages if last is None else self.messages[-last:]
        return "\n".join(f"{me if isinstance(s, ActionStep) else other}: {s.shown}" for s in steps)

    def extractive_summary(self) -> str:
        """A summary without the model: the first sentence of the first and the latest observation."""
        observed = [s for s in self.steps if isinstance(s, ObservationStep)]
        if not observed:
            return ""
        parts = [split_sentences(observed[0].text)[:1], split_sentences(observed[-1].text)[:1]]
        text = " ... ".join(dict.fromkeys(p[0] for p in parts if p))
        return text[:240]
