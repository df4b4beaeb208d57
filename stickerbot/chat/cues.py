"""Cue lexicons: words, phrases and emoji that signal a label in a chat message, in English
and Chinese. Pure functions over compiled cue sets; the YAML files that hold the cues are
read by their users (``chat/perceive.py`` for intents, ``chat/emotion.py`` for emotions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from stickerbot.text import normalize, stem

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A phrase says more than a word: "passed away" outweighs a lone "passed".
PHRASE_WEIGHT = 1.5


@dataclass(frozen=True)
class CueSet:
    """Compiled cues of one label."""

    words: frozenset[str]  # stems of one-word English cues
    prefixes: tuple[str, ...]  # one-word English cues of 5+ letters, matched at a word's start
    phrases: tuple[str, ...]  # multi-word or punctuated English cues, matched as text
    chinese: tuple[str, ...]
    emoji: tuple[str, ...]


def compile_cues(spec: Mapping | None) -> CueSet:
    """``{en: [...], zh: [...], emoji: [...]}`` -> a CueSet."""
    spec = spec or {}
    words, prefixes, phrases = set(), [], []
    for cue in spec.get("en") or []:
        cue = normalize(str(cue))
        if re.fullmatch(r"[a-z0-9']+", cue):
            words.add(stem(cue))
            if len(cue) >= 5:
                prefixes.append(cue)
        else:
            phrases.append(cue)
    return CueSet(
        words=frozenset(words),
        prefixes=tuple(prefixes),
        phrases=tuple(phrases),
        chinese=tuple(str(c) for c in spec.get("zh") or []),
        emoji=tuple(str(c) for c in spec.get("emoji") or []),
    )


def cue_matches(text: str, cues: CueSet) -> list[str]:
    """The cues of one label found in ``text`` (each counted once)."""
    norm = normalize(text)
    words = _WORD.findall(norm)
    stems = {stem(w) for w in words}
    found = [w for w in cues.words if w in stems]
    found += [p for p in cues.prefixes if stem(p) not in stems and any(w.startswith(p) for w in words)]
    padded = f" {' '.join(norm.split())} "
    for phrase in cues.phrases:
        # Phrases match at word starts, so "mad at" does not fire inside "nomad at".
        if re.search(r"(?<![a-z0-9])" + re.escape(phrase), padded):
            found.append(phrase)
    chinese = [c for c in cues.chinese if c in text]
    # "太开心" and "开心" are one cue found once, not two.
    found += [c for c in chinese if not any(c != o and c in o for o in chinese)]
    found += [e for e in cues.emoji if e in text]
    return found


def cue_scores(text: str, cue_sets: Mapping[str, CueSet]) -> tuple[dict[str, float], list[str]]:
    """label -> summed cue weight (phrases count more), and every cue found."""
    scores: dict[str, float] = {}
    matched: list[str] = []
    for label, cues in cue_sets.items():
        found = cue_matches(text, cues)
        if found:
            scores[label] = sum(PHRASE_WEIGHT if " " in cue else 1.0 for cue in found)
            matched += found
    return scores, matched
