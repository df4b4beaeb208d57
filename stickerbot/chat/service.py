"""The conversation engine: one turn from (history, message, uploaded sticker) to a Reply.

    perceive  -> the user's language and emotion (cue words, similar dialogues, the sticker)
    remember  -> the most similar exchanges of the empathetic memory, as examples
    generate  -> 1 to 3 sentences from the backbone, streamed to ``on_token``
    decide    -> whether a sticker goes with it (frequency setting, factual question, last turn)
    choose    -> the sticker that answers the emotion and matches the reply (and, with a
                 retrieval-token checkpoint, the <ret> embedding of the message)

The service holds only shared, read-only parts (backbone, library, memory); everything
about a conversation comes in with the call, so one service serves every session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stickerbot.backbones.base import ChatBackbone, TokenCallback
from stickerbot.chat.choose import StickerChooser
from stickerbot.chat.emotion import EmotionPerceiver, Perception
from stickerbot.chat.policy import StickerDecision, decide, is_factual
from stickerbot.chat.prompt import SYSTEM_PROMPTS, build_messages
from stickerbot.chat.text import clean_reply, enough_sentences, is_in_language
from stickerbot.chat.types import ChatOptions, Reply, Turn
from stickerbot.chat.upload import UploadedSticker, read_upload
from stickerbot.memory.store import DialogueMemory, MemoryHit
from stickerbot.retrieval.search import SearchHit
from stickerbot.retrieval.text import detect_lang
from stickerbot.stickers.images import ImageLimits, LoadedImage

log = logging.getLogger(__name__)

# Memory neighbours fetched per turn: they vote on the emotion, and the best become examples.
NEIGHBOURS = 5
# An exchange this unlike the message is a poor example: the model copies its situation.
MIN_EXAMPLE_SCORE = 0.35


@dataclass(frozen=True)
class TurnPlan:
    lang: str
    # The user's words plus the words on their sticker: what emotion and stickers are matched to.
    text: str
    upload: UploadedSticker | None
    perception: Perception
    # The most similar exchanges (all of them), and the best few shown to the model.
    neighbours: list[MemoryHit]
    examples: list[MemoryHit]
    decision: StickerDecision
    # Stickers the bot already sent in this conversation (not sent again).
    sent_before: frozenset[str]


def backbone_languages(backbone: ChatBackbone) -> tuple[str, ...]:
    return tuple(getattr(backbone, "languages", ("en", "zh")))


class ChatService:
    def __init__(
        self,
        backbone: ChatBackbone,
        search,
        memory: DialogueMemory,
        *,
        perceiver: EmotionPerceiver | None = None,
        chooser: StickerChooser | None = None,
        options: ChatOptions | None = None,
        limits: ImageLimits | None = None,
        duplicate_bits: int = 3,
        ret: Callable[..., Any] | None = None,
    ):
        """``search`` is the library's StickerSearch; ``options`` are the defaults for every call;
        ``ret`` (a ``retrieval_tokens.query.RetQuerier``) adds the ``<ret>`` embedding of the
        message to the sticker choice, when a retrieval-token checkpoint is loaded."""
        self.backbone = backbone
        self.search = search
        self.memory = memory
        self.perceiver = perceiver or EmotionPerceiver(memory)
        self.chooser = chooser or StickerChooser(search)
        self.options = options or ChatOptions()
        self.limits = limits
        self.duplicate_bits = duplicate_bits
        self.ret = ret

    def warm_up(self) -> None:
        """Compute the system prompt ahead of the first user, on a backbone that caches prompt
        prefixes (``prime``): the first reply then waits only for its own part of the prompt."""
        prime = getattr(self.backbone, "prime", None)
        if prime is not None:
            lang = next((lang for lang in self.backbone.languages if lang in SYSTEM_PROMPTS), "en")
            prime([{"role": "system", "content": SYSTEM_PROMPTS[lang]}])

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
        for text in (
            message,
            upload.text if upload else "",
            *(t.text for t in reversed(history) if t.role == "user"),
        ):
            if text and text.strip():
                return detect_lang(text)
        return "en"

    def perceive(
        self, text: str, lang: str, upload: UploadedSticker | None
    ) -> tuple[Perception, list[MemoryHit]]:
        if not text.strip():
            neighbours, vector = [], None
        else:
            # Embedded once: for the memory search and for the emotion classifier.
            vector = self.memory.embed(text) if self.memory.covers(lang) else None
            neighbours = self.memory.similar(text, k=NEIGHBOURS, lang=lang, vector=vector)
        perception = self.perceiver.perceive(
            text,
            lang=lang,
            sticker_emotion=upload.emotion if upload else None,
            neighbours=neighbours,
            vector=vector,
        )
        return perception, neighbours

    @staticmethod
    def pick_examples(neighbours: Sequence[MemoryHit], emotion: str, n: int) -> list[MemoryHit]:
        """The best ``n`` neighbours, those labelled with the perceived emotion first."""
        close = [h for h in neighbours if h.score >= MIN_EXAMPLE_SCORE]
        ranked = sorted(close, key=lambda h: (h.exchange.emotion != emotion, -h.score))
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
        """Everything decided before generation: language, emotion, examples, whether to send a sticker."""
        options = options or self.options
        lang = self.language_of(message, upload, history, options.language)
        text = " ".join(p for p in (message, upload.text if upload else "") if p.strip())
        perception, neighbours = self.perceive(text, lang, upload)
        factual = is_factual(message, emotional=perception.emotional) if message.strip() else False
        sent_last = next(
            (bool(turn.sticker) for turn in reversed(history) if turn.role == "assistant"), False
        )
        decision = decide(
            options.frequency, factual=factual, emotional=perception.emotional, sent_last_turn=sent_last
        )
        return TurnPlan(
            lang=lang,
            text=text,
            upload=upload,
            perception=perception,
            neighbours=neighbours,
            examples=self.pick_examples(neighbours, perception.emotion, options.examples),
            decision=decision,
            sent_before=frozenset(t.sticker for t in history if t.role == "assistant" and t.sticker),
        )

    def messages_for(self, plan: TurnPlan, history: Sequence[Turn], message: str) -> list[dict]:
        """The prompt the backbone gets for this turn."""
        return build_messages(
            message,
            lang=plan.lang,
            examples=[h.exchange for h in plan.examples],
            history=history,
            sticker_description=plan.upload.describe() if plan.upload else None,
        )

    def choose_sticker(self, plan: TurnPlan, reply_text: str) -> SearchHit | None:
        if not plan.decision.send:
            return None
        emotion = plan.perception.emotion
        ret_vector = None
        if self.ret is not None and (plan.text.strip() or plan.upload):
            match = plan.upload.match if plan.upload else None
            ret_vector = self.ret(plan.text, image_id=match.id if match else None).vector
        return self.chooser.choose(
            emotion,
            reply=reply_text,
            message=plan.text,
            emotion_query=self.perceiver.response_query(emotion, plan.lang),
            lang=plan.lang,
            exclude=plan.sent_before,
            ret_vector=ret_vector,
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
        """One turn. ``on_token`` gets a live preview of the text; ``Reply.text`` is the final
        (cleaned) reply. ``overrides`` replace fields of ``options`` (e.g. ``frequency="always"``)."""
        options = options or self.options
        if overrides:
            options = replace(options, **overrides)
        message = message or ""
        if not message.strip() and image is None:
            raise ValueError("a turn needs a message, a sticker, or both")
        start = time.perf_counter()
        timings: dict[str, float] = {}

        upload = self.read_sticker(image) if image is not None else None
        timings["read_sticker"] = time.perf_counter() - start
        t = time.perf_counter()
        plan = self.plan(history, message, upload, options=options)
        timings["perceive"] = time.perf_counter() - t

        t = time.perf_counter()
        messages = self.messages_for(plan, history, message)
        text, source, tokens, first_token = self._write(messages, plan, options, on_token, start)
        timings["generate"] = time.perf_counter() - t
        timings["first_token"] = first_token

        t = time.perf_counter()
        sticker = self.choose_sticker(plan, text)
        timings["choose"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - start
        timings["overhead"] = timings["total"] - timings["generate"]
        why = plan.decision.why if sticker or not plan.decision.send else "no sticker in the library fits"
        return Reply(
            text=text,
            sticker=sticker,
            user_emotion=plan.perception.emotion,
            emotion_confidence=plan.perception.confidence,
            language=plan.lang,
            source=source,
            why_sticker=why,
            timings=timings,
            tokens=tokens,
            upload=upload.to_dict() if upload else None,
            examples=[h.exchange.id for h in plan.examples],
        )

    def _write(
        self,
        messages,
        plan: TurnPlan,
        options: ChatOptions,
        on_token: TokenCallback | None,
        start: float,
    ) -> tuple[str, str, dict[str, int], float]:
        """(reply text, source, token counts, seconds from the turn's start to the first piece)."""
        lang, upload = plan.lang, plan.upload
        first: list[float] = []
        raw: list[str] = []

        def preview(piece: str) -> None:
            # Pieces past the sentence limit are generated (the model stops a step late) but
            # not shown: the preview stays a prefix of what the final reply keeps.
            if enough_sentences("".join(raw)):
                return
            raw.append(piece)
            if not first:
                first.append(time.perf_counter() - start)
            if on_token is not None:
                on_token(piece)

        if lang in backbone_languages(self.backbone):
            images = (
                [upload.image.first] if upload and getattr(self.backbone, "supports_images", False) else None
            )
            result = self.backbone.generate(
                messages,
                max_new_tokens=options.max_new_tokens,
                temperature=options.temperature,
                images=images,
                on_token=preview,
                stop=enough_sentences,
            )
            text = clean_reply(result.text)
            tokens = {
                "prompt": result.prompt_tokens,
                "new": result.new_tokens,
                # The backbone's own clock, for decode speed without the pipeline around it.
                "model_ms_to_first_token": round(1000 * result.seconds_to_first_token),
                "model_ms_total": round(1000 * result.seconds_total),
            }
            if text and is_in_language(text, lang):
                return text, "model", tokens, first[0] if first else time.perf_counter() - start
            log.info("the backbone answered outside %s (%r); using the memory's reply", lang, text[:80])
        else:
            tokens = {"prompt": 0, "new": 0}
        best = sorted(
            plan.neighbours, key=lambda h: (h.exchange.emotion != plan.perception.emotion, -h.score)
        )
        fallback = next((h.exchange.system_message for h in best if h.exchange.lang == lang), None)
        if fallback is None:
            # Nothing in the user's language to fall back on: the model's words are better than none.
            text = clean_reply("".join(raw)) or "…"
            return text, "model", tokens, first[0] if first else time.perf_counter() - start
        text = clean_reply(fallback)
        if not first:
            first.append(time.perf_counter() - start)
            if on_token is not None:
                on_token(text)
        return text, "memory", tokens, first[0]
