"""Importing a sticker pack uploaded in the browser: check the upload, import it, report per file.

The upload is untrusted. Here it is checked as a whole (a real .zip by its content, of a
bounded size and number of files); the importer then checks every file in it by content
(size, type, pixel count, frame count, corrupt or truncated data) and refuses names that
would escape the pack folder, each with its reason in the report.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import gradio as gr

from stickerbot.importer import ImportReport, pack_slug
from stickerbot.services import ImportBusyError, LibraryServices
from stickerbot.stickers.images import ImageLimits
from stickerbot.stickers.library import BUNDLED_PACK
from stickerbot.stickers.sources import SourceError
from stickerbot.ui.library_browse import markdown_escape

log = logging.getLogger(__name__)

# A browser upload runs on a server that others are using, so it is bounded more tightly
# than `python -m stickerbot import`: at most this many files, and an archive no larger
# than this many stickers at the per-file limit (STICKERBOT_MAX_UPLOAD_BYTES).
MAX_PACK_FILES = 500
MAX_PACK_SIZE_IN_FILES = 16

REPORT_HEADERS = ["file", "status", "reason", "sticker id"]


class PackUploadError(ValueError):
    pass


def max_pack_bytes(limits: ImageLimits) -> int:
    return MAX_PACK_SIZE_IN_FILES * limits.max_bytes


def check_pack_upload(path: Path, limits: ImageLimits) -> int:
    """Refuse an upload that is not a readable .zip of a sensible size; returns its file count.

    Only the archive is checked here; its files are checked one by one by the importer.
    """
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as err:
        raise PackUploadError(f"The upload could not be read ({err}); please upload it again.") from err
    if size == 0:
        raise PackUploadError(f"“{name}” is empty.")
    limit = max_pack_bytes(limits)
    if size > limit:
        raise PackUploadError(
            f"“{name}” is {size / 1e6:.1f} MB; packs of up to {limit / 1e6:.0f} MB can be imported "
            "here (use `python -m stickerbot import` for larger ones)."
        )
    # By content: a renamed PNG or PDF is not an archive, and a real zip may have any name.
    if not zipfile.is_zipfile(path):
        raise PackUploadError(f"“{name}” is not a .zip archive (its content was checked, not its name).")
    try:
        with zipfile.ZipFile(path) as archive:
            files = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise PackUploadError(f"“{name}” is a damaged .zip and cannot be read: {err}") from err
    if not files:
        raise PackUploadError(f"“{name}” is an empty archive: there are no stickers in it.")
    if len(files) > MAX_PACK_FILES:
        raise PackUploadError(
            f"“{name}” holds {len(files):,} files; up to {MAX_PACK_FILES} can be imported here "
            "(use `python -m stickerbot import` for larger packs)."
        )
    return len(files)


def report_rows(report: ImportReport) -> list[list[str]]:
    return [[o.file, o.status, o.reason, o.sticker_id or ""] for o in report.outcomes]


def report_summary(report: ImportReport) -> str:
    """One Markdown line on what happened, then the import's notes (e.g. annotation file problems)."""
    counts = report.counts()
    total = len(report.outcomes)
    others = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if status != "imported")
    line = (
        f"**{counts.get('imported', 0)} of {total} files imported** into pack `{report.pack}`"
        + (f" ({others})" if others else "")
        + f" in {report.seconds:.1f} s."
    )
    return "\n".join([line, *(f"- {markdown_escape(note)}" for note in report.notes)])


def import_pack_upload(
    services: LibraryServices, file_path: str | None, pack_name: str | None, *, progress: bool = False
) -> tuple[str, list[list[str]]]:
    """Import an uploaded .zip into the library: (summary Markdown, rows of the per-file report).

    A bad upload raises gr.Error with the reason; a pack in which nothing could be
    imported is reported, with a gr.Warning.
    """
    if not file_path:
        raise gr.Error("Choose a .zip file of stickers first.")
    path = Path(file_path)
    # Gradio keeps the uploaded file's own name, which makes a good default pack name.
    pack = pack_slug((pack_name or "").strip() or path.stem)
    if pack == BUNDLED_PACK:
        raise gr.Error("“bundled” is the name of the built-in pack: choose another pack name.")
    try:
        check_pack_upload(path, services.settings.limits)
        # One worker leaves the other core to the people chatting meanwhile.
        report = services.import_pack(path, pack=pack, workers=1, progress=progress)
    except (PackUploadError, SourceError, ImportBusyError) as err:
        raise gr.Error(str(err)) from err
    log.info("imported from the browser: %s", report.summary())
    if not report.outcomes:
        gr.Warning("No stickers were found in the archive (only folders, hidden files or annotations).")
    elif not report.imported:
        gr.Warning("No sticker was imported: the report says why for each file.")
    return report_summary(report), report_rows(report)
