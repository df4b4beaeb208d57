"""The sticker library in the browser: search by text, by image, or both."""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr

from stickerbot.services import LibraryServices
from stickerbot.stickers.images import BadImageError, load_image

log = logging.getLogger(__name__)


def search_library(services: LibraryServices, query: str, image_path: str | None, lang: str, k: int):
    """Gallery items and a detail table for a search; a bad upload raises gr.Error with the reason."""
    query = (query or "").strip()
    image = None
    if image_path:
        try:
            image = load_image(Path(image_path).read_bytes(), services.settings.limits)
        except (OSError, BadImageError) as err:
            raise gr.Error(f"That upload can't be used as a sticker: {err}") from err
    if not query and image is None:
        raise gr.Error("Type what you are looking for, or upload a sticker.")
    hits = services.search.search(query or None, image=image, k=int(k), lang=None if lang == "auto" else lang)
    gallery = [(str(h.path), f"{h.record.emoji or ''} {h.record.name}".strip()) for h in hits]
    rows = [
        [
            h.record.id,
            h.record.name,
            h.record.emotion,
            h.record.fine_emotion or "",
            h.record.ocr_text,
            round(h.score, 3),
        ]
        for h in hits
    ]
    return gallery, rows


def build_library_tab(services: LibraryServices) -> None:
    """Adds the library search widgets to the current gr.Blocks context."""
    with gr.Row():
        query = gr.Textbox(label="Search stickers", placeholder="so tired · lol · 好累 · 加油", scale=3)
        image = gr.Image(
            label="…or search by a sticker", type="filepath", sources=["upload"], height=160, scale=1
        )
    with gr.Row():
        lang = gr.Radio(["auto", "en", "zh"], value="auto", label="Query language")
        k = gr.Slider(1, 40, value=12, step=1, label="Results")
        button = gr.Button("Search", variant="primary")
    gallery = gr.Gallery(label="Stickers", columns=6, height="auto", object_fit="contain")
    table = gr.Dataframe(
        headers=["id", "name", "emotion", "fine emotion", "text in image", "score"],
        label="Annotations",
        interactive=False,
    )

    def run(q, img, language, count):
        return search_library(services, q, img, language, count)

    for trigger in (button.click, query.submit):
        trigger(run, [query, image, lang, k], [gallery, table], api_name=False)


def build_demo(services: LibraryServices) -> gr.Blocks:
    with gr.Blocks(analytics_enabled=False, title="Stickerbot") as demo:
        gr.Markdown(
            f"## Stickerbot · sticker library\n{len(services.library):,} stickers, "
            f"embedder {services.embedder.name}. Search in English or Chinese, or upload a sticker."
        )
        build_library_tab(services)
    return demo
