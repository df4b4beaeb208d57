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
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from stickerbot.backbones.base import ChatBackbone, Message, TokenCallback
from stickerbot.chat.checks import CheckResult, ReplyChecker, repeats_while_written, too_long
from stickerbot.chat.strategies import UNCERTAIN, StrategyReplies
from stickerbot.chat.text import MAX_SENTENCES, clean_reply, complete_sentences, split_sentences
from stickerbot.memory.store import MemoryHit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SelectionWeights:
    # Added to a candidate's selection score by where it comes from. The model's prior is how
    # far its words are trusted against a person's or a strategy reply: it belongs to the
    # backbone (``BackboneSpec.reply_prior``, measured per backbone) and ``open_chat`` sets it.
    prior_model: float = 0.0
    # The intents whose replies the backbone's words may give (None: every intent). Also the
    # backbone's (``BackboneSpec.reply_intents``): for the others its words are not asked for.
    model_intents: frozenset[str] | None = None
    prior_memory: float = 0.05
    prior_strategy: float = 0.0
    # Memory similarity (memory.scores: cosine + scaled BM25 in English, scaled BM25 in Chinese
    # with the English-only embedder) from which an exchange is about the same situation. Set on
    # the reply dev set by reading the memory replies sent at 0.6 / 0.55: a stored reply carries
    # its own situation's details ("4:42 is amazing" to a 4h52 marathon, "How was school?" to a
    # "hiii", the length of the Yangtze for the Great Wall at 0.66), so only near paraphrases
    # qualify.
    same_situation: dict[str, float] = field(default_factory=lambda: {"en": 0.8, "zh": 0.8})
    # ... and the stored message may say at most this much more than the user's (in characters):
    # what it adds is what its reply answers ("hiii" matched "hiii just got home").
    max_length_ratio: float = 1.5
    # A later turn of a stored conversation answers its own context; it needs a closer match.
    later_turn_extra: float = 0.15
    memory_candidates: int = 3
    strategy_candidates: int = 3
    # Sampling temperature of the one retry after a rejected first sentence.
    retry_temperature: float = 0.7
    # Whether a first sentence that passed the checks but scored below a stored reply is also
    # retried. Not by default: such a retry beat the stored reply once in 11 (the dev chat sets
    # and `bench app --say questions`), and it doubles the turn's time while the user waits
    # (README, "Batched generation"). A sentence that failed a check is retried (3 of 6 won).
    retry_outranked: bool = False
    # A first attempt that failed a check is written again only when the best stored reply scores
    # below this: the retry must outscore it, and against a stored reply this strong none did. On
    # the dev logs (the engine's questions, `replies_dev`, `replies_long_dev`: 11 retries) the 5
    # retries against a stored reply scoring 0.68-0.71 all lost to it, the 6 against one under
    # 0.3 all won; each lost retry had cost its turn a second generation (README, "Less work a turn").
    retry_below: float = 0.6
    # Other intents at least this likely are checked too: a reply must suit each of them.
    also_check: float = 0.25
    # And when the polarity opposite the intent read holds at least this share of the votes of
    # the read polarity (good news read, but sadness and loneliness together not unlikely), the
    # reply must suit that polarity's most likely intent too, and replies that suit both ("How
    # are you feeling about it?") join in. A share, not a sum: a classifier unsure of a message
    # spreads a long tail over every intent. Per language, read on the reply dev set from the
    # perception's votes per message: turns where this fired though the read polarity was right
    # (a needless generic reply) / fired and the polarity was wrong (saved) / did not fire and
    # it was wrong. With the memory's neighbours voting on the intent too (``IntentWeights.memory``),
    # English at 0.6: 11 / 5 / 3 (0.4: 15 / 5 / 3; 0.5: 12 / 5 / 3; 0.7: 8 / 4 / 4); Chinese at
    # 0.8: 3 / 1 / 1 (0.6: 6 / 1 / 1; 0.5: 9 / 1 / 1). Before that vote: English 0.4 gave
    # 13 / 7 / 2 and Chinese 0.6 6 / 2 / 1.
    opposite_share: dict[str, float] = field(default_factory=lambda: {"en": 0.6, "zh": 0.8})


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
    # The selector's score of the model's first sentence minus the best other candidate's
    # (priors included), for the last attempt the selector judged: how the model won or lost.
    model_margin: float | None = None


Score = Callable[[Sequence[str]], Sequence[float]]


