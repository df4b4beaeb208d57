"""Text normalisation and tokenisation shared by lexical search and the evaluators.

English words are lower-cased and lightly stemmed; Chinese (which has no
spaces) is cut into character unigrams and bigrams, so 好累啊 still meets 好累.
"""

from __future__ import annotations

import re
import unicodedata

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:'[a-z]+)?")
_HAS_CJK = re.compile(rf"[{_CJK}]")

# Words that carry no meaning for finding a sticker.
STOPWORDS = frozenset(
    """a an the and or but of to in on at for with from by as is are was were be been being am
    i me my mine we us our you your it its this that these those there here so very really just
    literally rn u ur im i'm it's that's do does did have has had will would can could should
    about into over than then too also some any all what when who how why which""".split()
)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().replace("’", "'")


def has_cjk(text: str) -> bool:
    return bool(_HAS_CJK.search(text))


_LATIN_WORD = re.compile(r"[a-zA-Z]{2,}")


def language_signal(text: str) -> str | None:
    """The language a text is written in ("zh" or "en"), None when it has no words (emoji, "?!").

    Mixed text is Chinese unless its English words outnumber its Chinese characters, so
    "just had the best 小笼包 of my life" is English and "这个app太好用了" Chinese."""
    cjk = len(_HAS_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if not cjk and not latin:
        return None
    return "zh" if cjk >= latin else "en"


def detect_lang(text: str) -> str:
    return language_signal(text) or "en"


def stem(word: str) -> str:
    """A small suffix stripper: enough for laughing/laughs/laughed -> laugh."""
    if word.endswith("'s"):
        word = word[:-2]
    word = word.replace("'", "")
    for suffix, keep in (("ies", 2), ("ing", 4), ("ed", 4), ("es", 3), ("s", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            if suffix == "ies":
                return word[:-3] + "y"
            if suffix == "es" and not word.endswith(("shes", "ches", "xes", "sses")):
                return word[:-1]
            word = word[: -len(suffix)]
            # laughing -> laugh, running -> runn -> run
            if suffix in ("ing", "ed") and len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            return word
    return word


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for piece in _TOKEN.findall(normalize(text)):
        if has_cjk(piece):
            tokens.extend(piece)
            tokens.extend(piece[i : i + 2] for i in range(len(piece) - 1))
        elif piece not in STOPWORDS:
            tokens.append(stem(piece))
    return tokens
