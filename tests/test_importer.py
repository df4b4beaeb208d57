"""PackImporter end to end: folder and zip packs, bad files, duplicates, sidecars, resume."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import stickerbot.importer as importer_module
from stickerbot.errors import UserError
from stickerbot.importer import PackImporter, pack_slug
from stickerbot.stickers.images import ImageLimits, load_image
from stickerbot.stickers.labels import EMOTIONS
from stickerbot.stickers.library import Library
from stickerbot.stickers.manifest import MANIFEST, read_manifest
from stickerbot.stickers.phash import phash
from stickerbot.stickers.record import StickerRecord
from stickerbot.stickers.sources import SourceError
from tests.helpers_images import (
    NOT_AN_IMAGE,
    animated_gif_bytes,
    animated_webp_bytes,
    gif_cuts_that_trip_pillow,
    jpeg_bytes,
    noisy_png_bytes,
    png_bomb_bytes,
    png_bytes,
    reencoded_jpeg,
    text_sticker_png,
    truncated_png_bytes,
    webp_bytes,
    write_bundled_pack,
    write_zip,
)

# Seeds of the bundled test pack's stickers (see write_bundled_pack); imports use others.
BUNDLED_SEEDS = (100, 101, 102)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def bundled(tmp_path) -> tuple[Path, list[StickerRecord]]:
    folder = tmp_path / "bundled"
    return folder, write_bundled_pack(folder, BUNDLED_SEEDS)


@pytest.fixture()
def packs_dir(tmp_path) -> Path:
    return tmp_path / "packs"


@pytest.fixture()
def library(bundled, packs_dir) -> Library:
    return Library.load(bundled[0], packs_dir)


@pytest.fixture()
def importer(library, packs_dir) -> PackImporter:
    return PackImporter(library, None, packs_dir, ocr=None)


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


GOOD_FILES = {
    "crying_cat-02.png": png_bytes(1),
    "happy_dog.jpg": jpeg_bytes(2),
    "sleepy-panda.webp": webp_bytes(3),
    "dancingBear.gif": animated_gif_bytes(6),
    "wave.webp": animated_webp_bytes(4),
    "mislabelled.jpg": png_bytes(5),  # PNG content under a .jpg name
}


def outcomes(report) -> dict:
    return {o.file: o for o in report.outcomes}


def manifest(packs_dir: Path, pack: str) -> list[StickerRecord]:
    return read_manifest(packs_dir / pack / MANIFEST)


# --- a good pack ----------------------------------------------------------------------------


def test_folder_of_good_stickers_is_imported(tmp_path, importer, packs_dir, bundled):
    source = write_folder(tmp_path / "My Pets!", GOOD_FILES)

    report = importer.run(source, progress=False)

    assert report.pack == "my-pets" == pack_slug("My Pets!")
    assert report.counts() == {"imported": len(GOOD_FILES)}
    records = {r.id: r for r in manifest(packs_dir, "my-pets")}
    assert len(records) == len(GOOD_FILES)
    pack_dir = packs_dir / "my-pets"
    for name, data in GOOD_FILES.items():
        outcome = outcomes(report)[name]
        record = records[outcome.sticker_id]
        loaded = load_image(data)
        assert record.id == f"user:my-pets:{sha(data)[:12]}"
        assert record.pack == "my-pets"
        assert record.sha256 == sha(data)
        assert record.phash == phash(loaded.first)
        assert record.animated == loaded.animated
        assert record.frame_count == loaded.frame_count
        assert record.emotion in EMOTIONS
        # The original bytes are stored, named by content and typed by content.
        stored = pack_dir / record.image
        assert stored.read_bytes() == data
        assert record.image.startswith("images/")
        assert stored.suffix == {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "GIF": ".gif"}[loaded.format]
    assert not list(pack_dir.rglob("*.part"))

    by_name = {name: records[outcomes(report)[name].sticker_id] for name in GOOD_FILES}
    assert by_name["crying_cat-02.png"].keywords_en == ["crying", "cat"]
    assert by_name["crying_cat-02.png"].name == "crying cat"
    assert by_name["sleepy-panda.webp"].keywords_en == ["sleepy", "panda"]
    assert by_name["dancingBear.gif"].keywords_en == ["dancing", "bear"]
    assert by_name["dancingBear.gif"].animated and by_name["dancingBear.gif"].frame_count == 6
    assert "animated sticker" in by_name["dancingBear.gif"].description
    assert by_name["wave.webp"].animated and by_name["wave.webp"].frame_count == 4
    assert not by_name["happy_dog.jpg"].animated and by_name["happy_dog.jpg"].frame_count == 1
    assert by_name["mislabelled.jpg"].image.endswith(".png")
    # Without annotations the emotion is guessed from the words: "crying cat" is in the bundled pack.
    assert by_name["crying_cat-02.png"].emotion == "Sadness"

    # The library sees the new pack next to the bundled one and finds its files.
    reloaded = Library.load(bundled[0], packs_dir)
    assert reloaded.packs == ["bundled", "my-pets"]
    assert len(reloaded) == len(bundled[1]) + len(GOOD_FILES)
    for record in records.values():
        assert (
            reloaded.path_of(reloaded.get(record.id)).read_bytes()
            == GOOD_FILES[next(n for n, d in GOOD_FILES.items() if sha(d) == record.sha256)]
        )


def test_report_summary_and_dict(tmp_path, importer):
    source = write_folder(tmp_path / "p", {"a.png": png_bytes(1), "b.png": NOT_AN_IMAGE})
    report = importer.run(source, pack="p", progress=False)
    data = report.to_dict()
    assert data["counts"] == {"imported": 1, "skipped": 1}
    assert {f["file"]: f["status"] for f in data["files"]} == {"a.png": "imported", "b.png": "skipped"}
    assert "1 imported" in report.summary() and "1 skipped" in report.summary()
    json.dumps(data)  # a report can be sent as JSON


# --- bad files ------------------------------------------------------------------------------


def test_bad_files_are_skipped_with_a_reason_and_the_import_goes_on(tmp_path, library, packs_dir):
    big = noisy_png_bytes(size=200)
    files = {
        # Sorted first, so the good files come after every bad one.
        "a_empty.png": b"",
        "a_notes.png": NOT_AN_IMAGE,
        "a_truncated.png": truncated_png_bytes(),
        "a_cut.gif": gif_cuts_that_trip_pillow()[0],
        "a_bomb.png": png_bomb_bytes(5000, 5000),
        "a_huge.png": big,
        "a_long.gif": animated_gif_bytes(9),
        "z_good.png": png_bytes(1),
        "z_fine.jpg": jpeg_bytes(2),
    }
    source = write_folder(tmp_path / "mixed", files)
    limits = ImageLimits(max_bytes=len(big) - 1, max_pixels=1024 * 1024, max_frames=8)
    assert max(len(d) for n, d in files.items() if n != "a_huge.png") <= limits.max_bytes
    importer = PackImporter(library, None, packs_dir, limits=limits, ocr=None)

    report = importer.run(source, progress=False)

    got = outcomes(report)
    expected_reasons = {
        "a_empty.png": "empty file",
        "a_notes.png": "not an image",
        "a_truncated.png": "corrupt or truncated PNG",
        "a_cut.gif": "corrupt or truncated GIF",
        "a_bomb.png": "pixel limit",
        "a_huge.png": "limit",
        "a_long.gif": "frame limit",
    }
    for name, reason in expected_reasons.items():
        assert got[name].status == "skipped", name
        assert reason in got[name].reason, (name, got[name].reason)
        assert got[name].sticker_id is None
    assert got["z_good.png"].status == "imported"
    assert got["z_fine.jpg"].status == "imported"
    assert len(manifest(packs_dir, "mixed")) == 2
    assert len(list((packs_dir / "mixed" / "images").iterdir())) == 2


# --- duplicates -----------------------------------------------------------------------------


def test_exact_and_near_duplicates_point_at_the_original(tmp_path, importer, packs_dir, bundled):
    bundled_dir, bundled_records = bundled
    first = bundled_records[0]
    files = {
        "copy_of_bundled.png": (bundled_dir / first.image).read_bytes(),  # same bytes
        "bundled_as_jpeg.jpg": reencoded_jpeg(BUNDLED_SEEDS[1], new_size=180),
        "orig.png": png_bytes(11),
        "orig_bigger.jpg": reencoded_jpeg(11, new_size=256, quality=75),
        "orig_webp.webp": webp_bytes(11),
        "other.png": png_bytes(12),
    }
    source = write_folder(tmp_path / "dups", files)

    report = importer.run(source, progress=False)

    got = outcomes(report)
    assert got["copy_of_bundled.png"].status == "duplicate"
    assert got["copy_of_bundled.png"].sticker_id == first.id
    assert got["copy_of_bundled.png"].reason == f"exact duplicate of {first.id}"
    assert got["bundled_as_jpeg.jpg"].status == "duplicate"
    assert got["bundled_as_jpeg.jpg"].sticker_id == bundled_records[1].id
    assert bundled_records[1].id in got["bundled_as_jpeg.jpg"].reason

    assert got["orig.png"].status == "imported"
    original = got["orig.png"].sticker_id
    for name in ("orig_bigger.jpg", "orig_webp.webp"):
        assert got[name].status == "duplicate", (name, got[name])
        assert got[name].sticker_id == original
        assert original in got[name].reason and "duplicate of" in got[name].reason
    assert got["other.png"].status == "imported"
    assert {r.id for r in manifest(packs_dir, "dups")} == {original, got["other.png"].sticker_id}


def test_identical_bytes_twice_in_one_pack_are_imported_once(tmp_path, importer, packs_dir):
    data = png_bytes(13)
    source = write_folder(tmp_path / "twice", {"a.png": data, "b/again.png": data})

    report = importer.run(source, progress=False)

    got = outcomes(report)
    assert got["a.png"].status == "imported"
    # The second copy is not imported again and points at the first one's record.
    assert got["b/again.png"].status in {"already imported", "duplicate"}
    assert got["b/again.png"].sticker_id == got["a.png"].sticker_id
    assert len(manifest(packs_dir, "twice")) == 1


def test_keep_duplicates_imports_near_duplicates(tmp_path, importer, packs_dir):
    files = {"orig.png": png_bytes(11), "orig_bigger.jpg": reencoded_jpeg(11, new_size=256)}
    source = write_folder(tmp_path / "keep", files)

    report = importer.run(source, keep_duplicates=True, progress=False)

    assert report.counts() == {"imported": 2}
    assert len(manifest(packs_dir, "keep")) == 2


def test_duplicates_are_also_found_across_user_packs(tmp_path, bundled, packs_dir):
    first = write_folder(tmp_path / "one", {"orig.png": png_bytes(21)})
    PackImporter(Library.load(bundled[0], packs_dir), None, packs_dir, ocr=None).run(first, progress=False)
    second = write_folder(tmp_path / "two", {"copy.jpg": reencoded_jpeg(21)})

    library = Library.load(bundled[0], packs_dir)  # now holds pack "one"
    report = PackImporter(library, None, packs_dir, ocr=None).run(second, progress=False)

    (outcome,) = report.outcomes
    assert outcome.status == "duplicate"
    assert outcome.sticker_id == manifest(packs_dir, "one")[0].id


# --- sidecar annotations --------------------------------------------------------------------

SIDECAR_CSV = (
    "file,name,emotion,fine_emotion,description,keywords_en,keywords_zh,queries,style\n"
    "crying_cat-02.png,weeping kitty,sadness,crying,a kitten in tears,kitty|tears,猫|哭,so sad|sad cat,cute pets & dolls\n"
    "happy_dog.jpg,grinning dog,Grumpy,,,,,,\n"
    "sub/nested.png,nested one,Surprise,,,,,wow|omg,\n"
    "missing.png,not in the pack,Happiness,,,,,,\n"
)

SIDECAR_ROWS = [
    {
        "file": "crying_cat-02.png",
        "name": "weeping kitty",
        "emotion": "sadness",
        "fine_emotion": "crying",
        "description": "a kitten in tears",
        "keywords_en": ["kitty", "tears"],
        "keywords_zh": ["猫", "哭"],
        "queries": ["so sad", "sad cat"],
        "style": "cute pets & dolls",
    },
    {"file": "happy_dog.jpg", "name": "grinning dog", "emotion": "Grumpy"},
    {"file": "nested.png", "name": "nested one", "emotion": "Surprise", "queries": ["wow", "omg"]},
    {"file": "missing.png", "name": "not in the pack", "emotion": "Happiness"},
]


def _sidecar_pack(root: Path) -> Path:
    return write_folder(
        root,
        {"crying_cat-02.png": png_bytes(1), "happy_dog.jpg": jpeg_bytes(2), "sub/nested.png": png_bytes(3)},
    )


def _check_sidecar_import(report, records: dict[str, StickerRecord], sidecar_name: str) -> None:
    got = outcomes(report)
    assert report.counts() == {"imported": 3}, "the sidecar itself is not a sticker"
    assert sidecar_name not in got
    assert f"annotations from {sidecar_name}: 4 rows" in report.notes

    cat = records[got["crying_cat-02.png"].sticker_id]
    assert cat.name == "weeping kitty"
    assert cat.emotion == "Sadness"
    assert cat.fine_emotion == "crying"
    assert cat.description == "a kitten in tears"
    assert cat.keywords_en == ["kitty", "tears"]
    assert cat.keywords_zh == ["猫", "哭"]
    assert cat.queries == ["so sad", "sad cat"]
    assert cat.style == "cute pets & dolls"

    dog = records[got["happy_dog.jpg"].sticker_id]
    assert dog.name == "grinning dog"
    assert dog.emotion != "Grumpy" and dog.emotion in EMOTIONS
    assert dog.keywords_en == ["happy", "dog"]  # not given: taken from the file name
    assert any("unknown emotion 'Grumpy' ignored" in note for note in report.notes)

    nested = records[got["sub/nested.png"].sticker_id]
    assert nested.name == "nested one"
    assert nested.emotion == "Surprise"
    assert nested.queries == ["wow", "omg"]


def test_csv_sidecar_sets_annotations_and_reports_unknown_emotions(tmp_path, importer, packs_dir):
    source = _sidecar_pack(tmp_path / "csvpack")
    (source / "annotations.csv").write_text(SIDECAR_CSV, encoding="utf-8")

    report = importer.run(source, progress=False)

    records = {r.id: r for r in manifest(packs_dir, "csvpack")}
    _check_sidecar_import(report, records, "annotations.csv")
    assert any("annotations.csv:3" in note and "Grumpy" in note for note in report.notes)


def test_jsonl_sidecar_sets_annotations_and_reports_bad_lines(tmp_path, importer, packs_dir):
    source = _sidecar_pack(tmp_path / "jsonlpack")
    lines = [json.dumps(row, ensure_ascii=False) for row in SIDECAR_ROWS]
    lines.insert(2, "{not json")
    (source / "annotations.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = importer.run(source, progress=False)

    records = {r.id: r for r in manifest(packs_dir, "jsonlpack")}
    _check_sidecar_import(report, records, "annotations.jsonl")
    assert any("annotations.jsonl:3: unreadable line" in note for note in report.notes)


def test_sidecar_given_outside_the_pack(tmp_path, importer, packs_dir):
    source = _sidecar_pack(tmp_path / "outside")
    sidecar = tmp_path / "labels.csv"
    sidecar.write_text(SIDECAR_CSV, encoding="utf-8")

    report = importer.run(source, sidecar_path=sidecar, progress=False)

    records = {r.id: r for r in manifest(packs_dir, "outside")}
    cat = records[outcomes(report)["crying_cat-02.png"].sticker_id]
    assert cat.name == "weeping kitty" and cat.emotion == "Sadness"
    assert "annotations from labels.csv: 4 rows" in report.notes


# --- zip ------------------------------------------------------------------------------------


def test_zip_import_matches_folder_import_and_skips_escaping_entries(tmp_path, library, packs_dir):
    folder = write_folder(tmp_path / "folderpack", GOOD_FILES)
    (folder / "annotations.csv").write_text(
        "file,name,emotion\ncrying_cat-02.png,weeping kitty,Sadness\n", encoding="utf-8"
    )
    archive = write_zip(
        tmp_path / "zippack.zip",
        {
            **GOOD_FILES,
            "annotations.csv": (folder / "annotations.csv").read_bytes(),
            "../evil.png": png_bytes(30),
            "__MACOSX/._crying_cat-02.png": b"fork",
        },
    )
    importer = PackImporter(library, None, packs_dir, ocr=None)

    from_folder = importer.run(folder, progress=False)
    from_zip = importer.run(archive, progress=False)

    assert from_zip.pack == "zippack"
    zipped = outcomes(from_zip)
    assert zipped["../evil.png"].status == "skipped"
    assert "escapes" in zipped["../evil.png"].reason
    assert "__MACOSX/._crying_cat-02.png" not in zipped
    assert from_zip.counts() == {"imported": len(GOOD_FILES), "skipped": 1}
    assert from_folder.counts() == {"imported": len(GOOD_FILES)}
    assert "annotations from annotations.csv: 1 rows" in from_zip.notes

    def essence(pack: str) -> set:
        return {
            (r.sha256, r.phash, r.name, tuple(r.keywords_en), r.emotion, r.animated, r.frame_count, r.image)
            for r in manifest(packs_dir, pack)
        }

    assert essence("zippack") == essence("folderpack")
    assert len(essence("zippack")) == len(GOOD_FILES)
    assert not (packs_dir / "evil.png").exists() and not (packs_dir.parent / "evil.png").exists()


def test_a_source_that_is_not_a_folder_or_readable_zip_is_a_source_error(tmp_path, importer, packs_dir):
    # Regression: these raised zipfile.BadZipFile / FileNotFoundError from the sidecar lookup,
    # which the CLI (catching SourceError) turned into a traceback.
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"not a zip at all")
    with pytest.raises(SourceError, match="neither a folder nor a .zip"):
        importer.run(fake, progress=False)
    with pytest.raises(SourceError, match="does not exist"):
        importer.run(tmp_path / "typo", progress=False)

    # A zip whose end record is fine (is_zipfile says yes) but whose directory is garbage.
    data = bytearray(write_zip(tmp_path / "broken.zip", {"a.png": png_bytes(1)}).read_bytes())
    at = data.rfind(b"PK\x01\x02")
    data[at : at + 4] = b"XXXX"
    (tmp_path / "broken.zip").write_bytes(bytes(data))
    with pytest.raises(SourceError, match="not a readable .zip"):
        importer.run(tmp_path / "broken.zip", progress=False)

    # Nothing was created for the refused sources.
    assert not (packs_dir / "fake").exists() and not (packs_dir / "typo").exists()
    assert not (packs_dir / "broken").exists()


# --- resume after an interruption -----------------------------------------------------------


RESUME_FILES = {f"sticker_{n}.png": png_bytes(40 + n) for n in range(6)}


def _interrupt_after(monkeypatch, n: int) -> list[str]:
    """Make the importer's load_image raise KeyboardInterrupt on its (n+1)th call."""
    calls: list[str] = []
    real = importer_module.load_image

    def flaky(data, limits=None):
        calls.append(sha(data))
        if len(calls) > n:
            raise KeyboardInterrupt
        return real(data, limits)

    monkeypatch.setattr(importer_module, "load_image", flaky)
    return calls


