"""The library tab: browse with filters and pages, annotations of a selected sticker, pack import.

Read-only checks use the session's bundled services; every import runs on services of its own
(a three-sticker bundled pack in a temp data dir, the fake embedder), so the shared ones are
never modified.
"""

from __future__ import annotations

import math
import threading
import zipfile
from pathlib import Path

import gradio as gr
import pytest

from stickerbot.chat.choose import StickerChooser
from stickerbot.chat.intents import answers, load_taxonomy
from stickerbot.config import Settings
from stickerbot.services import ImportBusyError, open_library
from stickerbot.stickers.record import StickerRecord
from stickerbot.ui.library_browse import (
    ALL,
    PAGE_SIZE,
    browse_page,
    details_for,
    pack_choices,
    sticker_details,
)
from stickerbot.ui.library_import import MAX_PACK_SIZE_IN_FILES, import_pack_upload
from stickerbot.ui.library_tab import build_library_tab, search_library
from tests.helpers_images import NOT_AN_IMAGE, noisy_png_bytes, png_bytes, write_bundled_pack, write_zip

# --- browse and annotations (the real bundled library, read-only) --------------------------


def test_browse_shows_the_library_a_page_at_a_time(bundled_services):
    library = bundled_services.library
    total = len(library)
    pages = math.ceil(total / PAGE_SIZE)

    first = browse_page(library)
    assert (first.page, first.pages, first.total) == (1, pages, total)
    assert len(first.items) == len(first.ids) == PAGE_SIZE
    assert first.label() == f"Page 1 of {pages} · {total:,} stickers"
    path, caption = first.items[0]
    record = library.get(first.ids[0])
    assert Path(path) == library.path_of(record) and Path(path).is_file()
    assert record.name in caption

    last = browse_page(library, page=pages)
    assert len(last.items) == total - (pages - 1) * PAGE_SIZE
    # Pages past either end show the nearest page instead of nothing.
    assert browse_page(library, page=pages + 5).ids == last.ids
    assert browse_page(library, page=0).ids == first.ids

    every_id = [i for n in range(1, pages + 1) for i in browse_page(library, page=n).ids]
    assert every_id == [r.id for r in library.records]


def test_browse_filters_by_emotion_and_pack(bundled_services):
    library = bundled_services.library
    sad = [r.id for r in library.records if r.emotion == "Sadness"]
    assert 0 < len(sad) < PAGE_SIZE
    page = browse_page(library, ALL, "Sadness")
    assert page.ids == sad and page.pages == 1
    assert browse_page(library, "bundled", ALL).total == len(library)
    assert browse_page(library, "bundled", "Sadness").ids == sad

    nothing = browse_page(library, "no-such-pack", ALL)
    assert nothing.items == [] and nothing.total == 0
    assert nothing.label() == "No sticker matches these filters."
    assert pack_choices(library) == [ALL, "bundled"]


def test_selecting_a_sticker_shows_its_annotations(bundled_services):
    library = bundled_services.library
    page = browse_page(library)
    position = page.ids.index("caption:awkward")
    text = details_for(library, page.ids, position)
    for expected in ("😬", "grimacing face", "caption:awkward", "bundled", "Sadness", "embarrassed"):
        assert expected in text
    assert "cute cartoons" in text  # style
    assert "awkward" in text.split("text in the image**:")[1]  # OCR text
    assert "cringe" in text and "尴尬" in text  # search queries, Chinese keywords

    assert details_for(library, page.ids, None) == "Select a sticker to see its annotations."
    assert details_for(library, page.ids, len(page.ids)) == "Select a sticker to see its annotations."
    assert details_for(library, ["gone:sticker"], 0) == "That sticker is no longer in the library."


def test_selecting_a_search_result_shows_that_sticker(bundled_services):
    items, rows = search_library(bundled_services, "so tired", None, "en", 5)
    ids = [row[0] for row in rows]
    assert len(items) == len(ids) == 5
    text = details_for(bundled_services.library, ids, 2)
    assert f"`{ids[2]}`" in text


def test_annotations_from_an_imported_sidecar_cannot_inject_markdown():
    from markdown_it import MarkdownIt

    record = StickerRecord(
        id="user:x:1",
        image="images/1.png",
        pack="x",
        name="[click me](javascript:alert(1))",
        description="<img src=x onerror=alert(1)> **bold** ![a](b)",
    )
    html = MarkdownIt("commonmark").render(sticker_details(record))
    assert "<a" not in html and "<img" not in html and "<em" not in html
    assert "[click me](javascript:alert(1))" in html  # shown as the text it is
    assert "&lt;img src=x onerror=alert(1)&gt; **bold** ![a](b)" in html


