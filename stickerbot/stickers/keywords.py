"""Keywords from a sticker's file name: crying_cat-02.png -> crying, cat."""

from __future__ import annotations

import re

from stickerbot.text import has_cjk

# Words that name the file, not the sticker.
_NOISE = frozenset(
    "img image images pic photo sticker stickers emoji gif png jpg jpeg webp copy final new "
    "edit edited frame untitled screenshot download file tg wechat wx".split()
)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SPLIT = re.compile(r"[\s_\-.+()\[\]{},;!@#~]+")


def keywords_from_filename(filename: str) -> tuple[list[str], list[str]]:
    """(english keywords, chinese keywords) from a file name, without its extension."""
    stem = filename.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    en: list[str] = []
    zh: list[str] = []
    for part in _SPLIT.split(_CAMEL.sub(" ", stem)):
        part = part.strip()
        if not part or part.isdigit():
            continue
        if has_cjk(part):
            zh.append(part)
            continue
        word = part.lower().strip("0123456789")
        if len(word) >= 2 and word not in _NOISE and word not in en:
            en.append(word)
    return en, zh
