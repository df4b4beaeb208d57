"""Gradio's upload folder: where it is, and forgetting a file once its request is answered.

Gradio stores an upload in a folder named by the hash of its bytes, so two users who send the
same sticker at once share that folder and file name. Forgetting one request's upload must
not take the other's: the file is deleted only if it is still the one this request was given
(a second upload of the same bytes replaces it with a new file), and the folder itself is left
until it has been empty and idle for a while (removing it at once raced with Gradio creating it
for the second upload, which then failed with a server error in the soak).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

# An empty upload folder untouched for this long is removed (no upload is that slow).
IDLE_FOLDER_S = 600.0

Stamp = tuple[int, int]


def gradio_upload_dir() -> Path:
    """Where Gradio keeps uploads: GRADIO_TEMP_DIR (app.py sets it inside the data directory)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def upload_stamp(path: str | None) -> Stamp | None:
    """Which file ``path`` is now (inode, modification time), or None if there is none."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def forget_upload(path: str | None, upload_dir: Path | None, stamp: Stamp | None = None) -> None:
    """Delete an API call's uploaded file once answered, when it lies in Gradio's upload folder
    (the server keeps nothing of an API call, and the folder stays bounded). With ``stamp``
    (taken when the request began), a file another upload has since replaced is left to that
    upload's request."""
    if not path or upload_dir is None:
        return
    file = Path(path).resolve()
    folder = Path(upload_dir).resolve()
    if folder not in file.parents:
        return
    if stamp is None or upload_stamp(str(file)) == stamp:
        file.unlink(missing_ok=True)
    sweep_idle_folders(folder)


def sweep_idle_folders(folder: Path, idle_s: float = IDLE_FOLDER_S, now: float | None = None) -> int:
    """Remove the empty upload folders directly under ``folder`` not modified for ``idle_s``
    seconds; returns how many."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False) and now - entry.stat().st_mtime > idle_s:
                os.rmdir(entry.path)  # fails, and is skipped, unless it is empty
                removed += 1
        except OSError:
            continue
    return removed