# --- import (separate services in a temp data dir) ----------------------------------------


class GatedOcr:
    """OCR that reads nothing, and waits at its first file until the test opens the gate."""

    def __init__(self):
        self.reading = threading.Event()
        self.gate = threading.Event()

    def read(self, image) -> str:
        self.reading.set()
        assert self.gate.wait(30), "the test never opened the gate"
        return ""


# The tab is tested with text search and the hash: the fast tier loads no real model (the
# image encoder's own tests are in test_stickerclip.py and test_image_embeddings.py).
NO_IMAGE_MODEL = {"STICKERBOT_IMAGE_EMBEDDER": "none"}


@pytest.fixture
def own_services(tmp_path, monkeypatch, fake_embedder):
    bundled = tmp_path / "bundled"
    write_bundled_pack(bundled)
    monkeypatch.setattr(Settings, "bundled_pack_dir", property(lambda self: bundled))
    settings = Settings.from_env(NO_IMAGE_MODEL, data_dir=tmp_path / "data", ocr=False)
    return open_library(settings, progress=False, embedder=fake_embedder)


PACK = {
    "grumpy_walrus.png": png_bytes(11),
    "sparkly_unicorn.png": png_bytes(12),
    "readme.png": NOT_AN_IMAGE,
    "../../escape.png": png_bytes(13),
}


def test_import_reports_each_file_and_the_same_search_finds_the_new_stickers(own_services, tmp_path):
    services = own_services
    search = services.search  # what the chat service holds: it must see the import
    chooser = StickerChooser(search)  # built for the library before the import
    before = len(services.library)
    archive = write_zip(tmp_path / "zoo animals.zip", PACK)

    summary, rows = import_pack_upload(services, str(archive), "Zoo")

    by_file = {row[0]: row for row in rows}
    assert set(by_file) == set(PACK)
    assert by_file["grumpy_walrus.png"][1] == "imported"
    assert by_file["sparkly_unicorn.png"][1] == "imported"
    assert by_file["readme.png"][1] == "skipped" and by_file["readme.png"][2]
    assert by_file["../../escape.png"][1] == "skipped"
    assert "escapes" in by_file["../../escape.png"][2]
    assert summary.startswith("**2 of 4 files imported** into pack `zoo` (2 skipped)")
    # Nothing was written where the unsafe name points.
    assert not (tmp_path / "escape.png").exists() and not (services.settings.data_dir / "escape.png").exists()

    walrus, unicorn = by_file["grumpy_walrus.png"][3], by_file["sparkly_unicorn.png"][3]
    assert services.search is search and len(search) == before + 2
    assert search.search("grumpy walrus", k=1)[0].record.id == walrus
    assert search.search("sparkly unicorn", k=1)[0].record.id == unicorn
    assert len(services.library) == before + 2 and services.library.get(walrus).pack == "zoo"
    # The chat's sticker choice keeps working over the grown library.
    hit = chooser.choose("sadness", reply="a hug for you", message="sad", intent_query="hug", lang="en")
    assert hit is None or services.library.get(hit.record.id) is not None
    spec = load_taxonomy().intents["sadness"]
    assert chooser.fitting("sadness") == sum(answers(spec, r) for r in services.library.records)

    # Browse and the annotation panel see the new pack too.
    assert "zoo" in pack_choices(services.library)
    page = browse_page(services.library, "zoo", ALL)
    assert sorted(page.ids) == sorted([walrus, unicorn])
    assert "grumpy walrus" in details_for(services.library, page.ids, page.ids.index(walrus))

    # The same archive again: nothing new, and a report that says so.
    with pytest.warns(UserWarning, match="No sticker was imported"):
        again_summary, again = import_pack_upload(services, str(archive), "zoo")
    assert {row[0]: row[1] for row in again}["grumpy_walrus.png"] == "already imported"
    assert again_summary.startswith("**0 of 4 files imported**")
    assert len(services.library) == before + 2


def test_pack_name_defaults_to_the_uploaded_file_name(own_services, tmp_path):
    archive = write_zip(tmp_path / "My Cats.zip", {"cat.png": png_bytes(21)})
    summary, _ = import_pack_upload(own_services, str(archive), "  ")
    assert "pack `my-cats`" in summary
    assert "my-cats" in own_services.library.packs


