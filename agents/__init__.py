"""Multi-agent synthesis of StickerConv-style empathetic sticker dialogues.

`python -m agents.generate` lands with issue #6; this package is where its roles,
memory, manager, prompts and LLM clients will live.
"""
