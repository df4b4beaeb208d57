"""The fine intents of a user's turn and how each is answered (``chat/data/intents.yaml``).

Seven SER30K emotions lose what a message is doing: "thank you for listening" and "I got the
job" are both Happiness, yet one wants "anytime" and the other "congrats". An intent names
what the user is doing; it derives the SER30K emotion (kept for sticker records and the
memory), the polarity the tone checks compare a reply with, the reply strategy the model is
told, and which stickers answer it.

Which stickers answer an intent (:func:`answers`), in order:
- a sticker named for it (``topics``: a sleeping face says good night whatever its emotion);
- a literal object sticker (a radio, a moon-viewing ceremony) only when it is the intent's
  symbol (a trophy congratulates) or, for small talk, when the message is about that thing;
- otherwise, a sticker whose fine emotion (Sticker820K) is one the intent lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from stickerbot.stickers.labels import EMOTIONS, FINE_EMOTIONS
from stickerbot.stickers.record import StickerRecord
from stickerbot.text import STOPWORDS, has_cjk, tokenize

INTENTS_PATH = Path(__file__).resolve().parent / "data" / "intents.yaml"
POLARITIES = ("positive", "negative", "neutral")
# The intent a turn gets when nothing can be read from it (an unknown picture with no words).
UNKNOWN_STICKER = "unknown_sticker"


@dataclass(frozen=True)
class Intent:
    name: str
    emotion: str  # the SER30K emotion it derives
    polarity: str  # positive | negative | neutral
    strategy: str
    fine: frozenset[str]
    topics: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    objects: bool = False
    no_laughter: bool = False
    sticker: bool = True
    search: tuple[tuple[str, str], ...] = ()
    meaning: tuple[tuple[str, str], ...] = ()

    def search_words(self, lang: str) -> str:
        table = dict(self.search)
        return table.get(lang) or table.get("en", "")

    def describe(self, lang: str) -> str:
        table = dict(self.meaning)
        return table.get(lang) or table["en"]


@dataclass(frozen=True)
class Taxonomy:
    intents: dict[str, Intent]
    # strategy name -> {lang: instruction for the model}
    strategies: dict[str, dict[str, str]]
    # fine emotion -> the intent of a user who sends such a sticker alone
    from_sticker: dict[str, str]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.intents)

    def __getitem__(self, name: str) -> Intent:
        try:
            return self.intents[name]
        except KeyError:
            raise ValueError(f"unknown intent {name!r}; known: {', '.join(self.intents)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.intents

    def instruction(self, intent: str, lang: str) -> str:
        table = self.strategies[self[intent].strategy]
        return table.get(lang) or table["en"]

    def emotion_of(self, intent: str) -> str:
        return self[intent].emotion


def _intent(name: str, spec: dict) -> Intent:
    if spec.get("emotion") not in EMOTIONS:
        raise ValueError(f"intents.yaml: {name}: emotion must be one of {EMOTIONS}")
    if spec.get("polarity") not in POLARITIES:
        raise ValueError(f"intents.yaml: {name}: polarity must be one of {POLARITIES}")
    unknown = set(spec.get("fine") or ()) - set(FINE_EMOTIONS)
    if unknown:
        raise ValueError(f"intents.yaml: {name}: unknown fine emotions {sorted(unknown)}")
    return Intent(
        name=name,
        emotion=spec["emotion"],
        polarity=spec["polarity"],
        strategy=spec["strategy"],
        fine=frozenset(spec.get("fine") or ()),
        topics=tuple(str(t).lower() for t in spec.get("topics") or ()),
        symbols=tuple(str(t).lower() for t in spec.get("symbols") or ()),
        objects=bool(spec.get("objects", False)),
        no_laughter=bool(spec.get("no_laughter", False)),
        sticker=bool(spec.get("sticker", True)),
        search=tuple(sorted((spec.get("search") or {}).items())),
        meaning=tuple((lang, spec[lang]) for lang in ("en", "zh") if lang in spec),
    )


@lru_cache(maxsize=2)
def load_taxonomy(path: Path = INTENTS_PATH) -> Taxonomy:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    intents = {name: _intent(name, spec) for name, spec in data["intents"].items()}
    strategies = {name: dict(spec) for name, spec in data["strategies"].items()}
    missing = {i.strategy for i in intents.values()} - set(strategies)
    if missing:
        raise ValueError(f"intents.yaml: strategies {sorted(missing)} are used but not written")
    table = {fine: intent for fine, intent in (data.get("from_sticker") or {}).items()}
    bad = {v for v in table.values() if v not in intents} | (set(table) - set(FINE_EMOTIONS))
    if bad:
        raise ValueError(f"intents.yaml: from_sticker names unknown intents or fine emotions: {sorted(bad)}")
    return Taxonomy(intents, strategies, table)


def intent_names() -> tuple[str, ...]:
    return load_taxonomy().names


# --- stickers --------------------------------------------------------------------------------

# Emoji groups whose stickers express a feeling or a gesture; the bundled pack's description
# ends with "(group, subgroup)" (scripts/build_pack.py writes it from emojibase).
_EXPRESSIVE_GROUPS = ("smileys & emotion", "people & body")
# ... except families and couples, which show who, not how one feels (a family for "thanks"?).
_LITERAL_SUBGROUPS = ("family",)
_GROUP = re.compile(r"\(([^(),]+),([^()]*)\)\s*$")
# Name words that say nothing about which thing a sticker shows.
_GENERIC_NAME_WORDS = frozenset({"face", "hand", "hands", "person", "man", "woman", "with", "sign", "symbol"})


def is_literal(record: StickerRecord) -> bool:
    """Whether the sticker shows a thing (a radio, the moon, food) rather than a feeling.

    Emoji from the bundled pack carry their emojibase group; caption stickers and imported
    packs (characters people send to say something) are expressive."""
    if not record.emoji or record.id.startswith("caption:"):
        return False
    match = _GROUP.search(record.description or "")
    if not match:
        return False
    group, subgroup = match.group(1).strip().lower(), match.group(2).strip().lower()
    return group not in _EXPRESSIVE_GROUPS or subgroup in _LITERAL_SUBGROUPS


def _name_text(record: StickerRecord) -> str:
    return f"{record.name} {record.ocr_text}".lower()


def object_words(record: StickerRecord) -> tuple[frozenset[str], tuple[str, ...]]:
    """What names the thing a sticker shows: its name's words (tokenised, generic ones dropped)
    and its Chinese keywords."""
    words = frozenset(t for t in tokenize(record.name) if t not in STOPWORDS and t not in _GENERIC_NAME_WORDS)
    return words, tuple(k for k in record.keywords_zh if k)


def names_object(message: str, words: tuple[frozenset[str], tuple[str, ...]], tokens=None) -> bool:
    """Whether ``message`` (its ``tokens``, when already computed) names a thing by ``object_words``."""
    if not message:
        return False
    english, chinese = words
    if has_cjk(message):
        return any(k in message for k in chinese)
    return bool(english & set(tokens if tokens is not None else tokenize(message)))


def mentions(message: str, record: StickerRecord) -> bool:
    """Whether the message names the thing the sticker shows."""
    return names_object(message, object_words(record))


def topic_intents(record: StickerRecord) -> tuple[str, ...]:
    """The intents whose ``topics`` name this sticker (its name or its words)."""
    text = _name_text(record)
    return tuple(i.name for i in load_taxonomy().intents.values() if any(t in text for t in i.topics))


def answers(intent: str | Intent, record: StickerRecord, message: str = "") -> bool:
    """Whether ``record`` is a sticker a friend would send back to a turn with ``intent``."""
    spec = load_taxonomy()[intent] if isinstance(intent, str) else intent
    if not spec.sticker:
        return False
    topical = topic_intents(record)
    if topical:
        # A sticker named for an occasion (good night, good morning) answers only that occasion.
        return spec.name in topical
    if is_literal(record):
        if any(s in record.name.lower() for s in spec.symbols):
            return True
        return spec.objects and mentions(message, record)
    return record.fine_emotion in spec.fine


def intent_of_sticker(record: StickerRecord) -> str:
    """The intent of a user who sends this library sticker on its own."""
    taxonomy = load_taxonomy()
    topical = topic_intents(record)
    if topical:
        # Named stickers first: a sleeping face sent alone says good night.
        return topical[0]
    if record.fine_emotion in taxonomy.from_sticker:
        return taxonomy.from_sticker[record.fine_emotion]
    return "small_talk"
