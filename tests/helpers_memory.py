"""Shared test data for the dialogue memory: StickerConv sessions and a small set of them
(used by tests/test_memory.py, the chat tests and conftest's ``memory`` fixture)."""

from __future__ import annotations

import json

HUG = {"id": "emoji:1F917", "image": "emoji/1F917.webp", "description": "a hug", "emotion": "comfort"}


def session(sid, emotion, turns, language=None):
    record = {
        "id": sid,
        "emotion": emotion,
        "user_persona": "a student",
        "user_status": "You are testing.",
        "conversation": [
            {"turn": i, "user_message": u, "system_message": s, "user_sticker": None, "system_sticker": st}
            for i, (u, s, st) in enumerate(turns, 1)
        ],
    }
    if language:
        record["language"] = language
    return record


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


DIALOGUES = [
    session(
        "s1",
        "Sadness",
        [
            ("I failed my driving test again", "Oh no, that's rough. You'll get it next time!", HUG),
            ("thanks, I needed that", "Anytime. Want to practise together this weekend?", None),
        ],
    ),
    session(
        "s2", "Happiness", [("I got the job at the bakery!!", "Yay, congratulations! Free croissants?", None)]
    ),
    session(
        "s3", "Fear", [("there is a huge spider in my bathroom", "Yikes! Grab a glass and a card.", None)]
    ),
    session(
        "z1", "Sadness", [("考试又没考好，好难过", "抱抱你，一次考试说明不了什么。", None)], language="zh"
    ),
    session("z2", "Anger", [("气死我了，老板又甩锅给我", "太过分了吧！换我也会生气。", None)], language="zh"),
]
