"""Forgetting an answered upload without taking another request's copy of the same bytes."""

from __future__ import annotations

import os
import time

from stickerbot.ui.uploads import forget_upload, sweep_idle_folders, upload_stamp


def upload(root, digest: str, name: str, data: bytes):
    """A file as Gradio stores an upload: in a folder named by its bytes' hash."""
    folder = root / digest
    folder.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{time.monotonic_ns()}"
    tmp.write_bytes(data)
    os.rename(tmp, folder / name)  # Gradio moves its temporary file into place
    return folder / name


def test_an_answered_upload_is_deleted_but_its_folder_stays_until_idle(tmp_path):
    path = upload(tmp_path, "abc", "cat.png", b"png bytes")
    stamp = upload_stamp(str(path))
    forget_upload(str(path), tmp_path, stamp)
    assert not path.exists()
    # The folder stays: a second upload of the same bytes may be creating it right now.
    assert (tmp_path / "abc").is_dir()
    assert sweep_idle_folders(tmp_path, idle_s=600) == 0
    assert sweep_idle_folders(tmp_path, idle_s=600, now=time.time() + 601) == 1
    assert not (tmp_path / "abc").exists()


def test_a_file_replaced_by_another_upload_of_the_same_bytes_is_left_to_its_request(tmp_path):
    first = upload(tmp_path, "abc", "cat.png", b"png bytes")
    stamp_a = upload_stamp(str(first))
    # Before the first request is answered, a second user sends the same sticker.
    second = upload(tmp_path, "abc", "cat.png", b"png bytes")
    assert second == first and upload_stamp(str(second)) != stamp_a
    forget_upload(str(first), tmp_path, stamp_a)
    assert second.exists()  # the second request still reads it
    forget_upload(str(second), tmp_path, upload_stamp(str(second)))
    assert not second.exists()


def test_files_outside_the_upload_folder_and_busy_folders_are_never_touched(tmp_path):
    outside = tmp_path / "mine.png"
    outside.write_bytes(b"x")
    forget_upload(str(outside), tmp_path / "uploads", upload_stamp(str(outside)))
    assert outside.exists()
    busy = upload(tmp_path / "uploads", "def", "dog.png", b"y")
    assert sweep_idle_folders(tmp_path / "uploads", idle_s=0, now=time.time() + 10) == 0
    assert busy.exists()
    forget_upload(None, tmp_path)  # nothing uploaded: nothing to do
