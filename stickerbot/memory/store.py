"""The empathetic context memory: dialogue exchanges searchable by what the user said.

The dialogue files are the source of truth (the bundled ones in ``assets/dialogues``
and the ones ``python -m stickerbot memory add`` copies into ``<data dir>/dialogues``);
the Chroma collection ``dialogues`` next to the sticker index holds their vectors and is
synced from the files incrementally, like the sticker index. Search adds BM25 over the
user messages to the dense score, because the offline embedder is English-only and
Chinese messages are found by their characters.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stickerbot.atomic import atomic_path
from stickerbot.embeddings.base import TextEmbedder, cached_queries
from stickerbot.errors import UserError
from stickerbot.index.store import TextIndex
from stickerbot.memory.dialogues import DialogueFormatError, Exchange, iter_exchanges
from stickerbot.retrieval.lexical import BM25Index
from stickerbot.text import detect_lang, has_cjk

log = logging.getLogger(__name__)

COLLECTION = "dialogues"


class DialogueIndex(TextIndex):
    default_collection = COLLECTION
    embedder_setting = "STICKERBOT_MEMORY_EMBEDDER"


@dataclass(frozen=True)
class MemoryHit:
    exchange: Exchange
    score: float


@dataclass(frozen=True)
class MemoryWeights:
    dense: float = 1.0
    # BM25, scaled so that the same words score about 1, counts for little in English, where
    # the embedder understands the words, and is the whole score in Chinese when the embedder
    # is English-only (its cosines between Chinese texts are noise).
    lexical_en: float = 0.15
    lexical_zh: float = 1.0
    candidates: int = 50


def dialogue_files(*folders: Path) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        if folder.is_dir():
            files.extend(sorted(folder.glob("*.jsonl")))
    return files


class DialogueMemory:
    """Read-only after :meth:`open` (``add_file`` takes the index's write lock): shared by all sessions."""

    def __init__(
        self, index: DialogueIndex, exchanges: Sequence[Exchange], weights: MemoryWeights | None = None
    ):
        self.index = index
        self.weights = weights or MemoryWeights()
        self._set(exchanges)

    def _set(self, exchanges: Sequence[Exchange]) -> None:
        self.exchanges = list(exchanges)
        self.by_id = {e.id: e for e in self.exchanges}
        self._position = {e.id: i for i, e in enumerate(self.exchanges)}
        self._lexical = BM25Index([e.id for e in self.exchanges], [e.index_text for e in self.exchanges])
        self._lang = np.array([e.lang for e in self.exchanges])

    @classmethod
    def open(
        cls,
        index_dir: Path | str,
        embedder: TextEmbedder,
        folders: Sequence[Path],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> DialogueMemory:
        exchanges = read_folders(folders)
        index = DialogueIndex(index_dir, embedder)
        memory = cls(index, exchanges)
        memory.sync(progress=progress)
        return memory

    def __len__(self) -> int:
        return len(self.exchanges)

    def covers(self, lang: str) -> bool:
        """Whether the embedder understands ``lang`` (else only BM25 matches it)."""
        return lang in self.index.embedder.languages

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of exchanges (no re-embedding)."""
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), 1000):
            out.update(self.index.get_vectors(ids[start : start + 1000]))
        return out

    def sync(self, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Embed the exchanges the index lacks and drop the ones no file holds any more."""
        written = self.index.sync([(e.id, e.index_text) for e in self.exchanges], progress=progress)
        stale = set(self.index.stored_hashes()) - set(self.by_id)
        if stale:
            self.index.delete(sorted(stale))
        return written

    def embed(self, message: str) -> np.ndarray:
        """The query vector of ``message`` (computed once per turn, shared with the emotion classifier)."""
        return cached_queries(self.index.embedder)([message])[0]

    def similar(
        self,
        message: str,
        *,
        k: int = 3,
        lang: str | None = None,
        emotion: str | None = None,
        vector: np.ndarray | None = None,
    ) -> list[MemoryHit]:
        """The ``k`` exchanges whose user message is most like ``message``.

        ``lang`` keeps exchanges in that language; ``emotion`` prefers (does not require)
        exchanges labelled with it; ``vector`` is ``message`` already embedded.
        """
        if not self.exchanges or not message.strip():
            return []
        scores = self.scores(message, lang=lang, vector=vector)
        if lang is not None:
            scores = np.where(self._lang == lang, scores, -np.inf)
        if emotion is not None:
            scores = scores + 0.1 * np.array([e.emotion == emotion for e in self.exchanges])
        order = np.argsort(-scores, kind="stable")[:k]
        return [MemoryHit(self.exchanges[i], float(scores[i])) for i in order if np.isfinite(scores[i])]

    def scores(
        self, message: str, *, lang: str | None = None, vector: np.ndarray | None = None
    ) -> np.ndarray:
        """Dense cosine plus weighted BM25 of every exchange's user message for ``message``."""
        w = self.weights
        zh = (lang or detect_lang(message)) == "zh" or has_cjk(message)
        scale = self._lexical.self_score(message)
        lexical = (
            self._lexical.scores(message) / scale if scale > 0 else np.zeros(len(self.exchanges), np.float32)
        )
        if zh and "zh" not in self.index.embedder.languages:
            return w.lexical_zh * lexical
        dense = np.zeros(len(self.exchanges), dtype=np.float32)
        if vector is None:
            vector = self.embed(message)
        hits = self.index.query_vectors(vector[None, :], k=w.candidates)[0]
        if hits:
            dense[:] = min(h.score for h in hits)
            for hit in hits:
                pos = self._position.get(hit.id)
                if pos is not None:
                    dense[pos] = hit.score
        return w.dense * dense + (w.lexical_zh if zh else w.lexical_en) * lexical


def read_folders(folders: Sequence[Path]) -> list[Exchange]:
    """All exchanges of the dialogue files in ``folders``; a later file's id replaces an earlier one's."""
    by_id: dict[str, Exchange] = {}
    for path in dialogue_files(*folders):
        for exchange in iter_exchanges(path):
            by_id[exchange.id] = exchange
    return list(by_id.values())


def add_dialogue_file(source: Path, target_dir: Path, *, name: str | None = None) -> tuple[Path, int]:
    """Check every line of ``source``, then copy it into ``target_dir`` atomically.

    Returns the stored path and the number of exchanges. Nothing is written when any line
    is malformed (DialogueFormatError names it), so a bad file never half-enters the memory.
    """
    source = Path(source)
    if not source.is_file():
        raise UserError(f"no dialogue file at {source}")
    name = name or source.stem
    if not name.replace("-", "").replace("_", "").isalnum():
        raise UserError(f"the memory name {name!r} may hold only letters, digits, '-' and '_'")
    exchanges = list(iter_exchanges(source, source=name))
    if not exchanges:
        raise DialogueFormatError(f"{source.name}: no dialogues in the file")
    target = target_dir / f"{name}.jsonl"
    with atomic_path(target) as tmp, tmp.open("wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out)
        out.flush()
        os.fsync(out.fileno())
    return target, len(exchanges)


__all__ = [
    "COLLECTION",
    "DialogueFormatError",
    "DialogueIndex",
    "DialogueMemory",
    "MemoryHit",
    "MemoryWeights",
    "add_dialogue_file",
    "dialogue_files",
    "read_folders",
]