class _SentenceGate:
    """Receives the model's pieces; lets complete sentences out only when they pass.

    ``decide_first(sentence)`` says whether the reply may start with that sentence;
    ``check(sentence, reply_with_it)`` whether a later one may follow; ``doomed(reply, first)``,
    when given, whether the sentence still being written is already past saving (``reply``: the
    reply with it so far; ``first``: it is the first sentence), so generation stops there rather
    than at its end: too long, or a run of words said twice (more words cannot undo either).
    A doomed first sentence is rejected as if it had ended and failed.
    """

    def __init__(
        self,
        decide_first: Callable[[str], bool],
        check: Callable[[str, str], bool],
        emit: Callable[[str], None],
        *,
        max_sentences: int = MAX_SENTENCES,
        doomed: Callable[[str], bool] | None = None,
    ):
        self.decide_first = decide_first
        self.check = check
        self.emit = emit
        self.max_sentences = max_sentences
        self.doomed = doomed
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
        elif not self.check(sentence, self._with(sentence)):
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

    def _with(self, sentence: str) -> str:
        """The reply sent so far with ``sentence`` after it (what a later sentence is judged in)."""
        return " ".join(s for s in self.sent if s) + " " + sentence

    def stop(self, _text_so_far: str) -> bool:
        if not self.done and self.accepted is not False and self.doomed is not None:
            sentences = split_sentences(self.raw)
            if len(sentences) > len(self.sent):
                partial = clean_reply(sentences[len(self.sent)], max_sentences=1)
                first = self.accepted is None
                if partial and self.doomed(partial if first else self._with(partial), first):
                    # The sentence would fail when it ends: the reply is what was sent before
                    # it, or, for the first, none (the model may write once more).
                    self.done = True
                    if first:
                        self.accepted = False
        return self.done


# Counts and amounts a stored reply may carry from its own situation ("After eight months of
# trying?", "4:42 is amazing"): digits, English number words ("one" is too often a pronoun),
# Chinese numerals with a unit (a lone 一 is "a": 一次考试 is "an exam").
_NUMBER = re.compile(
    r"\d+|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|"
    r"thousand|dozen)\b|(?!一(?:个|年|月|天|次|周|岁|小时|分钟|斤|公里|块))"
    r"[一二两三四五六七八九十百千万]+(?:个|年|月|天|次|周|岁|小时|分钟|斤|公里|块)",
    re.IGNORECASE,
)


def foreign_numbers(reply: str, message: str) -> list[str]:
    """The counts in ``reply`` that ``message`` does not mention (pure)."""
    said = {m.group(0).lower() for m in _NUMBER.finditer(message)}
    return [m.group(0) for m in _NUMBER.finditer(reply) if m.group(0).lower() not in said]


