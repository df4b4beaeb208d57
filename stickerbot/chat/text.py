"""Shape generated text into a chat reply: at most three sentences, no runaway repetition,
in the user's language. Pure functions."""

from __future__ import annotations

import re

from stickerbot.text import has_cjk

MAX_SENTENCES = 3
MAX_CHARS = 320

# A sentence ends at . ! ? or their Chinese forms (with any closing quotes or emoji run
# right after), or at a line break.
_SENTENCE_END = re.compile(r"[.!?。！？…]+[\"'”’)]*(?=\s|$)|[。！？]+|\n+")
_ROLE_PREFIX = re.compile(r"^\s*(?:stickerbot|assistant|bot|system)\s*[:：]\s*", re.IGNORECASE)
# The same character (an emoji, a "!") four or more times in a row.
_RUN = re.compile(r"(\S)\1{3,}")
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def split_sentences(text: str) -> list[str]:
    """Sentences with their end punctuation; a trailing unfinished one is kept last."""
    out, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        sentence = text[start : match.end()].strip()
        if sentence:
            out.append(sentence)
        start = match.end()
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out


def complete_sentences(text: str) -> int:
    """How many sentences of ``text`` have ended (a trailing unfinished one is not counted)."""
    return sum(1 for _ in _SENTENCE_END.finditer(text.strip()))


def enough_sentences(text: str, limit: int = MAX_SENTENCES) -> bool:
    """The stop condition for generation: ``limit`` sentences are done."""
    return complete_sentences(text) >= limit


def clean_reply(text: str, *, max_sentences: int = MAX_SENTENCES, max_chars: int = MAX_CHARS) -> str:
    """The reply as shown: role prefixes, runs and extra sentences removed.

    An unfinished last sentence is dropped when complete ones precede it, since a cut-off
    half-sentence reads worse than a shorter reply.
    """
    text = _ROLE_PREFIX.sub("", text.strip())
    text = _RUN.sub(r"\1", text)
    sentences = split_sentences(text)
    if len(sentences) > 1 and not re.search(r"\w", sentences[-1]):
        # A trailing emoji belongs to the sentence before it.
        tail = sentences.pop()
        sentences[-1] = f"{sentences[-1]} {tail}"
    elif len(sentences) > 1 and not _SENTENCE_END.search(sentences[-1]):
        sentences = sentences[:-1]
    # Small models repeat themselves ("So sorry. So sorry. So sorry."): keep each sentence once.
    seen: set[str] = set()
    unique = []
    for sentence in sentences:
        key = re.sub(r"\W+", "", sentence.lower())
        if key not in seen:
            seen.add(key)
            unique.append(sentence)
    sentences = unique[:max_sentences]
    joiner = "" if has_cjk(text) else " "
    reply = joiner.join(sentences).strip()
    if len(reply) > max_chars:
        cut = reply[:max_chars].rsplit(" ", 1)[0] if " " in reply[:max_chars] else reply[:max_chars]
        reply = cut.rstrip(",;:，；") + "…"
    return reply


def is_in_language(text: str, lang: str) -> bool:
    """Whether ``text`` is written in ``lang`` ("en" or "zh"): mostly Chinese characters, or
    Latin words with no Chinese."""
    cjk = len(_CJK_CHAR.findall(text))
    latin = sum(len(w) for w in _LATIN_WORD.findall(text))
    if lang == "zh":
        return cjk > 0 and cjk >= latin / 3
    return cjk == 0 and latin > 0
