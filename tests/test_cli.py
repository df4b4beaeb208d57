"""`python -m stickerbot ...` end to end on a temp data dir (real embedder, real bundled pack)."""

import json
import subprocess
import sys
import zipfile

import pytest

from stickerbot.cli import main
from tests.helpers_images import png_bytes

pytestmark = pytest.mark.slow


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    monkeypatch.setenv("STICKERBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_search_json(data_env, capsys):
    hits = run_json(capsys, ["search", "good night, off to bed", "-k", "5", "--json"])
    assert len(hits) == 5
    assert {"id", "name", "emoji", "hexcode", "emotion", "path", "score"} <= set(hits[0])
    assert any(h["emoji"] in {"😴", "🛌", "🌙", "💤", "🥱", "🌛", "🌜"} for h in hits)


def test_index_status_and_idempotent_build(data_env, capsys):
    assert main(["index", "build"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["index", "build"]) == 0
    assert "wrote 0 new or changed stickers" in capsys.readouterr().out
    status = run_json(capsys, ["index", "status"])
    assert status["indexed"] == status["library"] >= 1000
    assert status["embedder"] == "all-MiniLM-L6-v2" and status["dim"] == 384


def test_embedder_mismatch_is_a_clear_error(data_env, capsys, monkeypatch, tmp_path):
    assert main(["index", "build"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("STICKERBOT_EMBEDDER", "bge-large-en-v1.5")
    monkeypatch.setenv("STICKERBOT_EMBEDDER_PATH", str(tmp_path / "missing-model"))
    assert main(["index", "status"]) == 2
    assert "error:" in capsys.readouterr().err


def test_import_zip_then_search_finds_the_new_sticker(data_env, capsys):
    archive = data_env / "mypack.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("purple_triangle.png", png_bytes(seed=11))
        zf.writestr("../escape.png", png_bytes(seed=12))
        zf.writestr("notes.png", b"this is not an image")
    report = run_json(capsys, ["import", str(archive), "--json", "--no-ocr"])
    statuses = {f["file"]: f["status"] for f in report["files"]}
    assert statuses == {"purple_triangle.png": "imported", "../escape.png": "skipped", "notes.png": "skipped"}
    hits = run_json(capsys, ["search", "purple triangle", "-k", "3", "--json"])
    assert hits[0]["id"].startswith("user:mypack:")
    again = run_json(capsys, ["import", str(archive), "--json", "--no-ocr"])
    assert again["counts"].get("imported", 0) == 0  # resumable and idempotent


def test_eval_retrieval_prints_both_languages(data_env, capsys):
    result = run_json(capsys, ["eval", "retrieval", "--json"])
    langs = {r["lang"]: r for r in result["results"]}
    assert set(langs) == {"en", "zh"}
    for r in langs.values():
        assert 0 <= r["R@1"] <= r["R@5"] <= r["R@10"] <= 1
        assert r["n"] >= 150


def test_module_entry_point_help():
    out = subprocess.run(
        [sys.executable, "-m", "stickerbot", "--help"], capture_output=True, text=True, check=True
    )
    assert "search" in out.stdout and "import" in out.stdout
