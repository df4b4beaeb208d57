"""Where imported stickers come from: a folder or a .zip, read without trusting either.

Nothing here writes to disk: an entry's name is only a label for the report and
a key for the sidecar, never a path to write to, so an archive entry such as
``../../etc/x.png`` cannot escape the pack folder. Such entries are still
reported and skipped, since a pack that contains them is not what it claims.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from stickerbot.errors import UserError

SIDECAR_NAMES = ("annotations.csv", "annotations.jsonl", "stickers.csv", "stickers.jsonl")
MAX_ENTRIES = 50_000
MAX_SIDECAR_BYTES = 64 * 1024 * 1024


class SourceError(UserError, ValueError):
    pass


@dataclass
class SourceEntry:
    name: str  # path inside the source, with forward slashes
    size: int
    _read: Callable[[], bytes] | None = None
    problem: str | None = None  # set when the entry is refused before reading

    def read(self) -> bytes:
        if self._read is None:
            raise SourceError(self.problem or "entry cannot be read")
        return self._read()


def _is_sidecar(name: str) -> bool:
    return PurePosixPath(name).name.lower() in SIDECAR_NAMES and "/" not in name.strip("/")


def _skipped_name(name: str) -> bool:
    parts = PurePosixPath(name).parts
    # Finder and Windows leave these next to images; they are not stickers.
    return any(p.startswith(".") or p == "__MACOSX" for p in parts) or PurePosixPath(name).name.lower() in {
        "thumbs.db",
        "desktop.ini",
    }


def unsafe_archive_path(name: str) -> str | None:
    """Why an archive member's name would escape the target folder, or None when it is safe."""
    if "\x00" in name:
        return "name contains a NUL byte"
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        return "absolute path"
    if ".." in PurePosixPath(normalized).parts:
        return "path escapes the target folder (..)"
    return None


def _bounded_reader(open_fn: Callable, limit: int) -> Callable[[], bytes]:
    def read() -> bytes:
        with open_fn() as f:
            data = f.read(limit + 1)
        # A header may lie about the size; the real bytes decide.
        if len(data) > limit:
            raise SourceError(f"file is over the {limit / 1e6:.1f} MB limit")
        return data

    return read


def iter_folder(root: Path, max_bytes: int) -> Iterator[SourceEntry]:
    root = root.resolve()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir() and not path.is_symlink():
            continue
        if _skipped_name(rel) or _is_sidecar(rel):
            continue
        if path.is_symlink():
            yield SourceEntry(rel, 0, problem="symbolic link refused")
            continue
        if not path.is_file():
            continue
        size = path.stat().st_size
        if size > max_bytes:
            yield SourceEntry(
                rel, size, problem=f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit"
            )
            continue
        yield SourceEntry(rel, size, _bounded_reader(lambda p=path: open(p, "rb"), max_bytes))


def iter_zip(archive: Path, max_bytes: int) -> Iterator[SourceEntry]:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as err:
        raise SourceError(f"{archive.name} is not a readable .zip ({err})") from err
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise SourceError(f"{archive.name} has {len(infos)} entries, over the {MAX_ENTRIES} limit")
        for info in sorted(infos, key=lambda i: i.filename):
            name = info.filename
            if info.is_dir():
                continue
            problem = unsafe_archive_path(name)
            if problem:
                yield SourceEntry(name, info.file_size, problem=problem)
                continue
            name = name.replace("\\", "/")
            if _skipped_name(name) or _is_sidecar(name):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                yield SourceEntry(name, 0, problem="symbolic link refused")
                continue
            if info.file_size > max_bytes:
                yield SourceEntry(
                    name,
                    info.file_size,
                    problem=f"file is {info.file_size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit",
                )
                continue
            yield SourceEntry(name, info.file_size, _bounded_reader(lambda i=info: zf.open(i), max_bytes))


def read_sidecar_bytes(source: Path) -> tuple[str, bytes] | None:
    """(file name, content) of the annotations file at the root of a folder or zip, if any."""
    # Matched without regard to case, as the import's own filter matches them
    # (an Annotations.CSV is neither a sticker nor silently ignored).
    if source.is_dir():
        by_lower = {p.name.lower(): p for p in source.iterdir() if p.is_file()}
        for name in SIDECAR_NAMES:
            if name in by_lower:
                return by_lower[name].name, by_lower[name].read_bytes()
        return None
    try:
        with zipfile.ZipFile(source) as zf:
            names = {i.filename.lower(): i for i in zf.infolist() if "/" not in i.filename.strip("/")}
            for name in SIDECAR_NAMES:
                info = names.get(name)
                if info is not None and info.file_size < MAX_SIDECAR_BYTES:
                    return info.filename, zf.read(info)
    except (zipfile.BadZipFile, OSError) as err:
        raise SourceError(f"{source.name} is not a readable .zip ({err})") from err
    return None


def iter_source(source: Path, max_bytes: int) -> Iterator[SourceEntry]:
    if source.is_dir():
        return iter_folder(source, max_bytes)
    if source.is_file() and zipfile.is_zipfile(source):
        return iter_zip(source, max_bytes)
    if not source.exists():
        raise SourceError(f"{source} does not exist")
    raise SourceError(f"{source} is neither a folder nor a .zip archive")
