"""Choose the reply, never send a bad one.

Candidates for a turn:
- the **model's** reply, streamed: its first sentence is checked (``chat/checks.py``) and
  scored as soon as it ends, and goes out only when it passes and scores at least as well as
  the best other candidate; each later sentence goes out when it ends and passes, and the
  first one that fails ends the reply. A rejected first sentence stops generation at once; the
  model then writes once more (sampled), and if that fails too the best other candidate is sent;
- the **memory's** replies for the same situation: exchanges whose user message is close to
  this one (``SelectionWeights.same_situation``) and, where labelled, read with the same intent;
- the intent's **strategy** replies (``chat/strategies.py``), never one already said.
Every candidate passes the checks before it can be sent. A response-selection model
(``chat/selection.py``) ranks them; a small prior per source breaks near ties.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from stickerbot.backbones.base import ChatBackbone, Message, TokenCallback
from stickerbot.chat.checks import CheckResult, ReplyChecker
from stickerbot.chat.strategies import StrategyReplies
from stickerbot.chat.text import MAX_SENTENCES, clean_reply, complete_sentences, split_sentences
from stickerbot.memory.store import MemoryHit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SelectionWeights:
    # Added to a candidate's selection score by where it comes from. The model's reply is the
    # only one written for this very message; memory replies were written by people for a
    # similar one; strategy replies fit every message of the intent and none in particular.
    prior_model: float = 0.15
    prior_memory: float = 0.05
    prior_strategy: float = 0.0
    # Memory similarity (memory.scores: cosine + scaled BM25 in English, scaled BM25 in Chinese
    # with the English-only embedder) from which an exchange is about the same situation.
    same_situation: dict[str, float] = field(default_factory=lambda: {"en": 0.6, "zh": 0.55})
    # A later turn of a stored conversation answers its own context; it needs a closer match.
    later_turn_extra: float = 0.15
    memory_candidates: int = 3
    strategy_candidates: int = 3
    # Sampling temperature of the one retry after a rejected first sentence.
    retry_temperature: float = 0.7


@dataclass(frozen=True)
class Candidate:
    text: str
    source: str  # "model", "memory" or "strategy"
    score: float
    checks: CheckResult


@dataclass
class Written:
    text: str
    source: str
    tokens: dict[str, int]
    # Seconds from the start of the turn to the first piece shown.
    first_token: float
    # What was tried and why it was not sent ("model: tone: sympathy on good news", ...).
    rejected: list[str] = field(default_factory=list)
    attempts: int = 0
    # Seconds the backbone spent generating (every attempt): the rest of a turn is overhead.
    model_seconds: float = 0.0


Score = Callable[[Sequence[str]], Sequence[float]]


class _SentenceGate:
    """Receives the model's pieces; lets complete sentences out only when they pass.

    ``decide_first(sentence)`` says whether the reply may start with that sentence;
    ``check(sentence, reply_with_it)`` whether a later one may follow.
    """

    def __init__(
        self,
        decide_first: Callable[[str], bool],
        check: Callable[[str, str], bool],
        emit: Callable[[str], None],
        *,
        max_sentences: int = MAX_SENTENCES,
    ):
        self.decide_first = decide_first
        self.check = check
        self.emit = emit
        self.max_sentences = max_sentences
        self.raw = ""
        self.sent: list[str] = []
        self.accepted: bool | None = None
        self.done = False

    def feed(self, piece: str) -> None:
        if self.done:
            return
        self.raw += piece
        while not self.done:
            sentences = split_sentences(self.raw)
            if complete_sentences(self.raw) <= len(self.sent):
                return
            self._take(sentences[len(self.sent)])

    def _take(self, sentence: str) -> None:
        sentence = clean_reply(sentence, max_sentences=1)
        if not sentence:
            self.sent.append("")
            return
        if self.accepted is None:
            self.accepted = self.decide_first(sentence)
            if not self.accepted:
                self.done = True
                return
        elif not self.check(sentence, " ".join(s for s in self.sent if s) + " " + sentence):
            self.done = True
            return
        self.sent.append(sentence)
        self.emit(sentence if len([s for s in self.sent if s]) == 1 else " " + sentence)
        if len([s for s in self.sent if s]) >= self.max_sentences:
            self.done = True

    def finish(self) -> None:
        """The model stopped: an unfinished last sentence is judged as it stands."""
        if self.done:
            return
        sentences = split_sentences(self.raw)
        if len(sentences) > len(self.sent):
            self._take(sentences[len(self.sent)])
        self.done = True

    @property
    def text(self) -> str:
        return clean_reply(" ".join(s for s in self.sent if s)) if self.accepted else ""

    def stop(self, _text_so_far: str) -> bool:
        return self.done


class ReplyComposer:
    """Shared by every session: holds only read-only parts."""

    def __init__(
        self,
        backbone: ChatBackbone | None,
        checker: ReplyChecker,
        strategies: StrategyReplies,
        selector=None,
        weights: SelectionWeights | None = None,
    ):
        """``selector``: a ``chat.selection.ResponseSelector`` (None ranks by source prior only)."""
        self.backbone = backbone
        self.checker = checker
        self.strategies = strategies
        self.selector = selector
        self.weights = weights or SelectionWeights()

    # --- candidates that do not need the model ---------------------------------------------

    def same_situation(self, hits: Sequence[MemoryHit], intent: str, lang: str) -> list[MemoryHit]:
        """The memory's exchanges about the same situation as this turn, best first."""
        w = self.weights
        threshold = w.same_situation.get(lang, max(w.same_situation.values()))
        out = []
        for hit in hits:
            e = hit.exchange
            need = threshold + (w.later_turn_extra if e.history else 0.0)
            if e.lang != lang or hit.score < need:
                continue
            if e.intent is not None and e.intent != intent:
                continue
            out.append(hit)
        return out[: w.memory_candidates]

    def score(self, message: str, texts: Sequence[str], lang: str, message_vector=None) -> list[float]:
        if self.selector is None or not texts:
            return [0.0] * len(texts)
        return [float(s) for s in self.selector.scores(message, texts, lang, message_vector=message_vector)]

    def alternatives(
        self,
        *,
        message: str,
        intent: str,
        lang: str,
        neighbours: Sequence[MemoryHit],
        said: Sequence[str],
        seed: int,
        message_vector=None,
    ) -> list[Candidate]:
        """Memory and strategy candidates that pass the checks, best first (never empty)."""
        w = self.weights
        texts: list[tuple[str, str]] = []
        for hit in self.same_situation(neighbours, intent, lang):
            texts.append((clean_reply(hit.exchange.system_message), "memory"))
        for text in self.strategies.candidates(intent, lang, said=said, k=w.strategy_candidates, seed=seed):
            texts.append((text, "strategy"))
        scores = self.score(message, [t for t, _ in texts], lang, message_vector)
        prior = {"memory": w.prior_memory, "strategy": w.prior_strategy}
        out = []
        for (text, source), s in zip(texts, scores, strict=True):
            checks = self.checker.check(text, intent=intent, lang=lang, earlier=said)
            if checks.passed:
                out.append(Candidate(text, source, s + prior[source], checks))
            else:
                log.debug("%s candidate rejected (%s): %r", source, checks.problems, text)
        if not out:
            # The strategy replies are written to pass; this is a last resort for odd data.
            text = self.strategies.variants(intent, lang)[0]
            out.append(Candidate(text, "strategy", 0.0, self.checker.check(text, intent=intent, lang=lang)))
        return sorted(out, key=lambda c: -c.score)

    # --- the turn ---------------------------------------------------------------------------

    def write(
        self,
        messages: list[Message],
        *,
        message: str,
        intent: str,
        lang: str,
        neighbours: Sequence[MemoryHit],
        said: Sequence[str],
        max_new_tokens: int,
        temperature: float = 0.0,
        images=None,
        on_token: TokenCallback | None = None,
        start: float | None = None,
        message_vector=None,
        use_model: bool = True,
    ) -> Written:
        start = time.perf_counter() if start is None else start
        alternatives = self.alternatives(
            message=message,
            intent=intent,
            lang=lang,
            neighbours=neighbours,
            said=said,
            seed=len(said),
            message_vector=message_vector,
        )
        best = alternatives[0]
        rejected: list[str] = []
        tokens = {"prompt": 0, "new": 0}
        first: list[float] = []

        def emit(piece: str) -> None:
            if not first:
                first.append(time.perf_counter() - start)
            if on_token is not None:
                on_token(piece)

        attempts = 0
        model_seconds = 0.0
        if use_model and self.backbone is not None and lang in self.backbone.languages:
            for attempt in range(2):
                attempts += 1
                gate = self._gate(message, intent, lang, said, best, message_vector, emit, rejected)
                result = self.backbone.generate(
                    messages,
                    max_new_tokens=max_new_tokens,
                    temperature=temperature if attempt == 0 else self.weights.retry_temperature,
                    images=images,
                    on_token=gate.feed,
                    stop=gate.stop,
                )
                gate.finish()
                model_seconds += result.seconds_total
                tokens = {
                    "prompt": result.prompt_tokens,
                    "new": tokens["new"] + result.new_tokens,
                    "model_ms_to_first_token": round(1000 * result.seconds_to_first_token),
                    "model_ms_total": round(1000 * result.seconds_total),
                }
                if gate.accepted and gate.text:
                    return Written(gate.text, "model", tokens, first[0], rejected, attempts, model_seconds)
                if gate.accepted is None:
                    rejected.append(f"model: empty reply {result.text[:60]!r}")
        emit(best.text)
        return Written(best.text, best.source, tokens, first[0], rejected, attempts, model_seconds)

    def _gate(
        self, message, intent, lang, said, best: Candidate, message_vector, emit, rejected
    ) -> _SentenceGate:
        w = self.weights

        def decide_first(sentence: str) -> bool:
            checks = self.checker.check(sentence, intent=intent, lang=lang, final=False, earlier=said)
            if not checks.passed:
                rejected.append(f"model: {'; '.join(checks.problems)}: {sentence[:80]!r}")
                return False
            score = self.score(message, [sentence], lang, message_vector)[0] + w.prior_model
            if score < best.score:
                rejected.append(
                    f"model: scored {score:.2f} < {best.source} {best.score:.2f}: {sentence[:80]!r}"
                )
                return False
            return True

        def check(sentence: str, reply: str) -> bool:
            # The sentence on its own for what it says (a "Congrats!" before it must not excuse
            # a "so sorry" in it), the whole reply for repetition and length.
            own = self.checker.check(sentence, intent=intent, lang=lang, final=False)
            whole = self.checker.check(reply.strip(), intent=intent, lang=lang, earlier=said)
            problems = own.problems + [p for p in whole.problems if p.startswith(("repetition", "too long"))]
            if problems:
                rejected.append(f"model, later sentence: {'; '.join(problems)}: {sentence[:80]!r}")
            return not problems

        return _SentenceGate(decide_first, check, emit)
