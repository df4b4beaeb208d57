"""The chat in the browser: a multimodal textbox, streamed replies with the sticker in the same
bubble, a "why this sticker" detail, and per-session settings.

Everything a user owns (the conversation, the last message for Retry, frequency and
language) lives in a :class:`Session` held by ``gr.State``, so Gradio keeps one per browser
tab; the :class:`ChatService` behind it is shared and keeps no user state. A snapshot of the
session is also kept in the browser's own storage (``ui/saved_chat.py``), so a reload of the
tab brings the conversation back; Clear forgets it there too.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from stickerbot.chat.policy import Frequency
from stickerbot.chat.types import LANGUAGES, ChatOptions, Reply, Turn
from stickerbot.errors import UserError
from stickerbot.stickers.images import BadImageError
from stickerbot.ui.saved_chat import STORAGE_KEY, chat_messages, recover, restore, snapshot
from stickerbot.ui.session import Session, new_session

log = logging.getLogger(__name__)

EXAMPLES = [
    "I failed my exam today 😞",
    "I got the job!!!",
    "My roommate ate my food again, I'm so mad",
    "What's the capital of Australia?",
    "这次考试没考好，好难过",
    "明天要面试了，有点紧张",
]
LANGUAGE_LABELS = {"auto": "Follow me", "en": "English", "zh": "中文"}


class UploadRefused(ValueError):
    """An upload refused before the engine sees it (too many files, too large to read)."""


def check_files(files: list[Any], max_bytes: int) -> str | None:
    """The single uploaded file's path, or None; UploadRefused with a message a person can act on.

    The file's content (type, pixels, frames) is checked by the engine when it reads the
    sticker; here only what must not even be read: more than one file, or too many bytes.
    """
    paths = [
        f if isinstance(f, str) else (f.get("path") if isinstance(f, dict) else getattr(f, "path", None))
        for f in files or []
    ]
    paths = [p for p in paths if p]
    if not paths:
        return None
    if len(paths) > 1:
        raise UploadRefused("Send one sticker at a time.")
    path = Path(paths[0])
    try:
        size = path.stat().st_size
    except OSError as err:
        raise UploadRefused("The upload did not arrive; please try again.") from err
    if size > max_bytes:
        raise UploadRefused(
            f"That file is {size / 1e6:.1f} MB; stickers can be at most {max_bytes / 1e6:.0f} MB."
        )
    return str(path)


def stream_turn(
    chat, history: list[Turn], text: str, image: str | None, options: ChatOptions
) -> Iterator[tuple[str, Reply | None]]:
    """Yield (text so far, None) while the reply streams, then (final text, Reply).

    The engine runs in a worker thread and hands pieces over a queue, so this generator (and
    Gradio's event loop behind it) never blocks on the model. Errors are raised here.
    """
    pieces: queue.Queue[str | None] = queue.Queue()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["reply"] = chat.reply(history, text, image, options=options, on_token=pieces.put)
        except BaseException as err:  # re-raised in the caller's thread
            outcome["error"] = err
        finally:
            pieces.put(None)

    worker = threading.Thread(target=work, name="chat-turn", daemon=True)
    worker.start()
    shown = ""
    while (piece := pieces.get()) is not None:
        shown += piece
        yield shown, None
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    reply: Reply = outcome["reply"]
    yield reply.text, reply


def user_bubble(text: str, image: str | None) -> list[dict[str, Any]]:
    """The user's message as chat messages: the sticker, then the words (one bubble)."""
    content: list[Any] = []
    if image:
        content.append({"path": image, "alt_text": "your sticker"})
    if text.strip():
        content.append(text)
    return [{"role": "user", "content": content}]


def bot_bubble(text: str, reply: Reply | None) -> dict[str, Any]:
    """The bot's reply: text and, when chosen, the sticker image in the same bubble."""
    if reply is None or reply.sticker is None:
        return {"role": "assistant", "content": text}
    sticker = reply.sticker
    alt = f"sticker: {sticker.record.emoji or ''} {sticker.record.name}".strip()
    return {"role": "assistant", "content": [text, {"path": str(sticker.path), "alt_text": alt}]}


def why_markdown(reply: Reply | None) -> str:
    """The 'why this sticker' detail for the last reply."""
    if reply is None:
        return "_Send a message to see how the reply was chosen._"
    intent = reply.intent.replace("_", " ")
    lines = [
        f"**You seem to be sharing:** {intent} · {reply.user_emotion.lower()} "
        f"({reply.emotion_confidence:.0%} sure)"
    ]
    if reply.sticker is not None:
        record = reply.sticker.record
        lines.append(
            f"**Sticker:** {record.emoji or ''} {record.name} · emotion {record.fine_emotion or record.emotion}"
            f" · score {reply.sticker.score:.3f}"
        )
    lines.append(f"**Why:** {reply.why_sticker}")
    if reply.upload:
        lines.append(f"**Your sticker:** {reply.upload['description']}")
    source = {
        "model": "the model",
        "memory": "a dialogue in the memory about the same situation",
        "strategy": f"the short replies for {intent}",
    }.get(reply.source, reply.source)
    t = reply.timings
    lines.append(
        f"**Reply from** {source} · first word after {t.get('first_token', 0):.2f} s · turn {t.get('total', 0):.2f} s"
    )
    return "  \n".join(lines)


def error_bubble(message: str) -> dict[str, Any]:
    return {"role": "assistant", "content": f"⚠️ {message}"}


def run_turn(
    chat, defaults: ChatOptions, max_bytes: int, text: str, files: list[Any], chatbot, session: Session
):
    """One turn for the UI: yields (chatbot messages, session, why markdown) as the reply streams.

    A bad upload or a failing engine shows a message in the chat; the session's history is
    only extended by turns that completed.
    """
    chatbot = list(chatbot or [])
    text = (text or "").strip()
    try:
        image = check_files(files, max_bytes)
    except UploadRefused as err:
        yield chatbot + [error_bubble(str(err))], session, gr.skip()
        return
    if not text and image is None:
        yield chatbot, session, gr.skip()
        return
    session.last_message, session.last_saved = (text, image), False
    # The uploaded picture is shown only once the engine has accepted it: a browser must
    # never be handed a decompression bomb to render. Until then its name stands in.
    pending_user = user_bubble(text or f"📎 {Path(image).name}", None) if image else user_bubble(text, None)
    yield chatbot + pending_user + [{"role": "assistant", "content": "…"}], session, gr.skip()
    try:
        for shown, reply in stream_turn(chat, session.turns, text, image, session.options(defaults)):
            yield (
                chatbot + user_bubble(text, image) + [bot_bubble(shown or "…", reply)],
                session,
                gr.skip() if reply is None else why_markdown(reply),
            )
    except (BadImageError, UploadRefused) as err:
        message = f"That file can't be used as a sticker: {err}"
        yield chatbot + pending_user + [error_bubble(message)], session, gr.skip()
        return
    except (UserError, ValueError) as err:
        yield chatbot + pending_user + [error_bubble(str(err))], session, gr.skip()
        return
    except Exception:
        log.exception("chat turn failed")
        message = "Something went wrong on my side; please try again."
        yield chatbot + pending_user + [error_bubble(message)], session, gr.skip()
        return
    upload = reply.upload or {}
    session.last_saved = True
    session.turns = session.turns + [
        Turn("user", text, upload.get("match"), upload.get("description")),
        Turn("assistant", reply.text, reply.sticker.record.id if reply.sticker else None),
    ]


def retry_turn(chat, defaults: ChatOptions, max_bytes: int, chatbot, session: Session):
    """Send the last message again: its exchange leaves the chat and the history first."""
    if session.last_message is None:
        yield chatbot, session, gr.skip()
        return
    text, image = session.last_message
    cut = _last_user_index(chatbot or [])
    chatbot = list(chatbot or [])[:cut] if cut is not None else list(chatbot or [])
    if session.last_saved:
        session.turns = session.turns[:-2]
    yield from run_turn(chat, defaults, max_bytes, text, [image] if image else [], chatbot, session)


def build_chat_tab(
    chat, defaults: ChatOptions, *, max_bytes: int, backbone_note: str, secret: str | None = None
):
    """Adds the chat widgets to the current gr.Blocks context; returns ``on_load(demo)``, which
    brings a saved conversation back when the page loads. ``secret``: the key the browser's
    copy is encrypted with (None: a random one per process)."""
    session = gr.State(lambda: new_session(defaults))
    saved = gr.BrowserState(None, storage_key=STORAGE_KEY, secret=secret)
    with gr.Row(equal_height=False):
        with gr.Column(scale=4):
            chatbot = gr.Chatbot(
                label="Stickerbot",
                elem_id="chat",
                height=520,
                buttons=["copy"],
                allow_file_downloads=False,
                feedback_options=None,
                placeholder="Tell me how your day went — or send a sticker.",
            )
            textbox = gr.MultimodalTextbox(
                placeholder="Type a message, or attach a sticker (PNG, JPG, GIF, WebP)…",
                file_types=["image"],
                file_count="single",
                sources=["upload"],
                show_label=False,
                elem_id="message",
            )
            with gr.Row():
                retry = gr.Button("↻ Retry", size="sm", elem_id="retry")
                clear = gr.Button("🗑 Clear", size="sm", elem_id="clear")
            gr.Examples([[{"text": e, "files": []}] for e in EXAMPLES], inputs=[textbox], label="Try")
        with gr.Column(scale=1, min_width=240):
            with gr.Accordion("Why this sticker", open=False, elem_id="why"):
                why = gr.Markdown(why_markdown(None))
            with gr.Accordion("Settings", open=True):
                frequency = gr.Radio(
                    [f.value for f in Frequency],
                    value=defaults.frequency.value,
                    label="Stickers",
                    elem_id="frequency",
                )
                language = gr.Radio(
                    [(LANGUAGE_LABELS[x], x) for x in LANGUAGES],
                    value=defaults.language,
                    label="Reply language",
                )
                gr.Markdown(backbone_note)

    def known(sticker_id: str) -> bool:
        return chat.search.library.get(sticker_id) is not None

    def send(message, chatbot_value, session_value, saved_value):
        message = message or {}
        yield from run_turn(
            chat,
            defaults,
            max_bytes,
            message.get("text", ""),
            message.get("files", []),
            chatbot_value,
            recover(session_value, chatbot_value, saved_value, defaults, known),
        )

    def again(chatbot_value, session_value: Session, saved_value):
        session_value = recover(session_value, chatbot_value, saved_value, defaults, known)
        yield from retry_turn(chat, defaults, max_bytes, chatbot_value, session_value)

    def reset(session_value: Session):
        fresh = replace(
            new_session(defaults), frequency=session_value.frequency, language=session_value.language
        )
        return [], fresh, why_markdown(None)

    def set_frequency(value, session_value: Session):
        session_value.frequency = Frequency.parse(value).value
        return session_value

    def set_language(value, session_value: Session):
        if value not in LANGUAGES:
            raise gr.Error(f"Unknown language {value!r}")
        session_value.language = value
        return session_value

    # The textbox empties and locks at once; the message waits in `pending` for the turn.
    pending = gr.State(None)
    submitted = textbox.submit(
        lambda message: (gr.MultimodalTextbox(value=None, interactive=False), message),
        [textbox],
        [textbox, pending],
        queue=False,
        api_name=False,
    )
    submitted.then(send, [pending, chatbot, session, saved], [chatbot, session, why], api_name=False).then(
        lambda: gr.MultimodalTextbox(interactive=True), None, textbox, api_name=False
    ).then(snapshot, [session], [saved], queue=False, api_name=False)
    retry.click(again, [chatbot, session, saved], [chatbot, session, why], api_name=False).then(
        snapshot, [session], [saved], queue=False, api_name=False
    )
    for event in (
        clear.click(reset, [session], [chatbot, session, why], api_name=False),
        frequency.change(set_frequency, [frequency, session], [session], api_name=False),
        language.change(set_language, [language, session], [session], api_name=False),
    ):
        event.then(snapshot, [session], [saved], queue=False, api_name=False)

    def bring_back(value):
        library = chat.search.library
        session_value = restore(value, defaults, known)
        messages = chat_messages(
            session_value.turns, lambda sticker_id: library.path_of(library.get(sticker_id))
        )
        return messages, session_value, session_value.frequency, session_value.language

    def on_load(demo: gr.Blocks) -> None:
        demo.load(bring_back, [saved], [chatbot, session, frequency, language], queue=False, api_name=False)

    return on_load


def _last_user_index(messages: list[dict[str, Any]]) -> int | None:
    """Index of the first message of the last user bubble."""
    index = None
    for i in range(len(messages) - 1, -1, -1):
        role = messages[i]["role"] if isinstance(messages[i], dict) else getattr(messages[i], "role", None)
        if role == "user":
            index = i
        elif index is not None:
            break
    return index
