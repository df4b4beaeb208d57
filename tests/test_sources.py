"""Reading a pack from a folder or a .zip without trusting names, sizes or links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stickerbot.importer import PackImporter
from stickerbot.stickers.library import Library
from stickerbot.stickers.manifest import MANIFEST, read_manifest
from stickerbot.stickers.sources import (
    SourceError,
    iter_folder,
    iter_source,
    iter_zip,
    read_sidecar_bytes,
    unsafe_archive_path,
)
from tests.helpers_images import jpeg_bytes, png_bytes, write_bundled_pack, write_zip

MB = 1_000_000
SIDECAR = b"file,name\ngood.png,a good sticker\n"


def _by_name(entries) -> dict:
    out = {}
    for entry in entries:
        assert entry.name not in out, f"{entry.name} listed twice"
        out[entry.name] = entry
    return out


def _evil_zip(path: Path, big: bytes = b"") -> Path:
    files = {
        "good.png": png_bytes(1),
        "sub/ok.jpg": jpeg_bytes(2),
        "../evil.png": png_bytes(3),
        "../../etc/evil2.png": png_bytes(4),
        "/abs.png": png_bytes(5),
        "C:\\abs2.png": png_bytes(6),
        "sub\\..\\..\\evil3.png": png_bytes(7),
        "__MACOSX/._good.png": b"\x00\x05\x16\x07 resource fork",
        ".DS_Store": b"\x00\x00\x00\x01Bud1",
        "sub/.DS_Store": b"\x00\x00\x00\x01Bud1",
        "sub/Thumbs.db": b"thumbs",
        "annotations.csv": SIDECAR,
    }
    if big:
        files["big.png"] = big
    return write_zip(path, files, symlinks={"link.png": "/etc/passwd"})


# --- zip ------------------------------------------------------------------------------------


def test_zip_entries_that_escape_or_link_are_reported_with_a_reason(tmp_path):
    entries = _by_name(iter_zip(_evil_zip(tmp_path / "pack.zip"), max_bytes=MB))

    assert "absolute path" in entries["/abs.png"].problem
    assert "absolute path" in entries["C:\\abs2.png"].problem
    for name in ("../evil.png", "../../etc/evil2.png", "sub\\..\\..\\evil3.png"):
        assert "escapes" in entries[name].problem and ".." in entries[name].problem
    assert entries["link.png"].problem == "symbolic link refused"
    for name in ("../evil.png", "/abs.png", "link.png"):
        # A refused entry cannot be read at all: its bytes never leave the archive.
        with pytest.raises(SourceError, match=entries[name].problem.split(" (")[0]):
            entries[name].read()


def test_zip_good_entries_read_their_bytes(tmp_path):
    archive = _evil_zip(tmp_path / "pack.zip")
    seen = {}
    for entry in iter_zip(archive, max_bytes=MB):
        if entry.problem is None:
            seen[entry.name] = entry.read()  # read while iterating, as the importer does
    assert seen == {"good.png": png_bytes(1), "sub/ok.jpg": jpeg_bytes(2)}


def test_zip_skips_finder_and_windows_litter_and_the_sidecar(tmp_path):
    names = set(_by_name(iter_zip(_evil_zip(tmp_path / "pack.zip"), max_bytes=MB)))
    assert not any("__MACOSX" in n or "DS_Store" in n or "Thumbs" in n for n in names)
    assert "annotations.csv" not in names
    assert {"good.png", "sub/ok.jpg", "link.png", "/abs.png", "../evil.png"} <= names


def test_zip_entry_over_max_bytes_is_refused(tmp_path):
    big = os.urandom(3000)
    entries = _by_name(iter_zip(_evil_zip(tmp_path / "pack.zip", big=big), max_bytes=2500))
    assert "over the" in entries["big.png"].problem and "limit" in entries["big.png"].problem
    assert entries["big.png"].size == 3000
    with pytest.raises(SourceError):
        entries["big.png"].read()
    assert entries["good.png"].problem is None  # small entries still pass


def test_non_zip_file_raises_source_error(tmp_path):
    fake = tmp_path / "pack.zip"
    fake.write_bytes(b"PK? no, just text pretending to be a zip")
    with pytest.raises(SourceError, match="not a readable .zip"):
        list(iter_zip(fake, max_bytes=MB))
    with pytest.raises(SourceError, match="neither a folder nor a .zip"):
        iter_source(fake, max_bytes=MB)
    with pytest.raises(SourceError, match="does not exist"):
        iter_source(tmp_path / "missing.zip", max_bytes=MB)


def test_iter_source_dispatches_on_what_the_path_is(tmp_path):
    archive = write_zip(tmp_path / "a.zip", {"x.png": png_bytes(1)})
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "y.png").write_bytes(png_bytes(2))
    assert [e.name for e in iter_source(archive, MB)] == ["x.png"]
    assert [e.name for e in iter_source(folder, MB)] == ["y.png"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a.png", None),
        ("dir/a.png", None),
        ("dir/..a.png", None),  # dots inside a name are not a parent reference
        ("../a.png", "escapes"),
        ("dir/../../a.png", "escapes"),
        ("dir\\..\\..\\a.png", "escapes"),
        ("/a.png", "absolute"),
        ("\\a.png", "absolute"),
        ("C:/a.png", "absolute"),
        ("a\x00.png", "NUL"),
    ],
)
def test_unsafe_archive_path(name, reason):
    result = unsafe_archive_path(name)
    if reason is None:
        assert result is None
    else:
        assert result is not None and reason in result


def test_read_sidecar_from_zip_and_folder(tmp_path):
    archive = _evil_zip(tmp_path / "pack.zip")
    assert read_sidecar_bytes(archive) == ("annotations.csv", SIDECAR)
    folder = tmp_path / "folder"
    folder.mkdir()
    assert read_sidecar_bytes(folder) is None
    (folder / "annotations.jsonl").write_bytes(b'{"file": "a.png"}\n')
    assert read_sidecar_bytes(folder) == ("annotations.jsonl", b'{"file": "a.png"}\n')


# --- folder ---------------------------------------------------------------------------------


@pytest.fixture()
def pack_folder(tmp_path) -> Path:
    folder = tmp_path / "pack"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "__MACOSX").mkdir()
    (folder / ".hidden").mkdir()
    (folder / "good.png").write_bytes(png_bytes(1))
    (folder / "sub" / "deeper" / "ok.jpg").write_bytes(jpeg_bytes(2))
    (folder / "__MACOSX" / "._good.png").write_bytes(b"fork")
    (folder / ".hidden" / "x.png").write_bytes(png_bytes(3))
    (folder / ".DS_Store").write_bytes(b"bud1")
    (folder / "desktop.ini").write_bytes(b"[.ShellClassInfo]")
    (folder / "annotations.csv").write_bytes(SIDECAR)
    (folder / "big.png").write_bytes(os.urandom(3000))
    outside = tmp_path / "secret.png"
    outside.write_bytes(png_bytes(4))
    (folder / "link.png").symlink_to(outside)
    (folder / "linkdir").symlink_to(tmp_path, target_is_directory=True)
    return folder


def test_folder_lists_files_with_forward_slashes_and_skips_litter(pack_folder):
    entries = _by_name(iter_folder(pack_folder, max_bytes=2500))
    assert set(entries) == {"good.png", "sub/deeper/ok.jpg", "big.png", "link.png", "linkdir"}
    assert entries["good.png"].read() == png_bytes(1)
    assert entries["sub/deeper/ok.jpg"].size == len(jpeg_bytes(2))


def test_folder_symlinks_are_refused_not_followed(pack_folder):
    entries = _by_name(iter_folder(pack_folder, max_bytes=MB))
    for name in ("link.png", "linkdir"):
        assert entries[name].problem == "symbolic link refused"
        with pytest.raises(SourceError):
            entries[name].read()
    # The linked folder is not walked: nothing from outside the pack is listed.
    assert not any(name.startswith("linkdir/") for name in entries)


def test_folder_file_over_max_bytes_is_refused(pack_folder):
    entries = _by_name(iter_folder(pack_folder, max_bytes=2500))
    assert "over the" in entries["big.png"].problem
    with pytest.raises(SourceError):
        entries["big.png"].read()


def test_file_that_grows_after_listing_is_still_bounded(tmp_path):
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"x" * 100)
    entries = list(iter_folder(folder, max_bytes=500))
    (folder / "a.png").write_bytes(b"x" * 1000)  # the size seen when listing was a lie
    with pytest.raises(SourceError, match="limit"):
        entries[0].read()


# --- an import of a malicious zip writes nowhere but its pack folder ------------------------


def _snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_import_of_malicious_zip_writes_only_inside_the_pack(tmp_path):
    bundled = tmp_path / "bundled"
    write_bundled_pack(bundled)
    packs = tmp_path / "data" / "packs"
    archive = _evil_zip(tmp_path / "evil.zip", big=os.urandom(3000))
    library = Library.load(bundled, packs)
    importer = PackImporter(library, None, packs, ocr=None)

    parent = tmp_path.parent
    before = _snapshot(parent)
    root_before = {p for p in Path("/").iterdir()}

    report = importer.run(archive, progress=False)

    created = _snapshot(parent) - before
    pack_dir = packs / "evil"
    assert created, "the import wrote nothing at all"
    assert all(p in (packs.parent, packs) or p.is_relative_to(pack_dir) for p in created), sorted(created)
    assert not any(p.name.startswith(("evil", "abs")) and p.suffix == ".png" for p in created)
    assert {p for p in Path("/").iterdir()} == root_before

    by_file = {o.file: o for o in report.outcomes}
    for name in ("../evil.png", "../../etc/evil2.png", "/abs.png", "C:\\abs2.png", "link.png"):
        assert by_file[name].status == "skipped"
        assert by_file[name].reason
    assert by_file["good.png"].status == "imported"
    assert by_file["sub/ok.jpg"].status == "imported"
    # The images inside the pack are named by content hash, never by the archive's names.
    stored = sorted(p.name for p in (pack_dir / "images").iterdir())
    assert len(stored) == 2 and all(len(Path(n).stem) == 16 for n in stored)
    assert {r.id for r in read_manifest(pack_dir / MANIFEST)} == {o.sticker_id for o in report.imported}


def test_sidecar_name_is_matched_without_case(tmp_path):
    import zipfile as _zipfile

    from stickerbot.stickers.sources import read_sidecar_bytes

    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "Annotations.CSV").write_text("file,name\na.png,x\n")
    assert read_sidecar_bytes(folder) == ("Annotations.CSV", b"file,name\na.png,x\n")
    archive = tmp_path / "pack.zip"
    with _zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("STICKERS.JSONL", '{"file": "a.png"}\n')
        zf.writestr("sub/annotations.csv", "ignored: not at the root")
    assert read_sidecar_bytes(archive) == ("STICKERS.JSONL", b'{"file": "a.png"}\n')
