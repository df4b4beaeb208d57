"""Stickerbot in the browser.

    python app.py          # serves http://127.0.0.1:7860 (GRADIO_SERVER_PORT, STICKERBOT_HOST)

The first start embeds the sticker library into the index (a progress bar shows
it); later starts reuse the index. Settings: see the README.
"""

from __future__ import annotations

import logging
import os

from stickerbot.config import Settings

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
settings = Settings.from_env()
# Gradio caches uploads under GRADIO_TEMP_DIR: keep every write inside the data directory.
os.environ.setdefault("GRADIO_TEMP_DIR", str(settings.data_dir / "gradio"))
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def create_demo(settings: Settings):
    from stickerbot.services import open_library
    from stickerbot.ui.library_tab import build_demo

    services = open_library(settings, progress=True)
    return build_demo(services), services


demo, services = create_demo(settings)

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=4).launch(
        server_name=os.environ.get("STICKERBOT_HOST", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=False,
        allowed_paths=[str(settings.bundled_pack_dir), str(settings.packs_dir)],
    )
