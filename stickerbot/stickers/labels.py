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
