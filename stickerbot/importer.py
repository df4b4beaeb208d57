"""Import a user's sticker pack (folder or .zip) into the library.

For every file: check it by content (size, type, pixels, frames, corrupt or
truncated data), find duplicates by perceptual hash, read its text with OCR,
take keywords from its file name and annotations from the sidecar, copy the
original bytes into the pack folder, and append its record to the pack's
manifest, flushed to disk before the next file. The index (and the image index,
when an image embedder is configured) is updated in batches; the manifest is the
source of truth, so a run killed midway resumes: files already in the manifest
(same content hash) are not imported twice, and records not yet indexed are
indexed on the next run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from stickerbot.embeddings.image import embed_sticker
from stickerbot.errors import UserError
from stickerbot.index.images import StickerImageIndex
from stickerbot.index.store import StickerIndex
from stickerbot.retrieval.lexical import BM25Index
from stickerbot.retrieval.reading import NeighbourReader, StickerReading
from stickerbot.stickers.images import BadImageError, ImageLimits, LoadedImage, load_image
from stickerbot.stickers.keywords import keywords_from_filename
from stickerbot.stickers.library import BUNDLED_PACK, Library
from stickerbot.stickers.manifest import MANIFEST, ManifestWriter, read_manifest
from stickerbot.stickers.ocr import OcrEngine
from stickerbot.stickers.phash import hamming, hashes_to_array, phash
from stickerbot.stickers.record import StickerRecord
from stickerbot.stickers.sidecar import Sidecar, parse_sidecar
from stickerbot.stickers.sources import SourceEntry, SourceError, iter_source, read_sidecar_bytes

log = logging.getLogger(__name__)

_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
INDEX_BATCH = 64


@dataclass
class FileOutcome:
    file: str
    status: str  # imported | duplicate | already imported | skipped
    reason: str = ""
    sticker_id: str | None = None

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "status": self.status,
            "reason": self.reason,
            "sticker_id": self.sticker_id,
        }


@dataclass
class ImportReport:
    pack: str
    outcomes: list[FileOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return dict(Counter(o.status for o in self.outcomes))

    @property
    def imported(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "imported"]

    def to_dict(self) -> dict:
        return {
            "pack": self.pack,
            "counts": self.counts(),
            "seconds": round(self.seconds, 2),
            "notes": self.notes,
            "files": [o.to_dict() for o in self.outcomes],
        }

    def summary(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts().items())) or "nothing"
        return f"pack {self.pack!r}: {counts} in {self.seconds:.1f} s"


def pack_slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    return slug[:48] or "pack"


class EmotionGuesser:
    """Guesses an unlabelled sticker's emotion from its words: the majority emotion of
    the five library stickers whose annotations match them best (BM25)."""

    def __init__(self, library: Library, top: int = 5):
        self._records = [r for r in library.records if r.pack == BUNDLED_PACK] or library.records
        self._bm25 = BM25Index([r.id for r in self._records], [r.index_text() for r in self._records])
        self.top = top

    def guess(self, text: str) -> str | None:
        if not text.strip():
            return None
        scores = self._bm25.scores(text)
        best = np.argsort(-scores)[: self.top]
        votes = Counter(self._records[i].emotion for i in best if scores[i] > 0)
        return votes.most_common(1)[0][0] if votes else None


@dataclass
class _Prepared:
    image: LoadedImage
    phash: str
    ocr_text: str | None
    image_vector: np.ndarray | None = None  # only with an image index


@dataclass
class _RunState:
    pack: str
    pack_dir: Path
    sidecar: Sidecar
    done_by_sha: dict[str, StickerRecord]
    known_ids: list[str]
    hashes: list
    keep_duplicates: bool
    # Image vectors of imported stickers not yet written to the image index, by sticker id.
    image_vectors: dict[str, np.ndarray] = field(default_factory=dict)


class PackImporter:
    def __init__(
        self,
        library: Library,
        index: StickerIndex | None,
        packs_dir: Path,
        *,
        limits: ImageLimits | None = None,
        ocr: OcrEngine | None = None,
        duplicate_bits: int = 3,
        workers: int = 2,
        image_index: StickerImageIndex | None = None,
        reader: NeighbourReader | None = None,
    ):
        """``reader`` reads an unlabelled picture from its image vector (the library stickers
        nearest to it); a reading that is not sure is not used."""
        self.library = library
        self.reader = reader if image_index is not None else None
        self.index = index
        self.image_index = image_index
        self.packs_dir = Path(packs_dir)
        self.limits = limits or ImageLimits()
        self.ocr = ocr
        self.duplicate_bits = duplicate_bits
        self.workers = max(1, workers)
        self._guesser = EmotionGuesser(library)

    def run(
        self,
        source: Path,
        *,
        pack: str | None = None,
        sidecar_path: Path | None = None,
        keep_duplicates: bool = False,
        progress: bool = True,
    ) -> ImportReport:
        start = time.perf_counter()
        source = Path(source)
        pack = pack_slug(pack or source.stem)
        if pack == BUNDLED_PACK:
            raise UserError("'bundled' is the name of the built-in pack: choose another pack name")
        # Checked first: a missing or non-zip source is a SourceError, before anything is written.
        entries = iter_source(source, self.limits.max_bytes)
        report = ImportReport(pack)
        # The sidecar is read before anything is created: a damaged archive leaves no empty pack behind.
        sidecar = self._load_sidecar(source, sidecar_path, report)
        pack_dir = self.packs_dir / pack
        (pack_dir / "images").mkdir(parents=True, exist_ok=True)
        manifest_path = pack_dir / MANIFEST
        existing = read_manifest(manifest_path)
        done_by_sha = {r.sha256: r for r in existing}
        # Duplicates are searched among every sticker already known, this pack's included.
        known = [r for r in self.library.records if r.pack != pack] + existing
        known_ids = [r.id for r in known]
        hashes = list(hashes_to_array([r.phash for r in known]))
        pending: list[StickerRecord] = list(existing)  # re-synced: cheap when already indexed

        state = _RunState(pack, pack_dir, sidecar, done_by_sha, known_ids, hashes, keep_duplicates)
        bar = tqdm(entries, desc=f"importing {pack}", unit="file", disable=not progress)
        # Reading, resume checks and writes happen here in file order; decoding, hashing
        # and OCR of the next few files run in worker threads meanwhile.
        window: deque[tuple[SourceEntry, FileOutcome | None, bytes, str, Future | None]] = deque()
        try:
            with ManifestWriter(manifest_path) as writer, ThreadPoolExecutor(self.workers) as pool:

                def finish_oldest() -> None:
                    nonlocal pending
                    outcome, record = self._finish(state, *window.popleft())
                    report.outcomes.append(outcome)
                    if record is not None:
                        writer.append(record)
                        done_by_sha[record.sha256] = record
                        known_ids.append(record.id)
                        hashes.append(np.uint64(int(record.phash, 16)))
                        pending.append(record)
                        if len(pending) >= INDEX_BATCH:
                            self._index(pending, state)
                            pending = []
                    bar.set_postfix(report.counts(), refresh=False)

                for entry in bar:
                    early, data, sha = self._read(entry, done_by_sha)
                    future = None
                    if early is None:
                        need_ocr = "ocr_text" not in sidecar.lookup(entry.name)
                        future = pool.submit(self._prepare, data, need_ocr)
                    window.append((entry, early, data, sha, future))
                    while len(window) > 2 * self.workers:
                        finish_oldest()
                while window:
                    finish_oldest()
            self._index(pending, state)
        except KeyboardInterrupt:
            for item in window:
                if item[4] is not None:
                    item[4].cancel()
            log.warning(
                "interrupted: %d stickers imported so far are saved; run the same command again to resume",
                len(report.imported),
            )
            raise
        finally:
            bar.close()
            report.seconds = time.perf_counter() - start
        return report

    def _load_sidecar(self, source: Path, sidecar_path: Path | None, report: ImportReport) -> Sidecar:
        found = (sidecar_path.name, sidecar_path.read_bytes()) if sidecar_path else read_sidecar_bytes(source)
        if not found:
            return Sidecar()
        sidecar = parse_sidecar(*found)
        report.notes.append(f"annotations from {found[0]}: {len(sidecar.rows)} rows")
        report.notes.extend(sidecar.problems)
        return sidecar

    def _index(self, records: list[StickerRecord], state: _RunState) -> None:
        if self.index is not None and records:
            self.index.sync([(r.id, r.index_text(self.index.embedder.languages)) for r in records])
        if self.image_index is not None and records:
            fresh = [r for r in records if r.id in state.image_vectors]
            rest = [r for r in records if r.id not in state.image_vectors]
            if fresh:
                vectors = np.stack([state.image_vectors.pop(r.id) for r in fresh])
                self.image_index.add_vectors([r.id for r in fresh], [r.sha256 for r in fresh], vectors)
            # Records from an earlier, interrupted run were embedded in none of this run's
            # workers: the sync reads their images back, and skips those already indexed.
            if rest:
                self.image_index.sync([(r.id, r.sha256) for r in rest], self._load_from(rest, state.pack_dir))

    def _load_from(self, records: list[StickerRecord], pack_dir: Path):
        paths = {r.id: r.resolve(pack_dir) for r in records}

        def load(sticker_id: str) -> LoadedImage | None:
            try:
                return load_image(paths[sticker_id].read_bytes(), self.limits)
            except (OSError, BadImageError) as err:
                log.warning("cannot embed the image of %s: %s", sticker_id, err)
                return None

        return load

    @staticmethod
    def _read(
        entry: SourceEntry, done_by_sha: dict[str, StickerRecord]
    ) -> tuple[FileOutcome | None, bytes, str]:
        """Read one entry; an outcome when it ends here (refused, unreadable, already imported)."""
        if entry.problem:
            return FileOutcome(entry.name, "skipped", entry.problem), b"", ""
        try:
            data = entry.read()
        except (SourceError, OSError) as err:
            return FileOutcome(entry.name, "skipped", str(err)), b"", ""
        except Exception as err:  # zip CRC errors, decompression failures: bad input, not a crash
            return FileOutcome(entry.name, "skipped", f"unreadable: {err}"), b"", ""
        sha = hashlib.sha256(data).hexdigest()
        if sha in done_by_sha:
            return FileOutcome(entry.name, "already imported", "", done_by_sha[sha].id), b"", sha
        return None, data, sha

    def _prepare(self, data: bytes, need_ocr: bool) -> _Prepared:
        """The expensive, independent part of an import (runs in a worker thread)."""
        image = load_image(data, self.limits)
        # Embedded here, in the worker, even if it turns out to be a duplicate: the model
        # is the slowest step and must not run on the thread that writes in file order.
        image_vector = (
            embed_sticker(self.image_index.embedder, image) if self.image_index is not None else None
        )
        ocr_text = None
        if need_ocr and self.ocr is not None:
            texts: list[str] = []
            for frame in image.frames:
                text = self.ocr.read(frame)
                if text and text not in texts:
                    texts.append(text)
            ocr_text = " ".join(texts)
        return _Prepared(image, phash(image.first), ocr_text, image_vector)

    def _finish(
        self, state: _RunState, entry: SourceEntry, early: FileOutcome | None, data: bytes, sha: str, future
    ) -> tuple[FileOutcome, StickerRecord | None]:
        """The outcome for one file, and its record when it was imported."""
        if early is not None:
            return early, None
        try:
            prepared: _Prepared = future.result()
        except BadImageError as err:
            return FileOutcome(entry.name, "skipped", str(err)), None
        if state.hashes and not state.keep_duplicates:
            distances = hamming(prepared.phash, np.array(state.hashes, dtype=np.uint64))
            nearest = int(np.argmin(distances))
            if distances[nearest] <= self.duplicate_bits:
                d = int(distances[nearest])
                kind = "exact" if d == 0 else f"near ({d}/64 bits differ)"
                reason = f"{kind} duplicate of {state.known_ids[nearest]}"
                return FileOutcome(entry.name, "duplicate", reason, state.known_ids[nearest]), None

        record = self._annotate(entry.name, prepared, sha, state.pack, state.sidecar)
        if prepared.image_vector is not None:
            state.image_vectors[record.id] = prepared.image_vector
        target = state.pack_dir / record.image
        tmp = target.with_suffix(target.suffix + ".part")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)  # the image is whole on disk before its record is written
        return FileOutcome(entry.name, "imported", "", record.id), record

    def _read_picture(self, prepared: _Prepared, given: dict) -> StickerReading | None:
        """What an unlabelled picture looks like, when the reader is sure of it."""
        if self.reader is None or prepared.image_vector is None or "emotion" in given:
            return None
        reading = self.reader.read(prepared.image_vector)
        return reading if reading.sure else None

    def _annotate(
        self, name: str, prepared: _Prepared, sha: str, pack: str, sidecar: Sidecar
    ) -> StickerRecord:
        given = sidecar.lookup(name)
        image, hash_hex = prepared.image, prepared.phash
        ocr_text = given.get("ocr_text") or prepared.ocr_text or ""
        words_en, words_zh = keywords_from_filename(name)
        keywords_en = given.get("keywords_en") or words_en
        keywords_zh = given.get("keywords_zh") or words_zh
        title = given.get("name") or " ".join(words_en + words_zh) or ocr_text or "sticker"
        words_guess = self._guesser.guess(" ".join([title, ocr_text, *keywords_en, *keywords_zh]))
        reading = self._read_picture(prepared, given)
        looks = reading.record if reading is not None else None
        # The sidecar first, then the words read on the sticker (OCR), then what the picture
        # looks like, then the file name's words: "IMG_0042" says nothing, a drawn crying face does.
        emotion = given.get("emotion") or (words_guess if ocr_text else None)
        emotion = emotion or (reading.emotion if reading else None) or words_guess
        fine_emotion = given.get("fine_emotion") or (
            reading.fine_emotion if reading and reading.emotion == emotion else None
        )
        if looks is not None and not (words_en or words_zh):
            keywords_en, keywords_zh = (
                given.get("keywords_en") or looks.keywords_en,
                given.get("keywords_zh") or looks.keywords_zh,
            )
            if title == "sticker":
                title = looks.name
        description = given.get("description") or (
            f"{'animated ' if image.animated else ''}sticker from the {pack} pack"
            + (f": {title}" if title != "sticker" else "")
            + (f', with the words "{ocr_text}"' if ocr_text else "")
            + (f"; it looks like {reading.phrase()}" if reading else "")
        )
        queries = given.get("queries") or (list(looks.queries[:3]) if looks is not None else [])
        return StickerRecord(
            id=f"user:{pack}:{sha[:12]}",
            image=f"images/{sha[:16]}.{_EXTENSIONS[image.format]}",
            pack=pack,
            name=title,
            keywords_en=keywords_en,
            keywords_zh=keywords_zh,
            description=description,
            emotion=emotion or "Neutral",
            fine_emotion=fine_emotion,
            style=given.get("style") or "other types",
            ocr_text=ocr_text,
            queries=queries,
            emoji=None,
            hexcode=None,
            animated=image.animated,
            frame_count=image.frame_count,
            phash=hash_hex,
            sha256=sha,
        )
