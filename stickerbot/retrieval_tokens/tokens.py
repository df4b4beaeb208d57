"""The five StickerLLM tokens, defined once, and how they enter a tokenizer."""

from __future__ import annotations

from dataclasses import dataclass

RET, RET_END, IMG, IMG_END, PRET = "<ret>", "</ret>", "<img>", "</img>", "<pret>"
SPECIAL_TOKENS: tuple[str, ...] = (RET, RET_END, IMG, IMG_END, PRET)
# Words whose embeddings start each new row: a token begins near a meaning the frozen model
# already has, so the first steps of training are not spent finding the right region.
INIT_WORDS = {RET: "sticker", RET_END: "end", IMG: "image", IMG_END: "end", PRET: "reply"}
# Placeholder id in input_ids for the position that carries an image's features (mapped by
# W_c into the model's input space); never a real token id.
IMAGE_SLOT = -2


@dataclass(frozen=True)
class TokenIds:
    ret: int
    ret_end: int
    img: int
    img_end: int
    pret: int

    @property
    def all(self) -> tuple[int, ...]:
        return (self.ret, self.ret_end, self.img, self.img_end, self.pret)

    def row(self, token_id: int) -> int:
        """Index of ``token_id`` among the new rows."""
        return self.all.index(token_id)


def add_special_tokens(tokenizer) -> TokenIds:
    """Add the five tokens (idempotent) and return their ids, each checked to be one token."""
    missing = [t for t in SPECIAL_TOKENS if t not in tokenizer.get_vocab()]
    if missing:
        # Special: never split, and skipped when replies are decoded for the user.
        tokenizer.add_tokens(missing, special_tokens=True)
    ids = []
    for token in SPECIAL_TOKENS:
        encoded = tokenizer(token, add_special_tokens=False)["input_ids"]
        # A token split into pieces would make <ret> unlearnable as one decision.
        assert len(encoded) == 1, f"{token} encodes to {encoded}, not one id"
        ids.append(encoded[0])
    assert len(set(ids)) == len(ids), f"special tokens share ids: {ids}"
    return TokenIds(*ids)
