"""The whole browser app: the chat tab, the library tab, and the ``reply`` API endpoint."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import gradio as gr

from stickerbot.chat.types import ChatOptions, parse_history
from stickerbot.errors import UserError
from stickerbot.stickers.images import BadImageError
from stickerbot.ui.chat_tab import UploadRefused, build_chat_tab, check_files
from stickerbot.ui.library_tab import build_library_tab
from stickerbot.ui.uploads import forget_upload, gradio_upload_dir, upload_stamp

log = logging.getLogger(__name__)

# Stickers show at chat size, not at the width of the bubble.
CSS = """
#chat img { max-width: 160px; max-height: 160px; object-fit: contain; }
"""


def api_reply(chat, defaults: ChatOptions, max_bytes: int, upload_dir: Path | None = None):
    """The ``/reply`` endpoint: one turn without streaming, for ``gradio_client`` and scripts.

    Returns (the reply as JSON, the sticker's image file or None). The caller keeps the conversation (``history``: the ``turns`` of the previous answers,
    or any list of ``{role, content, sticker?}``), so the server holds nothing between calls.
    """

    def reply(
        message: str, image: str | None, history: str | list | None, frequency: str, language: str
    ) -> tuple[dict[str, Any], str | None]:
        stamp = upload_stamp(image)
        try:
            if isinstance(history, str):
                history = json.loads(history) if history.strip() else []
            turns = parse_history(history or [])
            options = ChatOptions(
                frequency=frequency or defaults.frequency,
                language=language or defaults.language,
                max_new_tokens=defaults.max_new_tokens,
            )
            path = check_files([image] if image else [], max_bytes)
            result = chat.reply(turns, message or "", path, options=options)
        except (BadImageError, UploadRefused) as err:
            raise gr.Error(f"That file can't be used as a sticker: {err}") from err
        except (UserError, ValueError, json.JSONDecodeError) as err:
            raise gr.Error(str(err)) from err
        finally:
            forget_upload(image, upload_dir, stamp)
        out = result.to_dict()
        upload = result.upload or {}
        out["turns"] = [t.to_dict() for t in turns] + [
            {
                "role": "user",
                "content": message or "",
                "sticker": upload.get("match"),
                "sticker_description": upload.get("description"),
            },
            {
                "role": "assistant",
                "content": result.text,
                "sticker": out["sticker"]["id"] if out["sticker"] else None,
            },
        ]
        out["turns"] = [{k: v for k, v in t.items() if v is not None} for t in out["turns"]]
        # The image travels as the second output (gradio_client downloads it); a "path" key
        # inside the JSON would be taken for a file too and replace the whole sticker record.
        sticker_path = out["sticker"].pop("path") if out["sticker"] else None
        return out, sticker_path

    return reply


def build_demo(services, chat, *, title: str = "Stickerbot") -> gr.Blocks:
    """The app over shared, read-only ``services`` and ``chat`` (a ChatService or a fake)."""
    settings = services.settings
    defaults = chat.options
    max_bytes = settings.limits.max_bytes
    backbone = chat.backbone
    note = (
        f"Model **{backbone.name}** (writes {', '.join(backbone.languages)}), "
        f"{len(services.library):,} stickers, embedder {services.embedder.name}."
    )
    # Uploads from the browser stay while their chat may show them; an hour later they go.
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown(f"## {title}\nA friend who answers with a few warm words and the right sticker.")
        with gr.Tab("Chat"):
            on_load = build_chat_tab(
                chat, defaults, max_bytes=max_bytes, backbone_note=note, secret=settings.session_secret
            )
        with gr.Tab("Sticker library"):
            build_library_tab(services)
        # The API: hidden inputs, so that gradio_client sees a plain typed endpoint.
        with gr.Row(visible=False):
            message = gr.Textbox(label="message")
            image = gr.File(label="image", type="filepath")
            history = gr.JSON(label="history", value=[])
            frequency = gr.Textbox(label="frequency", value=defaults.frequency.value)
            language = gr.Textbox(label="language", value=defaults.language)
            result = gr.JSON(label="reply")
            sticker = gr.File(label="sticker")
            trigger = gr.Button("reply")
        trigger.click(
            api_reply(chat, defaults, max_bytes, gradio_upload_dir()),
            [message, image, history, frequency, language],
            [result, sticker],
            api_name="reply",
        )
        on_load(demo)
    return demo


def launch_demo(demo: gr.Blocks, settings, **kwargs):
    """Serve ``demo`` as the settings say; ``kwargs`` go to ``launch`` (tests: prevent_thread_lock)."""
    return demo.queue(default_concurrency_limit=settings.concurrency).launch(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        # Larger uploads are refused by Gradio before they reach the app.
        max_file_size=settings.limits.max_bytes,
        state_session_capacity=settings.sessions,
        allowed_paths=[str(settings.bundled_pack_dir), str(settings.packs_dir)],
        css=CSS,
        **kwargs,
    )
