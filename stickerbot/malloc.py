"""Fewer malloc arenas for the long-running app.

glibc gives each thread that meets contention its own malloc arena (up to 8 per core). The
app serves every session from a pool of worker threads and imports packs in two more, so
memory freed in one arena is not reused by another and the resident size creeps upward with
uptime: importing 150 stickers in packs of 30 grew a process by 81 MB with the default
arenas, by 24 MB with two and by up to 71 MB with four (``bench soak`` reports the app's RSS
growth). The threads mostly wait on numpy, torch and onnxruntime, which release the GIL
and keep their big buffers out of these arenas, so two cost no measurable speed. A no-op
elsewhere (musl, macOS, Windows) or when ``MALLOC_ARENA_MAX`` is set, which glibc reads
itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter number


DEFAULT_ARENAS = 2


def limit_arenas(limit: int = DEFAULT_ARENAS) -> int | None:
    """Cap glibc's malloc arenas at ``limit``; call before threads start. Returns the cap set,
    or None when nothing was done."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return None
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None  # not glibc
    if mallopt(M_ARENA_MAX, limit) != 1:
        log.debug("mallopt(M_ARENA_MAX, %d) refused", limit)
        return None
    return limit
