"""The prompt's window of the conversation: it moves in steps, so consecutive prompts extend
each other and the decoder's cache keeps all but the newest turns."""

from __future__ import annotations

from stickerbot.chat.prompt import HISTORY_STEP, MAX_HISTORY_TURNS, build_messages, history_start
from stickerbot.chat.types import Turn


def conversation(exchanges: int) -> list[Turn]:
    turns = []
    for n in range(exchanges):
        turns += [Turn("user", f"message {n}"), Turn("assistant", f"reply {n}")]
    return turns


def test_the_window_holds_the_same_turns_on_average_and_moves_in_steps():
    sizes, starts = [], []
    for exchanges in range(4, 40):
        turns = 2 * exchanges
        start = history_start(turns)
        assert start % 2 == 0  # it starts at a user's turn
        sizes.append(turns - start)
        starts.append(start)
    assert MAX_HISTORY_TURNS - HISTORY_STEP // 2 <= min(sizes) < MAX_HISTORY_TURNS
    assert MAX_HISTORY_TURNS < max(sizes) <= MAX_HISTORY_TURNS + HISTORY_STEP // 2
    assert abs(sum(sizes) / len(sizes) - MAX_HISTORY_TURNS) < 0.5
    # It moves once every HISTORY_STEP turns (HISTORY_STEP / 2 exchanges), not every exchange.
    moves = sum(1 for a, b in zip(starts, starts[1:], strict=False) if a != b)
    assert moves == len(starts) // (HISTORY_STEP // 2) - 1 or moves == len(starts) // (HISTORY_STEP // 2)
    assert history_start(4) == 0 and history_start(MAX_HISTORY_TURNS) == 0


def test_the_old_window_and_no_history_are_still_there():
    assert history_start(9, 6, step=1) == 3  # the last six turns, moved every turn
    assert history_start(10, 0) == 10  # none
    assert [m["content"] for m in build_messages("hi", lang="en", history=conversation(3), max_history=0)][
        1:
    ] == ["hi"]


def test_consecutive_prompts_extend_each_other_between_moves():
    """Most turns' prompt starts with the whole previous prompt and its reply; at a move the
    window drops the oldest HISTORY_STEP turns at once."""
    extended = 0
    for exchanges in range(1, 30):
        before = build_messages(f"message {exchanges - 1}", lang="en", history=conversation(exchanges - 1))
        after = build_messages(f"message {exchanges}", lang="en", history=conversation(exchanges))
        grown = before + [{"role": "assistant", "content": f"reply {exchanges - 1}"}]
        if after[: len(grown)] == grown:
            extended += 1
            assert len(after) == len(grown) + 1
    assert extended >= 29 * 2 // 3  # two turns in three
    # The newest turns are always there, the system prompt first.
    last = build_messages("now", lang="en", history=conversation(20))
    assert last[0]["role"] == "system" and last[-2]["content"] == "reply 19" and last[-1]["content"] == "now"
    assert last[1]["role"] == "user"
