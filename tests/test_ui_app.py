"""The Gradio app: turn handlers without a browser, the /reply API through gradio_client,
concurrent sessions, and the whole page in Debian's Chromium driven by Playwright.

The app runs the real ChatService (perception, memory, sticker choice on the bundled
library) over an echo backbone, so every reply names the message it answers and any
cross-talk between sessions shows.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from stickerbot.bench.app import free_port
from stickerbot.chat import ChatService
from stickerbot.config import Settings
from stickerbot.ui.app import build_demo, launch_demo
from stickerbot.ui.chat_tab import UploadRefused, check_files, new_session, run_turn
from tests.helpers_chat import EchoBackbone
from tests.helpers_images import png_bomb_bytes, text_file_bytes, text_sticker_png

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chat(bundled_services, memory):
    return ChatService(
        EchoBackbone(delay=0.005), bundled_services.search, memory, limits=bundled_services.settings.limits
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory, bundled_services):
    folder = tmp_path_factory.mktemp("uploads")
    known = next(r for r in bundled_services.library.records if r.id == "caption:hugs")
    paths = {
        "known": folder / "hugs.webp",
        "unknown": folder / "words.png",
        "text": folder / "notes.png",  # a text file with an image name
        "bomb": folder / "bomb.png",
    }
    shutil.copy(bundled_services.library.path_of(known), paths["known"])
    paths["unknown"].write_bytes(text_sticker_png("SO TIRED"))
    paths["text"].write_bytes(text_file_bytes())
    paths["bomb"].write_bytes(png_bomb_bytes())
    return paths


def turn(chat, session, text="", files=(), chatbot=None, max_bytes=8 << 20):
    return list(run_turn(chat, chat.options, max_bytes, text, list(files), chatbot or [], session))


# --- handlers, no server ---------------------------------------------------------------------------


def test_a_turn_streams_then_shows_text_and_sticker_in_one_bubble(chat):
    session = new_session(chat.options)
    outputs = turn(chat, session, "I failed my exam today", chatbot=[])
    bot_texts = [o[0][-1]["content"] for o in outputs if o[0] and o[0][-1]["role"] == "assistant"]
    partial = [t for t in bot_texts if isinstance(t, str) and t != "…"]
    # Streamed a sentence at a time: each goes out once it has passed the reply checks.
    assert partial[:2] == [
        "You said: I failed my exam today.",
        "You said: I failed my exam today. I'm here for you.",
    ]
    final = outputs[-1][0]
    assert final[0] == {"role": "user", "content": ["I failed my exam today"]}
    text, sticker = final[-1]["content"]
    assert text.startswith("You said: I failed my exam today") and Path(sticker["path"]).is_file()
    assert [t.role for t in session.turns] == ["user", "assistant"] and session.turns[1].sticker
    why = outputs[-1][2]
    assert "sadness" in why and "score" in why


def test_session_options_and_history_are_per_session(chat):
    quiet, chatty = new_session(chat.options), new_session(chat.options)
    quiet.frequency = "off"
    turn(chat, quiet, "I got the job!!!")
    turn(chat, chatty, "I got the job!!!")
    assert quiet.turns[-1].sticker is None and chatty.turns[-1].sticker is not None
    turn(chat, chatty, "and a raise")
    assert len(quiet.turns) == 2 and len(chatty.turns) == 4


def test_uploads_known_unknown_and_bad(chat, files):
    session = new_session(chat.options)
    final = turn(chat, session, "", [str(files["known"])])[-1][0]
    assert final[0]["content"][0]["path"] == str(files["known"])  # the sticker in the user's bubble
    assert session.turns[0].sticker == "caption:hugs"
    turn(chat, session, "look", [str(files["unknown"])])
    assert "SO TIRED" in session.turns[2].sticker_description
    for bad, words in (("text", "can't be used as a sticker"), ("bomb", "can't be used as a sticker")):
        before = list(session.turns)
        outputs = turn(chat, session, "hi", [str(files[bad])])
        final = outputs[-1][0]
        assert final[-1]["role"] == "assistant" and words in final[-1]["content"]
        assert session.turns == before  # a refused turn is not remembered
        # The refused picture is never sent to the browser to render.
        assert str(files[bad]) not in repr([o[0] for o in outputs])


def test_check_files_refuses_many_and_large(files):
    assert check_files([], 100) is None
    assert check_files([{"path": str(files["known"])}], 1 << 20) == str(files["known"])
    with pytest.raises(UploadRefused, match="one sticker"):
        check_files([str(files["known"]), str(files["unknown"])], 1 << 20)
    with pytest.raises(UploadRefused, match="at most"):
        check_files([str(files["known"])], 10)


# --- the running app ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_url(chat, bundled_services, tmp_path_factory):
    # Uploads land in the test's own folder, as the app keeps them inside its data directory.
    previous = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    demo = build_demo(bundled_services, chat)
    settings = replace(Settings.from_env({}, data_dir=bundled_services.settings.data_dir), port=free_port())
    _, url, _ = launch_demo(demo, settings, prevent_thread_lock=True, quiet=True)
    yield url
    demo.close()
    if previous is None:
        os.environ.pop("GRADIO_TEMP_DIR", None)
    else:
        os.environ["GRADIO_TEMP_DIR"] = previous


def test_reply_api_through_gradio_client(app_url, files):
    from gradio_client import Client, handle_file

    client = Client(app_url, verbose=False)
    reply, sticker = client.predict("I got the job!!!", None, [], "always", "auto", api_name="/reply")
    assert reply["text"].startswith("You said: I got the job") and reply["user_emotion"] == "Happiness"
    assert reply["sticker"]["id"] and Path(sticker).is_file()
    assert [t["role"] for t in reply["turns"]] == ["user", "assistant"]
    again, _ = client.predict(
        "", handle_file(str(files["known"])), reply["turns"], "off", "auto", api_name="/reply"
    )
    assert again["upload"]["match"] == "caption:hugs" and again["sticker"] is None
    assert len(again["turns"]) == 4
    with pytest.raises(Exception, match="can't be used as a sticker"):
        client.predict("hi", handle_file(str(files["text"])), [], "always", "auto", api_name="/reply")
    # The app keeps serving after a bad upload.
    assert client.predict("still there?", None, [], "off", "auto", api_name="/reply")[0]["text"]


def test_bench_clients_make_the_turn_a_browser_makes(app_url):
    # bench app's light HTTP client and gradio_client get the same reply and carry the history
    from stickerbot.bench.app import CLIENTS, cpu_seconds

    replies = {}
    for kind, make in CLIENTS.items():
        client = make(app_url)
        first = client.predict("I got the job!!!", [])
        second = client.predict("and a raise", first["turns"])
        replies[kind] = (first, second)
        client.close()
        assert first["text"].startswith("You said: I got the job") and first["sticker"]["id"]
        assert [t["content"] for t in second["turns"] if t["role"] == "user"] == [
            "I got the job!!!",
            "and a raise",
        ]
    assert replies["http"][0]["text"] == replies["gradio"][0]["text"]
    assert replies["http"][1]["sticker"] == replies["gradio"][1]["sticker"]
    with pytest.raises(RuntimeError, match="ended with error"):
        CLIENTS["http"](app_url).predict("hi", "not a history")
    assert cpu_seconds(os.getpid()) > 0


def test_the_server_keeps_at_most_its_sessions(chat, bundled_services):
    # every API caller without a session is one; Gradio would keep 10,000 of them
    from stickerbot.bench.app import HttpClient

    demo = build_demo(bundled_services, chat)
    settings = replace(
        Settings.from_env({}, data_dir=bundled_services.settings.data_dir), port=free_port(), sessions=2
    )
    _, url, _ = launch_demo(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        clients = [HttpClient(url) for _ in range(4)]
        for client in clients:
            client.predict("hello", [])
        kept = list(demo.state_holder.session_data)
        assert kept == [c.session for c in clients[-2:]]  # the two most recent
        clients[0].predict("I'm back", [])  # a dropped session starts afresh, and serves
        assert clients[0].session in demo.state_holder.session_data
        assert len(demo.state_holder.session_data) == 2
        for client in clients:
            client.close()
    finally:
        demo.close()


def test_concurrent_clients_keep_their_own_conversations(app_url):
    from gradio_client import Client

    errors: list[BaseException] = []
    results: dict[int, list[dict]] = {}

    def converse(n: int) -> None:
        try:
            client = Client(app_url, verbose=False)
            history: list[dict] = []
            for k in range(5):
                reply, _ = client.predict(
                    f"client {n} message {k}", None, history, "occasional", "auto", api_name="/reply"
                )
                assert reply["text"].startswith(f"You said: client {n} message {k}."), reply["text"]
                history = reply["turns"]
            results[n] = history
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=converse, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[0]
    for n, history in results.items():
        users = [t["content"] for t in history if t["role"] == "user"]
        assert users == [f"client {n} message {k}" for k in range(5)]


@pytest.fixture
def chromium():
    """Debian's Chromium through Playwright, closed after the test (skipped where it is missing)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (bash scripts/setup.sh test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _bot_bubbles(page):
    return page.locator('#chat [data-testid="bot"]')


