"""User profiles {emotion, persona, situation}, generated self-instruct style (Wang et al. 2023):
a few seed and earlier profiles as examples -> the model writes a new one for a given emotion
-> it is kept only when its ROUGE-L F1 with every earlier profile is below a threshold.

Determinism: profile ``i`` is asked for with examples and an emotion drawn from an RNG seeded
by (seed, i, attempt), and candidates are de-duplicated in index order, a chunk of indexes
at a time. So the pool is the same for any number of workers, and each chunk is saved (one
JSON line, ``<out>.profiles.jsonl``) before its sessions start: a resumed run reads the pool
back instead of asking the model again.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from pathlib import Path

from agents.config import GenerationConfig
from agents.llm import AgentLLM, extract_fields, extract_json
from agents.metrics import rouge_l, tokens
from agents.prompting import Prompts
from agents.writer import append_line, read_jsonl_repairing
from stickerbot.chat.text import is_in_language
from stickerbot.stickers.labels import normalize_emotion

log = logging.getLogger(__name__)

EXAMPLES_PER_PROMPT = 3
PROFILE_TOKENS = 96


@dataclass(frozen=True)
class Profile:
    emotion: str  # one of SER30K's seven
    persona: str
    situation: str  # second person: "You ..."
    lang: str
    # seed | generated | recombined (fallback: persona and situation of two seeds) | reused-seed
    source: str = "seed"
    # Highest ROUGE-L F1 with an earlier profile when it was accepted.
    max_rouge_l: float = 0.0

    @property
    def text(self) -> str:
        return f"{self.persona} {self.situation}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Profile:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def session_rng(seed: int, *parts: object) -> random.Random:
    """An RNG that depends only on its arguments (string seeding hashes with SHA-512)."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def load_seed_profiles(prompts: Prompts, lang: str) -> list[Profile]:
    seeds = []
    for item in prompts.data("seed_profiles")[lang]:
        emotion = normalize_emotion(item["emotion"])
        if emotion is None:
            raise ValueError(f"seed profile with unknown emotion {item['emotion']!r}")
        seeds.append(Profile(emotion, item["persona"].strip(), item["situation"].strip(), lang))
    return seeds


def parse_profile(text: str, *, emotion: str, lang: str) -> Profile | None:
    """A profile from the model's answer (JSON, or what is left of truncated JSON); None when
    the persona or situation is missing, too short or long, or not in ``lang``."""
    data = extract_json(text)
    if isinstance(data, list):
        data = next((d for d in data if isinstance(d, dict)), None)
    if not isinstance(data, dict) or not {"persona", "situation"} <= set(map(str.lower, data)):
        data = extract_fields(text, ("persona", "situation"))
    data = {str(k).lower(): v for k, v in data.items()}
    persona, situation = data.get("persona"), data.get("situation")
    if not isinstance(persona, str) or not isinstance(situation, str):
        return None
    persona, situation = " ".join(persona.split()), " ".join(situation.split())
    shortest = 6 if lang == "zh" else 10  # Chinese says as much in fewer characters
    if not (2 <= len(persona) <= 160 and shortest <= len(situation) <= 400):
        return None
    if not (is_in_language(persona, lang) and is_in_language(situation, lang)):
        return None
    if rouge_l(tokens(persona), tokens(situation)) > 0.8:
        return None  # the same sentence twice
    return Profile(emotion, persona, situation, lang, source="generated")


class ProfileStore:
    """``<out>.profiles.jsonl``: one line per finished chunk, ``{chunk, lang, profiles: [...]}``."""

    def __init__(self, path: Path | None):
        self.path = path

    def load(self, lang: str) -> dict[int, list[Profile]]:
        if self.path is None or not self.path.exists():
            return {}
        chunks: dict[int, list[Profile]] = {}
        for line in read_jsonl_repairing(self.path):
            if line.get("lang") != lang:
                raise ValueError(
                    f"{self.path} holds {line.get('lang')} profiles, not {lang}: use another --out"
                )
            chunks[int(line["chunk"])] = [Profile.from_dict(p) for p in line["profiles"]]
        return chunks

    def save(self, chunk: int, lang: str, profiles: list[Profile]) -> None:
        if self.path is not None:
            append_line(
                self.path, {"chunk": chunk, "lang": lang, "profiles": [p.to_dict() for p in profiles]}
            )


