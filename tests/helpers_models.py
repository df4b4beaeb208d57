"""Tiny random chat models built in the tests: a word-level ChatML tokenizer, a 2-layer Llama,
and a LLaVA made of a 2-layer CLIP tower and a 2-layer Llama."""

from __future__ import annotations

WORDS = "hello hi there cat dog sticker happy sad good day night yes no ok lol wow".split()
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>", "<image>"]
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIALS + ["user", "assistant", "system"] + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tok.add_special_tokens(SPECIALS)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    tokenizer.chat_template = CHATML
    return tokenizer


def save_tiny_model(folder, hidden: int = 32):
    """A tiny Llama and its tokenizer saved as a local model folder (for ``hf:<folder>``)."""
    tokenizer = tiny_tokenizer()
    tiny_llama(len(tokenizer), hidden=hidden).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


class ScriptedBackbone:
    """A chat backbone that answers with fixed texts (one per call, the last repeated), piece by
    piece, obeys ``stop``, and records what it was asked."""

    name = "scripted"

    def __init__(self, *texts, languages=("en",), images=False):
        from stickerbot.backbones.base import Capabilities

        # No weights of its own, and no lock: like a server, it answers any number of calls.
        self.capabilities = Capabilities(concurrent_calls=None)
        self.texts = list(texts) or ["That sounds hard. I'm here for you."]
        self.languages = languages
        self.supports_images = images
        self.calls: list[dict] = []

    def generate(
        self, messages, *, max_new_tokens=96, temperature=0.0, images=None, on_token=None, stop=None
    ):
        from stickerbot.backbones.base import GenerationResult

        self.calls.append({"messages": messages, "images": images, "temperature": temperature})
        text = self.texts[min(len(self.calls), len(self.texts)) - 1]
        out: list[str] = []
        for i, word in enumerate(text.split(" ")):
            piece = word if i == 0 else " " + word
            out.append(piece)
            if on_token:
                on_token(piece)
            if stop and stop("".join(out)):
                break
        return GenerationResult("".join(out), 10, len(out), 0.01, 0.02)


def tiny_llama(vocab_size: int, hidden: int = 32):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(config).eval()
    # A random model may emit EOS at any step; without it every call makes max_new_tokens.
    model.generation_config.eos_token_id = None
    return model


LLAVA_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>\n{% else %}{{ c['text'] }}{% endif %}{% endfor %}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def tiny_llava_and_processor(template: str = LLAVA_TEMPLATE):
    """A random LLaVA with a 2-layer CLIP tower and a 2-layer Llama, and its processor (ENVIRONMENT.md)."""
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tokenizer = tiny_tokenizer()
    vision = CLIPVisionConfig(
        image_size=336,
        patch_size=14,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        projection_dim=32,
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,  # 576 image tokens + the text
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    config = LlavaConfig(
        vision_config=vision, text_config=text, image_token_id=tokenizer.convert_tokens_to_ids("<image>")
    )
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = None
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}
        ),
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=template,
    )
    return model, processor


# GLM-4's special tokens and, reduced to plain chat, the chat template of THUDM/glm-4-9b-chat-hf
# (the checkpoint the glm-4bit backbone loads): "[gMASK]<sop>" once, then a role marker per message.
GLM_SPECIALS = ["<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>"]
GLM_ROLES = ["<|system|>", "<|user|>", "<|assistant|>", "<|observation|>"]
GLM_TEMPLATE = (
    "[gMASK]<sop>{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def save_tiny_glm(folder, hidden: int = 32):
    """A tiny random GLM (transformers' ``GlmForCausalLM``, glm-4-9b-chat-hf's architecture: partial
    rotary embeddings, fused gate/up projection) and a word-level tokenizer with GLM-4's special
    tokens and chat template, saved as a local model folder (what ``glm-4bit``'s ``path`` takes)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GlmConfig, GlmForCausalLM, PreTrainedTokenizerFast

    specials = GLM_SPECIALS + GLM_ROLES
    vocab = {token: i for i, token in enumerate(specials + ["<unk>"] + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(specials)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>", unk_token="<unk>"
    )
    tokenizer.chat_template = GLM_TEMPLATE
    torch.manual_seed(0)
    config = GlmConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=hidden // 4,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=[tokenizer.eos_token_id, vocab["<|user|>"], vocab["<|observation|>"]],
        bos_token_id=None,
    )
    model = GlmForCausalLM(config).eval()
    # A random model may emit EOS at any step; without it every call makes max_new_tokens.
    model.generation_config.eos_token_id = None
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
