"""The SER30K emotion cue lexicon (``assets/annotations/emotion_cues.yaml``): the words,
phrases and emoji that signal each of the seven emotions, and the sticker-search words for
answering each. The dialogue agents use it to read a message's feeling without a model; the
chat itself reads fine intents (``chat/perceive.py``), from which the emotion derives.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from stickerbot.chat.cues import CueSet, compile_cues, cue_matches, cue_scores
from stickerbot.config import ASSETS_DIR
from stickerbot.stickers.labels import EMOTIONS

CUES_PATH = ASSETS_DIR / "annotations" / "emotion_cues.yaml"

__all__ = ["CUES_PATH", "CueSet", "cue_matches", "cue_scores", "load_cues"]


@lru_cache(maxsize=4)
def load_cues(path: Path = CUES_PATH) -> tuple[dict[str, CueSet], dict[str, dict[str, str]]]:
    """(emotion -> compiled cues, emotion -> {lang: sticker search words}) from the YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cues = {emotion: compile_cues(data["cues"].get(emotion, {})) for emotion in EMOTIONS}
    responses = {emotion: dict(data["responses"][emotion]) for emotion in EMOTIONS}
    return cues, responses
