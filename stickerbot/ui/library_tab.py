"""The sticker library in the browser: browse it, search it by text and image, import packs.

Every handler is a plain function of the shared services (here, or in
``library_browse`` and ``library_import``); :func:`build_library_tab` only wires them
to widgets. Per-session state (the page shown, the ids in a gallery) lives in gr.State.
"""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr

from stickerbot.services import LibraryServices
from stickerbot.stickers.images import BadImageError, load_image
from stickerbot.stickers.labels import EMOTIONS
from stickerbot.ui.library_browse import ALL, browse_page, details_for, pack_choices
from stickerbot.ui.library_import import REPORT_HEADERS, import_pack_upload, max_pack_bytes
from stickerbot.ui.uploads import forget_upload, gradio_upload_dir, upload_stamp

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
    """Adds the library's browse, search and import widgets to the current gr.Blocks context."""
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Tab("Browse"):
                pack_filter, browse_gallery, browse_ids = _build_browse(services)
            with gr.Tab("Search"):
                search_gallery, search_ids = _build_search(services)
            with gr.Tab("Import a pack"):
                _build_import(services, pack_filter)
        with gr.Column(scale=1, min_width=260):
            details = gr.Markdown("Select a sticker to see its annotations.", label="Annotations")

    # Galleries report the position of the sticker clicked; the ids they show are in a State.
    def show_details(ids, evt: gr.SelectData):
        return details_for(services.library, ids, evt.index)

    for gallery, ids in ((browse_gallery, browse_ids), (search_gallery, search_ids)):
        gallery.select(show_details, [ids], details, api_name=False)


def _build_browse(services: LibraryServices) -> tuple[gr.Dropdown, gr.Gallery, gr.State]:
    """The pack filter, the gallery, and the ids the gallery shows."""
    with gr.Row():
        pack = gr.Dropdown(pack_choices(services.library), value=ALL, label="Pack")
        emotion = gr.Dropdown([ALL, *EMOTIONS], value=ALL, label="Emotion")
    gallery = gr.Gallery(label="Library", columns=8, height="auto", object_fit="contain", allow_preview=False)
    with gr.Row():
        previous = gr.Button("◀ Previous", size="sm")
        label = gr.Markdown()
        following = gr.Button("Next ▶", size="sm")
    page = gr.State(1)
    ids = gr.State([])
    outputs = [gallery, label, page, ids]

    def show(pack_name, emotion_name, number):
        shown = browse_page(services.library, pack_name, emotion_name, number)
        return shown.items, shown.label(), shown.page, shown.ids

    # On page load and whenever a filter changes: the first page.
    gr.on(None, lambda p, e: show(p, e, 1), [pack, emotion], outputs, api_name=False)
    previous.click(lambda p, e, n: show(p, e, n - 1), [pack, emotion, page], outputs, api_name=False)
    following.click(lambda p, e, n: show(p, e, n + 1), [pack, emotion, page], outputs, api_name=False)
    # The packs imported since the app started, for every page load.
    gr.on(None, lambda: gr.Dropdown(choices=pack_choices(services.library)), None, pack, api_name=False)
    return pack, gallery, ids


def _build_search(services: LibraryServices) -> tuple[gr.Gallery, gr.State]:
    """The results gallery and the ids it shows."""
    with gr.Row():
        query = gr.Textbox(label="Search stickers", placeholder="so tired · lol · 好累 · 加油", scale=3)
        image = gr.Image(
            label="…or search by a sticker", type="filepath", sources=["upload"], height=160, scale=1
        )
    with gr.Row():
        lang = gr.Radio(["auto", "en", "zh"], value="auto", label="Query language")
        k = gr.Slider(1, 40, value=12, step=1, label="Results")
        button = gr.Button("Search", variant="primary")
    gallery = gr.Gallery(
        label="Stickers", columns=6, height="auto", object_fit="contain", allow_preview=False
    )
    table = gr.Dataframe(
        headers=["id", "name", "emotion", "fine emotion", "text in image", "score"],
        label="Results",
        interactive=False,
    )
    ids = gr.State([])

    def run(q, img, language, count):
        items, rows = search_library(services, q, img, language, count)
        return items, rows, [row[0] for row in rows]

    # The button's event is also callable as `/search` (gradio_client; `bench soak` uses it), left
    # out of the documented API: the chat's `/reply` is the app's public API.
    button.click(
        run, [query, image, lang, k], [gallery, table, ids], api_name="search", api_visibility="undocumented"
    )
    query.submit(run, [query, image, lang, k], [gallery, table, ids], api_name=False)
    return gallery, ids


def _build_import(services: LibraryServices, pack_filter: gr.Dropdown) -> None:
    limit_mb = max_pack_bytes(services.settings.limits) / 1e6
    gr.Markdown(
        f"Upload a .zip of stickers (PNG, JPEG, GIF or WebP; up to {limit_mb:.0f} MB), optionally with "
        "an `annotations.csv` or `.jsonl` at its root. Every file is checked; the report says what "
        "happened to each. New stickers are searchable as soon as the import finishes."
    )
    with gr.Row():
        upload = gr.File(label="Sticker pack (.zip)", file_types=[".zip"], type="filepath", scale=3)
        with gr.Column(scale=1):
            name = gr.Textbox(label="Pack name", placeholder="the file's name")
            button = gr.Button("Import", variant="primary")
    summary = gr.Markdown()
    report = gr.Dataframe(headers=REPORT_HEADERS, label="Report", interactive=False, wrap=True)

    # Gradio passes a progress tracker to the parameter whose default is one; track_tqdm
    # shows the importer's own progress bar.
    def run(path, pack_name, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        stamp = upload_stamp(path)
        try:
            text, rows = import_pack_upload(services, path, pack_name, progress=True)
        finally:
            forget_upload(path, gradio_upload_dir(), stamp)  # the stickers are copied into the pack
        return text, rows, gr.Dropdown(choices=pack_choices(services.library))

    # One import at a time for the whole app: later ones wait in Gradio's queue, with their
    # position shown, instead of being refused by the services' import lock.
    button.click(
        run,
        [upload, name],
        [summary, report, pack_filter],
        # Also callable as `/import_pack` (a .zip and a pack name -> the summary and the report),
        # undocumented like `/search`.
        api_name="import_pack",
        api_visibility="undocumented",
        concurrency_limit=1,
        concurrency_id="library-import",
    )