@pytest.mark.browser
def test_browser_chat_sticker_upload_and_bad_file(app_url, files, chromium):
    from playwright.sync_api import expect

    browser = chromium
    page = browser.new_page()
    page.goto(app_url)
    box = page.locator("#message textarea")
    box.fill("I failed my exam today")
    box.press("Enter")
    expect(page.locator("#chat").get_by_text("You said: I failed my exam today")).to_be_visible(
        timeout=60_000
    )
    expect(page.locator('#chat [data-testid="bot"] img').first).to_be_visible(timeout=30_000)
    assert "/gradio_api/file=" in page.locator('#chat [data-testid="bot"] img').first.get_attribute("src")

    # A second session in another browser context does not see the first one's chat.
    other = browser.new_context().new_page()
    other.goto(app_url)
    other.locator("#message textarea").fill("hello from elsewhere")
    other.locator("#message textarea").press("Enter")
    expect(other.locator("#chat").get_by_text("You said: hello from elsewhere")).to_be_visible(timeout=60_000)
    assert other.locator("#chat").get_by_text("I failed my exam today").count() == 0

    # Upload a known sticker with no words: it shows in the user's bubble and gets a reply.
    page.locator('#message input[type="file"]').set_input_files(str(files["known"]))
    expect(page.locator("#message img, #message .thumbnail-item").first).to_be_visible(timeout=30_000)
    answered = _bot_bubbles(page).count()
    box.press("Enter")
    expect(page.locator('#chat [data-testid="user"] img').first).to_be_visible(timeout=60_000)
    # The bot answers the sticker (with the model's words or, when they fail the checks,
    # a strategy reply for the sticker's intent).
    expect(_bot_bubbles(page)).to_have_count(answered + 1, timeout=60_000)

    # A text file named .png is refused with a message, and the chat goes on.
    page.locator('#message input[type="file"]').set_input_files(str(files["text"]))
    expect(page.locator("#message .thumbnail-item, #message img").first).to_be_visible(timeout=30_000)
    box.fill("what about this")
    box.press("Enter")
    expect(page.locator("#chat").get_by_text("can't be used as a sticker")).to_be_visible(timeout=60_000)
    box.fill("ok never mind")
    box.press("Enter")
    expect(page.locator("#chat").get_by_text("You said: ok never mind")).to_be_visible(timeout=60_000)