class ProfilePool:
    """Profiles by session index. ``ensure(i)`` (the scheduler's thread) generates up to the chunk
    holding ``i``; ``get(i)`` (any thread) returns it."""

    def __init__(
        self,
        llm: AgentLLM,
        prompts: Prompts,
        config: GenerationConfig,
        *,
        store: ProfileStore | None = None,
        executor: Executor | None = None,
        seeds: list[Profile] | None = None,
    ):
        self.llm = llm
        self.prompts = prompts
        self.config = config
        self.store = store or ProfileStore(None)
        self.executor = executor
        self.seeds = seeds if seeds is not None else load_seed_profiles(prompts, config.lang)
        if not self.seeds:
            raise ValueError(f"no seed profiles for language {config.lang!r}")
        self._chunks = self.store.load(config.lang)
        self._lock = threading.Lock()
        self.fallbacks = 0

    def _pool(self) -> list[Profile]:
        """Seeds, then every generated profile in chunk order: what a new profile must differ from."""
        out = list(self.seeds)
        for c in sorted(self._chunks):
            out.extend(p for p in self._chunks[c] if p.source != "reused-seed")
        return out

    def get(self, index: int) -> Profile:
        chunk = index // self.config.profile_chunk
        with self._lock:
            profiles = self._chunks.get(chunk)
        if profiles is None:
            raise KeyError(f"profile {index} has not been generated (call ensure first)")
        return profiles[index % self.config.profile_chunk]

    def has(self, index: int) -> bool:
        with self._lock:
            return index // self.config.profile_chunk in self._chunks

    def ensure(self, index: int) -> None:
        target = index // self.config.profile_chunk
        for chunk in range(target + 1):
            if chunk not in self._chunks:
                profiles = self._generate_chunk(chunk)
                self.store.save(chunk, self.config.lang, profiles)
                with self._lock:
                    self._chunks[chunk] = profiles

    # --- one chunk ------------------------------------------------------------------------

    def _emotion(self, index: int) -> str:
        # Emotions in the proportions of the seeds (Neutral is rare there, as in StickerConv).
        return session_rng(self.config.seed, "emotion", index).choice([s.emotion for s in self.seeds])

    def _candidate(self, index: int, attempt: int, pool: list[Profile]) -> Profile | None:
        rng = session_rng(self.config.seed, "profile", index, attempt)
        emotion = self._emotion(index)
        generated = [p for p in pool if p.source != "seed"]
        examples = rng.sample(self.seeds, min(EXAMPLES_PER_PROMPT - 1, len(self.seeds)))
        if generated:
            examples.append(rng.choice(generated))  # self-instruct mixes in machine-written ones
        else:
            examples.append(rng.choice(self.seeds))
        rng.shuffle(examples)
        language = self.prompts.data("common.language_names")[self.config.lang]
        messages = [
            {"role": "system", "content": self.prompts.render("profiles.system")},
            {
                "role": "user",
                "content": self.prompts.render(
                    "profiles.generate",
                    examples=[p.to_dict() for p in examples],
                    emotion=emotion,
                    language=language,
                ),
            },
        ]
        answer = self.llm.ask(
            messages,
            lambda text: parse_profile(text, emotion=emotion, lang=self.config.lang),
            max_new_tokens=PROFILE_TOKENS,
            temperature=self.config.temperature,
            stop=_json_closed,
            parse_retries=0,  # the de-duplication rounds ask again anyway
        )
        return answer.value

    def _generate_chunk(self, chunk: int) -> list[Profile]:
        size = self.config.profile_chunk
        indexes = list(range(chunk * size, (chunk + 1) * size))
        pool = self._pool()
        accepted: dict[int, Profile] = {}
        pending = list(indexes)
        for attempt in range(self.config.profile_attempts):
            if not pending:
                break
            frozen = list(pool)  # every candidate of this round sees the same examples
            candidates = self._map(lambda i, a=attempt, f=frozen: self._candidate(i, a, f), pending)
            still = []
            for index, candidate in zip(pending, candidates, strict=True):
                if candidate is not None:
                    score = _max_overlap(candidate, pool)
                    if score < self.config.dedup_threshold:
                        candidate = Profile(**{**candidate.to_dict(), "max_rouge_l": round(score, 4)})
                        accepted[index] = candidate
                        pool.append(candidate)
                        continue
                still.append(index)
            pending = still
        for index in pending:
            profile = self._fallback(index, pool)
            self.fallbacks += 1
            accepted[index] = profile
            if profile.source != "reused-seed":
                pool.append(profile)
        return [accepted[i] for i in indexes]

    def _map(self, fn: Callable[[int], Profile | None], items: list[int]) -> list[Profile | None]:
        if self.executor is None or len(items) == 1:
            return [fn(i) for i in items]
        return list(self.executor.map(fn, items))

    def _fallback(self, index: int, pool: list[Profile]) -> Profile:
        """A recorded fallback: the persona of one seed with the situation of another of the same
        emotion, unless that too repeats an earlier profile; then a seed as it is."""
        rng = session_rng(self.config.seed, "fallback", index)
        emotion = self._emotion(index)
        same = [s for s in self.seeds if s.emotion == emotion] or self.seeds
        pairs = [(a, b) for a in same for b in same if a is not b]
        rng.shuffle(pairs)
        for a, b in pairs[:20]:
            candidate = Profile(emotion, a.persona, b.situation, self.config.lang, source="recombined")
            score = _max_overlap(candidate, pool)
            if score < self.config.dedup_threshold:
                return Profile(**{**candidate.to_dict(), "max_rouge_l": round(score, 4)})
        seed = rng.choice(same)
        return Profile(emotion, seed.persona, seed.situation, self.config.lang, source="reused-seed")


def _max_overlap(candidate: Profile, pool: list[Profile]) -> float:
    cand = tokens(candidate.text)
    return max((rouge_l(cand, tokens(p.text)) for p in pool), default=0.0)


def _json_closed(text: str) -> bool:
    """Stop generating once the first JSON object is closed (small models go on to write more)."""
    start = text.find("{")
    return start >= 0 and text.find("}", start) > 0