def _content_length(text: str) -> int:
    """Letters, digits and Chinese characters: what a message says, without spaces and "!!!"."""
    return len(re.sub(r"[\W_]+", "", text))


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

    def same_situation(
        self, hits: Sequence[MemoryHit], intent: str, lang: str, message: str = ""
    ) -> list[MemoryHit]:
        """The memory's exchanges about the same situation as this turn, best first."""
        w = self.weights
        threshold = w.same_situation.get(lang, max(w.same_situation.values()))
        out = []
        for hit in hits:
            e = hit.exchange
            need = threshold + (w.later_turn_extra if e.history else 0.0)
            if e.lang != lang or hit.score < need:
                continue
            if message and _content_length(e.user_message) > w.max_length_ratio * _content_length(message):
                continue
            if e.intent is not None and e.intent != intent:
                continue
            if message and foreign_numbers(e.system_message, message):
                continue  # its reply answers details this user did not give
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
        also: Sequence[str] = (),
    ) -> list[Candidate]:
        """Memory and strategy candidates that pass the checks, best first (never empty). Those
        whose tone also suits the other likely intents (``also``) come first when there are any."""
        w = self.weights
        texts: list[tuple[str, str]] = []
        for hit in self.same_situation(neighbours, intent, lang, message):
            texts.append((clean_reply(hit.exchange.system_message), "memory"))
        # Good news or bad? Then the intent's own replies (a cheer, a hug) are a gamble: the
        # "uncertain" strategy replies are the ones that suit both.
        mixed = self._mixed(intent, also)
        strategy = UNCERTAIN if mixed else intent
        for text in self.strategies.candidates(strategy, lang, said=said, k=w.strategy_candidates, seed=seed):
            texts.append((text, "strategy"))
        scores = self.score(message, [t for t, _ in texts], lang, message_vector)
        prior = {"memory": w.prior_memory, "strategy": w.prior_strategy}
        out, safe = [], []
        for (text, source), s in zip(texts, scores, strict=True):
            checks = self.checker.check(text, intent=intent, lang=lang, earlier=said)
            if checks.passed:
                out.append(Candidate(text, source, s + prior[source], checks))
                if not also or self.checker.check(text, intent=intent, lang=lang, also=also).passed:
                    safe.append(out[-1])
            else:
                log.debug("%s candidate rejected (%s): %r", source, checks.problems, text)
        if safe:
            out = safe
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
        likely: dict[str, float] | None = None,
    ) -> Written:
        """``likely``: the intents the turn may have (probabilities); a reply's tone must also suit
        the others that are at least ``SelectionWeights.also_check`` likely."""
        start = time.perf_counter() if start is None else start
        also = self.also_check(intent, likely or {}, lang)
        alternatives = self.alternatives(
            message=message,
            intent=intent,
            lang=lang,
            neighbours=neighbours,
            said=said,
            seed=len(said),
            message_vector=message_vector,
            also=also,
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
        margins: list[float] = []
        if use_model and self.backbone is not None and self.model_may_answer(intent, lang):
            for attempt in range(2):
                attempts += 1
                scored_before = len(margins)
                gate = self._gate(
                    message, intent, lang, said, best, message_vector, emit, rejected, also, margins
                )
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
                    return Written(
                        gate.text,
                        "model",
                        tokens,
                        first[0],
                        rejected,
                        attempts,
                        model_seconds,
                        margins[-1] if margins else None,
                    )
                if gate.accepted is None:
                    rejected.append(f"model: empty reply {result.text[:60]!r}")
                # Its first sentence passed the checks and was scored (a margin), but lost.
                outranked = gate.accepted is False and len(margins) > scored_before
                if outranked and not self.weights.retry_outranked:
                    break
                if best.score >= self.weights.retry_below:
                    rejected.append(f"model: not retried: {best.source} scores {best.score:.2f}")
                    break
        emit(best.text)
        return Written(
            best.text,
            best.source,
            tokens,
            first[0],
            rejected,
            attempts,
            model_seconds,
            margins[-1] if margins else None,
        )

    def model_may_answer(self, intent: str, lang: str) -> bool:
        """Whether the backbone is asked to write this turn's reply at all."""
        allowed = self.weights.model_intents
        return lang in self.backbone.languages and (allowed is None or intent in allowed)

    def also_check(self, intent: str, likely: dict[str, float], lang: str = "en") -> list[str]:
        """The other intents whose tone a reply must also suit (pure but for the taxonomy)."""
        w = self.weights
        share = w.opposite_share.get(lang, min(w.opposite_share.values()))
        taxonomy = self.checker.taxonomy
        also = [k for k, p in likely.items() if k != intent and p >= w.also_check and k in taxonomy]
        polarity = taxonomy[intent].polarity if intent in taxonomy else "neutral"
        opposite = {"positive": "negative", "negative": "positive"}.get(polarity)
        if opposite:
            rivals = {k: p for k, p in likely.items() if k in taxonomy and taxonomy[k].polarity == opposite}
            own = sum(p for k, p in likely.items() if k in taxonomy and taxonomy[k].polarity == polarity)
            if rivals and sum(rivals.values()) >= share * max(own, likely.get(intent, 0.0)):
                top = max(rivals, key=rivals.get)
                if top not in also:
                    also.append(top)
        return also

    def _mixed(self, intent: str, also: Sequence[str]) -> bool:
        """Whether ``also`` holds an intent of the polarity opposite ``intent``'s."""
        taxonomy = self.checker.taxonomy
        if intent not in taxonomy or taxonomy[intent].polarity == "neutral":
            return False
        own = taxonomy[intent].polarity
        return any(a in taxonomy and taxonomy[a].polarity not in ("neutral", own) for a in also)

    def _gate(
        self,
        message,
        intent,
        lang,
        said,
        best: Candidate,
        message_vector,
        emit,
        rejected,
        also=(),
        margins=None,
    ) -> _SentenceGate:
        w = self.weights

        def decide_first(sentence: str) -> bool:
            checks = self.checker.check(
                sentence, intent=intent, lang=lang, final=False, earlier=said, also=also
            )
            if not checks.passed:
                rejected.append(f"model: {'; '.join(checks.problems)}: {sentence[:80]!r}")
                return False
            if self.selector is None:
                return True  # nothing to rank with: a reply that passes the checks is sent
            score = self.score(message, [sentence], lang, message_vector)[0] + w.prior_model
            if margins is not None:
                margins.append(score - best.score)
            if score < best.score:
                rejected.append(
                    f"model: scored {score:.2f} < {best.source} {best.score:.2f}: {sentence[:80]!r}"
                )
                return False
            return True

        def check(sentence: str, reply: str) -> bool:
            # The sentence on its own for what it says (a "Congrats!" before it must not excuse
            # a "so sorry" in it), the whole reply for repetition, length and its overall register.
            own = self.checker.check(sentence, intent=intent, lang=lang, final=False, also=also)
            whole = self.checker.check(reply.strip(), intent=intent, lang=lang, earlier=said)
            problems = own.problems + [
                p
                for p in whole.problems
                if p.startswith(("repetition", "too long", "tone")) and p not in own.problems
            ]
            if problems:
                rejected.append(f"model, later sentence: {'; '.join(problems)}: {sentence[:80]!r}")
            return not problems

        def doomed(reply: str, first: bool) -> bool:
            # The first sentence is not judged by its length (``decide_first``: final=False).
            if not first and too_long(reply.strip(), lang):
                what = "too long"
            elif run := repeats_while_written(reply):
                what = f"repetition: {run}"
            else:
                return False
            where = "model" if first else "model, later sentence"
            rejected.append(f"{where}: {what} (stopped while written): {reply[-80:]!r}")
            return True

        return _SentenceGate(decide_first, check, emit, doomed=doomed)
