"""Gradio's upload folder: where it is, and forgetting a file once its request is answered."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def gradio_upload_dir() -> Path:
    """Where Gradio keeps uploads: GRADIO_TEMP_DIR (app.py sets it inside the data directory)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def forget_upload(path: str | None, upload_dir: Path | None) -> None:
    """Delete an API call's uploaded file once answered, when it lies in Gradio's upload folder
    (the server keeps nothing of an API call, and the folder stays bounded)."""
    if not path or upload_dir is None:
        return
    file = Path(path).resolve()
    folder = Path(upload_dir).resolve()
    if folder not in file.parents:
        return
    file.unlink(missing_ok=True)
    try:
        file.parent.rmdir()  # Gradio keeps each upload in a folder of its own
    except OSError:
        pass
