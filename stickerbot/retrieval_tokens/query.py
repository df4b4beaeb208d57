"""The chat's ``<ret>`` path: one forward pass over the user's message answered by ``<ret>``.

Training puts ``<ret>`` first in a reply that sends a sticker, so for a chat turn the
request is rendered as in training (the user's message, the assistant's turn opened) with
``<ret>`` appended. One pass then gives both what the model would do, whether ``<ret>``
beats every other first token, and the query: W_t of the state at ``<ret>``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from stickerbot.retrieval_tokens.data import IMAGE_MARK
from stickerbot.retrieval_tokens.inference import prompt_ids, strip_special
from stickerbot.retrieval_tokens.model import RetModel
from stickerbot.retrieval_tokens.tokens import RET


@dataclass(frozen=True)
class RetQuery:
    vector: np.ndarray  # in the sticker-embedding space, L2-normalised
    wants_sticker: bool  # <ret> is the model's first choice of token for its reply
    margin: float  # the <ret> logit minus the best other first token's


class RetQuerier:
    """Shared by every session: the model is read-only, and passes are serialised by a lock
    because the frozen LM is the chat backbone's own (its threads are already busy)."""

    def __init__(self, model: RetModel, image_features: Callable[[Sequence[str]], np.ndarray] | None = None):
        self.model = model
        self.image_features = image_features
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"<ret> ({self.model.config.backbone})"

    @torch.inference_mode()
    def __call__(self, message: str, *, image_id: str | None = None) -> RetQuery:
        # A user who types "<ret>" gets the characters removed, not the token.
        text = strip_special(message)
        features = None
        if image_id is not None and self.image_features is not None:
            text = f"{IMAGE_MARK} {text}".strip()
            features = torch.from_numpy(np.asarray(self.image_features([image_id]), dtype=np.float32))
        ids = prompt_ids(self.model, text, reply_prefix=RET)
        with self._lock:
            hidden = self.model.hidden_states(torch.tensor([ids]), None, features)[0]
        first = self.model.logits(hidden[-2:-1])[0]  # the state that chooses the reply's first token
        ret = first[self.model.ids.ret].item()
        first[self.model.ids.ret] = float("-inf")
        margin = ret - first.max().item()
        # .cpu(): on a GPU the query is computed there; the sticker index is numpy.
        vector = F.normalize(self.model.ret_embedding(hidden[-1]), dim=-1).detach().float().cpu().numpy()
        return RetQuery(vector, margin > 0, margin)