@pytest.mark.slow
@pytest.mark.browser
def test_a_reload_keeps_the_chat_and_clear_forgets_it(app_url, chromium):
    from playwright.sync_api import expect

    browser = chromium
    page = browser.new_page()
    page.goto(app_url)
    box = page.locator("#message textarea")
    for message in ("I got the job!!!", "and a raise too"):
        box.fill(message)
        box.press("Enter")
        expect(page.locator("#chat").get_by_text(f"You said: {message}")).to_be_visible(timeout=60_000)
    expect(box).to_be_editable(timeout=30_000)
    stickers = page.locator('#chat [data-testid="bot"] img').count()
    assert stickers >= 1
    page.get_by_label("always").check()
    page.wait_for_timeout(500)  # the snapshot is written after the change

    page.reload()
    for message in ("I got the job!!!", "and a raise too"):
        expect(page.locator("#chat").get_by_text(message, exact=True)).to_be_visible(timeout=30_000)
        expect(page.locator("#chat").get_by_text(f"You said: {message}")).to_be_visible()
    expect(page.locator('#chat [data-testid="bot"] img')).to_have_count(stickers, timeout=30_000)
    expect(page.get_by_label("always")).to_be_checked()
    # The restored conversation goes on: the model is given the earlier turns.
    box.fill("thanks!")
    box.press("Enter")
    expect(page.locator("#chat").get_by_text("You said: thanks!")).to_be_visible(timeout=60_000)

    # Another browser (its own storage) starts empty.
    other = browser.new_context().new_page()
    other.goto(app_url)
    expect(other.locator("#message textarea")).to_be_visible(timeout=30_000)
    other.wait_for_timeout(1000)
    assert other.locator("#chat").get_by_text("I got the job!!!").count() == 0

    page.locator("#clear").click()
    expect(page.locator("#chat").get_by_text("thanks!", exact=True)).to_have_count(0, timeout=30_000)
    page.wait_for_timeout(500)
    page.reload()
    expect(page.locator("#message textarea")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.locator("#chat").get_by_text("I got the job!!!", exact=True).count() == 0


@pytest.mark.slow
@pytest.mark.browser
def test_a_tab_whose_session_was_dropped_goes_on_with_its_conversation(chat, bundled_services, chromium):
    # The server keeps one session here: another browser's visit drops the first tab's.
    from playwright.sync_api import expect

    demo = build_demo(bundled_services, chat)
    settings = replace(
        Settings.from_env({}, data_dir=bundled_services.settings.data_dir), port=free_port(), sessions=1
    )
    _, url, _ = launch_demo(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        page = chromium.new_page()
        page.goto(url)
        box = page.locator("#message textarea")
        box.fill("my cat is sick")
        box.press("Enter")
        expect(page.locator("#chat").get_by_text("You said: my cat is sick")).to_be_visible(timeout=60_000)
        expect(box).to_be_editable(timeout=30_000)

        other = chromium.new_context().new_page()
        other.goto(url)
        other.locator("#message textarea").fill("hello from elsewhere")
        other.locator("#message textarea").press("Enter")
        expect(other.locator("#chat").get_by_text("You said: hello from elsewhere")).to_be_visible(
            timeout=60_000
        )
        # The other browser's turn is over (its last events re-enable the box and save the
        # chat), so none of its events falls between this tab's submit and its turn: with one
        # session kept, that would drop this tab's session again mid-turn.
        expect(other.locator("#message textarea")).to_be_editable(timeout=30_000)
        other.wait_for_timeout(1000)

        box.fill("she is eating again")
        box.press("Enter")
        expect(page.locator("#chat").get_by_text("You said: she is eating again")).to_be_visible(
            timeout=60_000
        )
        expect(box).to_be_editable(timeout=30_000)
        page.wait_for_timeout(500)  # the snapshot is written after the turn
        # What the server now holds for the tab is what a reload shows: both exchanges.
        page.reload()
        for message in ("my cat is sick", "she is eating again"):
            expect(page.locator("#chat").get_by_text(message, exact=True)).to_be_visible(timeout=30_000)
    finally:
        demo.close()


def test_retry_replaces_the_last_exchange_only(chat, files):
    from stickerbot.ui.chat_tab import retry_turn

    session = new_session(chat.options)
    chatbot = turn(chat, session, "first message")[-1][0]
    chatbot = turn(chat, session, "second message", chatbot=chatbot)[-1][0]
    again = list(retry_turn(chat, chat.options, 8 << 20, chatbot, session))[-1][0]
    assert [t.text for t in session.turns if t.role == "user"] == ["first message", "second message"]
    assert len(again) == len(chatbot) and "You said: second message" in repr(again[-1])
    # After a refused upload, Retry sends it again without forgetting the exchange before it.
    chatbot = turn(chat, session, "look", [str(files["text"])], chatbot=again)[-1][0]
    refused = list(retry_turn(chat, chat.options, 8 << 20, chatbot, session))[-1][0]
    assert "can't be used as a sticker" in repr(refused[-1]) and len(refused) == len(chatbot)
    assert [t.text for t in session.turns if t.role == "user"] == ["first message", "second message"]