def test_interrupted_import_resumes_without_duplicates(tmp_path, importer, packs_dir, monkeypatch):
    source = write_folder(tmp_path / "resume", RESUME_FILES)
    _interrupt_after(monkeypatch, 3)

    with pytest.raises(KeyboardInterrupt):
        importer.run(source, progress=False)

    saved = manifest(packs_dir, "resume")
    assert [r.sha256 for r in saved] == [sha(RESUME_FILES[n]) for n in sorted(RESUME_FILES)[:3]]
    monkeypatch.setattr(importer_module, "load_image", load_image)

    report = importer.run(source, progress=False)

    names = sorted(RESUME_FILES)
    got = outcomes(report)
    assert [got[n].status for n in names] == ["already imported"] * 3 + ["imported"] * 3
    assert [got[n].sticker_id for n in names[:3]] == [r.id for r in saved]
    records = manifest(packs_dir, "resume")
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids)) == len(RESUME_FILES)
    assert sorted(r.sha256 for r in records) == sorted(sha(d) for d in RESUME_FILES.values())
    images = packs_dir / "resume" / "images"
    assert sorted(p.name for p in images.iterdir()) == sorted(Path(r.image).name for r in records)

    again = importer.run(source, progress=False)
    assert again.counts() == {"already imported": len(RESUME_FILES)}
    assert len(manifest(packs_dir, "resume")) == len(RESUME_FILES)


