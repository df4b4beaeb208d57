"""The conversation engine: one turn from (history, message, uploaded sticker) to a Reply.

    perceive  -> the user's language and fine intent (cue words, a classifier trained on the
                 dialogue memory, the sticker they sent); the SER30K emotion derives from it
    remember  -> the most similar exchanges of the empathetic memory
    write     -> the reply (``chat/compose.py``): the model's, streamed sentence by sentence as
                 each passes the checks, or the best memory / strategy reply when it does not
    decide    -> whether a sticker goes with it (frequency setting, factual question, last turn)
    choose    -> the sticker that answers the intent and matches the reply (and, with a
                 retrieval-token checkpoint, the <ret> embedding of the message)

The service holds only shared, read-only parts (backbone, library, memory, models trained at
start-up); everything about a conversation comes in with the call, so one service serves
every session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stickerbot.backbones.base import ChatBackbone, TokenCallback, prime
from stickerbot.chat.checks import ReplyChecker
from stickerbot.chat.choose import StickerChooser
from stickerbot.chat.compose import ReplyComposer, Written
from stickerbot.chat.intents import intent_of_sticker
from stickerbot.chat.perceive import IntentPerceiver, Perception
from stickerbot.chat.policy import StickerDecision, decide
from stickerbot.chat.prompt import build_messages, persona
from stickerbot.chat.strategies import StrategyReplies, said_by_bot
from stickerbot.chat.types import ChatOptions, Reply, Turn
from stickerbot.chat.upload import UploadedSticker, read_upload
from stickerbot.errors import UserError
from stickerbot.memory.store import DialogueMemory, MemoryHit
from stickerbot.retrieval.search import SearchHit
from stickerbot.stickers.images import ImageLimits, LoadedImage
from stickerbot.text import detect_lang, language_signal

log = logging.getLogger(__name__)

# Memory neighbours fetched per turn: the memory's candidate replies come from them.
NEIGHBOURS = 5
# An exchange this unlike the message is a poor example: the model copies its situation.
MIN_EXAMPLE_SCORE = 0.35


@dataclass(frozen=True)
class TurnPlan:
    lang: str
    # The user's words plus the words on their sticker: what intent and stickers are matched to.
    text: str
    upload: UploadedSticker | None
    perception: Perception
    # The most similar exchanges (all of them), and the best few shown to the model.
    neighbours: list[MemoryHit]
    examples: list[MemoryHit]
    decision: StickerDecision
    # Stickers the bot already sent in this conversation (not sent again).
    sent_before: frozenset[str]
    # The message embedded by the memory's embedder (None for languages it does not cover).
    vector: Any = None


def backbone_languages(backbone: ChatBackbone | None) -> tuple[str, ...]:
    return tuple(backbone.languages) if backbone is not None else ()


class ChatService:
    def __init__(
        self,
        backbone: ChatBackbone | None,
        search,
        memory: DialogueMemory,
        *,
        perceiver: IntentPerceiver | None = None,
        chooser: StickerChooser | None = None,
        composer: ReplyComposer | None = None,
        options: ChatOptions | None = None,
        limits: ImageLimits | None = None,
        duplicate_bits: int = 3,
        ret: Callable[..., Any] | None = None,
    ):
        """``search`` is the library's StickerSearch; ``options`` are the defaults for every call;
        ``backbone`` None answers from the memory and the strategy replies only; ``ret`` (a
        ``retrieval_tokens.query.RetQuerier``) adds the ``<ret>`` embedding of the message to
        the sticker choice, when a retrieval-token checkpoint is loaded."""
        self.backbone = backbone
        self.search = search
        self.memory = memory
        self.perceiver = perceiver or IntentPerceiver()
        self.chooser = chooser or StickerChooser(search)
        self.composer = composer or ReplyComposer(backbone, ReplyChecker(), StrategyReplies.load())
        self.options = options or ChatOptions()
        self.limits = limits
        self.duplicate_bits = duplicate_bits
        self.ret = ret

    def warm_up(self) -> None:
        """Compute the persona prompt ahead of the first user, on a backbone that caches prompt
        prefixes (``Capabilities.prime``): the first reply then waits only for its own part of
        the prompt."""
        if self.backbone is not None and self.backbone.capabilities.prime:
            lang = next((lang for lang in self.backbone.languages if lang in ("en", "zh")), "en")
            prime(self.backbone, [{"role": "system", "content": persona(lang)}])

    # --- the steps --------------------------------------------------------------------------

    def read_sticker(self, image: bytes | Path | str | LoadedImage) -> UploadedSticker:
        """Check and understand an uploaded sticker (BadImageError with the reason when it is bad)."""
        if isinstance(image, str | Path):
            image = Path(image).read_bytes()
        return read_upload(image, self.search, limits=self.limits, max_bits=self.duplicate_bits)

    def language_of(
        self, message: str, upload: UploadedSticker | None, history: Sequence[Turn], chosen: str
    ) -> str:
        if chosen != "auto":
            return chosen
        # The message's own words first; an emoji-only message or a sticker keeps the language
        # of the conversation, and a sticker's words count only when nothing was said before.
        for text in (
            message,
            *(t.text for t in reversed(history) if t.role == "user"),
            upload.text if upload else "",
        ):
            if text and (lang := language_signal(text)):
                return lang
        return "en"

    def _embed(self, text: str, lang: str):
        return self.memory.embed(text) if text.strip() and self.memory.covers(lang) else None

    def perceive(
        self,
        text: str,
        lang: str,
        upload: UploadedSticker | None,
        history: Sequence[Turn] = (),
        *,
        sticker_only: bool = False,
    ) -> tuple[Perception, list[MemoryHit], Any]:
        """(the turn's intent, its memory neighbours, the text embedded by the memory's embedder)."""
        vector = self._embed(text, lang)
        neighbours = self.memory.similar(text, k=NEIGHBOURS, lang=lang, vector=vector) if text.strip() else []
        # A known sticker's intent; an unknown one's from the library sticker it looks like, when
        # the image encoder is sure (else the picture is answered neutrally).
        seen = (upload.match or upload.looks_like) if upload else None
        sticker_intent = intent_of_sticker(seen) if seen else None
        previous = next((t for t in reversed(history) if t.role == "user" and t.text.strip()), None)
        previous_intent = None
        if previous is not None:
            # A short follow-up ("still hurts") reads in the light of the turn before it.
            previous_lang = detect_lang(previous.text)
            previous_intent = self.perceiver.perceive(
                previous.text, lang=previous_lang, vector=self._embed(previous.text, previous_lang)
            ).intent
        perception = self.perceiver.perceive(
            text,
            lang=lang,
            sticker_intent=sticker_intent,
            previous_intent=previous_intent,
            vector=vector,
            neighbours=[(h.exchange.intent, h.score) for h in neighbours],
            sticker_only=sticker_only,
        )
        return perception, neighbours, vector

    @staticmethod
    def pick_examples(neighbours: Sequence[MemoryHit], intent: str, n: int) -> list[MemoryHit]:
        """The best ``n`` neighbours, those labelled with the perceived intent first."""
        if n <= 0:
            return []
        close = [h for h in neighbours if h.score >= MIN_EXAMPLE_SCORE]
        ranked = sorted(close, key=lambda h: (h.exchange.intent != intent, -h.score))
        return ranked[:n]

    # --- a turn ---------------------------------------------------------------------------------

    def plan(
        self,
        history: Sequence[Turn],
        message: str,
        upload: UploadedSticker | None = None,
        *,
        options: ChatOptions | None = None,
    ) -> TurnPlan:
        """Everything decided before generation: language, intent, memory, whether to send a sticker."""
        options = options or self.options
        lang = self.language_of(message, upload, history, options.language)
        text = " ".join(p for p in (message, upload.text if upload else "") if p.strip())
        perception, neighbours, vector = self.perceive(
            text, lang, upload, history, sticker_only=upload is not None and not message.strip()
        )
        sent_last = next(
            (bool(turn.sticker) for turn in reversed(history) if turn.role == "assistant"), False
        )
        decision = decide(
            options.frequency,
            factual=perception.intent == "question",
            emotional=perception.emotional,
            sent_last_turn=sent_last,
        )
        return TurnPlan(
            lang=lang,
            text=text,
            upload=upload,
            perception=perception,
            neighbours=neighbours,
            examples=self.pick_examples(neighbours, perception.intent, options.examples),
            decision=decision,
            sent_before=frozenset(t.sticker for t in history if t.role == "assistant" and t.sticker),
            vector=vector,
        )

    def messages_for(self, plan: TurnPlan, history: Sequence[Turn], message: str) -> list[dict]:
        """The prompt the backbone gets for this turn."""
        return build_messages(
            message,
            lang=plan.lang,
            intent=plan.perception.intent,
            examples=[h.exchange for h in plan.examples],
            history=history,
            sticker_description=plan.upload.describe() if plan.upload else None,
        )

    def choose_sticker(self, plan: TurnPlan, reply_text: str) -> SearchHit | None:
        if not plan.decision.send:
            return None
        intent = plan.perception.intent
        ret_vector = None
        if self.ret is not None and (plan.text.strip() or plan.upload):
            match = plan.upload.match if plan.upload else None
            ret_vector = self.ret(plan.text, image_id=match.id if match else None).vector
        return self.chooser.choose(
            intent,
            reply=reply_text,
            message=plan.text,
            intent_query=self.perceiver.search_words(intent, plan.lang),
            lang=plan.lang,
            exclude=plan.sent_before,
            ret_vector=ret_vector,
            likely=plan.perception.likely(memory=False),
        )

    def write(
        self,
        plan: TurnPlan,
        history: Sequence[Turn],
        message: str,
        *,
        options: ChatOptions,
        on_token: TokenCallback | None = None,
        start: float | None = None,
    ) -> Written:
        """The reply's words (``chat/compose.py``), streamed to ``on_token`` as they pass the checks."""
        upload = plan.upload
        images = None
        if upload is not None and self.backbone is not None and self.backbone.supports_images:
            images = [upload.image.first]
        return self.composer.write(
            self.messages_for(plan, history, message),
            message=plan.text,
            intent=plan.perception.intent,
            lang=plan.lang,
            neighbours=plan.neighbours,
            said=said_by_bot(history),
            max_new_tokens=options.max_new_tokens,
            temperature=options.temperature,
            images=images,
            on_token=on_token,
            start=start,
            message_vector=plan.vector,
            likely=plan.perception.likely(),
        )

    def reply(
        self,
        history: Sequence[Turn],
        message: str,
        image: bytes | Path | str | LoadedImage | None = None,
        *,
        options: ChatOptions | None = None,
        on_token: TokenCallback | None = None,
        **overrides: Any,
    ) -> Reply:
        """One turn. ``on_token`` gets the reply as it is approved (sentence by sentence for the
        model's words); ``Reply.text`` is the final reply. ``overrides`` replace fields of
        ``options`` (e.g. ``frequency="always"``)."""
        options = options or self.options
        if overrides:
            options = replace(options, **overrides)
        message = message or ""
        if not message.strip() and image is None:
            raise UserError("a turn needs a message, a sticker, or both")
        start = time.perf_counter()
        timings: dict[str, float] = {}

        upload = self.read_sticker(image) if image is not None else None
        timings["read_sticker"] = time.perf_counter() - start
        t = time.perf_counter()
        plan = self.plan(history, message, upload, options=options)
        timings["perceive"] = time.perf_counter() - t

        t = time.perf_counter()
        written = self.write(plan, history, message, options=options, on_token=on_token, start=start)
        timings["generate"] = time.perf_counter() - t
        timings["model"] = written.model_seconds
        timings["first_token"] = written.first_token

        t = time.perf_counter()
        sticker = self.choose_sticker(plan, written.text)
        timings["choose"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - start
        # Everything but the backbone's own generation: perception, memory, checks, selection, sticker.
        timings["overhead"] = timings["total"] - timings["model"]
        why = plan.decision.why if sticker or not plan.decision.send else "no sticker in the library fits"
        return Reply(
            text=written.text,
            sticker=sticker,
            intent=plan.perception.intent,
            user_emotion=plan.perception.emotion,
            emotion_confidence=plan.perception.confidence,
            language=plan.lang,
            source=written.source,
            why_sticker=why,
            timings=timings,
            tokens=written.tokens,
            upload=upload.to_dict() if upload else None,
            examples=[h.exchange.id for h in plan.examples],
            rejected=written.rejected,
            model_margin=written.model_margin,
        )
