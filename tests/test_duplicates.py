"""Duplicates that respect meaning: the pure rule (stickers/duplicates.py) and the importer
on a pack of caption variants (one drawing, many captions: the most common pack layout)."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from stickerbot.importer import DUPLICATES, PackImporter
from stickerbot.stickers.duplicates import (
    DuplicateRule,
    colour_distance,
    colour_signature,
    judge,
    normalise_words,
)
from stickerbot.stickers.library import Library
from stickerbot.stickers.manifest import MANIFEST, read_manifest
from stickerbot.stickers.phash import hamming, phash
from tests.helpers_images import DEJAVU_BOLD, encode, sticker, write_bundled_pack

CAPTIONS = ("ok", "no way", "thank you", "good night", "lol", "sorry")
BASES = (200, 201, 202, 203, 204)


def captioned(seed: int, text: str, size: int = 256) -> Image.Image:
    """Drawing ``seed`` over a caption band with ``text``, the way caption packs look (and
    large enough for the real OCR engine to read every caption)."""
    image = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    drawing = size * 3 // 4
    image.alpha_composite(sticker(seed, drawing), (size // 8, 0))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(DEJAVU_BOLD), 28)
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    draw.text(((size - (right - left)) // 2 - left, size - 44), text, fill=(0, 0, 0, 255), font=font)
    return image


def circle(colour: tuple[int, int, int], size: int = 96) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((8, 8, size - 8, size - 8), fill=(*colour, 255))
    return image


# --- the rule -------------------------------------------------------------------------------


def test_words_are_compared_blind_to_case_space_width_and_punctuation():
    assert normalise_words("Thank  you!!") == normalise_words("thank you") == "thankyou"
    assert normalise_words("ＯＫ") == "ok" and normalise_words("晚安～") == "晚安"
    assert normalise_words(None) is None and normalise_words("") == ""


def test_a_near_picture_is_a_duplicate_only_with_the_same_words_and_colours():
    red, blue = colour_signature(circle((220, 30, 30))), colour_signature(circle((30, 30, 220)))
    assert judge(2, ("ok", "OK!"), (red, red)).duplicate
    assert judge(0, ("ok", "ok"), (red, red)).reason == "exact"
    assert judge(2, ("ok", "ok"), (red, red)).reason == "near (2/64 bits differ)"
    assert judge(2, ("ok", "no way"), (red, red)) == judge(2, ("ok", "no way"), (red, red))
    assert judge(2, ("ok", "no way"), (red, red)).reason == "other words"
    assert judge(0, ("ok", "ok"), (red, blue)).reason == "other colours"
    # Too far apart in the hash: not a duplicate whatever else matches.
    assert not judge(DuplicateRule().bits + 1, ("ok", "ok"), (red, red)).duplicate
    # Unknown words (no OCR, no annotation) leave the picture to decide.
    assert judge(1, (None, "ok"), (red, red)).duplicate


def test_plain_circles_of_other_colours_share_a_hash_but_not_their_colours():
    circles = [circle(c) for c in ((220, 30, 30), (30, 160, 30), (30, 30, 220))]
    hashes = np.array([np.uint64(int(phash(c), 16)) for c in circles])
    # The hash sees grey levels only: the three are near duplicates to it.
    assert all(int(hamming(phash(c), hashes).max()) <= DuplicateRule().bits for c in circles)
    signatures = [colour_signature(c) for c in circles]
    assert min(colour_distance(a, b) for a in signatures for b in signatures if a is not b) > 0.1


def test_reencoding_moves_the_colours_far_less_than_the_threshold():
    image = captioned(BASES[0], "ok")
    png = colour_signature(image)
    for fmt in ("WEBP", "JPEG"):
        again = Image.open(BytesIO(encode(image, fmt)))
        assert colour_distance(png, colour_signature(again)) < DuplicateRule().colour / 2


# --- the importer ---------------------------------------------------------------------------


def caption_pack(folder: Path, *, annotations: bool = True) -> tuple[Path, dict[str, str]]:
    """30 caption variants of 5 drawings (PNG) and 5 of them again as WebP; ``annotations``:
    with a file giving each file's words (what OCR would read)."""
    files: dict[str, bytes] = {}
    words: dict[str, str] = {}
    for seed in BASES:
        for n, text in enumerate(CAPTIONS):
            name = f"char{seed}_{n}.png"
            files[name], words[name] = encode(captioned(seed, text), "PNG"), text
        again = f"char{seed}_0_again.webp"
        files[again], words[again] = encode(captioned(seed, CAPTIONS[0]), "WEBP"), CAPTIONS[0]
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    if annotations:
        lines = [json.dumps({"file": name, "ocr_text": text}) for name, text in words.items()]
        (folder / "annotations.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder, words


@pytest.fixture()
def library_dirs(tmp_path) -> tuple[Path, Path]:
    bundled = tmp_path / "bundled"
    write_bundled_pack(bundled, (100, 101, 102))
    return bundled, tmp_path / "packs"


def test_the_caption_variants_of_a_drawing_import_whole(tmp_path, library_dirs):
    bundled, packs = library_dirs
    source, words = caption_pack(tmp_path / "chars")
    # The pack is a real test of the rule: many variants lie within the hash threshold.
    hashes = {name: phash(Image.open(source / name)) for name in words if name.endswith(".png")}
    close = [
        (a, b)
        for a in hashes
        for b in hashes
        if a < b and hamming(hashes[a], np.array([np.uint64(int(hashes[b], 16))]))[0] <= DuplicateRule().bits
    ]
    assert len(close) >= 3

    report = PackImporter(Library.load(bundled, packs), None, packs, ocr=None).run(source, progress=False)

    assert report.counts() == {"imported": 30, "duplicate": 5}
    got = {o.file: o for o in report.outcomes}
    records = {r.id: r for r in read_manifest(packs / "chars" / MANIFEST)}
    assert len(records) == 30
    for seed in BASES:
        again = got[f"char{seed}_0_again.webp"]
        assert again.status == "duplicate" and again.sticker_id == got[f"char{seed}_0.png"].sticker_id
    # Every caption kept its words; the close ones say which sticker they resemble.
    assert sorted(records[o.sticker_id].ocr_text for o in report.imported) == sorted(CAPTIONS * 5)
    for a, b in close:
        later = got[max(a, b)]
        assert later.status == "imported" and later.reason.startswith("similar to user:chars:")
        assert later.reason.endswith("other words")

    # The same pack again: every file, duplicates included, is already imported.
    again = PackImporter(Library.load(bundled, packs), None, packs, ocr=None).run(source, progress=False)
    assert again.counts() == {"already imported": 35}
    assert {o.file: o.sticker_id for o in again.outcomes} == {o.file: o.sticker_id for o in report.outcomes}
    assert len((packs / "chars" / DUPLICATES).read_text().splitlines()) == 5


@pytest.mark.slow
def test_caption_variants_import_whole_with_the_real_ocr_engine(tmp_path, library_dirs):
    from stickerbot.stickers.ocr import RapidOcrEngine

    bundled, packs = library_dirs
    source, words = caption_pack(tmp_path / "chars", annotations=False)
    importer = PackImporter(Library.load(bundled, packs), None, packs, ocr=RapidOcrEngine())
    report = importer.run(source, progress=False)
    assert report.counts() == {"imported": 30, "duplicate": 5}
    records = {r.id: r for r in read_manifest(packs / "chars" / MANIFEST)}
    assert sorted(records[o.sticker_id].ocr_text.lower() for o in report.imported) == sorted(CAPTIONS * 5)
    again = PackImporter(Library.load(bundled, packs), None, packs, ocr=RapidOcrEngine()).run(
        source, progress=False
    )
    assert again.counts() == {"already imported": 35}


def test_circles_of_other_colours_are_all_imported(tmp_path, library_dirs):
    bundled, packs = library_dirs
    folder = tmp_path / "circles"
    folder.mkdir()
    for name, colour in (("red", (220, 30, 30)), ("green", (30, 160, 30)), ("blue", (30, 30, 220))):
        (folder / f"{name}.png").write_bytes(encode(circle(colour), "PNG"))
    report = PackImporter(Library.load(bundled, packs), None, packs, ocr=None).run(folder, progress=False)
    assert report.counts() == {"imported": 3}
    assert sum("other colours" in o.reason for o in report.outcomes) == 2


# --- a sticker the user sends ---------------------------------------------------------------


class CaptionSearch:
    """The part of StickerSearch that ``read_upload`` uses, over a real imported library; its
    "OCR" reads back the words each test picture was drawn with (the real engine is tested in
    tests/test_ocr.py), so the choice among caption variants is tested here on its own."""

    def __init__(self, library: Library, words_of: dict[bytes, str]):
        self.library = library
        self.words_of = words_of
        self.ocr = object()  # an engine is configured

    def duplicates_of(self, hash_hex: str, max_bits: int):
        hashes = np.array([np.uint64(int(r.phash, 16)) for r in self.library.records])
        distances = hamming(hash_hex, hashes)
        order = np.argsort(distances, kind="stable")
        return [(self.library.records[i], int(distances[i])) for i in order if distances[i] <= max_bits]

    def read_text(self, image) -> str:
        return self.words_of[image.first.tobytes()]

    def read_picture(self, image):
        return None


def test_a_sent_caption_variant_is_known_by_its_words(tmp_path, library_dirs):
    from stickerbot.chat.upload import read_upload
    from stickerbot.stickers.images import load_image

    bundled, packs = library_dirs
    source, words = caption_pack(tmp_path / "chars")
    PackImporter(Library.load(bundled, packs), None, packs, ocr=None).run(source, progress=False)
    library = Library.load(bundled, packs)
    by_words = {(r.ocr_text, r.phash): r for r in library.records if r.pack == "chars"}
    sent = {name: (source / name).read_bytes() for name in words}
    search = CaptionSearch(library, {load_image(b).first.tobytes(): words[n] for n, b in sent.items()})
    for name, data in sent.items():
        upload = read_upload(data, search, max_bits=DuplicateRule().bits)
        assert upload.match is not None and upload.match.ocr_text == words[name], name
        assert (upload.match.ocr_text, upload.match.phash) in by_words
    # New words over a known drawing: not that sticker, but read as a new one with its words.
    other = encode(captioned(BASES[0], "see you"), "PNG")
    search.words_of[load_image(other).first.tobytes()] = "see you"
    upload = read_upload(other, search, max_bits=DuplicateRule().bits)
    assert upload.match is None and upload.ocr_text == "see you"
