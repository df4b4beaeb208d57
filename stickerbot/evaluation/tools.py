"""When-to-send ("tool selection") accuracy of retrieval tokens: ordinary instructions should be
answered without ``<ret>``, sticker requests with it (StickerLLM reports 96.7% for the first)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stickerbot.evaluation.metrics import share
from stickerbot.retrieval_tokens.data import ORDINARY_KINDS, STICKER_TASKS, Example


@dataclass
class ToolsResult:
    pret: bool
    ordinary_n: int
    ordinary_without_ret: float  # share, 0..1
    requests_n: int
    requests_with_ret: float
    primary_metric: str = "ordinary_without_ret"

    def to_dict(self) -> dict:
        return {
            "pret": self.pret,
            "ordinary_n": self.ordinary_n,
            "ordinary_without_ret": round(100 * self.ordinary_without_ret, 1),
            "requests_n": self.requests_n,
            "requests_with_ret": round(100 * self.requests_with_ret, 1),
        }


def split_for_tools(
    examples: Sequence[Example], limit: int | None = None
) -> tuple[list[Example], list[Example]]:
    """(ordinary instructions, sticker requests) among ``examples``, at most ``limit`` of each."""
    ordinary = [e for e in examples if e.kind in ORDINARY_KINDS]
    requests = [e for e in examples if e.kind in STICKER_TASKS]
    return ordinary[:limit], requests[:limit]


class ToolsEvaluator:
    def __init__(self, examples: Sequence[Example], limit: int | None = None):
        self.ordinary, self.requests = split_for_tools(examples, limit)

    def __call__(self, sends: Callable[[Example, bool], bool]) -> list[ToolsResult]:
        """``sends(example, pret)`` says whether the model's reply contained ``<ret>``."""
        results = []
        for pret in (False, True):
            results.append(
                ToolsResult(
                    pret,
                    len(self.ordinary),
                    share([not sends(e, pret) for e in self.ordinary]),
                    len(self.requests),
                    share([sends(e, pret) for e in self.requests]),
                )
            )
        return results


def ret_sender(model, features) -> Callable[[Example, bool], bool]:
    """Whether a retrieval-token ``model`` answers an example with ``<ret>`` (greedy, 24 new
    tokens), with or without the ``<pret>`` prefix; ``features`` gives the image features of
    an example's picture."""
    from stickerbot.retrieval_tokens.inference import generate

    def sends(example: Example, pret: bool) -> bool:
        feats = features.for_ids([example.image]) if example.image else None
        return generate(model, example.prompt, image_features=feats, pret=pret, max_new_tokens=24).sent_ret

    return sends


def format_table(results: Sequence[ToolsResult], backbone: str) -> str:
    """What `eval tools` prints: one row per prefix (none, <pret>)."""
    lines = [
        f"when to send <ret> on held-out examples ({backbone})",
        f"{'prefix':8s} {'ordinary n':>10s} {'without <ret>':>14s} {'requests n':>11s} {'with <ret>':>11s}",
    ]
    for r in results:
        d = r.to_dict()
        lines.append(
            f"{'<pret>' if r.pret else 'none':8s} {d['ordinary_n']:10d} {d['ordinary_without_ret']:13.1f}% "
            f"{d['requests_n']:11d} {d['requests_with_ret']:10.1f}%"
        )
    return "\n".join(lines)
