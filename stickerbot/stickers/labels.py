"""Label vocabularies shared by the library, the chat and the training code.

Defined once here so that the pack builder, the importer, the index and the
evaluators all agree on spelling.
"""

from __future__ import annotations

# SER30K's seven emotion labels; StickerConv stores them as `origin_anno`.
EMOTIONS: tuple[str, ...] = (
    "Anger",
    "Disgust",
    "Fear",
    "Happiness",
    "Neutral",
    "Sadness",
    "Surprise",
)

# Sticker820K's 30 fine emotion categories, as the paper's figure names them,
# grouped by polarity. Each maps to the SER30K label it usually agrees with;
# the pack builder checks hand-written labels against this map.
FINE_TO_EMOTION: dict[str, str] = {
    # positive (13)
    "excited": "Happiness",
    "envious": "Sadness",
    "smiling": "Happiness",
    "intimate": "Happiness",
    "anticipating": "Happiness",
    "encouraging": "Happiness",
    "thankful": "Happiness",
    "admiring": "Happiness",
    "proud": "Happiness",
    "naughty": "Happiness",
    "comforting": "Happiness",
    "relaxed": "Happiness",
    "agreeing": "Happiness",
    # negative (11)
    "embarrassed": "Sadness",
    "sad": "Sadness",
    "perfunctory": "Neutral",
    "painful": "Sadness",
    "angry": "Anger",
    "poor": "Sadness",
    "disgusted": "Disgust",
    "afraid": "Fear",
    "dissatisfied": "Anger",
    "opposing": "Anger",
    "crying": "Sadness",
    # ambiguous (6)
    "shocked": "Surprise",
    "confused": "Neutral",
    "funny": "Happiness",
    "shy": "Happiness",
    "sorry": "Sadness",
    "other": "Neutral",
}
FINE_EMOTIONS: tuple[str, ...] = tuple(FINE_TO_EMOTION)

# Sticker820K's style classes.
STYLES: tuple[str, ...] = (
    "real people",
    "cute pets & dolls",
    "cute cartoons",
    "parody cartoons",
    "abstract icons",
    "harmful stickers",
    "other types",
)


def normalize_emotion(value: str | None) -> str | None:
    """Return the canonical SER30K spelling of ``value`` or None when unknown."""
    if not value:
        return None
    wanted = value.strip().lower()
    for label in EMOTIONS:
        if label.lower() == wanted:
            return label
    return None


def normalize_fine_emotion(value: str | None) -> str | None:
    if not value:
        return None
    wanted = value.strip().lower()
    return wanted if wanted in FINE_TO_EMOTION else None


# Which stickers answer a user who feels each SER30K emotion, as a friend would: by the
# sticker's fine emotion (Sticker820K). A sad user gets comfort or shared sadness, never a
# party popper. Stickers without a fine emotion (objects, animals, food) fit only small talk.
# The chat picks only fitting stickers, and `eval chat` scores a reply's sticker by this table.
RESPONSE_FIT: dict[str, frozenset[str]] = {
    "Anger": frozenset({"angry", "dissatisfied", "opposing", "comforting", "disgusted", "shocked"}),
    "Disgust": frozenset({"disgusted", "dissatisfied", "opposing", "shocked", "embarrassed"}),
    "Fear": frozenset({"afraid", "comforting", "encouraging", "shocked", "intimate"}),
    "Happiness": frozenset(
        {
            "excited",
            "smiling",
            "proud",
            "admiring",
            "thankful",
            "intimate",
            "naughty",
            "funny",
            "relaxed",
            "agreeing",
            "encouraging",
            "anticipating",
            "shy",
        }
    ),
    "Neutral": frozenset(
        {
            "smiling",
            "relaxed",
            "agreeing",
            "other",
            "confused",
            "funny",
            "naughty",
            "anticipating",
            "thankful",
            "perfunctory",
        }
    ),
    "Sadness": frozenset(
        {"sad", "crying", "painful", "poor", "sorry", "comforting", "encouraging", "intimate"}
    ),
    "Surprise": frozenset({"shocked", "excited", "confused", "funny", "anticipating"}),
}
# Emotions whose answer may also be a plain object or animal sticker (no fine emotion).
PLAIN_STICKERS_FIT: frozenset[str] = frozenset({"Neutral", "Happiness"})


def sticker_fits(user_emotion: str, sticker_emotion: str | None, sticker_fine: str | None) -> bool:
    """Whether a sticker (its SER30K and fine emotion) answers a user who feels ``user_emotion``."""
    if sticker_fine:
        return sticker_fine in RESPONSE_FIT[user_emotion]
    return user_emotion in PLAIN_STICKERS_FIT and sticker_emotion in ("Neutral", "Happiness")
