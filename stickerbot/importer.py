"""Import a user's sticker pack (folder or .zip) into the library.

For every file: check it by content (size, type, pixels, frames, corrupt or
truncated data), read its text with OCR, find duplicates by perceptual hash *and* words
*and* colours (``stickers/duplicates.py``: caption variants of one drawing are all kept),
take keywords from its file name and annotations from the sidecar, copy the
original bytes into the pack folder, and append its record to the pack's
manifest, flushed to disk before the next file. The index (and the image index,
when an image embedder is configured) is updated in batches; the manifest is the
source of truth, so a run killed midway resumes: files already in the manifest
(same content hash) are not imported twice, and records not yet indexed are
indexed on the next run. Files found to be duplicates are noted in the pack's
``duplicates.jsonl`` (appended the same way), so a second import of the same pack reports
every file as already imported.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
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

from stickerbot.embeddings.image import embed_sticker_with_expression
from stickerbot.errors import UserError
from stickerbot.index.images import StickerImageIndex
from stickerbot.index.store import StickerIndex
from stickerbot.retrieval.lexical import BM25Index
from stickerbot.retrieval.reading import NeighbourReader, StickerReading
from stickerbot.stickers.duplicates import DuplicateRule, colour_signature, colours_of_file, judge
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
# sha256 of a file found to be a duplicate -> the sticker it duplicates, one JSON line each.
DUPLICATES = "duplicates.jsonl"


def read_duplicates(path: Path) -> dict[str, str]:
    """The duplicates noted by earlier imports of a pack; a torn last line is skipped."""
    found: dict[str, str] = {}
    if not path.exists():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            found[entry["sha256"]] = entry["duplicate_of"]
        except (json.JSONDecodeError, KeyError, TypeError):
            log.warning("%s: skipping a bad line", path)
    return found


@dataclass
class FileOutcome:
    file: str
    status: str  # imported | duplicate | already imported | skipped
    # Why it was skipped or is a duplicate; for an imported sticker, a near picture with other
    # words or colours ("similar to <id>: other words").
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
    colours: np.ndarray | None = None  # duplicates.colour_signature of the first frame
    expression: dict[str, float] | None = None  # the image encoder's expression head, if any


@dataclass
class _RunState:
    pack: str
    pack_dir: Path
    sidecar: Sidecar
    # sha256 -> the sticker id a file with these bytes became (or duplicates).
    done_by_sha: dict[str, str]
    known: list[StickerRecord]  # every sticker a new one may duplicate, in ``hashes`` order
    hashes: list
    keep_duplicates: bool
    duplicates: ManifestWriter | None = None  # the pack's duplicates.jsonl
    # Colour signatures of known stickers, read from their images when first compared.
    colours: dict[str, np.ndarray | None] = field(default_factory=dict)
    # Image vectors of imported stickers not yet written to the image index, by sticker id.
    image_vectors: dict[str, np.ndarray] = field(default_factory=dict)


class PackBusyError(UserError, RuntimeError):
    """Another process is importing into the same pack."""


class PackLock:
    """An exclusive lock on one pack folder, held for the whole of an import, so two processes
    (app replicas sharing a data directory) never append to one manifest at once. The lock is
    the kernel's (flock): a process that dies releases it."""

    def __init__(self, pack_dir: Path):
        self.path = pack_dir / ".import.lock"
        self._file = None

    def __enter__(self) -> PackLock:
        self._file = open(self.path, "a")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            self._file.close()
            raise PackBusyError(
                f"the pack {self.path.parent.name!r} is being imported by another process; "
                "try again when it has finished"
            ) from err
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


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
        duplicate_colour: float = DuplicateRule.colour,
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
        self.duplicate_rule = DuplicateRule(bits=duplicate_bits, colour=duplicate_colour)
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
        with PackLock(pack_dir):
            return self._run_locked(
                entries, report, sidecar, pack, pack_dir, keep_duplicates, progress, start
            )

    def _run_locked(
        self,
        entries,
        report: ImportReport,
        sidecar: Sidecar,
        pack: str,
        pack_dir: Path,
        keep_duplicates: bool,
        progress: bool,
        start: float,
    ) -> ImportReport:
        manifest_path = pack_dir / MANIFEST
        existing = read_manifest(manifest_path)
        done_by_sha = {**read_duplicates(pack_dir / DUPLICATES), **{r.sha256: r.id for r in existing}}
        # Duplicates are searched among every sticker already known, this pack's included.
        known = [r for r in self.library.records if r.pack != pack] + existing
        hashes = list(hashes_to_array([r.phash for r in known]))
        pending: list[StickerRecord] = list(existing)  # re-synced: cheap when already indexed

        state = _RunState(pack, pack_dir, sidecar, done_by_sha, known, hashes, keep_duplicates)
        bar = tqdm(entries, desc=f"importing {pack}", unit="file", disable=not progress)
        # Reading, resume checks and writes happen here in file order; decoding, hashing
        # and OCR of the next few files run in worker threads meanwhile.
        window: deque[tuple[SourceEntry, FileOutcome | None, bytes, str, Future | None]] = deque()
        try:
            with (
                ManifestWriter(manifest_path) as writer,
                ManifestWriter(pack_dir / DUPLICATES) as duplicates,
                ThreadPoolExecutor(self.workers) as pool,
            ):
                state.duplicates = duplicates

                def finish_oldest() -> None:
                    nonlocal pending
                    outcome, record = self._finish(state, *window.popleft())
                    report.outcomes.append(outcome)
                    if record is not None:
                        writer.append(record)
                        done_by_sha[record.sha256] = record.id
                        known.append(record)
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
    def _read(entry: SourceEntry, done_by_sha: dict[str, str]) -> tuple[FileOutcome | None, bytes, str]:
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
            return FileOutcome(entry.name, "already imported", "", done_by_sha[sha]), b"", sha
        return None, data, sha

    def _prepare(self, data: bytes, need_ocr: bool) -> _Prepared:
        """The expensive, independent part of an import (runs in a worker thread)."""
        image = load_image(data, self.limits)
        # Embedded here, in the worker, even if it turns out to be a duplicate: the model
        # is the slowest step and must not run on the thread that writes in file order.
        # The expression head only for a picture unlike every sticker, the one case the
        # reader looks at it (without a reader, none is read).
        image_vector, expression = (
            embed_sticker_with_expression(
                self.image_index.embedder,
                image,
                self.reader.needs_expression if self.reader is not None else lambda _: False,
            )
            if self.image_index is not None
            else (None, None)
        )
        ocr_text = None
        if need_ocr and self.ocr is not None:
            texts: list[str] = []
            for frame in image.frames:
                text = self.ocr.read(frame)
                if text and text not in texts:
                    texts.append(text)
            ocr_text = " ".join(texts)
        return _Prepared(
            image, phash(image.first), ocr_text, image_vector, colour_signature(image.first), expression
        )

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
        similar = ""
        if state.hashes and not state.keep_duplicates:
            found = self._duplicate_of(state, entry.name, prepared, sha)
            if isinstance(found, FileOutcome):
                return found, None
            similar = found

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
        state.colours[record.id] = prepared.colours
        return FileOutcome(entry.name, "imported", similar, record.id), record

    def _duplicate_of(self, state: _RunState, name: str, prepared: _Prepared, sha: str) -> FileOutcome | str:
        """A "duplicate" outcome (noted in the pack's duplicates.jsonl), or why the nearest
        picture within the hash threshold is not one ("similar to <id>: other words"; "" when
        there is none)."""
        rule = self.duplicate_rule
        distances = hamming(prepared.phash, np.array(state.hashes, dtype=np.uint64))
        near = [int(i) for i in np.argsort(distances, kind="stable") if distances[i] <= rule.bits]
        given = state.sidecar.lookup(name)
        # Unknown words (no OCR engine, no annotation) leave the picture alone to compare.
        words = given.get("ocr_text") or prepared.ocr_text
        if words is None and self.ocr is not None:
            words = ""
        similar = ""
        for i in near:
            known = state.known[i]
            if known.sha256 == sha:
                verdict_reason, duplicate = "exact", True
            else:
                verdict = judge(
                    int(distances[i]),
                    (words, known.ocr_text),
                    (prepared.colours, self._colours_of(known, state)),
                    rule,
                )
                verdict_reason, duplicate = verdict.reason, verdict.duplicate
            if duplicate:
                if state.duplicates is not None:
                    line = {"sha256": sha, "file": name, "duplicate_of": known.id}
                    state.duplicates.append_line(json.dumps(line, ensure_ascii=False))
                state.done_by_sha[sha] = known.id
                return FileOutcome(name, "duplicate", f"{verdict_reason} duplicate of {known.id}", known.id)
            similar = similar or f"similar to {known.id}: {verdict_reason}"
        return similar

    def _colours_of(self, record: StickerRecord, state: _RunState) -> np.ndarray | None:
        """A known sticker's colour signature, read from its image once (None if unreadable)."""
        if record.id not in state.colours:
            try:
                path = (
                    record.resolve(state.pack_dir)
                    if record.pack == state.pack
                    else self.library.path_of(record)
                )
            except KeyError:  # a record whose pack folder is unknown
                state.colours[record.id] = None
            else:
                state.colours[record.id] = colours_of_file(path, self.limits)
        return state.colours[record.id]

    def _read_picture(self, prepared: _Prepared, given: dict) -> StickerReading | None:
        """What an unlabelled picture looks like, when the reader is sure of it."""
        if self.reader is None or prepared.image_vector is None or "emotion" in given:
            return None
        reading = self.reader.read(prepared.image_vector, prepared.expression)
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
