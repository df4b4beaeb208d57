"""Beyond one machine: the sticker index, the image index and the dialogue memory in a real
Chroma server (``chroma run``, started here on 127.0.0.1 and stopped at the end), shared by
two services on one data directory: a pack imported through one is found through the other
without a restart. Also the per-pack import lock, and a clear error when no server answers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from stickerbot.bench.app import free_port
from stickerbot.config import Settings
from stickerbot.errors import UserError
from stickerbot.importer import PackBusyError, PackLock
from stickerbot.index.collection import ChromaUnavailableError
from tests.conftest import FakeEmbedder
from tests.helpers_images import png_bytes

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2).read()
                break
            except OSError as err:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"chroma run did not start: {(folder / 'server.log').read_text()[-2000:]}"
                    ) from err
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def services_on(data_dir: Path, url: str):
    from stickerbot.services import open_library

    settings = Settings.from_env({"STICKERBOT_CHROMA_URL": url}, data_dir=data_dir, ocr=False)
    return open_library(settings, progress=False, embedder=FakeEmbedder(), ocr=None)


@pytest.mark.slow
def test_two_services_share_one_chroma_server(tmp_path, chroma_url):
    data_dir = tmp_path / "shared-data"
    first, second = services_on(data_dir, chroma_url), services_on(data_dir, chroma_url)
    assert not (data_dir / "index").exists()  # nothing embedded locally
    before = len(second.search)
    # A search before the import: a process must not answer from a copy of a shared collection.
    assert second.search.search("zebra doing a happy dance", k=3)

    pack = tmp_path / "zoo"
    pack.mkdir()
    (pack / "zebra.png").write_bytes(png_bytes(71))
    (pack / "annotations.jsonl").write_text(
        json.dumps({"file": "zebra.png", "name": "zebra doing a happy dance", "emotion": "Happiness"}) + "\n"
    )
    report = first.import_pack(pack, pack="zoo")
    (imported,) = report.imported

    # The other service sees it without a restart, once it checks the library version.
    second.watch.interval = 0.0
    hits = second.search.search("zebra doing a happy dance", k=3)
    assert hits and hits[0].record.id == imported.sticker_id
    assert len(second.search) == before + 1 and second.library.get(imported.sticker_id) is not None
    # The importing service does not reload its own import a second time.
    assert first.watch.check() is False

    # The dialogue memory lives in the same server.
    from stickerbot.services import open_memory

    settings = Settings.from_env({"STICKERBOT_CHROMA_URL": chroma_url}, data_dir=data_dir, ocr=False)
    memory = open_memory(settings, FakeEmbedder(name=settings.embedder), progress=False)
    assert len(memory) > 0 and memory.similar("I got the job", k=3)
    import chromadb

    port = int(chroma_url.rsplit(":", 1)[1])
    names = {c.name for c in chromadb.HttpClient(host="127.0.0.1", port=port).list_collections()}
    assert len(names) >= 3  # the sticker index, the image index and the memory

    # `index rebuild` forgets them on the server (the folder it would remove is not used).
    from stickerbot.services import drop_index

    assert "removed the collections" in drop_index(settings)
    assert not {c.name for c in chromadb.HttpClient(host="127.0.0.1", port=port).list_collections()} & names


def test_no_server_is_a_clear_error(tmp_path):
    with pytest.raises(ChromaUnavailableError, match="STICKERBOT_CHROMA_URL"):
        services_on(tmp_path / "data", f"http://127.0.0.1:{free_port()}")


def test_a_bad_chroma_url_is_refused_when_read():
    with pytest.raises(UserError, match="STICKERBOT_CHROMA_URL"):
        Settings.from_env({"STICKERBOT_CHROMA_URL": "localhost:8000"})


def test_one_import_per_pack_at_a_time(tmp_path):
    with PackLock(tmp_path):
        with pytest.raises(PackBusyError, match="another process"):
            with PackLock(tmp_path):
                pass
    with PackLock(tmp_path):  # released: free again
        pass
