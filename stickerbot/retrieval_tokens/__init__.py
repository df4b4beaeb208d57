"""StickerLLM retrieval tokens: a frozen chat model learns ``<ret>`` (and ``<img>``, ``<pret>``)
so that the hidden state of ``<ret>``, mapped by W_t into the sticker-embedding space, picks
the sticker. Only the new token rows, W_t and W_c are trained."""

from stickerbot.retrieval_tokens.tokens import IMAGE_SLOT, SPECIAL_TOKENS, TokenIds, add_special_tokens

__all__ = ["IMAGE_SLOT", "SPECIAL_TOKENS", "TokenIds", "add_special_tokens"]