def bad_upload(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def corrupt_zip(tmp_path: Path) -> bytes:
    """A zip whose end record is intact (so is_zipfile says yes) but whose directory is garbage."""
    data = write_zip(tmp_path / "good.zip", {"a.png": png_bytes(1)}).read_bytes()
    directory = data.rindex(b"PK\x01\x02")
    return data[:directory] + b"XXXX" + data[directory + 4 :]


def test_bad_uploads_are_refused_with_a_clear_message_and_change_nothing(own_services, tmp_path):
    services = own_services
    before = len(services.library)
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    cases = {
        bad_upload(tmp_path, "stickers.zip", png_bytes(1)): "is not a .zip archive",
        bad_upload(tmp_path, "notes.zip", NOT_AN_IMAGE): "is not a .zip archive",
        bad_upload(tmp_path, "broken.zip", corrupt_zip(tmp_path)): "damaged .zip",
        bad_upload(tmp_path, "nothing.zip", b""): "is empty",
        str(empty): "empty archive",
    }
    for path, message in cases.items():
        with pytest.raises(gr.Error, match=message):
            import_pack_upload(services, path, "")
    with pytest.raises(gr.Error, match="Choose a .zip"):
        import_pack_upload(services, None, "")
    with pytest.raises(gr.Error, match="built-in pack"):
        import_pack_upload(services, str(write_zip(tmp_path / "b.zip", {"a.png": png_bytes(1)})), "Bundled")
    assert len(services.library) == before
    assert not services.settings.packs_dir.exists() or not any(services.settings.packs_dir.iterdir())


def test_an_upload_over_the_size_limit_is_refused(tmp_path, monkeypatch, fake_embedder):
    bundled = tmp_path / "bundled"
    write_bundled_pack(bundled)
    monkeypatch.setattr(Settings, "bundled_pack_dir", property(lambda self: bundled))
    env = {**NO_IMAGE_MODEL, "STICKERBOT_MAX_UPLOAD_BYTES": "1000"}
    services = open_library(
        Settings.from_env(env, data_dir=tmp_path / "data", ocr=False), progress=False, embedder=fake_embedder
    )
    files = {f"{n}.png": noisy_png_bytes(seed=n) for n in range(4)}
    archive = write_zip(tmp_path / "big.zip", files)
    assert archive.stat().st_size > MAX_PACK_SIZE_IN_FILES * 1000
    with pytest.raises(gr.Error, match="MB can be imported here"):
        import_pack_upload(services, str(archive), "big")


def test_one_import_at_a_time_while_searches_keep_working(tmp_path, monkeypatch, fake_embedder):
    bundled = tmp_path / "bundled"
    write_bundled_pack(bundled)
    monkeypatch.setattr(Settings, "bundled_pack_dir", property(lambda self: bundled))
    ocr = GatedOcr()
    services = open_library(
        Settings.from_env(NO_IMAGE_MODEL, data_dir=tmp_path / "data"),
        progress=False,
        embedder=fake_embedder,
        ocr=ocr,
    )
    before = len(services.search)
    archive = write_zip(
        tmp_path / "zoo.zip", {k: PACK[k] for k in ("grumpy_walrus.png", "sparkly_unicorn.png")}
    )
    results: dict = {}

    def run():
        results["report"] = services.import_pack(archive, pack="zoo", workers=1)

    importing = threading.Thread(target=run)
    importing.start()
    try:
        assert ocr.reading.wait(30)
        # Mid-import: a second import is refused at once, with a message the tab shows...
        with pytest.raises(ImportBusyError):
            services.import_pack(archive, pack="other")
        with pytest.raises(gr.Error, match="another sticker pack is being imported"):
            import_pack_upload(services, str(archive), "other")
        # ...and searches answer from the library as it was.
        hits = services.search.search("grumpy walrus", k=10)
        assert len(services.search) == before and all(h.record.pack == "bundled" for h in hits)
    finally:
        ocr.gate.set()
        importing.join(60)
    assert not importing.is_alive()
    assert len(results["report"].imported) == 2
    assert len(services.search) == before + 2
    assert services.search.search("grumpy walrus", k=1)[0].record.pack == "zoo"
    assert services.import_pack(archive, pack="zoo").counts() == {"already imported": 2}  # lock released


# --- the widgets -------------------------------------------------------------------------------


def test_the_tab_builds_inside_blocks_with_no_public_endpoint(own_services):
    with gr.Blocks() as demo:
        build_library_tab(own_services)
    assert demo.fns, "the tab wires no events"
    # Nothing of the library is in the documented API; search and import are callable by name
    # (gradio_client, bench soak), the rest not at all.
    visibility = {
        fn.api_name: fn.api_visibility for fn in demo.fns.values() if fn.api_visibility != "private"
    }
    assert visibility == {"search": "undocumented", "import_pack": "undocumented"}
    galleries = [b for b in demo.blocks.values() if isinstance(b, gr.Gallery)]
    assert len(galleries) == 2
    uploads = [b for b in demo.blocks.values() if isinstance(b, gr.File)]
    assert [u.file_types for u in uploads] == [[".zip"]]