class FakeIndex:
    """Stands in for StickerIndex: records what the importer asks it to sync."""

    def __init__(self):
        self.embedder = SimpleNamespace(languages=("en",))
        self.synced: dict[str, str] = {}

    def sync(self, items):
        self.synced.update(items)
        return len(items)


def test_records_saved_before_an_interruption_are_indexed_on_resume(
    tmp_path, library, packs_dir, monkeypatch
):
    source = write_folder(tmp_path / "idx", RESUME_FILES)
    index = FakeIndex()
    importer = PackImporter(library, index, packs_dir, ocr=None)
    _interrupt_after(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        importer.run(source, progress=False)
    assert index.synced == {}  # interrupted before the batch was indexed
    monkeypatch.setattr(importer_module, "load_image", load_image)

    importer.run(source, progress=False)

    records = manifest(packs_dir, "idx")
    assert index.synced == {r.id: r.index_text(("en",)) for r in records}
    assert len(index.synced) == len(RESUME_FILES)


def test_torn_last_manifest_line_is_ignored_and_the_import_goes_on(tmp_path, importer, packs_dir):
    names = sorted(RESUME_FILES)
    source = write_folder(tmp_path / "torn", {n: RESUME_FILES[n] for n in names[:3]})
    importer.run(source, progress=False)
    path = packs_dir / "torn" / MANIFEST
    complete = manifest(packs_dir, "torn")
    assert len(complete) == 3

    # A crash in the middle of appending the next record: half a line, no newline.
    extra = StickerRecord.from_dict({**complete[0].to_dict(), "id": "user:torn:half"}).to_json()
    with open(path, "a", encoding="utf-8") as f:
        f.write(extra[: len(extra) // 2])
    assert [r.id for r in read_manifest(path)] == [r.id for r in complete]

    # The next run appends after the torn fragment without gluing onto it.
    write_folder(source, {n: RESUME_FILES[n] for n in names[3:]})
    report = importer.run(source, progress=False)

    assert [outcomes(report)[n].status for n in names] == ["already imported"] * 3 + ["imported"] * 3
    records = read_manifest(path)
    assert len(records) == 6 and len({r.id for r in records}) == 6
    assert "user:torn:half" not in {r.id for r in records}


def test_torn_record_of_the_last_sticker_is_imported_again(tmp_path, importer, packs_dir):
    names = sorted(RESUME_FILES)[:3]
    source = write_folder(tmp_path / "cut", {n: RESUME_FILES[n] for n in names})
    importer.run(source, progress=False)
    path = packs_dir / "cut" / MANIFEST
    text = path.read_text(encoding="utf-8")
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    path.write_text(text[: len(text) - len(last) // 2 - 1], encoding="utf-8")  # cut the last record
    assert len(read_manifest(path)) == 2

    report = importer.run(source, progress=False)

    assert [outcomes(report)[n].status for n in names] == ["already imported", "already imported", "imported"]
    records = read_manifest(path)
    assert sorted(r.sha256 for r in records) == sorted(sha(RESUME_FILES[n]) for n in names)


# --- pack names -----------------------------------------------------------------------------


@pytest.mark.parametrize("pack", ["bundled", "Bundled", " bundled! "])
def test_the_bundled_pack_name_is_refused(tmp_path, importer, packs_dir, pack):
    source = write_folder(tmp_path / "src", {"a.png": png_bytes(1)})
    with pytest.raises(UserError, match="bundled"):
        importer.run(source, pack=pack, progress=False)
    assert not (packs_dir / "bundled").exists()


def test_a_source_called_bundled_needs_another_pack_name(tmp_path, importer, packs_dir):
    source = write_folder(tmp_path / "bundled_src" / "bundled", {"a.png": png_bytes(1)})
    with pytest.raises(UserError, match="bundled"):
        importer.run(source, progress=False)
    assert importer.run(source, pack="mine", progress=False).counts() == {"imported": 1}


# --- OCR ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_ocr_reads_the_caption_of_an_imported_sticker(tmp_path, library, packs_dir):
    from stickerbot.stickers.ocr import RapidOcrEngine

    source = write_folder(tmp_path / "captions", {"caption.png": text_sticker_png("good vibes")})
    importer = PackImporter(library, None, packs_dir, ocr=RapidOcrEngine())

    report = importer.run(source, progress=False)

    (record,) = manifest(packs_dir, "captions")
    assert outcomes(report)["caption.png"].sticker_id == record.id
    assert "good" in record.ocr_text.lower()
    assert "good" in record.description.lower()  # the words are quoted in the description
