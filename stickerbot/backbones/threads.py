"""Which thread gets the cores' parallel team: the decoder's, alone.

torch runs an operation's parallel part on OpenMP (GNU libgomp), and libgomp gives every thread
that starts a parallel region its own team of worker threads. With two teams on two cores,
libgomp counts more threads than cores and stops letting its workers wait by spinning: every
parallel region then wakes a sleeping worker, and the decoder's step, a few hundred small
regions, ran at 27-29 ms in a thread against 14-16 ms where only one team exists (SmolLM2, one
conversation, 2 cores; the same held with one torch thread elsewhere, because a team made once
stays). So the app, and the commands that decode (``reply``, ``bench chat``, ``bench decode``),
start with one OpenMP thread per thread (:func:`one_team_for_the_decoder`, before torch
loads) and the decoding thread alone widens its own team with
:func:`widen_this_thread`. Widening goes to libgomp directly: ``torch.set_num_threads`` would
also change the count that threads created later start with, and they would make teams too.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def one_team_for_the_decoder() -> bool:
    """Start every thread with one OpenMP thread, so that the decoder's thread is the one to
    have a team (call before torch loads: libgomp reads the setting once). An explicit
    ``OMP_NUM_THREADS`` wins. Returns whether the setting is in force."""
    import sys

    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    return os.environ.get("OMP_NUM_THREADS") == "1"


def _libgomp():
    """torch's own libgomp (the one its operations use), or None."""
    import torch

    for path in (Path(torch.__file__).parent / "lib" / "libgomp.so.1", "libgomp.so.1"):
        try:
            return ctypes.CDLL(str(path))
        except OSError:
            continue
    return None


def widen_this_thread(threads: int | None = None) -> int:
    """Let the calling thread's torch operations use ``threads`` cores (default: all); other
    threads keep theirs. Returns the count the thread now has."""
    import torch

    threads = max(1, threads or os.cpu_count() or 1)
    # torch sets a thread's count on its first use there; let it, or it would undo ours.
    torch.get_num_threads()
    gomp = _libgomp()
    if gomp is not None:
        gomp.omp_set_num_threads(threads)
    if torch.get_num_threads() != threads:
        # Not torch's libgomp (another OpenMP, or none): torch's own setting, process-wide.
        log.debug("libgomp not found for torch; setting torch's thread count for the process")
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def threads_pinned_by_environment() -> bool:
    """True when the process was started with an explicit OpenMP thread count (the app sets 1),
    which loaders must not widen for the whole process."""
    return bool(os.environ.get("OMP_NUM_THREADS"))


def run_with_all_cores(work: Callable[[], T]) -> T:
    """``work()`` in a thread of its own with every core, and its result (or its exception).

    For start-up's heavy work in a process whose threads start with one OpenMP thread (the
    app: converting the model, embedding the library and the memory, training the small
    models on it): that thread's team ends with it, before the app serves, so the decoder's
    thread is again the only one with a team.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            widen_this_thread()
            outcome["value"] = work()
        except BaseException as err:  # re-raised in the caller's thread
            outcome["error"] = err

    # A daemon: Ctrl+C during start-up ends the process instead of waiting for the work.
    thread = threading.Thread(target=run, name="start-up", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
