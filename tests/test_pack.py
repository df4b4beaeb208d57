"""The bundled pack meets what the project promises of it."""

import csv
import json
from collections import Counter

import pytest
from PIL import Image

from stickerbot.config import ASSETS_DIR, BUNDLED_PACK_DIR
from stickerbot.stickers.labels import EMOTIONS, FINE_EMOTIONS
from stickerbot.stickers.library import Library


@pytest.fixture(scope="module")
def library():
    return Library.load(BUNDLED_PACK_DIR)


def test_size_and_coverage(library):
    assert len(library) >= 1000
    total = sum(p.stat().st_size for p in BUNDLED_PACK_DIR.rglob("*") if p.is_file())
    assert total <= 15 * 1024 * 1024
    descriptions = " ".join(r.description for r in library.records)
    for theme in (
        "smileys & emotion",
        "hand",
        "person-gesture".replace("-", " "),
        "animals",
        "food",
        "activities",
        "weather",
    ):
        assert theme.split()[0] in descriptions, theme


def test_every_image_exists_is_small_and_hashed(library):
    for record in library.records:
        path = library.path_of(record)
        with Image.open(path) as im:
            assert max(im.size) <= 256, record.id
        assert len(record.phash) == 16 and record.sha256, record.id


def test_caption_stickers_in_both_languages(library):
    captions = [r for r in library.records if r.id.startswith("caption:")]
    assert len(captions) >= 60
    langs = Counter("zh" if any("\u4e00" <= c <= "\u9fff" for c in r.ocr_text) else "en" for r in captions)
    assert langs["en"] >= 25 and langs["zh"] >= 25
    assert {"whatever", "praise me", "ugh not again", "好累", "加油"} <= {r.ocr_text for r in captions}


def test_labels_are_valid_and_varied(library):
    emotions = Counter(r.emotion for r in library.records)
    assert set(emotions) <= set(EMOTIONS)
    assert len(emotions) == 7  # every SER30K emotion has stickers
    assert all(r.fine_emotion is None or r.fine_emotion in FINE_EMOTIONS for r in library.records)


def test_faces_and_gestures_use_the_hand_reviewed_table(library):
    with open(ASSETS_DIR / "annotations" / "emotion_overrides.csv", encoding="utf-8") as f:
        overrides = {row["hexcode"]: row for row in csv.DictReader(f)}
    faces = [r for r in library.records if r.id.startswith("emoji:") and "smileys & emotion" in r.description]
    assert len(faces) >= 160
    for record in faces:
        row = overrides[record.hexcode]
        assert record.emotion == row["emotion"], record.id
    assert library.get("emoji:1F602").emotion == "Happiness"
    assert library.get("emoji:1F62D").emotion == "Sadness"
    assert library.get("emoji:1F621").emotion == "Anger"


def test_licenses_keep_the_notices():
    text = (BUNDLED_PACK_DIR / "LICENSES.md").read_text(encoding="utf-8")
    for notice in ("Microsoft", "LobeHub", "Miles Johnson", "Unicode", "MIT"):
        assert notice in text


def test_manifest_lines_are_complete_records():
    keys = {
        "id",
        "image",
        "pack",
        "name",
        "keywords_en",
        "keywords_zh",
        "description",
        "emotion",
        "fine_emotion",
        "style",
        "ocr_text",
        "queries",
        "emoji",
        "hexcode",
        "animated",
        "frame_count",
        "phash",
        "sha256",
    }
    with open(BUNDLED_PACK_DIR / "manifest.jsonl", encoding="utf-8") as f:
        for line in f:
            assert set(json.loads(line)) == keys


def test_shipped_vectors_match_the_current_annotations(library):
    """assets/stickers/vectors must be re-exported when annotations change (`make pack`)."""
    from stickerbot.index.store import text_hash
    from stickerbot.index.vector_cache import cache_path, load_vectors

    cached = load_vectors(cache_path(BUNDLED_PACK_DIR / "vectors", "all-MiniLM-L6-v2", 384), 384)
    assert len(cached) == len(library)
    stale = [r.id for r in library.records if cached[r.id][0] != text_hash(r.index_text(("en",)))]
    assert stale == []
