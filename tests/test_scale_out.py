"""The scale-out path for the language model: app turns on the ``openai:`` backbone reach an
OpenAI-compatible server (here the fake one of agents/fake_server.py, on 127.0.0.1) at the
same time, rather than one after another as a local model's lock makes them."""

from __future__ import annotations

import os
import threading
from dataclasses import replace

import pytest

from agents.fake_server import FakeChatServer
from stickerbot.backbones import create_backbone
from stickerbot.bench.app import free_port
from stickerbot.chat import ChatService
from stickerbot.config import Settings
from stickerbot.ui.app import build_demo, launch_demo


@pytest.mark.slow
def test_concurrent_app_turns_reach_the_model_server_concurrently(bundled_services, memory, tmp_path):
    clients = 4
    with FakeChatServer(delay=1.0) as server:
        backbone = create_backbone(f"openai:{server.url}", model="scripted")
        chat = ChatService(backbone, bundled_services.search, memory, limits=bundled_services.settings.limits)
        previous = os.environ.get("GRADIO_TEMP_DIR")
        os.environ["GRADIO_TEMP_DIR"] = str(tmp_path / "gradio")
        demo = build_demo(bundled_services, chat)
        settings = replace(
            Settings.from_env({}, data_dir=bundled_services.settings.data_dir),
            port=free_port(),
            concurrency=clients,
        )
        _, url, _ = launch_demo(demo, settings, prevent_thread_lock=True, quiet=True)
        try:
            from gradio_client import Client

            replies: dict[int, str] = {}
            errors: list[BaseException] = []

            def turn(n: int) -> None:
                try:
                    reply, _ = Client(url, verbose=False).predict(
                        f"I got the job!!! ({n})", None, [], "off", "auto", api_name="/reply"
                    )
                    replies[n] = reply["text"]
                except BaseException as err:
                    errors.append(err)

            threads = [threading.Thread(target=turn, args=(n,)) for n in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            assert not errors, errors[0]
            assert len(replies) == clients and all(text.strip() for text in replies.values())
            assert server.requests >= clients
            # Each call waits a second at the server: the turns overlapped there.
            assert server.max_in_flight >= 2
        finally:
            demo.close()
            if previous is None:
                os.environ.pop("GRADIO_TEMP_DIR", None)
            else:
                os.environ["GRADIO_TEMP_DIR"] = previous
